#!/usr/bin/env node
// End-to-end MCP client for Herald, on the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.x). Same command line and scenarios as client.py:
//
//   node client.mjs --transport sse|http|http-path|stdio|oauth --base URL --key KEY \
//       [--session COOKIE] [--herald BIN --cwd DIR] --scenario NAME \
//       [--integrations id1,id2] [--timezone Europe/Paris] [--trace]
//
// `oauth` signs in with the SDK's OAuth client (authProvider): discovery,
// dynamic registration, the consent page (posted here with --session, a
// signed-in herald_session cookie), PKCE, token exchange and refresh.
//
// Prints a final JSON line {"ok": true, ...details}; on failure
// {"ok": false, "error": "..."} and exit code 1 (2 for bad usage).

import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const TOOLS = [
  'list_integrations',
  'get_platform_rules',
  'validate_post',
  'create_post',
  'list_posts',
  'get_post',
  'update_post',
  'delete_post',
  'publish_post',
  'add_to_queue',
  'submit_for_approval',
  'approve_post',
  'reject_post',
  'find_next_slot',
  'get_post_analytics',
  'get_integration_analytics',
  'list_feeds',
  'create_feed',
  'upload_media_from_url',
];
const READ_ONLY = new Set(
  TOOLS.filter((t) => t.startsWith('list_') || t.startsWith('get_')).concat(['validate_post', 'find_next_slot']),
);
const TRANSPORTS = ['sse', 'http', 'http-path', 'stdio', 'oauth'];
const REDIRECT_URI = 'http://127.0.0.1:1/callback';

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

function log(message) {
  process.stderr.write(`[client.mjs] ${message}\n`);
}

const json = (value) => JSON.stringify(value);

// ---------------------------------------------------------------------------
// Connection

