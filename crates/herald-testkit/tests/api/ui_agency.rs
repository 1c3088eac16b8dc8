//! The agency pages of the web UI, without JavaScript: customers (their
//! accounts, connect links shown once, revoked), tags, signatures and sets,
//! and the composer, calendar and post list using them.

use herald_testkit::db_test;
use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;

db_test!(async fn customers_connect_links_and_the_library_work_as_forms(app) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let account = browser.account(&app).await;
    let feed = app.add_integration(&account, "webhook").await;
    let other = app.add_integration(&account, "webhook").await;

    // Customers: add, give an account, a connect link shown once, revoke it.
    browser.get("/customers").await;
    let empty = browser.post("/customers", &[("name", "")]).await;
    assert_eq!(empty.status, 422);
    assert_eq!(browser.post("/customers", &[("name", "Bistro")]).await.status, 303);
    let customers = browser.api(Method::GET, "/api/customers", None).await;
    let bistro = customers[0]["id"].as_str().unwrap().to_string();
    browser.get("/customers").await;
    let saved = browser.post("/customers/assign", &[(&format!("customer.{feed}"), &bistro), (&format!("customer.{other}"), "")]).await;
    assert_eq!(saved.status, 303);
    let page = browser.get("/customers").await;
    assert!(page.html.contains(&format!(r#"<option value="{bistro}" selected>Bistro</option>"#)), "the account is Bistro's");
    let made = browser.post(&format!("/customers/{bistro}/connect-links"), &[("platforms", "webhook"), ("days", "3")]).await;
    assert_eq!(made.status, 200);
    let url = made.html.split("id=\"new-link\" class=\"secret\" readonly value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(url.contains("/connect/"), "{url}");
    let again = browser.get("/customers").await;
    assert!(!again.html.contains(&url), "shown once");
    assert!(again.html.contains("webhook ·") || again.html.contains("webhook"));
    let links = browser.api(Method::GET, &format!("/api/customers/{bistro}/connect-links"), None).await;
    let link = links[0]["id"].as_str().unwrap().to_string();
    assert_eq!(browser.post(&format!("/customers/{bistro}/connect-links/{link}/revoke"), &[]).await.status, 303);
    let mut client = Browser::new(&app);
    assert_eq!(client.get(url.trim_start_matches(&app.address)).await.status, 404);

    // The library: a tag, a signature for new posts, a set.
    browser.get("/settings/library").await;
    assert_eq!(browser.post("/settings/library/tags", &[("name", "launch"), ("color", "#ff0000")]).await.status, 303);
    let bad = browser.post("/settings/library/tags", &[("name", "x"), ("color", "red")]).await;
    assert_eq!(bad.status, 422);
    assert_eq!(browser.post("/settings/library/signatures", &[("name", "Team"), ("content", "— The Bistro team"), ("auto_add", "on")]).await.status, 303);
    assert_eq!(browser.post("/settings/library/sets", &[("name", "Both feeds"), ("accounts", &feed.to_string()), ("accounts", &other.to_string())]).await.status, 303);
    let library = browser.get("/settings/library").await;
    assert!(library.html.contains(r##"fill="#ff0000""##) && library.html.contains("— The Bistro team") && library.html.contains("Both feeds"));
    let sets = browser.api(Method::GET, "/api/sets", None).await;
    let set = sets[0]["id"].as_str().unwrap().to_string();

    // The composer: the signature starts a new post; a set or a customer picks accounts.
    let fresh = browser.get("/posts/new").await;
    assert!(fresh.html.contains("\n\n— The Bistro team</textarea>"), "the signature for new posts");
    assert!(fresh.html.contains(r#"id="known-tags""#) && fresh.html.contains(r##"fill="#ff0000"/></svg> launch"##), "known tags offered");
    let from_set = browser.get(&format!("/posts/new?set={set}")).await;
    assert!(from_set.html.contains(&format!(r#"value="{other}" data-platform"#)));
    let checked = |html: &str, id: &str| html.split(&format!(r#"value="{id}""#)).nth(1).is_some_and(|rest| rest.split('>').next().unwrap_or_default().contains("checked"));
    assert!(checked(&from_set.html, &feed.to_string()) && checked(&from_set.html, &other.to_string()));
    let from_customer = browser.get(&format!("/posts/new?customer={bistro}")).await;
    assert!(checked(&from_customer.html, &feed.to_string()) && !checked(&from_customer.html, &other.to_string()));
    // "Insert signature" without JavaScript: the form comes back with it.
    let signatures = browser.api(Method::GET, "/api/signatures", None).await;
    let signature = signatures[0]["id"].as_str().unwrap().to_string();
    let inserted = browser.post_parts("/posts/new", &[("content", crate::browser::Part::Text("Soup of the day")), ("action", crate::browser::Part::Text(&format!("signature:{signature}")))]).await;
    assert!(inserted.html.contains("Soup of the day\n\n— The Bistro team</textarea>"), "{}", inserted.html);

    // The calendar and the list filter by customer and tag; tags show their colour.
    let at = (chrono::Utc::now() + chrono::Duration::hours(30)).to_rfc3339();
    let tagged = browser.api(Method::POST, "/api/posts", Some(json!({"content": "Launch menu", "platforms": [feed], "scheduledFor": at, "tags": ["launch"]}))).await;
    assert!(tagged["id"].is_string(), "{tagged}");
    browser.api(Method::POST, "/api/posts", Some(json!({"content": "Other news", "platforms": [other], "scheduledFor": at}))).await;
    let day = (chrono::Utc::now() + chrono::Duration::hours(30)).format("%Y-%m-%d").to_string();
    let calendar = browser.get(&format!("/calendar?view=week&date={day}&customer={bistro}")).await;
    assert!(calendar.html.contains("Launch menu") && !calendar.html.contains("Other news"));
    assert!(calendar.html.contains(r##"fill="#ff0000""##) && calendar.html.contains("tagged launch"));
    let by_tag = browser.get("/posts?tag=launch").await;
    assert!(by_tag.html.contains("Launch menu") && !by_tag.html.contains("Other news"));
});
