//! `/v1/modules`: upload, list, get and delete handler components.

use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use crate::registry::LoadedModule;
use crate::runtime::ComponentKind;
use crate::store::Page;
use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, body::Bytes};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// Module name: 1–64 letters, digits, `-`, `_`, `.` (required).
    #[param(required = true, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    name: Option<String>,
}

/// Whether `name` is a module name: 1–64 ASCII letters, digits, `-`, `_`
/// and `.`, the pattern the document gives (and the registry's rule).
pub(super) fn valid_module_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The body of `POST /v1/modules` as the document gives it: binary, at
/// least one byte. (Which bytes make a handler component, no schema can say.)
#[allow(dead_code)] // A documentation type: never built.
pub(crate) struct ComponentBytes;

impl PartialSchema for ComponentBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .min_length(Some(1))
            .build()
            .into()
    }
}

impl ToSchema for ComponentBytes {}

/// A module as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ModuleOut {
    /// Its name.
    name: String,
    /// sha256 of the component bytes, hex.
    sha256: String,
    /// Size of the component in bytes.
    size: u64,
    /// First upload under this name.
    created_at: chrono::DateTime<chrono::Utc>,
    /// Last upload.
    updated_at: chrono::DateTime<chrono::Utc>,
    /// `handler` (runs webhook requests) or `transformer` (changes
    /// endpoints' outgoing messages).
    kind: ComponentKind,
    /// The world it implements: `hookhost:handler` (native handler, WIT
    /// 0.1 or 0.2), `wasi:http/proxy` (standard HTTP component, also a
    /// handler) or `hookhost:transformer`.
    #[schema(example = "hookhost:handler")]
    world: &'static str,
    /// Ids of the webhooks handled by this module.
    webhooks: Vec<String>,
}

fn module_out(state: &AppState, m: &LoadedModule) -> ModuleOut {
    let ws = &m.record.workspace_id;
    let r = &m.record;
    ModuleOut {
        name: r.name.clone(),
        sha256: r.sha256.clone(),
        size: r.size,
        created_at: r.created_at,
        updated_at: r.updated_at,
        kind: m.handler.kind(),
        world: m.handler.world(),
        webhooks: state.registry.module_users(ws, &r.name),
    }
}

pub(super) fn router(max_module_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/modules",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(max_module_bytes)),
        )
        .route("/modules/{name}", get(show).delete(remove))
}

/// Uploads a handler component (validated and compiled before the answer).
#[utoipa::path(post, path = "/v1/modules", tag = "modules", params(UploadQuery),
    request_body(content = inline(ComponentBytes), content_type = "application/octet-stream",
        description = "The component's bytes (any content type): a WebAssembly component of the \
                       `hookhost:handler` world, up to `--max-module-bytes`"),
    responses(
        (status = 201, description = "A new module", body = ModuleOut),
        (status = 200, description = "The module's code was replaced", body = ModuleOut),
        ErrorResponses))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let name = q
        .name
        .ok_or_else(|| ApiError::invalid("query parameter `name` is required"))?;
    let bytes = body?;
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "the request body must be the component's bytes",
        ));
    }
    let ws = &caller.workspace_id;
    let max = state.quotas(ws).max_modules.map(|m| m as usize);
    let transform_users = state
        .outbound
        .endpoints()
        .await?
        .iter()
        .filter(|e| e.workspace_id == *ws && e.transform.as_deref() == Some(name.as_str()))
        .count();
    let (record, created) = state
        .registry
        .upload_module(ws, &name, bytes, max, transform_users)
        .await?;
    let module = state
        .registry
        .module(ws, &record.name)
        .ok_or_else(|| ApiError::not_found("module vanished"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(module_out(&state, &module))))
}

/// Every module (one page).
#[utoipa::path(get, path = "/v1/modules", tag = "modules",
    responses((status = 200, description = "The modules", body = Page<ModuleOut>), ErrorResponses))]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Json<Page<ModuleOut>> {
    let data: Vec<_> = state
        .registry
        .modules(&caller.workspace_id)
        .iter()
        .map(|m| module_out(&state, m))
        .collect();
    Json(Page {
        data,
        next_cursor: None,
    })
}

/// One module.
#[utoipa::path(get, path = "/v1/modules/{name}", tag = "modules", params(("name" = String, Path, description = "Module name")),
    responses((status = 200, description = "The module", body = ModuleOut), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ModuleOut>, ApiError> {
    let module = state
        .registry
        .module(&caller.workspace_id, &name)
        .ok_or_else(|| ApiError::not_found(format!("no module {name:?}")))?;
    Ok(Json(module_out(&state, &module)))
}

/// Deletes a module no webhook or endpoint uses (409 otherwise).
#[utoipa::path(delete, path = "/v1/modules/{name}", tag = "modules", params(("name" = String, Path, description = "Module name")),
    responses((status = 204, description = "Deleted"), ErrorResponses))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let users: Vec<_> = state
        .outbound
        .endpoints()
        .await?
        .into_iter()
        .filter(|e| e.workspace_id == caller.workspace_id && e.transform.as_ref() == Some(&name))
        .map(|e| e.id)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "module {name:?} is the transform of {} endpoint(s): {}; change them first",
                users.len(),
                users.join(", ")
            ),
        ));
    }
    state
        .registry
        .delete_module(&caller.workspace_id, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
