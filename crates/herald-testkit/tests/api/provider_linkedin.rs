//! `linkedin` and `linkedin-page` end to end (the seed's TC-02 and TC-03):
//! signing in at a fake LinkedIn, choosing pages, posting with images and
//! comments, refresh-token lifetimes, revocation on disconnect.

use std::time::Duration;

use herald_store::repo::Integrations;
use herald_testkit::fakes::linkedin::{CLIENT_ID, CLIENT_SECRET, LinkedInFake, MEMBER, PAGES};
use herald_testkit::{Account, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser::Browser;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn linkedin_options(fake: &LinkedInFake) -> TestOptions {
    let mut options = TestOptions::driven();
    for id in ["linkedin", "linkedin-page"] {
        options.provider_api_base.insert(id.into(), fake.base_url());
    }
    options.app_credentials =
        vec![("LINKEDIN_CLIENT_ID".into(), CLIENT_ID.into()), ("LINKEDIN_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

/// Signs in at LinkedIn for `platform`; the callback's JSON answer.
async fn sign_in(app: &TestApp, account: &Account, platform: &str) -> Value {
    let begun = account.session.get_with(&format!("/api/auth/{platform}"), JSON).await;
    let location = herald_testkit::fakes::consent(begun.expect(200)["authorizeUrl"].as_str().unwrap()).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200).clone()
}

async fn stored_credentials(app: &TestApp, id: Uuid) -> Value {
    let row = Integrations(app.store.conn()).by_id(id).await.unwrap().unwrap();
    let vault = herald_core::vault::Vault::from_hex(herald_testkit::TEST_ENCRYPTION_KEY).unwrap();
    serde_json::from_slice(&vault.decrypt(row.credentials.as_deref().unwrap(), id.as_bytes()).unwrap()).unwrap()
}

db_test!(async fn a_member_posts_with_an_image_and_a_first_comment(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let begun = ada.session.get_with("/api/auth/linkedin", JSON).await;
    let authorize = url::Url::parse(begun.expect(200)["authorizeUrl"].as_str().unwrap()).unwrap();
    let query: std::collections::BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(authorize.path(), "/oauth/v2/authorization");
    assert_eq!(query["scope"], "openid profile w_member_social");
    assert!(!query.contains_key("code_challenge"), "LinkedIn web apps have no PKCE");
    let location = herald_testkit::fakes::consent(authorize.as_str()).await;
    let done = ada.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    let id = Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap();
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["platformAccountId"], MEMBER);
    assert_eq!(integration.body["name"], "Ada Lovelace");
    let stored = stored_credentials(&app, id).await;
    assert_eq!(stored["author"], format!("urn:li:person:{MEMBER}"));
    assert!(stored["refreshExpiresAt"].is_string(), "the refresh token's lifetime is kept: {stored}");
    let token_request = fake.requests_to("/oauth/v2/accessToken").remove(0);
    assert!(token_request.header("authorization").is_none(), "the client goes in the form body");

    let media = ada.session.upload("chart.png", TINY_PNG.to_vec(), Some("A rising chart")).await;
    let media_id = id_of(media.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Quarterly results", "platforms": [id], "mediaIds": [media_id], "thread": [{"content": "Details in the report"}]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let posted = &fake.posts()[0];
    assert_eq!(posted["commentary"], "Quarterly results");
    assert_eq!(posted["content"]["media"]["altText"], "A rising chart");
    let image = posted["content"]["media"]["id"].as_str().unwrap();
    assert_eq!(fake.uploaded_images()[image], TINY_PNG.len());
    let comment = &fake.comments()[0];
    assert_eq!(comment["object"], posted["id"]);
    assert_eq!(comment["message"]["text"], "Details in the report");
    let rest = fake.requests_to("/rest/posts").remove(0);
    assert_eq!(rest.header("linkedin-version"), Some(herald_providers::LINKEDIN_VERSION));
    assert_eq!(done.body["targets"][0]["url"], format!("https://www.linkedin.com/feed/update/{}/", posted["id"].as_str().unwrap()));

    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"likes\":12"), "{}", analytics.text);

    let refresh = stored["refreshToken"].as_str().unwrap().to_string();
    ada.session.delete(&format!("/api/integrations/{id}")).await.expect(204);
    assert_eq!(fake.revoked(), [refresh]);
});

db_test!(async fn a_member_chooses_which_pages_to_connect(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let answer = sign_in(&app, &ada, "linkedin-page").await;
    let pending = answer["pendingId"].as_str().unwrap().to_string();
    assert!(answer.get("integrationId").is_none());
    let offered = ada.session.get(&format!("/api/integrations/pending/{pending}")).await;
    let offered = offered.expect(200);
    assert_eq!(offered["platform"], "linkedin-page");
    let names: Vec<&str> = offered["accounts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, [PAGES[0].1, PAGES[1].1]);
    assert!(!offered.to_string().contains("li-access-"), "tokens never leave");

    // Someone else cannot see or take the choice; an account not offered is refused.
    let mallory = app.register("mallory@example.com").await;
    mallory.session.get(&format!("/api/integrations/pending/{pending}")).await.expect_error(404, "NOT_FOUND");
    mallory.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [PAGES[0].0]})).await.expect_error(404, "NOT_FOUND");
    ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": ["9999"]})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": []})).await.expect_error(422, "VALIDATION_FAILED");

    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [PAGES[0].0]})).await;
    let chosen = chosen.expect(201).as_array().unwrap().clone();
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0]["platform"], "linkedin-page");
    assert_eq!(chosen[0]["name"], PAGES[0].1);
    // Used up.
    ada.session.get(&format!("/api/integrations/pending/{pending}")).await.expect_error(404, "NOT_FOUND");

    let page = Uuid::parse_str(chosen[0]["id"].as_str().unwrap()).unwrap();
    let post = ada.session.post("/api/posts", json!({"content": "From the page", "platforms": [page]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(ada.session.get(&format!("/api/posts/{post_id}")).await.body["status"], "PUBLISHED");
    assert_eq!(fake.posts()[0]["author"], format!("urn:li:organization:{}", PAGES[0].0));

    // Signing in again and choosing the same page updates it: no duplicate.
    let again = sign_in(&app, &ada, "linkedin-page").await;
    let pending = again["pendingId"].as_str().unwrap();
    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [PAGES[0].0, PAGES[1].0]})).await;
    let ids: Vec<String> = chosen.expect(201).as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids[0], page.to_string());
    assert_eq!(ada.session.get("/api/integrations").await.expect(200).as_array().unwrap().len(), 2);
});

