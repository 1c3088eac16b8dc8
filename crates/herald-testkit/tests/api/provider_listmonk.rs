//! listmonk end to end against the fake: an API user connected to lists
//! (an unknown list refused), a post as a campaign created and started
//! once, a campaign whose start failed started later without a second
//! campaign, a draft left unsent, and its statistics.

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::listmonk::{FakeListmonk, TOKEN, USER};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::json;

db_test!(async fn listmonk_sends_each_post_as_one_campaign(app, _none = (), TestOptions::driven()) {
    let fake = FakeListmonk::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |lists: &str| ada.session.post("/api/integrations", json!({"platform": "listmonk", "credentials": {"url": fake.url(), "username": USER, "token": TOKEN, "lists": lists}}));
    assert!(connect("1, 9").await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("no list 9"));
    let connected = connect("1,3").await;
    assert!(!connected.text.contains(TOKEN));
    let integration = connected.expect(201).clone();
    assert_eq!(integration["name"], "listmonk: Newsletter, Beta testers");
    let id = id_of(&integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("growth")).await.expect(201));
    let post = id_of(api.post("/api/posts", json!({"content": "December news\n\nAll **good**.", "platforms": [id], "mediaIds": [png]})).await.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let target = api.get(&format!("/api/posts/{post}")).await.expect(200)["targets"][0].clone();
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let campaign = &fake.campaigns()[0];
    assert_eq!((campaign["subject"].as_str(), campaign["status"].as_str()), (Some("December news"), Some("running")));
    assert_eq!(campaign["body"], format!("All **good**.\n\n![growth]({}/uploads/media-0.png)", fake.url()));
    assert_eq!(campaign["lists"], json!([{"id": 1}, {"id": 3}]));
    assert!(campaign["name"].as_str().unwrap().contains("[herald-"));
    assert_eq!(target["url"], format!("{}/admin/campaigns/{}", fake.url(), campaign["id"]));

    // Starting fails once: the campaign is kept and started later, never made twice.
    fake.fail_next_start();
    let post = id_of(api.post("/api/posts", json!({"content": "Second\n\nbody", "platforms": [id]})).await.expect(201));
    app.worker().run_once().await.unwrap();
    let target = api.get(&format!("/api/posts/{post}")).await.expect(200)["targets"][0].clone();
    assert_ne!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.campaigns().len(), 2);
    assert_eq!(fake.campaigns()[1]["status"], "draft");
    app.clock().advance(Duration::from_secs(31));
    app.worker().run_once().await.unwrap();
    let target = api.get(&format!("/api/posts/{post}")).await.expect(200)["targets"][0].clone();
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.campaigns().len(), 2, "no second campaign");
    assert_eq!(fake.campaigns()[1]["status"], "running");

    // A draft is created and left for listmonk.
    let post = id_of(api.post("/api/posts", json!({"content": "Draft\n\nbody", "platforms": [id],
        "overrides": {id.clone(): {"settings": {"draft": true, "listIds": [3]}}}})).await.expect(201));
    app.worker().run_once().await.unwrap();
    assert_eq!(api.get(&format!("/api/posts/{post}")).await.expect(200)["targets"][0]["status"], "PUBLISHED");
    assert_eq!((fake.campaigns()[2]["status"].as_str(), fake.campaigns()[2]["lists"].clone()), (Some("draft"), json!([{"id": 3}])));

    let provider = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() }).get("listmonk").unwrap();
    let credentials = json!({"url": fake.url(), "username": USER, "token": TOKEN, "lists": "1, 3"});
    let item = PublishedItem { id: fake.campaigns()[0]["id"].to_string(), url: None };
    let metrics = provider.fetch_metrics(&credentials, &item).await.unwrap();
    assert_eq!((metrics["sent"], metrics["views"], metrics["clicks"]), (132, 40, 9));
});
