//! The deployment files (Dockerfile, docker-compose.yml, .env.example,
//! herald.service) checked against what the real binary does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::{Server, herald, text};

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Dockerfile instructions as (INSTRUCTION, arguments), continuation lines joined.
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in repo_file("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                if let Some((instruction, rest)) = current.trim().split_once(char::is_whitespace) {
                    out.push((instruction.to_uppercase(), rest.trim().to_string()));
                }
                current.clear();
            }
        }
    }
    out
}

/// `KEY=VALUE` pairs of a Dockerfile ENV instruction.
fn env_pairs(arguments: &str) -> Vec<(String, String)> {
    arguments
        .split_whitespace()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.into(), v.trim_matches('"').into()))
        .collect()
}

/// Settings of a systemd unit section: key → values (a key may repeat).
fn unit_section(unit: &str, section: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut inside = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside
            && !line.starts_with('#')
            && let Some((key, value)) = line.split_once('=')
        {
            out.entry(key.trim().to_string()).or_default().push(value.trim().to_string());
        }
    }
    out
}

fn doctor_config(dir: &Path, env: &[(&str, &str)]) -> Result<Value, String> {
    let mut command = herald(dir);
    command.args(["doctor", "--json"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = crate::run(&mut command, None);
    match serde_json::from_slice::<Value>(&output.stdout) {
        Ok(report) => Ok(report["config"].clone()),
        Err(_) => Err(format!("exit {:?}: {}", output.status.code(), text(&output.stderr))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_files_agree_with_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = doctor_config(dir.path(), &[]).unwrap();
    let default_port = defaults["port"].as_u64().unwrap();
    let grace = defaults["shutdown_grace_seconds"].as_u64().unwrap();

    // Dockerfile
    let docker = dockerfile();
    let all = |name: &str| docker.iter().filter(|(i, _)| i == name).map(|(_, a)| a.clone()).collect::<Vec<_>>();
    let from = all("FROM");
    // Built on the runtime's Debian release (the binary links its glibc)
    // with a Rust the workspace accepts.
    let builder = from[0].split_whitespace().next().unwrap();
    let (rust, release) =
        builder.strip_prefix("rust:").and_then(|tag| tag.rsplit_once('-')).expect("builder: rust:<version>-<release>");
    assert_eq!(release, "bookworm", "builder: {from:?}");
    assert!(from.last().unwrap().starts_with("debian:bookworm-slim"), "runtime: {from:?}");
    assert!(rust_at_least(rust, &workspace_rust_version()), "builder's Rust {rust} is older than the workspace's");
    assert!(all("RUN").iter().any(|r| r.contains("cargo build --release") && r.contains("-p herald")));
    assert_eq!(all("EXPOSE"), [default_port.to_string()], "EXPOSE is the port Herald listens on by default");
    let env: BTreeMap<String, String> = all("ENV").iter().flat_map(|a| env_pairs(a)).collect();
    let data_dir = env.get("HERALD_DATA_DIR").expect("ENV HERALD_DATA_DIR").clone();
    assert_eq!(all("VOLUME"), [data_dir.as_str()], "the volume is the data directory");
    let user = all("USER");
    assert!(!user.is_empty() && user.iter().all(|u| u != "root" && u != "0"), "runs as a non-root user: {user:?}");
    let health = all("HEALTHCHECK").pop().expect("HEALTHCHECK");
    let health_url = health
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in HEALTHCHECK {health}"));
    assert_eq!(health_url, format!("http://127.0.0.1:{default_port}/api/health"));
    assert!(all("RUN").iter().any(|r| r.contains("curl")), "curl is installed for the health check");

    // The image's settings are ones the binary reads (HERALD_DATA_DIR is
    // checked by the .env.example test, without creating /data here).
    let image_config = doctor_config(dir.path(), &[("HERALD_HOST", &env["HERALD_HOST"])]).unwrap();
    assert_eq!(image_config["host"], "0.0.0.0", "reachable from outside the container");
    let server = Server::start(herald(dir.path()), dir.path());
    let path = &health_url[health_url.find("/api/").unwrap()..];
    let answer = reqwest::get(format!("{}{path}", server.base)).await.unwrap();
    assert_eq!(answer.status(), 200, "the health check path answers 200");
    drop(server);

    // docker-compose.yml
    let compose: serde_norway::Value = serde_norway::from_str(&repo_file("deploy/docker-compose.yml")).unwrap();
    let service = &compose["services"]["herald"];
    let postgres = &compose["services"]["postgres"];
    let strings = |value: &serde_norway::Value| -> Vec<String> {
        value
            .as_sequence()
            .map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    assert_eq!(service["build"]["context"].as_str(), Some(".."), "built from the repository's Dockerfile");
    assert_eq!(service["build"]["dockerfile"].as_str(), Some("Dockerfile"));
    let ports = strings(&service["ports"]);
    assert!(
        ports.iter().any(|p| p.rsplit(':').next() == Some(&default_port.to_string())),
        "the published container port is {default_port}: {ports:?}"
    );
    assert!(
        strings(&service["volumes"]).contains(&format!("herald-data:{data_dir}")),
        "herald-data is the data directory"
    );
    assert!(strings(&postgres["volumes"]).iter().any(|v| v.starts_with("postgres-data:")));
    let volumes = compose["volumes"].as_mapping().unwrap();
    for name in ["herald-data", "postgres-data"] {
        assert!(volumes.contains_key(name), "named volume {name}");
    }
    for (name, svc) in [("herald", service), ("postgres", postgres)] {
        assert_eq!(svc["restart"].as_str(), Some("unless-stopped"), "{name}");
        assert!(!svc["healthcheck"]["test"].is_null(), "{name} has a health check");
    }
    let herald_check = strings(&service["healthcheck"]["test"]).join(" ");
    assert!(herald_check.contains(&format!("http://127.0.0.1:{default_port}/api/health")), "{herald_check}");
    assert!(strings(&postgres["healthcheck"]["test"]).join(" ").contains("pg_isready"));
    assert_eq!(service["depends_on"]["postgres"]["condition"].as_str(), Some("service_healthy"));
    assert_eq!(service["env_file"].as_str(), Some(".env"));
    let database_url = service["environment"]["DATABASE_URL"].as_str().unwrap();
    assert!(
        database_url.starts_with("postgres://herald:${POSTGRES_PASSWORD")
            && database_url.ends_with("@postgres:5432/herald")
    );
    assert!(postgres["environment"]["POSTGRES_PASSWORD"].as_str().unwrap().starts_with("${POSTGRES_PASSWORD"));
    let image = postgres["image"].as_str().unwrap();
    assert_eq!(image, "postgres:17-alpine");
    // pg_dump in the image must be at least the server's major version.
    let client_major = docker
        .iter()
        .filter(|(i, _)| i == "ARG")
        .find_map(|(_, a)| a.strip_prefix("PG_CLIENT_MAJOR="))
        .expect("ARG PG_CLIENT_MAJOR");
    assert_eq!(image.trim_start_matches("postgres:").split('-').next(), Some(client_major));

    // herald.service
    let unit = repo_file("deploy/herald.service");
    let service = unit_section(&unit, "Service");
    let one = |key: &str| service.get(key).and_then(|v| v.last()).map(String::as_str).unwrap_or_default();
    assert_eq!(one("User"), "herald");
    assert_eq!(one("ExecStart"), "/usr/local/bin/herald serve");
    assert_eq!(one("EnvironmentFile"), "-/etc/herald/herald.env");
    assert_eq!(one("Restart"), "on-failure");
    assert_eq!(one("KillSignal"), "SIGTERM");
    assert_eq!(one("NoNewPrivileges"), "yes");
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("PrivateTmp"), "yes");
    let writable = one("ReadWritePaths");
    assert!(Path::new(one("WorkingDirectory")).starts_with(writable));
    let unit_data_dir = service["Environment"]
        .iter()
        .find_map(|e| e.strip_prefix("HERALD_DATA_DIR="))
        .expect("Environment=HERALD_DATA_DIR=…");
    assert!(
        Path::new(unit_data_dir).starts_with(writable),
        "the data directory is writable under ProtectSystem=strict"
    );
    let stop: u64 = one("TimeoutStopSec").trim_end_matches('s').parse().unwrap();
    assert!(stop > grace, "TimeoutStopSec={stop} must exceed the shutdown grace of {grace} s");
    assert!(unit_section(&unit, "Install")["WantedBy"].contains(&"multi-user.target".to_string()));
}

/// Variables of .env.example, set or commented out: `NAME=value` / `# NAME=value`.
fn env_example() -> Vec<(String, String)> {
    repo_file("deploy/.env.example")
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches('#').trim();
            let (name, value) = line.split_once('=')?;
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            valid.then(|| (name.to_string(), value.trim_matches('"').to_string()))
        })
        .collect()
}

/// A valid value for a setting that differs from its default.
fn distinctive(key: &str, default: &Value, dir: &Path) -> String {
    let path = |name: &str| dir.join(name).display().to_string();
    match key {
        "roles" => "web,api".into(),
        "log_format" => "json".into(),
        "main_url" => "https://herald.example.test".into(),
        "database_url" => format!("sqlite://{}", path("elsewhere.db")),
        "encryption_key" => "ab".repeat(32),
        "jwt_secret" => "a-jwt-secret-of-more-than-32-characters".into(),
        "backup_schedule" => "0 3 * * *".into(),
        "host" => "127.0.0.1".into(),
        "cors_origins" => "https://app.example.test".into(),
        "trusted_proxies" => "10.0.0.0/8".into(),
        "smtp_url" => "smtp://mail.example.test:2525".into(),
        "email_from" => "Herald <herald@example.test>".into(),
        _ => match default {
            Value::Bool(b) => (!b).to_string(),
            Value::Number(n) if n.is_u64() => (n.as_u64().unwrap() + 7).to_string(),
            Value::Number(n) => (n.as_f64().unwrap() + 1.5).to_string(),
            Value::String(s) if s.contains('/') => path(key),
            Value::String(s) => format!("{s}x").trim_start_matches(',').to_string(),
            // Unset optional settings: a path for directories, a token otherwise.
            _ if key.ends_with("_dir") || key.ends_with("_directory") => path(key),
            _ => "distinctive-value-0123456789".into(),
        },
    }
}

#[test]
fn env_example_documents_every_setting_and_only_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = doctor_config(dir.path(), &[]).unwrap();
    let documented = env_example();
    let names: BTreeSet<&str> = documented.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), documented.len(), "each variable once");

    for (name, _) in &documented {
        match name.as_str() {
            // Read by docker-compose.yml, not by Herald.
            "POSTGRES_PASSWORD" => {
                assert!(repo_file("deploy/docker-compose.yml").contains("${POSTGRES_PASSWORD"));
            }
            "HERALD_CONFIG" => {
                let output =
                    crate::run(herald(dir.path()).arg("doctor").env(name, dir.path().join("absent.toml")), None);
                assert_eq!(output.status.code(), Some(2));
                assert!(text(&output.stderr).contains("absent.toml does not exist"), "{}", text(&output.stderr));
            }
            "RUST_LOG" => {
                let fresh = tempfile::tempdir().unwrap();
                let output = crate::run(herald(fresh.path()).arg("migrate").env(name, "info"), None);
                assert!(text(&output.stderr).contains("Applying migration"), "{}", text(&output.stderr));
            }
            _ => {
                let key = name.strip_prefix("HERALD_").unwrap_or(name).to_lowercase();
                let default = defaults.get(&key).unwrap_or_else(|| panic!("{name} is not a setting Herald has"));
                let value = distinctive(&key, default, dir.path());
                let config = doctor_config(dir.path(), &[(name, &value)])
                    .unwrap_or_else(|e| panic!("{name}={value} was refused: {e}"));
                assert_ne!(&config[&key], default, "{name}={value} changed nothing: Herald does not read it");
            }
        }
    }

    let seed = [
        "DATABASE_URL",
        "MAIN_URL",
        "JWT_SECRET",
        "ENCRYPTION_KEY",
        "PORT",
        "UPLOAD_DIRECTORY",
        "STORAGE_PROVIDER",
        "DISABLE_REGISTRATION",
        "SMTP_URL",
        "EMAIL_FROM",
    ];
    for key in defaults.as_object().unwrap().keys() {
        let upper = key.to_uppercase();
        let herald_name = format!("HERALD_{upper}");
        assert!(
            names.contains(herald_name.as_str()) || (seed.contains(&upper.as_str()) && names.contains(upper.as_str())),
            "setting `{key}` has no line in deploy/.env.example ({herald_name})"
        );
    }
}

/// The workspace's `rust-version`, e.g. "1.94".
fn workspace_rust_version() -> String {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("rust-version")).expect("rust-version in Cargo.toml");
    line.split('"').nth(1).unwrap().to_string()
}

/// Whether a Docker tag's Rust version ("1", "1.95", "1.95.0") is at least
/// `minimum`; "1" is the newest 1.x release.
fn rust_at_least(tag: &str, minimum: &str) -> bool {
    let parts = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>();
    let (tag, minimum) = (parts(tag), parts(minimum));
    tag.len() == 1 && tag[0] == minimum[0] || tag >= minimum
}