db_test!(async fn the_account_chooser_page_connects_the_ticked_pages(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let accounts = browser.get("/integrations").await;
    assert!(accounts.html.contains("href=\"/api/auth/linkedin-page\""), "a connect button");
    let consent = browser.get("/api/auth/linkedin-page").await;
    assert_eq!(consent.status, 302);
    let location = herald_testkit::fakes::consent(&consent.location).await;
    let back = browser.get(location.strip_prefix(&app.address).unwrap()).await;
    assert_eq!(back.status, 302);
    assert!(back.location.starts_with("/integrations/choose/"), "{}", back.location);
    let choose = browser.get(&back.location).await;
    assert_eq!(choose.status, 200);
    assert!(choose.html.contains(PAGES[0].1) && choose.html.contains(PAGES[1].1));
    let done = browser.post(&back.location, &[("account", PAGES[1].0)]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location, "/integrations?notice=connected");
    let listed = browser.get(&done.location).await;
    assert!(listed.html.contains(PAGES[1].1) && listed.html.contains("Account connected."));
});

db_test!(async fn a_token_that_cannot_be_renewed_is_announced_before_it_ends(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    // An app LinkedIn did not approve for refresh tokens: 60 days, then reconnect.
    fake.without_refresh_tokens();
    let ada = app.register("ada@example.com").await;
    let id = sign_in(&app, &ada, "linkedin").await["integrationId"].as_str().unwrap().to_string();
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["accessEndsAt"], integration["tokenExpiresAt"]);
    assert!(integration["accessEndsAt"].is_string());

    // A post due after the end is accepted with a warning; one before, without.
    let at = |days: i64| (app.store.now() + chrono::Duration::days(days)).to_rfc3339();
    let late = ada.session.post("/api/posts/validate", json!({"content": "Later", "platforms": [id], "scheduledFor": at(61)})).await;
    let warnings = late.expect(200)["targets"][0]["warnings"].to_string();
    assert!(warnings.contains("cannot be renewed"), "{warnings}");
    let soon = ada.session.post("/api/posts/validate", json!({"content": "Soon", "platforms": [id], "scheduledFor": at(30)})).await;
    assert_eq!(soon.expect(200)["targets"][0]["warnings"], json!([]));

    app.clock().advance(Duration::from_secs(52 * 86400));
    assert_eq!(app.engine.warn_expiring_once().await.unwrap(), 0);
    // A week ahead: one notice, once; nothing to renew, and still active.
    app.clock().advance(Duration::from_secs(86400 + 60));
    assert_eq!(app.engine.warn_expiring_once().await.unwrap(), 1);
    assert_eq!(app.engine.warn_expiring_once().await.unwrap(), 0);
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    let row = Integrations(app.store.conn()).by_id(Uuid::parse_str(&id).unwrap()).await.unwrap().unwrap();
    assert_eq!(row.status, herald_core::integration::IntegrationStatus::Active);
    // A day ahead: the last notice.
    app.clock().advance(Duration::from_secs(6 * 86400 + 3600));
    assert_eq!(app.engine.warn_expiring_once().await.unwrap(), 1);
    let events = herald_store::repo::Events(app.store.conn()).since(chrono::DateTime::UNIX_EPOCH, 100).await.unwrap();
    let given: Vec<Value> =
        events.into_iter().filter(|e| e.kind == herald_core::event::EventKind::IntegrationExpiring).map(|e| e.data).collect();
    assert_eq!(given.iter().map(|d| d["daysAhead"].as_i64().unwrap()).collect::<Vec<_>>(), [7, 1]);
    assert!(given[0]["message"].as_str().unwrap().contains("reconnect it"), "{given:?}");
});

