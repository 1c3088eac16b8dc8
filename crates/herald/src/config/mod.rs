//! Configuration: defaults, then `herald.toml`, then environment variables
//! (the seed's names such as `DATABASE_URL`, and Herald's own `HERALD_*`),
//! then command-line flags. Missing secrets are generated on first start
//! and kept in the data directory with mode 0600.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

mod secrets;

pub use self::secrets::{Secrets, load_or_create_secrets};

/// A secret value: `Debug` and `Serialize` never show it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"****\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("****")
    }
}

/// The roles one process can play (`HERALD_ROLES`).
pub const ROLES: &[&str] = &["web", "api", "mcp", "worker", "scheduler"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite in the data dir.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    /// Public base URL, used for links, OAuth callbacks and Secure cookies.
    pub main_url: Option<String>,
    pub jwt_secret: Option<Secret>,
    /// 64 hex characters (AES-256 key for provider credentials).
    pub encryption_key: Option<Secret>,
    pub upload_directory: Option<PathBuf>,
    /// `local` (files under the upload directory) or `s3`.
    pub storage_provider: String,
    /// With `storage_provider = "s3"`: `s3://bucket[/prefix]`; credentials,
    /// region and endpoint from the usual `AWS_*` variables.
    pub media_bucket_url: Option<String>,
    #[serde(deserialize_with = "flexible_bool")]
    pub disable_registration: bool,
    /// Comma-separated subset of web, api, mcp, worker, scheduler.
    pub roles: String,
    /// `text` or `json`.
    pub log_format: String,
    #[serde(deserialize_with = "flexible_bool")]
    pub allow_private_targets: bool,
    /// Requests per minute per client on the API; 0 turns the limit off.
    pub rate_limit: u32,
    /// Requests per minute per client on POST /api/posts; 0 turns it off.
    pub rate_limit_posts: u32,
    /// Requests per minute per client address on pages and static files; 0 turns it off.
    pub rate_limit_ui: u32,
    /// Comma-separated addresses or networks of reverse proxies whose
    /// `X-Forwarded-For` names the client (for rate limits).
    pub trusted_proxies: String,
    /// Comma-separated origins allowed to call the API from a browser.
    pub cors_origins: String,
    /// Comma-separated extra host names the MCP endpoint answers to
    /// (loopback and MAIN_URL's host always are).
    pub mcp_allowed_hosts: String,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// Delivery attempts in all before a target fails.
    pub retry_max_attempts: u32,
    /// Delay before the first retry (doubles each time, with jitter).
    pub retry_base_seconds: f64,
    pub retry_max_seconds: u64,
    /// Due targets older than this when Herald comes back fail as MISSED.
    pub missed_grace_seconds: u64,
    /// How long a worker's claim on a delivery lasts without renewal.
    pub lease_seconds: u64,
    /// Pause between rounds of the background upkeep: engagement metrics,
    /// pending profiles, token renewal, notices of ending access.
    pub maintenance_seconds: u64,
    /// Deliveries in flight per process.
    pub worker_concurrency: usize,
    /// Timeout of one request to a platform.
    pub provider_timeout_seconds: u64,
    /// How long shutdown waits for deliveries in flight.
    pub shutdown_grace_seconds: u64,
    /// How often engagement metrics of a published post are refreshed.
    pub metrics_interval_seconds: u64,
    /// Posts older than this many days no longer have their metrics refreshed.
    pub metrics_window_days: u64,
    /// Where backups are written (default `<data dir>/backups`).
    pub backup_dir: Option<PathBuf>,
    /// Cron expression (UTC) for backups taken by the scheduler role; unset: none.
    pub backup_schedule: Option<String>,
    /// Backups older than this many days are deleted after each backup.
    pub backup_keep_days: u32,
    /// `smtp://user:pass@host:port` or `smtps://…`: e-mail invites and
    /// notifications. Unset: no e-mail.
    pub smtp_url: Option<Secret>,
    /// The sender of Herald's e-mails, e.g. `Herald <herald@example.com>`
    /// (default: `herald@` the host of MAIN_URL).
    pub email_from: Option<String>,
    /// OpenAI-compatible API base for AI writing help, up to the version
    /// (`https://api.openai.com/v1`, `http://localhost:11434/v1`). Unset: off.
    pub ai_base_url: Option<String>,
    /// Its API key, if it needs one.
    pub ai_api_key: Option<Secret>,
    /// The model to ask (default `gpt-4o-mini`).
    pub ai_model: Option<String>,
    /// Lifetime in seconds of the access tokens MCP apps get by OAuth
    /// (1–86400; refresh tokens renew them).
    pub mcp_token_ttl_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 5000,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 10,
            main_url: None,
            jwt_secret: None,
            encryption_key: None,
            upload_directory: None,
            storage_provider: "local".into(),
            media_bucket_url: None,
            disable_registration: false,
            roles: ROLES.join(","),
            log_format: "text".into(),
            allow_private_targets: false,
            rate_limit: 100,
            rate_limit_posts: 10,
            rate_limit_ui: 1000,
            trusted_proxies: String::new(),
            cors_origins: String::new(),
            mcp_allowed_hosts: String::new(),
            metrics_token: None,
            retry_max_attempts: 5,
            retry_base_seconds: 30.0,
            retry_max_seconds: 3600,
            missed_grace_seconds: 24 * 3600,
            lease_seconds: 60,
            maintenance_seconds: 60,
            worker_concurrency: 16,
            provider_timeout_seconds: 15,
            shutdown_grace_seconds: 10,
            metrics_interval_seconds: 3600,
            metrics_window_days: 30,
            backup_dir: None,
            backup_schedule: None,
            backup_keep_days: 7,
            smtp_url: None,
            email_from: None,
            ai_base_url: None,
            ai_api_key: None,
            ai_model: None,
            mcp_token_ttl_seconds: 3600,
        }
    }
}

