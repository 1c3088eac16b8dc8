//! The `lemmy` provider end to end against the fake instance: login, the
//! post and its comment chain, per-post settings, rate limits and a
//! session the instance stopped honouring.

use std::time::Duration;

use herald_store::repo::Integrations;
use herald_testkit::fakes::lemmy::{COMMUNITY_ID, FakeLemmy, PASSWORD, USERNAME};
use herald_testkit::{Account, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

fn credentials(lemmy: &FakeLemmy, community: Value) -> Value {
    json!({"instanceUrl": lemmy.url(), "username": USERNAME, "password": PASSWORD, "communityId": community})
}

async fn connect(account: &Account, lemmy: &FakeLemmy) -> Uuid {
    let body = json!({"platform": "lemmy", "credentials": credentials(lemmy, json!("rust"))});
    let connected = account.session.post("/api/integrations", body).await;
    Uuid::parse_str(connected.expect(201)["id"].as_str().unwrap()).unwrap()
}

db_test!(async fn connecting_logs_in_and_checks_the_community(app) {
    let ada = app.register("ada@example.com").await;
    let lemmy = FakeLemmy::start().await;
    let body = json!({"platform": "lemmy", "credentials": credentials(&lemmy, json!("rust"))});
    let connected = ada.session.post("/api/integrations", body).await;
    let view = connected.expect(201);
    let integration = Uuid::parse_str(view["id"].as_str().unwrap()).unwrap();
    let row = Integrations(app.store.conn()).by_id(integration).await.unwrap().unwrap();
    assert!(!row.credentials.unwrap().contains(PASSWORD), "the password is stored sealed");
    assert!(!connected.text.contains(PASSWORD) && !connected.text.contains("session-1"));
    let host = lemmy.url().trim_start_matches("http://").split(':').next().unwrap().to_string();
    assert_eq!(view["platformUsername"], format!("{USERNAME}@{host}"));
    assert_eq!(view["name"], "Herald Bot in !rust");
    assert_eq!(view["avatarUrl"], "https://lemmy.example/pictrs/image/bot.png");

    let requests = lemmy.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/api/v3/user/login", "/api/v3/site", "/api/v3/community"]);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].json, json!({"username_or_email": USERNAME, "password": PASSWORD}));
    assert_eq!(requests[1].header("authorization"), Some("Bearer eyJhbGciOiJIUzI1NiJ9.session-1.sig"));
    assert_eq!(requests[2].raw_query.as_str(), "name=rust");
    assert_eq!(requests[2].header("authorization"), requests[1].header("authorization"));

    let bob = app.register("bob@example.com").await;
    let mut wrong = credentials(&lemmy, json!(COMMUNITY_ID));
    wrong["password"] = json!("not-the-password");
    let refused = bob.session.post("/api/integrations", json!({"platform": "lemmy", "credentials": wrong})).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("username or password"), "{}", refused.text);
    assert!(!refused.text.contains("not-the-password"));

    let missing = bob.session.post("/api/integrations", json!({"platform": "lemmy", "credentials": credentials(&lemmy, json!(999))})).await;
    assert_eq!(missing.status, 422);
    assert!(missing.text.contains("community was not found"), "{}", missing.text);

    lemmy.require_totp();
    let totp = bob.session.post("/api/integrations", json!({"platform": "lemmy", "credentials": credentials(&lemmy, json!(7))})).await;
    assert_eq!(totp.status, 422);
    assert!(totp.text.contains("two-factor authentication"), "{}", totp.text);
    assert_eq!(bob.session.get("/api/integrations").await.expect(200), &json!([]));
});