db_test!(async fn a_video_goes_up_in_the_parts_linkedin_names(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = sign_in(&app, &ada, "linkedin").await["integrationId"].as_str().unwrap().to_string();
    let mut video = b"\x00\x00\x00\x18ftypmp42".to_vec();
    video.resize(9 * 1024 * 1024, 3);
    let media_id = id_of(ada.session.upload("demo.mp4", video.clone(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Watch the demo", "platforms": [id], "mediaIds": [media_id]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let videos = fake.videos();
    let (urn, uploaded) = videos.iter().next().unwrap();
    assert_eq!(uploaded.parts.values().sum::<usize>(), video.len());
    assert_eq!(uploaded.parts.len(), 3);
    assert_eq!(uploaded.finalized_with.len(), 3, "every part's ETag goes to finalizeUpload");
    assert_eq!(fake.posts()[0]["content"]["media"]["id"], urn.as_str());

    // A video goes alone.
    let image = id_of(ada.session.upload("chart.png", TINY_PNG.to_vec(), None).await.expect(201));
    let mixed = ada.session.post("/api/posts", json!({"content": "Both", "platforms": [id], "mediaIds": [media_id, image]})).await;
    let mixed = id_of(mixed.expect(201));
    app.worker().run_once().await.unwrap();
    let mixed = ada.session.get(&format!("/api/posts/{mixed}")).await;
    assert_eq!(mixed.body["targets"][0]["lastError"]["class"], "INVALID", "{}", mixed.text);
});

db_test!(async fn a_page_account_lists_the_members_pages_as_a_postiz_tool(app, fake = LinkedInFake::start().await, linkedin_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let answer = sign_in(&app, &ada, "linkedin-page").await;
    let pending = answer["pendingId"].as_str().unwrap().to_string();
    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [PAGES[0].0]})).await;
    let page = chosen.expect(201)[0]["id"].as_str().unwrap().to_string();
    let api = app.with_authorization(&ada.api_key(None).await);
    let companies = api.post(&format!("/public/v1/integration-trigger/{page}"), json!({"methodName": "getCompanies"})).await;
    let companies = companies.expect(200)["output"].clone();
    assert_eq!(companies[1], json!({"id": PAGES[1].0, "name": PAGES[1].1, "username": PAGES[1].2}));
    assert!(!companies.to_string().contains("li-access-"), "tokens never leave");

    // A member account cannot post as a page: the answer says how to.
    let member = sign_in(&app, &ada, "linkedin").await;
    let member = member["integrationId"].as_str().unwrap().to_string();
    let tools = api.post(&format!("/public/v1/integration-trigger/{member}"), json!({"methodName": "getCompanies"})).await;
    tools.expect_error(422, "VALIDATION_FAILED");
    let as_company = json!({"type": "draft", "posts": [{"integration": {"id": member}, "value": [{"content": "x"}], "settings": {"companyId": PAGES[0].0}}]});
    let refused = api.post("/public/v1/posts", as_company).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("linkedin-page"), "{error}");
});
