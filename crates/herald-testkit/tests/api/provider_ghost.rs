//! Ghost end to end against a fake Admin API that checks the JWT as Ghost
//! does: connecting with the Admin API key (a wrong secret refused), a post
//! as HTML with its feature image and tags, a newsletter send, a refusal,
//! and a removed integration.

use std::time::Duration;

use herald_testkit::fakes::ghost::{FakeGhost, KEY_ID, SECRET, admin_key};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn ghost_posts_html_with_a_feature_image_and_newsletters(app) {
    let fake = FakeGhost::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |key: String| ada.session.post("/api/integrations", json!({"platform": "ghost", "credentials": {"apiUrl": fake.url(), "adminApiKey": key}}));
    let forged = format!("{KEY_ID}:{}", "0".repeat(64));
    let refused = connect(forged).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("invalid signature"));
    connect("not a key".into()).await.expect_error(422, "VALIDATION_FAILED");
    let connected = connect(admin_key()).await;
    assert!(!connected.text.contains(SECRET));
    let integration = connected.expect(201).clone();
    assert_eq!(integration["name"], "Herald Journal");
    let id = id_of(&integration);

    let cover = id_of(api.upload("cover.png", TINY_PNG.to_vec(), Some("the cover")).await.expect(201));
    let inline = id_of(api.upload("inline.png", TINY_PNG.to_vec(), Some("a <figure>")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Herald 2.0\n\nIt is **out**. <script>x</script>", "platforms": [id], "mediaIds": [cover, inline],
        "overrides": {id.clone(): {"settings": {"tags": ["release"], "newsletter": "weekly", "excerpt": "What's new", "featured": true}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let post = &fake.posts()[0];
    let images = fake.images();
    assert_eq!((post["title"].as_str(), post["status"].as_str()), (Some("Herald 2.0"), Some("published")));
    assert_eq!(post["feature_image"], images[0]["url"]);
    assert_eq!(post["feature_image_alt"], "the cover");
    let html = post["html"].as_str().unwrap();
    assert!(html.starts_with("<p>It is <strong>out</strong>. &lt;script&gt;x&lt;/script&gt;</p>"), "{html}");
    assert!(html.contains(&format!("<img src=\"{}\" alt=\"a &lt;figure&gt;\">", images[1]["url"].as_str().unwrap())), "{html}");
    assert_eq!((post["tags"].clone(), post["custom_excerpt"].clone(), post["featured"].clone()), (json!(["release"]), json!("What's new"), json!(true)));
    let query = &fake.post_queries()[0];
    assert_eq!((query["source"].as_str(), query["newsletter"].as_str(), query["email_segment"].as_str()), ("html", "weekly", "all"));
    assert_eq!(done["targets"][0]["url"], post["url"]);

    // A draft is never emailed.
    let draft = api.post("/api/posts", json!({"content": "Later\n\ntext", "platforms": [id],
        "overrides": {id.clone(): {"settings": {"status": "draft", "newsletter": "weekly"}}}})).await;
    app.wait_for_post_status(&api, &id_of(draft.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.posts()[1]["status"], "draft");
    assert!(!fake.post_queries()[1].contains_key("newsletter"));

    fake.remove_integration();
    let post = api.post("/api/posts", json!({"content": "Gone\n\ntext", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
});
