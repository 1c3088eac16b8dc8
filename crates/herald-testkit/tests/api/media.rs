use std::time::Duration;

use herald_testkit::fakes::mastodon::{FakeMastodon, MASTODON_TOKEN};
use herald_testkit::{TINY_PNG, WebhookReceiver, db_test, id_of};
use serde_json::json;

const SECRET: &str = "media-test-secret-0123456789";

db_test!(async fn a_file_is_uploaded_served_and_delivered_with_its_post(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);

    let uploaded = api.upload("photo.png", TINY_PNG.to_vec(), Some("A single red pixel")).await;
    let media = uploaded.expect(201).clone();
    assert_eq!(media["mime"], "image/png");
    assert_eq!(media["size"], TINY_PNG.len());
    assert_eq!(media["altText"], "A single red pixel");
    let url = media["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/uploads/", app.address)), "{url}");

    // Served publicly (platforms fetch it), with its sniffed type.
    let served = reqwest::get(url).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), TINY_PNG);

    // The post carries it to the platform, after being checked against its rules.
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let post = api.post("/api/posts", json!({"content": "with a picture", "platforms": [hook], "status": "NOW", "mediaIds": [media["id"]]})).await;
    let post_id = id_of(post.expect(201));
    let delivered = receiver.wait_for_accepted(1, Duration::from_secs(15)).await;
    assert_eq!(delivered[0].body["item"]["mediaUrls"], json!([url]));
    app.wait_for_post_status(&api, &post_id, "PUBLISHED", Duration::from_secs(15)).await;

    // Someone else's workspace cannot use it.
    let bob = app.register("bob@example.com").await;
    let bob_hook = app.connect_webhook(&bob, &receiver, SECRET).await;
    let refused = bob.session.post("/api/posts", json!({"content": "x", "platforms": [bob_hook], "status": "NOW", "mediaIds": [media["id"]]})).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED").to_string().contains("no uploaded media"));
});

db_test!(async fn uploads_are_checked(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);

    let text = api.upload("notes.txt", b"just text".to_vec(), None).await;
    let error = text.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("not a PNG"), "{error}");

    // Containers are looked into: images, audio and MKV are not MP4 or WebM.
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let error = api.upload("photo.mp4", heic, None).await.expect_error(422, "VALIDATION_FAILED").clone();
    assert!(error["message"].as_str().unwrap().contains("the file is a HEIC image"), "{error}");
    let m4a = b"\0\0\0\x1cftypM4A \0\0\0\0M4A mp42isom".to_vec();
    let error = api.upload("song.mp4", m4a, None).await.expect_error(422, "VALIDATION_FAILED").clone();
    assert!(error["message"].as_str().unwrap().contains("M4A audio"), "{error}");
    let mut mkv = vec![0x1a, 0x45, 0xdf, 0xa3, 0x8b, 0x42, 0x82, 0x88];
    mkv.extend_from_slice(b"matroska");
    let error = api.upload("film.webm", mkv, None).await.expect_error(422, "VALIDATION_FAILED").clone();
    assert!(error["message"].as_str().unwrap().contains("Matroska"), "{error}");

    let empty = api.upload("empty.png", Vec::new(), None).await;
    empty.expect_error(422, "VALIDATION_FAILED");

    let no_file = api.post_multipart("/api/media", reqwest::multipart::Form::new().text("altText", "alone")).await;
    let error = no_file.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(error["details"]["errors"][0]["field"], "file");

    let not_multipart = api.post("/api/media", json!({"url": "https://example.com/a.png"})).await;
    let error = not_multipart.expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(error["message"].as_str().unwrap().contains("multipart/form-data"), "{error}");

    let long_alt = "a".repeat(1501);
    api.upload("photo.png", TINY_PNG.to_vec(), Some(&long_alt)).await.expect_error(422, "VALIDATION_FAILED");

    // Over 50 MB: refused before it is all read.
    let mut huge = TINY_PNG.to_vec();
    huge.resize(51 * 1024 * 1024, 0);
    api.upload("huge.png", huge, None).await.expect_error(413, "PAYLOAD_TOO_LARGE");
    // Just over: within the room the body limit leaves for the form, same answer.
    let mut just_over = TINY_PNG.to_vec();
    just_over.resize(50 * 1024 * 1024 + 1, 0);
    let error = api.upload("just-over.png", just_over, None).await.expect_error(413, "PAYLOAD_TOO_LARGE").clone();
    assert!(error["message"].as_str().unwrap().contains("larger than 50 MB"), "{error}");

    let read_only = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    read_only.upload("photo.png", TINY_PNG.to_vec(), None).await.expect_error(403, "FORBIDDEN");
    app.anonymous().upload("photo.png", TINY_PNG.to_vec(), None).await.expect_error(401, "UNAUTHORIZED");

    // Nothing was stored by the refused uploads.
    assert_eq!(std::fs::read_dir(app.uploads_dir()).map(|d| d.count()).unwrap_or(0), 0);
});

