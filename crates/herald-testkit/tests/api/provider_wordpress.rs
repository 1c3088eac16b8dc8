//! The `wordpress` provider end to end: Herald's API → engine → a fake
//! WordPress site → outcome, and what exactly Herald sent. Media uploads are
//! driven through the provider itself until the engine hands it media bytes.

use std::time::Duration;

use base64::Engine as _;
use herald_providers::{Attachment, ProviderSettings, PublishRequest, Registry};
use herald_store::repo::Integrations;
use herald_testkit::fakes::Recorded;
use herald_testkit::fakes::wordpress::WordpressFake;
use herald_testkit::{Account, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

/// As WordPress shows an application password.
const PASSWORD: &str = "Ab12 Cd34 Ef56 Gh78 Ij90 Kl12";
const WAIT: Duration = Duration::from_secs(15);

fn credentials(fake: &WordpressFake) -> Value {
    json!({"siteUrl": format!("{}/", fake.site_url()), "username": "ada", "applicationPassword": PASSWORD})
}

async fn connect(account: &Account, fake: &WordpressFake) -> Uuid {
    let connected = account
        .session
        .post("/api/integrations", json!({"platform": "wordpress", "credentials": credentials(fake)}))
        .await;
    Uuid::parse_str(connected.expect(201)["id"].as_str().unwrap()).unwrap()
}

fn basic_auth() -> String {
    // WordPress ignores the spaces; Herald sends the password without them.
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ada:Ab12Cd34Ef56Gh78Ij90Kl12"))
}

fn calls(fake: &WordpressFake, method: &str, route: &str) -> Vec<Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| {
            r.method == method
                && (r.path == format!("/wp-json{route}") || r.query.get("rest_route").is_some_and(|q| q == route))
        })
        .collect()
}

async fn assert_no_secret_leaks(app: &TestApp, account: &Account, texts: &[&str]) {
    let compact: String = PASSWORD.chars().filter(|c| !c.is_whitespace()).collect();
    for text in texts.iter().copied().chain([account.session.get("/api/integrations").await.text.as_str()]) {
        assert!(!text.contains(PASSWORD) && !text.contains(&compact), "the application password leaked: {text}");
    }
    for row in Integrations(app.store.conn()).list(account.workspace_id).await.unwrap() {
        assert!(!row.credentials.unwrap_or_default().contains(&compact), "credentials are stored encrypted");
    }
}

db_test!(async fn wordpress_connects_with_an_application_password_and_refuses_bad_ones(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let mut wrong = credentials(&fake);
    wrong["applicationPassword"] = json!("xxxx xxxx xxxx xxxx xxxx xxxx");
    let refused = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": wrong})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("The provided password is an invalid application password."), "{error}");
    fake.set_role("contributor");
    let refused = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": credentials(&fake)})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("may not publish posts (role: contributor)"), "{error}");
    let mut elsewhere = credentials(&fake);
    elsewhere["siteUrl"] = json!(format!("{}/not-a-blog", fake.site_url()));
    let refused = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": elsewhere})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("no WordPress REST API found"), "{error}");
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    fake.set_role("author");
    let id = connect(&ada, &fake).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformUsername"], "ada");
    assert_eq!(integration["name"], "Ada Lovelace");
    assert_eq!(integration["avatarUrl"], "https://secure.gravatar.com/avatar/ada?s=96");
    let site = fake.site_url();
    assert_eq!(integration["platformAccountId"], format!("{}#7", site.trim_start_matches("http://")));
    let me: Vec<Recorded> = calls(&fake, "GET", "/wp/v2/users/me").into_iter().filter(|r| r.status != 404).collect();
    assert_eq!(me.len(), 3);
    assert!(me.iter().all(|r| r.path == "/wp-json/wp/v2/users/me" && r.query["context"] == "edit"));
    assert_eq!(me[2].header("authorization"), Some(basic_auth().as_str()));
    assert_no_secret_leaks(&app, &ada, &[&refused.text, &integration.to_string()]).await;
});

