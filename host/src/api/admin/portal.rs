//! `/v1/portal/session`: what the customer portal shows about the caller's
//! workspace (its name, branding, catalogue) and the caller's own access.

use super::scope::{Access, Caller};
use crate::api::AppState;
use crate::api::error::{ApiError, ErrorResponses};
use crate::tenancy::{Branding, EventTypeRecord};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/portal/session", get(session))
}

/// The caller's workspace as the portal shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct PortalSession {
    /// The workspace.
    workspace_id: String,
    /// Its display name (branding, else its name).
    display_name: String,
    /// How the portal looks.
    branding: Branding,
    /// Whether the caller may only read.
    read_only: bool,
    /// The catalogue to subscribe from.
    event_types: Vec<EventTypeRecord>,
}

/// The caller's workspace, for the portal page.
#[utoipa::path(get, path = "/v1/portal/session", tag = "portal",
    responses((status = 200, description = "The workspace as the portal shows it", body = PortalSession), ErrorResponses),
    description = "Any credential; a portal link's page reads it first.")]
pub(crate) async fn session(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PortalSession>, ApiError> {
    let ws = state
        .tenancy
        .workspace(&caller.workspace_id)
        .ok_or_else(|| ApiError::not_found("the workspace is gone"))?;
    let read_only = matches!(
        caller.access,
        Access::Portal { read_only: true } | Access::Token(crate::tenancy::Role::Read)
    );
    Ok(Json(PortalSession {
        display_name: ws.branding.display_name.clone().unwrap_or(ws.name),
        branding: ws.branding,
        read_only,
        event_types: state.tenancy.event_types(&ws.id),
        workspace_id: ws.id,
    }))
}
