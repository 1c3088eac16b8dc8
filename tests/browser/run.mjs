// End-to-end test of the web UI in headless Chromium, against the real
// binary with a fresh data directory:
//   register → connect an account (by form, and X by OAuth against the
//   testkit's fake X) → compose a scheduled thread with media →
//   see it on the calendar → drag it to another day → see it publish with
//   its status changing live → see it on the dashboard; then the composer's
//   alt text editing, per-reply media and per-account settings.
// Every page is checked with axe-core (no serious or critical violation) and
// screenshotted at 1280 and 375 px wide into target/screenshots/.
//
// Environment: HERALD_BIN (default target/debug/herald under CARGO_TARGET_DIR),
// CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (default target/screenshots).
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');
const bin = process.env.HERALD_BIN || join(targetDir, 'debug', 'herald');
const shots = resolve(process.env.SCREENSHOTS || join(root, 'target', 'screenshots'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TZ = 'Europe/Paris';
const PNG = makePng(96, 64);

// A small valid PNG (an indigo square), built here so no binary file is checked in.
function makePng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) { c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; }
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) { c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); } return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4);
  header[8] = 8; header[9] = 2; // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([0x43, 0x38, 0xca]))]);
  const pixels = deflateSync(Buffer.concat(Array(height).fill(row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

const cleanups = [];
const log = (...args) => console.log('[browser]', ...args);

// ---- A tiny webhook receiver that also serves an image to attach ----
function startReceiver() {
  const deliveries = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/image.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end(PNG);
    }
    // Where an MCP app's sign-in comes back to.
    if (req.method === 'GET' && req.url.startsWith('/callback?')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><html lang="en"><title>Signed in</title><h1>Signed in</h1></html>');
    }
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(body); } catch { json = null; }
      // An OpenAI-compatible model for the composer's writing help.
      if (req.url === '/v1/chat/completions') {
        const text = `Shorter: ${json.messages[1].content.split(' ').slice(0, 4).join(' ')}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: text } }] }));
      }
      deliveries.push({ method: req.method, url: req.url, headers: req.headers, body: json });
      const n = deliveries.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `item-${n}`, url: `http://127.0.0.1:${server.address().port}/posts/${n}` }));
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    cleanups.push(() => server.close());
    ok({ base: `http://127.0.0.1:${server.address().port}`, deliveries });
  }));
}

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

