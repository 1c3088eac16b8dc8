//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald API",
        description = "Self-hosted social media scheduling. Authenticate with an API key \
            (`Authorization: Bearer ptz_…`) or the session cookie set by `/api/auth/login`. \
            Errors always have the shape `{\"error\":{\"code\",\"message\",\"details\",\"timestamp\",\"requestId\"}}`.",
        license(name = "AGPL-3.0-only"),
    ),
    components(schemas(ErrorBody, herald_core::post::PostStatus)),
    modifiers(&Security),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "api-keys", description = "API keys for scripts and AI assistants"),
        (name = "connected-apps", description = "MCP apps connected by OAuth sign-in"),
        (name = "integrations", description = "Connected social accounts"),
        (name = "posts", description = "Drafts, scheduled and published posts"),
        (name = "events", description = "Live updates"),
        (name = "analytics", description = "How posts and accounts did"),
        (name = "media", description = "Images and videos to attach"),
        (name = "platforms", description = "What Herald publishes to, and each platform's rules"),
        (name = "teams", description = "Workspaces, members, invites, the audit trail and notifications"),
        (name = "webhooks", description = "Events sent, signed, to your URLs"),
        (name = "feeds", description = "RSS and Atom feeds posted automatically"),
        (name = "agency", description = "For agencies: customers, tags, signatures, sets, preview links and comments"),
        (name = "ai", description = "Writing help from an OpenAI-compatible model, when configured"),
        (name = "postiz", description = "Postiz's public API (`/public/v1`) for the `postiz` CLI, n8n, Make and \
            scripts written for Postiz: the API key in a bare `Authorization: <key>` header, Postiz's bodies and \
            answers, Herald's budgets and scopes"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ptz_ + 40 base62 characters").build(),
            ),
        );
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("herald_session"))));
        openapi.security = Some(vec![
            SecurityRequirement::new("api_key", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

/// Adds the answers every operation can give. Applied to the finished
/// document: the routes' paths are merged in after `ApiDoc`'s modifiers run. (bad credentials, missing
/// scope, rate limit, server error) where the handler did not list them.
pub struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let common = [
            ("400", "Malformed request"),
            ("401", "Missing, invalid, revoked or expired credentials"),
            ("403", "The key lacks a scope, or your role does not allow this"),
            ("429", "Rate limited; see the Retry-After header"),
            ("500", "Server error; quote the request id"),
        ];
        for item in openapi.paths.paths.values_mut() {
            // In this order: GET, then the methods that change something.
            let operations: [Option<&mut Operation>; 5] =
                [item.get.as_mut(), item.post.as_mut(), item.put.as_mut(), item.patch.as_mut(), item.delete.as_mut()];
            let mutations = [false, true, true, true, true];
            for (operation, mutation) in operations.into_iter().zip(mutations) {
                let Some(operation) = operation else { continue };
                let public = operation.security.as_ref().is_some_and(|s| s.iter().all(is_empty_requirement));
                let with_body = [
                    ("413", "The request body is too large"),
                    ("415", "The body is not of the documented content type"),
                    ("422", "The body does not match the documented shape, or a value is invalid"),
                ];
                let body_errors = if operation.request_body.is_some() { &with_body[..] } else { &[] };
                for &(status, description) in common.iter().chain(body_errors) {
                    // A public mutation can still be refused (403) when a
                    // page of another site sends it with the session cookie.
                    if public && (status == "401" || (status == "403" && !mutation)) {
                        continue;
                    }
                    operation.responses.responses.entry(status.to_string()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/json",
                                ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                            )
                            .build()
                            .into()
                    });
                }
            }
        }
    }
}

fn is_empty_requirement(requirement: &SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
}
