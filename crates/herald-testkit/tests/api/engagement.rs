//! The engagement metrics job: after publishing, platforms that expose
//! likes/reposts/replies are asked again periodically, and the figures are
//! served by the analytics endpoints.

use std::time::Duration;

use herald_testkit::fakes::bluesky::{BLUESKY_APP_PASSWORD, FakeBluesky};
use herald_testkit::fakes::mastodon::{FakeMastodon, MASTODON_TOKEN};
use herald_testkit::{db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn published_posts_get_their_platform_metrics(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let connected = ada
        .session
        .post("/api/integrations", json!({"platform": "mastodon", "credentials": {"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN}}))
        .await;
    let integration = id_of(connected.expect(201));
    let post = api.post("/api/posts", json!({"content": "how did it do?", "platforms": [integration]})).await;
    let post_id = id_of(post.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let status_id = done["targets"][0]["platformPostIds"][0].as_str().unwrap().to_string();

    let before = api.get(&format!("/api/analytics/{post_id}")).await;
    assert_eq!(before.expect(200)["targets"][0]["metrics"], json!({}));
    assert!(before.body["targets"][0]["metricsFetchedAt"].is_null());

    fake.set_counts(&status_id, 7, 3, 2);
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let after = api.get(&format!("/api/analytics/{post_id}")).await;
    let target = &after.expect(200)["targets"][0];
    assert_eq!(target["metrics"], json!({"likes": 7, "reposts": 3, "replies": 2}));
    assert!(target["metricsFetchedAt"].is_string());
    assert!(target["metricsError"].is_null());

    // Not due again before the interval (an hour by default).
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 0);

    let trend = api.get(&format!("/api/analytics/integrations/{integration}?days=7")).await;
    let trend = trend.expect(200);
    assert_eq!(trend["metrics"], json!({"likes": 7, "reposts": 3, "replies": 2}));
    assert_eq!(trend["daily"].as_array().unwrap().last().unwrap()["metrics"]["likes"], 7);
});

db_test!(async fn an_expired_session_is_refreshed_once_per_round(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let credentials = json!({"service": fake.url(), "identifier": "@alice.test", "appPassword": BLUESKY_APP_PASSWORD});
    let connected = ada.session.post("/api/integrations", json!({"platform": "bluesky", "credentials": credentials})).await;
    let integration = id_of(connected.expect(201));
    let mut posts = Vec::new();
    for text in ["one", "two"] {
        let post = api.post("/api/posts", json!({"content": text, "platforms": [integration]})).await;
        posts.push(id_of(post.expect(201)));
    }
    for post in &posts {
        let done = app.wait_for_post_status(&api, post, "PUBLISHED", WAIT).await;
        let id = done["targets"][0]["platformPostIds"][0].as_str().unwrap();
        let uri = id.split('|').next().unwrap();
        fake.set_counts(uri, 4, 1, 0, 2);
    }

    // Two hours later the access token has expired.
    fake.expire_access_tokens();
    let refreshes_before = fake.calls("com.atproto.server.refreshSession").len();
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 2);
    assert_eq!(fake.calls("com.atproto.server.refreshSession").len(), refreshes_before + 1, "refreshed once");
    for post in &posts {
        let analytics = api.get(&format!("/api/analytics/{post}")).await;
        assert_eq!(analytics.expect(200)["targets"][0]["metrics"], json!({"likes": 4, "reposts": 1, "replies": 0, "quotes": 2}));
    }
});
