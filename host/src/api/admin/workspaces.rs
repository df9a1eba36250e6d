//! `/v1/workspaces`: workspaces, their API tokens and portal links (admin
//! token only).

use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorResponses};
use crate::store::{Page, is_default_workspace};
use crate::tenancy::portal::MAX_TTL;
use crate::tenancy::{
    Branding, Quotas, Role, TenancyError, TokenRecord, Workspace, WorkspacePatch,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list).post(create))
        .route("/workspaces/{id}", get(show).patch(update).delete(remove))
        .route("/workspaces/{id}/tokens", get(tokens).post(create_token))
        .route("/workspaces/{id}/tokens/{token_id}", delete(revoke_token))
        .route("/workspaces/{id}/portal", post(portal_link))
        .route("/workspaces/{id}/portal/revoke", post(revoke_portal_links))
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        let message = e.to_string();
        match e {
            TenancyError::NotFound(_) => ApiError::not_found(message),
            TenancyError::Invalid(_) => ApiError::invalid(message),
            TenancyError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            TenancyError::Quota(_) => ApiError::quota(message, None),
            TenancyError::Store(s) => s.into(),
        }
    }
}

/// Body of `POST /v1/workspaces`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspaceIn {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    /// Free text.
    #[serde(default)]
    description: String,
    /// Limits; absent ones are unlimited.
    #[serde(default, deserialize_with = "object")]
    quotas: Quotas,
    /// How its portal looks.
    #[serde(default, deserialize_with = "object")]
    branding: Branding,
}

/// A JSON object as `T` (serde would also take a struct as an array of its
/// fields; the API takes objects only).
fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    match serde_json::Value::deserialize(d)? {
        v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(de::Error::custom),
        other => Err(de::Error::custom(format!(
            "expected an object, not {other}"
        ))),
    }
}

/// [`object`], or `null`.
fn object_opt<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        v @ serde_json::Value::Object(_) => serde_json::from_value(v)
            .map(Some)
            .map_err(de::Error::custom),
        other => Err(de::Error::custom(format!(
            "expected an object, not {other}"
        ))),
    }
}

/// Body of `PATCH /v1/workspaces/{id}`: absent fields stay as they are;
/// `quotas` and `branding` replace the whole object.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspacePatchIn {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: Option<String>,
    /// Free text.
    description: Option<String>,
    /// New limits.
    #[serde(default, deserialize_with = "object_opt")]
    quotas: Option<Quotas>,
    /// New branding.
    #[serde(default, deserialize_with = "object_opt")]
    branding: Option<Branding>,
}

/// Creates a workspace.
#[utoipa::path(post, path = "/v1/workspaces", tag = "workspaces", request_body = WorkspaceIn,
    responses((status = 201, description = "Created", body = Workspace), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<WorkspaceIn>,
) -> Result<impl IntoResponse, ApiError> {
    let w = state
        .tenancy
        .create_workspace(body.name, body.description, body.quotas, body.branding)
        .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

/// Every workspace, `default` first (one page).
#[utoipa::path(get, path = "/v1/workspaces", tag = "workspaces",
    responses((status = 200, description = "The workspaces", body = Page<Workspace>), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn list(State(state): State<AppState>) -> Json<Page<Workspace>> {
    Json(Page {
        data: state.tenancy.workspaces(),
        next_cursor: None,
    })
}

fn workspace(state: &AppState, id: &str) -> Result<Workspace, ApiError> {
    state
        .tenancy
        .workspace(id)
        .ok_or_else(|| ApiError::not_found(format!("no workspace {id:?}")))
}

/// One workspace.
#[utoipa::path(get, path = "/v1/workspaces/{id}", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, description = "The workspace", body = Workspace), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Workspace>, ApiError> {
    Ok(Json(workspace(&state, &id)?))
}

/// Changes a workspace's name, description, quotas or branding.
#[utoipa::path(patch, path = "/v1/workspaces/{id}", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    request_body = WorkspacePatchIn,
    responses((status = 200, description = "The changed workspace", body = Workspace), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WorkspacePatchIn>,
) -> Result<Json<Workspace>, ApiError> {
    let patch = WorkspacePatch {
        name: body.name,
        description: body.description,
        quotas: body.quotas,
        branding: body.branding,
    };
    Ok(Json(state.tenancy.update_workspace(&id, patch).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteQuery {
    /// Remove everything the workspace holds too.
    #[serde(default)]
    force: bool,
}

/// Deletes a workspace: refused (409) while it holds modules, webhooks,
/// endpoints or events, unless `?force=true`, which removes them all (and
/// its tokens and event types) first.
#[utoipa::path(delete, path = "/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id"), DeleteQuery),
    responses((status = 204, description = "Deleted"), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    workspace(&state, &id)?;
    if is_default_workspace(&id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the default workspace cannot be deleted",
        ));
    }
    let webhooks = state.registry.webhooks_of(&id);
    let modules = state.registry.modules(&id);
    let endpoints: Vec<_> = state
        .outbound
        .endpoints()
        .await?
        .into_iter()
        .filter(|e| e.workspace_id == id)
        .collect();
    let store = state.registry.store();
    let has_events = !store.list_events(&id, None, None, 1).await?.data.is_empty();
    if !q.force
        && (!webhooks.is_empty() || !modules.is_empty() || !endpoints.is_empty() || has_events)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "workspace {id} holds {} module(s), {} webhook(s), {} endpoint(s){}; \
                 delete them first, or delete with ?force=true to remove everything",
                modules.len(),
                webhooks.len(),
                endpoints.len(),
                if has_events { " and events" } else { "" }
            ),
        ));
    }
    for w in webhooks {
        ignore_gone(state.registry.delete_webhook(&w.record.id).await)?;
    }
    for m in modules {
        ignore_gone(state.registry.delete_module(&id, &m.record.name).await)?;
    }
    for e in endpoints {
        match state.outbound.delete_endpoint(&e.id).await {
            Err(crate::delivery::OutboundError::NotFound(_)) | Ok(()) => {}
            Err(e) => return Err(e.into()),
        }
    }
    store.purge_workspace(&id).await?;
    state.tenancy.delete_workspace(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deleted meanwhile by someone else is as good as deleted here.
fn ignore_gone(r: Result<(), crate::registry::RegistryError>) -> Result<(), ApiError> {
    match r {
        Err(crate::registry::RegistryError::NotFound(_)) | Ok(()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Body of `POST /v1/workspaces/{id}/tokens`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenIn {
    /// `admin` (everything in the workspace) or `read` (403 on changes).
    role: Role,
    /// Free text.
    #[serde(default)]
    description: String,
    /// When the token stops working (RFC 3339, in the future); never when absent.
    expires_at: Option<DateTime<Utc>>,
}

/// A token as the API lists it: never its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenOut {
    /// `tok_...`.
    id: String,
    /// Its workspace.
    workspace_id: String,
    /// `admin` or `read`.
    role: Role,
    /// Free text.
    description: String,
    /// Last four characters of the secret.
    hint: String,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Expiry, if any.
    expires_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenOut {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            workspace_id: t.workspace_id,
            role: t.role,
            description: t.description,
            hint: t.hint,
            created_at: t.created_at,
            expires_at: t.expires_at,
        }
    }
}

/// A new token, with its secret: shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewTokenOut {
    #[serde(flatten)]
    token: TokenOut,
    /// The bearer token (`hhk_...`). hookhost keeps only its SHA-256.
    secret: String,
}

/// Issues an API token for the workspace; the secret is in this answer only.
#[utoipa::path(post, path = "/v1/workspaces/{id}/tokens", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    request_body = TokenIn,
    responses((status = 201, description = "Created; `secret` is shown once", body = NewTokenOut), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TokenIn>,
) -> Result<impl IntoResponse, ApiError> {
    let (token, secret) = state
        .tenancy
        .create_token(&id, body.role, body.description, body.expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenOut {
            token: token.into(),
            secret,
        }),
    ))
}