db_test!(async fn a_thread_becomes_a_post_and_a_comment_chain(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    let body = json!({
        "content": "Herald ships Lemmy\n\nPosts, comments and more.",
        "platforms": [integration],
        "thread": [{"content": "first comment"}, {"content": "second comment"}]
    });
    let post_id = id_of(api.post("/api/posts", body).await.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let target = &done["targets"][0];
    assert_eq!(target["url"], "https://lemmy.example/post/101");
    assert_eq!(target["platformPostIds"], json!(["101", "102", "103"]));

    let posts = lemmy.requests_to("/api/v3/post");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].json, json!({"name": "Herald ships Lemmy", "community_id": COMMUNITY_ID, "body": "Posts, comments and more."}));
    assert_eq!(posts[0].header("authorization"), Some("Bearer eyJhbGciOiJIUzI1NiJ9.session-1.sig"));
    let comments = lemmy.requests_to("/api/v3/comment");
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].json, json!({"content": "first comment", "post_id": 101}));
    assert_eq!(comments[1].json, json!({"content": "second comment", "post_id": 101, "parent_id": 102}));
    assert_eq!(lemmy.requests_to("/api/v3/user/login").len(), 1, "the stored session is reused");
});

db_test!(async fn per_post_settings_pick_title_community_link_and_nsfw(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    let settings = json!({"title": "A chosen title", "communityId": "photos", "url": "https://example.com/article", "nsfw": true});
    let body = json!({"content": "Body text", "platforms": [integration], "overrides": {integration.to_string(): {"settings": settings}}});
    let post_id = id_of(api.post("/api/posts", body).await.expect(201));
    app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let posts = lemmy.requests_to("/api/v3/post");
    assert_eq!(
        posts[0].json,
        json!({"name": "A chosen title", "community_id": 8, "body": "Body text", "url": "https://example.com/article", "nsfw": true})
    );
    let lookups = lemmy.requests_to("/api/v3/community");
    assert_eq!(lookups.last().unwrap().raw_query.as_str(), "name=photos");

    let wrong = json!({"title": "x".repeat(201), "nsfw": "yes", "flair": "hot"});
    let body = json!({"content": "x", "platforms": [integration], "overrides": {integration.to_string(): {"settings": wrong}}});
    let refused = api.post("/api/posts", body).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED").to_string();
    for field in ["settings.title", "settings.nsfw", "settings.flair"] {
        assert!(error.contains(field), "{field}: {error}");
    }
});

db_test!(async fn titles_lemmy_would_refuse_are_reported_per_field(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    for title in ["Hi", "a b c d", "Two\nlines"] {
        let body = json!({"content": "Body", "platforms": [integration],
            "overrides": {integration.to_string(): {"settings": {"title": title}}}});
        let report = api.post("/api/posts/validate", body).await;
        let report = report.expect(200);
        assert_eq!(report["valid"], false, "{title:?}: {report}");
        assert!(report.to_string().contains(&format!("overrides.{integration}.settings.title")), "{title:?}: {report}");
    }
    // A title taken from the first line is checked before anything is sent.
    let post_id = id_of(api.post("/api/posts", json!({"content": "Hi\n\nthere", "platforms": [integration]})).await.expect(201));
    let failed = app.wait_for_post_status(&api, &post_id, "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "INVALID");
    assert!(error["message"].as_str().unwrap().contains("3 non-space characters"), "{error}");
    assert!(lemmy.requests_to("/api/v3/post").is_empty());
});

db_test!(async fn published_posts_get_their_votes_and_comment_count(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    let body = json!({"content": "Votes please\n\nbody", "platforms": [integration], "thread": [{"content": "a comment"}]});
    let post_id = id_of(api.post("/api/posts", body).await.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let lemmy_post: i64 = done["targets"][0]["platformPostIds"][0].as_str().unwrap().parse().unwrap();

    lemmy.set_votes(lemmy_post, 12, 2);
    // The session expired meanwhile: the round logs in again and asks once more.
    lemmy.expire_sessions();
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = api.get(&format!("/api/analytics/{post_id}")).await;
    let target = &analytics.expect(200)["targets"][0];
    assert_eq!(target["metrics"], json!({"upvotes": 12, "downvotes": 2, "score": 10, "replies": 1}), "{target}");
    assert!(target["metricsError"].is_null());
    let asked = lemmy.requests().into_iter().filter(|r| r.method == "GET" && r.path == "/api/v3/post").collect::<Vec<_>>();
    assert_eq!(asked.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 200]);
    assert_eq!(asked[1].raw_query.as_str(), format!("id={lemmy_post}"));
});

db_test!(async fn a_rate_limited_post_is_retried(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    // Lemmy 0.19 answers its rate limit with 400 like its other errors;
    // later versions with 429. The error name is what counts.
    lemmy.push_error("/api/v3/post", 400, "rate_limit_error");
    lemmy.push_error("/api/v3/post", 429, "rate_limit_error");
    let post_id = id_of(api.post("/api/posts", json!({"content": "patience", "platforms": [integration]})).await.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 3);
    let statuses: Vec<u16> = lemmy.requests_to("/api/v3/post").iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 429, 200]);
});

