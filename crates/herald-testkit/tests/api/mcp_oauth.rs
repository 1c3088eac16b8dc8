//! Herald as the OAuth 2.1 authorization server of its MCP endpoint, over
//! raw HTTP as a client sees it: discovery (RFC 9728, RFC 8414), dynamic
//! registration (RFC 7591), the consent page (its CSP, its choices), PKCE,
//! codes, rotating refresh tokens, resource indicators (RFC 8707),
//! revocation (RFC 7009) and connected apps in settings. The official SDK
//! clients run the whole flow in `herald::cli::mcp`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_store::repo::ApiKeys;
use herald_testkit::{TestApp, TestOptions, db_test};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::browser::Browser;
use crate::mcp_rpc::{mcp_session, tool};

const REDIRECT: &str = "http://127.0.0.1:33418/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-a-long-enough-verifier";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn register_client(app: &TestApp, metadata: Value) -> (u16, Value) {
    let answer = http().post(format!("{}/oauth/register", app.address)).json(&metadata).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap_or(Value::Null))
}

async fn public_client(app: &TestApp) -> String {
    let (status, client) = register_client(
        app,
        json!({"client_name": "Test Assistant", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
               "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    client["client_id"].as_str().unwrap().to_string()
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let answer = http().post(format!("{}/oauth/token", app.address)).form(form).send().await.unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store");
    (answer.status().as_u16(), answer.json().await.unwrap_or(Value::Null))
}

fn authorize_query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "st<&>ate"),
    ];
    for (key, value) in extra {
        pairs.retain(|(k, _)| k != key);
        pairs.push((key, value));
    }
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("/oauth/authorize?{query}")
}

/// The hidden fields of the consent form, to post them back.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|tag| {
            let name = tag.split("name=\"").nth(1)?.split('"').next()?;
            let value = tag.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_string(), unescape(value)))
        })
        .collect()
}

/// HTML character references as askama writes them (`&#60;`, `&amp;` …).
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find(';') else { break };
        let entity = &rest[start + 1..start + end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map_or_else(
                    || entity.strip_prefix('#').and_then(|n| n.parse().ok()),
                    |hex| u32::from_str_radix(hex, 16).ok(),
                )
                .and_then(char::from_u32),
        };
        out.push(decoded.unwrap_or('?'));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Consents on the page (as the signed-in browser) and returns the code.
async fn consent(browser: &mut Browser, client_id: &str, scopes: &[&str], extra: &[(&str, &str)]) -> String {
    let page = browser.get(&authorize_query(client_id, extra)).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let workspace = page.html.split("<option value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let mut fields = hidden_fields(&page.html);
    fields.push(("workspace".into(), workspace));
    fields.extend(scopes.iter().map(|s| ("scopes".to_string(), s.to_string())));
    fields.push(("decision".into(), "allow".into()));
    let borrowed: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let answer = browser.post_raw("/oauth/authorize", &borrowed).await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    assert!(answer.location.starts_with(REDIRECT), "{}", answer.location);
    let query = query_of(&answer.location);
    assert_eq!(query["state"], "st<&>ate");
    query["code"].clone()
}

async fn redeem(app: &TestApp, client_id: &str, code: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
            ("resource", &format!("{}/api/mcp", app.address)),
        ],
    )
    .await
}

async fn mcp_status(app: &TestApp, bearer: &str) -> reqwest::Response {
    http()
        .post(format!("{}/api/mcp", app.address))
        .bearer_auth(bearer)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap()
}

