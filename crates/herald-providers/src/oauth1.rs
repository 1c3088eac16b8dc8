//! OAuth 1.0a (RFC 5849) as X still offers it to apps with an API key and
//! secret: a request token, the user's consent, an access token that never
//! expires, and every API request signed with HMAC-SHA1 by the
//! `oauth1-request` crate. Only the query goes into a signature: X's v2
//! bodies are JSON or multipart, which OAuth 1.0a leaves out.

use std::collections::BTreeMap;

use oauth1_request as oauth;
use reqwest::Method;

use crate::{ErrorClass, HttpClient, ProviderError, excerpt};

/// An app's consumer key and secret.
#[derive(Clone)]
pub struct Consumer {
    pub key: String,
    pub secret: String,
}

/// A token and its secret: a request token during consent, then the
/// account's access token.
pub struct TokenPair<'a> {
    pub token: &'a str,
    pub secret: &'a str,
}

/// What may go into a signature besides the request: the callback of a
/// request token, the verifier of an access token.
#[derive(Default)]
pub struct Extras<'a> {
    pub callback: Option<&'a str>,
    pub verifier: Option<&'a str>,
}

impl Consumer {
    /// The `Authorization` header of a request to `url` (its query signed).
    pub fn authorization(
        &self,
        method: &Method,
        url: &str,
        token: Option<TokenPair<'_>>,
        extras: Extras<'_>,
    ) -> String {
        self.signed(method, url, token, extras, None)
    }

    /// As [`Consumer::authorization`], with a fixed nonce and timestamp
    /// where given (a fake platform checking a signature, a test vector).
    pub fn signed(
        &self,
        method: &Method,
        url: &str,
        token: Option<TokenPair<'_>>,
        extras: Extras<'_>,
        fixed: Option<(&str, u64)>,
    ) -> String {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let params: oauth::ParameterList<String, String, Vec<(String, String)>> = oauth::ParameterList::new(params);
        let mut builder = oauth::Builder::new(
            oauth::Credentials::new(self.key.as_str(), self.secret.as_str()),
            oauth::HmacSha1::new(),
        );
        builder.token(token.map(|pair| oauth::Credentials::new(pair.token, pair.secret)));
        builder.callback(extras.callback).verifier(extras.verifier).version(true);
        if let Some((nonce, timestamp)) = fixed {
            builder.nonce(nonce).timestamp(std::num::NonZeroU64::new(timestamp));
        }
        builder.authorize(method.as_str(), base, &params)
    }

    /// `POST` to a token endpoint (request or access token), read as the
    /// form-encoded answer OAuth 1.0a specifies.
    pub async fn token_request(
        &self,
        http: &HttpClient,
        url: &str,
        token: Option<TokenPair<'_>>,
        extras: Extras<'_>,
        platform: &str,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let header = self.authorization(&Method::POST, url, token, extras);
        let request = http.inner().post(url).header(reqwest::header::AUTHORIZATION, header);
        let response = http.send(request).await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(ProviderError::new(
                crate::classify_status(status, None),
                format!("{platform}'s token endpoint answered {status}"),
            ));
        }
        if !status.is_success() {
            // The body of a refusal names the problem, never a token.
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("{platform} refused the OAuth 1.0a request ({status}): {}", excerpt(&text)),
            ));
        }
        let answer: BTreeMap<String, String> = url::form_urlencoded::parse(text.as_bytes()).into_owned().collect();
        if !answer.contains_key("oauth_token") || !answer.contains_key("oauth_token_secret") {
            return Err(ProviderError::new(ErrorClass::Unknown, format!("{platform} answered without a token")));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(header: &str) -> BTreeMap<String, String> {
        header
            .trim_start_matches("OAuth ")
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect()
    }

    /// The worked example of X's "Creating a signature" page: the same
    /// parameters, the same signature.
    #[test]
    fn x_s_documented_example_signs_the_same() {
        let consumer = Consumer {
            key: "xvz1evFS4wEEPTGEFPHBog".into(),
            secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into(),
        };
        let token = TokenPair {
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        };
        let url = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true&status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21";
        let header = consumer.signed(
            &Method::POST,
            url,
            Some(token),
            Extras::default(),
            Some(("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1_318_622_958)),
        );
        assert_eq!(parts(&header)["oauth_signature"], "hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D");
    }

    #[test]
    fn a_signature_covers_the_query_and_names_the_token() {
        let consumer = Consumer { key: "ck".into(), secret: "cs".into() };
        let token = TokenPair { token: "at", secret: "ts" };
        let header = consumer.authorization(
            &Method::GET,
            "https://api.x.com/2/users/me?user.fields=id",
            Some(token),
            Extras::default(),
        );
        let fields = parts(&header);
        assert_eq!(fields["oauth_consumer_key"], "ck");
        assert_eq!(fields["oauth_token"], "at");
        assert_eq!(fields["oauth_signature_method"], "HMAC-SHA1");
        let other = consumer.authorization(
            &Method::GET,
            "https://api.x.com/2/users/me?user.fields=name",
            Some(TokenPair { token: "at", secret: "ts" }),
            Extras::default(),
        );
        assert_ne!(fields["oauth_signature"], parts(&other)["oauth_signature"]);
        let callback = consumer.authorization(
            &Method::POST,
            "https://api.x.com/oauth/request_token",
            None,
            Extras { callback: Some("https://h.example/cb"), verifier: None },
        );
        assert_eq!(parts(&callback)["oauth_callback"], "https%3A%2F%2Fh.example%2Fcb");
        assert!(!callback.contains("oauth_token="));
    }
}
