//! `herald user create | list`: accounts for headless setups.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use herald_app::accounts::NewAccount;

use super::open_app;
use crate::cli::UserCommand;
use crate::config::Config;

pub async fn run(config: Config, command: UserCommand) -> Result<ExitCode> {
    let app = open_app(&config).await?.0.app;
    match command {
        UserCommand::Create { email, name, timezone, admin, password_stdin } => {
            let password = read_password(password_stdin)?;
            let user = app
                .create_account(NewAccount { email, password, name, timezone, admin })
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            println!("Created {} account {} ({})", user.role.as_str().to_lowercase(), user.email, user.id);
        }
        UserCommand::List => {
            for user in app.list_users().await.map_err(|e| anyhow::anyhow!(describe(&e)))? {
                println!("{}  {:<5}  {}  {}", user.id, user.role, user.email, user.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password on; pass --password-stdin and pipe it in");
    }
    let password = rpassword::prompt_password("Password (at least 12 characters): ").context("reading the password")?;
    let again = rpassword::prompt_password("Repeat the password: ").context("reading the password")?;
    if password != again {
        bail!("the two passwords differ");
    }
    Ok(password)
}

/// A use-case error as one readable line, validation details included.
pub fn describe(error: &herald_app::AppError) -> String {
    match error {
        herald_app::AppError::Validation { errors, .. } => {
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}
