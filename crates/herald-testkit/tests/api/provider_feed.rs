//! The `feed` platform end to end: a channel connected with a title only,
//! its RSS and Atom addresses in the integration, published posts (with
//! their thread, media and per-post title and link) in both documents as
//! any reader parses them (feed-rs), drafts never, text escaped, caching by
//! ETag, and the same 404 for an unknown, malformed or disabled channel.

use std::time::Duration;

use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn a_feed_channel_serves_rss_and_atom_of_its_published_posts(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connected = ada.session.post("/api/integrations", json!({"platform": "feed", "credentials": {
        "title": "Herald News", "description": "What we ship", "link": "https://herald.example.org"}})).await;
    let integration = connected.expect(201).clone();
    let slug = integration["platformAccountId"].as_str().unwrap().to_string();
    assert!(slug.starts_with("herald-news-") && slug.len() == "herald-news-".len() + 10, "{slug}");
    let rss_url = format!("{}/feeds/{slug}.xml", app.address);
    let atom_url = format!("{}/feeds/{slug}.atom", app.address);
    assert_eq!(integration["settings"]["feedUrls"], json!({"rss": rss_url, "atom": atom_url}));
    let id = id_of(&integration);
    let page = ada.session.get("/integrations").await;
    assert!(page.text.contains(&rss_url) && page.text.contains(&atom_url), "the addresses are shown on the Accounts page");

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("the chart")).await.expect(201));
    let first = api.post("/api/posts", json!({"content": "Release 2.0 <script>alert(1)</script>\n\nSee https://example.org/notes.", "platforms": [id],
        "mediaIds": [png], "thread": [{"content": "And **more**."}]})).await;
    let done = app.wait_for_post_status(&api, &id_of(first.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["url"], rss_url);
    let second = api.post("/api/posts", json!({"content": "body only", "platforms": [id],
        "overrides": {id.clone(): {"settings": {"title": "A titled item", "link": "https://example.org/item"}}}})).await;
    app.wait_for_post_status(&api, &id_of(second.expect(201)), "PUBLISHED", WAIT).await;
    api.post("/api/posts", json!({"content": "a draft", "platforms": [id], "status": "DRAFT"})).await.expect(201);

    let client = reqwest::Client::new();
    let answer = client.get(&rss_url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/rss+xml; charset=utf-8");
    let etag = answer.headers()["etag"].to_str().unwrap().to_string();
    assert!(answer.headers()["cache-control"].to_str().unwrap().contains("public"));
    let body = answer.text().await.unwrap();
    assert!(!body.contains("<script>"), "text is escaped: {body}");
    let rss = feed_rs::parser::parse(body.as_bytes()).unwrap();
    assert_eq!(rss.title.unwrap().content, "Herald News");
    assert_eq!(rss.entries.len(), 2, "published posts only");
    let newest = &rss.entries[0];
    assert_eq!(newest.title.as_ref().unwrap().content, "A titled item");
    assert_eq!(newest.links[0].href, "https://example.org/item");
    let oldest = &rss.entries[1];
    assert_eq!(oldest.title.as_ref().unwrap().content, "Release 2.0 <script>alert(1)</script>");
    assert_eq!(oldest.links[0].href, "https://example.org/notes");
    let description = oldest.summary.as_ref().unwrap().content.clone();
    assert!(description.contains("<strong>more</strong>"), "the thread follows: {description}");
    let enclosure = &oldest.media[0].content[0];
    assert!(enclosure.url.as_ref().unwrap().as_str().starts_with(&format!("{}/uploads/", app.address)));
    assert_eq!(enclosure.content_type.as_ref().unwrap().to_string(), "image/png");
    assert_eq!(enclosure.size, Some(TINY_PNG.len() as u64));

    let unchanged = client.get(&rss_url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(unchanged.status(), 304);

    let answer = client.get(&atom_url).send().await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let body = answer.text().await.unwrap();
    assert!(!body.contains("<script>"), "text is escaped: {body}");
    let atom = feed_rs::parser::parse(body.as_bytes()).unwrap();
    assert_eq!(atom.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(atom.entries.len(), 2);
    assert_eq!(atom.entries[1].title.as_ref().unwrap().content, "Release 2.0 <script>alert(1)</script>");
    assert!(atom.entries[1].content.as_ref().unwrap().body.as_ref().unwrap().contains("<strong>more</strong>"));
    assert!(atom.entries[1].links.iter().any(|link| link.rel.as_deref() == Some("enclosure")));
    assert!(!atom.authors.is_empty() && atom.updated.is_some());

    for missing in [format!("{}/feeds/nope-0000000000.xml", app.address), format!("{}/feeds/{slug}.json", app.address), format!("{}/feeds/..%2Fetc.xml", app.address)] {
        assert_eq!(client.get(&missing).send().await.unwrap().status(), 404, "{missing}");
    }
    ada.session.patch(&format!("/api/integrations/{id}"), json!({"status": "DISABLED"})).await.expect(200);
    assert_eq!(client.get(&rss_url).send().await.unwrap().status(), 404, "a disabled channel is not served");
});