db_test!(async fn wordpress_sites_with_plain_permalinks_are_reached_through_rest_route(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    fake.set_pretty_permalinks(false);
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let tried: Vec<(String, u16)> = fake.requests().iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(tried, [("/wp-json/wp/v2/users/me".to_string(), 404), ("/".to_string(), 200)]);

    let post = api.post("/api/posts", json!({"content": "Plain\nand simple", "platforms": [wordpress]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let created = calls(&fake, "POST", "/wp/v2/posts");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].path, "/");
    assert_eq!(done["targets"][0]["url"], fake.posts()[0]["link"]);
});

db_test!(async fn wordpress_behind_nginx_with_plain_permalinks_falls_back_to_rest_route(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    fake.set_pretty_permalinks(false);
    fake.serve_front_page_for_unknown_paths();
    let ada = app.register("ada@example.com").await;
    let connected = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": credentials(&fake)})).await;
    assert_eq!(connected.status, 201, "{}", connected.text);
    let tried: Vec<(String, u16)> = fake.requests().iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(tried, [("/wp-json/wp/v2/users/me".to_string(), 200), ("/".to_string(), 200)]);
    let id = Uuid::parse_str(connected.body["id"].as_str().unwrap()).unwrap();
    let api = app.with_key(&ada.api_key(None).await);
    let post = api.post("/api/posts", json!({"content": "Via rest_route\nbody", "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(calls(&fake, "POST", "/wp/v2/posts")[0].path, "/");
});

db_test!(async fn wordpress_authors_may_create_tags_but_not_categories(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    fake.set_role("author");
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;

    let post = api.post("/api/posts", json!({"content": "Tagged\nbody", "platforms": [wordpress], "tags": ["brand new"]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert!(fake.terms("tags").iter().any(|(_, name)| name == "brand new"));

    let settings = json!({"categories": ["Announcements"]});
    let post = api.post("/api/posts", json!({"content": "Filed\nbody", "platforms": [wordpress],
        "overrides": {wordpress.to_string(): {"settings": settings}}})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "INVALID", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("not allowed to create terms") && message.contains("Editor role"), "{message}");
    assert_eq!(api.get(&format!("/api/integrations/{wordpress}")).await.expect(200)["status"], "ACTIVE");
    assert_eq!(fake.posts().len(), 1);
});

db_test!(async fn wordpress_redirects_and_failed_uploads_are_not_retried(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;

    fake.redirect("POST /wp/v2/posts", "https://blog.example.com/wp-json/wp/v2/posts");
    let post = api.post("/api/posts", json!({"content": "Moved\nbody", "platforms": [wordpress]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!((target["lastError"]["class"].as_str(), target["attempts"].as_u64()), (Some("INVALID"), Some(1)));
    // Where it moved, as far as the host: URLs in errors never show paths or queries.
    assert!(target["lastError"]["message"].as_str().unwrap().contains("a redirect to https://blog.example.com/…"), "{target}");

    let sideload = json!({"code": "rest_upload_sideload_error", "message": "Sorry, this file type is not permitted for security reasons.", "data": {"status": 500}});
    fake.script("POST /wp/v2/media", 500, sideload, None);
    let media = id_of(api.upload("pixel.png", herald_testkit::TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Picture\nbody", "platforms": [wordpress], "mediaIds": [media]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!((target["lastError"]["class"].as_str(), target["attempts"].as_u64()), (Some("INVALID"), Some(1)), "{target}");
    assert_eq!(calls(&fake, "POST", "/wp/v2/media").len(), 1, "the file was sent once");
});

db_test!(async fn wordpress_publishes_escaped_html_with_a_title_and_terms(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let news = fake.add_term("categories", "News");
    let rust = fake.add_term("tags", "Rust");
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let settings = json!({"status": "pending", "categories": ["news", 1], "excerpt": "Out now", "slug": "herald-1-0"});
    let body = json!({
        "content": "## Herald 1.0\n\nIt is <out> & \"ready\".\nEnjoy.\n\nSecond paragraph.",
        "platforms": [wordpress],
        "tags": ["rust", "self hosting"],
        "overrides": {wordpress.to_string(): {"settings": settings}}
    });
    let post = api.post("/api/posts", body).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let created_tag = fake.terms("tags").into_iter().find(|(_, name)| name == "self hosting").unwrap().0;

    let sent = calls(&fake, "POST", "/wp/v2/posts");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some(basic_auth().as_str()));
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(
        sent[0].json,
        json!({
            "title": "Herald 1.0",
            "content": "<p>It is &lt;out&gt; &amp; &quot;ready&quot;.<br />\nEnjoy.</p>\n\n<p>Second paragraph.</p>",
            "status": "pending",
            "excerpt": "Out now",
            "slug": "herald-1-0",
            "categories": [news, 1],
            "tags": [rust, created_tag]
        })
    );
    // Names were looked up before one was created.
    let searched: Vec<String> = calls(&fake, "GET", "/wp/v2/tags").iter().map(|r| r.query["search"].clone()).collect();
    assert_eq!(searched, ["rust", "self hosting"]);
    assert_eq!(calls(&fake, "POST", "/wp/v2/tags")[0].json, json!({"name": "self hosting"}));
    let target = &done["targets"][0];
    assert_eq!(target["platformPostIds"][0], fake.posts()[0]["id"].to_string());
    assert_eq!(target["url"], fake.posts()[0]["link"]);
    assert_no_secret_leaks(&app, &ada, &[&done.to_string()]).await;
});

db_test!(async fn wordpress_rate_limits_and_server_errors_are_retried(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let limited = json!({"code": "too_many_requests", "message": "Too many requests.", "data": {"status": 429}});
    fake.script("POST /wp/v2/posts", 429, limited, Some(1));
    let down = json!({"code": "internal_server_error", "message": "There has been a critical error on this website.", "data": {"status": 500}});
    fake.script("POST /wp/v2/posts", 500, down, None);
    let post = api.post("/api/posts", json!({"content": "Persistent\nbody", "platforms": [wordpress]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 3);
    assert_eq!(calls(&fake, "POST", "/wp/v2/posts").iter().map(|r| r.status).collect::<Vec<_>>(), [429, 500, 201]);
    assert_eq!(fake.posts().len(), 1);
});

db_test!(async fn wordpress_invalid_parameters_fail_at_once_with_the_platform_message(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let invalid = json!({"code": "rest_invalid_param", "message": "Invalid parameter(s): slug",
        "data": {"status": 400, "params": {"slug": "slug is not of type string."}}});
    fake.script("POST /wp/v2/posts", 400, invalid, None);
    let post = api.post("/api/posts", json!({"content": "Refused\nbody", "platforms": [wordpress]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert_eq!(
        target["lastError"]["message"],
        "WordPress refused creating the post: Invalid parameter(s): slug (slug: slug is not of type string.) [rest_invalid_param]"
    );
});

db_test!(async fn wordpress_lost_roles_and_revoked_passwords_need_reconnecting(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;

    fake.set_role("subscriber");
    let post = api.post("/api/posts", json!({"content": "Demoted\nbody", "platforms": [wordpress]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "REVOKED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("Sorry, you are not allowed to create posts as this user. [rest_cannot_create]"), "{message}");
    assert!(message.contains("Author role"), "{message}");
    assert_eq!(api.get(&format!("/api/integrations/{wordpress}")).await.expect(200)["status"], "NEEDS_RECONNECT");

    // Reconnected with the role back, then the password is revoked.
    fake.set_role("editor");
    let again = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": credentials(&fake)})).await;
    assert_eq!(again.expect(200)["id"], wordpress.to_string(), "a reconnect updates the integration");
    fake.revoke_password();
    let post = api.post("/api/posts", json!({"content": "Locked out\nbody", "platforms": [wordpress]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "REVOKED");
    assert!(error["message"].as_str().unwrap().contains("[incorrect_password]"), "{error}");
    assert_eq!(api.get(&format!("/api/integrations/{wordpress}")).await.expect(200)["status"], "NEEDS_RECONNECT");
    assert_no_secret_leaks(&app, &ada, &[&failed.to_string()]).await;
});

fn request(credentials: Value, content: &str, media: Vec<Attachment>) -> PublishRequest {
    PublishRequest {
        target_id: Uuid::now_v7(),
        post_id: Uuid::now_v7(),
        integration_id: Uuid::now_v7(),
        integration_name: "Blog".into(),
        credentials,
        settings: json!({}),
        item_index: 0,
        item_count: 1,
        content: content.into(),
        media_urls: media.iter().map(|m| m.url.clone()).collect(),
        media,
        tags: Vec::new(),
        scheduled_for: None,
        root: None,
        reply_to: None,
        idempotency_key: "key-0".into(),
        pending: None,
        interrupted: false,
    }
}

#[tokio::test]
async fn wordpress_uploads_media_then_features_the_first_image() {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let registry = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() });
    let provider = registry.get("wordpress").unwrap();
    let stored = provider.connect(&credentials(&fake)).await.unwrap().credentials;
    assert_eq!(stored["restStyle"], "pretty");
    let png = Attachment {
        url: "http://localhost/uploads/a.png".into(),
        mime: "image/png".into(),
        alt_text: Some("A diagram".into()),
        ..Attachment::loaded(bytes_of(b"\x89PNG fake image"))
    };
    let jpeg = Attachment {
        url: "http://localhost/uploads/b.jpg".into(),
        mime: "image/jpeg".into(),
        alt_text: None,
        ..Attachment::loaded(bytes_of(b"\xff\xd8 fake jpeg"))
    };
    let published =
        provider.publish(&request(stored, "With pictures\nLook.", vec![png, jpeg])).await.unwrap().published().unwrap();

    let media = fake.media();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0].bytes.as_ref(), b"\x89PNG fake image");
    assert_eq!(media[0].alt_text, "A diagram");
    assert_eq!(media[1].alt_text, "");
    let uploads = calls(&fake, "POST", "/wp/v2/media");
    assert_eq!(uploads[0].header("content-type"), Some("image/png"));
    assert_eq!(uploads[0].header("content-disposition"), Some("attachment; filename=\"media-0.png\""));
    assert_eq!(uploads[1].header("content-type"), Some("image/jpeg"));
    assert_eq!(uploads[1].header("content-disposition"), Some("attachment; filename=\"media-1.jpg\""));
    assert_eq!(uploads[0].header("authorization"), Some(basic_auth().as_str()));
    let alt = calls(&fake, "POST", &format!("/wp/v2/media/{}", media[0].id));
    assert_eq!(alt.len(), 1);
    assert_eq!(alt[0].json, json!({"alt_text": "A diagram"}));
    // Order: every upload before the post.
    let order: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).skip(1).collect();
    assert_eq!(
        order,
        [
            "/wp-json/wp/v2/media".to_string(),
            format!("/wp-json/wp/v2/media/{}", media[0].id),
            "/wp-json/wp/v2/media".to_string(),
            "/wp-json/wp/v2/posts".to_string()
        ]
    );

    let post = calls(&fake, "POST", "/wp/v2/posts")[0].json.clone();
    assert_eq!(
        post,
        json!({
            "title": "With pictures",
            "content": format!(
                "<p>Look.</p>\n\n<figure class=\"wp-block-image\"><img src=\"{}\" alt=\"A diagram\" /></figure>\n\n\
                 <figure class=\"wp-block-image\"><img src=\"{}\" alt=\"\" /></figure>",
                media[0].source_url, media[1].source_url
            ),
            "status": "publish",
            "featured_media": media[0].id
        })
    );
    assert_eq!(published.id, fake.posts()[0]["id"].to_string());
    assert_eq!(published.url.as_deref(), fake.posts()[0]["link"].as_str());
}

fn bytes_of(data: &'static [u8]) -> axum::body::Bytes {
    axum::body::Bytes::from_static(data)
}

db_test!(async fn wordpress_uploaded_media_go_to_the_library_and_feature_the_post(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let uploaded = api.upload("pixel.png", herald_testkit::TINY_PNG.to_vec(), Some("A red pixel")).await;
    let media_id = uploaded.expect(201)["id"].clone();
    let post = api.post("/api/posts", json!({"content": "A picture\nSee below.", "platforms": [wordpress], "mediaIds": [media_id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let library = fake.media();
    assert_eq!(library.len(), 1);
    assert_eq!(library[0].bytes.as_ref(), herald_testkit::TINY_PNG);
    assert_eq!(library[0].mime, "image/png");
    assert_eq!(library[0].file_name, "media-0.png");
    assert_eq!(library[0].alt_text, "A red pixel");
    let post = &fake.posts()[0];
    assert_eq!(post["featured_media"], library[0].id);
    let html = post["content"]["raw"].as_str().unwrap();
    assert!(html.ends_with(&format!("<img src=\"{}\" alt=\"A red pixel\" /></figure>", library[0].source_url)), "{html}");
});

db_test!(async fn wordpress_settings_are_validated_before_anything_is_stored(app) {
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let wordpress = connect(&ada, &fake).await;
    let settings = json!({"status": "future", "tags": [0]});
    let body = json!({"content": "Later\nbody", "platforms": [wordpress], "overrides": {wordpress.to_string(): {"settings": settings}}});
    let report = api.post("/api/posts/validate", body).await;
    let fields: Vec<String> =
        report.expect(200)["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, [format!("overrides.{wordpress}.settings.date"), format!("overrides.{wordpress}.settings.tags")]);

    // A scheduled post on WordPress itself.
    let settings = json!({"status": "future", "date": "2030-01-02T09:30:00+01:00"});
    let body = json!({"content": "Later\nbody", "platforms": [wordpress], "overrides": {wordpress.to_string(): {"settings": settings}}});
    let post = api.post("/api/posts", body).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let sent = calls(&fake, "POST", "/wp/v2/posts")[0].json.clone();
    assert_eq!(sent["status"], "future");
    assert_eq!(sent["date_gmt"], "2030-01-02T08:30:00");
});

/// DEV pointed at a closed port: its connect fails without leaving the machine.
fn unreachable_devto() -> TestOptions {
    let api_base = [("devto".to_string(), "http://127.0.0.1:9".to_string())].into();
    TestOptions { provider_api_base: api_base, ..TestOptions::default() }
}

db_test!(async fn wordpress_and_devto_secrets_stay_out_of_logs_answers_and_the_database(app, unreachable_devto()) {
    let logs = herald_testkit::logs::capture();
    let fake = WordpressFake::start("ada", PASSWORD).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let mut wrong = credentials(&fake);
    wrong["applicationPassword"] = json!("Zz99 Zz99 Zz99 Zz99 Zz99 Zz99");
    let refused = ada.session.post("/api/integrations", json!({"platform": "wordpress", "credentials": wrong})).await;
    refused.expect(422);
    let wordpress = connect(&ada, &fake).await;
    fake.revoke_password();
    let post = api.post("/api/posts", json!({"content": "Secret\nbody", "platforms": [wordpress]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    // A DEV key refused at connect goes through the same paths.
    let devto_key = "devto-key-that-must-not-leak-123";
    let dev = ada.session.post("/api/integrations", json!({"platform": "devto", "credentials": {"apiKey": devto_key}})).await;
    assert_eq!(dev.status, 503, "{}", dev.text);

    let compact: String = PASSWORD.chars().filter(|c| !c.is_whitespace()).collect();
    let secrets = [PASSWORD, compact.as_str(), "Zz99Zz99Zz99Zz99Zz99Zz99", devto_key];
    let answers = [refused.text.as_str(), &failed.to_string(), &dev.text];
    for secret in secrets {
        for text in answers {
            assert!(!text.contains(secret), "{secret} in an answer: {text}");
        }
        assert!(!logs.text().contains(secret), "{secret} in the logs");
        assert_eq!(herald_testkit::logs::files_containing(app.data_dir(), secret), Vec::<String>::new());
    }
    assert!(logs.text().contains("wordpress"), "the logs were captured");
    assert_no_secret_leaks(&app, &ada, &[]).await;
});