// ---- The testkit's fake X (OAuth 2.0 with PKCE, API v2), as a process ----
async function startFakeX() {
  const child = spawn(join(targetDir, 'debug', 'examples', 'fake-platform'), ['x'], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGTERM'));
  const line = await new Promise((ok, fail) => {
    let buffered = '';
    child.stdout.on('data', (d) => {
      buffered += d;
      if (buffered.includes('\n')) { ok(buffered.split('\n')[0]); }
    });
    child.on('exit', (code) => fail(new Error(`fake-platform exited with ${code}`)));
  });
  return JSON.parse(line).url;
}

async function startHerald(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-browser-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    env: {
      ...process.env,
      MAIN_URL: base,
      HERALD_ALLOW_PRIVATE_TARGETS: 'true',
      HERALD_RATE_LIMIT: '0',
      HERALD_RATE_LIMIT_POSTS: '0',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  cleanups.push(() => child.kill('SIGTERM'));
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) { return { base, output: () => output }; }
    } catch { /* not up yet */ }
    if (child.exitCode !== null) { throw new Error(`herald exited early:\n${output}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`herald did not start:\n${output}`);
}

// ---- Page checks ----
const violations = [];
async function audit(page, name) {
  await page.evaluate(`${axeSource};0`);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    violations.push(`${name}: [${v.impact}] ${v.id} — ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  }
}

async function shoot(page, name) {
  await audit(page, name);
  const viewport = page.viewportSize();
  await page.screenshot({ path: join(shots, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) {
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && e.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
      .slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
    console.error(`${name}: too wide at 375 px:`, wide);
  }
  assert.ok(overflow <= 1, `${name}: the page scrolls sideways at 375 px (${overflow}px too wide)`);
  await audit(page, `${name} (375 px)`);
  await page.screenshot({ path: join(shots, `${name}-375.png`), fullPage: true });
  await page.setViewportSize(viewport);
}

function localInput(date) {
  // "YYYY-MM-DDTHH:MM" of an instant in the test's time zone.
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(date);
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}`;
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const receiver = await startReceiver();
  const fakeX = await startFakeX();
  const herald = await startHerald({
    X_CLIENT_ID: 'herald-test-client',
    X_CLIENT_SECRET: 'herald-test-secret',
    HERALD_PROVIDER_X_API_BASE: fakeX,
    HERALD_AI_BASE_URL: `${receiver.base}/v1`,
    HERALD_AI_API_KEY: 'sk-browser-test',
    HERALD_AI_MODEL: 'fake',
  });
  log('herald at', herald.base, '— screenshots in', shots);
  const userDataDir = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
  cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timezoneId: TZ,
    locale: 'en-GB',
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') { problems.push(`console: ${m.text()}`); } });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const base = herald.base;

  // 1. Sign-in pages, then register.
  await page.goto(`${base}/login`);
  await shoot(page, 'login');
  await page.goto(`${base}/register`);
  await shoot(page, 'register');
  assert.equal(await page.inputValue('#timezone'), TZ, 'the browser time zone is proposed');
  await page.fill('#name', 'Ada');
  await page.fill('#email', 'ada@example.com');
  await page.fill('#password', 'short');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('#password-error'), /at least 12 characters/);
  await page.fill('#password', 'correct horse battery staple');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/integrations/);
  log('registered');

  // 2. Connect an account (the form is generated from the webhook's credentials schema).
  await page.click('#connect-webhook summary');
  await page.fill('#webhook-url', `${receiver.base}/hook`);
  await page.fill('#webhook-secret', 'a-signing-secret-of-some-length');
  await page.fill('#webhook-name', 'Team feed');
  await page.click('#connect-webhook button[type=submit]');
  await page.waitForURL(/notice=connected/);
  assert.ok(await page.isVisible('text=Team feed'));
  await shoot(page, 'integrations');
  log('connected');

  // 3. Compose a scheduled thread with media.
  await page.goto(`${base}/posts/new`);
  assert.ok(await page.isChecked('input[name=platforms]'), 'the only account is preselected');
  await page.fill('#content', 'Herald ships a web UI today https://example.com/announcement');
  await page.waitForSelector('#content-counters span');
  assert.match(await page.textContent('#content-counters'), /Team feed \d+\/100000/);
  await page.click('#thread-add');
  await page.fill('#thread-0', 'It has a calendar with drag and drop.');
  await page.click('#thread-add');
  await page.fill('#thread-1', 'And live status.');
  // Reorder: move the second reply up, then back.
  await page.click('#thread-items li:nth-child(2) >> text=Move up');
  assert.equal(await page.inputValue('#thread-0'), 'And live status.');
  await page.click('#thread-items li:nth-child(2) >> text=Move up');
  assert.equal(await page.inputValue('#thread-0'), 'It has a calendar with drag and drop.');
  // Media: a file upload (multipart) with alt text, and one fetched from a URL.
  await page.fill('#media-alt', 'The Herald logo');
  await page.setInputFiles('#media-file', { name: 'logo.png', mimeType: 'image/png', buffer: PNG });
  await page.waitForSelector('#media-list figure img[alt="The Herald logo"]');
  await page.fill('#media-url', `${receiver.base}/image.png`);
  await page.fill('#media-alt', 'The same logo, from a URL');
  await page.click('#media-attach');
  await page.waitForSelector('#media-list figure img[alt="The same logo, from a URL"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#media-list img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  assert.equal(await page.locator('#previews .preview').count(), 1, 'one preview per selected account');
  assert.equal(await page.locator('#previews .reply').count(), 2, 'the preview shows the thread');
  const inTwoDays = new Date(Date.now() + 2 * 86400e3);
  inTwoDays.setUTCHours(9, 0, 0, 0);
  const when = localInput(inTwoDays);
  await page.fill('#scheduled-for', when);
  await shoot(page, 'composer');
  await page.click('#do-schedule');
  await page.waitForURL(/notice=scheduled/);
  const postId = new URL(page.url()).searchParams.get('highlight');
  assert.ok(postId, 'the new post id is in the URL');
  await shoot(page, 'posts');
  log('scheduled', postId, 'for', when);

  // Writing help: a suggestion per account, taken with "Use".
  await page.goto(`${base}/posts/new`);
  await page.fill('#content', 'Herald ships a web UI today with a calendar');
  await page.click('#ai-shorten');
  await page.waitForSelector('#ai-suggestions li');
  assert.match(await page.textContent('#ai-suggestions'), /Shorter: Herald ships a web/);
  await shoot(page, 'composer-ai');
  await page.click('#ai-suggestions button[value^="ai_use:"]');
  await page.waitForSelector('#ai-suggestions', { state: 'detached' });
  assert.equal(await page.inputValue('#content'), 'Shorter: Herald ships a web');
  log('writing help suggested and used');

  const api = (path, init = {}) => page.evaluate(async ([p, i]) => {
    const r = await fetch(p, { credentials: 'same-origin', ...i });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [path, init]);
  let post = (await api(`/api/posts/${postId}`)).body;
  assert.equal(post.status, 'SCHEDULED');
  assert.equal(post.thread.length, 2);
  assert.equal(post.mediaIds.length, 2);

  // The edit page of the scheduled post.
  await page.goto(`${base}/posts/${postId}/edit`);
  assert.equal(await page.inputValue('#scheduled-for'), when);
  await shoot(page, 'composer-edit');

  // 4. See it on the calendar, then drag it to the next day.
  const day = when.slice(0, 10);
  await page.goto(`${base}/calendar?view=month&date=${day}`);
  const chip = page.locator(`#calendar [data-post="${postId}"]`);
  await chip.waitFor();
  assert.equal(await chip.locator('xpath=ancestor::div[@data-date]').getAttribute('data-date'), day);
  await shoot(page, 'calendar-month');
  const next = new Date(Date.parse(`${day}T12:00:00Z`) + 86400e3).toISOString().slice(0, 10);
  await dragOnto(chip, page.locator(`#calendar .day[data-date="${next}"]`));
  await page.waitForURL(/notice=moved/);
  await page.locator(`#calendar .day[data-date="${next}"] [data-post="${postId}"]`).waitFor();
  post = (await api(`/api/posts/${postId}`)).body;
  assert.equal(localInput(new Date(post.scheduledFor)), `${next}${when.slice(10)}`, 'moved one day, same time');
  log('dragged to', next);

  // The keyboard alternative: Alt+← moves it back a day.
  await page.locator(`#calendar [data-post="${postId}"]`).focus();
  await page.keyboard.press('Alt+ArrowLeft');
  await page.waitForURL(/focus=/);
  await page.locator(`#calendar .day[data-date="${day}"] [data-post="${postId}"]`).waitFor();
  for (const view of ['week', 'day', 'list']) {
    await page.goto(`${base}/calendar?view=${view}&date=${day}`);
    await page.locator(`[data-post="${postId}"]`).first().waitFor();
    await shoot(page, `calendar-${view}`);
  }

  // 5. See it publish, live: the dashboard lists it as coming up; another
  // client moves it to a few seconds from now; the badge changes without a reload.
  await page.goto(`${base}/`);
  const badge = page.locator(`#upcoming [data-post-badge="${postId}"]`);
  assert.equal((await badge.textContent()).trim(), 'Scheduled');
  await page.evaluate(() => { window.__noReload = true; });
  await page.waitForTimeout(300); // the event stream connects
  const soon = new Date(Date.now() + 3000).toISOString();
  const moved = await api(`/api/posts/${postId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scheduledFor: soon }) });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  await page.waitForFunction((id) => document.querySelector(`#upcoming [data-post-badge="${id}"]`)?.textContent.trim() === 'Published', postId, { timeout: 30000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the status changed without a reload');
  const link = page.locator(`#upcoming [data-post="${postId}"] a[data-target-link]`);
  await page.waitForFunction((id) => document.querySelector(`#upcoming [data-post="${id}"] a[data-target-link]`)?.getAttribute('href'), postId, { timeout: 10000 });
  assert.match(await link.getAttribute('href'), /\/posts\/1$/, 'the link to the published post appears live');
  log('published live');
  const hooks = receiver.deliveries.filter((d) => d.url === '/hook');
  assert.equal(hooks.length, 3, 'the post and its two replies');
  assert.deepEqual(hooks.map((d) => d.body.item.index), [0, 1, 2]);
  assert.equal(hooks[1].body.replyTo.id, 'item-1');
  assert.equal(hooks[0].body.item.mediaUrls.length, 2, 'the media went out with the first item');

  // 6. On the dashboard after a reload: in the recent results, with its link.
  await page.reload();
  await page.locator(`#recent [data-post="${postId}"]`).waitFor();
  assert.equal((await page.locator(`#recent [data-post-badge="${postId}"]`).textContent()).trim(), 'Published');
  await shoot(page, 'dashboard');

  // The remaining pages.
  await page.goto(`${base}/analytics`);
  assert.ok(await page.isVisible('svg.chart'));
  await shoot(page, 'analytics');
  await page.goto(`${base}/settings`);
  await page.fill('#k-name', 'Assistant');
  await page.click('#api-keys button[type=submit]:has-text("Create key")');
  const key = await page.inputValue('#new-key');
  assert.match(key, /^ptz_[A-Za-z0-9]{40}$/);
  await shoot(page, 'settings');

  await composerExtras(page, base, receiver, api); // ui-composer block, defined below main()

  // 7. Previews in each platform's look. A fake Mastodon instance answers the
  // account check, so the composer has two platforms: Mastodon and the webhook.
  {
    const fake = createServer((req, res) => {
      if (req.url.startsWith('/api/v1/accounts/verify_credentials') && req.headers.authorization === 'Bearer a-mastodon-token') {
        res.writeHead(200, { 'content-type': 'application/json' });
        // The avatar is on another origin: the CSP blocks it, so the preview must not ask for it.
        return res.end(JSON.stringify({ id: '1', username: 'ada', acct: 'ada', display_name: 'Ada Lovelace', avatar: `http://127.0.0.1:${fake.address().port}/avatar.png` }));
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    });
    await new Promise((ok) => fake.listen(0, '127.0.0.1', ok));
    cleanups.push(() => fake.close());
    const instance = `http://127.0.0.1:${fake.address().port}`;
    const connected = await api('/api/integrations', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'mastodon', credentials: { instanceUrl: instance, accessToken: 'a-mastodon-token' } }) });
    assert.ok(connected.status < 300, JSON.stringify(connected.body));

    await page.goto(`${base}/posts/new`);
    for (const box of await page.locator('input[name=platforms]').all()) { await box.check(); }
    await page.fill('#content', 'Herald 1.0 <img src=x onerror="window.__xss=1"> #herald with @ada@example.social https://example.com/releases/herald-1-0-and-more');
    await page.click('#thread-add');
    await page.fill('#thread-0', 'Thanks to everyone who tested it.');
    await page.fill('#media-url', `${receiver.base}/image.png`);
    await page.fill('#media-alt', 'An indigo square');
    await page.click('#media-attach');
    await page.waitForSelector('#previews .pv-mastodon img[alt="An indigo square"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#previews img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
    const masto = page.locator('#previews article[aria-label="Preview on Mastodon (Ada Lovelace)"]');
    assert.equal(await masto.locator('.pv-st').count(), 2, 'the post and its reply');
    assert.equal(await masto.locator('.pv-st.more').count(), 1, 'a line joins the thread');
    assert.equal((await masto.locator('.pv-name').first().textContent()), 'Ada Lovelace');
    assert.equal((await masto.locator('.pv-handle').first().textContent()), `@ada@${instance.slice(7)}`);
    assert.equal((await masto.locator('.pv-time').first().textContent()), 'now');
    assert.equal(await masto.locator('.pv-tag').first().textContent(), '#herald');
    assert.equal(await masto.locator('.pv-at').first().textContent(), '@ada@example.social');
    assert.equal(await masto.locator('.pv-link').first().textContent(), 'example.com/releases/herald-1-…', 'URLs shortened as Mastodon does');
    assert.equal(await masto.locator('.pv-act svg[aria-hidden="true"]').count(), 8, 'reply, boost, favourite, bookmark under each');
    assert.equal(await masto.locator('img.pv-av').count(), 0, 'a remote avatar is not requested (CSP)');
    const hook = page.locator('#previews article[aria-label="Preview on Webhook (Team feed)"]');
    assert.equal(await hook.locator('pre.pv-json').count(), 2, 'one request per item');
    assert.match(await hook.locator('pre.pv-json').first().textContent(), /"content": "Herald 1.0 <img src=x onerror=\\"window.__xss=1\\">/);
    assert.equal(await page.locator('#previews img[src="x"]').count(), 0, 'user text is escaped');

    // Every platform's look, drawn from the same post (the gallery sits under the live previews).
    await page.evaluate(() => {
      const media = [...document.querySelectorAll('#media-list img')].map((i) => ({ url: i.getAttribute('src'), mime: 'image/png', altText: i.alt }));
      const looks = [['mastodon', 'Mastodon', { spoilerText: 'Release news' }], ['bluesky', 'Bluesky', {}], ['telegram', 'Telegram', {}],
        ['discord', 'Discord', {}], ['slack', 'Slack', {}], ['nostr', 'Nostr', {}], ['lemmy', 'Lemmy', { community: 'rust' }],
        ['devto', 'DEV', { tags: ['rust', 'release'] }], ['wordpress', 'WordPress', {}], ['x', 'X', {}]];
      const gallery = document.createElement('div');
      gallery.id = 'pv-gallery';
      gallery.innerHTML = looks.map(([platform, platformName, settings]) => window.herald.preview({
        platform, platformName, settings, media,
        account: { name: 'Herald team', handle: platform === 'nostr' ? 'npub1h3ra1dt3amqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq0x2k' : 'herald@example.social', avatarUrl: '' },
        text: 'Herald 1.0 is out <img src=x onerror="window.__xss=1">\nRelease notes: https://example.com/releases/herald-1-0-and-more #herald @ada **bold** `code`',
        replies: [{ text: 'Thanks to everyone who tested it.', media: [] }],
      })).join('');
      document.getElementById('previews').after(gallery);
    });
    const look = (id) => page.locator(`#pv-gallery .pv-${id}`);
    assert.match(await look('mastodon').locator('details.pv-cw > summary').first().textContent(), /^Release newsShow more/);
    assert.equal(await look('mastodon').locator('details.pv-cw[open]').count(), 0, 'the warning hides the text');
    assert.equal(await look('bluesky').locator('.pv-link').first().textContent(), 'example.com/releases/her...', 'URLs shortened as Bluesky does');
    assert.equal(await look('bluesky').locator('.pv-act').first().textContent(), ' 0 0 0');
    assert.equal(await look('telegram').locator('.pv-bubble.ph img[alt="An indigo square"]').count(), 1, 'the photo on top of its caption');
    assert.equal(await look('telegram').locator('.pv-bubble').count(), 2);
    assert.match(await look('telegram').locator('.pv-foot').first().textContent(), /1 · \d/);
    assert.equal(await look('discord').locator('.pv-badge').textContent(), 'APP');
    assert.equal(await look('discord').locator('.pv-text b').first().textContent(), 'bold', 'Markdown');
    assert.equal(await look('discord').locator('.pv-msg.reply .pv-av').count(), 0, 'a follow-up message has no header');
    assert.equal(await look('slack').locator('.pv-thread > .pv-meta').textContent(), '1 reply');
    assert.match(await look('nostr').locator('.pv-handle').first().textContent(), /^npub1h3ra1dt…qq0x2k$/);
    assert.equal(await look('lemmy').locator('.pv-votes').count(), 1);
    assert.equal(await look('lemmy').locator('.pv-title').textContent(), 'Herald 1.0 is out <img src=x onerror="window.__xss=1">', 'the first line is the title');
    assert.match(await look('lemmy').locator('.pv-meta').first().textContent(), /to !rust/);
    assert.equal(await look('lemmy').locator('.pv-comment').count(), 1, 'the reply is a comment');
    assert.equal(await look('devto').locator('.pv-cover img').count(), 1);
    assert.equal(await look('devto').locator('.pv-tags').textContent(), '#rust #release');
    assert.match(await look('devto').locator('.pv-meta').textContent(), /^\d+ min read$/);
    assert.equal(await look('devto').locator('.reply').count(), 0, 'an article has no thread');
    assert.equal(await look('wordpress').locator('.pv-title').textContent(), 'Herald 1.0 is out <img src=x onerror="window.__xss=1">');
    assert.equal(await look('x').locator('pre.pv-json').count(), 2, 'no look of its own: the JSON card');
    assert.equal(await page.locator('#pv-gallery img[src="x"]').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran from the text');
    await page.locator('#pv-gallery').scrollIntoViewIfNeeded();
    await shoot(page, 'previews');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(page, 'previews-dark');
    await page.emulateMedia({ colorScheme: null });
    log('previews checked');
  }

  // 8. Drafts without a date wait beside the calendar: drag one onto a day,
  // or focus one and press Alt + an arrow key.
  {
    const draft = async (content) => {
      const r = await api('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content, status: 'DRAFT' }) });
      assert.ok(r.body && r.body.id, JSON.stringify(r.body));
      return r.body.id;
    };
    const dragged = await draft('An idea for later');
    const keyed = await draft('Another idea');
    await page.goto(`${base}/calendar?view=month&date=${day}`);
    await page.locator(`#undated [data-post="${dragged}"]`).waitFor();
    await shoot(page, 'calendar-undated');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(page, 'calendar-undated-dark');
    await page.emulateMedia({ colorScheme: null });
    await dragOnto(page.locator(`#undated [data-post="${dragged}"]`), page.locator(`#calendar .day[data-date="${day}"]`));
    await page.waitForURL(/notice=moved/);
    await page.locator(`#calendar .day[data-date="${day}"] [data-post="${dragged}"]`).waitFor();
    let placed = (await api(`/api/posts/${dragged}`)).body;
    assert.equal(placed.status, 'DRAFT', 'a date alone does not schedule it');
    assert.equal(localInput(new Date(placed.scheduledFor)), `${day}T09:00`, 'dropped on a day: 09:00');
    assert.equal(await page.locator(`#undated [data-post="${dragged}"]`).count(), 0, 'it left the panel');
    // The keyboard: Alt+→ puts it on the shown date, then it moves like any post.
    await page.goto(`${base}/calendar?view=month&date=${day}`);
    await page.locator(`#undated [data-post="${keyed}"]`).focus();
    await page.keyboard.press('Alt+ArrowRight');
    await page.waitForURL(/focus=/);
    await page.locator(`#calendar .day[data-date="${day}"] [data-post="${keyed}"]`).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-post')), keyed, 'focus follows it');
    assert.equal(await page.locator(`#undated [data-post="${keyed}"]`).count(), 0, 'it left the panel');
    placed = (await api(`/api/posts/${keyed}`)).body;
    assert.equal(localInput(new Date(placed.scheduledFor)), `${day}T09:00`);
    log('undated drafts placed');
  }

  await teamsAndApprovals(page, base, receiver, api);
  await clientPreview(page, base, api);

  // Connect X by OAuth: X's consent page (the fake approves at once) sends
  // the browser back to Herald's callback, then to the accounts page.
  await page.goto(`${base}/integrations`);
  await page.click('#oauth-x a');
  await page.waitForURL(/\/integrations\?connected=/);
  assert.ok(await page.isVisible('text=Account connected.'));
  assert.ok(await page.isVisible('text=ada_x'), 'the X account is listed');
  await audit(page, 'integrations-oauth');
  log('connected X by OAuth');

  await connectMcpApp(page, base, receiver);

  // Sign out (a CSRF-protected form).
  await page.click('text=Sign out');
  await page.waitForURL(/\/login\?notice=signed-out/);
  await page.goto(`${base}/posts`);
  await page.waitForURL(/\/login/);

  // 4xx answers are expected (a weak password is refused with 422); scripts and CSP must not fail.
  assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), [], 'no console errors (CSP, scripts)');
  assert.deepEqual(violations, [], 'no serious or critical accessibility violation');
  log('all browser checks passed');
}

// ==== An MCP app signs in by OAuth: the consent page's form must be allowed
// (by its CSP) to end at the app's redirect URI — a real browser enforces
// form-action on that redirect — and the app then shows in settings. ====
async function connectMcpApp(page, base, receiver) {
  const redirect = `${receiver.base}/callback`;
  const registered = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Browser Assistant', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
  });
  assert.equal(registered.status, 201);
  const { client_id: clientId } = await registered.json();
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirect, code_challenge: challenge,
    code_challenge_method: 'S256', state: 'browser-state', scope: 'posts:read posts:write posts:publish',
  });
  await page.goto(`${base}/oauth/authorize?${query}`);
  assert.ok(await page.isVisible('text=Connect Browser Assistant to Herald?'));
  assert.ok(await page.isChecked('input[value="posts:write"]'));
  assert.ok(!(await page.isChecked('input[value="posts:publish"]')), 'publishing is never pre-checked');
  await audit(page, 'oauth-consent');
  await shoot(page, 'oauth-consent');
  await page.click('button[value=allow]');
  await page.waitForURL((url) => url.href.startsWith(`${redirect}?`));
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), 'browser-state');
  const tokens = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), code_verifier: verifier, client_id: clientId, redirect_uri: redirect }),
  });
  assert.equal(tokens.status, 200);
  assert.equal((await tokens.json()).scope, 'posts:read posts:write');
  await page.goto(`${base}/settings#connected-apps`);
  assert.ok(await page.isVisible('#connected-apps >> text=Browser Assistant'));
  await shoot(page, 'settings-connected-apps');
  page.once('dialog', (d) => d.accept());
  await page.click('#connected-apps button:has-text("Revoke")');
  await page.waitForURL(/notice=app-disconnected/);
  assert.ok(await page.isVisible('#connected-apps >> text=No app connected'));
  log('MCP app connected by OAuth and disconnected');
}

