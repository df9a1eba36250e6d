//! Registered webhooks: the URL id, the module that handles it, its payload.

use super::{Sled, StoreResult, decode, encode};
use crate::dedup::DedupConfig;
use crate::verify::VerifyConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A registered webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Keep each request and response with its invocation record, for
    /// replay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capture: bool,
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// Unguessable id (122 random bits); the last segment of the URL.
    pub id: String,
    /// Name of the module handling requests.
    pub module: String,
    /// JSON handed to every invocation as context.
    pub payload: Option<serde_json::Value>,
    /// Free text for humans.
    pub description: String,
    /// Disabled webhooks answer 404 without running the handler.
    pub enabled: bool,
    /// Signature check before the handler runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
    /// Deduplication of retried deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupConfig>,
    /// Hosts its handler may call (`host` or `host:port`, `*.domain`);
    /// empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_hosts: Vec<String>,
    /// Run its requests in instances kept from its earlier calls (state in
    /// the guest's memory persists between them); off: a fresh instance
    /// per request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuse_instances: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Sled {
    /// Inserts or replaces a webhook, durably.
    pub async fn put_webhook(&self, record: &WebhookRecord) -> StoreResult<()> {
        self.webhooks.insert(record.id.as_bytes(), encode(record))?;
        self.flush().await
    }

    /// The webhook `id`.
    pub fn get_webhook(&self, id: &str) -> StoreResult<Option<WebhookRecord>> {
        self.webhooks.get(id)?.map(|v| decode(&v)).transpose()
    }

    /// Every webhook, ordered by id.
    pub fn list_webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        self.webhooks.iter().map(|r| decode(&r?.1)).collect()
    }

    /// Deletes a webhook, its invocation log and its remembered answers,
    /// durably.
    pub async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        self.webhooks.remove(id)?;
        self.prune_invocations(id, 0)?;
        self.remove_dedup_of(id)?;
        self.flush().await
    }
}
