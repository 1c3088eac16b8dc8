#!/usr/bin/env python3
"""End-to-end MCP client for Herald, on the official Python SDK (`mcp`).

Runs one scenario against a running Herald over one transport and prints a
final JSON line: `{"ok": true, ...details}` on success; on failure it prints
`{"ok": false, "error": "..."}` and exits 1 (2 for bad usage).

    python client.py --transport sse|http|http-path|stdio --base URL --key KEY \
        [--herald BIN --cwd DIR] --scenario NAME [--integrations id1,id2] \
        [--timezone Europe/Paris] [--trace]

Transports:
  sse        legacy HTTP+SSE: GET {base}/api/mcp/{key}/sse, POSTs to the `endpoint` event's URL
  http       Streamable HTTP at {base}/api/mcp with `Authorization: Bearer KEY`
  http-path  Streamable HTTP at {base}/api/mcp/{key} (key in the path, no header)
  stdio      spawns `{herald} mcp --api-key KEY` in --cwd (HERALD_*, DATABASE_URL, ... are passed on)
  oauth      Streamable HTTP at {base}/api/mcp, signed in by the SDK's OAuth client: discovery, dynamic
             registration, the consent page (posted by this script with --session, a signed-in
             `herald_session` cookie), PKCE, token exchange and refresh (no --key)

Scenarios: list_tools, integrations, schedule, overlong, draft_only, notify, notify_failed, analytics,
oauth (with --transport oauth)
(see SCENARIOS at the bottom). `--trace` logs every JSON-RPC message to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import html.parser
import urllib.parse

import anyio
import httpx2

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = [
    "list_integrations",
    "get_platform_rules",
    "validate_post",
    "create_post",
    "list_posts",
    "get_post",
    "update_post",
    "delete_post",
    "publish_post",
    "add_to_queue",
    "submit_for_approval",
    "approve_post",
    "reject_post",
    "find_next_slot",
    "get_post_analytics",
    "get_integration_analytics",
    "list_feeds",
    "create_feed",
    "upload_media_from_url",
]
READ_ONLY = {t for t in TOOLS if t.startswith(("list_", "get_"))} | {"validate_post", "find_next_slot"}
MUTATING = set(TOOLS) - READ_ONLY

# Environment handed to `herald mcp` on stdio (the SDK passes only a minimal default set).
PASS_ENV_PREFIXES = ("HERALD_",)
PASS_ENV = ("DATABASE_URL", "JWT_SECRET", "ENCRYPTION_KEY", "RUST_LOG", "RUST_BACKTRACE")


class Failure(Exception):
    """A check failed: the message says what was expected and what came."""


def check(condition: Any, message: str) -> None:
    if not condition:
        raise Failure(message)


def log(message: str) -> None:
    print(f"[client.py] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Connection


class _TracedRead:
    """Wraps a transport's read stream, logging each incoming message."""

    def __init__(self, inner: Any, enabled: bool) -> None:
        self._inner, self._enabled = inner, enabled

    def __getattr__(self, name: str) -> Any:  # last_context and friends
        return getattr(self._inner, name)

    def _log(self, item: Any) -> Any:
        if self._enabled:
            if isinstance(item, Exception):
                log(f"<- transport error: {item!r}")
            else:
                log(f"<- {item.message.model_dump_json(by_alias=True, exclude_unset=True)}")
        return item

    async def receive(self) -> Any:
        return self._log(await self._inner.receive())

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _TracedRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _TracedRead:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._inner.__aexit__(*exc)


class _TracedWrite:
    """Wraps a transport's write stream, logging each outgoing message."""

    def __init__(self, inner: Any, enabled: bool) -> None:
        self._inner, self._enabled = inner, enabled

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send(self, item: Any, /) -> None:
        if self._enabled:
            log(f"-> {item.message.model_dump_json(by_alias=True, exclude_unset=True)}")
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _TracedWrite:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._inner.__aexit__(*exc)


