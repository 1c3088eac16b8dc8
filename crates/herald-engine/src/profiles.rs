//! Profiles read late: an account connected while its profile (name,
//! avatar) could not be read — connecting never fails for decoration — is
//! asked again each round until the platform answers.

use herald_store::StoreResult;
use herald_store::repo::Integrations;

use crate::Engine;

/// Integrations asked per round.
const BATCH: u64 = 50;

/// One round; returns how many profiles were completed.
pub(crate) async fn refresh(engine: &Engine) -> StoreResult<usize> {
    let pending = Integrations(engine.store.conn()).profile_pending(BATCH).await?;
    let mut completed = 0;
    for integration in pending {
        let Some(provider) = engine.providers.get(&integration.platform) else { continue };
        let Ok(credentials) = engine.decrypt_credentials(&integration) else { continue };
        match provider.profile(&credentials).await {
            Ok(profile) => {
                let name = profile.as_ref().and_then(|p| p.display_name.as_deref());
                let avatar = profile.as_ref().and_then(|p| p.avatar_url.as_deref());
                Integrations(engine.store.conn()).complete_profile(integration.id, name, avatar, engine.now()).await?;
                completed += 1;
            }
            Err(error) => {
                tracing::debug!(integration_id = %integration.id, error = %error.message, "profile still unavailable");
            }
        }
    }
    Ok(completed)
}
