//! Signing in on a Mastodon instance instead of pasting a token: Herald
//! registers itself as an app on each instance the first time someone
//! connects there (`POST /api/v1/apps`; the app layer keeps the client,
//! its secret encrypted), then runs the authorization-code flow with PKCE
//! (`/oauth/authorize`, `/oauth/token`; Mastodon 4.3+ checks the challenge,
//! older instances ignore it). Mastodon tokens do not expire; disconnecting
//! revokes the token (`POST /oauth/revoke`).

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};

use super::{Mastodon, credentials, json_or_error};
use crate::net::server_base;
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, RegisteredClient, Tokens};
use crate::{ConnectedAccount, ErrorClass, Provider, ProviderError};

/// What Herald asks of the account: read it, and write statuses and media.
const SCOPES: &[&str] = &["read", "write"];

impl Mastodon {
    fn flow(&self, base: &str, client: &RegisteredClient) -> CodeFlow {
        let app = App { client_id: client.client_id.clone(), client_secret: Some(client.client_secret.clone()) };
        let endpoints = Endpoints {
            authorize: format!("{base}/oauth/authorize"),
            token: format!("{base}/oauth/token"),
            revoke: Some(format!("{base}/oauth/revoke")),
        };
        CodeFlow::new(self.client.clone(), app, endpoints, self.name())
    }
}

fn on_instance<'a>(
    instance: Option<(&'a str, &'a RegisteredClient)>,
) -> Result<(&'a str, &'a RegisteredClient), ProviderError> {
    instance.ok_or_else(|| ProviderError::invalid("say which server to connect: `?instance=mastodon.social`"))
}

#[async_trait]
impl OAuthConnect for Mastodon {
    /// Nothing to set: Herald registers itself on each instance.
    fn app_env(&self) -> &'static [&'static str] {
        &[]
    }

    fn is_configured(&self) -> bool {
        true
    }

    fn needs_instance(&self) -> bool {
        true
    }

    fn instance(&self, raw: Option<&str>) -> Result<Option<String>, ProviderError> {
        let raw = raw.map(str::trim).filter(|raw| !raw.is_empty()).ok_or_else(|| {
            ProviderError::invalid(format!("say which {} server to connect, e.g. `example.social`", self.name()))
        })?;
        server_base(&self.guard, raw).map(Some)
    }

    async fn register_client(&self, instance: &str, redirect_uri: &str) -> Result<RegisteredClient, ProviderError> {
        let body = json!({
            "client_name": "Herald",
            "redirect_uris": redirect_uri,
            "scopes": SCOPES.join(" "),
        });
        let request = self.client.inner().post(format!("{instance}/api/v1/apps")).json(&body);
        let response = self.client.send(request).await.map_err(ProviderError::before_publishing)?;
        let app = json_or_error(self.name(), response).await?.1;
        match (app["client_id"].as_str(), app["client_secret"].as_str()) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(RegisteredClient { client_id: id.to_string(), client_secret: secret.to_string() })
            }
            _ => Err(ProviderError::new(ErrorClass::Unknown, "the instance registered Herald without a client id")),
        }
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        let (base, client) = on_instance(begin.instance)?;
        let consent = self.flow(base, client).consent(&begin, SCOPES, &[])?;
        Ok(Consent { context: json!({ "instance": base }), ..consent })
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let (base, client) = on_instance(callback.instance)?;
        let tokens = self.flow(base, client).exchange(&callback, Utc::now()).await?;
        let mut account = self.connect(&json!({ "instanceUrl": base, "accessToken": tokens.access_token })).await?;
        account.credentials["clientId"] = json!(client.client_id);
        account.credentials["clientSecret"] = json!(client.client_secret);
        Ok(vec![account])
    }

    /// Revokes the token with the app it was issued to; an account that
    /// was connected with a pasted token has none, and nothing is revoked.
    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        let creds = credentials(value)?;
        let (Some(client_id), Some(client_secret)) = (creds.client_id, creds.client_secret) else {
            return Ok(());
        };
        let base = server_base(&self.guard, &creds.instance_url)?;
        let client = RegisteredClient { client_id, client_secret };
        let tokens = Tokens {
            access_token: creds.access_token,
            refresh_token: None,
            expires_at: None,
            refresh_expires_at: None,
            scopes: Vec::new(),
        };
        self.flow(&base, &client).revoke(&tokens).await
    }
}
