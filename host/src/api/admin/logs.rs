//! Read-only logs: invocations of a webhook, published events, emissions.

use super::page_limit;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery};
use crate::store::{EmissionRecord, InvocationRecord, Page, ids};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{id}/invocations", get(invocations))
        .route("/emissions", get(emissions))
}

#[derive(Deserialize)]
struct InvocationQuery {
    before: Option<String>,
    limit: Option<usize>,
}

/// Newest first; page back with `before=<next_cursor>`.
async fn invocations(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<InvocationQuery>,
) -> Result<Json<Page<InvocationRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    if state.registry.webhook(&id).is_none() {
        return Err(ApiError::not_found(format!("no webhook {id:?}")));
    }
    let before = check_cursor("inv", q.before.as_deref())?;
    Ok(Json(
        state
            .registry
            .store()
            .list_invocations(&id, before, limit)?,
    ))
}

#[derive(Deserialize)]
struct EmissionQuery {
    after: Option<String>,
    limit: Option<usize>,
    entity_type: Option<String>,
    webhook: Option<String>,
}

/// Oldest first; continue with `after=<next_cursor>`.
async fn emissions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EmissionQuery>,
) -> Result<Json<Page<EmissionRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("em", q.after.as_deref())?;
    let page = state.registry.store().list_emissions(
        after,
        q.entity_type.as_deref(),
        q.webhook.as_deref(),
        limit,
    )?;
    Ok(Json(page))
}

pub(super) fn check_cursor<'a>(
    prefix: &str,
    cursor: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match cursor {
        Some(c) if ids::key(prefix, c).is_none() => Err(ApiError::invalid(format!(
            "cursor {c:?} is not a `{prefix}_...` id"
        ))),
        other => Ok(other),
    }
}