/// Environment variables named as in the seed (no prefix).
const SEED_ENV: &[&str] = &[
    "DATABASE_URL",
    "MAIN_URL",
    "JWT_SECRET",
    "ENCRYPTION_KEY",
    "PORT",
    "UPLOAD_DIRECTORY",
    "STORAGE_PROVIDER",
    "DISABLE_REGISTRATION",
    "SMTP_URL",
    "EMAIL_FROM",
];

/// Flags that override every other source.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Config {
    /// Reads every source. `file` is `--config`; without it `./herald.toml`
    /// is read when it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("herald.toml")),
        }
        let config: Config = figment
            .merge(Env::raw().only(SEED_ENV))
            .merge(Env::prefixed("HERALD_").ignore(&["provider", "test_pg_url", "config"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        for role in self.role_list() {
            if !ROLES.contains(&role.as_str()) {
                bail!("HERALD_ROLES: unknown role `{role}`; known roles: {}", ROLES.join(", "));
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("HERALD_LOG_FORMAT must be `text` or `json`, not `{}`", self.log_format);
        }
        if let Some(url) = &self.main_url
            && url::Url::parse(url).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true)
        {
            bail!("MAIN_URL must be an http(s) URL such as https://herald.example.com, not `{url}`");
        }
        if let Some(key) = &self.encryption_key {
            check_encryption_key(key.expose())?;
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose().len() < 32
        {
            bail!("JWT_SECRET must be at least 32 characters");
        }
        if self.lease_seconds <= self.provider_timeout_seconds {
            bail!(
                "HERALD_LEASE_SECONDS must be longer than HERALD_PROVIDER_TIMEOUT_SECONDS, or a slow platform call would outlive its lease"
            );
        }
        if self.retry_max_attempts == 0 || self.worker_concurrency == 0 {
            bail!("HERALD_RETRY_MAX_ATTEMPTS and HERALD_WORKER_CONCURRENCY must be at least 1");
        }
        if self.retry_base_seconds.is_nan() || self.retry_base_seconds <= 0.0 {
            bail!("HERALD_RETRY_BASE_SECONDS must be positive");
        }
        if !(1..=86_400).contains(&self.mcp_token_ttl_seconds) {
            bail!("HERALD_MCP_TOKEN_TTL_SECONDS must be between 1 and 86400");
        }
        if self.database_max_connections == 0 {
            bail!("HERALD_DATABASE_MAX_CONNECTIONS must be at least 1");
        }
        if let Some(mail) = self.mail() {
            herald_engine::mailer::check(&mail).map_err(anyhow::Error::msg)?;
        }
        herald_web::client_ip::TrustedProxies::parse(&self.trusted_proxies).map_err(anyhow::Error::msg)?;
        crate::backup::schedule::check(self.backup_schedule.as_deref())?;
        platform_concurrency()?;
        platform_budgets()?;
        Ok(())
    }

    pub fn role_list(&self) -> Vec<String> {
        self.roles.split(',').map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect()
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.role_list().iter().any(|r| r == role)
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("herald.db").display()))
    }

    /// The SQLite database file, when the database is one.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    pub fn main_url(&self) -> String {
        self.main_url.clone().unwrap_or_else(|| format!("http://localhost:{}", self.port))
    }

    /// The model behind AI writing help, when `HERALD_AI_BASE_URL` is set.
    pub fn ai(&self) -> Option<herald_app::ai::AiSettings> {
        let base_url = self.ai_base_url.as_deref().map(str::trim).filter(|u| !u.is_empty())?;
        Some(herald_app::ai::AiSettings {
            base_url: base_url.to_string(),
            api_key: self.ai_api_key.as_ref().map(|k| k.expose().to_string()).filter(|k| !k.is_empty()),
            model: self.ai_model.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| "gpt-4o-mini".into()),
        })
    }

    /// Where e-mail goes out, when SMTP_URL is set; the sender defaults to
    /// `herald@` the host of MAIN_URL.
    pub fn mail(&self) -> Option<herald_engine::mailer::MailSettings> {
        let url = self.smtp_url.as_ref()?;
        let from = self.email_from.clone().unwrap_or_else(|| {
            let host = url::Url::parse(&self.main_url()).ok().and_then(|u| u.host_str().map(str::to_string));
            format!("Herald <herald@{}>", host.unwrap_or_else(|| "localhost".into()))
        });
        Some(herald_engine::mailer::MailSettings { smtp_url: url.expose().to_string(), from })
    }

    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_string).collect()
    }

    /// Checked by `check` at load time.
    pub fn trusted_proxies(&self) -> herald_web::client_ip::TrustedProxies {
        herald_web::client_ip::TrustedProxies::parse(&self.trusted_proxies).unwrap_or_default()
    }

    pub fn engine(&self) -> herald_engine::EngineConfig {
        use std::time::Duration;
        herald_engine::EngineConfig {
            lease: Duration::from_secs(self.lease_seconds),
            missed_grace: Duration::from_secs(self.missed_grace_seconds),
            retry: herald_core::retry::RetryPolicy {
                max_attempts: self.retry_max_attempts,
                base: Duration::from_secs_f64(self.retry_base_seconds),
                max_delay: Duration::from_secs(self.retry_max_seconds),
            },
            concurrency: self.worker_concurrency,
            // Checked by `validate`; a bad value read since is ignored.
            platform_concurrency: platform_concurrency().unwrap_or_default(),
            platform_budgets: platform_budgets().unwrap_or_default(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
            metrics_interval: Duration::from_secs(self.metrics_interval_seconds.max(60)),
            metrics_window: Duration::from_secs(self.metrics_window_days * 24 * 3600),
            metrics_poll: Duration::from_secs(self.maintenance_seconds.max(1)),
            main_url: self.main_url(),
            mail: self.mail(),
            allow_private_targets: self.allow_private_targets,
            ..herald_engine::EngineConfig::default()
        }
    }

    /// Provider settings, with `HERALD_PROVIDER_<ID>_API_BASE` overrides and
    /// the OAuth apps' credentials (`X_CLIENT_ID` …) read from the environment.
    pub fn providers(&self) -> herald_providers::ProviderSettings {
        let api_base = std::env::vars()
            .filter_map(|(name, value)| {
                let id = name.strip_prefix("HERALD_PROVIDER_")?.strip_suffix("_API_BASE")?;
                Some((platform_id(id), value))
            })
            .collect();
        herald_providers::ProviderSettings {
            allow_private_targets: self.allow_private_targets,
            request_timeout: std::time::Duration::from_secs(self.provider_timeout_seconds),
            api_base,
            app_credentials: herald_providers::oauth::AppCredentials::new(
                herald_providers::oauth::APP_ENV_NAMES
                    .iter()
                    .filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value))),
            ),
            public_url: self.main_url(),
        }
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.upload_directory.clone().unwrap_or_else(|| self.data_dir.join("uploads"))
    }

    /// Where media files are kept (`STORAGE_PROVIDER`).
    pub fn media_store(&self) -> Result<herald_store::blobs::Blobs> {
        match self.storage_provider.as_str() {
            "local" => Ok(herald_store::blobs::Blobs::local(&self.uploads_dir())?),
            "s3" => {
                let Some(url) = self.media_bucket_url.as_deref() else {
                    bail!("STORAGE_PROVIDER=s3 needs HERALD_MEDIA_BUCKET_URL=s3://bucket[/prefix]");
                };
                Ok(herald_store::blobs::Blobs::s3(url)?)
            }
            other => bail!("STORAGE_PROVIDER must be `local` or `s3`, not `{other}`"),
        }
    }

    /// Hosts the MCP endpoint accepts in `Host`: loopback, MAIN_URL's host,
    /// and HERALD_MCP_ALLOWED_HOSTS (protection against DNS rebinding).
    pub fn mcp_allowed_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"].iter().map(|h| h.to_string()).collect();
        if let Some(host) = url::Url::parse(&self.main_url()).ok().and_then(|u| u.host_str().map(str::to_string)) {
            hosts.push(host);
        }
        hosts.extend(self.mcp_allowed_hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_string));
        hosts.dedup();
        hosts
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir.clone().unwrap_or_else(|| self.data_dir.join("backups"))
    }

    pub fn secrets_file(&self) -> PathBuf {
        self.data_dir.join("secrets.toml")
    }

    /// The configuration as `doctor` prints it: secrets redacted, defaults
    /// resolved.
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("database_url".into(), herald_store::redact_url(&self.database_url()).into());
            map.insert("main_url".into(), self.main_url().into());
        }
        value
    }
}

