//! Postiz's public API (`/public/v1`): bodies, answers and errors as Postiz
//! clients send and read them, over the same posts, media and budgets as
//! `/api`. The official `postiz` CLI itself is driven in
//! crates/herald/tests/cli/postiz.rs.

use std::time::Duration;

use herald_testkit::{TINY_PNG, WebhookReceiver, db_test, in_minutes};
use serde_json::json;

const SECRET: &str = "postiz-test-secret-0123456789";

db_test!(async fn a_bare_key_lists_accounts_and_creates_posts_postiz_style(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    // Postiz clients send the key alone, without `Bearer`.
    let api = app.with_authorization(&key);
    let x = app.add_integration(&ada, "x").await;
    let reddit = app.add_integration(&ada, "reddit").await;

    assert_eq!(api.get("/public/v1/is-connected").await.expect(200)["connected"], true);
    let listed = api.get("/public/v1/integrations").await;
    let listed = listed.expect(200).as_array().unwrap().clone();
    let reddit_entry = listed.iter().find(|i| i["id"] == reddit.to_string()).unwrap();
    assert_eq!(reddit_entry["identifier"], "reddit");
    assert_eq!(reddit_entry["disabled"], false);
    assert_eq!(reddit_entry["profile"], "reddit-user");

    let settings = api.get(&format!("/public/v1/integration-settings/{x}")).await;
    let output = &settings.expect(200)["output"];
    assert_eq!(output["maxLength"], 280);
    assert!(output["rules"].as_str().unwrap().contains("280"), "{output}");
    assert!(output["settings"]["properties"]["who_can_reply_post"].is_object(), "{output}");

    let uploaded = api
        .post_multipart(
            "/public/v1/upload",
            reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(TINY_PNG.to_vec()).file_name("red.png")),
        )
        .await;
    let uploaded = uploaded.expect(201).clone();
    assert_eq!(uploaded["name"], "red.png");
    assert_eq!(uploaded["type"], "image/png");
    let path = uploaded["path"].as_str().unwrap().to_string();

    let date = in_minutes(90);
    let body = json!({
        "type": "schedule", "date": date, "shortLink": true, "tags": [{"value": "launch", "label": "Launch"}],
        "posts": [
            {"integration": {"id": x}, "value": [{"content": "Hello", "image": [{"id": "r4nd", "path": path}], "delay": 0}],
             "settings": {"__type": "x", "who_can_reply_post": "everyone"}},
            {"integration": {"id": reddit}, "value": [{"content": "<p>Hello</p><p>from Reddit</p>", "image": [{"id": "other", "path": path}]}],
             "settings": {"subreddit": [{"value": {"subreddit": "rust", "title": "Launch day", "type": "text", "url": "", "is_flair_required": false}}]}}
        ]
    });
    let created = api.post("/public/v1/posts", body).await;
    let created = created.expect(201).as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["integration"], x.to_string());
    assert_eq!(created[1]["integration"], reddit.to_string());
    assert_eq!(created[0]["group"], created[1]["group"]);
    assert!(created[0]["notice"].as_str().unwrap().contains("shortLink"), "{created:?}");

    // One Herald post: the same image, Reddit's own text and settings as overrides.
    let herald_post = ada.session.get(&format!("/api/posts/{}", created[0]["group"].as_str().unwrap())).await;
    let herald_post = herald_post.expect(200);
    assert_eq!(herald_post["status"], "SCHEDULED");
    assert_eq!(herald_post["content"], "Hello");
    assert_eq!(herald_post["tags"], json!(["Launch"]));
    assert_eq!(herald_post["mediaIds"], json!([uploaded["id"]]));
    let reddit_target = herald_post["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == reddit.to_string()).unwrap();
    assert_eq!(reddit_target["content"], "Hello\nfrom Reddit");
    assert_eq!(reddit_target["settings"], json!({"subreddit": "rust", "title": "Launch day"}));

    let listed = api.get("/public/v1/posts").await;
    let posts = listed.expect(200)["posts"].as_array().unwrap().clone();
    assert_eq!(posts.len(), 2);
    let mine = posts.iter().find(|p| p["id"] == created[1]["postId"]).unwrap();
    assert_eq!(mine["state"], "QUEUE");
    assert_eq!(mine["content"], "Hello\nfrom Reddit");
    assert_eq!(mine["integration"]["providerIdentifier"], "reddit");
    assert_eq!(mine["image"][0]["path"], path);
    assert_eq!(mine["tags"][0]["label"], "Launch");
    // Outside the range: nothing.
    let later = api.get("/public/v1/posts?startDate=2031-01-01T00:00:00Z&endDate=2031-02-01T00:00:00Z").await;
    assert_eq!(later.expect(200)["posts"], json!([]));

    // Scripts pass what the API answered as it is: an integration entry, an upload.
    let entry = api.get("/public/v1/integrations").await.expect(200)[0].clone();
    let whole = json!({"type": "draft", "posts": [{"integration": entry, "value": [{"content": "as answered", "image": [uploaded]}]}]});
    let created_whole = api.post("/public/v1/posts", whole).await;
    let whole_group = created_whole.expect(201)[0]["group"].as_str().unwrap().to_string();
    assert_eq!(api.get(&format!("/api/posts/{whole_group}")).await.expect(200)["mediaIds"], json!([uploaded["id"]]));
    api.delete(&format!("/public/v1/posts/{whole_group}")).await.expect(200);

    let slot = api.get(&format!("/public/v1/find-slot/{x}")).await;
    assert!(slot.expect(200)["date"].as_str().unwrap().ends_with('Z'));

    // Deleting one account's post deletes the group, and answers JSON.
    let deleted = api.delete(&format!("/public/v1/posts/{}", created[0]["postId"].as_str().unwrap())).await;
    let deleted = deleted.expect(200);
    assert_eq!(deleted["success"], true);
    assert_eq!(deleted["deleted"], 1);
    assert_eq!(api.get("/public/v1/posts").await.expect(200)["posts"], json!([]));
});

