//! What a hostile page in the victim's browser can do: forge API requests
//! that carry the session cookie (refused), send the person to another site
//! after signing in (refused), or find signed-in pages in a cache (never
//! stored). And malformed ids in page paths get the HTML page, not text.

use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

use crate::browser::Browser;

/// The browser's cookie jar, sending a request as a page of `origin` would.
fn from_origin(
    browser: &Browser,
    method: reqwest::Method,
    path: &str,
    origin: Option<&str>,
    fetch_site: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut request = browser.http.request(method, format!("{}{path}", browser.base));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(site) = fetch_site {
        request = request.header("sec-fetch-site", site);
    }
    request
}

db_test!(async fn cookie_requests_from_other_sites_are_refused(app) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let draft = browser.api(reqwest::Method::POST, "/api/posts", Some(json!({"content": "draft", "status": "DRAFT"}))).await;
    let draft = id_of(&draft);
    let publish = format!("/api/posts/{draft}/publish");
    for (origin, site) in [(Some("https://evil.example"), None), (Some("null"), None), (None, Some("cross-site")), (None, Some("same-site"))] {
        let refused = from_origin(&browser, reqwest::Method::POST, &publish, origin, site).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{origin:?} {site:?}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "FORBIDDEN");
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(TINY_PNG.to_vec()).file_name("a.png"));
        let upload = from_origin(&browser, reqwest::Method::POST, "/api/media", origin, site).multipart(form).send().await.unwrap();
        assert_eq!(upload.status(), 403, "upload {origin:?} {site:?}");
    }
    let post = browser.api(reqwest::Method::GET, &format!("/api/posts/{draft}"), None).await;
    assert_eq!(post["status"], "DRAFT", "nothing was published");
    assert_eq!(browser.api(reqwest::Method::GET, "/api/media", None).await["media"], json!([]), "nothing was uploaded");
    // Herald's own pages (same origin) and reads from anywhere still work.
    let own = from_origin(&browser, reqwest::Method::PUT, &format!("/api/posts/{draft}"), Some(&app.address), Some("same-origin"))
        .json(&json!({"content": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let read = from_origin(&browser, reqwest::Method::GET, "/api/posts", Some("https://evil.example"), Some("cross-site")).send().await.unwrap();
    assert_eq!(read.status(), 200);
    // An API key is not sent by browsers on their own: any origin may use it.
    let ada = app.register("ada2@example.com").await;
    let key = ada.api_key(None).await;
    let keyed = reqwest::Client::new()
        .post(format!("{}/api/posts", app.address))
        .bearer_auth(&key)
        .header("origin", "https://automation.example")
        .json(&json!({"content": "from a tool", "status": "DRAFT"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 201);
});

db_test!(async fn signing_in_never_leads_off_site(app) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    browser.post("/logout", &[]).await;
    for next in ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example", "/x\r\nSet-Cookie: a=b", "/..//evil.example"] {
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let page = browser.get(&format!("/login?next={encoded}")).await;
        assert_eq!(page.status, 200, "{next:?}");
        assert!(page.html.contains(r#"name="next" value="/""#), "{next:?}");
        let signed_in = browser.post("/login", &[("email", "ada@example.com"), ("password", herald_testkit::PASSWORD), ("next", next)]).await;
        assert_eq!((signed_in.status, signed_in.location.as_str()), (303, "/"), "{next:?}");
        browser.post("/logout", &[]).await;
    }
    let page = browser.get("/login?next=%2Fcalendar%3Fview%3Dweek").await;
    assert!(page.html.contains(r#"name="next" value="/calendar?view=week""#));
    let signed_in = browser.post("/login", &[("email", "ada@example.com"), ("password", herald_testkit::PASSWORD), ("next", "/calendar?view=week")]).await;
    assert_eq!(signed_in.location, "/calendar?view=week");
});

db_test!(async fn signed_in_pages_are_never_cached_and_bad_ids_get_the_html_page(app) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    for path in ["/", "/posts", "/settings", "/calendar"] {
        let response = browser.http.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let css = browser.http.get(format!("{}/static/app.css", app.address)).send().await.unwrap();
    assert_ne!(css.headers()["cache-control"], "no-store");
    for path in ["/posts/not-a-uuid/edit", "/posts/1/edit"] {
        let response = browser.http.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<main id=\"main\"") || html.contains("Not found"), "{path}: {html}");
    }
    for (path, fields) in [("/posts/x/delete", vec![]), ("/settings/api-keys/x/revoke", vec![])] {
        let page = browser.post(path, &fields).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.html.contains("Not found"), "{path}");
    }
});
