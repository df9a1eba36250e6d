//! Operational endpoints: `/healthz` (no token) and `/metrics` (the
//! metrics token when one is configured).

use super::AppState;
use super::error::ApiError;
use crate::metrics as m;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub(super) fn router() -> Router<AppState> {
    health_router().route("/metrics", get(metrics))
}

/// `/healthz` alone (the public listener's share when the admin plane has
/// its own listener).
pub(super) fn health_router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Prometheus text format. Gauges describing stored state are computed now.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !super::admin::token_matches(given, token) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "GET /metrics needs `Authorization: Bearer <metrics token>`",
            )
            .into_response();
        }
    }
    let endpoints = state.outbound.endpoints().await.unwrap_or_default();
    let depth = state.registry.store().queue_depth().await.unwrap_or(0);
    // State gauges are this server's, rendered here rather than through the
    // process-wide recorder (which several servers in one process share).
    let gauges = [
        (m::QUEUE_DEPTH, "Deliveries queued for an attempt.", depth),
        (
            m::ENDPOINTS_DISABLED,
            "Endpoints currently disabled.",
            endpoints.iter().filter(|e| !e.active).count(),
        ),
        (
            m::WEBHOOKS,
            "Registered webhooks.",
            state.registry.webhooks().len(),
        ),
        (
            m::MODULES,
            "Uploaded modules.",
            state.registry.module_count(),
        ),
    ];
    let handle = m::handle();
    handle.run_upkeep();
    let mut text = handle.render();
    for (name, help, value) in gauges {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Liveness plus counters that show whether start-up had to recompile.
async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let (compiled, loaded_from_cache) = state.registry.runtime().stats().snapshot();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "modules": state.registry.module_count(),
        "webhooks": state.registry.webhooks().len(),
        "components_compiled": compiled,
        "components_loaded_from_cache": loaded_from_cache,
    }))
}
