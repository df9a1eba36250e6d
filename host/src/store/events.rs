//! Events published by handlers (and, later, posted to the API): the input
//! of outbound delivery.

use super::sled_backend::scan_page;
use super::{Page, Sled, StoreResult, ids};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Prefix of event ids.
pub const EVENT_PREFIX: &str = "evt";

/// Where an event came from.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventSource {
    /// Webhook whose handler published the event.
    pub webhook_id: String,
    /// Invocation that published it.
    pub invocation_id: String,
}

/// A published event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// `evt_...`, time-ordered.
    pub id: String,
    /// Event type, e.g. `user.updated`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's JSON data, as published.
    #[schema(value_type = serde_json::Value)]
    pub data: Box<RawValue>,
    /// When it was committed.
    pub created_at: DateTime<Utc>,
    /// The invocation that published it, if a handler did.
    pub source: Option<EventSource>,
}

impl Sled {
    /// The event `id`.
    pub fn get_event(&self, id: &str) -> StoreResult<Option<EventRecord>> {
        let Some(k) = ids::key(EVENT_PREFIX, id) else {
            return Ok(None);
        };
        self.events.get(k)?.map(|v| super::decode(&v)).transpose()
    }

    /// Events in creation order after the cursor `after`, optionally of one type.
    pub fn list_events(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        event_type: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EventRecord>> {
        let cursor = after.and_then(|a| ids::key(EVENT_PREFIX, a));
        let (data, last) = scan_page(
            &self.events,
            b"",
            cursor.as_ref().map(|c| &c[..]),
            limit,
            false,
            |e: &EventRecord| {
                e.workspace_id == workspace_id && event_type.is_none_or(|t| e.event_type == t)
            },
        )?;
        let next_cursor = last.map(|k| ids::from_key(EVENT_PREFIX, &k));
        Ok(Page { data, next_cursor })
    }
}
