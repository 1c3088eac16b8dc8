//! Servers that speak Mastodon's client API with their own limits and
//! habits: Pixelfed, GoToSocial, Akkoma and Pleroma. One publisher serves
//! them all (`super::Mastodon`); a [`Flavour`] says what differs, and the
//! server's own software is read from NodeInfo
//! (<https://nodeinfo.diaspora.software/protocol>) when an account connects.

use serde_json::Value;

use crate::{HttpClient, Recovery};

/// What sets one Mastodon-compatible platform apart.
#[derive(Debug)]
pub struct Flavour {
    pub id: &'static str,
    /// For people: "Pixelfed refused the post: …".
    pub name: &'static str,
    /// NodeInfo `software.name`s of servers of this platform.
    pub software: &'static [&'static str],
    /// Whether the server drops a second `POST /api/v1/statuses` carrying
    /// the same `Idempotency-Key` (Mastodon; Pleroma and Akkoma too).
    pub honours_idempotency_key: bool,
}

pub const MASTODON: Flavour = Flavour {
    id: "mastodon",
    name: "Mastodon",
    // Forks that keep Mastodon's API and its idempotency.
    software: &["mastodon", "hometown", "glitchsoc"],
    honours_idempotency_key: true,
};

pub const PIXELFED: Flavour =
    Flavour { id: "pixelfed", name: "Pixelfed", software: &["pixelfed"], honours_idempotency_key: false };

pub const GOTOSOCIAL: Flavour =
    Flavour { id: "gotosocial", name: "GoToSocial", software: &["gotosocial"], honours_idempotency_key: false };

pub const AKKOMA: Flavour =
    Flavour { id: "akkoma", name: "Akkoma", software: &["akkoma", "pleroma"], honours_idempotency_key: true };

/// Every flavour but Mastodon's own, which takes any compatible server.
const OTHERS: &[&Flavour] = &[&PIXELFED, &GOTOSOCIAL, &AKKOMA];

impl Flavour {
    pub fn recovery(&self) -> Recovery {
        if self.honours_idempotency_key { Recovery::ResendWithSameKey } else { Recovery::Unconfirmable }
    }

    /// Whether a server running `software` may be connected as this
    /// platform: Mastodon takes any server the other platforms do not
    /// claim; each of the others takes only its own (or one that does not
    /// say what it runs).
    pub fn accepts(&self, software: Option<&str>) -> Result<(), String> {
        let Some(software) = software else { return Ok(()) };
        let software = software.to_ascii_lowercase();
        let owner = OTHERS.iter().find(|flavour| flavour.software.contains(&software.as_str()));
        match owner {
            Some(owner) if owner.id != self.id => {
                Err(format!("this server runs {}: connect it as `{}`", owner.name, owner.id))
            }
            None if self.id != MASTODON.id => Err(format!(
                "this server runs {software}, not {}: connect it as `mastodon` if it speaks Mastodon's API",
                self.name
            )),
            _ => Ok(()),
        }
    }
}

/// The server's software as NodeInfo 2.x names it (`pixelfed`, `0.12.4`),
/// or `None` when it publishes no NodeInfo.
pub async fn software(client: &HttpClient, base: &str) -> Option<(String, String)> {
    let get = |url: String| async move {
        let response = client.send(client.inner().get(url)).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<Value>().await.ok()
    };
    let index = get(format!("{base}/.well-known/nodeinfo")).await?;
    let href = index["links"]
        .as_array()?
        .iter()
        .filter(|link| {
            link["rel"].as_str().is_some_and(|rel| rel.starts_with("http://nodeinfo.diaspora.software/ns/schema/2"))
        })
        .filter_map(|link| link["href"].as_str())
        .next_back()?
        .to_string();
    // The document must live on the server itself: a link elsewhere is not followed.
    if !href.starts_with(&format!("{base}/")) {
        return None;
    }
    let info = get(href).await?;
    let name = info["software"]["name"].as_str()?.trim().to_ascii_lowercase();
    let version = info["software"]["version"].as_str().unwrap_or_default().to_string();
    (!name.is_empty()).then_some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_takes_its_own_servers() {
        assert!(MASTODON.accepts(Some("mastodon")).is_ok());
        assert!(MASTODON.accepts(Some("hometown")).is_ok());
        assert!(MASTODON.accepts(Some("iceshrimp")).is_ok(), "Mastodon takes any compatible server");
        assert!(MASTODON.accepts(None).is_ok());
        assert_eq!(
            MASTODON.accepts(Some("pixelfed")).unwrap_err(),
            "this server runs Pixelfed: connect it as `pixelfed`"
        );
        assert!(PIXELFED.accepts(Some("Pixelfed")).is_ok());
        assert!(AKKOMA.accepts(Some("pleroma")).is_ok());
        assert!(GOTOSOCIAL.accepts(None).is_ok());
        assert!(GOTOSOCIAL.accepts(Some("mastodon")).unwrap_err().contains("connect it as `mastodon`"));
        assert!(AKKOMA.accepts(Some("gotosocial")).unwrap_err().contains("`gotosocial`"));
    }

    #[test]
    fn only_servers_that_drop_repeats_are_resent() {
        assert_eq!(MASTODON.recovery(), Recovery::ResendWithSameKey);
        assert_eq!(AKKOMA.recovery(), Recovery::ResendWithSameKey);
        assert_eq!(PIXELFED.recovery(), Recovery::Unconfirmable);
        assert_eq!(GOTOSOCIAL.recovery(), Recovery::Unconfirmable);
    }
}
