//! The platform catalog: what Herald can publish to, how each platform is
//! connected, the rules validation applies, and the JSON schemas of each
//! platform's credentials and per-post settings (the web UI builds its
//! connect forms and counters from them).

use herald_core::platform::AuthKind;
use herald_core::platform::{PLATFORMS, PlatformRules};
use serde::Serialize;

use crate::App;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformView {
    pub id: &'static str,
    pub name: &'static str,
    pub auth_kind: AuthKind,
    /// This build has a provider for it.
    pub available: bool,
    /// It can be connected now (credential platforms always; OAuth
    /// platforms once the operator has set the app's credentials).
    pub configured: bool,
    pub rules: PlatformRules,
    /// Engagement metrics are fetched after publishing.
    pub metrics: bool,
    /// JSON Schema of `credentials` in `POST /integrations`.
    #[schema(value_type = Object)]
    pub credentials_schema: serde_json::Value,
    /// JSON Schema of `overrides.<integrationId>.settings` in posts.
    #[schema(value_type = Object)]
    pub settings_schema: serde_json::Value,
    /// OAuth platforms: the env names of the app credentials the operator
    /// sets (empty for credential platforms).
    pub app_env: Vec<&'static str>,
    /// OAuth platforms: the callback URL to register with the platform.
    pub callback_url: Option<String>,
    /// OAuth platforms with many servers (Mastodon): `GET /auth/{id}` takes
    /// `?instance=`.
    pub instance_required: bool,
    /// What people should know before connecting (e.g. TikTok's private
    /// posts for apps it has not audited).
    pub notice: Option<&'static str>,
}

impl App {
    /// Every platform Herald knows, those it can publish to first.
    pub fn platforms(&self) -> Vec<PlatformView> {
        let mut views: Vec<PlatformView> = PLATFORMS
            .iter()
            .map(|rules| match self.providers.get(rules.id) {
                Some(provider) => PlatformView {
                    id: rules.id,
                    name: rules.name,
                    auth_kind: provider.auth_kind(),
                    available: true,
                    configured: provider.oauth().is_none_or(|oauth| oauth.is_configured()),
                    rules: provider.rules().clone(),
                    metrics: provider.has_metrics(),
                    credentials_schema: provider.credentials().schema(),
                    settings_schema: provider.settings().schema(),
                    app_env: provider.oauth().map(|oauth| oauth.app_env().to_vec()).unwrap_or_default(),
                    callback_url: provider.oauth().map(|_| self.oauth_callback_url(rules.id)),
                    instance_required: provider.oauth().is_some_and(|oauth| oauth.needs_instance()),
                    notice: provider.notice(),
                },
                None => PlatformView {
                    id: rules.id,
                    name: rules.name,
                    auth_kind: AuthKind::Oauth,
                    available: false,
                    configured: false,
                    rules: rules.clone(),
                    metrics: false,
                    credentials_schema: serde_json::json!({}),
                    settings_schema: serde_json::json!({}),
                    app_env: Vec::new(),
                    callback_url: Some(self.oauth_callback_url(rules.id)),
                    instance_required: false,
                    notice: None,
                },
            })
            .collect();
        views.sort_by_key(|view| !view.available);
        views
    }
}
