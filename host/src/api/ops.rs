//! Operational endpoints that need no token.

use super::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Liveness plus counters that show whether start-up had to recompile.
async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let (compiled, loaded_from_cache) = state.registry.runtime().stats().snapshot();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "modules": state.registry.modules().len(),
        "webhooks": state.registry.webhooks().len(),
        "components_compiled": compiled,
        "components_loaded_from_cache": loaded_from_cache,
    }))
}