@contextlib.asynccontextmanager
async def transport_streams(args: argparse.Namespace) -> AsyncIterator[tuple[Any, Any]]:
    base = args.base.rstrip("/") if args.base else None
    if args.transport == "sse":
        async with sse_client(f"{base}/api/mcp/{args.key}/sse", timeout=10, sse_read_timeout=120) as streams:
            yield streams[0], streams[1]
    elif args.transport in ("http", "http-path"):
        if args.transport == "http":
            url, headers = f"{base}/api/mcp", {"Authorization": f"Bearer {args.key}"}
        else:
            url, headers = f"{base}/api/mcp/{args.key}", None
        async with create_mcp_http_client(headers=headers) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                yield streams[0], streams[1]
    elif args.transport == "oauth":
        auth = OAuthClientProvider(
            server_url=f"{base}/api/mcp",
            client_metadata=OAuthClientMetadata(
                client_name="Herald tests (Python SDK)",
                redirect_uris=["http://127.0.0.1:1/callback"],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
                scope="posts:read posts:write integrations:read",
            ),
            storage=args.storage,
            redirect_handler=args.consent.redirect,
            callback_handler=args.consent.callback,
        )
        async with create_mcp_http_client(auth=auth) as http:
            async with streamable_http_client(f"{base}/api/mcp", http_client=http) as streams:
                yield streams[0], streams[1]
    elif args.transport == "stdio":
        env = {k: v for k, v in os.environ.items() if k.startswith(PASS_ENV_PREFIXES) or k in PASS_ENV}
        params = StdioServerParameters(
            command=args.herald, args=["mcp", "--api-key", args.key], env=env, cwd=args.cwd or None
        )
        async with stdio_client(params) as streams:
            yield streams[0], streams[1]
    else:  # argparse restricts the choices
        raise Failure(f"unknown transport {args.transport}")


class MemoryStorage:
    """The SDK's token storage, kept in memory so the scenario can look at it."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.token_history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.token_history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class _ConsentForm(html.parser.HTMLParser):
    """The fields of Herald's consent form, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[tuple[str, str]] = []
        self.workspaces: list[str] = []
        self.checked: list[str] = []
        self.offered: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.hidden.append((a.get("name", ""), a.get("value", "")))
        elif tag == "input" and a.get("type") == "checkbox" and a.get("name") == "scopes":
            self.offered.append(a.get("value", ""))
            if "checked" in a:
                self.checked.append(a.get("value", ""))
        elif tag == "option":
            self.workspaces.append(a.get("value", ""))


