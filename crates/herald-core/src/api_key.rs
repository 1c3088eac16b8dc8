//! API keys: the token format, its hash, and scopes.
//!
//! A key is `ptz_` followed by 40 base62 characters (≈ 238 bits of entropy),
//! shown once. Only its SHA-256 is stored: a fast hash is right here because
//! the input is random, not a human password.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use crate::ValidationError;
use crate::string_enum::string_enum;

pub const KEY_PREFIX: &str = "ptz_";
const RANDOM_LEN: usize = 40;

/// A freshly generated key: the plaintext goes to the user once, the hash
/// and display prefix go to the database.
pub struct NewApiKey {
    pub plaintext: String,
    pub hash: String,
    pub display_prefix: String,
}

impl NewApiKey {
    pub fn generate() -> Self {
        let plaintext = format!("{KEY_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN));
        Self { hash: hash_key(&plaintext), display_prefix: plaintext[..8].to_string(), plaintext }
    }
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey").field("display_prefix", &self.display_prefix).finish_non_exhaustive()
    }
}

/// Hex SHA-256 of a key, as stored in `api_keys.key_hash`.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// A fresh token for a link that is its own key (an invite, a preview, a
/// client's connect link): 40 alphanumerics (238 bits), and the hash that
/// is stored instead of it.
pub fn new_link_token() -> (String, String) {
    use rand::distr::{Alphanumeric, SampleString};
    let token = Alphanumeric.sample_string(&mut rand::rng(), 40);
    let hash = hash_key(&token);
    (token, hash)
}

/// The token of an `Authorization` header value: `Bearer <token>` (the
/// scheme in any case) or, as Herald also accepts, a bare token. `None`
/// for another scheme or an empty token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        // `Bearer` with nothing after it.
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    Some(token).filter(|t| !t.is_empty())
}

/// Whether a bearer token has the shape of a Herald API key (as opposed to
/// a session JWT). Shape only: the database decides whether it is valid.
pub fn looks_like_api_key(token: &str) -> bool {
    token.len() == KEY_PREFIX.len() + RANDOM_LEN
        && token.starts_with(KEY_PREFIX)
        && token[KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

string_enum!(
    /// What an API key may do. `posts:write` without `posts:publish` may only
    /// create and edit drafts: an assistant prepares, a person approves.
    Scope {
        PostsRead => "posts:read",
        PostsWrite => "posts:write",
        PostsPublish => "posts:publish",
        AnalyticsRead => "analytics:read",
        IntegrationsRead => "integrations:read",
    }
);

/// A non-empty, duplicate-free set of scopes in canonical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn parse<S: AsRef<str>>(field: &str, raw: &[S]) -> Result<Self, ValidationError> {
        let mut scopes = Vec::new();
        for item in raw {
            let item = item.as_ref().trim();
            let scope = Scope::parse(item).ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                ValidationError::new(field, format!("unknown scope `{item}`; known scopes: {}", known.join(", ")))
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err(ValidationError::new(field, "at least one scope is required"));
        }
        scopes.sort_by_key(|s| Scope::ALL.iter().position(|x| x == s));
        Ok(Self(scopes))
    }

    pub fn all() -> Self {
        Self(Scope::ALL.to_vec())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_with_or_without_the_scheme() {
        assert_eq!(bearer_token("Bearer ptz_abc"), Some("ptz_abc"));
        assert_eq!(bearer_token(" bearer  tok "), Some("tok"));
        assert_eq!(bearer_token("ptz_abc"), Some("ptz_abc"));
        assert_eq!(bearer_token("Basic dXNlcg=="), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = NewApiKey::generate();
        assert_eq!(key.plaintext.len(), 44);
        assert!(looks_like_api_key(&key.plaintext));
        assert_eq!(key.hash, hash_key(&key.plaintext));
        assert_eq!(key.hash.len(), 64);
        assert_eq!(key.display_prefix, &key.plaintext[..8]);
        assert_ne!(NewApiKey::generate().plaintext, key.plaintext);
        assert!(!format!("{key:?}").contains(&key.plaintext));
    }

    #[test]
    fn key_shape_check_rejects_near_misses() {
        assert!(!looks_like_api_key("ptz_short"));
        assert!(!looks_like_api_key(&format!("xyz_{}", "a".repeat(40))));
        assert!(!looks_like_api_key(&format!("ptz_{}-", "a".repeat(39))));
        assert!(looks_like_api_key(&format!("ptz_{}", "aZ9".repeat(13) + "q")));
    }

    #[test]
    fn scopes_parse_dedupe_and_sort() {
        let scopes = Scopes::parse("scopes", &["posts:write", "posts:read", "posts:write"]).unwrap();
        assert_eq!(scopes.as_strings(), vec!["posts:read", "posts:write"]);
        assert!(Scopes::parse::<&str>("scopes", &[]).is_err());
        let err = Scopes::parse("scopes", &["posts:delete"]).unwrap_err();
        assert!(err.message.contains("posts:delete"));
    }
}