// ==== Teams and approvals: the owner invites Cleo; Cleo accepts in a second
// browser (registering on the way), drafts and submits; an assistant with a
// draft-only key prepares a week of posts over MCP; the owner approves them
// all in one sitting and publishes Cleo's post to the webhook receiver. ====
async function mcpCall(base, key, session, method, params, id) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (session) { headers['mcp-session-id'] = session; }
  const body = id === undefined ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params };
  const r = await fetch(`${base}/api/mcp`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).find((l) => l.startsWith('{'));
  return { session: r.headers.get('mcp-session-id'), json: data ? JSON.parse(data) : (text ? JSON.parse(text) : null) };
}

async function teamsAndApprovals(page, base, receiver, api) {
  // The owner invites Cleo as a contributor.
  await page.goto(`${base}/settings/team`);
  await page.fill('#inv-email', 'cleo@example.com');
  await page.selectOption('#inv-role', 'CONTRIBUTOR');
  await page.click('#invite-h ~ form button[type=submit]');
  const inviteUrl = await page.inputValue('#invite-url');
  assert.match(inviteUrl, /\/invites\/[A-Za-z0-9]{40}$/);
  await shoot(page, 'team');

  // Cleo, in a browser of her own: the link, an account, then join.
  const cleoDir = mkdtempSync(join(tmpdir(), 'herald-chromium-cleo-'));
  cleanups.push(() => rmSync(cleoDir, { recursive: true, force: true }));
  const cleoContext = await chromium.launchPersistentContext(cleoDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timezoneId: TZ,
    locale: 'en-GB',
  });
  cleanups.push(() => cleoContext.close());
  const cleo = cleoContext.pages()[0] || (await cleoContext.newPage());
  const cleoProblems = [];
  cleo.on('pageerror', (e) => cleoProblems.push(e.message));
  await cleo.goto(inviteUrl);
  assert.ok(await cleo.isVisible('text=invited cleo@example.com'));
  await shoot(cleo, 'invite');
  await cleo.click('a:has-text("Create an account")');
  assert.equal(await cleo.inputValue('#email'), 'cleo@example.com', 'the address comes from the invite');
  await cleo.fill('#name', 'Cleo');
  await cleo.fill('#password', 'another horse battery staple');
  await cleo.click('button[type=submit]');
  await cleo.waitForURL(/\/invites\//);
  await cleo.click('button:has-text("Join")');
  await cleo.waitForURL(/notice=joined/);
  assert.ok(await cleo.isVisible('#ws-switch'), 'two workspaces: the switcher shows');

  // Cleo drafts and submits: no "Schedule" for a contributor.
  await cleo.goto(`${base}/posts/new`);
  assert.equal(await cleo.locator('#do-schedule').count(), 0);
  await cleo.check('input[name=platforms][data-name="Team feed"]');
  await cleo.fill('#content', 'Cleo here: our team page is live');
  await cleo.click('#do-submit');
  await cleo.waitForURL(/notice=submitted/);
  const cleoPost = new URL(cleo.url()).searchParams.get('highlight');
  assert.ok(await cleo.isVisible('text=Waiting for approval'));
  await shoot(cleo, 'posts-contributor');
  log('Cleo joined and submitted', cleoPost);

  // An assistant with a draft-only key prepares a week of posts over MCP.
  const created = await api('/api/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Weekly assistant', scopes: ['posts:read', 'posts:write'] }) });
  const key = created.body.key;
  const init = await mcpCall(base, key, null, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'assistant', version: '1' } }, 1);
  const session = init.session;
  await mcpCall(base, key, session, 'notifications/initialized', {});
  const feed = (await api('/api/integrations')).body.find((i) => i.name === 'Team feed').id;
  const week = [];
  for (let d = 1; d <= 7; d++) {
    const at = new Date(Date.now() + d * 86400e3);
    at.setUTCHours(10, 0, 0, 0);
    const made = await mcpCall(base, key, session, 'tools/call', { name: 'create_post', arguments: {
      content: `Day ${d}: tip of the day`, integrationIds: [feed], scheduledFor: at.toISOString(), status: 'DRAFT' } }, 10 + d);
    assert.ok(!made.json.result.isError, JSON.stringify(made.json));
    const id = made.json.result.structuredContent.id;
    const refused = await mcpCall(base, key, session, 'tools/call', { name: 'publish_post', arguments: { postId: id } }, 20 + d);
    assert.equal(refused.json.result.structuredContent.error.code, 'FORBIDDEN', 'a draft-only key cannot publish');
    const submitted = await mcpCall(base, key, session, 'tools/call', { name: 'submit_for_approval', arguments: { postId: id, note: 'for next week' } }, 30 + d);
    assert.equal(submitted.json.result.structuredContent.approval.state, 'REQUESTED', JSON.stringify(submitted.json));
    week.push(id);
  }
  log('the assistant prepared a week of posts');

  // The owner approves everything in one sitting.
  await page.goto(`${base}/approvals`);
  assert.equal(await page.locator('[data-approval]').count(), 8);
  assert.ok(await page.isVisible(`#approval-${cleoPost} >> text=Submitted by Cleo`));
  await shoot(page, 'approvals');
  page.once('dialog', (d) => d.accept());
  await page.click('#approve-all');
  await page.waitForURL(/notice=approved-all/);
  assert.ok(await page.isVisible('text=Nothing waits for approval'));
  for (const id of week) {
    const p = (await api(`/api/posts/${id}`)).body;
    assert.equal(p.status, 'SCHEDULED');
    assert.equal(p.approval.state, 'APPROVED');
    assert.equal(new Date(p.scheduledFor).getUTCHours(), 10, 'each at the time the assistant asked');
  }
  // Cleo's post (no time asked: the next free slot) goes out now instead.
  const before = receiver.deliveries.length;
  await page.goto(`${base}/posts`);
  await page.click(`[data-post="${cleoPost}"] button:has-text("Publish now")`);
  await page.waitForURL(/notice=publishing/);
  await page.waitForFunction((id) => fetch(`/api/posts/${id}`).then((r) => r.json()).then((p) => p.status === 'PUBLISHED'), cleoPost, { timeout: 30000, polling: 500 });
  const delivered = receiver.deliveries.slice(before).find((d) => d.url === '/hook');
  assert.equal(delivered.body.item.content, 'Cleo here: our team page is live');

  // Cleo hears her post was approved (the bell), and the owner sees who did what.
  await cleo.goto(`${base}/notifications`);
  await cleo.waitForFunction(() => true);
  for (let i = 0; i < 40 && !(await cleo.isVisible('text=Your post was approved')); i++) {
    await new Promise((r) => setTimeout(r, 500));
    await cleo.reload();
  }
  assert.ok(await cleo.isVisible('text=Your post was approved'));
  await shoot(cleo, 'notifications');
  await page.goto(`${base}/settings/audit?type=approval_requested`);
  assert.ok(await page.isVisible('text=MCP client (key “Weekly assistant”)'));
  await shoot(page, 'audit');
  assert.deepEqual(cleoProblems, []);
  await cleoContext.close();
  log('teams and approvals checked');
}