db_test!(async fn an_expired_session_logs_in_again_and_publishes(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    lemmy.expire_sessions();
    let post_id = id_of(api.post("/api/posts", json!({"content": "still here", "platforms": [integration], "thread": [{"content": "and again"}]})).await.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["platformPostIds"].as_array().unwrap().len(), 2);
    let posts = lemmy.requests_to("/api/v3/post");
    assert_eq!(posts.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 200]);
    assert_eq!(posts[0].header("authorization"), Some("Bearer eyJhbGciOiJIUzI1NiJ9.session-1.sig"));
    assert_eq!(posts[1].header("authorization"), Some("Bearer eyJhbGciOiJIUzI1NiJ9.session-2.sig"));
    assert_eq!(lemmy.requests_to("/api/v3/user/login").len(), 2, "logged in again once");
    // The fresh session was stored: the comment used it too.
    let comments = lemmy.requests_to("/api/v3/comment");
    assert_eq!(comments[0].header("authorization"), posts[1].header("authorization"));
    let integration = api.get(&format!("/api/integrations/{integration}")).await;
    assert_eq!(integration.expect(200)["status"], "ACTIVE");
});

db_test!(async fn a_changed_password_needs_reconnecting(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    lemmy.expire_sessions();
    lemmy.push_error("/api/v3/user/login", 401, "incorrect_login");
    let post_id = id_of(api.post("/api/posts", json!({"content": "locked out", "platforms": [integration]})).await.expect(201));
    let failed = app.wait_for_post_status(&api, &post_id, "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("incorrect_login"));
    let integration = api.get(&format!("/api/integrations/{integration}")).await;
    assert_eq!(integration.expect(200)["status"], "NEEDS_RECONNECT");
});

db_test!(async fn a_media_url_becomes_the_link_of_the_post(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let lemmy = FakeLemmy::start().await;
    let integration = connect(&ada, &lemmy).await;
    let body = json!({"content": "Sunset over the bay", "platforms": [integration], "mediaUrls": ["https://cdn.example.com/sunset.jpg"]});
    let post_id = id_of(api.post("/api/posts", body).await.expect(201));
    app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let posts = lemmy.requests_to("/api/v3/post");
    assert_eq!(
        posts[0].json,
        json!({"name": "Sunset over the bay", "community_id": COMMUNITY_ID, "url": "https://cdn.example.com/sunset.jpg"})
    );
});

#[tokio::test]
async fn an_image_link_carries_its_alt_text() {
    let lemmy = FakeLemmy::start().await;
    let provider = crate::provider_support::registry(&[]).get("lemmy").unwrap();
    let stored = provider.connect(&credentials(&lemmy, json!(COMMUNITY_ID))).await.unwrap().credentials;
    let image = crate::provider_support::attachment("image/png", herald_testkit::TINY_PNG, Some("A red pixel"));
    let url = image.url.clone();
    let mut request = crate::provider_support::request(stored, "A picture", vec![image], None);
    // Lemmy links the image by URL: only its alt text matters here, not its bytes.
    request.media[0].body = herald_providers::MediaBody::None;
    provider.publish(&request).await.unwrap().published().unwrap();
    let sent = &lemmy.requests_to("/api/v3/post")[0].json;
    assert_eq!((sent["url"].as_str(), sent["alt_text"].as_str()), (Some(url.as_str()), Some("A red pixel")));
}