fn check_encryption_key(key: &str) -> Result<()> {
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("ENCRYPTION_KEY must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`");
    }
    Ok(())
}

/// Accepts true/false, 1/0, yes/no, on/off, as env variables are written.
fn flexible_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(i) => Ok(i != 0),
        Raw::Text(s) => match s.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!("`{other}` is not true or false"))),
        },
    }
}

/// `HERALD_PROVIDER_<ID>_CONCURRENCY` overrides: deliveries of one platform a
/// process may have in flight (e.g. more for your own webhook receiver).
fn platform_concurrency() -> Result<std::collections::BTreeMap<String, usize>> {
    let mut limits = std::collections::BTreeMap::new();
    for (name, value) in std::env::vars() {
        let Some(id) = name.strip_prefix("HERALD_PROVIDER_").and_then(|rest| rest.strip_suffix("_CONCURRENCY")) else {
            continue;
        };
        match value.trim().parse::<usize>() {
            Ok(limit) if limit > 0 => limits.insert(platform_id(id), limit),
            _ => bail!("{name} must be a whole number of at least 1, not {value:?}"),
        };
    }
    Ok(limits)
}

/// `HERALD_PROVIDER_<ID>_RATE_BUDGET` overrides: at most N deliveries per
/// account in a window, written `N/<window>` (`17/24h`, `100/15m`, `5/60s`).
fn platform_budgets() -> Result<std::collections::BTreeMap<String, herald_providers::RateBudget>> {
    let mut budgets = std::collections::BTreeMap::new();
    for (name, value) in std::env::vars() {
        let Some(id) = name.strip_prefix("HERALD_PROVIDER_").and_then(|rest| rest.strip_suffix("_RATE_BUDGET")) else {
            continue;
        };
        match parse_budget(&value) {
            Some(budget) => budgets.insert(platform_id(id), budget),
            None => bail!("{name} must look like `17/24h` (deliveries per window: s, m, h or d), not {value:?}"),
        };
    }
    Ok(budgets)
}

