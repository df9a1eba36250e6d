//! Read-only logs: invocations of a webhook, published events, emissions.

use super::page_limit;
use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use crate::store::{EmissionRecord, InvocationRecord, Page, ids};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{id}/invocations", get(invocations))
        .route("/emissions", get(emissions))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InvocationQuery {
    /// Cursor: the `next_cursor` of the previous page (an `inv_...` id).
    #[param(pattern = "^inv_[0-9a-f]{32}$")]
    before: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// A webhook's invocations, newest first; page back with `before=<next_cursor>`.
#[utoipa::path(get, path = "/v1/webhooks/{id}/invocations", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), InvocationQuery),
    responses((status = 200, description = "A page of invocations", body = Page<InvocationRecord>), ErrorResponses))]
pub(crate) async fn invocations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<InvocationQuery>,
) -> Result<Json<Page<InvocationRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    super::webhooks::own_webhook(&state, &caller, &id)?;
    let before = check_cursor("inv", q.before.as_deref())?;
    Ok(Json(
        state
            .registry
            .store()
            .list_invocations(&id, before, limit)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EmissionQuery {
    /// Cursor: the `next_cursor` of the previous page (an `em_...` id).
    #[param(pattern = "^em_[0-9a-f]{32}$")]
    after: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only this entity type.
    entity_type: Option<String>,
    /// Only emissions of this webhook.
    webhook: Option<String>,
}

/// Emissions, oldest first; continue with `after=<next_cursor>`.
#[utoipa::path(get, path = "/v1/emissions", tag = "events", params(EmissionQuery),
    responses((status = 200, description = "A page of emissions", body = Page<EmissionRecord>), ErrorResponses))]
pub(crate) async fn emissions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EmissionQuery>,
) -> Result<Json<Page<EmissionRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("em", q.after.as_deref())?;
    let page = state
        .registry
        .store()
        .list_emissions(
            &caller.workspace_id,
            after,
            q.entity_type.as_deref(),
            q.webhook.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(page))
}

/// Checks a cursor: an id as the server makes them, `<prefix>_` and 32
/// lowercase hex digits (the pattern the document gives for it).
pub(super) fn check_cursor<'a>(
    prefix: &str,
    cursor: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match cursor {
        Some(c) if !is_id(prefix, c) => Err(ApiError::invalid(format!(
            "cursor {c:?} is not a `{prefix}_...` id"
        ))),
        other => Ok(other),
    }
}

/// Whether `id` has the form of the ids made with `prefix`: `<prefix>_` and
/// 32 lowercase hex digits, `^<prefix>_[0-9a-f]{32}$`.
pub(super) fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
        && ids::key(prefix, id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_ids_in_the_form_they_are_made() {
        let (id, _) = ids::new("evt");
        assert!(is_id("evt", &id), "{id}");
        assert!(check_cursor("evt", Some(&id)).is_ok());
        assert!(check_cursor("evt", None).is_ok());
        assert!(is_id("evt", "evt_0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "evt_",
            "evt",
            "evt_0123456789ABCDEF0123456789ABCDEF",
            &id.replace("evt_", "dlv_"),
            &format!("{id}0"),
            &id[..id.len() - 1],
            "evt_0123456789abcdef0123456789abcdeg",
            "evt_01234567-89ab-cdef-0123-456789abcdef",
        ] {
            assert!(!is_id("evt", bad), "{bad}");
            assert!(check_cursor("evt", Some(bad)).is_err(), "{bad}");
        }
    }
}
