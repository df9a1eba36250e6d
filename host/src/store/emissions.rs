//! The emission log: entity data recorded by handlers for consumers, read
//! in order with a cursor.

use super::sled_backend::scan_page;
use super::{Page, Sled, StoreResult, ids};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Prefix of emission ids.
pub const EMISSION_PREFIX: &str = "em";

/// One emitted entity.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmissionRecord {
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// `em_...`, time-ordered.
    pub id: String,
    /// Entity type given by the handler, e.g. `USER`.
    pub entity_type: String,
    /// The entity's JSON data.
    #[schema(value_type = serde_json::Value)]
    pub data: Box<RawValue>,
    /// Webhook whose handler emitted it.
    pub webhook_id: String,
    /// Invocation that emitted it.
    pub invocation_id: String,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
}

impl Sled {
    /// Emissions in creation order after the cursor `after`, optionally
    /// filtered by entity type and webhook.
    pub fn list_emissions(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        entity_type: Option<&str>,
        webhook_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EmissionRecord>> {
        let cursor = after.and_then(|a| ids::key(EMISSION_PREFIX, a));
        let (data, last) = scan_page(
            &self.emissions,
            b"",
            cursor.as_ref().map(|c| &c[..]),
            limit,
            false,
            |e: &EmissionRecord| {
                e.workspace_id == workspace_id
                    && entity_type.is_none_or(|t| e.entity_type == t)
                    && webhook_id.is_none_or(|w| e.webhook_id == w)
            },
        )?;
        let next_cursor = last.map(|k| ids::from_key(EMISSION_PREFIX, &k));
        Ok(Page { data, next_cursor })
    }
}