function makeTransport(args) {
  const base = (args.base || '').replace(/\/+$/, '');
  switch (args.transport) {
    case 'sse':
      return new SSEClientTransport(new URL(`${base}/api/mcp/${args.key}/sse`));
    case 'http':
      return new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${args.key}` } },
      });
    case 'http-path':
      return new StreamableHTTPClientTransport(new URL(`${base}/api/mcp/${args.key}`));
    case 'oauth':
      return new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: args.provider });
    case 'stdio': {
      const env = getDefaultEnvironment();
      for (const [name, value] of Object.entries(process.env)) {
        if (name.startsWith('HERALD_') || ['DATABASE_URL', 'JWT_SECRET', 'ENCRYPTION_KEY', 'RUST_LOG'].includes(name)) {
          env[name] = value;
        }
      }
      return new StdioClientTransport({
        command: args.herald,
        args: ['mcp', '--api-key', args.key],
        env,
        cwd: args.cwd || undefined,
        stderr: 'inherit',
      });
    }
    default:
      throw new Failure(`unknown transport ${args.transport}`);
  }
}

/** Logs every JSON-RPC message through the transport (the SDK sets onmessage on connect). */
function traced(transport) {
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    log(`-> ${json(message)}`);
    return send(message, options);
  };
  let handler;
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () => handler,
    set: (fn) => {
      handler = fn && ((message, extra) => {
        log(`<- ${json(message)}`);
        return fn(message, extra);
      });
    },
  });
  return transport;
}

class Connection {
  constructor(client, transport) {
    this.client = client;
    this.transport = transport;
    this.notifications = [];
    this.transportErrors = [];
    this.waiters = [];
    this.closing = false;
  }

  onLog(params) {
    this.notifications.push(params);
    for (const wake of this.waiters.splice(0)) wake();
  }

  async waitForLog(matches, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.notifications.find(matches);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  call(name, args) {
    return this.client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
  }

  /** Calls a tool that must succeed; returns its structuredContent (checked against its text). */
  async callOk(name, args) {
    const result = await this.call(name, args);
    check(!result.isError, `${name} failed: ${json(errorText(result))} (arguments ${json(args)})`);
    const structured = result.structuredContent;
    check(
      structured && typeof structured === 'object' && !Array.isArray(structured),
      `${name}: structuredContent must be a JSON object, got ${json(structured)}`,
    );
    const texts = (result.content || []).filter((c) => c.type === 'text').map((c) => c.text);
    check(texts.length > 0, `${name}: the result must also come as text content, got ${json(result.content)}`);
    let asText;
    try {
      asText = JSON.parse(texts[0]);
    } catch {
      throw new Failure(`${name}: the text content is not JSON: ${json(texts[0].slice(0, 300))}`);
    }
    check(deepEqual(asText, structured), `${name}: text content and structuredContent differ`);
    return structured;
  }

  /** Calls a tool that must fail with isError: true and a text starting with `code`. */
  async callError(name, args, code) {
    const result = await this.call(name, args);
    const text = errorText(result);
    check(
      result.isError === true,
      `${name} should have failed with ${code} but succeeded: ${json(result.structuredContent).slice(0, 500)}`,
    );
    check(text.startsWith(code), `${name}: error text should start with ${json(code)}, got ${json(text)}`);
    return text;
  }
}

function errorText(result) {
  return (result.content || [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Merges a response's Set-Cookie headers into `jar`. */
function keepCookies(response, jar) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    jar[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
}

const cookieHeader = (jar) => Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ');

/**
 * The OAuth client provider the SDK drives, playing the person in the
 * browser too: redirectToAuthorization opens Herald's consent page with a
 * signed-in session, checks it, allows with the pre-ticked permissions and
 * keeps the code for finishAuth.
 */
class HeraldTestProvider {
  constructor(base, sessionCookie) {
    this.base = base;
    this.cookie = sessionCookie;
    this.stored = {};
    this.history = [];
    this.consents = [];
    this.code = undefined;
    this.refuse = false;
  }

  get redirectUrl() {
    return REDIRECT_URI;
  }

  get clientMetadata() {
    return {
      client_name: 'Herald tests (TypeScript SDK)',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.expectedState = `st-${Math.random().toString(36).slice(2)}`;
    return this.expectedState;
  }

  clientInformation() {
    return this.stored.client;
  }

  saveClientInformation(client) {
    this.stored.client = client;
  }

  tokens() {
    return this.stored.tokens;
  }

  saveTokens(tokens) {
    this.stored.tokens = tokens;
    this.history.push(tokens);
  }

  saveCodeVerifier(verifier) {
    this.stored.verifier = verifier;
  }

  codeVerifier() {
    return this.stored.verifier;
  }

  async redirectToAuthorization(url) {
    check(!this.refuse, 'the SDK asked to authorize again after the scenario ended');
    check(this.cookie, '--session (a signed-in herald_session cookie) is required for the consent page');
    check(url.href.startsWith(`${this.base}/oauth/authorize?`), `unexpected authorization URL ${url.href}`);
    check(url.searchParams.get('code_challenge_method') === 'S256', `PKCE S256 expected in ${url.href}`);
    check(url.searchParams.get('resource') === `${this.base}/api/mcp`, `RFC 8707 resource expected in ${url.href}`);
    const jar = { herald_session: this.cookie };
    const page = await fetch(url, { headers: { Cookie: cookieHeader(jar) } });
    const html = await page.text();
    check(page.status === 200, `consent page answered ${page.status}: ${html.slice(0, 300)}`);
    const csp = page.headers.get('content-security-policy') || '';
    check(csp.includes("form-action 'self' http://127.0.0.1:1"), `the consent page's CSP must allow the redirect: ${csp}`);
    keepCookies(page, jar); // the CSRF secret
    const cookie = cookieHeader(jar);
    const attr = (tag, name) => {
      const found = new RegExp(`${name}="([^"]*)"`).exec(tag);
      return found ? decodeEntities(found[1]) : undefined;
    };
    const form = new URLSearchParams();
    const checked = [];
    const offered = [];
    for (const [tag] of html.matchAll(/<input [^>]*>/g)) {
      if (attr(tag, 'type') === 'hidden') form.append(attr(tag, 'name'), attr(tag, 'value') ?? '');
      if (attr(tag, 'type') === 'checkbox' && attr(tag, 'name') === 'scopes') {
        offered.push(attr(tag, 'value'));
        if (/\schecked/.test(tag)) checked.push(attr(tag, 'value'));
      }
    }
    check(offered.includes('posts:publish') && !checked.includes('posts:publish'), `publishing must be offered but not ticked: ${json(checked)}`);
    const workspace = /<option value="([^"]+)"/.exec(html);
    check(workspace, 'the consent page offers no workspace');
    form.append('workspace', workspace[1]);
    for (const scope of checked) form.append('scopes', scope);
    form.append('decision', 'allow');
    const answer = await fetch(`${this.base}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    check(answer.status === 303, `consent answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
    const back = new URL(answer.headers.get('location'));
    check(back.href.startsWith(`${REDIRECT_URI}?`), `unexpected redirect ${back.href}`);
    check(back.searchParams.get('state') === this.expectedState, `state mismatch: ${back.searchParams.get('state')}`);
    this.code = back.searchParams.get('code');
    this.consents.push({ checked });
  }
}

