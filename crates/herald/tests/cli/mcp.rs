//! The MCP server end to end, driven by the official SDK clients: Python
//! (`mcp`) and TypeScript (`@modelcontextprotocol/sdk`) run the scenarios of
//! tests/mcp/client.{py,mjs} as subprocesses against a real `herald serve`
//! (legacy HTTP+SSE, Streamable HTTP with the key in a header or in the
//! path) and against `herald mcp` on stdio sharing its data directory.
//! What the clients create is then checked through the REST API and at the
//! webhook receiver.
//!
//! The clients are installed by ./scripts/test (a venv in target/test-venv
//! and tests/mcp/node_modules). Without them these tests fail, saying so,
//! unless `HERALD_SKIP_MCP_CLIENTS=1`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use herald_testkit::{Reply, WebhookReceiver};
use serde_json::{Value, json};

use crate::delivery::with_engine_env;
use crate::{BIN, Server, herald};

const SECRET: &str = "mcp-test-webhook-secret-0123";
const TIMEZONE: &str = "Europe/Paris";
const ALL_SCOPES: [&str; 5] = ["posts:read", "posts:write", "posts:publish", "analytics:read", "integrations:read"];
const DRAFT_SCOPES: [&str; 3] = ["posts:read", "posts:write", "integrations:read"];
/// A whole client run (start, handshake, scenario) must end within this.
const CLIENT_DEADLINE: Duration = Duration::from_secs(100);