db_test!(async fn a_file_is_fetched_from_a_url(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let first = api.upload("photo.png", TINY_PNG.to_vec(), None).await;
    let url = first.expect(201)["url"].as_str().unwrap().to_string();

    let copied = api.post("/api/media/from-url", json!({"url": url, "altText": "copy"})).await;
    let copied = copied.expect(201);
    assert_eq!(copied["mime"], "image/png");
    assert_ne!(copied["url"], url);

    let missing = api.post("/api/media/from-url", json!({"url": format!("{}/uploads/nothing.png", app.address)})).await;
    missing.expect_error(422, "VALIDATION_FAILED");
    let not_url = api.post("/api/media/from-url", json!({"url": "file:///etc/passwd"})).await;
    not_url.expect_error(422, "VALIDATION_FAILED");
});

/// A server whose `/{n}` redirects to `target` after `n` more hops
/// through itself, like a link shortener in front of a CDN.
async fn redirector(target: String) -> String {
    use axum::extract::{Path, State};
    use axum::response::Redirect;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let own = base.clone();
    let hop = move |State(target): State<String>, Path(n): Path<u32>| {
        let own = own.clone();
        async move { Redirect::temporary(&if n == 0 { target } else { format!("{own}/{}", n - 1) }) }
    };
    let router = axum::Router::new().route("/{n}", axum::routing::get(hop)).with_state(target);
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    base
}

db_test!(async fn a_file_is_fetched_through_a_bounded_chain_of_redirects(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let first = api.upload("photo.png", TINY_PNG.to_vec(), None).await;
    let url = first.expect(201)["url"].as_str().unwrap().to_string();

    let shortener = redirector(url).await;
    let fetched = api.post("/api/media/from-url", json!({"url": format!("{shortener}/4")})).await;
    assert_eq!(fetched.expect(201)["mime"], "image/png");

    // Six hops are too many.
    let endless = api.post("/api/media/from-url", json!({"url": format!("{shortener}/5")})).await;
    let error = endless.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("more than 5 redirects"), "{error}");

    // Redirects to internal addresses are refused hop by hop: this app
    // allows them (its fakes are local), so the unit tests of
    // `herald_providers::http` show the refusal.
});

