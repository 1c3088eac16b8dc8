//! The one HTTP client every provider uses: timeouts, no redirects (a
//! redirect could lead a request past the SSRF guard), the SSRF guard on
//! every request, and the mapping of transport failures and status codes to
//! error classes. Media downloads get their own client that follows a few
//! redirects, each hop checked by the guard.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;

use crate::net::{TargetGuard, is_refusal};
use crate::{ErrorClass, ProviderError, ProviderSettings};

/// Longest wait for a connection (within half the request timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects a media download may follow (CDNs and link shorteners use one or two).
pub const MAX_MEDIA_REDIRECTS: usize = 5;

/// Sends every request of Herald's to a platform or a user-given address.
/// Requests to an origin the operator configured
/// (`HERALD_PROVIDER_<ID>_API_BASE`: trusted configuration, DESIGN §9) go
/// out as they are; every other request passes the SSRF guard — its host
/// checked here when it is an IP literal, on its resolved addresses when it
/// is a name.
#[derive(Clone)]
pub struct HttpClient {
    guarded: reqwest::Client,
    trusted: reqwest::Client,
    guard: TargetGuard,
    trusted_origins: Arc<[url::Origin]>,
}

impl HttpClient {
    /// The client of platform calls: redirects are not followed.
    pub fn new(settings: &ProviderSettings) -> Self {
        let trusted_origins: Vec<url::Origin> = settings
            .api_base
            .values()
            .filter_map(|base| url::Url::parse(base).ok())
            .map(|base| base.origin())
            .filter(url::Origin::is_tuple)
            .collect();
        Self::build(settings, Policy::none, trusted_origins.into())
    }

    /// The client that downloads media from user-given URLs: follows up to
    /// [`MAX_MEDIA_REDIRECTS`] redirects, each hop checked by the SSRF
    /// guard. Media URLs are the user's, whatever host they name: none is trusted.
    pub fn media_fetcher(settings: &ProviderSettings) -> Self {
        let guard = TargetGuard::new(settings.allow_private_targets);
        let policy = move || {
            Policy::custom(move |attempt| {
                // `previous` holds every URL requested so far, the first one included.
                match check_redirect(&guard, attempt.url(), attempt.previous().len()) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => attempt.error(reason),
                }
            })
        };
        Self::build(settings, policy, Arc::from([]))
    }

    fn build(settings: &ProviderSettings, redirects: impl Fn() -> Policy, trusted: Arc<[url::Origin]>) -> Self {
        let guard = TargetGuard::new(settings.allow_private_targets);
        Self {
            guarded: client(settings, redirects()).dns_resolver(Arc::new(guard)).build().unwrap_or_else(no_tls),
            trusted: client(settings, redirects()).build().unwrap_or_else(no_tls),
            guard,
            trusted_origins: trusted,
        }
    }

    /// A client to build requests with; they are sent by [`HttpClient::send`].
    pub fn inner(&self) -> &reqwest::Client {
        &self.guarded
    }

    /// Sends a request; failures to get any answer become provider errors.
    /// The one place requests leave: whatever client built the request, it
    /// is sent by the guarded client unless its origin is the operator's.
    /// Errors never carry the URL (tokens live in paths and queries).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        let redact = reqwest::Error::without_url;
        let (_, request) = request.build_split();
        let request = request.map_err(|error| transport_error(&redact(error), false, "the platform"))?;
        let shown = herald_core::redact::url(request.url().as_str());
        let client = if self.trusted_origins.contains(&request.url().origin()) {
            &self.trusted
        } else {
            self.guard.check_host(request.url()).map_err(refused)?;
            &self.guarded
        };
        let idempotent = request.method().is_idempotent();
        client.execute(request).await.map_err(|error| transport_error(&redact(error), idempotent, &shown))
    }
}

