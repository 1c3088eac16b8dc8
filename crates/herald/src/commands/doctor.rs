//! `herald doctor`: the seed's health-check script as a command. Prints the
//! effective configuration (secrets redacted) and checks; exits 1 when a
//! check fails.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::open_store;
use crate::config::{Config, load_or_create_secrets};

#[derive(Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    config: serde_json::Value,
    checks: Vec<Check>,
    warnings: Vec<String>,
}

pub async fn run(config: Config, json: bool) -> Result<ExitCode> {
    let mut checks = Vec::new();
    let mut warnings = Vec::new();

    checks.push(match check_data_dir(&config) {
        Ok(()) => {
            Check { name: "data directory", ok: true, detail: format!("{} is writable", config.data_dir.display()) }
        }
        Err(error) => Check { name: "data directory", ok: false, detail: error },
    });

    match open_store(&config).await {
        Ok(store) => {
            let ping = store.ping().await;
            checks.push(Check {
                name: "database",
                ok: ping.is_ok(),
                detail: match &ping {
                    Ok(()) => format!("{} reachable", store.backend().name()),
                    Err(error) => error.to_string(),
                },
            });
            match store.pending_migrations().await {
                Ok(pending) if pending.is_empty() => {
                    checks.push(Check { name: "migrations", ok: true, detail: "schema is up to date".into() })
                }
                Ok(pending) => checks.push(Check {
                    name: "migrations",
                    ok: false,
                    detail: format!("{} pending ({}); run `herald migrate`", pending.len(), pending.join(", ")),
                }),
                Err(error) => checks.push(Check { name: "migrations", ok: false, detail: error.to_string() }),
            }
            checks.extend(queue_checks(&store).await);
        }
        Err(error) => checks.push(Check { name: "database", ok: false, detail: format!("{error:#}") }),
    }

    if config.jwt_secret.is_none() || config.encryption_key.is_none() {
        let path = config.secrets_file();
        if path.exists() {
            checks.push(match load_or_create_secrets(&config) {
                Ok(secrets) => Check {
                    name: "secrets",
                    ok: true,
                    detail: format!(
                        "read from {} (encryption key fingerprint {})",
                        path.display(),
                        secrets.key_fingerprint()
                    ),
                },
                Err(error) => Check { name: "secrets", ok: false, detail: format!("{error:#}") },
            });
        } else {
            warnings.push(format!("no secrets yet: `herald serve` will generate them in {}", path.display()));
        }
    } else {
        checks.push(Check { name: "secrets", ok: true, detail: "JWT_SECRET and ENCRYPTION_KEY set".into() });
    }
    checks.extend(disk_checks(&config));
    if config.main_url().starts_with("http://") && !is_local(&config.main_url()) {
        warnings.push(format!("MAIN_URL {} is not https: session cookies are not marked Secure", config.main_url()));
    }
    let private =
        [Some(config.data_dir.clone()), config.sqlite_file(), Some(config.secrets_file()), Some(config.backup_dir())];
    warnings.extend(private.into_iter().flatten().filter_map(|path| crate::private::too_open(&path)));
    if let Ok(backups) = std::fs::read_dir(config.backup_dir()) {
        warnings.extend(backups.flatten().filter_map(|entry| crate::private::too_open(&entry.path())));
    }
    if config.rate_limit == 0 {
        warnings.push("HERALD_RATE_LIMIT=0: the API is not rate limited".into());
    }

    let ok = checks.iter().all(|c| c.ok);
    let report = Report { ok, config: config.redacted(), checks, warnings };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_human(report: &Report) {
    println!("Herald {} — doctor\n", env!("CARGO_PKG_VERSION"));
    println!("Configuration (secrets redacted):");
    if let Some(map) = report.config.as_object() {
        for (key, value) in map {
            let shown = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "(not set)".into(),
                other => other.to_string(),
            };
            println!("  {key:<26} {shown}");
        }
    }
    println!("\nChecks:");
    for check in &report.checks {
        println!("  [{}] {:<16} {}", if check.ok { " ok " } else { "FAIL" }, check.name, check.detail);
    }
    for warning in &report.warnings {
        println!("  [warn] {warning}");
    }
    println!("\n{}", if report.ok { "All checks passed." } else { "Some checks failed." });
}

/// Queue lag (how late the oldest due delivery is) and integrations that
/// need reconnecting: what the seed's health check looked at in Redis.
async fn queue_checks(store: &herald_store::Store) -> Vec<Check> {
    use herald_store::repo::{Integrations, Posts};
    let mut checks = Vec::new();
    match Posts(store.conn()).due_summary(store.now()).await {
        Ok((due, oldest)) => {
            let late = oldest.map_or(0, |t| (store.now() - t).num_seconds().max(0));
            checks.push(Check {
                name: "queue",
                // A minute of lag means no worker is delivering.
                ok: late < QUEUE_LAG_LIMIT_SECONDS,
                detail: if due == 0 {
                    "nothing due".into()
                } else {
                    format!(
                        "{due} deliveries due, the oldest {late} s late{}",
                        if late >= QUEUE_LAG_LIMIT_SECONDS { " — is a worker running?" } else { "" }
                    )
                },
            });
        }
        Err(error) => checks.push(Check { name: "queue", ok: false, detail: error.to_string() }),
    }
    match Integrations(store.conn()).needing_reconnect().await {
        Ok(rows) if rows.is_empty() => {
            checks.push(Check { name: "integrations", ok: true, detail: "none needs reconnecting".into() })
        }
        Ok(rows) => {
            let names: Vec<String> = rows.iter().map(|r| format!("{} ({})", r.display_name, r.platform)).collect();
            checks.push(Check {
                name: "integrations",
                ok: false,
                detail: format!("need reconnecting: {}", names.join(", ")),
            });
        }
        Err(error) => checks.push(Check { name: "integrations", ok: false, detail: error.to_string() }),
    }
    checks
}

/// How late the oldest due delivery may be before doctor calls it a problem.
const QUEUE_LAG_LIMIT_SECONDS: i64 = 60;
/// Free space below which doctor fails: backups and the database need room.
const MIN_FREE_BYTES: u64 = 512 * 1024 * 1024;

fn disk_checks(config: &Config) -> Vec<Check> {
    let mut places = vec![("disk (data)", config.data_dir.clone())];
    let backups = config.data_dir.join("backups");
    if backups.exists() {
        places.push(("disk (backups)", backups));
    }
    places
        .into_iter()
        .map(|(name, path)| match fs4::available_space(&path) {
            Ok(free) => Check {
                name,
                ok: free >= MIN_FREE_BYTES,
                detail: format!("{} MB free on {}", free / 1024 / 1024, path.display()),
            },
            Err(error) => {
                Check { name, ok: false, detail: format!("cannot read free space of {}: {error}", path.display()) }
            }
        })
        .collect()
}

fn check_data_dir(config: &Config) -> Result<(), String> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(".doctor-probe");
    std::fs::write(&probe, b"ok").map_err(|e| format!("{} is not writable: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("cannot clean up in {}: {e}", dir.display()))?;
    Ok(())
}

fn is_local(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| matches!(h, "localhost" | "127.0.0.1" | "[::1]")))
        .unwrap_or(false)
}
