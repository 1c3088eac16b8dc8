use herald_testkit::{db_test, id_of, in_minutes};
use serde_json::{Value, json};

db_test!(async fn the_post_lifecycle_over_http(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;

    // A draft needs nothing.
    let draft = api.post("/api/posts", json!({"content": "idea", "status": "DRAFT"})).await;
    let draft = draft.expect(201).clone();
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["targets"], json!([]));
    assert_eq!(draft["createdVia"], "API");

    // A scheduled post with two targets, a thread, an override and tags.
    let when = in_minutes(90);
    let created = api
        .post(
            "/api/posts",
            json!({
                "content": "Launch day!",
                "platforms": [mastodon, bluesky],
                "scheduledFor": when,
                "thread": [{"content": "More details"}],
                "overrides": {bluesky.to_string(): {"content": "Launch day on Bluesky!"}},
                "tags": ["launch"],
                "mediaUrls": ["https://example.com/a.png"],
            }),
        )
        .await;
    let post = created.expect(201).clone();
    assert_eq!(post["status"], "SCHEDULED");
    assert_eq!(post["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(post["thread"][0]["content"], "More details");
    assert_eq!(post["tags"], json!(["launch"]));
    assert_eq!(post["mediaUrls"], json!(["https://example.com/a.png"]));
    let targets = post["targets"].as_array().unwrap();
    assert!(targets.iter().all(|t| t["status"] == "QUEUED" && t["attempts"] == 0));
    let bluesky_target = targets.iter().find(|t| t["integrationId"] == bluesky.to_string()).unwrap();
    assert_eq!(bluesky_target["content"], "Launch day on Bluesky!");
    assert_eq!(bluesky_target["platform"], "bluesky");
    let scheduled: chrono::DateTime<chrono::Utc> = post["scheduledFor"].as_str().unwrap().parse().unwrap();
    let asked: chrono::DateTime<chrono::Utc> = when.parse().unwrap();
    assert!((scheduled - asked).num_milliseconds().abs() < 1);
    assert_eq!(bluesky_target["nextAttemptAt"], post["scheduledFor"]);

    // Read back.
    let id = id_of(&post);
    assert_eq!(api.get(&format!("/api/posts/{id}")).await.expect(200)["content"], "Launch day!");

    // Reschedule and edit; the override survives an edit that does not mention it.
    let later = in_minutes(180);
    let updated = api.put(&format!("/api/posts/{id}"), json!({"content": "Launch day, moved", "scheduledFor": later})).await;
    let updated = updated.expect(200);
    assert_eq!(updated["content"], "Launch day, moved");
    assert_eq!(updated["status"], "SCHEDULED");
    let moved: chrono::DateTime<chrono::Utc> = updated["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert!((moved - later.parse::<chrono::DateTime<chrono::Utc>>().unwrap()).num_milliseconds().abs() < 1);
    let kept = updated["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == bluesky.to_string()).unwrap().clone();
    assert_eq!(kept["content"], "Launch day on Bluesky!");
    assert_eq!(kept["nextAttemptAt"], updated["scheduledFor"]);

    // Drop a target.
    let fewer = api.put(&format!("/api/posts/{id}"), json!({"platforms": [mastodon]})).await;
    assert_eq!(fewer.expect(200)["targets"].as_array().unwrap().len(), 1);

    // Publish the draft now once it has a target.
    let draft_id = id_of(&draft);
    api.put(&format!("/api/posts/{draft_id}"), json!({"platforms": [mastodon]})).await.expect(200);
    let published = api.post(&format!("/api/posts/{draft_id}/publish"), json!({})).await;
    let published = published.expect(202);
    // The worker runs in this test: it may already have claimed it.
    let status = published["status"].as_str().unwrap();
    assert!(["SCHEDULED", "PUBLISHING", "PUBLISHED"].contains(&status), "{status}");
    assert!(published["targets"][0]["nextAttemptAt"].is_string() || status != "SCHEDULED");

    // Delete, then it is gone.
    assert_eq!(api.delete(&format!("/api/posts/{id}")).await.status, 204);
    api.get(&format!("/api/posts/{id}")).await.expect_error(404, "NOT_FOUND");
    api.delete(&format!("/api/posts/{id}")).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn publishing_now_needs_a_target_and_no_time(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let webhook = app.add_integration(&ada, "webhook").await;
    let now = api.post("/api/posts", json!({"content": "now!", "platforms": [webhook]})).await;
    let now = now.expect(201);
    let at: chrono::DateTime<chrono::Utc> = now["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 5);
    let none = api.post("/api/posts", json!({"content": "now!"})).await;
    assert_eq!(none.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "platforms");
    let both = api.post("/api/posts", json!({"content": "x", "status": "NOW", "scheduledFor": in_minutes(5), "platforms": [webhook]})).await;
    assert_eq!(both.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "scheduledFor");
});

db_test!(async fn invalid_posts_get_precise_4xx_and_write_nothing(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let bobs = app.add_integration(&bob, "mastodon").await;

    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({"content": "x".repeat(301), "platforms": [bluesky]}), 422, "VALIDATION_FAILED", "Bluesky"),
        (json!({"content": "hi", "platforms": [bluesky], "scheduledFor": "2020-01-01T00:00:00Z"}), 422, "VALIDATION_FAILED", "in the past"),
        (json!({"content": "hi", "platforms": [bluesky], "scheduledFor": "2030-01-01T09:00:00"}), 422, "VALIDATION_FAILED", "offset"),
        (json!({"content": "hi", "platforms": [bobs]}), 422, "VALIDATION_FAILED", "no integration"),
        (json!({"content": "hi", "platforms": [uuid::Uuid::now_v7()]}), 422, "VALIDATION_FAILED", "no integration"),
        (json!({"content": "hi", "platforms": ["not-a-uuid"]}), 422, "VALIDATION_FAILED", "platforms"),
        (json!({"content": 42}), 422, "VALIDATION_FAILED", "content"),
        (json!({"content": "hi", "scheduled_for": in_minutes(5)}), 422, "VALIDATION_FAILED", "scheduled_for"),
        (json!({"content": "hi", "status": "LATER", "platforms": [bluesky]}), 422, "VALIDATION_FAILED", "LATER"),
        (json!({"content": "hi", "mediaIds": [uuid::Uuid::now_v7()], "status": "DRAFT"}), 422, "VALIDATION_FAILED", "media"),
        (json!({"content": "hi", "status": "DRAFT", "overrides": {bobs.to_string(): {"content": "x"}}}), 422, "VALIDATION_FAILED", "not in `platforms`"),
        (json!({"content": "x".repeat(100_001), "status": "DRAFT"}), 422, "VALIDATION_FAILED", "100000"),
    ];
    for (body, status, code, needle) in cases {
        let response = api.post("/api/posts", body.clone()).await;
        let error = response.expect_error(status, code);
        assert!(error.to_string().contains(needle), "{needle:?} not in {error} for {body}");
    }
    let malformed = api.send_raw(reqwest::Method::POST, "/api/posts", Some(("{\"content\": ", "application/json"))).await;
    malformed.expect_error(400, "BAD_REQUEST");
    let not_json = api.send_raw(reqwest::Method::POST, "/api/posts", Some(("content=hi", "application/x-www-form-urlencoded"))).await;
    not_json.expect_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let listed = api.get("/api/posts").await;
    assert_eq!(listed.expect(200)["posts"], json!([]), "nothing was written");
});

db_test!(async fn validate_reports_every_target_and_writes_nothing(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let text = format!("{} https://example.com/{}", "é".repeat(280), "a".repeat(80));
    let report = api.post("/api/posts/validate", json!({"content": text, "platforms": [bluesky, mastodon]})).await;
    let report = report.expect(200);
    assert_eq!(report["valid"], false);
    assert_eq!(report["status"], "NOW");
    let by_platform = |p: &str| report["targets"].as_array().unwrap().iter().find(|t| t["platform"] == p).unwrap().clone();
    assert_eq!(by_platform("mastodon")["length"], 280 + 1 + 23);
    assert_eq!(by_platform("mastodon")["errors"], json!([]));
    assert_eq!(by_platform("bluesky")["length"], 280 + 1 + 8 + 12 + 80);
    assert_eq!(by_platform("bluesky")["errors"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/api/posts").await.expect(200)["posts"], json!([]));
});

db_test!(async fn lists_filter_and_paginate_with_a_cursor(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let slack = app.add_integration(&ada, "slack").await;
    for i in 0..5 {
        api.post("/api/posts", json!({"content": format!("draft {i}"), "status": "DRAFT"})).await.expect(201);
    }
    api.post("/api/posts", json!({"content": "soon", "platforms": [mastodon], "scheduledFor": in_minutes(30)})).await.expect(201);
    api.post("/api/posts", json!({"content": "later", "platforms": [slack], "scheduledFor": in_minutes(600)})).await.expect(201);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/posts?limit=3&cursor={c}"),
            None => "/api/posts?limit=3".to_string(),
        };
        let page = api.get(&path).await;
        let page = page.expect(200).clone();
        seen.extend(page["posts"].as_array().unwrap().iter().map(|p| p["content"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["later", "soon", "draft 4", "draft 3", "draft 2", "draft 1", "draft 0"]);

    let drafts = api.get("/api/posts?status=DRAFT").await;
    assert_eq!(drafts.expect(200)["posts"].as_array().unwrap().len(), 5);
    let on_slack = api.get(&format!("/api/posts?integration={slack}")).await;
    assert_eq!(on_slack.expect(200)["posts"][0]["content"], "later");
    let from = urlencode(&in_minutes(60));
    let window = api.get(&format!("/api/posts?from={from}")).await;
    let window = window.expect(200)["posts"].as_array().unwrap().clone();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0]["content"], "later");
    let to = urlencode(&in_minutes(60));
    assert_eq!(api.get(&format!("/api/posts?to={to}")).await.expect(200)["posts"][0]["content"], "soon");

    api.get("/api/posts?limit=0").await.expect_error(422, "VALIDATION_FAILED");
    api.get("/api/posts?limit=abc").await.expect_error(422, "VALIDATION_FAILED");
    api.get("/api/posts?cursor=garbage").await.expect_error(422, "VALIDATION_FAILED");
    api.get("/api/posts?status=LOST").await.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn another_workspace_sees_nothing_and_gets_404(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let ada_api = app.with_key(&ada.api_key(None).await);
    let bob_api = app.with_key(&bob.api_key(None).await);
    let post = ada_api.post("/api/posts", json!({"content": "mine", "status": "DRAFT"})).await;
    let id = id_of(post.expect(201));
    for client in [&bob_api, &bob.session] {
        client.get(&format!("/api/posts/{id}")).await.expect_error(404, "NOT_FOUND");
        client.put(&format!("/api/posts/{id}"), json!({"content": "yours now"})).await.expect_error(404, "NOT_FOUND");
        client.delete(&format!("/api/posts/{id}")).await.expect_error(404, "NOT_FOUND");
        client.post(&format!("/api/posts/{id}/publish"), json!({})).await.expect_error(404, "NOT_FOUND");
        assert_eq!(client.get("/api/posts").await.expect(200)["posts"], json!([]));
    }
    assert_eq!(ada_api.get(&format!("/api/posts/{id}")).await.expect(200)["content"], "mine");
});

db_test!(async fn published_or_publishing_posts_cannot_be_edited(app) {
    use herald_store::repo::Posts;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let post = api.post("/api/posts", json!({"content": "x", "platforms": [mastodon], "scheduledFor": in_minutes(30)})).await;
    let id = uuid::Uuid::parse_str(&id_of(post.expect(201))).unwrap();
    // Simulate a worker that claimed the target.
    let posts = Posts(app.store.conn());
    let mut target = posts.targets_of(&[id]).await.unwrap().remove(0).target;
    target.status = herald_core::post::TargetStatus::Publishing;
    target.attempts = 1;
    posts.update_target(target).await.unwrap();
    let mut row = posts.get(ada.workspace_id, id).await.unwrap().unwrap();
    row.status = herald_core::post::PostStatus::Publishing;
    posts.update(row).await.unwrap();

    api.put(&format!("/api/posts/{id}"), json!({"content": "too late"})).await.expect_error(409, "CONFLICT");
    api.delete(&format!("/api/posts/{id}")).await.expect_error(409, "CONFLICT");
    assert_eq!(api.get(&format!("/api/posts/{id}")).await.expect(200)["content"], "x");
});

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B").replace(':', "%3A")
}

db_test!(async fn replies_carry_their_own_media_checked_per_platform(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = herald_testkit::WebhookReceiver::start("a-long-enough-secret").await;
    let hook = app.connect_webhook(&ada, &receiver, "a-long-enough-secret").await;
    let png = |api: &herald_testkit::Client| {
        let api = api.clone();
        async move { id_of(api.upload("dot.png", herald_testkit::TINY_PNG.to_vec(), None).await.expect(201)) }
    };
    let (first, second) = (png(&api).await, png(&api).await);

    // Each reply's media go out with that reply, not with the first item.
    let post = api
        .post("/api/posts", json!({"content": "one", "platforms": [hook], "mediaIds": [first],
            "thread": [{"content": "two", "mediaIds": [second]}, {"content": "three"}]}))
        .await;
    let post = post.expect(201).clone();
    assert_eq!(post["thread"][0]["mediaIds"], json!([second]));
    let delivered = receiver.wait_for_accepted(3, std::time::Duration::from_secs(15)).await;
    let urls = |i: usize| delivered.iter().find(|d| d.body["item"]["index"] == i).unwrap().body["item"]["mediaUrls"].clone();
    assert!(urls(0)[0].as_str().unwrap().contains("/uploads/"));
    assert_ne!(urls(0), urls(1));
    assert_eq!(urls(1).as_array().unwrap().len(), 1);
    assert_eq!(urls(2), json!([]));

    // A platform's media rules apply to each reply, reported at that reply.
    let slack = app.add_integration(&ada, "slack").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let mut five = Vec::new();
    for _ in 0..5 {
        five.push(png(&api).await);
    }
    let report = api
        .post("/api/posts/validate", json!({"content": "x", "platforms": [slack, mastodon], "scheduledFor": in_minutes(60),
            "thread": [{"content": "a", "mediaIds": [first]}, {"content": "b", "mediaIds": five}]}))
        .await;
    let report = report.expect(200);
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string()))
        .collect();
    assert!(errors.contains(&("thread[0].mediaIds".into(), "Slack does not accept image/png files".into())), "{errors:?}");
    assert!(errors.iter().any(|(f, m)| f == "thread[1].mediaIds" && m.contains("Mastodon accepts at most 4")), "{errors:?}");
    assert!(!errors.iter().any(|(f, _)| f == "media"), "the first item has no media: {errors:?}");

    // Someone else's upload is unknown, at its exact path.
    let bob = app.register("bob@example.com").await;
    let bobs = id_of(bob.session.upload("dot.png", herald_testkit::TINY_PNG.to_vec(), None).await.expect(201));
    let refused = api.post("/api/posts", json!({"content": "x", "status": "DRAFT", "thread": [{"content": "y", "mediaIds": [bobs]}]})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(error["details"]["errors"][0]["field"], "thread[0].mediaIds[0]");
});

db_test!(async fn a_corrupt_stored_value_fails_loudly_and_is_never_read_as_empty(app, herald_testkit::TestOptions { run_engine: false, ..Default::default() }) {
    use herald_store::repo::Posts;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = app.add_integration(&ada, "mastodon").await;
    let created = api
        .post("/api/posts", json!({"content": "x", "platforms": [hook], "thread": [{"content": "y"}], "tags": ["a"]}))
        .await;
    let id = uuid::Uuid::parse_str(&id_of(created.expect(201))).unwrap();
    let posts = Posts(app.store.conn());
    let mut row = posts.get(ada.workspace_id, id).await.unwrap().unwrap();
    row.thread = json!({"not": "a list of items"});
    posts.update(row).await.unwrap();

    // Reading it is a server error, not a post that lost its thread.
    api.get(&format!("/api/posts/{id}")).await.expect_error(500, "INTERNAL");
    api.get("/api/posts").await.expect_error(500, "INTERNAL");
    // Editing it refuses too, rather than saving the thread as empty.
    api.put(&format!("/api/posts/{id}"), json!({"content": "edited"})).await.expect_error(500, "INTERNAL");
    let unchanged = posts.get(ada.workspace_id, id).await.unwrap().unwrap();
    assert_eq!(unchanged.content, "x");
    assert_eq!(unchanged.thread, json!({"not": "a list of items"}));

    // The engine fails the delivery instead of publishing the post without its thread.
    let mut worker = herald_engine::Worker::new(app.engine.clone());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let target = posts.targets_of(&[id]).await.unwrap().remove(0).target;
    assert_eq!(target.status, herald_core::post::TargetStatus::Failed);
    let message = target.last_error_message.unwrap_or_default();
    assert!(message.contains("posts.thread") && message.contains(&id.to_string()), "{message}");
});