fn client(settings: &ProviderSettings, redirects: Policy) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(settings.request_timeout)
        // Within the request's own timeout, so that a slow connection
        // fails as a connect error: nothing was sent, a retry is safe.
        .connect_timeout(CONNECT_TIMEOUT.min(settings.request_timeout / 2))
        .redirect(redirects)
        // A proxy from HTTP(S)_PROXY would resolve and connect to the
        // target itself, past the guarded resolver.
        .no_proxy()
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION"), " (+self-hosted social media scheduler)"))
}

/// Only a TLS backend that cannot start fails to build a client, and then
/// no client can be built; falling back to an unguarded client is worse.
fn no_tls(error: reqwest::Error) -> reqwest::Client {
    panic!("the HTTP client needs a working TLS backend: {error}")
}

/// The guard refused the address: nothing was sent, and asking again will
/// not change the answer.
fn refused(reason: String) -> ProviderError {
    ProviderError::invalid(format!("the address is not allowed: {reason}"))
}

/// Whether a download may follow a redirect to `url` after `requested`
/// requests: a bounded chain of http(s) URLs. IP-literal hosts never reach
/// the guarded resolver, so they are checked here; names are checked when
/// they resolve.
fn check_redirect(guard: &TargetGuard, url: &url::Url, requested: usize) -> Result<(), String> {
    if requested > MAX_MEDIA_REDIRECTS {
        return Err(format!("more than {MAX_MEDIA_REDIRECTS} redirects"));
    }
    guard.check_url(url.as_str()).map(|_| ()).map_err(|reason| format!("a redirect was refused — {reason}"))
}

/// What a request that got no answer means. A connection never made (or a
/// request never built) sent nothing, and repeating a GET changes nothing:
/// both are retryable. Otherwise the platform may have acted on it.
fn transport_error(error: &reqwest::Error, idempotent: bool, destination: &str) -> ProviderError {
    let chain = error_chain(error);
    if is_refusal(&chain) {
        // Only the guard's reason: how the refused address would have
        // answered must never show (a stored error would be a port scanner).
        let reason = chain.split(": ").find(|part| is_refusal(part)).unwrap_or(&chain);
        return ProviderError::invalid(format!("the address is not allowed: {reason}"));
    }
    if error.is_redirect() {
        return ProviderError::invalid(format!("the redirect was not followed: {chain}"));
    }
    let message = if error.is_timeout() {
        format!("{destination} did not answer in time")
    } else if error.is_connect() {
        format!("could not connect to {destination}: {chain}")
    } else {
        format!("the request to {destination} failed: {chain}")
    };
    let class = if error.is_connect() || error.is_builder() || idempotent {
        ErrorClass::Retryable { after: None }
    } else {
        ErrorClass::MaybeSent
    };
    ProviderError::new(class, message)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

/// `Retry-After` (seconds or HTTP date) or `x-rate-limit-reset` (epoch seconds).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(value) = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value) {
            return Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default());
        }
    }
    let reset = headers.get("x-rate-limit-reset").and_then(|v| v.to_str().ok())?.trim().parse::<i64>().ok()?;
    let at = DateTime::from_timestamp(reset, 0)?;
    Some((at - now).to_std().unwrap_or_default())
}

/// The usual meaning of an HTTP error status. Providers refine it where a
/// platform says more (error codes in bodies).
pub fn classify_status(status: StatusCode, retry_after: Option<Duration>) -> ErrorClass {
    match status.as_u16() {
        429 | 408 | 425 => ErrorClass::Retryable { after: retry_after },
        // The gateway gave up waiting for the platform, which may still act on it.
        504 => ErrorClass::MaybeSent,
        401 => ErrorClass::AuthExpired,
        403 => ErrorClass::Revoked,
        400..=499 => ErrorClass::Invalid,
        500..=599 => ErrorClass::Retryable { after: retry_after },
        _ => ErrorClass::Unknown,
    }
}