class Consent:
    """Plays the person in the browser: opens the authorization URL with a signed-in
    session, checks the page, allows with the pre-ticked permissions, and hands the
    code of the redirect to the SDK."""

    def __init__(self, base: str, session_cookie: str | None) -> None:
        self.base = base
        self.cookie = session_cookie
        self.result: AuthorizationCodeResult | None = None
        self.pages: list[dict[str, Any]] = []
        self.refuse = False

    async def redirect(self, authorization_url: str) -> None:
        check(not self.refuse, "the SDK asked to authorize again after the scenario ended")
        check(self.cookie, "--session (a signed-in herald_session cookie) is required for the consent page")
        check(authorization_url.startswith(self.base + "/oauth/authorize?"), f"unexpected authorization URL {authorization_url}")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        check(query.get("code_challenge_method") == "S256", f"PKCE S256 expected in {query}")
        check(query.get("resource") == f"{self.base}/api/mcp", f"RFC 8707 resource expected in {query}")
        async with httpx2.AsyncClient(cookies={"herald_session": self.cookie}) as http:
            page = await http.get(authorization_url)
            check(page.status_code == 200, f"consent page answered {page.status_code}: {page.text[:300]}")
            csp = page.headers.get("content-security-policy", "")
            check("form-action 'self' http://127.0.0.1:1" in csp, f"the consent page's CSP must allow the redirect: {csp}")
            form = _ConsentForm()
            form.feed(page.text)
            check("posts:publish" in form.offered and "posts:publish" not in form.checked,
                  f"publishing must be offered but not ticked: {form.checked}")
            check(form.workspaces, "the consent page offers no workspace")
            fields = form.hidden + [("workspace", form.workspaces[0]), ("decision", "allow")]
            fields += [("scopes", scope) for scope in form.checked]
            answer = await http.post(
                f"{self.base}/oauth/authorize",
                content=urllib.parse.urlencode(fields),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            check(answer.status_code == 303, f"consent answered {answer.status_code}: {answer.text[:300]}")
            location = answer.headers["location"]
            check(location.startswith("http://127.0.0.1:1/callback?"), f"unexpected redirect {location}")
            back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
            self.pages.append({"checked": form.checked})
            self.result = AuthorizationCodeResult(code=back["code"], state=back.get("state"))

    async def callback(self) -> AuthorizationCodeResult:
        check(self.result is not None, "no authorization code came back from the consent page")
        result, self.result = self.result, None
        return result


class Connection:
    """An initialized session plus the log notifications received on it."""

    def __init__(self, session: ClientSession, init: types.InitializeResult) -> None:
        self.session = session
        self.init = init
        self.notifications: list[types.LoggingMessageNotificationParams] = []
        self.transport_errors: list[str] = []
        self._arrived = anyio.Event()

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.notifications.append(params)
        self._arrived.set()
        self._arrived = anyio.Event()

    async def wait_for_log(
        self, matches: Callable[[types.LoggingMessageNotificationParams], bool], timeout: float
    ) -> types.LoggingMessageNotificationParams | None:
        with anyio.move_on_after(timeout):
            while True:
                for params in self.notifications:
                    if matches(params):
                        return params
                await self._arrived.wait()
        return None

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await self.session.call_tool(name, arguments)

    async def call_ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Calls a tool that must succeed; returns its structuredContent (checked against its text)."""
        result = await self.call(name, arguments)
        check(not result.is_error, f"{name} failed: {error_text(result)!r} (arguments {json.dumps(arguments)})")
        structured = result.structured_content
        check(
            isinstance(structured, dict),
            f"{name}: structuredContent must be a JSON object, got {json.dumps(structured)}",
        )
        texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
        check(texts, f"{name}: the result must also come as text content, got {result.content!r}")
        try:
            as_text = json.loads(texts[0])
        except ValueError:
            raise Failure(f"{name}: the text content is not JSON: {texts[0][:300]!r}") from None
        check(as_text == structured, f"{name}: text content and structuredContent differ")
        return structured

    async def call_error(self, name: str, arguments: dict[str, Any], code: str) -> str:
        """Calls a tool that must fail with `isError: true` and a text starting with `code`."""
        result = await self.call(name, arguments)
        text = error_text(result)
        check(
            result.is_error,
            f"{name} should have failed with {code} but succeeded: {json.dumps(result.structured_content)[:500]}",
        )
        check(text.startswith(code), f"{name}: error text should start with {code!r}, got {text!r}")
        return text


def error_text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@contextlib.asynccontextmanager
async def connect(args: argparse.Namespace) -> AsyncIterator[Connection]:
    holder: dict[str, Connection] = {}
    early: list[types.LoggingMessageNotificationParams] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        if args.trace:
            log(f"log notification: level={params.level} logger={params.logger} data={json.dumps(params.data)}")
        if "conn" in holder:
            await holder["conn"].on_log(params)
        else:
            early.append(params)

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            log(f"transport reported: {message!r}")
            if "conn" in holder:
                holder["conn"].transport_errors.append(repr(message))

    async with transport_streams(args) as (read, write):
        session = ClientSession(
            _TracedRead(read, args.trace),
            _TracedWrite(write, args.trace),
            read_timeout_seconds=30,
            logging_callback=on_log,
            message_handler=on_message,
            client_info=types.Implementation(name="herald-tests-python", version="1.0"),
        )
        async with session:
            init = await session.initialize()
            conn = Connection(session, init)
            holder["conn"] = conn
            for params in early:
                await conn.on_log(params)
            yield conn


# ---------------------------------------------------------------------------
# Scenarios


def tomorrow_at_nine(timezone: str) -> tuple[str, str]:
    """(`scheduledFor` with the zone's offset, the local `YYYY-MM-DDT09:00` it must show)."""
    zone = ZoneInfo(timezone)
    day = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    at = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=zone)
    return at.isoformat(), f"{day.isoformat()}T09:00"


def require_integrations(args: argparse.Namespace, count: int = 1) -> list[str]:
    check(len(args.integrations) >= count, f"this scenario needs --integrations with at least {count} id(s)")
    return args.integrations


async def scenario_list_tools(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    check(conn.init.capabilities.tools is not None, "the server must declare the `tools` capability")
    listed = await conn.session.list_tools()
    tools = {t.name: t for t in listed.tools}
    missing = [name for name in TOOLS if name not in tools]
    check(not missing, f"tools missing from tools/list: {missing} (listed: {sorted(tools)})")
    problems = []
    for name in TOOLS:
        tool = tools[name]
        if not (tool.description or "").strip():
            problems.append(f"{name}: no description")
        if not isinstance(tool.input_schema, dict) or tool.input_schema.get("type") != "object":
            problems.append(f"{name}: inputSchema must be a JSON Schema with type object, got {tool.input_schema}")
        if not isinstance(tool.output_schema, dict) or tool.output_schema.get("type") != "object":
            problems.append(f"{name}: outputSchema must be a JSON Schema with type object, got {tool.output_schema}")
        if tool.annotations is None:
            problems.append(f"{name}: no annotations")
            continue
        hint = tool.annotations.read_only_hint
        if name in READ_ONLY and hint is not True:
            problems.append(f"{name}: annotations.readOnlyHint should be true, got {hint}")
        if name in MUTATING and hint is True:
            problems.append(f"{name}: changes data but annotations.readOnlyHint is true")
    check(not problems, "tool definitions: " + "; ".join(problems))
    return {
        "tools": sorted(tools),
        "extraTools": sorted(set(tools) - set(TOOLS)),
        "protocolVersion": conn.init.protocol_version,
        "serverInfo": conn.init.server_info.model_dump(exclude_none=True),
        "logging": conn.init.capabilities.logging is not None,
    }


async def scenario_integrations(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    ids = require_integrations(args)
    listed = await conn.call_ok("list_integrations", {})
    integrations = listed.get("integrations")
    check(isinstance(integrations, list), f"list_integrations: no `integrations` array in {json.dumps(listed)}")
    by_id = {i.get("id"): i for i in integrations}
    for id_ in ids:
        check(id_ in by_id, f"list_integrations: {id_} missing from {json.dumps(integrations)}")
        found = by_id[id_]
        for field in ("platform", "name", "status"):
            check(field in found, f"list_integrations: {id_} has no `{field}`: {json.dumps(found)}")
        check(found["status"] == "ACTIVE", f"list_integrations: {id_} is {found['status']}, expected ACTIVE")
    slot = await conn.call_ok("find_next_slot", {"integrationId": ids[0]})
    # The same accounts as a resource, and a prompt that plans with them.
    resource = await conn.session.read_resource("herald://integrations")
    text = resource.contents[0].text
    for id_ in ids:
        check(id_ in text, f"resource herald://integrations: {id_} missing from {text}")
    prompts = await conn.session.list_prompts()
    check("plan_week" in [p.name for p in prompts.prompts], f"prompts/list: no plan_week in {prompts}")
    plan = await conn.session.get_prompt("plan_week", {"topic": "a product launch"})
    check("a product launch" in plan.messages[0].content.text, f"prompts/get plan_week: {plan}")
    return {"integrations": [by_id[i]["platform"] for i in ids], "nextSlot": slot}


async def scenario_schedule(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    ids = require_integrations(args, 2)
    scheduled_for, local = tomorrow_at_nine(args.timezone)
    post = await conn.call_ok(
        "create_post",
        {
            "content": "Scheduled from an MCP client: the first post of a thread.",
            "integrationIds": ids,
            "status": "SCHEDULED",
            "scheduledFor": scheduled_for,
            "thread": [{"content": "Thread item one."}, {"content": "Thread item two."}],
            "tags": ["mcp-test"],
        },
    )
    post_id = post.get("id")
    check(isinstance(post_id, str), f"create_post: no post id in {json.dumps(post)}")
    check(post.get("status") == "SCHEDULED", f"create_post: status {post.get('status')!r}, expected SCHEDULED")
    targets = post.get("targets")
    check(
        isinstance(targets, list) and sorted(t.get("integrationId") for t in targets) == sorted(ids),
        f"create_post: targets should be {ids}, got {json.dumps(targets)}",
    )
    check(
        str(post.get("scheduledForLocal", "")).startswith(local),
        f"create_post: scheduledForLocal should start with {local}, got {post.get('scheduledForLocal')!r}"
        f" (sent scheduledFor {scheduled_for}, timezone {post.get('timezone')!r})",
    )
    check(post.get("timezone") == args.timezone, f"create_post: timezone {post.get('timezone')!r}, expected {args.timezone}")
    fetched = await conn.call_ok("get_post", {"postId": post_id})
    check(fetched.get("id") == post_id, f"get_post returned another post: {json.dumps(fetched)}")
    check(fetched.get("status") == "SCHEDULED", f"get_post: status {fetched.get('status')!r}")
    listed = await conn.call_ok("list_posts", {"status": "SCHEDULED", "limit": 50})
    check(
        post_id in json.dumps(listed),
        f"list_posts {{status: SCHEDULED}} does not include {post_id}: {json.dumps(listed)[:1000]}",
    )
    return {
        "postId": post_id,
        "scheduledFor": post.get("scheduledFor"),
        "scheduledForLocal": post.get("scheduledForLocal"),
        "timezone": post.get("timezone"),
        "targets": len(targets),
    }


async def scenario_overlong(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    ids = require_integrations(args)
    rules = await conn.call_ok("get_platform_rules", {"platform": "webhook"})
    schema = (rules.get("platforms") or [{}])[0].get("settingsSchema")
    check(isinstance(schema, dict) and schema.get("type") == "object",
          f"get_platform_rules: each platform needs its settingsSchema: {json.dumps(rules)}")
    content = ("An MCP validation test. " * 30)[:600]
    check(len(content) == 600, "test bug: content is not 600 characters")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).replace(microsecond=0).isoformat()
    arguments = {"content": content, "integrationIds": ids[:1], "status": "SCHEDULED", "scheduledFor": past}
    report = await conn.call_ok("validate_post", arguments)
    check(report.get("valid") is False, f"validate_post with scheduledFor {past} (past) should be invalid: {json.dumps(report)}")
    errors = report.get("errors")
    check(isinstance(errors, list), f"validate_post: no `errors` array: {json.dumps(report)}")
    all_errors = list(errors) + [e for t in report.get("targets") or [] for e in (t.get("errors") or [])]
    check(all_errors, f"validate_post: invalid but no error says why: {json.dumps(report)}")
    check(all("message" in e for e in errors), f"validate_post: errors need `field` and `message`: {json.dumps(errors)}")
    targets = report.get("targets")
    check(isinstance(targets, list) and len(targets) == 1, f"validate_post: one target expected: {json.dumps(report)}")
    target = targets[0]
    check(target.get("integrationId") == ids[0], f"validate_post: target {json.dumps(target)}")
    check(target.get("length") == 600, f"validate_post: target length should be 600: {json.dumps(target)}")
    check(
        isinstance(target.get("maxLength"), int) and target["maxLength"] >= 600,
        f"validate_post: webhook maxLength should allow 600 characters: {json.dumps(target)}",
    )
    refused = await conn.call_error("create_post", arguments, "VALIDATION_FAILED")
    return {
        "errors": errors,
        "maxLength": target.get("maxLength"),
        "rulesMention100000": "100000" in json.dumps(rules),
        "createPostError": refused,
    }


async def scenario_draft_only(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    ids = require_integrations(args)
    scheduled_for, _ = tomorrow_at_nine(args.timezone)
    base = {"content": "A draft-only key tries to schedule.", "integrationIds": ids[:1]}
    refused = await conn.call_error(
        "create_post", {**base, "status": "SCHEDULED", "scheduledFor": scheduled_for}, "FORBIDDEN"
    )
    check("drafts" in refused, f"the FORBIDDEN message should say the key may only make drafts: {refused!r}")
    draft = await conn.call_ok("create_post", {**base, "status": "DRAFT"})
    check(draft.get("status") == "DRAFT", f"create_post DRAFT: status {draft.get('status')!r}")
    publish = await conn.call_error("publish_post", {"postId": draft["id"]}, "FORBIDDEN")
    return {"forbidden": refused, "draftId": draft["id"], "publishRefused": publish}


async def scenario_notify(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    """Publishes now; a `post_published` notification (level info) must follow."""
    return await notified_of(conn, args, "post_published", "info")


async def scenario_notify_failed(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    """Publishes now to a receiver told to refuse it; a `post_failed` warning must follow."""
    return await notified_of(conn, args, "post_failed", "warning")


async def notified_of(conn: Connection, args: argparse.Namespace, kind: str, level: str) -> dict[str, Any]:
    ids = require_integrations(args)
    check(
        conn.init.capabilities.logging is not None,
        "a server that sends notifications/message must declare the `logging` capability",
    )
    if args.transport in ("http", "http-path"):
        # The SDK opens the standalone GET stream in the background after initialize;
        # a tools/list round trip and a short pause make sure it is connected.
        await conn.session.list_tools()
        await anyio.sleep(0.5)
    post = await conn.call_ok(
        "create_post", {"content": "Published now through MCP.", "integrationIds": ids[:1], "status": "NOW"}
    )
    post_id = post["id"]

    def about_the_post(params: types.LoggingMessageNotificationParams) -> bool:
        data = params.data if isinstance(params.data, dict) else {}
        return data.get("kind") == kind and data.get("postId") == post_id

    found = await conn.wait_for_log(about_the_post, args.notify_timeout)
    seen = [{"level": n.level, "logger": n.logger, "data": n.data} for n in conn.notifications]
    check(
        found is not None,
        f"no notifications/message with data.kind {kind} for {post_id} within {args.notify_timeout}s;"
        f" received: {json.dumps(seen)}; transport errors: {conn.transport_errors}",
    )
    check(found.logger == "herald", f"notification logger should be 'herald', got {found.logger!r}")
    check(found.level == level, f"{kind} notification level should be {level!r}, got {found.level!r}")
    check(found.data.get("integrationId") == ids[0], f"notification integrationId: {json.dumps(found.data)}")
    fetched = await conn.call_ok("get_post", {"postId": post_id})
    return {"postId": post_id, "notification": found.data, "statusAfter": fetched.get("status")}


async def scenario_analytics(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    ids = require_integrations(args)
    analytics = await conn.call_ok("get_integration_analytics", {"integrationId": ids[0], "days": 7})
    return {"analyticsKeys": sorted(analytics)}


async def scenario_oauth(conn: Connection, args: argparse.Namespace) -> dict[str, Any]:
    """Signed in by OAuth: tools, a draft, a refresh after the access token expires."""
    check(args.transport == "oauth", "the oauth scenario runs over --transport oauth")
    storage: MemoryStorage = args.storage
    check(storage.client is not None and storage.client.client_id, "the SDK did not register a client")
    check(storage.tokens is not None, "the SDK holds no token after signing in")
    first = storage.tokens
    # Clients ask for the scopes the resource metadata lists; the consent page ticks all
    # but publishing, and that is what is granted.
    ticked = args.consent.pages[0]["checked"]
    check(first.scope == " ".join(ticked), f"granted scope {first.scope!r}, ticked {ticked}")
    check("posts:publish" not in (first.scope or ""), f"publishing was granted: {first.scope}")
    listed = await conn.session.list_tools()
    # Publishing was not granted: the tools that publish are not offered.
    publishing = {"publish_post", "add_to_queue", "approve_post", "reject_post"}
    missing = set(TOOLS) - publishing - {t.name for t in listed.tools}
    check(not missing, f"tools missing over OAuth: {sorted(missing)}")
    check(not publishing & {t.name for t in listed.tools}, "publishing tools are offered without posts:publish")
    integration = require_integrations(args)[0]
    draft = await conn.call_ok(
        "create_post", {"content": "Drafted over OAuth", "integrationIds": [integration], "status": "DRAFT"}
    )
    post = draft
    check(post.get("status") == "DRAFT", f"a draft was expected: {json.dumps(draft)[:300]}")
    # Past the access token's lifetime the SDK refreshes it (rotating the refresh token).
    await anyio.sleep(float(first.expires_in or 0) + 1.5)
    listed_posts = await conn.call_ok("list_posts", {})
    check(storage.tokens is not None and storage.tokens.access_token != first.access_token, "the access token was not refreshed")
    check(storage.tokens.refresh_token != first.refresh_token, "the refresh token was not rotated")
    args.after_close = revoke_and_check
    return {
        "postId": post["id"],
        "refreshes": len(storage.token_history) - 1,
        "listed": len(listed_posts.get("posts", [])),
        "consents": args.consent.pages,
    }


async def revoke_and_check(args: argparse.Namespace) -> dict[str, Any]:
    """After the session: revoke (RFC 7009), and every token of the grant gets 401."""
    storage: MemoryStorage = args.storage
    base = args.base.rstrip("/")
    assert storage.tokens is not None and storage.client is not None
    async with httpx2.AsyncClient() as http:
        revoked = await http.post(
            f"{base}/oauth/revoke",
            data={"token": storage.tokens.refresh_token or "", "client_id": storage.client.client_id},
        )
        check(revoked.status_code == 200, f"revocation answered {revoked.status_code}: {revoked.text[:200]}")
        for token in storage.token_history:
            answer = await http.post(
                f"{base}/api/mcp",
                headers={"Authorization": f"Bearer {token.access_token}", "Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            )
            check(answer.status_code == 401, f"a revoked token got {answer.status_code}")
            challenge = answer.headers.get("www-authenticate", "")
            check("resource_metadata=" in challenge, f"401 without resource_metadata: {challenge}")
        refreshed = await http.post(
            f"{base}/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": storage.tokens.refresh_token or "",
                  "client_id": storage.client.client_id},
        )
        check(refreshed.status_code == 400 and refreshed.json().get("error") == "invalid_grant",
              f"a revoked refresh token must give invalid_grant, got {refreshed.status_code} {refreshed.text[:200]}")
    return {"revoked": True}


SCENARIOS: dict[str, Callable[[Connection, argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "list_tools": scenario_list_tools,
    "integrations": scenario_integrations,
    "schedule": scenario_schedule,
    "overlong": scenario_overlong,
    "draft_only": scenario_draft_only,
    "notify": scenario_notify,
    "notify_failed": scenario_notify_failed,
    "analytics": scenario_analytics,
    "oauth": scenario_oauth,
}


# ---------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", required=True, choices=["sse", "http", "http-path", "stdio", "oauth"])
    parser.add_argument("--base", help="Herald's base URL, e.g. http://127.0.0.1:8080 (sse/http)")
    parser.add_argument("--key", help="an API key, ptz_... (every transport but oauth)")
    parser.add_argument("--session", help="a signed-in herald_session cookie, for the consent page (oauth)")
    parser.add_argument("--herald", default="herald", help="the herald binary (stdio)")
    parser.add_argument("--cwd", help="working directory for `herald mcp` (stdio)")
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--integrations", default="", help="comma-separated integration ids")
    parser.add_argument("--timezone", default="UTC", help="the user's IANA time zone (default UTC)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the whole scenario")
    parser.add_argument("--notify-timeout", type=float, default=15, help="seconds to wait for a notification")
    parser.add_argument("--trace", action="store_true", help="log every JSON-RPC message to stderr")
    args = parser.parse_args(argv)
    if args.transport != "stdio" and not args.base:
        parser.error(f"--base is required with --transport {args.transport}")
    if args.transport != "oauth" and not args.key:
        parser.error(f"--key is required with --transport {args.transport}")
    args.storage = MemoryStorage()
    args.consent = Consent(args.base.rstrip("/") if args.base else "", args.session)
    args.after_close = None
    args.integrations = [i for i in args.integrations.split(",") if i]
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with anyio.fail_after(args.timeout):
        async with connect(args) as conn:
            details = await SCENARIOS[args.scenario](conn, args)
            # Anything that still needs a fresh authorization is a failure now.
            args.consent.refuse = True
        if args.after_close is not None:
            details.update(await args.after_close(args))
    return details


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        details = anyio.run(run, args)
    except BaseException as error:  # noqa: BLE001 - every failure becomes a readable line
        if isinstance(error, KeyboardInterrupt):
            raise
        found = leaves(error)
        failures = [e for e in found if isinstance(e, Failure)]
        if not failures:
            traceback.print_exception(error, file=sys.stderr)
        message = "; ".join(str(e) for e in failures) or "; ".join(
            f"{type(e).__name__}: {e}" for e in found
        )
        if any(isinstance(e, TimeoutError) for e in found):
            message = f"timed out after {args.timeout}s ({message})"
        message = f"{args.scenario} over {args.transport}: {message}"
        log(f"FAILED: {message}")
        print(json.dumps({"ok": False, "scenario": args.scenario, "transport": args.transport, "error": message}))
        return 1
    print(json.dumps({"ok": True, "scenario": args.scenario, "transport": args.transport, **details}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
