//! The rules of Herald's OAuth 2.1 authorization server for MCP clients
//! (MCP authorization, revision 2025-06-18): which redirect URIs a client
//! may register and how a request's URI is matched against them (RFC 8252
//! loopback ports), PKCE S256 (RFC 7636), the opaque tokens handed out, and
//! which scopes the consent page offers ticked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use crate::api_key::{Scope, Scopes, hash_key};
use crate::secret::constant_time_eq;

/// Prefixes tell a token's kind at a glance (and in a leaked-secret scan).
pub const ACCESS_PREFIX: &str = "hat_";
pub const REFRESH_PREFIX: &str = "hrt_";
pub const CODE_PREFIX: &str = "hac_";
pub const CLIENT_SECRET_PREFIX: &str = "hcs_";
const RANDOM_LEN: usize = 48;

/// A freshly made token: the plaintext goes to the client once, the hash
/// to the database (as for API keys: random input, so SHA-256 suffices).
pub struct OpaqueToken {
    pub plaintext: String,
    pub hash: String,
}

impl OpaqueToken {
    pub fn generate(prefix: &str) -> Self {
        let plaintext = format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN));
        Self { hash: hash_key(&plaintext), plaintext }
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(****)")
    }
}

/// Whether a bearer token has the shape of an OAuth access token.
pub fn looks_like_access_token(token: &str) -> bool {
    token.len() == ACCESS_PREFIX.len() + RANDOM_LEN
        && token.starts_with(ACCESS_PREFIX)
        && token[ACCESS_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Schemes a redirect must never use: they run code or read local files.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "file", "vbscript", "about", "blob", "ws", "wss", "ftp"];

/// Checks one redirect URI of a registration: `https`, `http` only on a
/// loopback host (a native app's local listener, RFC 8252 §7.3), or a
/// private-use scheme (`cursor://…`, `com.example.app:/cb`, §7.1); never a
/// fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|_| format!("`{raw}` is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("`{raw}` has a fragment; redirect URIs may not"));
    }
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => {
            Err(format!("`{raw}`: plain http is allowed only for loopback addresses (127.0.0.1, [::1], localhost)"))
        }
        "https" => Err(format!("`{raw}` names no host")),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!("`{raw}`: the `{scheme}` scheme is not allowed")),
        _ => Ok(url),
    }
}

/// Whether a URL names this machine (`localhost`, 127.0.0.0/8, `[::1]`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the redirect URI of an authorization request is one the client
/// registered: the same string, except that a loopback `http` URI may use
/// any port (the app listens on whatever port is free, RFC 8252 §7.3).
pub fn redirect_matches(registered: &[String], given: &str) -> bool {
    if registered.iter().any(|r| r == given) {
        return true;
    }
    let Ok(given) = url::Url::parse(given) else { return false };
    if given.scheme() != "http" || !is_loopback(&given) {
        return false;
    }
    registered.iter().filter_map(|r| url::Url::parse(r).ok()).any(|r| {
        r.scheme() == "http"
            && is_loopback(&r)
            && r.host() == given.host()
            && r.path() == given.path()
            && r.query() == given.query()
            && r.username() == given.username()
            && r.password() == given.password()
    })
}

/// The source a page's `form-action` directive needs so that a form posted
/// to Herald may redirect there: the origin for http(s), the scheme for a
/// private-use URI.
pub fn csp_source(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

/// A PKCE code challenge as the authorization request gives it: 43
/// base64url characters (a SHA-256), method `S256` only — `plain` would let
/// whoever sees the request redeem the code.
pub fn check_code_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, String> {
    let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
        return Err("code_challenge is required (PKCE with S256)".into());
    };
    match method {
        Some("S256") => {}
        Some(other) => return Err(format!("code_challenge_method `{other}` is not supported; use S256")),
        None => return Err("code_challenge_method is required and must be S256".into()),
    }
    let valid = challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err("code_challenge must be the base64url SHA-256 of the verifier (43 characters)".into());
    }
    Ok(challenge.to_string())
}

/// Whether `verifier` (43–128 unreserved characters) hashes to `challenge`.
pub fn verify_pkce(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// The scopes a space-separated `scope` parameter names; words Herald does
/// not know (`openid`, `offline_access` …) are ignored, as RFC 6749 §3.3
/// lets a server do.
pub fn requested_scopes(raw: Option<&str>) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = raw.unwrap_or_default().split_whitespace().filter_map(Scope::parse).collect();
    scopes.sort_by_key(|s| Scope::ALL.iter().position(|x| x == s));
    scopes.dedup();
    scopes
}

/// What the consent page offers ticked: what the client asked for, never
/// `posts:publish` (an assistant prepares drafts unless the person decides
/// otherwise), and without a request everything but publishing.
pub fn prechecked_scopes(requested: &[Scope]) -> Vec<Scope> {
    let base: Vec<Scope> = if requested.is_empty() { Scope::ALL.to_vec() } else { requested.to_vec() };
    let picked: Vec<Scope> = base.into_iter().filter(|s| *s != Scope::PostsPublish).collect();
    if picked.is_empty() { vec![Scope::PostsRead, Scope::PostsWrite, Scope::IntegrationsRead] } else { picked }
}

/// The path of the one protected resource: the MCP endpoint.
pub const RESOURCE_PATH: &str = "/api/mcp";

