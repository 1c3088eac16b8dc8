#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The binary as a user runs it: `herald serve` with no configuration,
//! signals, logs, and the admin commands.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod async_delivery;
mod backup;
mod delivery;
mod deployment;
mod feeds;
mod mcp;
mod postiz;
mod secrets;
mod security;
mod token_race;
mod transfer;

const BIN: &str = env!("CARGO_BIN_EXE_herald");

/// A `herald` command run in `dir` with a clean environment.
pub(crate) fn herald(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("herald starts");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `herald serve`, its stderr captured in a file.
pub(crate) struct Server {
    child: Child,
    log: PathBuf,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(mut command: Command, dir: &Path) -> Self {
        let log = dir.join(format!("serve-{}.log", uuid_suffix()));
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .args(["serve", "--port", "0", "--host", "127.0.0.1"])
            .stderr(file)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self { child, log, base: String::new() };
        let started = Instant::now();
        loop {
            let logs = server.logs();
            if let Some(at) = logs.find("listening on http://") {
                let rest = &logs[at + "listening on http://".len()..];
                let address: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
                server.base = format!("http://{address}");
                return server;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "herald did not start:\n{logs}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn terminate(mut self) -> (bool, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.logs());
            }
            assert!(started.elapsed() < Duration::from_secs(15), "herald did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Server {
    /// SIGKILL: the process gets no chance to clean up.
    pub(crate) fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn serve_starts_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(herald(dir.path()), dir.path());
    let (status, health) = get(&format!("{}/api/health", server.base), None).await;
    assert_eq!(status, 200);
    assert_eq!(health["database"], "ok");

    let secrets = dir.path().join("data/secrets.toml");
    assert_eq!(std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(dir.path().join("data/herald.db").exists());
    let logs = server.logs();
    assert!(logs.contains("secrets.toml"), "the log says where the secrets went:\n{logs}");
    let secret_file = std::fs::read_to_string(&secrets).unwrap();
    let jwt = secret_file.lines().find(|l| l.starts_with("jwt_secret")).unwrap().split('"').nth(1).unwrap().to_string();
    assert!(!logs.contains(&jwt), "secrets are never logged");

    let (clean, logs) = server.terminate();
    assert!(clean, "exit status after SIGTERM:\n{logs}");
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(logs.contains("shut down cleanly"), "{logs}");

    // A second start reuses the secrets instead of generating new ones.
    let server = Server::start(herald(dir.path()), dir.path());
    assert!(!server.logs().contains("generated JWT_SECRET"));
    assert_eq!(std::fs::read_to_string(&secrets).unwrap(), secret_file);
}

#[tokio::test]
async fn request_ids_of_error_bodies_are_in_the_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald(dir.path());
    command.env("HERALD_LOG_FORMAT", "json");
    let server = Server::start(command, dir.path());
    let (status, body) = get(&format!("{}/api/me", server.base), None).await;
    assert_eq!(status, 401);
    let request_id = body["error"]["requestId"].as_str().unwrap().to_string();
    let (_, logs) = server.terminate();
    let lines: Vec<Value> = logs.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    assert!(
        lines.iter().any(|line| line.to_string().contains(&request_id) && line["message"] == "request refused"),
        "request id {request_id} not in logs:\n{logs}"
    );
}

#[tokio::test]
async fn users_and_api_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let created = run(
        herald(dir.path()).args(["user", "create", "--email", "Ops@Example.com", "--admin", "--password-stdin"]),
        Some("a long enough password\n"),
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("ops@example.com"));

    let weak = run(
        herald(dir.path()).args(["user", "create", "--email", "b@example.com", "--password-stdin"]),
        Some("short\n"),
    );
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("at least 12 characters"), "{}", text(&weak.stderr));
    let duplicate = run(
        herald(dir.path()).args(["user", "create", "--email", "ops@example.com", "--password-stdin"]),
        Some("a long enough password\n"),
    );
    assert!(text(&duplicate.stderr).contains("already exists"));
    let no_tty = run(herald(dir.path()).args(["user", "create", "--email", "c@example.com"]), None);
    assert!(text(&no_tty.stderr).contains("--password-stdin"));

    let key = run(
        herald(dir.path()).args([
            "apikey",
            "create",
            "--user",
            "ops@example.com",
            "--name",
            "ci",
            "--scopes",
            "posts:read,integrations:read",
            "--quiet",
        ]),
        None,
    );
    assert!(key.status.success(), "{}", text(&key.stderr));
    let key = text(&key.stdout).trim().to_string();
    assert!(key.starts_with("ptz_") && key.len() == 44);
    let bad_scope = run(
        herald(dir.path()).args([
            "apikey",
            "create",
            "--user",
            "ops@example.com",
            "--name",
            "x",
            "--scopes",
            "everything",
        ]),
        None,
    );
    assert!(text(&bad_scope.stderr).contains("unknown scope"));

    let server = Server::start(herald(dir.path()), dir.path());
    let (status, me) = get(&format!("{}/api/me", server.base), Some(&key)).await;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "ADMIN");
    assert_eq!(me["apiKeyScopes"], json!(["posts:read", "integrations:read"]));

    let listed = run(herald(dir.path()).args(["apikey", "list", "--user", "ops@example.com", "--json"]), None);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["prefix"], &key[..8]);
    assert!(!listed.to_string().contains(&key));
    let id = listed[0]["id"].as_str().unwrap();
    let revoked = run(herald(dir.path()).args(["apikey", "revoke", id]), None);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let (status, _) = get(&format!("{}/api/me", server.base), Some(&key)).await;
    assert_eq!(status, 401);
    let unknown = run(herald(dir.path()).args(["apikey", "revoke", "not-an-id"]), None);
    assert!(!unknown.status.success());
}

