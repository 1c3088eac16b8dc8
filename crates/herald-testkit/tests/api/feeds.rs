//! RSS/Atom auto-posting (DESIGN §11) against a local blog whose feed
//! changes between polls: the first poll only marks what is there, each new
//! item becomes one post, conditional GET saves refetching, text is
//! shortened per platform without cutting the link, a broken feed shows
//! its error and recovers; SSRF guard on the URL.

use herald_testkit::{FeedEntry, FeedServer, TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::{Value, json};

const SECRET: &str = "a-webhook-secret-of-some-length";

fn new_titles(report: &Value) -> Vec<String> {
    report["newItems"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()).collect()
}

db_test!(async fn a_changing_rss_feed_posts_each_new_item_once(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let blog = FeedServer::start().await;
    blog.set(vec![FeedEntry::numbered(2), FeedEntry::numbered(1)]);

    let body = json!({"url": blog.url(), "platforms": [hook], "template": "{title}: {summary} {link}", "mode": "NOW"});
    let feed = ada.session.post("/api/feeds", body).await.expect(201).clone();
    assert_eq!(feed["pollMinutes"], 30);
    assert_eq!(feed["primed"], false);
    let id = id_of(&feed);

    // First poll: the two items already there are only marked seen.
    let first = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(first["outcome"], "PRIMED");
    assert_eq!(first["itemsInFeed"], 2);
    assert!(new_titles(&first).is_empty());
    // Unchanged: the ETag spares the download.
    let same = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(same["outcome"], "NOT_MODIFIED");
    assert_eq!(blog.not_modified(), 1);

    // Two new posts on the blog: two posts, oldest first, published at once.
    blog.publish(FeedEntry::numbered(3));
    blog.publish(FeedEntry::numbered(4));
    let polled = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(polled["outcome"], "POLLED");
    assert_eq!(new_titles(&polled), ["Post number 3", "Post number 4"]);
    let post_id = polled["newItems"][0]["postId"].as_str().unwrap().to_string();
    let post = ada.session.get(&format!("/api/posts/{post_id}")).await.expect(200).clone();
    assert_eq!(post["content"], "Post number 3: What post 3 is about & more. https://blog.example/posts/3");
    assert_eq!(post["createdVia"], "FEED");
    app.worker().run_once().await.unwrap();
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 2);

    // Re-rendered by the CMS (new ETag, same items): nothing new.
    blog.touch();
    let again = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(again["outcome"], "POLLED");
    assert!(new_titles(&again).is_empty());

    // Broken: the error shows on the feed, nothing crashes, it recovers.
    blog.fail_with(Some(500));
    let broken = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(broken["outcome"], "FAILED");
    let listed = ada.session.get("/api/feeds").await.expect(200).clone();
    assert_eq!(listed[0]["lastError"], "the feed answered HTTP 500");
    assert_eq!(listed[0]["lastStatus"], 500);
    blog.fail_with(None);
    blog.serve_garbage(true);
    let garbage = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert!(garbage["error"].as_str().unwrap().contains("not a readable RSS or Atom feed"), "{garbage}");
    blog.serve_garbage(false);
    blog.publish(FeedEntry::numbered(5));
    let recovered = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    assert_eq!(new_titles(&recovered), ["Post number 5"]);
    assert!(recovered["feed"]["lastError"].is_null());
    assert_eq!(recovered["feed"]["itemsPosted"], 3);

    // The automation loop polls when the interval has passed, not before.
    assert_eq!(app.app.poll_due_feeds_once().await.unwrap(), 0);
    app.clock().advance(std::time::Duration::from_secs(31 * 60));
    blog.publish(FeedEntry::numbered(6));
    assert_eq!(app.app.poll_due_feeds_once().await.unwrap(), 1);
    app.worker().run_once().await.unwrap();
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 4, "items 3, 4, 5 and 6, each once");

    // Deleted: it stops; its posts stay.
    ada.session.delete(&format!("/api/feeds/{id}")).await.expect(204);
    ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect_error(404, "NOT_FOUND");
    ada.session.get(&format!("/api/posts/{post_id}")).await.expect(200);
});

db_test!(async fn atom_items_are_shortened_per_platform_without_cutting_the_link(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let blog = FeedServer::start().await;
    let body = json!({"url": blog.atom_url(), "platforms": [bluesky, mastodon], "template": "{title} by {author} — {summary} {link}", "mode": "DRAFT"});
    let id = id_of(ada.session.post("/api/feeds", body).await.expect(201));
    ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200);
    let long = FeedEntry {
        summary: "A very long introduction to the subject. ".repeat(20),
        link: "https://blog.example/posts/a-long-slug-that-must-never-be-cut-in-half".into(),
        ..FeedEntry::numbered(7)
    };
    blog.publish(long.clone());
    let polled = ada.session.post(&format!("/api/feeds/{id}/poll"), json!({})).await.expect(200).clone();
    let post_id = polled["newItems"][0]["postId"].as_str().unwrap().to_string();
    let post = ada.session.get(&format!("/api/posts/{post_id}")).await.expect(200).clone();
    assert_eq!(post["status"], "DRAFT");
    let text_for = |integration: uuid::Uuid| -> String {
        let target = post["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == integration.to_string()).unwrap();
        target["content"].as_str().map_or_else(|| post["content"].as_str().unwrap().to_string(), str::to_string)
    };
    let (short, roomy) = (text_for(bluesky), text_for(mastodon));
    assert!(short.chars().count() <= 300, "Bluesky's 300: {short}");
    assert!(short.ends_with(&long.link) && short.contains('…') && short.starts_with("Post number 7 by Ada — A very long"), "{short}");
    assert!(roomy.ends_with(&long.link) && roomy.chars().count() > short.chars().count(), "{roomy}");
});

db_test!(async fn feeds_are_checked_and_private_addresses_refused(app, TestOptions { allow_private_targets: false, ..TestOptions::driven() }) {
    let ada = app.register("ada@example.com").await;
    let hook = app.add_integration(&ada, "mastodon").await;
    let feed = |changes: Value| {
        let mut body = json!({"url": "https://blog.example/feed.xml", "platforms": [hook]});
        body.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        body
    };
    for (changes, field) in [
        (json!({"url": "http://127.0.0.1:8080/feed.xml"}), "url"),
        (json!({"url": "http://169.254.169.254/latest/meta-data"}), "url"),
        (json!({"url": "file:///etc/passwd"}), "url"),
        (json!({"pollMinutes": 2}), "pollMinutes"),
        (json!({"template": "{title} {permalink}"}), "template"),
        (json!({"mode": "LATER"}), "mode"),
        (json!({"platforms": []}), "platforms"),
        (json!({"platforms": [uuid::Uuid::now_v7()]}), "platforms[0]"),
    ] {
        let answer = ada.session.post("/api/feeds", feed(changes.clone())).await;
        let body = answer.expect_error(422, "VALIDATION_FAILED");
        assert!(body["details"].to_string().contains(&format!("\"{field}\"")), "{changes}: {body}");
    }
    // A draft-only key may add a feed of drafts, not one that publishes.
    let drafter = app.with_key(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    let answer = drafter.post("/api/feeds", feed(json!({"mode": "NOW", "url": "https://blog.example/a.xml"}))).await;
    answer.expect_error(403, "FORBIDDEN");
});
