//! The queue (DESIGN §11): `status: "QUEUE"` takes each account's next free
//! posting slot after what is queued; reorder, shuffle, gaps closed only
//! when asked; a queued post is published once, at its slot.

use herald_testkit::{TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::{Value, json};

fn times(queue: &Value) -> Vec<String> {
    queue["posts"].as_array().unwrap().iter().map(|p| p["at"].as_str().unwrap().to_string()).collect()
}

fn ids(queue: &Value) -> Vec<String> {
    queue["posts"].as_array().unwrap().iter().map(|p| p["postId"].as_str().unwrap().to_string()).collect()
}

db_test!(async fn queued_posts_fill_each_accounts_slots_in_order(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start("a-webhook-secret-of-some-length").await;
    let hook = app.connect_webhook(&ada, &receiver, "a-webhook-secret-of-some-length").await;
    let other = app.add_integration(&ada, "mastodon").await;
    // Two accounts with their own slots and zones.
    ada.session.patch(&format!("/api/integrations/{hook}"), json!({"postingTimes": [600], "timezone": "Europe/Berlin"})).await.expect(200);
    ada.session.patch(&format!("/api/integrations/{other}"), json!({"postingTimes": [480, 1200], "timezone": "UTC"})).await.expect(200);

    let first = ada.session.post("/api/posts", json!({"content": "one", "platforms": [hook, other], "status": "QUEUE"})).await;
    let first = first.expect(201).clone();
    assert_eq!(first["status"], "SCHEDULED");
    let at = |post: &Value, integration: uuid::Uuid| -> chrono::DateTime<chrono::Utc> {
        let target = post["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == integration.to_string()).unwrap();
        target["nextAttemptAt"].as_str().unwrap().parse().unwrap()
    };
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let hook_slot = at(&first, hook);
    assert_eq!(chrono::Timelike::hour(&hook_slot.with_timezone(&berlin)), 10, "10:00 in Berlin");
    let other_slot = at(&first, other);
    assert!([8, 20].contains(&chrono::Timelike::hour(&other_slot)));
    let scheduled: chrono::DateTime<chrono::Utc> = first["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert_eq!(scheduled, hook_slot.min(other_slot), "the post is due at its earliest slot");

    let second = ada.session.post("/api/posts", json!({"content": "two", "platforms": [hook], "status": "QUEUE"})).await;
    let second = second.expect(201).clone();
    assert_eq!(at(&second, hook) - hook_slot, chrono::Duration::days(1), "the next day's slot");
    let third = ada.session.post("/api/posts", json!({"content": "three", "platforms": [hook], "status": "QUEUE"})).await;
    let third = id_of(third.expect(201));

    let queue = ada.session.get(&format!("/api/integrations/{hook}/queue")).await;
    let queue = queue.expect(200).clone();
    assert_eq!(ids(&queue), [id_of(&first), id_of(&second), third.clone()]);
    assert_eq!(queue["postingTimes"], json!(["10:00"]));
    let slots = times(&queue);

    // Reordered: the same times, in the new order.
    let order = json!({"postIds": [third, id_of(&first), id_of(&second)]});
    let reordered = ada.session.post(&format!("/api/integrations/{hook}/queue"), order).await;
    let reordered = reordered.expect(200).clone();
    assert_eq!(ids(&reordered), [third.clone(), id_of(&first), id_of(&second)]);
    assert_eq!(times(&reordered), slots);
    ada.session.post(&format!("/api/integrations/{hook}/queue"), json!({"postIds": [third]})).await.expect_error(422, "VALIDATION_FAILED");

    // Shuffled: still the same times.
    let shuffled = ada.session.post(&format!("/api/integrations/{hook}/queue/shuffle"), json!({})).await;
    assert_eq!(times(shuffled.expect(200)), slots);

    // A removed post leaves a gap: a new one goes after the last…
    let order = ids(&ada.session.get(&format!("/api/integrations/{hook}/queue")).await.body);
    ada.session.delete(&format!("/api/posts/{}", order[0])).await.expect(204);
    let fourth = ada.session.post("/api/posts", json!({"content": "four", "platforms": [hook], "status": "QUEUE"})).await;
    assert_eq!(at(fourth.expect(201), hook) - slots[2].parse::<chrono::DateTime<chrono::Utc>>().unwrap(), chrono::Duration::days(1));
    // …until the gaps are closed, on request.
    let compacted = ada.session.post(&format!("/api/integrations/{hook}/queue/compact"), json!({})).await;
    assert_eq!(times(compacted.expect(200)), slots);

    // Due, it is published once.
    let due = slots[0].parse::<chrono::DateTime<chrono::Utc>>().unwrap() - app.store.now();
    app.clock().advance(due.to_std().unwrap() + std::time::Duration::from_secs(1));
    app.worker().run_once().await.unwrap();
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 1);

    // Rules: no time with QUEUE; scheduling needs the right to publish.
    ada.session.post("/api/posts", json!({"content": "x", "platforms": [hook], "status": "QUEUE", "scheduledFor": "2030-01-01T00:00:00Z"})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post("/api/posts", json!({"content": "x", "platforms": [], "status": "QUEUE"})).await.expect_error(422, "VALIDATION_FAILED");
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    cleo.session.post("/api/posts", json!({"content": "x", "platforms": [hook], "status": "QUEUE"})).await.expect_error(403, "FORBIDDEN");
    let eve = app.register("eve@example.com").await;
    eve.session.get(&format!("/api/integrations/{hook}/queue")).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn the_queue_page_moves_posts_without_script(app, TestOptions::driven()) {
    let mut browser = crate::browser::Browser::new(&app);
    browser.register("ada@example.com").await;
    let ada = browser.account(&app).await;
    let integration = app.add_integration(&ada, "mastodon").await.to_string();
    browser.get("/posts/new").await;
    for content in ["first in line", "second in line"] {
        let added = browser.post("/posts/new", &[("content", content), ("platforms", &integration), ("action", "queue")]).await;
        assert!(added.location.starts_with("/posts?notice=queued"), "{}", added.html);
    }
    let page = browser.get(&format!("/queue?account={integration}")).await;
    assert!(page.html.find("first in line").unwrap() < page.html.find("second in line").unwrap());
    let start = page.html.find("Move down").unwrap();
    let form = &page.html[..start];
    let order = form[form.rfind(r#"name="order" value=""#).unwrap() + r#"name="order" value=""#.len()..].split('"').next().unwrap().to_string();
    let moved = browser.post(&format!("/queue/{integration}/order"), &[("order", &order)]).await;
    assert_eq!(moved.location, format!("/queue?account={integration}&notice=moved"));
    let page = browser.get(&format!("/queue?account={integration}")).await;
    assert!(page.html.find("second in line").unwrap() < page.html.find("first in line").unwrap());
    assert_eq!(browser.post(&format!("/queue/{integration}/shuffle"), &[]).await.status, 303);
    assert_eq!(browser.post(&format!("/queue/{integration}/compact"), &[]).await.status, 303);
});