// ==== An agency's client, in a browser without a Herald account, opens a
// preview link, comments, and asks for changes: the approval queue shows
// it and offers no "Approve" until the post is edited. ====
async function clientPreview(page, base, api) {
  const feed = (await api('/api/integrations')).body.find((i) => i.name === 'Team feed').id;
  const made = await api('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Winter menu launches Friday #food', status: 'DRAFT', platforms: [feed] }) });
  const post = made.body.id;
  await api(`/api/posts/${post}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const link = await api(`/api/posts/${post}/preview-links`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(link.status, 201, JSON.stringify(link.body));

  const clientDir = mkdtempSync(join(tmpdir(), 'herald-chromium-client-'));
  cleanups.push(() => rmSync(clientDir, { recursive: true, force: true }));
  const clientContext = await chromium.launchPersistentContext(clientDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 375, height: 800 },
    timezoneId: TZ,
    locale: 'en-GB',
  });
  cleanups.push(() => clientContext.close());
  const client = clientContext.pages()[0] || (await clientContext.newPage());
  const clientProblems = [];
  client.on('pageerror', (e) => clientProblems.push(e.message));
  await client.goto(link.body.url);
  // preview.js drew the platform look-alike in place of the plain text.
  await client.waitForSelector('#client-previews article.preview');
  assert.ok(await client.isVisible('text=Winter menu launches Friday'));
  await audit(client, 'client-preview');
  await client.fill('#comment-name', 'Jo from Bistro');
  await client.fill('#comment-body', 'Please say Saturday <script>alert(1)</script>');
  await client.click('button[value=REQUEST_CHANGES]');
  await client.waitForURL(/thanks=1/);
  assert.ok(await client.isVisible('text=Please say Saturday <script>alert(1)</script>'), 'the comment is shown as text');
  assert.ok(await client.isVisible('#client-verdict'));
  await shoot(client, 'client-preview');
  assert.deepEqual(clientProblems, []);
  await clientContext.close();

  await page.goto(`${base}/approvals`);
  const card = page.locator(`#approval-${post}`);
  assert.ok(await card.locator('[data-changes-requested]').isVisible(), 'the queue shows the change request');
  assert.ok(await card.locator('text=Please say Saturday').isVisible());
  assert.equal(await card.locator('button:has-text("Approve")').count(), 0, 'no approving until it is edited');
  const refused = await api(`/api/posts/${post}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(refused.status, 409);
  await shoot(page, 'approvals-changes-requested');
  // Leave the queue as the rest of the flow expects it.
  await api(`/api/posts/${post}`, { method: 'DELETE' });
  log('a client asked for changes on a preview page');
}

// ==== ui-composer: alt text edited after upload, a reply with its own image,
// a per-account platform setting (a Discord account whose webhook is the
// test receiver). Runs after the main flow: its deliveries do not shift the
// receiver's numbering the main flow checks. ====
async function composerExtras(page, base, receiver, api) {
  await page.goto(`${base}/integrations`);
  await page.click('#connect-discord summary');
  await page.fill('#discord-webhookUrl', `${receiver.base}/api/webhooks/42/a-token`);
  await page.fill('#discord-name', 'Dev chat');
  await page.click('#connect-discord button[type=submit]');
  await page.waitForURL(/notice=connected/);
  const discord = (await api('/api/integrations')).body.find((i) => i.platform === 'discord').id;
  const altSaved = () => page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/media/'));

  await page.goto(`${base}/posts/new`);
  await page.check(`input[name=platforms][value="${discord}"]`);
  await page.fill('#content', 'Release notes, with pictures');
  // An image uploaded without alt text is flagged; describing it afterwards saves at once.
  await page.setInputFiles('#media-file', { name: 'chart.png', mimeType: 'image/png', buffer: PNG });
  const fig = page.locator('#media-list figure').first();
  await fig.locator('[data-no-alt]').waitFor({ state: 'visible' });
  let saved = altSaved();
  await fig.locator('[data-alt-for]').fill('A bar chart of downloads');
  await fig.locator('[data-alt-for]').press('Tab');
  assert.equal((await saved).status(), 200, 'alt text saved with PATCH /api/media/{id}');
  assert.ok(await fig.locator('[data-no-alt]').isHidden(), 'the warning goes once the image is described');
  // A reply with its own image (and its own alt text), kept when replies move.
  await page.click('#thread-add');
  await page.fill('#thread-0', 'Screenshot of the changelog:');
  await page.setInputFiles('#thread-file-0', { name: 'changelog.png', mimeType: 'image/png', buffer: PNG });
  const replyFig = page.locator('#thread-items li:nth-child(1) .reply-media figure');
  await replyFig.waitFor();
  saved = altSaved();
  await replyFig.locator('[data-alt-for]').fill('The changelog');
  await replyFig.locator('[data-alt-for]').press('Tab');
  assert.equal((await saved).status(), 200);
  await page.click('#thread-add');
  await page.fill('#thread-1', 'Thanks to every contributor.');
  await page.click('#thread-items li:nth-child(2) >> text=Move up');
  assert.equal(await page.locator('#thread-items li:nth-child(2) .reply-media figure').count(), 1, 'the image moved with its reply');
  await page.click('#thread-items li:nth-child(1) >> text=Move down');
  await page.locator('#previews .reply img[alt="The changelog"]').waitFor();
  // A Discord setting in the account's tab; a bad value is explained beside it.
  await page.click(`#tab-${discord}`);
  await page.fill(`#set-${discord}-username`, 'Discord bot');
  await page.waitForFunction((id) => /may not contain/.test(document.querySelector(`[data-errors="overrides.${id}.settings.username"]`).textContent), discord);
  await page.fill(`#set-${discord}-username`, 'Herald');
  await page.check(`#set-${discord}-suppressEmbeds`);
  await page.waitForFunction((id) => !document.querySelector(`[data-errors="overrides.${id}.settings.username"]`).textContent, discord);
  await shoot(page, 'composer-extras');
  // The contract with preview.js: window.herald.preview(p) gets each reply's
  // media and the account's settings (wrapped, so a real preview.js still draws).
  const p = await page.evaluate(() => {
    const real = window.herald.preview;
    let seen = null;
    window.herald.preview = (arg) => { seen = arg; return real ? real(arg) : '<article class="preview">stub</article>'; };
    document.getElementById('content').dispatchEvent(new Event('input', { bubbles: true }));
    if (real) { window.herald.preview = real; } else { delete window.herald.preview; }
    return seen;
  });
  assert.equal(p.platform, 'discord');
  assert.equal(p.account.name, 'Dev chat');
  assert.equal(p.media[0].altText, 'A bar chart of downloads');
  assert.deepEqual(p.replies.map((r) => r.media.map((m) => m.altText)), [['The changelog'], []]);
  assert.deepEqual(p.settings, { username: 'Herald', suppressEmbeds: true });
  await page.click('#do-draft');
  await page.waitForURL(/notice=draft/);
  const postId = new URL(page.url()).searchParams.get('highlight');
  const post = (await api(`/api/posts/${postId}`)).body;
  assert.equal(post.mediaIds.length, 1);
  assert.deepEqual(post.thread.map((t) => t.mediaIds.length), [1, 0], 'the first reply has its image');
  assert.deepEqual(post.targets[0].settings, { username: 'Herald', suppressEmbeds: true });
  // The edit page shows it all again.
  await page.goto(`${base}/posts/${postId}/edit`);
  assert.equal(await page.inputValue('#media-list [data-alt-for]'), 'A bar chart of downloads');
  assert.equal(await page.inputValue('#thread-items [data-alt-for]'), 'The changelog');
  assert.equal(await page.inputValue(`#set-${discord}-username`), 'Herald');
  assert.ok(await page.isChecked(`#set-${discord}-suppressEmbeds`));
  log('composer: alt text, reply media and settings');
}
// ==== end of the ui-composer block ====

// Where the days fall in the month grid depends on today's date: a target
// day on the row at the bottom edge of the viewport would scroll the page
// in the middle of the drag, and the drop would miss. Centre it first.
async function dragOnto(source, target) {
  await target.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await source.dragTo(target);
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  for (const clean of cleanups.reverse()) {
    try { await clean(); } catch { /* best effort */ }
  }
}
process.exit(failed ? 1 : 0);