fn parse_budget(raw: &str) -> Option<herald_providers::RateBudget> {
    let (max, window) = raw.trim().split_once('/')?;
    let max: u32 = max.trim().parse().ok().filter(|n| *n > 0)?;
    let window = window.trim();
    let unit = window.chars().last()?;
    let amount: u64 = window[..window.len() - unit.len_utf8()].parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        's' => amount,
        'm' => amount * 60,
        'h' => amount * 3600,
        'd' => amount * 86_400,
        _ => return None,
    };
    Some(herald_providers::RateBudget { max, window: std::time::Duration::from_secs(seconds) })
}

/// The platform id an environment variable names: `LINKEDIN_PAGE` →
/// `linkedin-page` (ids are upper-cased and `-` becomes `_` in names).
fn platform_id(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_budget_is_a_count_over_a_window() {
        let budget = parse_budget("17/24h").unwrap();
        assert_eq!((budget.max, budget.window.as_secs()), (17, 86_400));
        assert_eq!(parse_budget(" 100 / 15m ").unwrap().window.as_secs(), 900);
        for bad in ["17", "0/1h", "5/0h", "5/1w", "x/1h", "5/h"] {
            assert!(parse_budget(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn env_names_map_to_platform_ids_with_dashes() {
        assert_eq!(platform_id("LINKEDIN_PAGE"), "linkedin-page");
        assert_eq!(platform_id("X"), "x");
    }

    #[test]
    fn secrets_never_show() {
        let secret = Secret("hunter2hunter2".into());
        assert_eq!(format!("{secret:?}"), "\"****\"");
        let config = Config { jwt_secret: Some(secret), ..Config::default() };
        let shown = config.redacted().to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn defaults_are_a_working_local_setup() {
        let config = Config::default();
        assert_eq!(config.port, 5000);
        assert_eq!(config.database_url(), "sqlite://./data/herald.db");
        assert!(config.has_role("worker"));
        assert!(config.check().is_ok());
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_name() {
        let config = Config { roles: "web,cron".into(), ..Config::default() };
        assert!(config.check().unwrap_err().to_string().contains("HERALD_ROLES"));
        let config = Config { encryption_key: Some(Secret("abc".into())), ..Config::default() };
        assert!(config.check().unwrap_err().to_string().contains("ENCRYPTION_KEY"));
    }
}