#[derive(Clone, Copy, Debug)]
enum Sdk {
    Python,
    Node,
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn skip_clients() -> bool {
    std::env::var("HERALD_SKIP_MCP_CLIENTS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

const INSTALL_HINT: &str = "run ./scripts/test, which installs the MCP test clients (Python venv in target/test-venv, \
     npm packages in tests/mcp/node_modules), or set HERALD_SKIP_MCP_CLIENTS=1 to skip these tests";

fn python() -> PathBuf {
    let configured = std::env::var_os("HERALD_TEST_PYTHON").map(PathBuf::from);
    let python = configured.unwrap_or_else(|| PathBuf::from("target/test-venv/bin/python"));
    if python.is_absolute() { python } else { workspace_root().join(python) }
}

/// How to run one client: the interpreter and its script in tests/mcp.
struct ClientProgram {
    program: PathBuf,
    script: PathBuf,
}

impl ClientProgram {
    /// The client of `sdk`, or `None` when the clients are skipped. Panics
    /// with how to install it when it is missing.
    fn find(sdk: Sdk) -> Option<Self> {
        if skip_clients() {
            eprintln!("note: HERALD_SKIP_MCP_CLIENTS is set; skipping the {sdk:?} MCP client");
            return None;
        }
        let dir = workspace_root().join("tests/mcp");
        Some(match sdk {
            Sdk::Python => {
                let python = python();
                let usable = Command::new(&python)
                    .args(["-c", "import mcp.client.sse, mcp.client.streamable_http, mcp.client.stdio"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(usable, "the Python MCP SDK is not installed for {}: {INSTALL_HINT}", python.display());
                Self { program: python, script: dir.join("client.py") }
            }
            Sdk::Node => {
                let node =
                    Command::new("node").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
                assert!(node, "`node` is not on PATH: {INSTALL_HINT}");
                let sdk_dir = dir.join("node_modules/@modelcontextprotocol/sdk");
                assert!(sdk_dir.exists(), "{} is missing: {INSTALL_HINT}", sdk_dir.display());
                Self { program: PathBuf::from("node"), script: dir.join("client.mjs") }
            }
        })
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.arg(&self.script).current_dir(self.script.parent().unwrap()).env_clear();
        for name in ["PATH", "HOME", "LANG"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
    }
}

/// A server with a user in Europe/Paris, two webhook integrations (one
/// receiver, two URLs), a full key and a draft-only key.
struct Fixture {
    server: Server,
    dir: tempfile::TempDir,
    receiver: WebhookReceiver,
    rest: reqwest::Client,
    session: reqwest::Client,
    full_key: String,
    draft_key: String,
    integrations: Vec<String>,
}

impl Fixture {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A fixture whose server also gets `env`.
    async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let receiver = WebhookReceiver::start(SECRET).await;
        let mut command = with_engine_env(herald(dir.path()), None);
        command.envs(env.iter().copied());
        let server = Server::start(command, dir.path());
        let base = server.base.clone();
        let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let registered = session
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": "mcp@example.com", "password": "a long enough password", "timezone": TIMEZONE}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 201, "{}", registered.text().await.unwrap_or_default());
        let mut keys = Vec::new();
        for (name, scopes) in [("full", &ALL_SCOPES[..]), ("drafts", &DRAFT_SCOPES[..])] {
            let key = expect_json(
                session.post(format!("{base}/api/api-keys")).json(&json!({"name": name, "scopes": scopes})),
                201,
            )
            .await;
            keys.push(key["key"].as_str().unwrap().to_string());
        }
        let mut integrations = Vec::new();
        for (n, suffix) in ["?account=a", "?account=b"].into_iter().enumerate() {
            let hook = expect_json(
                session.post(format!("{base}/api/integrations")).json(&json!({
                    "platform": "webhook",
                    "credentials": {"url": format!("{}{suffix}", receiver.url()), "secret": SECRET},
                    "name": format!("MCP hook {n}"),
                })),
                201,
            )
            .await;
            integrations.push(hook["id"].as_str().unwrap().to_string());
        }
        let [full_key, draft_key]: [String; 2] = keys.try_into().unwrap();
        Self { server, dir, receiver, rest: reqwest::Client::new(), session, full_key, draft_key, integrations }
    }

    async fn post(&self, id: &str) -> Value {
        expect_json(self.rest.get(format!("{}/api/posts/{id}", self.server.base)).bearer_auth(&self.full_key), 200)
            .await
    }

    /// A fresh signed-in session's cookie value, for a consent page.
    async fn session_cookie(&self) -> String {
        let login = reqwest::Client::new()
            .post(format!("{}/api/auth/login", self.server.base))
            .json(&json!({"email": "mcp@example.com", "password": "a long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let cookie = login.cookies().find(|c| c.name() == "herald_session").expect("a session cookie");
        cookie.value().to_string()
    }

    /// Runs one scenario with one client; returns its final JSON line.
    /// `key` is an API key, or over `oauth` a session cookie for the consent page.
    async fn run(&self, mut command: Command, transport: &str, scenario: &str, key: &str) -> Value {
        let credential = if transport == "oauth" { "--session" } else { "--key" };
        command.args(["--transport", transport, "--scenario", scenario, credential, key, "--timezone", TIMEZONE]);
        command.args(["--integrations", &self.integrations.join(","), "--trace"]);
        if transport == "stdio" {
            // `herald mcp` shares the server's ./data and its environment.
            command.arg("--herald").arg(BIN).arg("--cwd").arg(self.dir.path());
            for (name, value) in with_engine_env(Command::new("true"), None).get_envs() {
                if let Some(value) = value {
                    command.env(name, value);
                }
            }
        } else {
            command.args(["--base", &self.server.base]);
        }
        let started = Instant::now();
        let (status, stdout, stderr) =
            tokio::task::spawn_blocking(move || run_with_deadline(command, CLIENT_DEADLINE)).await.unwrap();
        eprintln!("{scenario} over {transport}: {:.1} s", started.elapsed().as_secs_f64());
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        let result: Value = serde_json::from_str(last).unwrap_or(Value::Null);
        assert!(
            status == Some(0) && result["ok"] == true,
            "MCP client, scenario {scenario} over {transport}: exit {status:?}\n--- result ---\n{last}\n\
             --- client stderr (JSON-RPC trace) ---\n{stderr}\n--- server log (tail) ---\n{}",
            tail(&self.server.logs(), 60)
        );
        result
    }
}

async fn expect_json(request: reqwest::RequestBuilder, status: u16) -> Value {
    let response = request.send().await.unwrap();
    let got = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a command, killing it after `deadline`: (exit code, stdout, stderr).
fn run_with_deadline(mut command: Command, deadline: Duration) -> (Option<i32>, String, String) {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the client starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let mut stderr = err.join().unwrap_or_default();
    if status.is_none() {
        stderr.push_str(&format!("\n(killed after {deadline:?})"));
    }
    (status, stdout, stderr)
}

/// Every scenario with one client over one transport, checked from the outside too.
async fn scenarios(sdk: Sdk, transport: &str) {
    let Some(client) = ClientProgram::find(sdk) else { return };
    let fx = Fixture::start().await;
    let full = fx.full_key.clone();
    let run = |scenario: &'static str, key: String| {
        let command = client.command();
        let fx = &fx;
        async move { fx.run(command, transport, scenario, &key).await }
    };

    // TC-MCP-01: connection, and the tools an agent sees.
    let tools = run("list_tools", full.clone()).await;
    assert!(tools["extraTools"].as_array().is_some(), "{tools}");
    // TC-MCP-02: the connected platforms.
    run("integrations", full.clone()).await;

    // TC-MCP-04/05: a scheduled thread to both integrations, seen through the REST API.
    let scheduled = run("schedule", full.clone()).await;
    let id = scheduled["postId"].as_str().unwrap();
    let post = fx.post(id).await;
    assert_eq!(post["status"], "SCHEDULED", "{post}");
    assert_eq!(post["targets"].as_array().map(Vec::len), Some(2), "{post}");
    assert_eq!(post["thread"].as_array().map(Vec::len), Some(2), "{post}");
    assert_eq!(post["createdVia"], "MCP", "{post}");
    let at = chrono::DateTime::parse_from_rfc3339(post["scheduledFor"].as_str().unwrap()).unwrap().to_utc();
    assert!(at > chrono::Utc::now(), "scheduled in the future: {post}");
    // 09:00 in Paris is 08:00 UTC in winter, 07:00 in summer.
    assert!(matches!(chrono::Timelike::hour(&at), 7 | 8), "09:00 in {TIMEZONE}: {post}");

    // Refusals: a time in the past, and a key that may only make drafts.
    let overlong = run("overlong", full.clone()).await;
    assert!(overlong["createPostError"].as_str().unwrap().starts_with("VALIDATION_FAILED"), "{overlong}");
    let drafts = run("draft_only", fx.draft_key.clone()).await;
    let draft = fx.post(drafts["draftId"].as_str().unwrap()).await;
    assert_eq!(draft["status"], "DRAFT", "{draft}");

    // TC-MCP-03: publish now, notified over the same connection; the receiver got it.
    let before = fx.receiver.accepted_unique().len();
    let notified = run("notify", full.clone()).await;
    let id = notified["postId"].as_str().unwrap().to_string();
    let delivered = fx.receiver.wait_for_accepted(before + 1, Duration::from_secs(15)).await;
    assert!(delivered.iter().any(|d| d.body["post"]["id"] == id.as_str()), "post {id} reached the receiver");
    assert_eq!(fx.post(&id).await["status"], "PUBLISHED");

    // A delivery the receiver refuses: a warning over the same connection.
    fx.receiver.push_reply(Reply::Status {
        status: 422,
        body: r#"{"error":"refused by the test"}"#.into(),
        retry_after: None,
    });
    let failed = run("notify_failed", full.clone()).await;
    let id = failed["postId"].as_str().unwrap();
    assert_eq!(fx.post(id).await["status"], "FAILED");

    // TC-MCP-06: analytics.
    run("analytics", full).await;

    let (clean, logs) = fx.server.terminate();
    assert!(clean, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_legacy_sse() {
    scenarios(Sdk::Python, "sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_streamable_http() {
    scenarios(Sdk::Python, "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_streamable_http_with_the_key_in_the_path() {
    scenarios(Sdk::Python, "http-path").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_stdio() {
    scenarios(Sdk::Python, "stdio").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_over_legacy_sse() {
    scenarios(Sdk::Node, "sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_over_streamable_http() {
    scenarios(Sdk::Node, "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_over_streamable_http_with_the_key_in_the_path() {
    scenarios(Sdk::Node, "http-path").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_over_stdio() {
    scenarios(Sdk::Node, "stdio").await;
}

/// Signed in by OAuth 2.1 as Claude, ChatGPT or Cursor do: the SDK's own
/// OAuth client discovers Herald's authorization server from the 401,
/// registers, gets the consent the script posts, redeems the code with
/// PKCE, lists tools, creates a draft (publishing was not granted),
/// refreshes after the 3 s access token expired, and after revocation
/// every token is refused.
async fn oauth_flow(sdk: Sdk) {
    let Some(client) = ClientProgram::find(sdk) else { return };
    let fx = Fixture::start_with(&[("HERALD_MCP_TOKEN_TTL_SECONDS", "3")]).await;
    let cookie = fx.session_cookie().await;
    let result = fx.run(client.command(), "oauth", "oauth", &cookie).await;
    assert!(result["refreshes"].as_u64().unwrap_or(0) >= 1, "{result}");
    assert_eq!(result["revoked"], true, "{result}");
    let draft = fx.post(result["postId"].as_str().unwrap()).await;
    assert_eq!((draft["status"].as_str(), draft["createdVia"].as_str()), (Some("DRAFT"), Some("MCP")), "{draft}");
    // The grant was listed while it lived, and is gone once revoked.
    let apps = expect_json(fx.session.get(format!("{}/api/connected-apps", fx.server.base)), 200).await;
    assert_eq!(apps, json!([]), "{apps}");
    let (clean, logs) = fx.server.terminate();
    assert!(clean, "{logs}");
    assert!(!logs.contains("hat_") && !logs.contains("hrt_") && !logs.contains("hac_"), "tokens leaked to the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_signs_in_by_oauth() {
    oauth_flow(Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_signs_in_by_oauth() {
    oauth_flow(Sdk::Node).await;
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "reqwest", "version": "1"}
        }
    })
}

/// A bogus, a missing and a revoked key are refused with 401 before any
/// session starts, on every MCP endpoint; a valid key gets a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_endpoints_refuse_invalid_and_revoked_keys() {
    let fx = Fixture::start().await;
    let base = &fx.server.base;
    let http = reqwest::Client::new();
    let mcp_post = |url: String| {
        http.post(url)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .json(&initialize())
    };
    let bogus = "ptz_0000000000000000000000000000000000000000";

    let ok = mcp_post(format!("{base}/api/mcp")).bearer_auth(&fx.full_key).send().await.unwrap();
    assert_eq!(ok.status(), 200, "a valid key starts a session: {}", ok.text().await.unwrap_or_default());

    for (what, request) in [
        ("bogus Bearer key", mcp_post(format!("{base}/api/mcp")).bearer_auth(bogus)),
        ("no key at all", mcp_post(format!("{base}/api/mcp"))),
        ("bogus key in the path", mcp_post(format!("{base}/api/mcp/{bogus}"))),
        ("legacy SSE with a bogus key", http.get(format!("{base}/api/mcp/{bogus}/sse"))),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
        assert!(response.headers().get("mcp-session-id").is_none(), "{what}: no session");
    }

    // A session opened with the draft key, which is then revoked: refused from then on,
    // the open session included.
    let opened = mcp_post(format!("{base}/api/mcp")).bearer_auth(&fx.draft_key).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let session_id = opened.headers()["mcp-session-id"].to_str().unwrap().to_string();
    drop(opened);
    let keys = expect_json(fx.session.get(format!("{base}/api/api-keys")), 200).await;
    let prefix = &fx.draft_key[..8];
    let id = keys
        .as_array()
        .and_then(|all| all.iter().find(|k| k["prefix"] == prefix))
        .and_then(|k| k["id"].as_str())
        .unwrap_or_else(|| panic!("draft key in {keys}"))
        .to_string();
    let revoked = fx.session.delete(format!("{base}/api/api-keys/{id}")).send().await.unwrap();
    assert!(revoked.status().is_success(), "revoke: {}", revoked.status());
    for (what, request) in [
        ("revoked Bearer key", mcp_post(format!("{base}/api/mcp")).bearer_auth(&fx.draft_key)),
        ("revoked key in the path", mcp_post(format!("{base}/api/mcp/{}", fx.draft_key))),
        ("legacy SSE with a revoked key", http.get(format!("{base}/api/mcp/{}/sse", fx.draft_key))),
        (
            "the revoked key's open session",
            mcp_post(format!("{base}/api/mcp"))
                .bearer_auth(&fx.draft_key)
                .header("mcp-session-id", &session_id)
                .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})),
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
    }

    // stdio: `herald mcp` with a bogus key exits with an error instead of serving.
    let mut stdio = herald(fx.dir.path());
    stdio.args(["mcp", "--api-key", bogus]);
    let (status, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_with_deadline(stdio, Duration::from_secs(20))).await.unwrap();
    assert!(
        status.is_some_and(|code| code != 0),
        "herald mcp with a bogus key must fail: {status:?}\n{stdout}\n{stderr}"
    );
}
