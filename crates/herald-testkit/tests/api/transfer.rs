//! Import and export (DESIGN §11): a workspace exported as YAML and CSV,
//! imported into a fresh instance gives the same posts; importing again
//! changes nothing (by `externalId`); a dry run saves nothing; one bad row
//! saves nothing at all; per-row errors name their field.

use herald_testkit::{TestOptions, db_test, id_of, spawn_app_with};
use serde_json::{Value, json};

fn statuses(report: &Value) -> Vec<String> {
    report["rows"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

/// What must survive the trip, whatever the ids.
fn essence(post: &Value, names: &std::collections::BTreeMap<String, String>) -> Value {
    let mut platforms: Vec<String> =
        post["platforms"].as_array().unwrap().iter().map(|p| names[p.as_str().unwrap()].clone()).collect();
    platforms.sort();
    let overrides: std::collections::BTreeMap<String, Value> = post["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["content"].is_null())
        .map(|t| (names[t["integrationId"].as_str().unwrap()].clone(), t["content"].clone()))
        .collect();
    json!({
        "content": post["content"], "status": post["status"], "scheduledFor": post["scheduledFor"],
        "thread": post["thread"].as_array().unwrap().iter().map(|t| t["content"].clone()).collect::<Vec<_>>(),
        "tags": post["tags"], "mediaUrls": post["mediaUrls"], "platforms": platforms, "overrides": overrides,
        "recurrence": post["recurrence"],
    })
}

async fn names_of(client: &herald_testkit::Client) -> std::collections::BTreeMap<String, String> {
    let listed = client.get("/api/integrations").await.expect(200).clone();
    let items =
        listed.as_array().cloned().unwrap_or_else(|| listed["integrations"].as_array().cloned().unwrap_or_default());
    items
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                format!("{}:{}", i["platform"].as_str().unwrap(), i["name"].as_str().unwrap()),
            )
        })
        .collect()
}

async fn posts_of(client: &herald_testkit::Client) -> Vec<Value> {
    let mut posts = client.get("/api/posts?limit=100").await.expect(200)["posts"].as_array().unwrap().clone();
    posts.sort_by_key(|p| p["content"].as_str().unwrap().to_string());
    posts
}

db_test!(async fn export_then_import_into_a_fresh_instance_gives_the_same_posts(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let later = (app.store.now() + chrono::Duration::days(3)).to_rfc3339();
    ada.session.post("/api/posts", json!({
        "content": "Launch day, with \"quotes\", commas, and a\nsecond line", "platforms": [mastodon, bluesky], "scheduledFor": later,
        "thread": [{"content": "More below"}, {"content": "And the end"}], "tags": ["launch", "q1"],
        "overrides": {bluesky.to_string(): {"content": "Launch day (short)"}},
        "recurrence": {"rule": "FREQ=WEEKLY", "timezone": "Europe/Berlin", "count": 3},
    })).await.expect(201);
    ada.session.post("/api/posts", json!({"content": "An idea", "status": "DRAFT", "platforms": [mastodon],
        "mediaUrls": ["https://cdn.example/a.png"]})).await.expect(201);
    let before = posts_of(&ada.session).await;
    let names = names_of(&ada.session).await;

    let yaml = ada.session.send_raw(reqwest::Method::GET, "/api/posts/export?format=yaml", None).await;
    assert_eq!(yaml.status, 200);
    assert!(yaml.header("content-type").unwrap().starts_with("application/yaml"));
    assert!(yaml.header("content-disposition").unwrap().contains("herald-posts.yaml"));
    let yaml = yaml.text.clone();
    assert!(yaml.contains("platform: mastodon") && yaml.contains("externalId:"), "{yaml}");
    let csv = ada.session.send_raw(reqwest::Method::GET, "/api/posts/export?format=csv", None).await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let csv = csv.text.clone();
    assert!(csv.starts_with("externalId,status,scheduledFor,content,platforms"), "{csv}");

    // The same workspace: everything is already there.
    let again = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import?format=yaml&dryRun=false", Some((&yaml, "application/yaml"))).await;
    assert_eq!(statuses(&again.body.clone()), ["skipped", "skipped"], "{}", again.text);

    for (format, file, content_type) in [("yaml", &yaml, "application/yaml"), ("csv", &csv, "text/csv")] {
        let fresh = spawn_app_with(app.backend, TestOptions::driven()).await.unwrap();
        let bob = fresh.register("bob@example.com").await;
        fresh.add_integration(&bob, "mastodon").await;
        fresh.add_integration(&bob, "bluesky").await;
        // A dry run (the default) checks and saves nothing.
        let checked = bob.session.send_raw(reqwest::Method::POST, &format!("/api/posts/import?format={format}"), Some((file, content_type))).await;
        let checked = checked.body.clone();
        assert_eq!(checked["dryRun"], true);
        assert_eq!(checked["valid"], true, "{checked}");
        assert_eq!(statuses(&checked), ["created", "created"]);
        assert!(posts_of(&bob.session).await.is_empty());
        let imported = bob.session.send_raw(reqwest::Method::POST, &format!("/api/posts/import?format={format}&dryRun=false"), Some((file, content_type))).await;
        let imported = imported.body.clone();
        assert_eq!(imported["created"], 2, "{imported}");
        assert!(imported["rows"][0]["postId"].is_string());
        let after = posts_of(&bob.session).await;
        let fresh_names = names_of(&bob.session).await;
        let was: Vec<Value> = before.iter().map(|p| essence(p, &names)).collect();
        let now: Vec<Value> = after.iter().map(|p| essence(p, &fresh_names)).collect();
        assert_eq!(now, was, "{format}: the same posts");
        assert_eq!(after[0]["createdVia"], "IMPORT");
        // Importing the file again changes nothing.
        let twice = bob.session.send_raw(reqwest::Method::POST, &format!("/api/posts/import?format={format}&dryRun=false"), Some((file, content_type))).await;
        assert_eq!(statuses(&twice.body.clone()), ["skipped", "skipped"], "{}", twice.text);
        assert_eq!(posts_of(&bob.session).await.len(), 2);
    }
});

