//! Tokens renewed before they expire, and once at a time (DESIGN §5a).
//!
//! Refresh tokens of several platforms (X, TikTok …) are single-use and
//! rotate: a refresh that ran twice would spend the token twice, and the
//! second answer would be "invalid grant" — the account lost. So a refresh
//! first takes the integration's refresh lease (a conditional update, which
//! one caller wins in any process), reads the newest stored tokens, and
//! stores the new ones before anyone uses them. A caller that loses the
//! race waits for the winner's tokens instead of refreshing itself.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_core::event::{ActorType, EventKind};
use herald_core::integration::IntegrationStatus;
use herald_providers::{ErrorClass, Provider, ProviderError};
use herald_store::repo::{AccessEnd, Events, Integrations, NewEvent};
use herald_store::{IntegrationRow, StoreError, StoreResult};
use serde_json::Value;

use crate::Engine;

/// How long a refresh may hold the lease (longer than a token request).
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How long a caller waits for another's refresh before giving up for now.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(200);
/// Advance notices of an access that cannot be renewed, in days ahead.
const NOTICE_DAYS: [i32; 2] = [7, 1];
/// Long-lived tokens are renewed this long before they expire.
const LONG_LIVED_LEAD: chrono::Duration = chrono::Duration::days(7);
/// A publish renews a token that would expire within this margin first.
pub(crate) const JUST_IN_TIME: chrono::Duration = chrono::Duration::minutes(5);

/// When tokens obtained at `obtained` that expire at `expires` are renewed:
/// seven days ahead, or — for short-lived tokens — when a quarter of their
/// life is left (a two-hour X token half an hour ahead).
pub(crate) fn renew_at(obtained: Option<DateTime<Utc>>, expires: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = obtained.map_or(LONG_LIVED_LEAD * 4, |obtained| expires - obtained);
    expires - (lifetime / 4).clamp(chrono::Duration::zero(), LONG_LIVED_LEAD)
}

fn unavailable(error: StoreError) -> ProviderError {
    ProviderError::new(ErrorClass::Retryable { after: None }, format!("the database is unavailable: {error}"))
}

impl Engine {
    /// New tokens for an integration, stored encrypted before they are
    /// returned; the caller decides what a failure means.
    #[tracing::instrument(skip_all, fields(integration_id = %integration.id, platform = %integration.platform))]
    pub(crate) async fn renew_tokens(
        &self,
        provider: &dyn Provider,
        integration: &IntegrationRow,
    ) -> Result<Value, ProviderError> {
        let integrations = Integrations(self.store.conn());
        let now = self.now();
        if !integrations.take_refresh_lease(integration.id, now, now + LEASE).await.map_err(unavailable)? {
            return self.tokens_renewed_by_another(integration).await;
        }
        let renewed = self.renew_holding_lease(provider, integration).await;
        if renewed.is_err() {
            // Stored tokens end the lease themselves; a failure ends it here.
            if let Err(error) = integrations.release_refresh_lease(integration.id).await {
                tracing::warn!(%error, "could not end the refresh lease; it lapses by itself");
            }
        }
        renewed
    }

    async fn renew_holding_lease(
        &self,
        provider: &dyn Provider,
        integration: &IntegrationRow,
    ) -> Result<Value, ProviderError> {
        let integrations = Integrations(self.store.conn());
        // The newest stored tokens: a refresh token spent by an earlier
        // refresh is worthless.
        let latest = integrations.by_id(integration.id).await.map_err(unavailable)?;
        let latest = latest.ok_or_else(|| ProviderError::invalid("the integration was deleted"))?;
        let credentials = self.decrypt_credentials(&latest)?;
        // Renewed by someone else since this caller read the row (its lease
        // ended just before ours began): those tokens are fresh, use them.
        if latest.token_obtained_at > integration.token_obtained_at {
            integrations.release_refresh_lease(integration.id).await.map_err(unavailable)?;
            return Ok(credentials);
        }
        let refreshed = provider.refresh(&credentials).await?;
        let ends_at = herald_providers::oauth::access_ends_at(&refreshed.credentials, refreshed.expires_at);
        let access = AccessEnd::after(Some(&latest), ends_at);
        let sealed = self.vault.encrypt(refreshed.credentials.to_string().as_bytes(), integration.id.as_bytes());
        // The old refresh token may be spent now: storing the new one matters
        // more than anything else, so a failed write is tried again.
        let mut attempts = 0;
        loop {
            match integrations
                .store_tokens(integration.id, sealed.clone(), refreshed.expires_at, access, self.now())
                .await
            {
                Ok(_) => break,
                Err(error) if attempts < 3 => {
                    attempts += 1;
                    tracing::warn!(%error, attempts, "could not store refreshed tokens; trying again");
                    tokio::time::sleep(POLL).await;
                }
                Err(error) => {
                    tracing::error!(%error, "refreshed tokens could not be stored");
                    return Err(unavailable(error));
                }
            }
        }
        tracing::info!(expires_at = ?refreshed.expires_at, "tokens refreshed");
        Ok(refreshed.credentials)
    }