db_test!(async fn discovery_starts_from_the_401_of_the_mcp_endpoint(app) {
    let base = &app.address;
    let refused = http().post(format!("{base}/api/mcp")).json(&json!({})).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_string();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/api/mcp");
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{metadata_url}\""));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    let wrong = mcp_status(&app, &format!("hat_{}", "x".repeat(48))).await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));

    for path in ["/.well-known/oauth-protected-resource/api/mcp", "/.well-known/oauth-protected-resource"] {
        let resource: Value = http().get(format!("{base}{path}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(resource["resource"], format!("{base}/api/mcp"));
        assert_eq!(resource["authorization_servers"], json!([base]));
        assert_eq!(resource["bearer_methods_supported"], json!(["header"]));
        assert!(resource["scopes_supported"].as_array().unwrap().contains(&json!("posts:publish")));
    }
    let answer = http().get(format!("{base}/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let server: Value = answer.json().await.unwrap();
    assert_eq!(server["issuer"], base.as_str());
    assert_eq!(server["authorization_endpoint"], format!("{base}/oauth/authorize"));
    assert_eq!(server["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(server["registration_endpoint"], format!("{base}/oauth/register"));
    assert_eq!(server["revocation_endpoint"], format!("{base}/oauth/revoke"));
    assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(server["response_types_supported"], json!(["code"]));
    assert_eq!(server["grant_types_supported"], json!(["authorization_code", "refresh_token"]));
});

db_test!(async fn registration_answers_201_and_refuses_unsafe_redirects(app) {
    let (status, client) = register_client(
        &app,
        json!({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "logo_uri": "https://claude.ai/logo.png"}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    assert!(client["client_id"].as_str().is_some_and(|id| !id.is_empty()));
    // RFC 7591's default authentication method is client_secret_basic.
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert!(client["client_secret"].as_str().unwrap().starts_with("hcs_"));
    assert_eq!(client["client_secret_expires_at"], 0);
    assert_eq!(client["redirect_uris"], json!(["https://claude.ai/api/mcp/auth_callback"]));
    assert_eq!(client["logo_uri"], "https://claude.ai/logo.png");
    assert_eq!(client["grant_types"], json!(["authorization_code", "refresh_token"]));

    for (metadata, error) in [
        (json!({"redirect_uris": ["http://evil.example/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["javascript:alert(1)"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://app.example/cb#x"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({"client_name": "x"}), "invalid_redirect_uri"),
        (json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}), "invalid_client_metadata"),
        (json!([1, 2]), "invalid_client_metadata"),
    ] {
        let (status, body) = register_client(&app, metadata.clone()).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{metadata} → {body}");
        assert!(body["error_description"].is_string());
    }
});

db_test!(async fn the_consent_page_checks_the_request_and_never_prechecks_publishing(app) {
    let client_id = public_client(&app).await;
    let mut browser = Browser::new(&app);
    // Signed out: sign in first, then back to the same request.
    let query = authorize_query(&client_id, &[]);
    let signed_out = browser.get(&query).await;
    assert_eq!(signed_out.status, 303);
    assert!(signed_out.location.starts_with("/login?next=%2Foauth%2Fauthorize%3F"), "{}", signed_out.location);
    browser.register("ada@example.com").await;

    let all = "posts:read posts:write posts:publish analytics:read integrations:read";
    let page = browser.get(&authorize_query(&client_id, &[("scope", all)])).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Test Assistant") && page.html.contains("127.0.0.1:33418"));
    assert!(page.html.contains(r#"value="posts:write" checked"#), "{}", page.html);
    assert!(page.html.contains(r#"value="posts:publish">"#), "publishing is never pre-checked");
    // The form may end at the client's redirect URI, and only there.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:33418;"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));

    // Unknown client or unregistered redirect: an error page, no redirect.
    for bad in [
        authorize_query("no-such-client", &[]),
        authorize_query(&client_id, &[("redirect_uri", "https://evil.example/cb")]),
    ] {
        let page = browser.get(&bad).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.location.is_empty());
    }
    // A loopback redirect may use another port (RFC 8252).
    let other_port = browser.get(&authorize_query(&client_id, &[("redirect_uri", "http://127.0.0.1:5999/callback")])).await;
    assert_eq!(other_port.status, 200);
    // Other errors go back to the client, with its state.
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("resource", "https://evil.example/api/mcp")], "invalid_target"),
    ] {
        let page = browser.get(&authorize_query(&client_id, &extra)).await;
        assert_eq!(page.status, 303, "{extra:?}");
        let query = query_of(&page.location);
        assert_eq!(query["error"], error, "{extra:?}");
        assert_eq!(query["state"], "st<&>ate");
    }
    // Deny goes back with access_denied.
    let page = browser.get(&authorize_query(&client_id, &[])).await;
    let mut fields: Vec<(String, String)> = hidden_fields(&page.html);
    fields.push(("decision".into(), "deny".into()));
    let borrowed: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let denied = browser.post_raw("/oauth/authorize", &borrowed).await;
    assert_eq!(query_of(&denied.location)["error"], "access_denied");
    // Without the CSRF token the consent is refused.
    let forged: Vec<(&str, String)> =
        borrowed.iter().filter(|(k, _)| *k != "_csrf").map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(browser.post_raw("/oauth/authorize", &forged).await.status, 403);
});

db_test!(async fn codes_become_tokens_that_refresh_rotate_and_revoke(app, TestOptions::driven()) {
    let client_id = public_client(&app).await;
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let code = consent(&mut browser, &client_id, &["posts:read", "posts:write", "integrations:read"], &[]).await;
    assert!(code.starts_with("hac_"));

    // A wrong verifier fails; the right one succeeds once.
    let (status, body) = token(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &"x".repeat(50)), ("client_id", &client_id)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = token(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("client_id", &client_id), ("resource", "https://evil.example/api/mcp")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")));
    let (status, tokens) = redeem(&app, &client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "posts:read posts:write integrations:read");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // The token opens MCP sessions with the granted scopes: drafts only.
    let session = mcp_session(&app, &access).await;
    let accounts = tool(&app, &access, &session, "list_integrations", json!({})).await;
    assert_eq!(accounts["isError"], false, "{accounts}");
    // It is not a REST credential, nor a key for the path transport.
    assert_eq!(app.with_key(&access).get("/api/posts").await.status, 401);
    assert_eq!(http().post(format!("{}/api/mcp/{access}", app.address)).send().await.unwrap().status(), 401);

    // The app is listed in settings with its last use.
    let apps = browser.api(reqwest::Method::GET, "/api/connected-apps", None).await;
    assert_eq!(apps[0]["name"], "Test Assistant");
    assert_eq!(apps[0]["scopes"], json!(["posts:read", "posts:write", "integrations:read"]));
    assert!(apps[0]["lastUsedAt"].is_string());
    assert!(browser.api(reqwest::Method::GET, "/api/api-keys", None).await.as_array().unwrap().is_empty(), "grants are not API keys");

    // Past its lifetime the access token is refused; the refresh token rotates.
    app.clock().advance(std::time::Duration::from_secs(3601));
    assert_eq!(mcp_status(&app, &access).await.status(), 401);
    let (status, renewed) = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)]).await;
    assert_eq!(status, 200, "{renewed}");
    let new_refresh = renewed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    assert_eq!(mcp_status(&app, renewed["access_token"].as_str().unwrap()).await.status(), 200);
    // Reused long after its rotation, the old refresh token ends the grant.
    app.clock().advance(std::time::Duration::from_secs(120));
    let (status, body) = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", &new_refresh), ("client_id", &client_id)]).await;
    assert_eq!(status, 400, "the whole grant was revoked");
    assert!(browser.api(reqwest::Method::GET, "/api/connected-apps", None).await.as_array().unwrap().is_empty());

    // A code is single-use: replaying it revokes what it bought.
    let code = consent(&mut browser, &client_id, &["posts:read"], &[]).await;
    let (status, tokens) = redeem(&app, &client_id, &code).await;
    assert_eq!(status, 200);
    let (status, body) = redeem(&app, &client_id, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(mcp_status(&app, tokens["access_token"].as_str().unwrap()).await.status(), 401);

    // Revocation (RFC 7009) ends the grant; unknown tokens answer 200 too.
    let code = consent(&mut browser, &client_id, &["posts:read"], &[]).await;
    let (_, tokens) = redeem(&app, &client_id, &code).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(mcp_status(&app, access).await.status(), 200);
    let revoke = |token: String| {
        let client_id = client_id.clone();
        let url = format!("{}/oauth/revoke", app.address);
        async move { http().post(url).form(&[("token", token.as_str()), ("client_id", &client_id)]).send().await.unwrap().status() }
    };
    assert_eq!(revoke(tokens["refresh_token"].as_str().unwrap().to_string()).await, 200);
    assert_eq!(mcp_status(&app, access).await.status(), 401);
    assert_eq!(revoke("hrt_unknown".into()).await, 200);
});

db_test!(async fn confidential_clients_prove_their_secret(app) {
    let (_, client) = register_client(&app, json!({"client_name": "Server app", "redirect_uris": [REDIRECT]})).await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let code = consent(&mut browser, id, &["posts:read"], &[]).await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER), ("redirect_uri", REDIRECT)];
    let wrong = http().post(format!("{}/oauth/token", app.address)).basic_auth(id, Some("hcs_wrong")).form(&form).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "invalid_client");
    let (status, _) = token(&app, &[("client_id", id), form[0], form[1], form[2]]).await;
    assert_eq!(status, 401, "a confidential client without its secret");
    let right = http().post(format!("{}/oauth/token", app.address)).basic_auth(id, Some(secret)).form(&form).send().await.unwrap();
    assert_eq!(right.status(), 200);
});

db_test!(async fn revoking_a_connected_app_ends_its_open_session(app) {
    let client_id = public_client(&app).await;
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let code = consent(&mut browser, &client_id, &["posts:read", "posts:write"], &[]).await;
    let (_, tokens) = redeem(&app, &client_id, &code).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let session = mcp_session(&app, &access).await;
    assert_eq!(tool(&app, &access, &session, "list_posts", json!({})).await["isError"], false);

    // Another person can neither see nor revoke it.
    let eve = app.register("eve@example.com").await;
    assert_eq!(eve.session.get("/api/connected-apps").await.expect(200), &json!([]));
    let apps = browser.api(reqwest::Method::GET, "/api/connected-apps", None).await;
    let id = apps[0]["id"].as_str().unwrap().to_string();
    eve.session.delete(&format!("/api/connected-apps/{id}")).await.expect_error(404, "NOT_FOUND");
    // Keys cannot manage connected apps.
    let key = eve.api_key(None).await;
    app.with_key(&key).get("/api/connected-apps").await.expect_error(403, "FORBIDDEN");

    // The settings page lists it and revokes it.
    let settings = browser.get("/settings").await;
    assert!(settings.html.contains("Test Assistant"), "{}", settings.html);
    let revoked = browser.post(&format!("/settings/connected-apps/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(mcp_status(&app, &access).await.status(), 401);
    // The open session ends within seconds (checked every 2 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        let answer = http()
            .post(format!("{}/api/mcp", app.address))
            .bearer_auth(&access)
            .header("mcp-session-id", &session)
            .header("accept", "application/json, text/event-stream")
            .json(&call)
            .send()
            .await
            .unwrap();
        if answer.status() == 401 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the session outlived its revocation");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(browser.api(reqwest::Method::GET, "/api/connected-apps", None).await.as_array().unwrap().is_empty());
});

db_test!(async fn the_401_keeps_the_connection_open_for_the_discovery_that_follows(app) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An OAuth client sends its first MCP request without a token, then asks
    // for the metadata on the same keep-alive connection.
    let address = app.address.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"padding": "x".repeat(20_000)}}).to_string();
    let head = format!(
        "POST /api/mcp HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // The body arrives a little after the head, as on a busy network: the
    // refusal must not be sent (and the connection given up) before it.
    socket.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    socket.write_all(body.as_bytes()).await.unwrap();
    let second = format!("GET /.well-known/oauth-protected-resource/api/mcp HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut sent_second = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let read = tokio::time::timeout(std::time::Duration::from_millis(300), socket.read(&mut buffer)).await;
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
            Ok(Err(_)) => break,
            Err(_) if !sent_second && String::from_utf8_lossy(&seen).contains("HTTP/1.1 401") => {
                socket.write_all(second.as_bytes()).await.unwrap();
                sent_second = true;
            }
            Err(_) if sent_second => break,
            Err(_) => {}
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(text.contains("HTTP/1.1 200") && text.contains("authorization_servers"), "the connection was closed after the 401: {text}");
});

db_test!(async fn malformed_token_requests_get_oauth_errors(app) {
    let client_id = public_client(&app).await;
    let url = format!("{}/oauth/token", app.address);
    let as_json = http().post(&url).json(&json!({"grant_type": "authorization_code"})).send().await.unwrap();
    assert_eq!(as_json.status(), 400);
    assert_eq!(as_json.json::<Value>().await.unwrap()["error"], "invalid_request");
    for (form, error) in [
        (vec![("client_id", client_id.as_str())], "invalid_request"),
        (vec![("grant_type", "password"), ("client_id", &client_id)], "unsupported_grant_type"),
        (vec![("grant_type", "authorization_code"), ("client_id", &client_id)], "invalid_request"),
        (vec![("grant_type", "authorization_code"), ("client_id", &client_id), ("code", "hac_nope"), ("code_verifier", VERIFIER)], "invalid_grant"),
        (vec![("grant_type", "refresh_token"), ("client_id", &client_id), ("refresh_token", "hrt_nope")], "invalid_grant"),
        (vec![("grant_type", "refresh_token"), ("client_id", "unknown")], "invalid_client"),
        (vec![("grant_type", "refresh_token"), ("client_id", &client_id), ("client_id", &client_id)], "invalid_request"),
    ] {
        let (status, body) = token(&app, &form).await;
        assert_eq!(body["error"], error, "{form:?} → {body}");
        assert_eq!(status, if error == "invalid_client" { 401 } else { 400 }, "{form:?}");
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    }
});

db_test!(async fn the_sweep_ends_grants_whose_tokens_all_expired(app, TestOptions::driven()) {
    let client_id = public_client(&app).await;
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let code = consent(&mut browser, &client_id, &["posts:read"], &[]).await;
    let (status, _) = redeem(&app, &client_id, &code).await;
    assert_eq!(status, 200);
    let ada = browser.account(&app).await;
    let grants = || async { ApiKeys(app.store.conn()).connected_apps(ada.id).await.unwrap().len() };
    // Nothing has expired yet: the grant stays.
    app.app.sweep_mcp_tokens().await.unwrap();
    assert_eq!(grants().await, 1);
    // Past the refresh token's 30 days the app can no longer act: swept away.
    app.clock().advance(std::time::Duration::from_secs(31 * 24 * 3600));
    assert!(app.app.sweep_mcp_tokens().await.unwrap() >= 3, "the code, both tokens and the grant");
    assert_eq!(grants().await, 0);
});
