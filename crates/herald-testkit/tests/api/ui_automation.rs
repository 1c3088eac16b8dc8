//! Automation in the web UI without JavaScript: a feed added, polled and
//! its error shown on /feeds; a repeating post from the composer; a file
//! checked then imported on /settings/import, and the export downloads.

use herald_testkit::{FeedEntry, FeedServer, TestOptions, db_test};

use crate::browser::{Browser, Part};

db_test!(async fn feeds_repeat_and_import_work_from_the_pages(app, TestOptions::driven()) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let ada = browser.account(&app).await;
    let integration = app.add_integration(&ada, "mastodon").await.to_string();

    // Feeds: added, first poll marks what is there, a failing blog shows its error.
    let blog = FeedServer::start().await;
    blog.set(vec![FeedEntry::numbered(1)]);
    let page = browser.get("/feeds").await;
    assert!(page.html.contains("No feed yet"));
    let added = browser
        .post("/feeds", &[("url", &blog.url()), ("platforms", &integration), ("mode", "DRAFT"), ("template", "{title} {link}"), ("poll_minutes", "30")])
        .await;
    assert_eq!(added.location, "/feeds?notice=saved", "{}", added.html);
    let page = browser.get("/feeds").await;
    assert!(page.html.contains(&blog.url()) && page.html.contains("as drafts"), "{}", page.html);
    let feed_id = browser.api(reqwest::Method::GET, "/api/feeds", None).await[0]["id"].as_str().unwrap().to_string();
    let polled = browser.post(&format!("/feeds/{feed_id}/poll"), &[]).await;
    assert!(polled.html.contains("marked as seen"), "{}", polled.html);
    blog.publish(FeedEntry::numbered(2));
    let polled = browser.post(&format!("/feeds/{feed_id}/poll"), &[]).await;
    assert!(polled.html.contains("1 new: Post number 2"), "{}", polled.html);
    blog.fail_with(Some(503));
    browser.post(&format!("/feeds/{feed_id}/poll"), &[]).await;
    let page = browser.get("/feeds").await;
    assert!(page.html.contains("data-feed-error>the feed answered HTTP 503"), "{}", page.html);
    let bad = browser.post("/feeds", &[("url", "ftp://blog.example/feed"), ("platforms", &integration), ("poll_minutes", "1")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("between 5 and 1440 minutes"), "{}", bad.html);

    // The composer repeats a post by rule; a bad rule is shown on its box.
    let later = (app.store.now() + chrono::Duration::days(2)).format("%Y-%m-%dT09:00").to_string();
    browser.get("/posts/new").await;
    let saved = browser
        .post("/posts/new", &[("content", "Daily tip"), ("platforms", &integration), ("scheduled_for", &later), ("repeat_rule", "FREQ=DAILY"), ("repeat_count", "3"), ("action", "schedule")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let posts = browser.api(reqwest::Method::GET, "/api/posts", None).await;
    let tip = posts["posts"].as_array().unwrap().iter().find(|p| p["content"] == "Daily tip").unwrap().clone();
    assert_eq!(tip["recurrence"]["rule"], "FREQ=DAILY");
    assert_eq!(tip["recurrence"]["count"], 3);
    let edit = browser.get(&format!("/posts/{}/edit", tip["id"].as_str().unwrap())).await;
    assert!(edit.html.contains(r#"name="repeat_rule" type="text" list="repeat-presets" value="FREQ=DAILY""#), "the edit form keeps the rule");
    browser.get("/posts/new").await;
    let refused = browser
        .post("/posts/new", &[("content", "Too often"), ("platforms", &integration), ("scheduled_for", &later), ("repeat_rule", "FREQ=MINUTELY"), ("action", "schedule")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("posts repeat at most hourly"), "{}", refused.html);

    // Import: checked first (nothing saved), then imported; export downloads.
    browser.get("/settings/import").await;
    let file = "- externalId: from-ui\n  content: Imported from the page\n  platforms: [\"mastodon:My mastodon\"]\n";
    let checked = browser.post_parts("/settings/import", &[("text", Part::Text(file)), ("format", Part::Text("yaml")), ("action", Part::Text("check"))]).await;
    assert!(checked.html.contains("1 rows: 1 would be created"), "{}", checked.html);
    assert!(checked.html.contains("Checked only"));
    let imported = browser.post_parts("/settings/import", &[("text", Part::Text(file)), ("format", Part::Text("auto")), ("action", Part::Text("apply"))]).await;
    assert!(imported.html.contains("1 were created") && imported.html.contains("Imported."), "{}", imported.html);
    let again = browser.post_parts("/settings/import", &[("text", Part::Text(file)), ("action", Part::Text("apply"))]).await;
    assert!(again.html.contains("1 skipped"), "{}", again.html);
    let broken = browser.post_parts("/settings/import", &[("text", Part::Text("- content: x\n  platforms: [\"nowhere:nobody\"]\n")), ("action", Part::Text("apply"))]).await;
    assert!(broken.html.contains("Nothing was saved") && broken.html.contains("no nowhere account named"), "{}", broken.html);
    let export = browser.get("/settings/export?format=csv").await;
    assert!(export.html.starts_with("externalId,status"), "{}", export.html);
    assert!(export.html.contains("Imported from the page"));
});

db_test!(async fn the_composer_offers_writing_help_only_when_a_model_is_configured(app, TestOptions::driven()) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    assert!(!browser.get("/posts/new").await.html.contains("Writing help"), "off without a model");

    let model = herald_testkit::FakeModel::start().await;
    let app = herald_testkit::spawn_app_with(app.backend, TestOptions { ai: Some(model.settings()), ..TestOptions::driven() }).await.unwrap();
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let ada = browser.account(&app).await;
    let mastodon = app.add_integration(&ada, "mastodon").await.to_string();
    let bluesky = app.add_integration(&ada, "bluesky").await.to_string();
    let page = browser.get("/posts/new").await;
    assert!(page.html.contains("Writing help"));

    model.reply_with(&["A sharper launch note", "A sharper, shorter launch note"]);
    let fields = [("content", "Our launch note"), ("platforms", mastodon.as_str()), ("platforms", bluesky.as_str()), ("action", "ai_rewrite")];
    let suggested = browser.post("/posts/new", &fields).await;
    assert_eq!(suggested.status, 200, "{}", suggested.html);
    assert!(suggested.html.contains("A sharper launch note") && suggested.html.contains("A sharper, shorter launch note"));
    // "Use" for Bluesky: its own text; the post's text stays.
    let used = browser
        .post("/posts/new", &[("content", "Our launch note"), ("platforms", mastodon.as_str()), ("platforms", bluesky.as_str()),
            (&format!("ai_text.{bluesky}"), "A sharper, shorter launch note"), ("action", &format!("ai_use:{bluesky}"))])
        .await;
    assert!(used.html.contains(r#">A sharper, shorter launch note</textarea>"#), "{}", used.html);
    // Translate without a language: the error shows in the box.
    let refused = browser.post("/posts/new", &[("content", "Hallo"), ("platforms", mastodon.as_str()), ("action", "ai_translate")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("say which language to translate into"), "{}", refused.html);
});