#[test]
fn migrate_dry_run_lists_pending_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let pending = run(herald(dir.path()).args(["migrate", "--dry-run"]), None);
    assert!(text(&pending.stdout).contains("m20261126_000001_initial"), "{}", text(&pending.stdout));
    let applied = run(herald(dir.path()).arg("migrate"), None);
    assert!(text(&applied.stdout).contains("Applied m20261126_000001_initial"));
    let none = run(herald(dir.path()).args(["migrate", "--dry-run"]), None);
    assert!(text(&none.stdout).contains("No pending migrations"));
}

#[test]
fn doctor_redacts_secrets_and_fails_on_a_broken_database() {
    let dir = tempfile::tempdir().unwrap();
    run(herald(dir.path()).arg("migrate"), None);
    let secret = "a-jwt-secret-that-nobody-should-ever-see-in-output";
    let healthy = run(herald(dir.path()).args(["doctor", "--json"]).env("JWT_SECRET", secret), None);
    assert!(healthy.status.success(), "{}{}", text(&healthy.stdout), text(&healthy.stderr));
    let report: Value = serde_json::from_slice(&healthy.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["config"]["jwt_secret"], "****");
    assert!(!text(&healthy.stdout).contains(secret));
    let human = run(herald(dir.path()).arg("doctor"), None);
    assert!(text(&human.stdout).contains("All checks passed"));

    let broken = run(
        herald(dir.path()).args(["doctor", "--json"]).env("DATABASE_URL", "postgres://herald:hunter2@127.0.0.1:1/none"),
        None,
    );
    assert_eq!(broken.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["checks"].as_array().unwrap().iter().any(|c| c["name"] == "database" && c["ok"] == false));
    assert!(!text(&broken.stdout).contains("hunter2"), "passwords in URLs are redacted");
}

#[test]
fn bad_configuration_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let roles = run(herald(dir.path()).arg("doctor").env("HERALD_ROLES", "web,cron"), None);
    assert_eq!(roles.status.code(), Some(2));
    assert!(text(&roles.stderr).contains("HERALD_ROLES"), "{}", text(&roles.stderr));
    let key = run(herald(dir.path()).arg("doctor").env("ENCRYPTION_KEY", "abc"), None);
    assert!(text(&key.stderr).contains("ENCRYPTION_KEY"));
    let port = run(herald(dir.path()).arg("doctor").env("PORT", "eighty"), None);
    assert_eq!(port.status.code(), Some(2));
    std::fs::write(dir.path().join("herald.toml"), "port = 5999\nrate_limit = 7\n").unwrap();
    let from_file = run(herald(dir.path()).args(["doctor", "--json"]), None);
    let report: Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(report["config"]["port"], 5999);
    let env_wins =
        run(herald(dir.path()).args(["doctor", "--json"]).env("PORT", "6001").env("HERALD_RATE_LIMIT", "0"), None);
    let report: Value = serde_json::from_slice(&env_wins.stdout).unwrap();
    assert_eq!(report["config"]["port"], 6001);
    assert_eq!(report["config"]["rate_limit"], 0);
}

#[tokio::test]
async fn serve_runs_on_postgresql() {
    use sea_orm::{ConnectionTrait, Database};
    let Ok(admin_url) = std::env::var("HERALD_TEST_PG_URL") else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let name = format!("herald_cli_{}", std::process::id());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("HERALD_TEST_PG_URL must name a database"),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald(dir.path());
    command.env("DATABASE_URL", &url);
    let server = Server::start(command, dir.path());
    let (status, health) = get(&format!("{}/api/health", server.base), None).await;
    assert_eq!(status, 200, "{health}");
    assert!(server.logs().contains("postgres"));
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
    let dry = run(herald(dir.path()).args(["migrate", "--dry-run"]).env("DATABASE_URL", &url), None);
    assert!(text(&dry.stdout).contains("No pending"));
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
}

fn uuid_suffix() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos())
}
