//! The binary's own defences: private files whatever the umask, password
//! hashing that cannot exhaust memory, and a first-run log that says who
//! can register.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::{BIN, Server, herald, run, text};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `herald` under a shell whose umask lets everyone read everything.
fn with_open_umask(dir: &Path) -> Command {
    let mut command = Command::new("sh");
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).args([
        "-c",
        "umask 000; exec \"$0\" \"$@\"",
        BIN,
    ]);
    command
}

#[tokio::test]
async fn the_data_directory_database_secrets_and_backups_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(with_open_umask(dir.path()), dir.path());
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("herald.db")), 0o600, "database");
    assert_eq!(mode(&data.join("secrets.toml")), 0o600, "secrets");
    let logs = server.logs();
    assert!(logs.contains("no account yet") && logs.contains("/register"), "{logs}");
    let (ok, _) = server.terminate();
    assert!(ok);
    for wal in ["herald.db-wal", "herald.db-shm"] {
        if data.join(wal).exists() {
            assert_eq!(mode(&data.join(wal)), 0o600, "{wal}");
        }
    }
    let backup = run(with_open_umask(dir.path()).args(["backup", "--json"]), None);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let archive: serde_json::Value = serde_json::from_slice(&backup.stdout).unwrap();
    let archive = Path::new(archive["path"].as_str().unwrap());
    assert_eq!(mode(archive), 0o600, "backup archive");
    assert_eq!(mode(archive.parent().unwrap()), 0o700, "backup directory");

    // Widened later: the doctor says so.
    let quiet = run(herald(dir.path()).args(["doctor", "--json"]), None);
    let report: serde_json::Value = serde_json::from_slice(&quiet.stdout).unwrap();
    assert!(!report["warnings"].to_string().contains("others may read it"), "{report}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("herald.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let doctor = run(herald(dir.path()).args(["doctor", "--json"]), None);
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("data has mode 0755") && warnings.contains("herald.db has mode 0644"), "{warnings}");
    assert!(warnings.contains("chmod 0700") && warnings.contains("chmod 0600"), "{warnings}");
}

/// Peak resident memory of a process, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_cannot_exhaust_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald(dir.path());
    command.env("HERALD_RATE_LIMIT", "0");
    let server = Server::start(command, dir.path());
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let before = peak_rss_mib(server.child.id());
    // 64 at once, each for another address (no per-address throttle helps).
    let mut attempts = tokio::task::JoinSet::new();
    for n in 0..64 {
        let (http, base) = (http.clone(), base.clone());
        attempts.spawn(async move {
            let body = json!({"email": format!("user{n}@example.com"), "password": "a wrong password, surely"});
            http.post(format!("{base}/api/auth/login")).json(&body).send().await.unwrap().status().as_u16()
        });
    }
    let statuses = attempts.join_all().await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let after = peak_rss_mib(server.child.id());
    eprintln!("peak RSS {before} MiB before, {after} MiB after 64 parallel sign-ins");
    // argon2id takes 19 MiB a hash; at most one per core runs at a time,
    // each in memory its thread reuses (before: 1.3 GB in release, 400 MiB here).
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) as u64;
    assert!(after < before + cores * 20 + 40, "peak RSS grew from {before} to {after} MiB");
}

#[tokio::test]
async fn metrics_need_a_token_unless_herald_listens_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald(dir.path());
    // Server::start binds 127.0.0.1; this one listens on every interface.
    command.args(["serve", "--port", "0", "--host", "0.0.0.0"]);
    let log = dir.path().join("serve.log");
    let mut child = command.stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let port = loop {
        let logs = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = logs.find("listening on http://0.0.0.0:") {
            let rest = &logs[at + "listening on http://0.0.0.0:".len()..];
            break rest.chars().take_while(char::is_ascii_digit).collect::<String>();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("HERALD_METRICS_TOKEN"), "{body}");
    let _ = child.kill();
    let _ = child.wait();

    // On loopback, no token is needed; with one, only the token opens it.
    let server = Server::start(herald(dir.path()), dir.path());
    assert_eq!(reqwest::get(format!("{}/metrics", server.base)).await.unwrap().status(), 200);
    drop(server);
    let mut command = herald(dir.path());
    command.env("HERALD_METRICS_TOKEN", "a-metrics-token");
    let server = Server::start(command, dir.path());
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(http.get(&url).bearer_auth("a-metrics-tokem").send().await.unwrap().status(), 401);
    assert_eq!(http.get(&url).bearer_auth("a-metrics-token").send().await.unwrap().status(), 200);
}
