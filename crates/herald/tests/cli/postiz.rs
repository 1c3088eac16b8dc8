//! The official `postiz` CLI (npm `postiz`, tests/postiz) against a real
//! `herald serve`: someone switching from Postiz changes `POSTIZ_API_URL`
//! and keeps their commands. Each command's printed JSON is checked, and
//! what it made is checked through Herald's own API and at the webhook
//! receiver the posts go to.
//!
//! The CLI is installed by ./scripts/test (tests/postiz/node_modules).
//! Without it this test fails, saying so, unless `HERALD_SKIP_POSTIZ_CLI=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use herald_testkit::WebhookReceiver;
use serde_json::{Value, json};

use crate::delivery::with_engine_env;
use crate::{Server, herald, text};

const SECRET: &str = "postiz-cli-webhook-secret-0123";
/// A one-pixel PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8, 0xf1,
    0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn cli_script() -> Option<PathBuf> {
    if std::env::var("HERALD_SKIP_POSTIZ_CLI").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        eprintln!("note: HERALD_SKIP_POSTIZ_CLI is set; skipping the postiz CLI test");
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("tests/postiz/node_modules/postiz/dist/index.js");
    assert!(
        script.exists(),
        "{} is missing: run ./scripts/test, which installs the postiz CLI (npm ci --prefix tests/postiz), \
         or set HERALD_SKIP_POSTIZ_CLI=1 to skip this test",
        script.display()
    );
    Some(script)
}

/// Runs the CLI as a user with `POSTIZ_API_URL` pointed at Herald.
struct Cli {
    script: PathBuf,
    base: String,
    key: String,
    home: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("node")
            .arg(&self.script)
            .args(args)
            .current_dir(self.home.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Its stored OAuth credentials would win over the key: none here.
            .env("HOME", self.home.path())
            .env("POSTIZ_API_KEY", &self.key)
            .env("POSTIZ_API_URL", &self.base)
            .output()
            .expect("node runs the postiz CLI")
    }

