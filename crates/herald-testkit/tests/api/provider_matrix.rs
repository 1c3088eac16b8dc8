//! Matrix against a real homeserver: Synapse (from PyPI, on SQLite),
//! started by the test with users registered through its shared secret and
//! a room made by another user. Herald logs in with a password, joins the
//! room by its alias, publishes Markdown, an image and a thread, and the
//! other user reads the events back through the client API; a repeated
//! transaction is not a second event; reactions and replies are counted.
//!
//! scripts/test installs Synapse in a virtualenv of its own and sets
//! `HERALD_TEST_SYNAPSE_PYTHON` to its interpreter; without it the test
//! says so and does nothing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_providers::{Attachment, ProviderSettings, PublishRequest, PublishedItem, Registry};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const SYNAPSE_VAR: &str = "HERALD_TEST_SYNAPSE_PYTHON";
const WAIT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery staple";

struct Synapse {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &std::path::Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        r#"server_name: "localhost"
pid_file: {dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
media_store_path: {dir}/media_store
signing_key_path: {dir}/signing.key
registration_shared_secret: "herald-test-registration-secret"
macaroon_secret_key: "herald-test-macaroon-secret"
form_secret: "herald-test-form-secret"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
enable_registration: false
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_joins: {{local: {{per_second: 1000, burst_count: 1000}}}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
"#
    )
}

async fn start_synapse() -> Option<Synapse> {
    let Some(python) = std::env::var_os(SYNAPSE_VAR).filter(|v| !v.is_empty()) else {
        eprintln!("note: {SYNAPSE_VAR} is not set; skipping the real-homeserver test (scripts/test sets it)");
        return None;
    };
    let python = std::path::PathBuf::from(python);
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config_path = dir.path().join("homeserver.yaml");
    std::fs::write(&config_path, config(dir.path(), port)).unwrap();
    let homeserver = |extra: &[&str]| {
        let mut command = Command::new(&python);
        command.args(["-m", "synapse.app.homeserver", "-c"]).arg(&config_path).args(extra);
        command
    };
    let keys = homeserver(&["--generate-keys"]).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(keys.success(), "synapse --generate-keys failed");
    let log = std::fs::File::create(dir.path().join("synapse.log")).unwrap();
    let child = homeserver(&[]).stdout(Stdio::null()).stderr(log).spawn().expect("start synapse");
    let synapse = Synapse { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    let started = Instant::now();
    let versions = format!("{}/_matrix/client/versions", synapse.url);
    while !reqwest::get(&versions).await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "synapse did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for user in ["herald", "reader"] {
        let register = python.with_file_name("register_new_matrix_user");
        let done = Command::new(&register)
            .args(["-u", user, "-p", PASSWORD, "--no-admin", "-c"])
            .arg(&config_path)
            .arg(&synapse.url)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(done.success(), "registering {user} failed");
    }
    Some(synapse)
}

/// A plain client-API call as the reader.
async fn call(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {value}");
    value
}

async fn log_in(base: &str, user: &str) -> String {
    let login =
        json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": PASSWORD});
    let answer =
        reqwest::Client::new().post(format!("{base}/_matrix/client/v3/login")).json(&login).send().await.unwrap();
    answer.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

fn escaped(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

db_test!(async fn matrix_publishes_to_a_real_synapse_room(app) {
    let Some(synapse) = start_synapse().await else { return };
    let base = synapse.url.clone();
    let reader_token = log_in(&base, "reader").await;
    let room = call(reqwest::Method::POST, format!("{base}/_matrix/client/v3/createRoom"), &reader_token,
        Some(json!({"room_alias_name": "news", "preset": "public_chat", "name": "Herald News"}))).await;
    let room_id = room["room_id"].as_str().unwrap().to_string();

    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |credentials: Value| ada.session.post("/api/integrations", json!({"platform": "matrix", "credentials": credentials}));
    let wrong = connect(json!({"homeserverUrl": base, "room": "#news:localhost", "user": "herald", "password": "wrong"})).await;
    let message = wrong.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("Matrix refused the login") && !message.contains("wrong"), "{message}");
    let unknown = connect(json!({"homeserverUrl": base, "room": "#nowhere:localhost", "user": "herald", "password": PASSWORD})).await;
    assert!(unknown.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("M_NOT_FOUND"));

    let connected = connect(json!({"homeserverUrl": base, "room": "#news:localhost", "user": "herald", "password": PASSWORD})).await;
    assert!(!connected.text.contains(PASSWORD));
    let integration = connected.expect(201).clone();
    assert_eq!(integration["name"], "Herald News (@herald:localhost)");
    assert_eq!(integration["platformAccountId"], format!("@herald:localhost/{room_id}"));
    assert_eq!(integration["settings"]["choices"]["roomId"], json!([{"value": room_id, "label": "Herald News"}]), "joined rooms offered");
    let id = id_of(&integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("the chart")).await.expect(201));
    let post = api.post("/api/posts", json!({
        "content": "**Release 2.0** is out — [notes](https://example.org/notes)", "platforms": [id], "mediaIds": [png],
        "thread": [{"content": "what changed"}],
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let target = &done["targets"][0];
    let first = target["platformPostIds"][0].as_str().unwrap().to_string();
    assert_eq!(target["url"], format!("https://matrix.to/#/{}/{}", escaped(&room_id), escaped(&first)));

    // The reader sees what Herald sent, in order.
    let history = call(reqwest::Method::GET, format!("{base}/_matrix/client/v3/rooms/{}/messages?dir=b&limit=50", escaped(&room_id)), &reader_token, None).await;
    let mut messages: Vec<Value> = history["chunk"].as_array().unwrap().iter()
        .filter(|e| e["type"] == "m.room.message" && e["sender"] == "@herald:localhost").cloned().collect();
    messages.reverse();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let text = &messages[0];
    assert_eq!(text["event_id"], first.as_str());
    assert_eq!(text["content"]["msgtype"], "m.text");
    assert_eq!(text["content"]["body"], "**Release 2.0** is out — [notes](https://example.org/notes)");
    assert_eq!(text["content"]["format"], "org.matrix.custom.html");
    assert_eq!(text["content"]["formatted_body"], r#"<p><strong>Release 2.0</strong> is out — <a href="https://example.org/notes">notes</a></p>"#);
    let image = &messages[1]["content"];
    assert_eq!((image["msgtype"].as_str(), image["body"].as_str()), (Some("m.image"), Some("the chart")));
    assert!(image["url"].as_str().unwrap().starts_with("mxc://localhost/"));
    assert_eq!(image["info"]["mimetype"], "image/png");
    let reply = &messages[2]["content"];
    assert_eq!(reply["body"], "what changed");
    assert_eq!(reply["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(reply["m.relates_to"]["event_id"], first.as_str());

    // The same transaction sent again is the same event, not a second one.
    let provider = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() }).get("matrix").unwrap();
    // Herald's user on a second device of its own.
    let herald_token = log_in(&base, "herald").await;
    let credentials = json!({"homeserverUrl": base, "room": "#news:localhost", "roomId": room_id, "accessToken": herald_token});
    let request = PublishRequest {
        target_id: Uuid::now_v7(), post_id: Uuid::now_v7(), integration_id: Uuid::now_v7(), integration_name: "m".into(),
        credentials: credentials.clone(), settings: json!({"notice": true}), item_index: 0, item_count: 1,
        content: "once".into(), media_urls: Vec::new(), media: Vec::<Attachment>::new(), tags: Vec::new(),
        scheduled_for: None, root: None, reply_to: None, idempotency_key: "matrix-once-0".into(), pending: None, interrupted: false,
    };
    let sent = provider.publish(&request).await.unwrap().published().unwrap();
    let again = provider.publish(&request).await.unwrap().published().unwrap();
    assert_eq!(sent.id, again.id);
    let history = call(reqwest::Method::GET, format!("{base}/_matrix/client/v3/rooms/{}/messages?dir=b&limit=50", escaped(&room_id)), &reader_token, None).await;
    let onces = history["chunk"].as_array().unwrap().iter().filter(|e| e["content"]["body"] == "once").count();
    assert_eq!(onces, 1);

    // Reactions and thread replies are its metrics.
    let reaction = json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": first, "key": "🎉"}});
    call(reqwest::Method::PUT, format!("{base}/_matrix/client/v3/rooms/{}/send/m.reaction/r1", escaped(&room_id)), &reader_token, Some(reaction)).await;
    let metrics = provider.fetch_metrics(&credentials, &PublishedItem { id: first.clone(), url: None }).await.unwrap();
    assert_eq!((metrics.get("reactions"), metrics.get("replies")), (Some(&1), Some(&1)), "{metrics:?}");

    // Every session logged out (Herald's too): the token is refused and
    // the account needs reconnecting.
    call(reqwest::Method::POST, format!("{base}/_matrix/client/v3/logout/all"), &herald_token, Some(json!({}))).await;
    let post = api.post("/api/posts", json!({"content": "after logout", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("M_UNKNOWN_TOKEN"));
    drop(synapse);
});