/// The resource URI of the MCP endpoint under a base URL.
pub fn resource_uri(base: &str) -> String {
    format!("{}{RESOURCE_PATH}", base.trim_end_matches('/'))
}

/// Whether an RFC 8707 `resource` names Herald's MCP endpoint under one of
/// `bases`: same origin, path `/api/mcp` (a trailing slash tolerated), no
/// query or fragment.
pub fn resource_matches(raw: &str, bases: &[String]) -> bool {
    let Ok(url) = url::Url::parse(raw) else { return false };
    if url.fragment().is_some() || url.query().is_some() || url.path().trim_end_matches('/') != RESOURCE_PATH {
        return false;
    }
    bases.iter().filter_map(|b| url::Url::parse(b).ok()).any(|base| base.origin() == url.origin())
}

/// The `scope` value of a token answer: space-separated, canonical order.
pub fn scope_string(scopes: &Scopes) -> String {
    scopes.as_strings().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_loopback_or_private_use() {
        assert!(check_redirect_uri("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
        assert!(check_redirect_uri("http://localhost/callback").is_ok());
        assert!(check_redirect_uri("http://[::1]:8080/cb").is_ok());
        assert!(check_redirect_uri("cursor://anysphere.cursor-retrieval/oauth/callback").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth2redirect").is_ok());
        assert!(check_redirect_uri("http://example.com/callback").is_err());
        assert!(check_redirect_uri("https://example.com/cb#frag").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("data:text/html,hi").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn redirects_match_exactly_except_loopback_ports() {
        let registered = vec!["http://127.0.0.1/callback".to_string(), "https://app.example/cb".to_string()];
        assert!(redirect_matches(&registered, "https://app.example/cb"));
        assert!(redirect_matches(&registered, "http://127.0.0.1:51234/callback"));
        assert!(!redirect_matches(&registered, "https://app.example/cb/"));
        assert!(!redirect_matches(&registered, "https://app.example:8443/cb"));
        assert!(!redirect_matches(&registered, "http://127.0.0.1:51234/other"));
        assert!(!redirect_matches(&registered, "http://localhost:51234/callback"));
        assert!(!redirect_matches(&registered, "https://evil.example/cb"));
        let localhost = vec!["http://localhost:3000/cb".to_string()];
        assert!(redirect_matches(&localhost, "http://localhost:49152/cb"));
    }

    #[test]
    fn csp_sources_name_the_origin_or_the_scheme() {
        assert_eq!(csp_source("https://claude.ai/api/mcp/auth_callback").as_deref(), Some("https://claude.ai"));
        assert_eq!(csp_source("http://127.0.0.1:5173/cb").as_deref(), Some("http://127.0.0.1:5173"));
        assert_eq!(csp_source("cursor://x/y").as_deref(), Some("cursor:"));
    }

    #[test]
    fn pkce_is_s256_only_and_verified() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify_pkce(verifier, challenge));
        assert!(!verify_pkce("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge));
        assert!(!verify_pkce("short", challenge));
        assert!(check_code_challenge(Some(challenge), Some("S256")).is_ok());
        assert!(check_code_challenge(Some(challenge), Some("plain")).is_err());
        assert!(check_code_challenge(Some(challenge), None).is_err());
        assert!(check_code_challenge(None, Some("S256")).is_err());
        assert!(check_code_challenge(Some("abc"), Some("S256")).is_err());
    }

    #[test]
    fn publishing_is_never_prechecked() {
        let all =
            requested_scopes(Some("posts:read posts:write posts:publish analytics:read integrations:read openid"));
        assert_eq!(all.len(), 5);
        assert!(!prechecked_scopes(&all).contains(&Scope::PostsPublish));
        assert_eq!(prechecked_scopes(&[]).len(), 4);
        assert_eq!(prechecked_scopes(&[Scope::PostsPublish]).len(), 3);
        assert_eq!(prechecked_scopes(&[Scope::PostsRead]), vec![Scope::PostsRead]);
    }

    #[test]
    fn resources_name_the_mcp_endpoint_of_this_server() {
        let bases = vec!["https://herald.example.com".to_string(), "http://127.0.0.1:5000".to_string()];
        assert!(resource_matches("https://herald.example.com/api/mcp", &bases));
        assert!(resource_matches("https://herald.example.com:443/api/mcp/", &bases));
        assert!(resource_matches("http://127.0.0.1:5000/api/mcp", &bases));
        assert!(!resource_matches("http://127.0.0.1:5001/api/mcp", &bases));
        assert!(!resource_matches("https://evil.example/api/mcp", &bases));
        assert!(!resource_matches("https://herald.example.com/api/posts", &bases));
        assert!(!resource_matches("https://herald.example.com/api/mcp#x", &bases));
        assert!(!resource_matches("not a url", &bases));
        assert_eq!(resource_uri("https://h.example/"), "https://h.example/api/mcp");
    }

    #[test]
    fn tokens_have_their_prefix_and_hide_in_debug() {
        let token = OpaqueToken::generate(ACCESS_PREFIX);
        assert!(looks_like_access_token(&token.plaintext));
        assert!(!looks_like_access_token(&OpaqueToken::generate(REFRESH_PREFIX).plaintext));
        assert_eq!(token.hash, hash_key(&token.plaintext));
        assert!(!format!("{token:?}").contains(&token.plaintext));
    }
}
