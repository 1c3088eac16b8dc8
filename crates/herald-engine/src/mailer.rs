//! Sends the e-mail outbox over SMTP (`SMTP_URL`, `EMAIL_FROM`). A mail is
//! claimed with a lease, sent, and marked; a failure is logged and retried
//! with growing pauses, so a dead SMTP server delays mail and never blocks
//! or loses anything else. A permanent refusal (5xx) is not retried.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_store::EmailRow;
use herald_store::StoreResult;
use herald_store::repo::Outbox;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::Engine;

/// Where and as whom to send.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://user:pass@host:port` (plain, or STARTTLS with
    /// `?tls=required`), `smtps://` for implicit TLS. Holds a password:
    /// never printed.
    pub smtp_url: String,
    pub from: String,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings").field("smtp_url", &"****").field("from", &self.from).finish()
    }
}

const BATCH: u64 = 20;
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts before a mail is given up on (the pauses add up to about a day).
const MAX_ATTEMPTS: i32 = 10;

/// Checks the settings at start-up: a readable error instead of mail that
/// silently never leaves.
pub fn check(settings: &MailSettings) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
        .map_err(|e| format!("SMTP_URL is not a usable smtp:// or smtps:// URL: {e}"))?;
    settings
        .from
        .parse::<Mailbox>()
        .map_err(|e| format!("EMAIL_FROM `{}` is not an e-mail address: {e}", settings.from))?;
    Ok(())
}

fn transport(settings: &MailSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
        .map(|builder| builder.timeout(Some(SEND_TIMEOUT)).build())
        .map_err(|e| format!("SMTP_URL is not a usable smtp:// or smtps:// URL: {e}"))
}

/// One round: sends what is due; how many were sent.
pub(crate) async fn send_due(engine: &Engine) -> StoreResult<usize> {
    let Some(settings) = &engine.config.mail else { return Ok(0) };
    let now = engine.now();
    let txn = engine.store.begin_write().await?;
    let due = Outbox(&txn).claim_due(now, now + LEASE, BATCH).await?;
    txn.commit().await?;
    if due.is_empty() {
        return Ok(0);
    }
    let outbox = Outbox(engine.store.conn());
    let (transport, from) = match (transport(settings), settings.from.parse::<Mailbox>()) {
        (Ok(transport), Ok(from)) => (transport, from),
        (Err(error), _) => {
            for mail in &due {
                outbox.failed(mail.id, &error, Some(retry_at(mail, now)), now).await?;
            }
            return Ok(0);
        }
        (_, Err(error)) => {
            let error = format!("EMAIL_FROM is not an e-mail address: {error}");
            for mail in &due {
                outbox.failed(mail.id, &error, Some(retry_at(mail, now)), now).await?;
            }
            return Ok(0);
        }
    };
    let mut sent = 0;
    for mail in due {
        let message = match message(&mail, &from) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(mail_id = %mail.id, %error, "an e-mail cannot be built; given up");
                outbox.failed(mail.id, &error, None, engine.now()).await?;
                continue;
            }
        };
        match transport.send(message).await {
            Ok(_) => {
                outbox.sent(mail.id, engine.now()).await?;
                sent += 1;
            }
            Err(error) => {
                let give_up = error.is_permanent() || mail.attempts + 1 >= MAX_ATTEMPTS;
                let detail = error.to_string();
                if give_up {
                    tracing::error!(mail_id = %mail.id, kind = %mail.kind, error = %detail, "an e-mail could not be sent; given up");
                    outbox.failed(mail.id, &detail, None, engine.now()).await?;
                } else {
                    let at = retry_at(&mail, engine.now());
                    tracing::warn!(mail_id = %mail.id, kind = %mail.kind, error = %detail, retry_at = %at, "an e-mail could not be sent; retrying later");
                    outbox.failed(mail.id, &detail, Some(at), engine.now()).await?;
                }
            }
        }
    }
    Ok(sent)
}

/// 1, 2, 4 … minutes after the attempt that failed, at most 6 hours.
fn retry_at(mail: &EmailRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = u32::try_from(mail.attempts.clamp(0, 9)).unwrap_or(9);
    now + chrono::Duration::minutes(2_i64.pow(exponent).min(360))
}

fn message(mail: &EmailRow, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox =
        mail.recipient.parse().map_err(|e| format!("`{}` is not an e-mail address: {e}", mail.recipient))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .header(lettre::message::header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(mail.text_body.clone(), mail.html_body.clone()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_their_name() {
        let bad = MailSettings { smtp_url: "http://mail".into(), from: "herald@example.com".into() };
        assert!(check(&bad).unwrap_err().contains("SMTP_URL"));
        let bad = MailSettings { smtp_url: "smtp://127.0.0.1:2525".into(), from: "not an address".into() };
        assert!(check(&bad).unwrap_err().contains("EMAIL_FROM"));
        assert!(
            check(&MailSettings { smtp_url: "smtp://127.0.0.1:2525".into(), from: "Herald <h@example.com>".into() })
                .is_ok()
        );
    }
}
