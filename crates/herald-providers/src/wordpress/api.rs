//! Talking to one WordPress site: where its REST API lives, how requests
//! are authenticated, and what its `WP_Error` answers mean.

use herald_core::html::html_to_text;
use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::http::{excerpt, retry_after};
use crate::{ErrorClass, HttpClient, ProviderError};

/// How the site routes REST requests. Sites with "plain" permalinks have no
/// `/wp-json/` path, but every site answers `/?rest_route=/wp/v2/...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestStyle {
    Pretty,
    Plain,
}

impl RestStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Plain => "plain",
        }
    }

    pub fn parse(raw: Option<&str>) -> Self {
        if raw == Some("plain") { Self::Plain } else { Self::Pretty }
    }
}

/// An answer that was not a redirect.
pub struct Answer {
    pub status: StatusCode,
    pub after: Option<Duration>,
    pub text: String,
}

/// A site and the user Herald acts as.
pub struct Site<'a> {
    pub client: &'a HttpClient,
    /// Without a trailing slash; may have a path (a site in a subdirectory).
    pub base: url::Url,
    pub style: RestStyle,
    pub username: &'a str,
    pub password: &'a str,
}

impl Site<'_> {
    /// The URL of a REST route such as `/wp/v2/posts`, with query parameters.
    pub fn endpoint(&self, route: &str, query: &[(&str, &str)]) -> url::Url {
        let mut url = self.base.clone();
        let path = url.path().trim_end_matches('/').to_string();
        match self.style {
            RestStyle::Pretty => url.set_path(&format!("{path}/wp-json{route}")),
            RestStyle::Plain => {
                url.set_path(&format!("{path}/"));
                url.query_pairs_mut().append_pair("rest_route", route);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub fn request(&self, method: Method, route: &str, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, self.endpoint(route, query))
            .basic_auth(self.username, Some(self.password))
            .header("accept", "application/json")
    }

    /// Sends a request; the status and body of any answer but a redirect,
    /// which is not followed (it could lead past the SSRF guard) but named.
    pub async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Answer, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("nowhere");
            return Err(ProviderError::invalid(format!(
                "WordPress answered {what} with {status}, a redirect to {location}; \
                 reconnect with the site's current address"
            )));
        }
        let after = retry_after(response.headers(), Utc::now());
        Ok(Answer { status, after, text: response.text().await.unwrap_or_default() })
    }

    /// Sends a request and reads a JSON answer, mapping errors.
    pub async fn call(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, ProviderError> {
        let Answer { status, after, text } = self.send(request, what).await?;
        if !status.is_success() {
            return Err(error_from(status, after, &text, what));
        }
        serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("WordPress answered {what} with something else than JSON: {}", excerpt(&text)),
            )
        })
    }
}

/// WordPress passwords for applications are shown in groups of four
/// (`abcd efgh …`); WordPress drops everything but letters and digits
/// before checking one, so Herald does the same once, at connect time.
pub fn normalise_application_password(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Reads a `WP_Error` answer (`{code, message, data: {status, params}}`).
pub fn error_from(status: StatusCode, after: Option<Duration>, body: &str, what: &str) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = parsed["code"].as_str().unwrap_or_default();
    // WordPress messages sometimes carry markup such as `<strong>Error:</strong>`.
    let mut said = parsed["message"].as_str().map(html_to_text).unwrap_or_else(|| excerpt(&html_to_text(body)));
    // rest_invalid_param names the parameters; the details say what is wrong with each.
    if let Some(params) = parsed["data"]["params"].as_object() {
        let details: Vec<String> =
            params.iter().map(|(name, why)| format!("{name}: {}", why.as_str().unwrap_or_default())).collect();
        if !details.is_empty() {
            said = format!("{said} ({})", details.join("; "));
        }
    }
    if said.is_empty() {
        said = status.to_string();
    }
    let coded = if code.is_empty() { said.clone() } else { format!("{said} [{code}]") };
    match status.as_u16() {
        // The site could not take the file (`rest_upload_sideload_error`,
        // `rest_upload_unknown_error`, quota, type…), 500 or not: a retry
        // would upload it again, into the library, for the same outcome.
        _ if code.starts_with("rest_upload_") => ProviderError::invalid(format!(
            "WordPress refused {what}: {coded} (not retried: each attempt would upload the file again)"
        )),
        401 => {
            let hint = if code == "rest_not_logged_in" {
                "the site did not see the login: it may strip the Authorization header, or need HTTPS for application passwords"
            } else {
                "check the username and create a new application password, then reconnect"
            };
            ProviderError::new(ErrorClass::Revoked, format!("WordPress refused the login for {what}: {coded}; {hint}"))
        }
        403 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "WordPress did not allow {what}: {coded}; the user's role lacks the permission — \
                 give them the Author role or higher, then reconnect"
            ),
        ),
        429 => ProviderError::new(ErrorClass::Retryable { after }, format!("WordPress rate limit on {what}: {coded}")),
        500..=599 => ProviderError::new(
            ErrorClass::Retryable { after },
            format!("WordPress answered {status} to {what}: {coded}"),
        ),
        400..=499 => ProviderError::invalid(format!("WordPress refused {what}: {coded}")),
        _ => ProviderError::new(ErrorClass::Unknown, format!("WordPress answered {status} to {what}: {coded}")),
    }
}