    /// Another worker or process holds the refresh lease: waits for it to
    /// end, then uses what it stored.
    async fn tokens_renewed_by_another(&self, integration: &IntegrationRow) -> Result<Value, ProviderError> {
        tracing::info!("another worker or process is renewing these tokens; waiting for its result");
        let integrations = Integrations(self.store.conn());
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            let row = integrations.by_id(integration.id).await.map_err(unavailable)?;
            let row = row.ok_or_else(|| ProviderError::invalid("the integration was deleted"))?;
            if row.refresh_lease_until.is_some_and(|until| until > self.now()) {
                continue;
            }
            if row.status != IntegrationStatus::Active {
                return Err(ProviderError::new(ErrorClass::Revoked, "the account's access could not be renewed"));
            }
            return self.decrypt_credentials(&row);
        }
        Err(ProviderError::new(
            ErrorClass::Retryable { after: None },
            "another process is renewing this account's tokens; trying again shortly",
        ))
    }
}

/// One round of the refresh job: renews every token due (see [`renew_at`]);
/// a grant the platform refuses marks the integration `NEEDS_RECONNECT`.
/// Returns how many were renewed.
pub(crate) async fn renew_due(engine: &Engine) -> StoreResult<usize> {
    let now = engine.now();
    let candidates = Integrations(engine.store.conn()).expiring_before(now + LONG_LIVED_LEAD).await?;
    let mut renewed = 0;
    for integration in candidates {
        let Some(expires) = integration.token_expires_at else { continue };
        if renew_at(integration.token_obtained_at, expires) > now {
            continue;
        }
        // No refresh token: nothing to renew; the account is told of its
        // end ahead (`warn_expiring`) and stays usable until then.
        if integration.access_ends_at.is_some_and(|ends| ends <= expires) {
            continue;
        }
        let Some(provider) = engine.providers.get(&integration.platform) else { continue };
        match engine.renew_tokens(provider.as_ref(), &integration).await {
            Ok(_) => renewed += 1,
            // What a refused refresh means is decided once, for deliveries and this job alike.
            Err(error) if crate::deliver::refresh_failure(error.clone()).class == ErrorClass::Revoked => {
                let txn = engine.store.begin_write().await?;
                let events = engine.needs_reconnect_in(&txn, &integration, &error.message, Vec::new()).await?;
                txn.commit().await?;
                engine.store.publish_events(events).await;
            }
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, %error, "token refresh failed; trying again later")
            }
        }
    }
    Ok(renewed)
}

/// The notice due for an access ending at `ends`, if one is: the nearest
/// of 7 and 1 days ahead that has come, unless it (or a nearer one) was given.
fn notice_due(ends: DateTime<Utc>, given: Option<i32>, now: DateTime<Utc>) -> Option<i32> {
    let due = NOTICE_DAYS.into_iter().filter(|days| ends - chrono::Duration::days(i64::from(*days)) <= now).min()?;
    given.is_none_or(|given| due < given).then_some(due)
}

/// Tells, 7 days and again 1 day ahead, of each account whose access ends
/// and cannot be renewed: an `integration_expiring` event. Returns how many
/// notices were given.
pub(crate) async fn warn_expiring(engine: &Engine) -> StoreResult<usize> {
    let now = engine.now();
    let horizon = now + chrono::Duration::days(i64::from(NOTICE_DAYS[0]));
    let mut given = 0;
    for integration in Integrations(engine.store.conn()).access_ending_before(horizon).await? {
        let Some(ends) = integration.access_ends_at else { continue };
        let Some(days) = notice_due(ends, integration.expiry_notice_days, now) else { continue };
        let txn = engine.store.begin_write().await?;
        Integrations(&txn).set_expiry_notice(integration.id, days).await?;
        let message = format!(
            "the {} account \"{}\" loses access on {} and cannot be renewed: reconnect it before then",
            integration.platform,
            integration.display_name,
            ends.format("%Y-%m-%d %H:%M UTC")
        );
        let event = Events(&txn)
            .append(NewEvent {
                at: now,
                workspace_id: integration.workspace_id,
                kind: EventKind::IntegrationExpiring,
                post_id: None,
                integration_id: Some(integration.id),
                actor_type: ActorType::System,
                actor_id: None,
                data: serde_json::json!({ "expiresAt": ends, "daysAhead": days, "message": message }),
            })
            .await?;
        txn.commit().await?;
        engine.store.publish_events(vec![event]).await;
        tracing::info!(integration_id = %integration.id, days, "access ends soon; notice given");
        given += 1;
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::hours(hours)
    }

    #[test]
    fn notices_come_seven_days_then_one_day_ahead_once_each() {
        let ends = at(1000);
        assert_eq!(notice_due(ends, None, ends - chrono::Duration::days(8)), None);
        assert_eq!(notice_due(ends, None, ends - chrono::Duration::days(7)), Some(7));
        assert_eq!(notice_due(ends, Some(7), ends - chrono::Duration::days(3)), None);
        assert_eq!(notice_due(ends, Some(7), ends - chrono::Duration::hours(20)), Some(1));
        assert_eq!(notice_due(ends, Some(1), ends - chrono::Duration::hours(2)), None);
        // Connected with less than a day left: the nearest notice only.
        assert_eq!(notice_due(ends, None, ends - chrono::Duration::hours(5)), Some(1));
    }

    #[test]
    fn short_lived_tokens_are_renewed_with_a_quarter_of_their_life_left() {
        // X: two hours → half an hour ahead.
        assert_eq!(renew_at(Some(at(0)), at(2)), at(2) - chrono::Duration::minutes(30));
    }

    #[test]
    fn long_lived_tokens_are_renewed_seven_days_ahead() {
        // LinkedIn: 60 days.
        assert_eq!(renew_at(Some(at(0)), at(60 * 24)), at(60 * 24) - LONG_LIVED_LEAD);
        assert_eq!(renew_at(None, at(1000)), at(1000) - LONG_LIVED_LEAD);
    }
}