db_test!(async fn one_bad_row_saves_nothing_and_rows_name_their_errors(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let later = (app.store.now() + chrono::Duration::days(1)).to_rfc3339();
    let file = format!(r#"
posts:
  - externalId: week-1
    content: First of the week
    platforms: ["mastodon:My mastodon"]
    scheduledFor: "{later}"
  - externalId: week-2
    content: Second
    platforms: ["nowhere:nobody", "{mastodon}"]
  - externalId: week-1
    content: Same id twice
  - externalId: week-3
    content: ""
    platforms: ["{mastodon}"]
    scheduledFor: "yesterday"
"#);
    let report = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import?dryRun=false", Some((&file, "application/yaml"))).await.body.clone();
    assert_eq!(report["valid"], false);
    assert_eq!(statuses(&report), ["created", "error", "error", "error"]);
    let fields = |i: usize| -> Vec<String> { report["rows"][i]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect() };
    assert_eq!(fields(1), ["platforms[0]"]);
    assert_eq!(fields(2), ["externalId"]);
    assert!(fields(3).contains(&"scheduledFor".to_string()), "{report}");
    assert_eq!(report["rows"][1]["row"], 2);
    assert!(ada.session.get("/api/posts").await.expect(200)["posts"].as_array().unwrap().is_empty(), "all or nothing");

    // Fixed, it imports; changed later, the same row updates its post.
    let good = format!("- externalId: week-1\n  content: First of the week\n  platforms: [\"mastodon:My mastodon\"]\n  scheduledFor: \"{later}\"\n");
    let report = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import?dryRun=false", Some((&good, "application/yaml"))).await.body.clone();
    assert_eq!(statuses(&report), ["created"]);
    let id = report["rows"][0]["postId"].as_str().unwrap().to_string();
    let changed = good.replace("First of the week", "First of the week, edited");
    let report = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import?dryRun=false", Some((&changed, "application/yaml"))).await.body.clone();
    assert_eq!(statuses(&report), ["updated"]);
    assert_eq!(report["rows"][0]["postId"], id.as_str());
    let post = ada.session.get(&format!("/api/posts/{id}")).await.expect(200).clone();
    assert_eq!(post["content"], "First of the week, edited");
    assert_eq!(post["externalId"], "week-1");

    // Whole-file problems are one error.
    let garbage = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import", Some(("posts: [unclosed", "application/yaml"))).await;
    garbage.expect_error(422, "VALIDATION_FAILED");
    let xml = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import?format=xml", Some(("<a/>", "application/xml"))).await;
    xml.expect_error(422, "VALIDATION_FAILED");
    ada.session.get("/api/posts/export?format=pdf").await.expect_error(422, "VALIDATION_FAILED");
    let csv = "content,platforms\nhello,nowhere\n";
    let report = ada.session.send_raw(reqwest::Method::POST, "/api/posts/import", Some((csv, "text/csv"))).await.body.clone();
    assert_eq!(statuses(&report), ["error"], "{report}");

    // A draft-only key may import drafts, not schedule.
    let drafter = app.with_key(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    let scheduled = format!("- content: Planned\n  platforms: [\"{mastodon}\"]\n  scheduledFor: \"{later}\"\n");
    let report = drafter.send_raw(reqwest::Method::POST, "/api/posts/import", Some((&scheduled, "application/yaml"))).await.body.clone();
    assert_eq!(report["rows"][0]["errors"][0]["field"], "status", "{report}");
    let reader = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    reader.send_raw(reqwest::Method::POST, "/api/posts/import", Some((&scheduled, "application/yaml"))).await.expect_error(403, "FORBIDDEN");
    let _ = id_of(&post);
});