/// An id field as a number, whichever way it was sent.
pub fn id_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(base: &str, style: RestStyle) -> Site<'static> {
        static CLIENT: std::sync::OnceLock<HttpClient> = std::sync::OnceLock::new();
        Site {
            client: CLIENT.get_or_init(|| HttpClient::new(&crate::ProviderSettings::default())),
            base: url::Url::parse(base).unwrap(),
            style,
            username: "ada",
            password: "x",
        }
    }

    #[test]
    fn endpoints_follow_the_permalink_style() {
        let pretty = site("https://example.com/blog", RestStyle::Pretty);
        assert_eq!(
            pretty.endpoint("/wp/v2/users/me", &[("context", "edit")]).as_str(),
            "https://example.com/blog/wp-json/wp/v2/users/me?context=edit"
        );
        let plain = site("https://example.com", RestStyle::Plain);
        assert_eq!(
            plain.endpoint("/wp/v2/tags", &[("search", "a b")]).as_str(),
            "https://example.com/?rest_route=%2Fwp%2Fv2%2Ftags&search=a+b"
        );
        assert_eq!(RestStyle::parse(Some("plain")), RestStyle::Plain);
        assert_eq!(RestStyle::parse(None), RestStyle::Pretty);
    }

    #[test]
    fn application_passwords_lose_their_spaces() {
        assert_eq!(normalise_application_password(" abcd EFGH 1234 ijkl mnop qrst "), "abcdEFGH1234ijklmnopqrst");
    }

    #[test]
    fn wp_errors_are_classified() {
        let bad = r#"{"code":"incorrect_password","message":"<strong>Error:</strong> The provided password is an invalid application password.","data":{"status":401}}"#;
        let error = error_from(StatusCode::UNAUTHORIZED, None, bad, "the connection");
        assert_eq!(error.class, ErrorClass::Revoked);
        assert!(
            error
                .message
                .contains("Error: The provided password is an invalid application password. [incorrect_password]")
        );
        let role = r#"{"code":"rest_cannot_create","message":"Sorry, you are not allowed to create posts as this user.","data":{"status":403}}"#;
        let error = error_from(StatusCode::FORBIDDEN, None, role, "creating the post");
        assert_eq!(error.class, ErrorClass::Revoked);
        assert!(error.message.contains("Author role"), "{}", error.message);
        let param = r#"{"code":"rest_invalid_param","message":"Invalid parameter(s): status","data":{"status":400,"params":{"status":"status is not one of publish, future, draft, pending, private."}}}"#;
        let error = error_from(StatusCode::BAD_REQUEST, None, param, "creating the post");
        assert_eq!(error.class, ErrorClass::Invalid);
        assert_eq!(
            error.message,
            "WordPress refused creating the post: Invalid parameter(s): status (status: status is not one of publish, \
             future, draft, pending, private.) [rest_invalid_param]"
        );
        let upload = r#"{"code":"rest_upload_sideload_error","message":"Sorry, you are not allowed to upload this file type.","data":{"status":500}}"#;
        let error = error_from(StatusCode::INTERNAL_SERVER_ERROR, None, upload, "uploading a media file");
        assert_eq!(error.class, ErrorClass::Invalid, "a retry would upload the file again");
        assert!(error.message.contains("[rest_upload_sideload_error]"), "{}", error.message);
        let busy = error_from(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(5)), "", "x");
        assert_eq!(busy.class, ErrorClass::Retryable { after: Some(Duration::from_secs(5)) });
        assert_eq!(
            error_from(StatusCode::BAD_GATEWAY, None, "<h1>oops</h1>", "x").class,
            ErrorClass::Retryable { after: None }
        );
    }
}