function decodeEntities(text) {
  return text.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (whole, entity) => {
    const named = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[entity]) return named[entity];
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return whole;
  });
}

async function connect(args) {
  if (args.transport === 'oauth') {
    // The first attempt meets the 401, registers and sends the person to consent;
    // with the code, the SDK redeems it and the second attempt connects.
    try {
      return await connectOnce(args);
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      check(args.provider.code, `sign-in stopped without an authorization code: ${error.message}`);
      await args.pendingTransport.finishAuth(args.provider.code);
      return connectOnce(args);
    }
  }
  return connectOnce(args);
}

async function connectOnce(args) {
  const transport = makeTransport(args);
  args.pendingTransport = transport;
  if (args.trace) traced(transport);
  const client = new Client({ name: 'herald-tests-node', version: '1.0.0' }, { capabilities: {} });
  const conn = new Connection(client, transport);
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    if (args.trace) log(`log notification: ${json(notification.params)}`);
    conn.onLog(notification.params);
  });
  client.onerror = (error) => {
    if (conn.closing) return; // our own close aborts the GET stream
    log(`transport reported: ${error}`);
    conn.transportErrors.push(String(error));
  };
  await client.connect(transport, { timeout: 30_000 });
  return conn;
}

// ---------------------------------------------------------------------------
// Scenarios

/** Offset of `timeZone` at the instant `date`, as "+HH:MM". */
function offsetAt(timeZone, date) {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName').value; // "GMT+01:00" or "GMT"
  const match = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  return match ? `${match[1]}:${match[2] || '00'}` : '+00:00';
}

const minutesOf = (offset) => (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));

/** [scheduledFor with the zone's offset, the local "YYYY-MM-DDT09:00" it must show]. */
function tomorrowAtNine(timeZone) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(),
  );
  const [y, m, d] = today.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  // 09:00 local = 09:00 UTC minus the offset in force then (settled in two passes around DST changes).
  let offset = offsetAt(timeZone, new Date(`${day}T09:00:00Z`));
  offset = offsetAt(timeZone, new Date(Date.parse(`${day}T09:00:00Z`) - minutesOf(offset) * 60_000));
  return [`${day}T09:00:00${offset}`, `${day}T09:00`];
}

function requireIntegrations(args, count = 1) {
  check(args.integrations.length >= count, `this scenario needs --integrations with at least ${count} id(s)`);
  return args.integrations;
}