/// A response body shortened for an error message.
pub fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_dates_and_reset_epochs() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "Thu, 01 Jan 2026 00:01:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(60)));
        let mut reset = HeaderMap::new();
        reset.insert("x-rate-limit-reset", (now.timestamp() + 90).to_string().parse().unwrap());
        assert_eq!(retry_after(&reset, now), Some(Duration::from_secs(90)));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn redirects_are_bounded_and_checked_hop_by_hop() {
        let guard = TargetGuard::new(false);
        let url = |raw: &str| url::Url::parse(raw).unwrap();
        assert!(check_redirect(&guard, &url("https://cdn.example.com/a.png"), 1).is_ok());
        assert!(check_redirect(&guard, &url("https://cdn.example.com/a.png"), MAX_MEDIA_REDIRECTS).is_ok());
        let too_many = check_redirect(&guard, &url("https://cdn.example.com/a.png"), MAX_MEDIA_REDIRECTS + 1);
        assert!(too_many.unwrap_err().contains("more than 5 redirects"));
        for refused in ["http://127.0.0.1/a.png", "http://10.0.0.1/", "http://[::1]/", "http://169.254.169.254/"] {
            let reason = check_redirect(&guard, &url(refused), 1).unwrap_err();
            assert!(reason.contains("HERALD_ALLOW_PRIVATE_TARGETS"), "{refused}: {reason}");
        }
        assert!(check_redirect(&guard, &url("file:///etc/passwd"), 1).unwrap_err().contains("http:// or https://"));
        let open = TargetGuard::new(true);
        assert!(check_redirect(&open, &url("http://127.0.0.1/a.png"), 1).is_ok());
    }

    /// An HTTP/1.1 server on 127.0.0.1: `/file` is a file, `/to-file`
    /// redirects to it, `/loop` to itself, `/to-metadata` to the cloud
    /// metadata address. Counts the requests (one connection each).
    async fn redirecting_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (counter, own) = (Arc::clone(&requests), base.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let redirect = |to: &str| {
                    format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                };
                let answer = match head.split(' ').nth(1).unwrap_or("/") {
                    "/file" => "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nGIF89a".to_string(),
                    "/to-file" => redirect(&format!("{own}/file")),
                    "/loop" => redirect(&format!("{own}/loop")),
                    "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
                    _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string(),
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (base, requests)
    }

    fn fetcher(allow_private: bool) -> HttpClient {
        HttpClient::media_fetcher(&ProviderSettings {
            allow_private_targets: allow_private,
            ..ProviderSettings::default()
        })
    }

    #[tokio::test]
    async fn media_downloads_follow_allowed_redirects() {
        let (base, requests) = redirecting_server().await;
        let client = fetcher(true);
        let response = client.send(client.inner().get(format!("{base}/to-file"))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"GIF89a");
        assert_eq!(requests.load(Ordering::SeqCst), 2);

        let looping = client.send(client.inner().get(format!("{base}/loop"))).await.unwrap_err();
        assert_eq!(looping.class, ErrorClass::Invalid);
        assert!(looping.message.contains("more than 5 redirects"), "{}", looping.message);
        assert_eq!(requests.load(Ordering::SeqCst), 2 + 1 + MAX_MEDIA_REDIRECTS);
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_before_any_connection() {
        // Redirect hops are checked by `check_redirect` (above); the first
        // URL by `execute`, whichever client built the request.
        let (base, requests) = redirecting_server().await;
        for client in [fetcher(false), HttpClient::new(&ProviderSettings::default())] {
            for request in [client.inner().get(format!("{base}/to-file")), reqwest::Client::new().get(&base)] {
                let refused = client.send(request).await.unwrap_err();
                assert_eq!(refused.class, ErrorClass::Invalid);
                assert!(refused.message.contains("127.0.0.1 is a private address"), "{}", refused.message);
            }
        }
        assert_eq!(requests.load(Ordering::SeqCst), 0, "nothing was sent");
        // The operator's own API base is configuration, not user input; and
        // platform calls never follow redirects.
        let settings = ProviderSettings {
            api_base: [("x".to_string(), format!("{base}/"))].into(),
            ..ProviderSettings::default()
        };
        let platform = HttpClient::new(&settings);
        let answer = platform.send(platform.inner().get(format!("{base}/to-file"))).await.unwrap();
        assert_eq!(answer.status(), StatusCode::FOUND);
        assert_eq!(requests.load(Ordering::SeqCst), 1);
        // Trust is by origin: another port on the same host is still refused.
        let other = base.rsplit_once(':').map(|(host, _)| format!("{host}:9/")).unwrap();
        assert!(platform.send(platform.inner().get(other)).await.unwrap_err().message.contains("private address"));
    }

    /// Set in the child process of `proxy_variables_are_ignored`.
    const PROXY_CHILD: &str = "HERALD_TEST_PROXY_CHILD";

    #[test]
    fn proxy_variables_are_ignored() {
        // reqwest reads the proxy variables when a client is built, and
        // changing this process's environment is unsafe: the request is
        // made by a child run of this test binary with them set.
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "http::tests::a_guarded_request_with_proxy_variables_set", "--ignored"])
            .env(PROXY_CHILD, "1")
            .envs(["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"].map(|name| (name, proxy_url.as_str())))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap();
        assert!(child.status.success(), "{}", String::from_utf8_lossy(&child.stdout));
        assert!(proxy.accept().is_err(), "the proxy was asked to connect");
    }

    #[tokio::test]
    #[ignore = "run by proxy_variables_are_ignored, with proxy variables set"]
    async fn a_guarded_request_with_proxy_variables_set() {
        if std::env::var_os(PROXY_CHILD).is_none() {
            return;
        }
        let settings = ProviderSettings { request_timeout: Duration::from_secs(2), ..ProviderSettings::default() };
        let client = HttpClient::new(&settings);
        let refused = client.send(client.inner().get("http://localhost:9/")).await.unwrap_err();
        assert!(refused.message.contains("HERALD_ALLOW_PRIVATE_TARGETS"), "{}", refused.message);
    }

    /// A server that reads a request, waits `after`, writes `reply` and
    /// closes the connection.
    async fn server_answering(reply: &'static [u8], after: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    tokio::time::sleep(after).await;
                    let _ = socket.write_all(reply).await;
                });
            }
        });
        base
    }

    #[tokio::test]
    async fn requests_the_platform_may_have_acted_on_are_told_apart() {
        let settings = ProviderSettings {
            allow_private_targets: true,
            request_timeout: Duration::from_millis(500),
            ..ProviderSettings::default()
        };
        let client = HttpClient::new(&settings);
        let class = |result: Result<reqwest::Response, ProviderError>| result.unwrap_err().class;
        let retryable = ErrorClass::Retryable { after: None };

        // Sent, and no answer in time.
        let silent = server_answering(b"", Duration::from_secs(5)).await;
        assert_eq!(class(client.send(client.inner().post(&silent)).await), ErrorClass::MaybeSent);
        // Asking again changes nothing.
        assert_eq!(class(client.send(client.inner().get(&silent)).await), retryable);
        // Sent, and the answer broke off.
        let cut = server_answering(b"HTTP/1.1 200 OK\r\ncontent-le", Duration::ZERO).await;
        assert_eq!(class(client.send(client.inner().post(&cut)).await), ErrorClass::MaybeSent);
        // Never connected: nothing was sent.
        let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = format!("http://{}", nobody.local_addr().unwrap());
        drop(nobody);
        assert_eq!(class(client.send(client.inner().post(&refused)).await), retryable);
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(classify_status(StatusCode::TOO_MANY_REQUESTS, None), ErrorClass::Retryable { after: None });
        assert_eq!(classify_status(StatusCode::UNAUTHORIZED, None), ErrorClass::AuthExpired);
        assert_eq!(classify_status(StatusCode::FORBIDDEN, None), ErrorClass::Revoked);
        assert_eq!(classify_status(StatusCode::UNPROCESSABLE_ENTITY, None), ErrorClass::Invalid);
        assert_eq!(classify_status(StatusCode::BAD_GATEWAY, None), ErrorClass::Retryable { after: None });
        assert_eq!(classify_status(StatusCode::GATEWAY_TIMEOUT, None), ErrorClass::MaybeSent);
        assert_eq!(excerpt(&"x".repeat(400)).chars().count(), 301);
    }
}
