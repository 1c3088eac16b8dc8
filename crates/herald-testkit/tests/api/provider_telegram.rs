//! Telegram end to end against the fake Bot API: connect, text, threads,
//! settings, retries, revoked bots — and the bot token, which sits in every
//! request path, never showing up in an answer, a stored error or a log line.

use std::time::Duration;

use herald_testkit::fakes::telegram::{self, TelegramFake};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::{Value, json};

use crate::provider_support::{attachment, registry, request};

const TOKEN: &str = "7000000001:AAHerald-test_token-0123456789abcdef";
const CHANNEL_ID: i64 = -1_001_234_567_890;
const WAIT: Duration = Duration::from_secs(15);

fn options(fake: &TelegramFake) -> TestOptions {
    TestOptions { provider_api_base: [("telegram".to_string(), fake.api_base())].into(), ..TestOptions::default() }
}

async fn started() -> TelegramFake {
    let fake = TelegramFake::start(TOKEN).await;
    fake.add_chat(json!({"id": CHANNEL_ID, "type": "channel", "title": "Herald News", "username": "herald_news"}));
    fake
}

async fn connect(app: &herald_testkit::TestApp, account: &herald_testkit::Account) -> String {
    let body = json!({"platform": "telegram", "credentials": {"botToken": TOKEN, "chatId": "@herald_news"}});
    let connected = account.session.post("/api/integrations", body).await;
    let _ = app;
    id_of(connected.expect(201))
}

fn credentials() -> Value {
    json!({"botToken": TOKEN, "chatId": CHANNEL_ID.to_string()})
}

db_test!(async fn telegram_connect_checks_the_bot_and_the_chat(app, fake = started().await, options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let connect = |credentials: Value| ada.session.post("/api/integrations", json!({"platform": "telegram", "credentials": credentials}));

    let wrong_token = connect(json!({"botToken": "7000000001:AAwrong-token-0123456789abcdefgh", "chatId": "@herald_news"})).await;
    let error = wrong_token.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("Unauthorized"), "{error}");
    let unknown_chat = connect(json!({"botToken": TOKEN, "chatId": "@nobody_here"})).await;
    let error = unknown_chat.expect_error(422, "VALIDATION_FAILED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("chat not found") && message.contains("@herald_test_bot"), "{message}");
    fake.add_chat(json!({"id": -1_009_999, "type": "channel", "title": "Not Ours", "username": "not_ours"}));
    fake.set_membership(-1_009_999, json!({"status": "left"}));
    let not_member = connect(json!({"botToken": TOKEN, "chatId": "@not_ours"})).await;
    let message = not_member.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("@herald_test_bot is not a member"), "{message}");
    let malformed = connect(json!({"botToken": "not a token", "chatId": "@herald_news"})).await;
    assert!(malformed.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("BotFather"));
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let connected = connect(json!({"botToken": format!(" {TOKEN} "), "chatId": "https://t.me/herald_news"})).await;
    let integration = connected.expect(201);
    assert_eq!(integration["platform"], "telegram");
    assert_eq!(integration["platformAccountId"], CHANNEL_ID.to_string());
    assert_eq!(integration["platformUsername"], "@herald_news");
    assert_eq!(integration["name"], "Herald News");
    assert!(!connected.text.contains(TOKEN));
    let calls: Vec<(String, String)> = fake.requests().iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(calls.last().unwrap(), &("GET".to_string(), format!("/bot{TOKEN}/getChatMember")));
    assert_eq!(fake.calls("getChat").last().unwrap().query["chat_id"], "@herald_news");
    assert_eq!(fake.calls("getChatMember").last().unwrap().query, [("chat_id".to_string(), CHANNEL_ID.to_string()), ("user_id".to_string(), telegram::BOT_ID.to_string())].into());
    assert_eq!(fake.calls("getMe").len(), 4, "every well-formed token is checked with getMe first");
    assert!(fake.sent().is_empty(), "connecting posts nothing");
});

