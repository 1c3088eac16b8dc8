//! `herald apikey create | list | revoke`.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use herald_core::api_key::Scopes;

use super::open_app;
use super::user::describe;
use crate::cli::ApiKeyCommand;
use crate::config::Config;

pub async fn run(config: Config, command: ApiKeyCommand) -> Result<ExitCode> {
    let app = open_app(&config).await?.0.app;
    match command {
        ApiKeyCommand::Create { user, name, scopes, expires_in_days, quiet } => {
            let (account, workspace_id) = app.account_by_email(&user).await.map_err(|e| anyhow!(describe(&e)))?;
            let scopes = match scopes {
                Some(raw) => Scopes::parse("--scopes", &raw).map_err(|e| anyhow!("{}: {}", e.field, e.message))?,
                None => Scopes::all(),
            };
            let expires_at = match expires_in_days {
                Some(days) if !(1..=3650).contains(&days) => {
                    return Err(anyhow!("--expires-in-days must be between 1 and 3650"));
                }
                Some(days) => Some(app.now() + chrono::Duration::days(days)),
                None => None,
            };
            let name = herald_core::account::DisplayName::parse("--name", &name)
                .map_err(|e| anyhow!("{}: {}", e.field, e.message))?;
            let created = app
                .issue_api_key(account.id, workspace_id, name.as_str(), scopes, expires_at)
                .await
                .map_err(|e| anyhow!(describe(&e)))?;
            if quiet {
                println!("{}", created.key);
            } else {
                println!("API key for {} ({}): {}", account.email, created.api_key.scopes.join(", "), created.key);
                println!(
                    "Store it now: it is not shown again. Revoke with `herald apikey revoke {}`.",
                    created.api_key.id
                );
            }
        }
        ApiKeyCommand::List { user, json } => {
            let (account, _) = app.account_by_email(&user).await.map_err(|e| anyhow!(describe(&e)))?;
            let keys = app.api_keys_of(account.id).await.map_err(|e| anyhow!(describe(&e)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for key in keys {
                    let state = if key.is_active { "active" } else { "revoked" };
                    let last_used =
                        key.last_used_at.map_or_else(|| "never used".to_string(), |t| format!("last used {t}"));
                    println!(
                        "{}  {}…  {:<7}  {}  [{}]  {last_used}",
                        key.id,
                        key.prefix,
                        state,
                        key.name,
                        key.scopes.join(",")
                    );
                }
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let id = parse_id(&id)?;
            app.revoke_any_api_key(id).await.map_err(|e| anyhow!(describe(&e)))?;
            println!("Revoked API key {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_id(raw: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| anyhow!("`{raw}` is not an API key id (a UUID, as `herald apikey list` shows)"))
}
