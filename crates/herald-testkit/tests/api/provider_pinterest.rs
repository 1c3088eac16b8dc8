//! `pinterest` end to end against a fake Pinterest: signing in (scopes
//! comma-separated, the client by HTTP Basic), the boards offered as the
//! `boardId` choices, a Pin with its image as base64, metrics, a refresh,
//! and a refused refresh in Pinterest's own error shape.

use std::time::Duration;

use herald_core::integration::IntegrationStatus;
use herald_store::repo::Integrations;
use herald_testkit::fakes::pinterest::{BOARDS, CLIENT_ID, CLIENT_SECRET, PinterestFake, USERNAME};
use herald_testkit::{Account, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::json;
use uuid::Uuid;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn pinterest_options(fake: &PinterestFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("pinterest".into(), fake.base_url());
    options.app_credentials = vec![
        ("PINTEREST_CLIENT_ID".into(), CLIENT_ID.into()),
        ("PINTEREST_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
    ];
    options
}

async fn connect(app: &TestApp, account: &Account) -> Uuid {
    let begun = account.session.get_with("/api/auth/pinterest", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains("scope=boards%3Aread%2Cpins%3Aread%2Cpins%3Awrite"), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap()
}

db_test!(async fn a_pin_goes_to_the_chosen_board_with_its_image(app, fake = PinterestFake::start().await, pinterest_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformUsername"], USERNAME);
    assert_eq!(integration["name"], "Ada's Kitchen");
    // Both pages of boards were read, and offered as the choices of `boardId`.
    let choices = &integration["settings"]["choices"]["boardId"];
    assert_eq!(choices[1], json!({"value": BOARDS[1].0, "label": BOARDS[1].1}), "{integration}");
    assert_eq!(fake.requests_to("/v5/boards").len(), 2);
    assert!(fake.requests_to("/v5/oauth/token")[0].basic_auth().is_some());

    // A Pin needs an image: refused before anything is scheduled.
    let bare = ada.session.post("/api/posts", json!({"content": "No picture", "platforms": [id]})).await;
    bare.expect_error(422, "VALIDATION_FAILED");
    let media = ada.session.upload("soup.png", TINY_PNG.to_vec(), Some("A bowl of soup")).await;
    let media_id = id_of(media.expect(201));

    // Two boards and none chosen: the failure names them.
    let post = ada.session.post("/api/posts", json!({"content": "Soup", "platforms": [id], "mediaIds": [media_id]})).await;
    let unplaced = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let unplaced = ada.session.get(&format!("/api/posts/{unplaced}")).await;
    assert!(unplaced.text.contains("Garden (549755885176)"), "{}", unplaced.text);

    let settings = json!({id.to_string(): {"settings": {"boardId": BOARDS[1].0, "link": "https://ada.example/soup"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Pumpkin soup\n\nWarm and easy.", "platforms": [id], "mediaIds": [media_id], "overrides": settings})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let pin = fake.pins().remove(0);
    assert_eq!(pin["board_id"], BOARDS[1].0);
    assert_eq!(pin["title"], "Pumpkin soup");
    assert_eq!(pin["link"], "https://ada.example/soup");
    assert_eq!(pin["alt_text"], "A bowl of soup");
    // Herald runs on http://127.0.0.1 here, which Pinterest cannot reach: the bytes go along.
    assert_eq!(pin["media_source"]["source_type"], "image_base64");
    assert_eq!(pin["media_source"]["content_type"], "image/png");
    assert!(done.body["targets"][0]["url"].as_str().unwrap().starts_with("https://www.pinterest.com/pin/"));
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"saves\":7"), "{}", analytics.text);

    // An unknown board is a refused Pin, not a retry.
    let gone = json!({id.to_string(): {"settings": {"boardId": "1"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Lost", "platforms": [id], "mediaIds": [media_id], "overrides": gone})).await;
    let lost = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let lost = ada.session.get(&format!("/api/posts/{lost}")).await;
    assert_eq!(lost.body["targets"][0]["lastError"]["class"], "INVALID", "{}", lost.text);
    assert!(lost.text.contains("Board not found"));
});

db_test!(async fn a_refresh_refused_in_pinterest_s_own_words_asks_for_a_reconnect(app, fake = PinterestFake::start().await, pinterest_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    // A 30-day token is renewed a week ahead, keeping the refresh token.
    app.clock().advance(Duration::from_secs(24 * 86400));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    let refresh = &fake.requests_to("/v5/oauth/token")[1];
    assert_eq!(refresh.form()["grant_type"], "refresh_token");
    fake.revoke_grant();
    app.clock().advance(Duration::from_secs(24 * 86400));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    // (Seven weeks on, the session has expired: the row tells.)
    let row = Integrations(app.store.conn()).by_id(id).await.unwrap().unwrap();
    assert_eq!(row.status, IntegrationStatus::NeedsReconnect);
});

db_test!(async fn the_composer_offers_the_account_s_boards_by_name(app, fake = PinterestFake::start().await, pinterest_options(&fake)) {
    let mut browser = crate::browser::Browser::new(&app);
    browser.register("ada@example.com").await;
    let consent = browser.get("/api/auth/pinterest").await;
    let location = herald_testkit::fakes::consent(&consent.location).await;
    let back = browser.get(location.strip_prefix(&app.address).unwrap()).await;
    assert!(back.location.starts_with("/integrations?connected="), "{}", back.location);
    let page = browser.get("/posts/new").await;
    for (id, name) in BOARDS {
        assert!(page.html.contains(&format!("<option value=\"{id}\">{name}</option>")), "board {name} offered");
    }
});

db_test!(async fn the_boards_are_a_postiz_tool_and_board_a_postiz_setting(app, fake = PinterestFake::start().await, pinterest_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let api = app.with_authorization(&ada.api_key(None).await);
    let settings = api.get(&format!("/public/v1/integration-settings/{id}")).await;
    assert_eq!(settings.expect(200)["output"]["tools"][0]["methodName"], "getBoards");
    let boards = api.post(&format!("/public/v1/integration-trigger/{id}"), json!({"methodName": "getBoards"})).await;
    let boards = boards.expect(200)["output"].clone();
    assert_eq!(boards[1], json!({"id": BOARDS[1].0, "name": BOARDS[1].1}));
    let body = json!({"type": "draft", "posts": [{"integration": {"id": id}, "value": [{"content": "Soup"}],
        "settings": {"__type": "pinterest", "board": BOARDS[1].0, "title": "Soup", "link": "https://ada.example/soup"}}]});
    let created = api.post("/public/v1/posts", body).await;
    let group = created.expect(201)[0]["group"].as_str().unwrap().to_string();
    let post = api.get(&format!("/api/posts/{group}")).await;
    assert_eq!(post.expect(200)["targets"][0]["settings"], json!({"boardId": BOARDS[1].0, "title": "Soup", "link": "https://ada.example/soup"}));
    let colour = json!({"type": "draft", "posts": [{"integration": {"id": id}, "value": [{"content": "Soup"}], "settings": {"dominant_color": "#ff0000"}}]});
    let refused = api.post("/public/v1/posts", colour).await;
    assert_eq!(refused.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "posts[0].settings.dominant_color");
});
