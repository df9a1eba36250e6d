//! The invocation log: one record per request served by a webhook, keyed by
//! webhook id then time, so "recent invocations of a webhook" is one scan.

use super::sled_backend::scan_page;
use super::{Page, Sled, StoreError, StoreResult, ids};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Prefix of invocation ids.
pub const INVOCATION_PREFIX: &str = "inv";

/// What happened to one request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvocationRecord {
    /// `inv_...`, time-ordered; also passed to the handler and returned in
    /// the `x-hookhost-invocation` response header.
    pub id: String,
    /// Webhook that was called.
    pub webhook_id: String,
    /// When the request arrived.
    pub received_at: DateTime<Utc>,
    /// Request method.
    pub method: String,
    /// Path below the webhook URL.
    pub path: String,
    /// HTTP status sent back.
    pub status: u16,
    /// `ok`, a handler error (`bad_request`, `unauthorized`, `internal`), a
    /// sandbox failure (`trap`, `timeout`, `memory_limit`, `record_limit`,
    /// `response_too_large`, `invalid_response`, `overloaded`, `storage`),
    /// or a request stopped before its handler: `unverified` (its signature
    /// failed the webhook's `verify`) or `duplicate` (the first answer to its
    /// delivery id was replayed).
    pub outcome: String,
    /// Wall time of the invocation in milliseconds.
    pub duration_ms: f64,
    /// Error message, for anything but `ok`.
    pub error: Option<String>,
    /// Emissions committed.
    pub emitted: u32,
    /// Events committed.
    pub published: u32,
    /// What the guest wrote to stdout/stderr and through `host.log`, up to
    /// the sandbox's log limit (a Python traceback, say); absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The request, kept when the webhook has `capture` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<CapturedRequest>,
    /// The handler's response, kept when the webhook has `capture` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<CapturedResponse>,
    /// Outgoing HTTP calls the handler made (or tried), in order of
    /// completion; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<OutboundCall>,
    /// Follow-up webhooks the handler registered (committed with it);
    /// absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered: Vec<String>,
    /// Whether it ran in an instance kept from an earlier call of its
    /// webhook (`reuse_instances`); absent when it ran in a fresh one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
}

/// One outgoing HTTP call of a handler, as the invocation log keeps it:
/// no query string, headers or bodies (they may hold credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboundCall {
    /// Request method.
    pub method: String,
    /// Host, with the port when the URL named one.
    pub host: String,
    /// URL path, without the query.
    pub path: String,
    /// Response status; absent when the call failed or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the call failed or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time of the call in milliseconds.
    pub duration_ms: f64,
}

/// What stats read of an invocation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InvocationOutcome {
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Status answered.
    pub status: u16,
    /// Wall time, ms.
    pub duration_ms: f64,
}

/// A request as kept for replay (webhooks with `capture` on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapturedRequest {
    /// Method.
    pub method: String,
    /// Path below the webhook URL.
    pub path: String,
    /// Query string, without `?`.
    pub query: String,
    /// Headers as the handler saw them (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body, base64, up to the capture limit.
    pub body_base64: String,
    /// The body's full size in bytes; more than what `body_base64` holds
    /// when it was cut at the capture limit.
    pub body_bytes: usize,
}

/// A response as kept for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapturedResponse {
    /// Status.
    pub status: u16,
    /// Headers the handler set.
    pub headers: Vec<(String, String)>,
    /// The body, base64, up to the capture limit.
    pub body_base64: String,
    /// The body's full size in bytes.
    pub body_bytes: usize,
}

/// The first `max` bytes of `bytes`, base64, with the full size.
pub fn capture_body(bytes: &[u8], max: usize) -> (String, usize) {
    use base64::Engine;
    let kept = &bytes[..bytes.len().min(max)];
    (
        base64::engine::general_purpose::STANDARD.encode(kept),
        bytes.len(),
    )
}

pub(super) fn key(webhook_id: &str, invocation_id: &str) -> Vec<u8> {
    let mut k = prefix(webhook_id);
    k.extend_from_slice(&ids::key(INVOCATION_PREFIX, invocation_id).unwrap_or_default());
    k
}

fn prefix(webhook_id: &str) -> Vec<u8> {
    let mut k = webhook_id.as_bytes().to_vec();
    k.push(b'/');
    k
}

impl Sled {
    /// Invocations of `webhook_id`, newest first, before the cursor `before`.
    pub fn list_invocations(
        &self,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<InvocationRecord>> {
        let cursor = before.map(|c| key(webhook_id, c));
        let (data, last): (Vec<InvocationRecord>, _) = scan_page(
            &self.invocations,
            &prefix(webhook_id),
            cursor.as_deref(),
            limit,
            true,
            |_| true,
        )?;
        let next_cursor = last.and(data.last().map(|r| r.id.clone()));
        Ok(Page { data, next_cursor })
    }

    /// [`super::Backend::invocation_outcomes`] (blocking: a scan).
    pub(super) fn invocation_outcomes_blocking(
        &self,
        webhook_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<InvocationOutcome>> {
        let mut out = Vec::new();
        for item in self.invocations.scan_prefix(prefix(webhook_id)).rev() {
            // The light record: what it captured is skipped, not decoded.
            let o: InvocationOutcome = super::decode(&item?.1)?;
            if o.received_at < since || out.len() >= limit {
                break;
            }
            out.push(o);
        }
        Ok(out)
    }

    /// Invocation `id` of `webhook_id`.
    pub fn get_invocation(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> StoreResult<Option<InvocationRecord>> {
        if ids::key(INVOCATION_PREFIX, id).is_none() {
            return Ok(None);
        }
        self.invocations
            .get(key(webhook_id, id))?
            .map(|v| super::decode(&v))
            .transpose()
    }

    /// Deletes all but the newest `keep` invocations of `webhook_id`.
    pub fn prune_invocations(&self, webhook_id: &str, keep: usize) -> StoreResult<usize> {
        let mut removed = 0;
        for item in self
            .invocations
            .scan_prefix(prefix(webhook_id))
            .rev()
            .skip(keep)
        {
            let (k, _) = item?;
            self.invocations.remove(k)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Keeps the invocation log of every webhook to `keep` records.
    pub fn prune_all_invocations(&self, keep: usize) -> StoreResult<usize> {
        let mut removed = 0;
        for w in self.list_webhooks()? {
            removed += self.prune_invocations(&w.id, keep)?;
        }
        Ok(removed)
    }
}

impl From<sled::transaction::UnabortableTransactionError> for StoreError {
    fn from(e: sled::transaction::UnabortableTransactionError) -> Self {
        StoreError::Db(e.to_string())
    }
}
