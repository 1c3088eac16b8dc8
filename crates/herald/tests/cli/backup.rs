//! Backups with the real binary: `herald backup` while posts are being
//! published, `herald restore` into an empty instance, integrity checks,
//! retention and scheduled backups.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use herald_testkit::{Reply, WebhookReceiver};
use serde_json::{Value, json};

use crate::delivery::{SECRET, create_posts, drop_database, fresh_database, set_up, statuses, with_engine_env};
use crate::{Server, herald, text};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d,
    0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Runs a command to completion off the async runtime (the webhook
/// receiver of the same test must keep answering meanwhile).
async fn run_async(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || crate::run(&mut command, None)).await.unwrap()
}

fn env_db(mut command: Command, database_url: Option<&str>) -> Command {
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// `herald ARGS…` in `dir`, on `database_url` when given.
fn herald_on(dir: &Path, database_url: Option<&str>, args: &[&std::ffi::OsStr]) -> Command {
    let mut command = env_db(herald(dir), database_url);
    command.args(args);
    command
}

/// The single JSON object a `--json` command printed; stdout holds nothing else.
fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}\n{}", text(&output.stderr), text(&output.stdout));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", text(&output.stdout)))
}

/// Serves the PNG at `/pic.png` on 127.0.0.1 for `POST /api/media/from-url`.
async fn serve_png() -> String {
    use axum::routing::get;
    let router = axum::Router::new().route("/pic.png", get(|| async { PNG.to_vec() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/pic.png")
}

/// id → (status, content, mediaIds, platforms) of every post.
async fn all_posts(client: &reqwest::Client, base: &str, key: &str) -> BTreeMap<String, Value> {
    let page: Value =
        client.get(format!("{base}/api/posts?limit=100")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    page["posts"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap().to_string();
            (id, json!([p["status"], p["content"], p["mediaIds"], p["platforms"]]))
        })
        .collect()
}

async fn wait_all_published(client: &reqwest::Client, server: &Server, key: &str, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = statuses(client, &server.base, key, ids).await;
        if now.iter().all(|s| s == "PUBLISHED") {
            return;
        }
        assert!(Instant::now() < deadline, "not all published: {now:?}\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Backs up instance A while its posts are being delivered, restores into an
/// empty instance B, and checks B has the same posts, media, events and
/// working (decryptable) integration. `databases`: PostgreSQL URLs for A and
/// B, or SQLite in each data directory.
async fn backup_while_publishing_and_restore(databases: Option<(&str, &str)>) {
    const POSTS: usize = 6;
    let (source_db, target_db) = databases.unzip();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let receiver = WebhookReceiver::start(SECRET).await;
    let picture = serve_png().await;
    let a = Server::start(with_engine_env(herald(dir_a.path()), source_db), dir_a.path());
    let (client, key, hook) = set_up(&a.base, &receiver).await;

    let media = client
        .post(format!("{}/api/media/from-url", a.base))
        .bearer_auth(&key)
        .json(&json!({"url": picture, "altText": "a pixel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 201);
    let media: Value = media.json().await.unwrap();
    let media_key = media["url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();

    // Every first delivery is answered slowly: the backup runs while they are in flight.
    for _ in 0..=POSTS {
        receiver.push_reply(Reply::Delay(Duration::from_millis(1500)));
    }
    let mut ids = create_posts(&client, &a.base, &key, &hook, POSTS, None).await;
    let with_media: Value = client
        .post(format!("{}/api/posts", a.base))
        .bearer_auth(&key)
        .json(&json!({"content": "with a picture", "platforms": [hook], "mediaIds": [media["id"]]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ids.push(with_media["id"].as_str().unwrap_or_else(|| panic!("{with_media}")).to_string());
    let started = Instant::now();
    while receiver.deliveries().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "deliveries did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let backup = json_of(&run_async(herald_on(dir_a.path(), source_db, &["backup".as_ref(), "--json".as_ref()])).await);
    let during = statuses(&client, &a.base, &key, &ids).await;
    assert!(during.iter().any(|s| s != "PUBLISHED"), "the backup ran while posts were publishing: {during:?}");
    let archive = PathBuf::from(backup["path"].as_str().unwrap());
    assert!(archive.starts_with(dir_a.path().join("data/backups").canonicalize().unwrap()), "{archive:?}");
    assert_eq!(backup["rowCounts"]["posts"], ids.len());
    assert_eq!(backup["rowCounts"]["users"], 1);
    assert_eq!(backup["rowCounts"]["integrations"], 1);
    assert_eq!(backup["rowCounts"]["media"], 1);
    assert_eq!(backup["mediaFiles"], 1);
    assert_eq!(backup["secretsIncluded"], true);
    assert_eq!(backup["backend"], if databases.is_some() { "postgres" } else { "sqlite" });
    assert!(backup["schemaVersion"].as_array().unwrap().iter().any(|m| m == "m20261126_000001_initial"));

    wait_all_published(&client, &a, &key, &ids).await;
    let before = all_posts(&client, &a.base, &key).await;
    assert_eq!(before.len(), ids.len());
    let (clean, logs) = a.terminate();
    assert!(clean, "{logs}");

    // Restore into an empty data directory (and an empty database).
    let restore = |force: bool| {
        let mut args = vec!["restore".as_ref(), "--json".as_ref(), archive.as_os_str()];
        if force {
            args.push("--force".as_ref());
        }
        herald_on(dir_b.path(), target_db, &args)
    };
    let restored = json_of(&run_async(restore(false)).await);
    assert_eq!(restored["rowCounts"], backup["rowCounts"], "same rows, events included");
    assert_eq!(restored["secretsRestored"], true);
    assert_eq!(restored["previousData"], Value::Null, "nothing to move aside in an empty instance");
    assert_eq!(restored["warnings"], json!([]));
    assert_eq!(
        std::fs::read(dir_b.path().join("data/secrets.toml")).unwrap(),
        std::fs::read(dir_a.path().join("data/secrets.toml")).unwrap()
    );
    assert_eq!(std::fs::read(dir_b.path().join("data/uploads").join(&media_key)).unwrap(), PNG);

    // Now B holds data: a second restore needs --force.
    let refused = run_async(restore(false)).await;
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(message.contains("refusing to overwrite") && message.contains("--force"), "{message}");

    let b = Server::start(with_engine_env(herald(dir_b.path()), target_db), dir_b.path());
    // Deliveries in flight at snapshot time are recovered (the webhook is idempotent).
    wait_all_published(&client, &b, &key, &ids).await;
    let after = all_posts(&client, &b.base, &key).await;
    assert_eq!(after, before, "same posts: ids, statuses, content, media, platforms");
    let served = reqwest::get(format!("{}/uploads/{media_key}", b.base)).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    // The restored integration's credentials still decrypt: a new post reaches the receiver.
    let fresh = create_posts(&client, &b.base, &key, &hook, 1, None).await;
    wait_all_published(&client, &b, &key, &fresh).await;
    assert!(
        receiver.deliveries().iter().any(|d| d.signature_valid && d.body["post"]["id"] == json!(fresh[0])),
        "the post after the restore was signed with the restored secret"
    );
    let (clean, logs) = b.terminate();
    assert!(clean, "{logs}");

    // With --force the data in place is set aside, not deleted.
    let forced = json_of(&run_async(restore(true)).await);
    let previous = PathBuf::from(forced["previousData"].as_str().unwrap_or_else(|| panic!("{forced}")));
    let saved_database = if databases.is_some() { "database.pgdump" } else { "herald.db" };
    assert!(previous.join(saved_database).is_file(), "{previous:?}");
    assert!(previous.join("uploads").join(&media_key).is_file());
    assert_eq!(forced["rowCounts"], backup["rowCounts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_publishing_then_restore_into_an_empty_instance_on_sqlite() {
    backup_while_publishing_and_restore(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_publishing_then_restore_into_an_empty_instance_on_postgres() {
    let Some((source, admin, source_name)) = fresh_database("ops_src").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let Some((target, admin_b, target_name)) = fresh_database("ops_dst").await else { return };
    backup_while_publishing_and_restore(Some((&source, &target))).await;
    drop_database(admin, &source_name).await;
    drop_database(admin_b, &target_name).await;
}

/// A data directory with one account and one media file, and a backup of it.
fn instance_with_a_backup(dir: &Path) -> PathBuf {
    let created = crate::run(
        herald(dir).args(["user", "create", "--email", "ops@example.com", "--password-stdin"]),
        Some("a long enough password\n"),
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    std::fs::create_dir_all(dir.join("data/uploads")).unwrap();
    std::fs::write(dir.join("data/uploads/01a21703-ad2b-7760-9476-a2a76bd4122a.png"), PNG).unwrap();
    let backup = json_of(&crate::run(herald(dir).args(["backup", "--json"]), None));
    PathBuf::from(backup["path"].as_str().unwrap())
}

/// Copies an archive entry by entry: `edit` may change (Some) or drop
/// (None) each entry's bytes; `extra` entries are appended.
fn rewrite(from: &Path, to: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, extra: &[(&str, &[u8])]) {
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(from).unwrap()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = edit(&name, bytes) {
            entries.push((name, bytes));
        }
    }
    entries.extend(extra.iter().map(|(name, bytes)| (name.to_string(), bytes.to_vec())));
    let encoder = flate2::write::GzEncoder::new(std::fs::File::create(to).unwrap(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        builder.append_data(&mut header, &name, bytes.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

#[test]
fn damaged_tampered_or_foreign_archives_are_refused_before_anything_changes() {
    let source = tempfile::tempdir().unwrap();
    let archive = instance_with_a_backup(source.path());
    let work = tempfile::tempdir().unwrap();
    let variant = |name: &str| work.path().join(name);

    rewrite(
        &archive,
        &variant("tampered.tar.gz"),
        |name, bytes| {
            Some(if name.starts_with("uploads/") { b"\x89PNG\r\n\x1a\nnot the same".to_vec() } else { bytes })
        },
        &[],
    );
    rewrite(
        &archive,
        &variant("newer.tar.gz"),
        |name, bytes| {
            if name != "manifest.json" {
                return Some(bytes);
            }
            let mut manifest: Value = serde_json::from_slice(&bytes).unwrap();
            manifest["schemaVersion"].as_array_mut().unwrap().push(json!("m29990101_000001_from_the_future"));
            Some(serde_json::to_vec(&manifest).unwrap())
        },
        &[],
    );
    rewrite(
        &archive,
        &variant("incomplete.tar.gz"),
        |name, bytes| (!name.starts_with("database/")).then_some(bytes),
        &[],
    );
    rewrite(&archive, &variant("extra.tar.gz"), |_, bytes| Some(bytes), &[("uploads/smuggled.png", PNG)]);
    rewrite(&archive, &variant("foreign.tar.gz"), |name, bytes| (name != "manifest.json").then_some(bytes), &[]);
    let whole = std::fs::read(&archive).unwrap();
    std::fs::write(variant("truncated.tar.gz"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(variant("not-gzip.tar.gz"), b"hello").unwrap();

    let cases: &[(&str, Option<&str>, &str)] = &[
        ("tampered.tar.gz", None, "checksum mismatch for `uploads/01a21703-ad2b-7760-9476-a2a76bd4122a.png`"),
        ("newer.tar.gz", None, "m29990101_000001_from_the_future"),
        ("incomplete.tar.gz", None, "`database/herald.db` is listed in the manifest but missing"),
        ("extra.tar.gz", None, "`uploads/smuggled.png`, which its manifest does not list"),
        ("foreign.tar.gz", None, "is not a Herald backup"),
        ("truncated.tar.gz", None, "corrupt or truncated"),
        ("not-gzip.tar.gz", None, "not a readable backup archive"),
        ("missing.tar.gz", None, "no backup at"),
    ];
    for (file, database_url, expected) in cases {
        let target = tempfile::tempdir().unwrap();
        let output = crate::run(env_db(herald(target.path()), *database_url).arg("restore").arg(variant(file)), None);
        assert_eq!(output.status.code(), Some(1), "{file} must be refused");
        let message = text(&output.stderr);
        assert!(message.contains(expected), "{file}: expected `{expected}` in:\n{message}");
        let data = target.path().join("data");
        let left: Vec<String> = std::fs::read_dir(&data)
            .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{file}: nothing may be written, found {left:?}");
    }
    let newer = crate::run(herald(work.path()).arg("restore").arg(variant("newer.tar.gz")), None);
    assert!(text(&newer.stderr).contains("schema is newer than this Herald"), "{}", text(&newer.stderr));

    // A SQLite backup does not go into PostgreSQL (a stand-in pg_restore
    // gets past the tool check, so this runs without PostgreSQL installed).
    let target = tempfile::tempdir().unwrap();
    let tools = work.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("pg_restore"), "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(tools.join("pg_restore"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cross = crate::run(
        herald(target.path())
            .arg("restore")
            .arg(&archive)
            .env("DATABASE_URL", "postgres://herald@127.0.0.1:1/none")
            .env("PATH", &tools),
        None,
    );
    assert!(text(&cross.stderr).contains("restore it into the same kind of database"), "{}", text(&cross.stderr));

    // The untouched archive still restores.
    let target = tempfile::tempdir().unwrap();
    let restored = json_of(&crate::run(herald(target.path()).args(["restore", "--json"]).arg(&archive), None));
    assert_eq!(restored["rowCounts"]["users"], 1);
    assert_eq!(restored["mediaFiles"], 1);
}

#[test]
fn retention_deletes_old_archives_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    crate::run(herald(dir.path()).arg("migrate"), None);
    let backups = dir.path().join("kept");
    std::fs::create_dir_all(&backups).unwrap();
    let recent = (chrono::Utc::now() - chrono::Duration::days(1)).format("herald-%Y%m%d-%H%M%S.tar.gz").to_string();
    for name in
        ["herald-20200101-000000.tar.gz", "herald-20200102-030405-2.tar.gz", &recent, "herald-old.tar.gz", "notes.txt"]
    {
        std::fs::write(backups.join(name), b"fabricated").unwrap();
    }
    let first = json_of(&crate::run(
        herald(dir.path()).args(["backup", "--json", "--keep-days", "7", "--dir"]).arg(&backups),
        None,
    ));
    let pruned: BTreeSet<String> = first["pruned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Path::new(p.as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        pruned,
        BTreeSet::from(["herald-20200101-000000.tar.gz".into(), "herald-20200102-030405-2.tar.gz".into()])
    );
    let newest = PathBuf::from(first["path"].as_str().unwrap());
    for kept in [newest.clone(), backups.join(&recent), backups.join("herald-old.tar.gz"), backups.join("notes.txt")] {
        assert!(kept.exists(), "{kept:?} was kept");
    }

    // Keeping 0 days deletes every archive but the newest: the one just written.
    let second = json_of(&crate::run(
        herald(dir.path()).args(["backup", "--json", "--keep-days", "0", "--dir"]).arg(&backups),
        None,
    ));
    let newest = PathBuf::from(second["path"].as_str().unwrap());
    let archives: BTreeSet<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("herald-") && name.ends_with(".tar.gz"))
        .collect();
    let newest = newest.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(archives, BTreeSet::from(["herald-old.tar.gz".to_string(), newest]));

    // Configured retention (HERALD_BACKUP_DIR, HERALD_BACKUP_KEEP_DAYS) applies without flags.
    std::fs::write(backups.join("herald-20200101-000000.tar.gz"), b"fabricated").unwrap();
    let configured = json_of(&crate::run(
        herald(dir.path())
            .args(["backup", "--json"])
            .env("HERALD_BACKUP_DIR", &backups)
            .env("HERALD_BACKUP_KEEP_DAYS", "30"),
        None,
    ));
    assert_eq!(configured["pruned"].as_array().unwrap().len(), 1);
    assert!(Path::new(configured["path"].as_str().unwrap()).starts_with(backups.canonicalize().unwrap()));
}

#[test]
fn backup_without_a_database_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::run(herald(dir.path()).arg("backup"), None);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("nothing to back up"), "{}", text(&output.stderr));
    assert!(!dir.path().join("data/herald.db").exists(), "a backup never creates a database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_run_inside_serve_and_stop_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("scheduled");
    let mut command = herald(dir.path());
    command.env("HERALD_BACKUP_SCHEDULE", "* * * * * *").env("HERALD_BACKUP_DIR", &backups);
    let server = Server::start(command, dir.path());
    let started = Instant::now();
    while !server.logs().contains("scheduled backup written") {
        assert!(started.elapsed() < Duration::from_secs(15), "no scheduled backup:\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
    assert!(logs.contains("scheduled backups enabled"), "{logs}");
    let names: Vec<String> =
        std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.starts_with("herald-") && n.ends_with(".tar.gz")), "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "no partial files are left behind: {names:?}");

    // Without the scheduler role, no backups.
    let mut command = herald(dir.path());
    command.env("HERALD_BACKUP_SCHEDULE", "* * * * * *").env("HERALD_ROLES", "web,api,worker");
    let server = Server::start(command, dir.path());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, logs) = server.terminate();
    assert!(!logs.contains("scheduled backup"), "{logs}");
}

#[test]
fn an_invalid_backup_schedule_stops_herald_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::run(herald(dir.path()).arg("serve").env("HERALD_BACKUP_SCHEDULE", "61 * * * *"), None);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    assert!(message.contains("HERALD_BACKUP_SCHEDULE") && message.contains("61 * * * *"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_need_pg_dump_and_restores_pg_restore() {
    let Some((url, admin, name)) = fresh_database("ops_tools").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let migrated = run_async(herald_on(dir.path(), Some(&url), &["migrate".as_ref()])).await;
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let empty_path = dir.path().join("no-tools");
    std::fs::create_dir_all(&empty_path).unwrap();

    let mut without = env_db(herald(dir.path()), Some(&url));
    without.arg("backup").env("PATH", &empty_path);
    let output = run_async(without).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("`pg_dump` was not found on PATH"), "{}", text(&output.stderr));

    // With the tools on PATH (they are on this machine), the same backup works.
    let backup = json_of(&run_async(herald_on(dir.path(), Some(&url), &["backup".as_ref(), "--json".as_ref()])).await);
    let archive = backup["path"].as_str().unwrap().to_string();
    let mut without = env_db(herald(dir.path()), Some(&url));
    without.args(["restore", &archive]).env("PATH", &empty_path);
    let output = run_async(without).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("`pg_restore` was not found on PATH"), "{}", text(&output.stderr));
    drop_database(admin, &name).await;
}