/// The workspace's tokens (one page), without secrets.
#[utoipa::path(get, path = "/v1/workspaces/{id}/tokens", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 200, description = "The tokens", body = Page<TokenOut>), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Page<TokenOut>>, ApiError> {
    workspace(&state, &id)?;
    Ok(Json(Page {
        data: state
            .tenancy
            .tokens(&id)
            .into_iter()
            .map(Into::into)
            .collect(),
        next_cursor: None,
    }))
}

/// Revokes a token: it answers 401 from now on.
#[utoipa::path(delete, path = "/v1/workspaces/{id}/tokens/{token_id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id"), ("token_id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    workspace(&state, &id)?;
    state.tenancy.revoke_token(&id, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/workspaces/{id}/portal`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortalIn {
    /// How long the link works (`15m`, `1h`, `7d`; 1 minute to 30 days;
    /// default `1h`).
    #[serde(default)]
    ttl: Option<String>,
    /// A link that can only look.
    #[serde(default)]
    read_only: bool,
}

/// A portal sign-in link.
#[derive(Serialize, ToSchema)]
pub(crate) struct PortalOut {
    /// Open it in a browser (or an iframe); the credential is in its fragment.
    url: String,
    /// When it stops working.
    expires_at: DateTime<Utc>,
    /// Reads only.
    read_only: bool,
}

/// A sign-in link to the customer portal of the workspace: a signed,
/// expiring credential for that workspace only.
#[utoipa::path(post, path = "/v1/workspaces/{id}/portal", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    request_body = PortalIn,
    responses((status = 200, description = "The link", body = PortalOut), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn portal_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PortalIn>,
) -> Result<Json<PortalOut>, ApiError> {
    workspace(&state, &id)?;
    let ttl = match body.ttl.as_deref() {
        None => std::time::Duration::from_secs(3600),
        Some(t) => humantime::parse_duration(t)
            .map_err(|e| ApiError::invalid(format!("ttl {t:?}: {e}")))?,
    };
    if ttl < std::time::Duration::from_secs(60) || ttl > MAX_TTL {
        return Err(ApiError::invalid("ttl must be between 1m and 30d"));
    }
    let epoch = state.tenancy.portal_epoch(&id).unwrap_or_default();
    let (credential, expires_at) = state.tenancy.portal().sign(&id, epoch, ttl, body.read_only);
    Ok(Json(PortalOut {
        url: format!("{}/portal/#{credential}", state.portal_url),
        expires_at,
        read_only: body.read_only,
    }))
}

/// Revokes every portal link of the workspace made so far (new ones work).
#[utoipa::path(post, path = "/v1/workspaces/{id}/portal/revoke", tag = "workspaces", params(("id" = String, Path, description = "Workspace id")),
    responses((status = 204, description = "Revoked"), ErrorResponses),
    description = "Admin token only.")]
pub(crate) async fn revoke_portal_links(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.tenancy.revoke_portal_links(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