db_test!(async fn accounts_with_different_replies_become_a_group_deleted_together(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let x = app.add_integration(&ada, "x").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let body = json!({"type": "draft", "date": in_minutes(60), "posts": [
        {"integration": {"id": x}, "value": [{"content": "Thread"}, {"content": "part two"}]},
        {"integration": {"id": bluesky}, "value": [{"content": "Just one"}]}
    ]});
    let created = api.post("/public/v1/posts", body).await;
    let created = created.expect(201).as_array().unwrap().clone();
    assert_eq!(created[0]["group"], created[1]["group"]);
    let posts = api.get("/api/posts?status=DRAFT").await;
    assert_eq!(posts.expect(200)["posts"].as_array().unwrap().len(), 2, "two Herald posts");
    let listed = api.get("/public/v1/posts").await;
    assert!(listed.expect(200)["posts"].as_array().unwrap().iter().all(|p| p["state"] == "DRAFT" && p["group"] == created[0]["group"]));

    // Sending it again with its group (Postiz's edit) would duplicate it: refused.
    let again = json!({"type": "draft", "posts": [{"integration": {"id": x}, "group": created[0]["group"], "value": [{"content": "Edited"}]}]});
    let refused = api.post("/public/v1/posts", again).await;
    assert_eq!(refused.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "posts[0].group");
    let fresh_group = json!({"type": "draft", "inter": 7, "posts": [{"integration": {"id": x}, "group": "aB3dE5gH7j", "value": [{"content": "New"}]}]});
    let fresh = api.post("/public/v1/posts", fresh_group).await;
    let fresh_id = fresh.expect(201)[0]["group"].as_str().unwrap().to_string();
    assert_eq!(api.get(&format!("/api/posts/{fresh_id}")).await.expect(200)["evergreen"]["everyDays"], 7);
    api.delete(&format!("/public/v1/posts/{fresh_id}")).await.expect(200);

    let deleted = api.delete(&format!("/public/v1/posts/{}", created[1]["postId"].as_str().unwrap())).await;
    assert_eq!(deleted.expect(200)["deleted"], 2);
    assert_eq!(api.get("/api/posts").await.expect(200)["posts"], json!([]));
    api.delete(&format!("/public/v1/posts/{}", created[1]["postId"].as_str().unwrap())).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn what_herald_cannot_honour_is_refused_by_field_with_postiz_error_fields(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let x = app.add_integration(&ada, "x").await;
    let bad = json!({"type": "schedule", "posts": [
        {"integration": {"id": x}, "value": [{"content": "a", "image": [{"id": "1", "path": "photo.jpg"}]}, {"content": "b", "delay": 5}],
         "settings": {"who_can_reply_post": "verified", "colour": "red"}}
    ]});
    let refused = api.post("/public/v1/posts", bad).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED").clone();
    let fields: Vec<&str> = error["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["date", "posts[0].settings.colour", "posts[0].settings.who_can_reply_post", "posts[0].value[0].image[0].path", "posts[0].value[1].delay"]
    );
    // Postiz (NestJS) clients read these two.
    assert_eq!(refused.body["statusCode"], 422);
    assert!(refused.body["message"].as_str().unwrap().contains("fields are invalid"), "{}", refused.body);

    // Herald's own checks name the Postiz field too.
    let long = json!({"type": "schedule", "date": in_minutes(60), "posts": [{"integration": {"id": x}, "value": [{"content": "x".repeat(300)}]}]});
    let error = api.post("/public/v1/posts", long).await.expect_error(422, "VALIDATION_FAILED").clone();
    assert_eq!(error["details"]["errors"][0]["field"], "posts[0].value[0].content", "{error}");
    let past = json!({"type": "schedule", "date": "2020-01-01T00:00:00Z", "posts": [{"integration": {"id": x}, "value": [{"content": "x"}]}]});
    let error = api.post("/public/v1/posts", past).await.expect_error(422, "VALIDATION_FAILED").clone();
    assert_eq!(error["details"]["errors"][0]["field"], "date", "{error}");
    let unknown = json!({"type": "now", "colour": 1, "posts": []});
    api.post("/public/v1/posts", unknown).await.expect_error(422, "VALIDATION_FAILED");

    let trigger = api.post(&format!("/public/v1/integration-trigger/{x}"), json!({"methodName": "getFlairs", "data": {}})).await;
    assert!(trigger.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("not a tool"));
    api.get("/public/v1/posts?customer=abc").await.expect_error(422, "VALIDATION_FAILED");
    api.get("/public/v1/analytics/{x}?date=0".replace("{x}", &x.to_string()).as_str()).await.expect_error(422, "VALIDATION_FAILED");

    // Media by URL goes through the SSRF guard.
    let private = api.post("/public/v1/upload-from-url", json!({"url": "http://127.0.0.1:9/a.png"})).await;
    private.expect_error(422, "VALIDATION_FAILED");
    let unauthenticated = app.anonymous().get("/public/v1/integrations").await;
    unauthenticated.expect_error(401, "UNAUTHORIZED");
    assert_eq!(unauthenticated.body["statusCode"], 401);
    let unknown = api.get("/public/v1/nothing-here").await;
    unknown.expect_error(404, "NOT_FOUND");
    assert_eq!(unknown.body["statusCode"], 404);
    assert!(unknown.body["message"].as_str().unwrap().contains("no route"), "{}", unknown.text);
});

db_test!(async fn a_published_post_has_analytics_and_a_release_id(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let body = json!({"type": "now", "shortLink": false, "posts": [{"integration": {"id": hook}, "value": [{"content": "Out now"}]}]});
    let created = api.post("/public/v1/posts", body).await;
    let created = created.expect(201)[0].clone();
    assert!(created.get("notice").is_none());
    let post_id = created["postId"].as_str().unwrap().to_string();
    receiver.wait_for_accepted(1, Duration::from_secs(15)).await;
    app.wait_for_post_status(&api, created["group"].as_str().unwrap(), "PUBLISHED", Duration::from_secs(15)).await;

    let listed = api.get("/public/v1/posts").await;
    let entry = listed.expect(200)["posts"][0].clone();
    assert_eq!(entry["state"], "PUBLISHED");
    assert!(entry["releaseId"].is_string(), "{entry}");
    let analytics = api.get(&format!("/public/v1/analytics/post/{post_id}?date=7")).await;
    assert!(analytics.expect(200).is_array());
    let daily = api.get(&format!("/public/v1/analytics/{hook}?date=7")).await;
    let daily = daily.expect(200).clone();
    assert_eq!(daily[0]["label"], "Posts");
    assert_eq!(daily[0]["data"].as_array().unwrap().len(), 7);
    assert_eq!(daily[0]["data"][6]["total"], 1);
    assert_eq!(api.get(&format!("/public/v1/posts/{post_id}/missing")).await.expect(200), &json!([]));
    // It has the platform's id already: nothing to connect.
    let release = api.put(&format!("/public/v1/posts/{post_id}/release-id"), json!({"releaseId": "123"})).await;
    release.expect_error(409, "CONFLICT");

    // A post that went out without the platform's id (as TikTok can leave
    // one) is `missing` until the id is given.
    let posts = herald_store::repo::Posts(app.store.conn());
    let target = posts.target_in(ada.workspace_id, post_id.parse().unwrap()).await.unwrap().unwrap();
    posts.update_target(herald_store::TargetRow { platform_post_ids: json!([]), ..target }).await.unwrap();
    let analytics = api.get(&format!("/public/v1/analytics/post/{post_id}")).await;
    assert_eq!(analytics.expect(200), &json!({"missing": true}));
    let drafts_only = app.with_key(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    let refused = drafts_only.put(&format!("/public/v1/posts/{post_id}/release-id"), json!({"releaseId": "rel-1"})).await;
    refused.expect_error(403, "FORBIDDEN");
    api.put(&format!("/public/v1/posts/{post_id}/release-id"), json!({"releaseId": " "})).await.expect_error(422, "VALIDATION_FAILED");
    let release = api.put(&format!("/public/v1/posts/{post_id}/release-id"), json!({"releaseId": "rel-1"})).await;
    assert_eq!(release.expect(200)["releaseId"], "rel-1");
    let listed = api.get("/public/v1/posts").await;
    assert_eq!(listed.expect(200)["posts"][0]["releaseId"], "rel-1");
    assert!(api.get(&format!("/public/v1/analytics/post/{post_id}")).await.expect(200).is_array());
});

db_test!(async fn another_workspace_and_missing_scopes_are_refused(app) {
    let ada = app.register("ada@example.com").await;
    let ada_api = app.with_key(&ada.api_key(None).await);
    let x = app.add_integration(&ada, "x").await;
    let created = ada_api
        .post("/public/v1/posts", json!({"type": "draft", "posts": [{"integration": {"id": x}, "value": [{"content": "mine"}]}]}))
        .await;
    let post_id = created.expect(201)[0]["postId"].as_str().unwrap().to_string();

    let bob = app.register("bob@example.com").await;
    let bob_api = app.with_authorization(&bob.api_key(None).await);
    assert_eq!(bob_api.get("/public/v1/integrations").await.expect(200), &json!([]));
    assert_eq!(bob_api.get("/public/v1/posts").await.expect(200)["posts"], json!([]));
    bob_api.delete(&format!("/public/v1/posts/{post_id}")).await.expect_error(404, "NOT_FOUND");
    bob_api.get(&format!("/public/v1/integration-settings/{x}")).await.expect_error(404, "NOT_FOUND");
    bob_api.get(&format!("/public/v1/find-slot/{x}")).await.expect_error(404, "NOT_FOUND");
    bob_api.get(&format!("/public/v1/analytics/{x}")).await.expect_error(404, "NOT_FOUND");
    bob_api.get(&format!("/public/v1/analytics/post/{post_id}")).await.expect_error(404, "NOT_FOUND");
    bob_api.get(&format!("/public/v1/posts/{post_id}/missing")).await.expect_error(404, "NOT_FOUND");
    let into_ada = json!({"type": "draft", "posts": [{"integration": {"id": x}, "value": [{"content": "theirs"}]}]});
    bob_api.post("/public/v1/posts", into_ada).await.expect_error(422, "VALIDATION_FAILED");

    let read_only = app.with_authorization(&ada.api_key(Some(&["posts:read"])).await);
    let draft = json!({"type": "draft", "posts": [{"integration": {"id": x}, "value": [{"content": "x"}]}]});
    read_only.post("/public/v1/posts", draft.clone()).await.expect_error(403, "FORBIDDEN");
    read_only.get("/public/v1/integrations").await.expect_error(403, "FORBIDDEN");
    read_only.delete(&format!("/public/v1/posts/{post_id}")).await.expect_error(403, "FORBIDDEN");
    read_only.get(&format!("/public/v1/analytics/{x}")).await.expect_error(403, "FORBIDDEN");
    let upload = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(TINY_PNG.to_vec()).file_name("a.png"));
    read_only.post_multipart("/public/v1/upload", upload).await.expect_error(403, "FORBIDDEN");
    // Drafts only: scheduling needs posts:publish, as on /api.
    let drafts = app.with_authorization(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    drafts.post("/public/v1/posts", draft).await.expect(201);
    let scheduled = json!({"type": "schedule", "date": in_minutes(60), "posts": [{"integration": {"id": x}, "value": [{"content": "y"}]}]});
    drafts.post("/public/v1/posts", scheduled).await.expect_error(403, "FORBIDDEN");
});
