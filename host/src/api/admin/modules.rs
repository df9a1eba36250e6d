//! `/v1/modules`: upload, list, get and delete handler components.

use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery};
use crate::registry::LoadedModule;
use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, body::Bytes};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

/// A module as the API shows it.
#[derive(Serialize)]
struct ModuleOut {
    name: String,
    sha256: String,
    size: u64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    /// Ids of the webhooks handled by this module.
    webhooks: Vec<String>,
}

fn module_out(state: &AppState, m: &LoadedModule) -> ModuleOut {
    let r = &m.record;
    ModuleOut {
        name: r.name.clone(),
        sha256: r.sha256.clone(),
        size: r.size,
        created_at: r.created_at,
        updated_at: r.updated_at,
        webhooks: state.registry.module_users(&r.name),
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

async fn upload(
    State(state): State<AppState>,
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
    let (record, created) = state.registry.upload_module(&name, bytes).await?;
    let module = state
        .registry
        .module(&record.name)
        .ok_or_else(|| ApiError::not_found("module vanished"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(module_out(&state, &module))))
}

async fn list(State(state): State<AppState>) -> Json<serde_json::Value> {
    let data: Vec<_> = state
        .registry
        .modules()
        .iter()
        .map(|m| module_out(&state, m))
        .collect();
    Json(serde_json::json!({ "data": data, "next_cursor": null }))
}

async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ModuleOut>, ApiError> {
    let module = state
        .registry
        .module(&name)
        .ok_or_else(|| ApiError::not_found(format!("no module {name:?}")))?;
    Ok(Json(module_out(&state, &module)))
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.delete_module(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
