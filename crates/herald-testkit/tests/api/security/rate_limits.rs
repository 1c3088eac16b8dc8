//! Budgets that hold: the API counts against a verified credential or the
//! client's address (a made-up `Authorization` header or `X-Forwarded-For`
//! buys nothing), pages have their own budget, and failed sign-ins are
//! throttled per address even with every rate limit off.

use std::time::Duration;

use herald_testkit::{PASSWORD, TestOptions, db_test};
use serde_json::json;

use crate::browser::Browser;

fn limited(per_minute: u32) -> TestOptions {
    TestOptions { rate_limit: per_minute, rate_limit_ui: 1000, ..TestOptions::default() }
}

fn random_key() -> String {
    format!("ptz_{}", uuid::Uuid::new_v4().simple()).chars().take(44).collect()
}

db_test!(async fn made_up_credentials_buy_no_fresh_budget(app, limited(5)) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    // Registering spent one request of this address's budget of five.
    for _ in 0..4 {
        app.with_authorization(&format!("Bearer {}", random_key())).get("/api/posts").await.expect_error(401, "UNAUTHORIZED");
    }
    for forged in [format!("Bearer {}", random_key()), "Bearer not-a-jwt".to_string(), "ptz_short".to_string()] {
        let refused = app.with_authorization(&forged).get("/api/posts").await;
        refused.expect_error(429, "RATE_LIMITED");
        assert!(refused.header("retry-after").is_some());
    }
    // A verified key has a budget of its own.
    for _ in 0..5 {
        app.with_key(&key).get("/api/posts").await.expect(200);
    }
    app.with_key(&key).get("/api/posts").await.expect_error(429, "RATE_LIMITED");
    // Pages and static files are counted apart, and media and health never.
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/login").await.status, 200);
    assert_eq!(browser.http.get(format!("{}/static/app.css", app.address)).send().await.unwrap().status(), 200);
    app.anonymous().get("/api/health").await.expect(200);
});

db_test!(async fn forwarded_addresses_count_only_from_trusted_proxies(app, limited(2)) {
    let from = |address: &str| {
        let address = address.to_string();
        let app = &app;
        async move {
            reqwest::Client::new()
                .get(format!("{}/api/platforms", app.address))
                .header("x-forwarded-for", address)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The test client is not a trusted proxy: every spoofed address is one client.
    assert_eq!([from("198.51.100.1").await, from("198.51.100.2").await, from("198.51.100.3").await], [200, 200, 429]);
});

db_test!(async fn behind_a_trusted_proxy_each_forwarded_client_has_its_budget(app, TestOptions { trusted_proxies: "127.0.0.1, ::1".into(), ..limited(2) }) {
    let from = |address: &'static str| {
        let app = &app;
        async move {
            reqwest::Client::new()
                .get(format!("{}/api/platforms", app.address))
                .header("x-forwarded-for", address)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!([from("198.51.100.1").await, from("198.51.100.1").await, from("198.51.100.1").await], [200, 200, 429]);
    assert_eq!(from("198.51.100.2").await, 200, "another client behind the proxy");
});

db_test!(async fn pages_have_a_generous_budget_of_their_own(app, TestOptions { rate_limit: 1, rate_limit_ui: 3, ..TestOptions::default() }) {
    let mut browser = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(browser.get("/login").await.status, 200);
    }
    let refused = browser.get("/login").await;
    assert_eq!(refused.status, 429);
    // The API budget was not touched by the pages.
    app.anonymous().get("/api/platforms").await.expect(200);
});

db_test!(async fn failed_sign_ins_are_throttled_per_address_even_with_limits_off(app) {
    let ada = app.register("ada@example.com").await;
    let anonymous = app.anonymous();
    let login = |password: &str| anonymous.post("/api/auth/login", json!({"email": "ADA@example.com", "password": password}));
    for _ in 0..herald_app::throttle::FREE_FAILURES {
        login("not the password!").await.expect_error(401, "UNAUTHORIZED");
    }
    // Locked: even the right password waits, and the answer says how long.
    let locked = login(PASSWORD).await;
    locked.expect_error(429, "RATE_LIMITED");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Other addresses are not affected; an unknown address is counted the same way.
    app.register("bob@example.com").await;
    app.anonymous().post("/api/auth/login", json!({"email": "bob@example.com", "password": PASSWORD})).await.expect(200);
    // The web form says so too.
    let mut browser = Browser::new(&app);
    browser.get("/login").await;
    let page = browser.post("/login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 429);
    assert!(page.html.contains("Too many failed sign-ins"), "{}", page.html);
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    login(PASSWORD).await.expect(200);
    // Success forgets the failures.
    login("not the password!").await.expect_error(401, "UNAUTHORIZED");
    let _ = ada;
});