db_test!(async fn alt_text_can_be_changed_after_upload(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let media = api.upload("photo.png", TINY_PNG.to_vec(), None).await.expect(201).clone();
    let path = format!("/api/media/{}", media["id"].as_str().unwrap());
    assert_eq!(media["altText"], serde_json::Value::Null);

    let updated = api.patch(&path, json!({"altText": "A single red pixel"})).await;
    let updated = updated.expect(200);
    assert_eq!(updated["altText"], "A single red pixel");
    assert_eq!((&updated["id"], &updated["url"]), (&media["id"], &media["url"]));
    // The session (web UI) may do it too; null and blank both clear it.
    let cleared = ada.session.patch(&path, json!({"altText": null})).await;
    assert_eq!(cleared.expect(200)["altText"], serde_json::Value::Null);
    api.patch(&path, json!({"altText": "again"})).await.expect(200);
    assert_eq!(api.patch(&path, json!({"altText": "  "})).await.expect(200)["altText"], serde_json::Value::Null);

    // The new text is what the platform gets.
    api.patch(&path, json!({"altText": "Described later"})).await.expect(200);
    let fake = FakeMastodon::start().await;
    let credentials = json!({"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN});
    let mastodon = id_of(ada.session.post("/api/integrations", json!({"platform": "mastodon", "credentials": credentials})).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "x", "platforms": [mastodon], "mediaIds": [media["id"]]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", Duration::from_secs(15)).await;
    assert_eq!(fake.statuses()[0]["media_attachments"][0]["description"], "Described later");

    // Same rules as an upload, errors in the JSON format.
    let long = api.patch(&path, json!({"altText": "a".repeat(1501)})).await;
    assert_eq!(long.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "altText");
    api.patch(&path, json!({})).await.expect_error(422, "VALIDATION_FAILED");
    api.patch(&path, json!({"alt": "typo"})).await.expect_error(422, "VALIDATION_FAILED");
    api.patch(&path, json!({"altText": 5})).await.expect_error(422, "VALIDATION_FAILED");

    // Only in the owner's workspace; anything else is not found.
    let bob = app.register("bob@example.com").await;
    bob.session.patch(&path, json!({"altText": "mine now"})).await.expect_error(404, "NOT_FOUND");
    api.patch(&format!("/api/media/{}", uuid::Uuid::now_v7()), json!({"altText": "x"})).await.expect_error(404, "NOT_FOUND");
    api.patch("/api/media/not-an-id", json!({"altText": "x"})).await.expect_error(404, "NOT_FOUND");
    let read_only = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    read_only.patch(&path, json!({"altText": "x"})).await.expect_error(403, "FORBIDDEN");
    app.anonymous().patch(&path, json!({"altText": "x"})).await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn the_platform_catalog_describes_every_platform(app) {
    let catalog = app.anonymous().get("/api/platforms").await;
    let catalog = catalog.expect(200).as_array().unwrap().clone();
    let webhook = catalog.iter().find(|p| p["id"] == "webhook").unwrap();
    assert_eq!(webhook["authKind"], "credentials");
    assert_eq!(webhook["available"], true);
    assert_eq!(webhook["configured"], true);
    assert_eq!(webhook["credentialsSchema"]["required"], json!(["url", "secret"]));
    assert_eq!(webhook["rules"]["maxLength"], 100_000);
    assert_eq!(webhook["rules"]["supportsThreads"], true);
    assert!(webhook["rules"]["mediaTypes"].as_array().unwrap().contains(&json!("image/png")));
    let x = catalog.iter().find(|p| p["id"] == "x").unwrap();
    assert_eq!(x["rules"]["counting"], "xWeighted");
    // Settings schemas are derived from each provider's settings struct.
    let mastodon = catalog.iter().find(|p| p["id"] == "mastodon").unwrap();
    let visibility = &mastodon["settingsSchema"]["properties"]["visibility"];
    assert_eq!(visibility["enum"], json!(["public", "unlisted", "private", "direct"]));
    assert_eq!(mastodon["settingsSchema"]["additionalProperties"], false);
    assert_eq!(mastodon["credentialsSchema"]["properties"]["accessToken"]["writeOnly"], true);
    // Platforms this build can publish to come first.
    let first_unavailable = catalog.iter().position(|p| p["available"] == false).unwrap_or(catalog.len());
    assert!(catalog[first_unavailable..].iter().all(|p| p["available"] == false));
});

db_test!(async fn the_media_library_lists_the_workspace_newest_first(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let mut uploaded = Vec::new();
    for alt in ["first", "second", "third"] {
        uploaded.push(api.upload("photo.png", TINY_PNG.to_vec(), Some(alt)).await.expect(201).clone());
    }

    let page = api.get("/api/media?limit=2").await.expect(200).clone();
    let media = page["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    // The same view as the upload answered, newest first.
    assert_eq!(media[0], uploaded[2]);
    assert_eq!(media[1], uploaded[1]);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = api.get(&format!("/api/media?limit=2&cursor={cursor}")).await.expect(200).clone();
    assert_eq!(rest["media"], json!([uploaded[0]]));
    assert_eq!(rest["nextCursor"], serde_json::Value::Null);
    let all = api.get("/api/media").await.expect(200).clone();
    assert_eq!(all["media"].as_array().unwrap().len(), 3);

    // Another workspace sees none of it.
    let bob = app.register("bob@example.com").await;
    let bob_api = app.with_key(&bob.api_key(None).await);
    assert_eq!(bob_api.get("/api/media").await.expect(200).clone(), json!({"media": [], "nextCursor": null}));
    assert_eq!(bob.session.get("/api/media").await.expect(200)["media"], json!([]));

    // Reading needs `posts:read`; paging errors name their fields.
    let reader = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    assert_eq!(reader.get("/api/media").await.expect(200)["media"].as_array().unwrap().len(), 3);
    let analytics = app.with_key(&ada.api_key(Some(&["analytics:read"])).await);
    analytics.get("/api/media").await.expect_error(403, "FORBIDDEN");
    app.anonymous().get("/api/media").await.expect_error(401, "UNAUTHORIZED");
    let bad = api.get("/api/media?limit=0&cursor=nope").await;
    let fields: Vec<String> = bad.expect_error(422, "VALIDATION_FAILED")["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["limit", "cursor"]);
});

db_test!(async fn a_video_is_streamed_in_and_served_in_ranges(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    // Larger than what is read to decide the type, so most of it streams.
    let mut video = herald_testkit::TINY_MP4.to_vec();
    video.extend((0..3 * 1024 * 1024).map(|i| (i % 251) as u8));
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(video.clone()).file_name("clip.mp4"))
        .text("altText", "sent after the file");
    let media = api.post_multipart("/api/media", form).await;
    let media = media.expect(201);
    assert_eq!(media["mime"], "video/mp4");
    assert_eq!(media["size"], video.len());
    assert_eq!(media["altText"], "sent after the file");
    let url = media["url"].as_str().unwrap().to_string();

    let whole = reqwest::get(&url).await.unwrap();
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-length"], video.len().to_string().as_str());
    assert_eq!(whole.bytes().await.unwrap().to_vec(), video);
    let client = reqwest::Client::new();
    let part = client.get(&url).header("range", "bytes=1000000-1000099").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 1000000-1000099/{}", video.len()).as_str());
    assert_eq!(part.bytes().await.unwrap().to_vec(), video[1_000_000..1_000_100].to_vec());
    let tail = client.get(&url).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap().to_vec(), video[video.len() - 10..].to_vec());
    let beyond = client.get(&url).header("range", format!("bytes={}-", video.len())).send().await.unwrap();
    assert_eq!(beyond.status(), 416);

    // A refused alt text leaves no file behind.
    let before = std::fs::read_dir(app.uploads_dir()).unwrap().count();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(video).file_name("clip.mp4"))
        .text("altText", "a".repeat(1501));
    api.post_multipart("/api/media", form).await.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(std::fs::read_dir(app.uploads_dir()).unwrap().count(), before);
});