const scenarios = {
  /** Signed in by OAuth: tools, a draft, a refresh after expiry, then revocation. */
  async oauth(conn, args) {
    check(args.transport === 'oauth', 'the oauth scenario runs over --transport oauth');
    const provider = args.provider;
    check(provider.stored.client?.client_id, 'the SDK did not register a client');
    const first = provider.stored.tokens;
    check(first, 'the SDK holds no token after signing in');
    const ticked = provider.consents[0].checked;
    check(first.scope === ticked.join(' '), `granted scope ${json(first.scope)}, ticked ${json(ticked)}`);
    const { tools } = await conn.client.listTools();
    const names = new Set(tools.map((t) => t.name));
    const publishing = ['publish_post', 'add_to_queue', 'approve_post', 'reject_post'];
    const missing = TOOLS.filter((t) => !publishing.includes(t) && !names.has(t));
    check(missing.length === 0, `tools missing over OAuth: ${json(missing)}`);
    check(!publishing.some((t) => names.has(t)), 'publishing tools are offered without posts:publish');
    const [integration] = requireIntegrations(args);
    const draft = await conn.callOk('create_post', { content: 'Drafted over OAuth (TypeScript)', integrationIds: [integration], status: 'DRAFT' });
    check(draft.status === 'DRAFT', `a draft was expected: ${json(draft).slice(0, 300)}`);
    // Past the access token's lifetime the SDK refreshes it (rotating the refresh token).
    await new Promise((resolve) => setTimeout(resolve, (first.expires_in || 0) * 1000 + 1500));
    await conn.callOk('list_posts', {});
    const now = provider.stored.tokens;
    check(now.access_token !== first.access_token, 'the access token was not refreshed');
    check(now.refresh_token !== first.refresh_token, 'the refresh token was not rotated');
    args.afterClose = revokeAndCheck;
    return { postId: draft.id, refreshes: provider.history.length - 1, consents: provider.consents };
  },

  async list_tools(conn) {
    const capabilities = conn.client.getServerCapabilities() || {};
    check(capabilities.tools, 'the server must declare the `tools` capability');
    const { tools } = await conn.client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const missing = TOOLS.filter((name) => !byName[name]);
    check(missing.length === 0, `tools missing from tools/list: ${json(missing)} (listed: ${json(Object.keys(byName))})`);
    const problems = [];
    for (const name of TOOLS) {
      const tool = byName[name];
      if (!tool.description || !tool.description.trim()) problems.push(`${name}: no description`);
      if (!tool.inputSchema || tool.inputSchema.type !== 'object') problems.push(`${name}: inputSchema must have type object`);
      if (!tool.outputSchema || tool.outputSchema.type !== 'object') problems.push(`${name}: outputSchema must have type object`);
      if (!tool.annotations) {
        problems.push(`${name}: no annotations`);
        continue;
      }
      const hint = tool.annotations.readOnlyHint;
      if (READ_ONLY.has(name) && hint !== true) problems.push(`${name}: annotations.readOnlyHint should be true, got ${hint}`);
      if (!READ_ONLY.has(name) && hint === true) problems.push(`${name}: changes data but annotations.readOnlyHint is true`);
    }
    check(problems.length === 0, `tool definitions: ${problems.join('; ')}`);
    return {
      tools: Object.keys(byName).sort(),
      extraTools: Object.keys(byName).filter((n) => !TOOLS.includes(n)).sort(),
      serverInfo: conn.client.getServerVersion(),
      logging: Boolean(capabilities.logging),
    };
  },

  async integrations(conn, args) {
    const ids = requireIntegrations(args);
    const listed = await conn.callOk('list_integrations', {});
    check(Array.isArray(listed.integrations), `list_integrations: no \`integrations\` array in ${json(listed)}`);
    const byId = Object.fromEntries(listed.integrations.map((i) => [i.id, i]));
    for (const id of ids) {
      const found = byId[id];
      check(found, `list_integrations: ${id} missing from ${json(listed.integrations)}`);
      for (const field of ['platform', 'name', 'status']) {
        check(field in found, `list_integrations: ${id} has no \`${field}\`: ${json(found)}`);
      }
      check(found.status === 'ACTIVE', `list_integrations: ${id} is ${found.status}, expected ACTIVE`);
    }
    const slot = await conn.callOk('find_next_slot', { integrationId: ids[0] });
    // The same accounts as a resource, and a prompt that plans with them.
    const resource = await conn.client.readResource({ uri: 'herald://integrations' });
    for (const id of ids) check(resource.contents[0].text.includes(id), `resource herald://integrations: ${id} missing`);
    const { prompts } = await conn.client.listPrompts();
    check(prompts.some((p) => p.name === 'plan_week'), `prompts/list: no plan_week in ${json(prompts)}`);
    const plan = await conn.client.getPrompt({ name: 'plan_week', arguments: { topic: 'a product launch' } });
    check(plan.messages[0].content.text.includes('a product launch'), `prompts/get plan_week: ${json(plan)}`);
    return { integrations: ids.map((id) => byId[id].platform), nextSlot: slot };
  },

  async schedule(conn, args) {
    const ids = requireIntegrations(args, 2);
    const [scheduledFor, local] = tomorrowAtNine(args.timezone);
    const post = await conn.callOk('create_post', {
      content: 'Scheduled from an MCP client: the first post of a thread.',
      integrationIds: ids,
      status: 'SCHEDULED',
      scheduledFor,
      thread: [{ content: 'Thread item one.' }, { content: 'Thread item two.' }],
      tags: ['mcp-test'],
    });
    check(typeof post.id === 'string', `create_post: no post id in ${json(post)}`);
    check(post.status === 'SCHEDULED', `create_post: status ${json(post.status)}, expected SCHEDULED`);
    const targetIds = (post.targets || []).map((t) => t.integrationId).sort();
    check(json(targetIds) === json([...ids].sort()), `create_post: targets should be ${json(ids)}, got ${json(post.targets)}`);
    check(
      String(post.scheduledForLocal || '').startsWith(local),
      `create_post: scheduledForLocal should start with ${local}, got ${json(post.scheduledForLocal)}` +
        ` (sent scheduledFor ${scheduledFor}, timezone ${json(post.timezone)})`,
    );
    check(post.timezone === args.timezone, `create_post: timezone ${json(post.timezone)}, expected ${args.timezone}`);
    const fetched = await conn.callOk('get_post', { postId: post.id });
    check(fetched.id === post.id, `get_post returned another post: ${json(fetched)}`);
    check(fetched.status === 'SCHEDULED', `get_post: status ${json(fetched.status)}`);
    const listed = await conn.callOk('list_posts', { status: 'SCHEDULED', limit: 50 });
    check(json(listed).includes(post.id), `list_posts {status: SCHEDULED} does not include ${post.id}: ${json(listed).slice(0, 1000)}`);
    return {
      postId: post.id,
      scheduledFor: post.scheduledFor,
      scheduledForLocal: post.scheduledForLocal,
      timezone: post.timezone,
      targets: post.targets.length,
    };
  },

  async overlong(conn, args) {
    const ids = requireIntegrations(args);
    const rules = await conn.callOk('get_platform_rules', { platform: 'webhook' });
    const content = 'An MCP validation test. '.repeat(30).slice(0, 600);
    const past = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const request = { content, integrationIds: ids.slice(0, 1), status: 'SCHEDULED', scheduledFor: past };
    const report = await conn.callOk('validate_post', request);
    check(report.valid === false, `validate_post with scheduledFor ${past} (past) should be invalid: ${json(report)}`);
    check(Array.isArray(report.errors), `validate_post: no \`errors\` array: ${json(report)}`);
    const allErrors = report.errors.concat((report.targets || []).flatMap((t) => t.errors || []));
    check(allErrors.length > 0, `validate_post: invalid but no error says why: ${json(report)}`);
    check(report.errors.every((e) => 'message' in e), `validate_post: errors need \`field\` and \`message\`: ${json(report.errors)}`);
    check(Array.isArray(report.targets) && report.targets.length === 1, `validate_post: one target expected: ${json(report)}`);
    const [target] = report.targets;
    check(target.integrationId === ids[0], `validate_post: target ${json(target)}`);
    check(target.length === 600, `validate_post: target length should be 600: ${json(target)}`);
    check(Number.isInteger(target.maxLength) && target.maxLength >= 600, `validate_post: webhook maxLength should allow 600 characters: ${json(target)}`);
    const refused = await conn.callError('create_post', request, 'VALIDATION_FAILED');
    return {
      errors: report.errors,
      maxLength: target.maxLength,
      rulesMention100000: json(rules).includes('100000'),
      createPostError: refused,
    };
  },

  async draft_only(conn, args) {
    const ids = requireIntegrations(args);
    const [scheduledFor] = tomorrowAtNine(args.timezone);
    const base = { content: 'A draft-only key tries to schedule.', integrationIds: ids.slice(0, 1) };
    const refused = await conn.callError('create_post', { ...base, status: 'SCHEDULED', scheduledFor }, 'FORBIDDEN');
    check(refused.includes('drafts'), `the FORBIDDEN message should say the key may only make drafts: ${json(refused)}`);
    const draft = await conn.callOk('create_post', { ...base, status: 'DRAFT' });
    check(draft.status === 'DRAFT', `create_post DRAFT: status ${json(draft.status)}`);
    const publish = await conn.callError('publish_post', { postId: draft.id }, 'FORBIDDEN');
    return { forbidden: refused, draftId: draft.id, publishRefused: publish };
  },

  /** Publishes now; a `post_published` notification (level info) must follow. */
  notify: (conn, args) => notifiedOf(conn, args, 'post_published', 'info'),

  /** Publishes now to a receiver told to refuse it; a `post_failed` warning must follow. */
  notify_failed: (conn, args) => notifiedOf(conn, args, 'post_failed', 'warning'),

  async analytics(conn, args) {
    const ids = requireIntegrations(args);
    const analytics = await conn.callOk('get_integration_analytics', { integrationId: ids[0], days: 7 });
    return { analyticsKeys: Object.keys(analytics).sort() };
  },
};

