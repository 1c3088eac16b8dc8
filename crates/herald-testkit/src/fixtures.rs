//! Accounts, keys and integrations for tests.

use herald_store::IntegrationRow;
use herald_store::repo::Integrations;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Client, TestApp};

/// A registered, signed-in user.
pub struct Account {
    /// Carries the session cookie.
    pub session: Client,
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Registers (and so signs in) a new user.
    pub async fn register(&self, email: &str) -> Account {
        let session = self.anonymous();
        let body = session.post("/api/auth/register", json!({ "email": email, "password": PASSWORD })).await;
        body.expect(201);
        let me = session.get("/api/me").await;
        let me = me.expect(200);
        Account {
            session,
            id: me["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).expect("user id"),
            workspace_id: me["workspaceId"].as_str().and_then(|s| Uuid::parse_str(s).ok()).expect("workspace id"),
            email: email.to_string(),
        }
    }

    /// Inserts a connected integration straight into the store (connectors
    /// are tested on their own; these tests need an account to post to).
    pub async fn add_integration(&self, account: &Account, platform: &str) -> Uuid {
        let now = self.store.now();
        let id = Uuid::now_v7();
        Integrations(self.store.conn())
            .insert(IntegrationRow {
                id,
                workspace_id: account.workspace_id,
                created_by: Some(account.id),
                platform: platform.to_string(),
                platform_account_id: format!("acct-{id}"),
                platform_username: format!("{platform}-user"),
                display_name: format!("My {platform}"),
                avatar_url: None,
                credentials: None,
                token_expires_at: None,
                token_obtained_at: None,
                refresh_lease_until: None,
                access_ends_at: None,
                expiry_notice_days: None,
                scopes: json!([]),
                status: herald_core::integration::IntegrationStatus::Active,
                posting_times: json!([540, 720, 1020]),
                timezone: "UTC".into(),
                settings: json!({}),
                profile_pending: false,
                customer_id: None,
                created_at: now,
                updated_at: now,
            })
            .await
            .expect("insert integration");
        id
    }
}

impl TestApp {
    /// Connects a webhook integration through the API, as a user would.
    pub async fn connect_webhook(&self, account: &Account, receiver: &crate::WebhookReceiver, secret: &str) -> Uuid {
        let body = json!({"platform": "webhook", "credentials": {"url": receiver.url(), "secret": secret}, "name": "Receiver"});
        let connected = account.session.post("/api/integrations", body).await;
        let id = connected.expect(201)["id"].as_str().and_then(|s| Uuid::parse_str(s).ok());
        id.expect("integration id")
    }

    /// Polls a post until its status is `status`, or panics after `timeout`.
    pub async fn wait_for_post_status(
        &self,
        client: &Client,
        post_id: &str,
        status: &str,
        timeout: std::time::Duration,
    ) -> Value {
        let started = std::time::Instant::now();
        loop {
            let post = client.get(&format!("/api/posts/{post_id}")).await;
            if post.body["status"] == status {
                return post.body;
            }
            assert!(started.elapsed() < timeout, "post {post_id} did not become {status}: {}", post.text);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl TestApp {
    /// Invites `email` into `owner`'s workspace with `role` and has them
    /// register and accept. The returned account's session acts in that
    /// workspace (`X-Herald-Workspace`); its `workspace_id` is the owner's.
    pub async fn join(&self, owner: &Account, email: &str, role: &str) -> Account {
        let invited = owner
            .session
            .post(&format!("/api/workspaces/{}/invites", owner.workspace_id), json!({ "email": email, "role": role }))
            .await;
        let url = invited.expect(201)["inviteUrl"].as_str().expect("invite URL").to_string();
        let token = url.rsplit('/').next().expect("token").to_string();
        let member = self.register(email).await;
        member.session.post(&format!("/api/invites/{token}/accept"), json!({})).await.expect(200);
        let workspace = owner.workspace_id.to_string();
        Account {
            session: member.session.with_header("x-herald-workspace", &workspace),
            id: member.id,
            workspace_id: owner.workspace_id,
            email: member.email,
        }
    }
}

impl Account {
    /// Creates an API key with the given scopes (all when `None`).
    pub async fn api_key(&self, scopes: Option<&[&str]>) -> String {
        let mut body = json!({ "name": "test key" });
        if let Some(scopes) = scopes {
            body["scopes"] = json!(scopes);
        }
        let created = self.session.post("/api/api-keys", body).await;
        created.expect(201)["key"].as_str().expect("key").to_string()
    }
}

/// An ISO 8601 time `minutes` from now.
pub fn in_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

pub fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_string()
}

/// The start of an MP4 file (its `ftyp` box and a little more): what Herald
/// sniffs a video by, for upload tests.
pub const TINY_MP4: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\0\0\0\x08free-clip-bytes";

/// A valid 1×1 PNG, for upload tests.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