db_test!(async fn telegram_membership_check_is_best_effort(app, fake = started().await, options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let connect = || ada.session.post("/api/integrations", json!({"platform": "telegram", "credentials": {"botToken": TOKEN, "chatId": "@herald_news"}}));
    // A channel that hides its member list from the bot: connect still works.
    fake.fail_method("getChatMember", telegram::error(400, "Bad Request: member list is inaccessible"));
    connect().await.expect(201);
    // A Bot API without the method (404 means unknown method, not a bad token).
    fake.fail_method("getChatMember", telegram::error(404, "Not Found"));
    let reconnected = connect().await;
    assert_eq!(reconnected.expect(200)["status"], "ACTIVE", "{}", reconnected.text);
    assert_eq!(fake.calls("getChatMember").len(), 2);

    // A 404 anywhere else is a wrong API base, not a revoked token.
    fake.fail_method("getMe", telegram::error(404, "Not Found"));
    let error = connect().await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(error.contains("unknown Bot API method") && !error.contains("revoked"), "{error}");
});

db_test!(async fn telegram_publishes_text_and_threads_as_replies_with_the_post_settings(app, fake = started().await, options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let chat = connect(&app, &ada).await;
    let refused = api.post("/api/posts", json!({"content": "x", "platforms": [chat],
        "overrides": {chat.clone(): {"settings": {"parseMode": "Markdown"}}}})).await;
    let refused = refused.expect_error(422, "VALIDATION_FAILED").to_string();
    assert!(refused.contains(&format!("overrides.{chat}.settings.parseMode")), "{refused}");
    let post = api.post("/api/posts", json!({
        "content": "Launch <b>day</b> https://example.com",
        "platforms": [chat],
        "thread": [{"content": "second"}, {"content": "third"}],
        "overrides": {chat.clone(): {"settings": {"disableNotification": true, "disableLinkPreview": true, "parseMode": "HTML"}}},
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let sent = fake.calls("sendMessage");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|r| r.method == "POST" && r.content_type() == "application/json"));
    assert_eq!(sent[0].json, json!({"chat_id": CHANNEL_ID, "text": "Launch <b>day</b> https://example.com", "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true}, "disable_notification": true}));
    let messages = fake.sent();
    let ids: Vec<String> = messages.iter().map(|m| m.message_id.to_string()).collect();
    assert_eq!(sent[1].json["reply_parameters"], json!({"message_id": messages[0].message_id, "allow_sending_without_reply": true}));
    assert_eq!(sent[2].json["reply_parameters"]["message_id"], messages[1].message_id);
    assert_eq!(messages[2].reply_to, Some(messages[1].message_id), "the thread chains on the fake's side too");

    let target = &done["targets"][0];
    assert_eq!(target["platformPostIds"], json!(ids));
    assert_eq!(target["url"], format!("https://t.me/herald_news/{}", ids[0]));
    assert_eq!(target["attempts"], 1);
});

db_test!(async fn telegram_rate_limits_are_retried_after_the_hint(app, fake = started().await, options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let chat = connect(&app, &ada).await;
    fake.push_reply(telegram::rate_limited(1));
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [chat]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let sent = fake.calls("sendMessage");
    assert_eq!(sent.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    assert_eq!(fake.sent().len(), 1);
});

db_test!(async fn telegram_refusals_fail_with_the_description_and_a_kicked_bot_needs_reconnecting(app, fake = started().await, options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let chat = connect(&app, &ada).await;

    fake.push_reply(telegram::error(400, "Bad Request: can't parse entities: unsupported start tag \"x\""));
    let post = api.post("/api/posts", json!({"content": "<x>", "platforms": [chat]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("can't parse entities"));

    fake.push_reply(telegram::error(403, "Forbidden: bot was kicked from the channel chat"));
    let post = api.post("/api/posts", json!({"content": "hello?", "platforms": [chat]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("bot was kicked"));
    assert_eq!(api.get(&format!("/api/integrations/{chat}")).await.expect(200)["status"], "NEEDS_RECONNECT");
    assert!(fake.sent().is_empty());
});

db_test!(async fn telegram_bot_token_never_appears_in_answers_errors_or_logs(app, fake = started().await, options(&fake)) {
    let logs = herald_testkit::logs::capture();
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let chat = connect(&app, &ada).await;
    fake.push_reply(telegram::error(502, "Bad Gateway"));
    let post = api.post("/api/posts", json!({"content": "first try fails", "platforms": [chat]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    // The Bot API goes away: transport errors (which name the URL) every attempt.
    drop(fake);
    let post = api.post("/api/posts", json!({"content": "nobody listens", "platforms": [chat]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let message = failed["targets"][0]["lastError"]["message"].as_str().unwrap();
    assert!(message.contains("could not connect"), "{message}");

    for path in ["/api/posts", "/api/integrations", &format!("/api/integrations/{chat}")] {
        let answer = api.get(path).await;
        assert!(!answer.text.contains(TOKEN) && !answer.text.contains("AAHerald"), "{path} shows the token: {}", answer.text);
    }
    let log = logs.text();
    assert!(log.contains("delivery failed"), "the capture sees the engine's lines");
    assert!(!log.contains("AAHerald-test_token"), "a log line shows the bot token:\n{log}");
});

#[tokio::test]
async fn telegram_sends_photos_albums_and_long_captions_as_multipart() {
    let fake = started().await;
    let telegram = registry(&[("telegram", fake.api_base())]).get("telegram").unwrap();
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-one";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0-two";
    const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42-three";

    // One photo: sendPhoto with the text as caption.
    let one = telegram
        .publish(&request(credentials(), "a photo", vec![attachment("image/png", PNG, Some("alt"))], None))
        .await
        .unwrap()
        .published()
        .unwrap();
    let photo = fake.calls("sendPhoto").pop().unwrap();
    assert!(photo.content_type().starts_with("multipart/form-data; boundary="));
    let fields: Vec<&str> = photo.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(fields, ["chat_id", "caption", "photo"]);
    assert_eq!(photo.field("chat_id").unwrap(), CHANNEL_ID.to_string());
    assert_eq!(photo.field("caption").unwrap(), "a photo");
    let file = photo.part("photo").unwrap();
    assert_eq!(
        (file.file_name.as_deref(), file.content_type.as_deref(), &file.data[..]),
        (Some("media-0.png"), Some("image/png"), PNG)
    );
    assert_eq!(one.url, Some(format!("https://t.me/herald_news/{}", one.id)));

    // Three files: one album, caption on the first, replying to the photo.
    let files = vec![
        attachment("image/png", PNG, None),
        attachment("image/jpeg", JPEG, None),
        attachment("video/mp4", MP4, None),
    ];
    // In a forum topic, through the settings.
    let mut in_topic = request(credentials(), "an album", files, Some(&one.id));
    in_topic.settings = json!({"messageThreadId": 12});
    let album = telegram.publish(&in_topic).await.unwrap().published().unwrap();
    let group = fake.calls("sendMediaGroup").pop().unwrap();
    let fields: Vec<&str> = group.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(fields, ["chat_id", "message_thread_id", "reply_parameters", "media", "file0", "file1", "file2"]);
    assert_eq!(group.field("message_thread_id").unwrap(), "12");
    assert_eq!(
        serde_json::from_str::<Value>(&group.field("media").unwrap()).unwrap(),
        json!([
            {"type": "photo", "media": "attach://file0", "caption": "an album"},
            {"type": "photo", "media": "attach://file1"},
            {"type": "video", "media": "attach://file2"},
        ])
    );
    assert_eq!(
        serde_json::from_str::<Value>(&group.field("reply_parameters").unwrap()).unwrap()["message_id"],
        one.id.parse::<i64>().unwrap()
    );
    assert_eq!(&group.part("file2").unwrap().data[..], MP4);
    assert_eq!(group.part("file1").unwrap().content_type.as_deref(), Some("image/jpeg"));
    let sent = fake.sent();
    assert_eq!(album.id, sent[1].message_id.to_string(), "an album is known by its first message");
    assert_eq!(sent[1..4].iter().map(|m| m.media_group_id.is_some()).collect::<Vec<_>>(), [true, true, true]);

    // A caption over 1024 UTF-16 units: the media, then the text as a reply to it.
    let long = "ü".repeat(1100);
    let item = telegram
        .publish(&request(credentials(), &long, vec![attachment("image/gif", PNG, None)], None))
        .await
        .unwrap()
        .published()
        .unwrap();
    let animation = fake.calls("sendAnimation").pop().unwrap();
    assert!(animation.field("caption").is_none());
    assert_eq!(animation.part("animation").unwrap().file_name.as_deref(), Some("media-0.gif"));
    let text = fake.calls("sendMessage").pop().unwrap();
    let sent = fake.sent();
    let media_id = sent[sent.len() - 2].message_id;
    assert_eq!(text.json["text"], long);
    assert_eq!(text.json["reply_parameters"]["message_id"], media_id);
    assert_eq!(
        item.id,
        sent[sent.len() - 1].message_id.to_string(),
        "the item is the text, so a thread reads on from it"
    );
}

#[tokio::test]
async fn telegram_transport_errors_do_not_name_the_url() {
    // Nothing listens on this port any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let telegram = registry(&[("telegram", format!("http://{closed}"))]).get("telegram").unwrap();
    let error = telegram.connect(&credentials()).await.err().unwrap();
    assert!(error.message.contains("could not connect"), "{}", error.message);
    assert!(!error.message.contains(TOKEN) && !error.message.contains("/bot"), "{}", error.message);
    let error = telegram.publish(&request(credentials(), "x", Vec::new(), None)).await.err().unwrap();
    assert!(!error.message.contains(TOKEN), "{}", error.message);
}

db_test!(async fn telegram_publishes_uploaded_media_as_a_photo_and_as_an_album(app, fake = started().await, options(&fake)) {
    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let chat = connect(&app, &ada).await;
    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("a chart")).await.expect(201));
    let gif = id_of(api.upload("dance.gif", GIF.to_vec(), None).await.expect(201));

    let post = api.post("/api/posts", json!({"content": "one photo", "platforms": [chat], "mediaIds": [png]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let photo = fake.calls("sendPhoto").pop().expect("sendPhoto");
    assert_eq!(photo.field("caption").unwrap(), "one photo");
    let file = photo.part("photo").unwrap();
    assert_eq!((file.content_type.as_deref(), &file.data[..]), (Some("image/png"), TINY_PNG));

    // A GIF cannot go into an album: the photos make one, the GIF follows as an animation.
    let second = id_of(api.upload("map.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "an album", "platforms": [chat], "mediaIds": [png, gif, second]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let group = fake.calls("sendMediaGroup").pop().expect("sendMediaGroup");
    assert_eq!(serde_json::from_str::<Value>(&group.field("media").unwrap()).unwrap(), json!([
        {"type": "photo", "media": "attach://file0", "caption": "an album"},
        {"type": "photo", "media": "attach://file1"},
    ]));
    assert_eq!((&group.part("file0").unwrap().data[..], &group.part("file1").unwrap().data[..]), (TINY_PNG, TINY_PNG));
    let animation = fake.calls("sendAnimation").pop().expect("the GIF on its own");
    assert_eq!(&animation.part("animation").unwrap().data[..], GIF);
    assert!(animation.field("caption").is_none(), "the caption went with the album");
    let sent = fake.sent();
    let methods: Vec<&str> = sent.iter().map(|m| m.method.as_str()).collect();
    assert_eq!(methods, ["sendPhoto", "sendMediaGroup", "sendMediaGroup", "sendAnimation"]);
    assert_eq!(done["targets"][0]["platformPostIds"], json!([sent[1].message_id.to_string()]));
});

#[tokio::test]
async fn telegram_never_mixes_documents_into_a_photo_album() {
    let fake = started().await;
    let telegram = registry(&[("telegram", fake.api_base())]).get("telegram").unwrap();
    const PDF: &[u8] = b"%PDF-1.7 x";
    let files = vec![attachment("image/png", TINY_PNG, None), attachment("application/pdf", PDF, None)];
    telegram.publish(&request(credentials(), "mixed", files, None)).await.unwrap().published().unwrap();
    assert_eq!(fake.calls("sendMediaGroup").len(), 0, "a photo and a document are not one album");
    assert_eq!(fake.sent().iter().map(|m| m.method.as_str()).collect::<Vec<_>>(), ["sendPhoto", "sendDocument"]);

    // The fake refuses what the Bot API refuses.
    let album = |media: Value| {
        let form = reqwest::multipart::Form::new()
            .text("chat_id", CHANNEL_ID.to_string())
            .text("media", media.to_string())
            .part("a", reqwest::multipart::Part::bytes(TINY_PNG).file_name("a.png"))
            .part("b", reqwest::multipart::Part::bytes(PDF).file_name("b.pdf"));
        reqwest::Client::new().post(format!("{}/bot{TOKEN}/sendMediaGroup", fake.api_base())).multipart(form).send()
    };
    for (media, says) in [
        (
            json!([{"type": "photo", "media": "attach://a"}, {"type": "document", "media": "attach://b"}]),
            "document can't be mixed",
        ),
        (json!([{"type": "animation", "media": "attach://a"}, {"type": "photo", "media": "attach://b"}]), "wrong type"),
    ] {
        let answer = album(media).await.unwrap();
        assert_eq!(answer.status(), 400);
        assert!(answer.text().await.unwrap().contains(says), "{says}");
    }
}
