//! Asynchronous publishing across SIGKILL, with the real binary: killed
//! while Threads processes a video (the container stored, no lease held),
//! while `threads_publish` is in flight (the post out, the answer not yet
//! heard), and while a video goes up to Facebook chunk by chunk. Each time:
//! one container or upload session, one post.

use std::path::Path;
use std::time::{Duration, Instant};

use herald_testkit::fakes::facebook::{self, FacebookFake};
use herald_testkit::fakes::threads::{APP_ID, APP_SECRET, ThreadsFake, USER_ID};
use serde_json::{Value, json};

use crate::delivery::{drop_database, fresh_database, with_engine_env};
use crate::{Server, herald};

fn with_threads(fake: &ThreadsFake, dir: &Path, database_url: Option<&str>) -> std::process::Command {
    let mut command = with_engine_env(herald(dir), database_url);
    command
        .env("HERALD_PROVIDER_THREADS_API_BASE", fake.base_url())
        .env("THREADS_APP_ID", APP_ID)
        .env("THREADS_APP_SECRET", APP_SECRET);
    command
}

async fn register(base: &str) -> reqwest::Client {
    let session =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let registered = session
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": "ops@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    session
}

/// Signs in to `platform` at its fake; the callback's answer.
async fn sign_in(session: &reqwest::Client, base: &str, platform: &str) -> Value {
    let begun: Value = session
        .get(format!("{base}/api/auth/{platform}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = herald_testkit::fakes::consent(begun["authorizeUrl"].as_str().unwrap()).await;
    // MAIN_URL names port 0 (the server picked its port): the callback goes to the real one.
    let path = &location[location.find("/api/auth/").unwrap()..];
    session
        .get(format!("{base}{path}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Registers and connects the fake Threads account; returns the session and the integration id.
async fn connect(base: &str) -> (reqwest::Client, String) {
    let session = register(base).await;
    let done = sign_in(&session, base, "threads").await;
    (session, done["integrationId"].as_str().unwrap_or_else(|| panic!("{done}")).to_string())
}

async fn upload(session: &reqwest::Client, base: &str, bytes: Vec<u8>, name: &str) -> String {
    let file = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let media: Value = session
        .post(format!("{base}/api/media"))
        .multipart(reqwest::multipart::Form::new().part("file", file))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    media["id"].as_str().unwrap_or_else(|| panic!("{media}")).to_string()
}

async fn post(session: &reqwest::Client, base: &str, body: Value) -> String {
    let post: Value = session.post(format!("{base}/api/posts")).json(&body).send().await.unwrap().json().await.unwrap();
    post["id"].as_str().unwrap_or_else(|| panic!("{post}")).to_string()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_processing(session: &reqwest::Client, base: &str, post_id: &str) {
    let started = Instant::now();
    loop {
        let post: Value =
            session.get(format!("{base}/api/posts/{post_id}")).send().await.unwrap().json().await.unwrap();
        if !post["targets"][0]["processing"].is_null() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never processing: {post}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_published(session: &reqwest::Client, server: &Server, post_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let post: Value =
            session.get(format!("{}/api/posts/{post_id}", server.base)).send().await.unwrap().json().await.unwrap();
        if post["status"] == "PUBLISHED" {
            return post;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not published: {post}\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn killed_while_processing_and_while_publishing(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let fake = ThreadsFake::start().await;
    fake.video_polls(1);
    let server = Server::start(with_threads(&fake, dir.path(), database_url), dir.path());
    let base = server.base.clone();
    let (session, integration) = connect(&base).await;

    // Killed while Threads processes the video: the container is stored.
    let media = upload(&session, &base, herald_testkit::TINY_MP4.to_vec(), "clip.mp4").await;
    let video_post =
        post(&session, &base, json!({"content": "A clip", "platforms": [integration], "mediaIds": [media]})).await;
    // Killed once the container is stored on the post (a kill between
    // Threads' answer and that write leaves an unpublished container, which
    // expires on its own; that race is not what this checks).
    wait_processing(&session, &base, &video_post).await;
    server.kill_hard();
    let server = Server::start(with_threads(&fake, dir.path(), database_url), dir.path());
    let published = wait_published(&session, &server, &video_post).await;
    assert_eq!(fake.containers().len(), 1, "no second container after the restart");
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(published["targets"][0]["platformPostIds"][0], fake.posts()[0]["id"]);

    // Killed while the publish is in flight: the post is out, the answer unheard.
    fake.slow_publish(Duration::from_secs(5));
    let text_post = post(&session, &server.base, json!({"content": "Said once", "platforms": [integration]})).await;
    let publish_path = format!("/v1.0/{USER_ID}/threads_publish");
    wait_until("the publish call", Duration::from_secs(15), || fake.requests_to(&publish_path).len() == 2).await;
    server.kill_hard();
    let server = Server::start(with_threads(&fake, dir.path(), database_url), dir.path());
    let published = wait_published(&session, &server, &text_post).await;
    assert_eq!(fake.posts().len(), 2, "the interrupted publish was found, not repeated");
    assert_eq!(fake.requests_to(&publish_path).len(), 2);
    assert_eq!(published["targets"][0]["platformPostIds"][0], fake.posts()[1]["id"]);
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_a_platform_processes_publishes_once_on_sqlite() {
    killed_while_processing_and_while_publishing(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_a_platform_processes_publishes_once_on_postgres() {
    let Some((url, admin, name)) = fresh_database("async").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    killed_while_processing_and_while_publishing(Some(&url)).await;
    drop_database(admin, &name).await;
}

fn with_facebook(fake: &FacebookFake, dir: &Path, database_url: Option<&str>) -> std::process::Command {
    let mut command = with_engine_env(herald(dir), database_url);
    command
        .env("HERALD_PROVIDER_FACEBOOK_API_BASE", fake.base_url())
        .env("FACEBOOK_APP_ID", facebook::APP_ID)
        .env("FACEBOOK_APP_SECRET", facebook::APP_SECRET);
    command
}

/// Killed while a video goes up chunk by chunk: the restarted process
/// continues the same upload session at the offset Facebook acknowledged.
async fn killed_mid_upload(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let fake = FacebookFake::start().await;
    fake.slow_transfers(Duration::from_millis(400));
    let server = Server::start(with_facebook(&fake, dir.path(), database_url), dir.path());
    let base = server.base.clone();
    let session = register(&base).await;
    let pending = sign_in(&session, &base, "facebook").await;
    let pending_id = pending["pendingId"].as_str().unwrap_or_else(|| panic!("{pending}"));
    let chosen: Value = session
        .post(format!("{base}/api/integrations/pending/{pending_id}"))
        .json(&json!({"accountIds": [facebook::PAGES[0].0]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let integration = chosen[0]["id"].as_str().unwrap_or_else(|| panic!("{chosen}")).to_string();
    let mut video = herald_testkit::TINY_MP4.to_vec();
    video.extend((0..(5 * facebook::CHUNK)).map(|i| (i % 241) as u8));
    let media = upload(&session, &base, video.clone(), "clip.mp4").await;
    let post_id =
        post(&session, &base, json!({"content": "Big clip", "platforms": [integration], "mediaIds": [media]})).await;
    wait_until("two chunks", Duration::from_secs(20), || fake.transfers() >= 2).await;
    server.kill_hard();
    let server = Server::start(with_facebook(&fake, dir.path(), database_url), dir.path());
    wait_published(&session, &server, &post_id).await;
    assert_eq!(fake.upload_sessions(), 1, "the upload was continued, not started again");
    let videos = fake.videos();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].1, video, "every byte, in order");
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_continues_the_same_upload_on_sqlite() {
    killed_mid_upload(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_continues_the_same_upload_on_postgres() {
    let Some((url, admin, name)) = fresh_database("upload").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    killed_mid_upload(Some(&url)).await;
    drop_database(admin, &name).await;
}