    /// Runs a command that must succeed; returns the JSON it printed after
    /// its one-line heading.
    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        let stdout = text(&output.stdout);
        assert!(output.status.success(), "postiz {args:?} failed:\n{stdout}\n{}", text(&output.stderr));
        let start = stdout.find(['[', '{']).unwrap_or_else(|| panic!("no JSON in:\n{stdout}"));
        serde_json::from_str(&stdout[start..]).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// Runs a command that must fail; returns what it printed on stderr.
    #[track_caller]
    fn failure(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "postiz {args:?} succeeded:\n{}", text(&output.stdout));
        text(&output.stderr)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_postiz_cli_works_against_herald_by_changing_its_url() {
    let Some(script) = cli_script() else { return };
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(SECRET).await;
    let server = Server::start(with_engine_env(herald(dir.path()), None), dir.path());
    let base = server.base.clone();
    let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let call = |request: reqwest::RequestBuilder, status: u16| async move {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), status);
        answer.json::<Value>().await.unwrap()
    };
    let register = json!({"email": "switch@example.com", "password": "a long enough password"});
    call(session.post(format!("{base}/api/auth/register")).json(&register), 201).await;
    let key = call(session.post(format!("{base}/api/api-keys")).json(&json!({"name": "postiz cli"})), 201).await;
    let mut hooks = Vec::new();
    for name in ["Blog", "Newsletter"] {
        let body = json!({"platform": "webhook", "name": name,
            "credentials": {"url": format!("{}?account={name}", receiver.url()), "secret": SECRET}});
        let hook = call(session.post(format!("{base}/api/integrations")).json(&body), 201).await;
        hooks.push(hook["id"].as_str().unwrap().to_string());
    }
    let cli = Cli {
        script,
        base: base.clone(),
        key: key["key"].as_str().unwrap().to_string(),
        home: tempfile::tempdir().unwrap(),
    };

    let listed = cli.json(&["integrations:list"]);
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Blog") && names.contains(&"Newsletter"), "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|i| i["identifier"] == "webhook" && i["disabled"] == false));

    let settings = cli.json(&["integrations:settings", &hooks[0]]);
    assert!(settings["output"]["maxLength"].as_u64().unwrap() > 0, "{settings}");

    std::fs::write(cli.home.path().join("pixel.png"), PNG).unwrap();
    let uploaded = cli.json(&["upload", "pixel.png"]);
    let path = uploaded["path"].as_str().unwrap().to_string();
    assert!(path.contains("/uploads/"), "{uploaded}");
    assert_eq!(uploaded["name"], "pixel.png");

    // A scheduled post with an image and a comment, to both accounts.
    let at = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let both = hooks.join(",");
    let created = cli.json(&[
        "posts:create",
        "-c",
        "Launch day",
        "-m",
        &path,
        "-c",
        "More in the thread",
        "-s",
        &at,
        "-i",
        &both,
    ]);
    let created = created.as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["integration"], hooks[0].as_str());
    let herald_post: Value = reqwest::Client::new()
        .get(format!("{base}/api/posts/{}", created[0]["group"].as_str().unwrap()))
        .bearer_auth(&cli.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(herald_post["status"], "SCHEDULED");
    assert_eq!(herald_post["thread"][0]["content"], "More in the thread");
    assert_eq!(herald_post["mediaIds"], json!([uploaded["id"]]));

    let listed = cli.json(&["posts:list"]);
    let posts = listed["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p["state"] == "QUEUE" && p["image"][0]["path"] == path.as_str()), "{listed}");

    // A draft, then the whole group deleted by one account's post.
    let draft = cli.json(&["posts:create", "-c", "Just an idea", "-s", &at, "-t", "draft", "-i", &hooks[1]]);
    let output = cli.run(&["posts:delete", created[1]["postId"].as_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed = cli.json(&["posts:list"]);
    let remaining: Vec<&Value> = listed["posts"].as_array().unwrap().iter().collect();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["id"], draft[0]["postId"]);
    assert_eq!(remaining[0]["state"], "DRAFT");

    // Published now (from a JSON file, as `--json` sends it) and delivered.
    let now = json!({"type": "now", "shortLink": false, "tags": [],
        "posts": [{"integration": {"id": hooks[0]}, "value": [{"content": "Out right now", "image": []}], "settings": {"__type": "webhook"}}]});
    std::fs::write(cli.home.path().join("now.json"), now.to_string()).unwrap();
    let published = cli.json(&["posts:create", "--json", "now.json"]);
    let delivered = receiver.wait_for_accepted(1, Duration::from_secs(20)).await;
    assert_eq!(delivered[0].body["item"]["content"], "Out right now", "{:?}", delivered[0].body);
    let post_id = published[0]["postId"].as_str().unwrap();
    let mut state = Value::Null;
    for _ in 0..100 {
        let listed = cli.json(&["posts:list"]);
        state = listed["posts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == post_id)
            .map_or(Value::Null, |p| p["state"].clone());
        if state == "PUBLISHED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "PUBLISHED");
    assert!(cli.json(&["analytics:post", post_id]).is_array());
    let daily = cli.json(&["analytics:platform", &hooks[0], "-d", "7"]);
    assert_eq!(daily[0]["label"], "Posts");
    assert_eq!(cli.json(&["posts:missing", post_id]), json!([]));

    // What Herald cannot honour is refused with the field, never dropped.
    let stderr = cli.failure(&["posts:create", "-c", "x", "-m", "not-uploaded.jpg", "-s", &at, "-i", &hooks[0]]);
    assert!(stderr.contains("posts[0].value[0].image[0].path") && stderr.contains("upload the file first"), "{stderr}");
    let stderr = cli.failure(&["posts:create", "-c", "a", "-c", "b", "-d", "5", "-s", &at, "-i", &hooks[0]]);
    assert!(stderr.contains("posts[0].value[1].delay"), "{stderr}");
    let stderr = cli.failure(&["integrations:trigger", &hooks[0], "getFlairs"]);
    assert!(stderr.contains("not a tool"), "{stderr}");

    // A revoked key is refused.
    let keys: Value = session.get(format!("{base}/api/api-keys")).send().await.unwrap().json().await.unwrap();
    let key_id = keys[0]["id"].as_str().unwrap();
    session.delete(format!("{base}/api/api-keys/{key_id}")).send().await.unwrap();
    let stderr = cli.failure(&["integrations:list"]);
    assert!(stderr.contains("401"), "{stderr}");
    drop(server);
}
