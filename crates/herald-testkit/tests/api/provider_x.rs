//! The `x` provider and the OAuth machinery end to end (the seed's TC-01,
//! TC-04 and TC-05): Herald's connect routes → a fake X speaking OAuth 2.0
//! with PKCE and API v2 → tokens stored, refreshed once at a time, and a
//! refused grant turned into `NEEDS_RECONNECT`.

use std::time::Duration;

use herald_store::repo::Integrations;
use herald_testkit::fakes::Scripted;
use herald_testkit::fakes::x::{API_KEY, API_SECRET, CLIENT_ID, CLIENT_SECRET, USER_ID, USERNAME, XFake};
use herald_testkit::{Account, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn x_options(fake: &XFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("x".into(), fake.base_url());
    options.app_credentials =
        vec![("X_CLIENT_ID".into(), CLIENT_ID.into()), ("X_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

/// Starts a connection as `account`; returns the consent URL.
async fn begin(account: &Account) -> String {
    let begun = account.session.get_with("/api/auth/x", JSON).await;
    begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string()
}

/// The path and query of Herald's callback that X redirected to.
fn callback_path(app: &TestApp, location: &str) -> String {
    location.strip_prefix(&app.address).unwrap_or_else(|| panic!("{location} is not Herald's")).to_string()
}

/// The whole flow: begin, consent at X, callback. Returns the integration id.
async fn connect(app: &TestApp, account: &Account) -> Uuid {
    let location = herald_testkit::fakes::consent(&begin(account).await).await;
    let done = account.session.get_with(&callback_path(app, &location), JSON).await;
    Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap()
}

async fn stored_credentials(app: &TestApp, id: Uuid) -> Value {
    let row = Integrations(app.store.conn()).by_id(id).await.unwrap().unwrap();
    let vault = herald_core::vault::Vault::from_hex(herald_testkit::TEST_ENCRYPTION_KEY).unwrap();
    serde_json::from_slice(&vault.decrypt(row.credentials.as_deref().unwrap(), id.as_bytes()).unwrap()).unwrap()
}

db_test!(async fn x_connects_with_pkce_and_publishes_a_thread_as_replies(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let platforms = app.anonymous().get("/api/platforms").await;
    let x = platforms.expect(200).as_array().unwrap().iter().find(|p| p["id"] == "x").unwrap().clone();
    assert_eq!(x["authKind"], "oauth");
    assert_eq!(x["configured"], true);
    assert_eq!(x["callbackUrl"], format!("{}/api/auth/x/callback", app.address));
    assert_eq!(x["appEnv"], json!(["X_CLIENT_ID", "X_CLIENT_SECRET"]));

    let authorize = url::Url::parse(&begin(&ada).await).unwrap();
    assert_eq!(authorize.path(), "/i/oauth2/authorize");
    let query: std::collections::BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["redirect_uri"], format!("{}/api/auth/x/callback", app.address));
    assert!(query["scope"].split(' ').any(|s| s == "offline.access"), "{query:?}");
    assert!(query["state"].len() >= 32);

    let location = herald_testkit::fakes::consent(authorize.as_str()).await;
    let done = ada.session.get_with(&callback_path(&app, &location), JSON).await;
    let id = Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap();
    let token_request = fake.requests_to("/2/oauth2/token").remove(0);
    assert!(token_request.header("authorization").unwrap().starts_with("Basic "), "a confidential client");
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&token_request.body).into_owned().collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert!(form["code_verifier"].len() >= 43);

    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platform"], "x");
    assert_eq!(integration["platformAccountId"], USER_ID);
    assert_eq!(integration["platformUsername"], USERNAME);
    assert_eq!(integration["status"], "ACTIVE");
    let listed = ada.session.get("/api/integrations").await;
    assert!(!listed.text.contains("x-access-") && !listed.text.contains("x-refresh-"), "tokens never leave");
    let row = Integrations(app.store.conn()).by_id(id).await.unwrap().unwrap();
    assert!(!row.credentials.clone().unwrap().contains("x-refresh-"), "stored encrypted");
    assert!(row.token_expires_at.is_some());

    let thread = json!({"content": "Herald ships", "platforms": [id], "thread": [{"content": "and it threads"}]});
    let post = ada.session.post("/api/posts", thread).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let tweets = fake.tweets();
    assert_eq!(tweets.len(), 2);
    assert_eq!(tweets[1]["in_reply_to"], tweets[0]["id"]);
    let url = done.body["targets"][0]["url"].as_str().unwrap();
    assert_eq!(url, format!("https://x.com/{USERNAME}/status/{}", tweets[0]["id"].as_str().unwrap()));

    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let metrics = fake.requests_to(&format!("/2/tweets/{}", tweets[0]["id"].as_str().unwrap()));
    assert_eq!(metrics[0].query["tweet.fields"], "public_metrics");
});

db_test!(async fn an_oauth_state_is_single_use_bound_to_its_user_and_short_lived(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let mallory = app.register("mallory@example.com").await;

    // Someone else's session cannot finish Ada's connection, nor spend her state.
    let location = herald_testkit::fakes::consent(&begin(&ada).await).await;
    let path = callback_path(&app, &location);
    mallory.session.get_with(&path, JSON).await.expect_error(400, "OAUTH_REFUSED");
    assert_eq!(mallory.session.get("/api/integrations").await.expect(200), &json!([]));
    ada.session.get_with(&path, JSON).await.expect(200);
    // Used: a second callback with it is refused.
    let reused = ada.session.get_with(&path, JSON).await;
    assert!(reused.expect_error(400, "OAUTH_REFUSED")["message"].as_str().unwrap().contains("already used"));

    // Ten minutes at most.
    let location = herald_testkit::fakes::consent(&begin(&ada).await).await;
    app.clock().advance(Duration::from_secs(11 * 60));
    let late = ada.session.get_with(&callback_path(&app, &location), JSON).await;
    assert!(late.expect_error(400, "OAUTH_REFUSED")["message"].as_str().unwrap().contains("10 minutes"));

    // Denied consent, a forged state, no state: refused, nothing saved.
    fake.deny_next_consent();
    let location = herald_testkit::fakes::consent(&begin(&ada).await).await;
    let denied = ada.session.get_with(&callback_path(&app, &location), JSON).await;
    assert!(denied.expect_error(400, "OAUTH_REFUSED")["message"].as_str().unwrap().contains("access_denied"));
    ada.session.get_with("/api/auth/x/callback?code=c&state=forged", JSON).await.expect_error(400, "OAUTH_REFUSED");
    ada.session.get_with("/api/auth/x/callback?code=c", JSON).await.expect_error(400, "OAUTH_REFUSED");
    assert_eq!(ada.session.get("/api/integrations").await.expect(200).as_array().unwrap().len(), 1);

    // Browsers are sent back to the integrations page with the reason.
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = json!({"email": "ada@example.com", "password": herald_testkit::PASSWORD});
    let signed_in = browser.post(format!("{}/api/auth/login", app.address)).json(&login).send().await.unwrap();
    assert_eq!(signed_in.status(), 200);
    let refused = browser.get(format!("{}/api/auth/x/callback?code=c&state=forged", app.address)).send().await.unwrap();
    assert_eq!(refused.status(), 302);
    assert!(refused.headers()["location"].to_str().unwrap().starts_with("/integrations?error="));
    let consent = browser.get(format!("{}/api/auth/x", app.address)).send().await.unwrap();
    assert_eq!(consent.status(), 302);
    assert!(consent.headers()["location"].to_str().unwrap().starts_with(&format!("{}/i/oauth2/authorize?", fake.base_url())));

    // Only a person's session connects accounts; an API key cannot.
    let key = app.with_key(&ada.api_key(None).await);
    key.get_with("/api/auth/x", JSON).await.expect_error(403, "FORBIDDEN");
    // An unknown platform, and one that is not connected by OAuth.
    ada.session.get_with("/api/auth/myspace", JSON).await.expect_error(404, "NOT_FOUND");
    ada.session.get_with("/api/auth/webhook", JSON).await.expect_error(404, "NOT_FOUND");
    app.anonymous().get_with("/api/auth/x", JSON).await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn an_unconfigured_platform_names_what_to_set(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let platforms = app.anonymous().get("/api/platforms").await;
    let x = platforms.expect(200).as_array().unwrap().iter().find(|p| p["id"] == "x").unwrap().clone();
    assert_eq!(x["configured"], false);
    let refused = ada.session.get_with("/api/auth/x", JSON).await;
    let message = refused.expect_error(409, "CONFLICT")["message"].as_str().unwrap().to_string();
    assert!(message.contains("X_CLIENT_ID") && message.contains("/api/auth/x/callback"), "{message}");
});

db_test!(async fn reconnecting_updates_the_account_in_place_and_keeps_its_refresh_token(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let first = connect(&app, &ada).await;
    let refresh = stored_credentials(&app, first).await["refreshToken"].clone();
    assert!(refresh.as_str().unwrap().starts_with("x-refresh-"));
    // The account is disabled meanwhile; reconnecting makes it active again.
    ada.session.patch(&format!("/api/integrations/{first}"), json!({"status": "DISABLED"})).await.expect(200);
    fake.omit_refresh_token_once();
    let second = connect(&app, &ada).await;
    assert_eq!(first, second, "never a duplicate");
    assert_eq!(ada.session.get("/api/integrations").await.expect(200).as_array().unwrap().len(), 1);
    let stored = stored_credentials(&app, first).await;
    assert_eq!(stored["refreshToken"], refresh, "an answer without a refresh token keeps the stored one");
    let integration = ada.session.get(&format!("/api/integrations/{first}")).await;
    assert_eq!(integration.body["status"], "ACTIVE");
    // … and that refresh token still works.
    app.clock().advance(Duration::from_secs(100 * 60));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    assert_eq!(fake.refreshes(), 1);
});

db_test!(async fn tokens_are_renewed_ahead_of_expiry_once_even_when_asked_twice_at_once(app, fake = XFake::start().await, x_options(&fake)) {
    let logs = herald_testkit::logs::capture();
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let before = stored_credentials(&app, id).await;
    // Two hours of life: nothing is due until half an hour is left.
    app.clock().advance(Duration::from_secs(60 * 60));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    app.clock().advance(Duration::from_secs(35 * 60));
    // Two rounds at once (two schedulers): the rotating refresh token is spent once.
    let (one, two) = tokio::join!(app.engine.renew_tokens_once(), app.engine.renew_tokens_once());
    // The loser of the race uses the winner's tokens, or — when its round
    // comes after — finds nothing due: either way one refresh.
    assert!((1..=2).contains(&(one.unwrap() + two.unwrap())));
    assert_eq!(fake.refreshes(), 1);
    let after = stored_credentials(&app, id).await;
    assert_ne!(after["accessToken"], before["accessToken"]);
    assert_ne!(after["refreshToken"], before["refreshToken"], "rotated");
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["status"], "ACTIVE");
    // Nothing is due again right after.
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);

    // A publish uses the new token.
    let post = ada.session.post("/api/posts", json!({"content": "fresh token", "platforms": [id]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(ada.session.get(&format!("/api/posts/{post_id}")).await.body["status"], "PUBLISHED");
    assert_eq!(fake.requests_to("/2/tweets")[0].bearer(), after["accessToken"].as_str());
    // Connecting, renewing and publishing logged no token, code or client secret.
    let logged = logs.text();
    assert!(logged.contains("tokens refreshed"), "the capture works");
    for secret in ["x-access-", "x-refresh-", CLIENT_SECRET, "code_verifier", "code=code-", "state="] {
        assert!(!logged.contains(secret), "{secret} reached the logs");
    }
});

db_test!(async fn a_publish_renews_an_expiring_token_first_and_an_expired_one_after_a_401(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    // Four minutes before expiry: renewed before the post is sent.
    app.clock().advance(Duration::from_secs(116 * 60));
    let post = ada.session.post("/api/posts", json!({"content": "just in time", "platforms": [id]})).await;
    let first = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(ada.session.get(&format!("/api/posts/{first}")).await.body["status"], "PUBLISHED");
    assert_eq!(fake.refreshes(), 1);
    let tweets = fake.requests_to("/2/tweets");
    assert_eq!(tweets.len(), 1, "the old token was never tried");

    // X stops taking the token early: a 401 refreshes once and retries once.
    fake.expire_access_tokens();
    let post = ada.session.post("/api/posts", json!({"content": "after a 401", "platforms": [id]})).await;
    let second = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(ada.session.get(&format!("/api/posts/{second}")).await.body["status"], "PUBLISHED");
    assert_eq!(fake.refreshes(), 2);
    assert_eq!(fake.tweets().len(), 2);
});

db_test!(async fn a_refused_grant_asks_for_a_reconnect_and_fails_due_posts_clearly(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let post = ada.session.post("/api/posts", json!({"content": "due while revoked", "platforms": [id], "scheduledFor": (app.clock().now() + chrono::Duration::minutes(100)).to_rfc3339()})).await;
    let post_id = id_of(post.expect(201));
    fake.revoke_grant();
    app.clock().advance(Duration::from_secs(101 * 60));
    // X answers `invalid_request` for a revoked refresh token.
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["status"], "NEEDS_RECONNECT", "{}", integration.text);
    let failed = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(failed.body["status"], "FAILED");
    let error = failed.body["targets"][0]["lastError"]["message"].as_str().unwrap();
    assert!(error.contains("reconnect"), "{error}");
    let events = herald_store::repo::Events(app.store.conn()).since(chrono::DateTime::UNIX_EPOCH, 1000).await.unwrap();
    let reconnect = events.iter().find(|e| e.kind == herald_core::event::EventKind::IntegrationNeedsReconnect);
    assert_eq!(reconnect.unwrap().integration_id, Some(id));
    assert!(fake.tweets().is_empty());

    // Reconnecting brings it back.
    assert_eq!(connect(&app, &ada).await, id);
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["status"], "ACTIVE");
});

db_test!(async fn x_refusals_are_classified_and_disconnecting_revokes_the_grant(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    // 403 on X is a refused post (duplicate text), not a revoked account.
    fake.script(Scripted::json(403, json!({"title": "Forbidden", "status": 403, "detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank"})).at("POST /2/tweets"));
    let post = ada.session.post("/api/posts", json!({"content": "again", "platforms": [id]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let failed = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(failed.body["status"], "FAILED");
    assert_eq!(failed.body["targets"][0]["lastError"]["class"], "INVALID");
    assert!(failed.text.contains("duplicate content"));
    assert_eq!(ada.session.get(&format!("/api/integrations/{id}")).await.body["status"], "ACTIVE");

    let refresh = stored_credentials(&app, id).await["refreshToken"].as_str().unwrap().to_string();
    ada.session.delete(&format!("/api/integrations/{id}")).await.expect(204);
    assert_eq!(fake.revoked(), [refresh], "the grant ends at X too");
    let revoke = fake.requests_to("/2/oauth2/revoke").remove(0);
    assert!(revoke.header("authorization").unwrap().starts_with("Basic "));
});

fn oauth1_options(fake: &XFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("x".into(), fake.base_url());
    options.app_credentials = vec![("X_API_KEY".into(), API_KEY.into()), ("X_API_SECRET".into(), API_SECRET.into())];
    options
}

db_test!(async fn with_only_an_api_key_x_connects_by_oauth_1a_and_signs_every_request(app, fake = XFake::start().await, oauth1_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let platforms = app.anonymous().get("/api/platforms").await;
    let x = platforms.expect(200).as_array().unwrap().iter().find(|p| p["id"] == "x").unwrap().clone();
    assert_eq!(x["configured"], true);

    // A request token first (signed, with the callback), then consent.
    let authorize = url::Url::parse(&begin(&ada).await).unwrap();
    assert_eq!(authorize.path(), "/oauth/authorize");
    let request_token = authorize.query_pairs().find(|(k, _)| k == "oauth_token").unwrap().1.to_string();
    assert!(fake.requests_to("/oauth/request_token")[0].header("authorization").unwrap().contains("oauth_callback="));

    // Someone else's session cannot finish it; a denied consent saves nothing.
    let location = herald_testkit::fakes::consent(authorize.as_str()).await;
    assert!(location.contains("oauth_verifier="), "{location}");
    let mallory = app.register("mallory@example.com").await;
    mallory.session.get_with(&callback_path(&app, &location), JSON).await.expect_error(400, "OAUTH_REFUSED");
    let done = ada.session.get_with(&callback_path(&app, &location), JSON).await;
    let id = Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap();
    // The request token is the state: single use.
    ada.session.get_with(&callback_path(&app, &location), JSON).await.expect_error(400, "OAUTH_REFUSED");
    assert_ne!(request_token, "");
    let stored = stored_credentials(&app, id).await;
    assert!(stored["tokenSecret"].is_string() && stored.get("expiresAt").is_none(), "{stored:?}");
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["platformUsername"], USERNAME);
    assert!(integration.body["tokenExpiresAt"].is_null(), "an OAuth 1.0a token does not expire");
    assert!(!integration.text.contains("secret1a"), "the token secret never leaves");

    let media = ada.session.upload("chart.png", herald_testkit::TINY_PNG.to_vec(), None).await;
    let media_id = id_of(media.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Signed, not bearer", "platforms": [id], "mediaIds": [media_id], "thread": [{"content": "And a reply"}]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    for sent in fake.requests_to("/2/tweets") {
        assert!(sent.header("authorization").unwrap().starts_with("OAuth "), "signed");
    }
    assert_eq!(fake.tweets()[1]["in_reply_to"], fake.tweets()[0]["id"]);
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    // Nothing to renew, ever.
    app.clock().advance(Duration::from_secs(3 * 3600));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);

    // Disconnecting invalidates the token at X.
    let token = fake.oauth1_tokens().remove(0);
    ada.session.delete(&format!("/api/integrations/{id}")).await.expect(204);
    assert_eq!(fake.revoked(), [token]);
    assert!(fake.oauth1_tokens().is_empty());
});

db_test!(async fn a_denied_oauth_1a_consent_saves_nothing(app, fake = XFake::start().await, oauth1_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    fake.deny_next_consent();
    let location = herald_testkit::fakes::consent(&begin(&ada).await).await;
    assert!(location.contains("denied="), "{location}");
    let refused = ada.session.get_with(&callback_path(&app, &location), JSON).await;
    refused.expect_error(400, "OAUTH_REFUSED");
    assert!(refused.text.contains("access_denied"), "{}", refused.text);
    assert!(ada.session.get("/api/integrations").await.expect(200).as_array().unwrap().is_empty());
});

db_test!(async fn a_video_goes_up_in_chunks_and_waits_for_processing(app, fake = XFake::start().await, x_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let mut video = b"\x00\x00\x00\x18ftypmp42".to_vec();
    video.resize(9 * 1024 * 1024, 7);
    let media = ada.session.upload("launch.mp4", video.clone(), None).await;
    let media_id = id_of(media.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Launch video", "platforms": [id], "mediaIds": [media_id]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let uploads = fake.uploads();
    let (media_id, upload) = uploads.iter().next().unwrap();
    assert_eq!(upload.media_type, "video/mp4");
    assert_eq!(upload.segments, [4 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024]);
    assert_eq!(upload.received, video.len());
    assert_eq!(upload.status_checks, 1, "processing was awaited");
    assert_eq!(fake.tweets()[0]["media_ids"], json!([media_id]));
    let init = &fake.requests_to("/2/media/upload/initialize")[0].json;
    assert_eq!(init["media_category"], "tweet_video");
});

db_test!(async fn the_operator_s_x_budget_holds_posts_back_per_account(app, fake = XFake::start().await, {
    let mut options = x_options(&fake);
    // As an operator sets X's free tier (HERALD_PROVIDER_X_RATE_BUDGET=17/24h); 2/12h here.
    let budget = herald_providers::RateBudget { max: 2, window: Duration::from_secs(12 * 3600) };
    options.engine.platform_budgets.insert("x".into(), budget);
    options
}) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    for i in 0..3 {
        ada.session.post("/api/posts", json!({"content": format!("Post {i}"), "platforms": [id]})).await.expect(201);
    }
    let mut worker = app.worker();
    assert_eq!(worker.run_once().await.unwrap(), 2, "two in twelve hours");
    assert_eq!(fake.tweets().len(), 2);
    app.clock().advance(Duration::from_secs(12 * 3600 + 60));
    // The expired token is renewed on the way.
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(fake.tweets().len(), 3);
});