async function notifiedOf(conn, args, kind, level) {
  const ids = requireIntegrations(args);
  const capabilities = conn.client.getServerCapabilities() || {};
  check(capabilities.logging, 'a server that sends notifications/message must declare the `logging` capability');
  if (args.transport === 'http' || args.transport === 'http-path') {
    // The SDK opens the standalone GET stream in the background after initialize;
    // a tools/list round trip and a short pause make sure it is connected.
    await conn.client.listTools();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const post = await conn.callOk('create_post', {
    content: 'Published now through MCP.',
    integrationIds: ids.slice(0, 1),
    status: 'NOW',
  });
  const found = await conn.waitForLog(
    (n) => n.data && n.data.kind === kind && n.data.postId === post.id,
    args.notifyTimeout * 1000,
  );
  check(
    found,
    `no notifications/message with data.kind ${kind} for ${post.id} within ${args.notifyTimeout}s;` +
      ` received: ${json(conn.notifications)}; transport errors: ${json(conn.transportErrors)}`,
  );
  check(found.logger === 'herald', `notification logger should be 'herald', got ${json(found.logger)}`);
  check(found.level === level, `${kind} notification level should be ${json(level)}, got ${json(found.level)}`);
  check(found.data.integrationId === ids[0], `notification integrationId: ${json(found.data)}`);
  const fetched = await conn.callOk('get_post', { postId: post.id });
  return { postId: post.id, notification: found.data, statusAfter: fetched.status };
}

/** After the session: revoke (RFC 7009), and every token of the grant gets 401. */
async function revokeAndCheck(args) {
  const base = args.base.replace(/\/+$/, '');
  const { tokens, client } = args.provider.stored;
  const form = (fields) => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const revoked = await fetch(`${base}/oauth/revoke`, form({ token: tokens.refresh_token, client_id: client.client_id }));
  check(revoked.status === 200, `revocation answered ${revoked.status}`);
  for (const token of args.provider.history) {
    const answer = await fetch(`${base}/api/mcp`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token.access_token}`, Accept: 'application/json, text/event-stream', 'Content-Type': 'application/json' },
      body: json({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    check(answer.status === 401, `a revoked token got ${answer.status}`);
    check((answer.headers.get('www-authenticate') || '').includes('resource_metadata='), '401 without resource_metadata');
  }
  const refreshed = await fetch(
    `${base}/oauth/token`,
    form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }),
  );
  const body = await refreshed.json();
  check(refreshed.status === 400 && body.error === 'invalid_grant', `a revoked refresh token must give invalid_grant: ${json(body)}`);
  return { revoked: true };
}

// ---------------------------------------------------------------------------
// Command line

function usage(message) {
  process.stderr.write(
    `${message ? `error: ${message}\n` : ''}usage: node client.mjs --transport ${TRANSPORTS.join('|')} --base URL --key KEY\n` +
      `    [--herald BIN --cwd DIR] --scenario ${Object.keys(scenarios).join('|')}\n` +
      `    [--integrations id1,id2] [--timezone ZONE] [--timeout S] [--notify-timeout S] [--trace]\n`,
  );
  process.exit(message ? 2 : 0);
}

function parse(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        transport: { type: 'string' },
        base: { type: 'string' },
        key: { type: 'string' },
        session: { type: 'string' },
        herald: { type: 'string', default: 'herald' },
        cwd: { type: 'string' },
        scenario: { type: 'string' },
        integrations: { type: 'string', default: '' },
        timezone: { type: 'string', default: 'UTC' },
        timeout: { type: 'string', default: '90' },
        'notify-timeout': { type: 'string', default: '15' },
        trace: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    usage(error.message);
  }
  if (values.help) usage();
  if (!TRANSPORTS.includes(values.transport)) usage(`--transport must be one of ${TRANSPORTS.join(', ')}`);
  if (!scenarios[values.scenario]) usage(`--scenario must be one of ${Object.keys(scenarios).join(', ')}`);
  if (!values.key && values.transport !== 'oauth') usage('--key is required');
  if (values.transport !== 'stdio' && !values.base) usage(`--base is required with --transport ${values.transport}`);
  return {
    ...values,
    provider: new HeraldTestProvider((values.base || '').replace(/\/+$/, ''), values.session),
    afterClose: undefined,
    integrations: values.integrations.split(',').filter(Boolean),
    timeout: Number(values.timeout),
    notifyTimeout: Number(values['notify-timeout']),
  };
}

async function main() {
  const args = parse(process.argv.slice(2));
  let conn;
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(`timed out after ${args.timeout}s`)), args.timeout * 1000);
    });
    const details = await Promise.race([
      (async () => {
        conn = await connect(args);
        const found = await scenarios[args.scenario](conn, args);
        if (args.afterClose) {
          // Anything that still needs a fresh authorization is a failure now.
          args.provider.refuse = true;
          conn.closing = true;
          await conn.transport.terminateSession().catch(() => {});
          await conn.client.close();
          conn = undefined;
          Object.assign(found, await args.afterClose(args));
        }
        return found;
      })(),
      timeout,
    ]);
    console.log(json({ ok: true, scenario: args.scenario, transport: args.transport, ...details }));
    process.exitCode = 0;
  } catch (error) {
    if (!(error instanceof Failure)) log(error && error.stack ? error.stack : String(error));
    const message = `${args.scenario} over ${args.transport}: ${error instanceof Failure ? error.message : `${error?.name}: ${error?.message ?? error}`}`;
    log(`FAILED: ${message}`);
    console.log(json({ ok: false, scenario: args.scenario, transport: args.transport, error: message }));
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    if (conn) {
      conn.closing = true;
      const within3s = (promise) => Promise.race([promise.catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
      if (['http', 'http-path', 'oauth'].includes(args.transport)) {
        await within3s(conn.transport.terminateSession()); // DELETE the session, as a polite client does
      }
      await within3s(conn.client.close());
    }
  }
  // Open sockets or a child must not keep the process alive once the result is out.
  setTimeout(() => process.exit(process.exitCode), 100).unref();
}

main();
