//! HTTP: the admin API under `/v1` (bearer token), webhook ingress under
//! `/hooks/{id}`, and operational endpoints. [`app`] builds the whole service.

pub mod admin;
pub mod error;
pub mod ingress;
pub mod ops;
pub mod portal;
pub mod ui;

use crate::delivery::Outbound;
use crate::delivery::worker::DeliveryWorker;
use crate::inbound::Inbound;
use crate::registry::Registry;
use axum::Router;
use axum::http::StatusCode;
use error::ApiError;
use std::sync::Arc;

/// Shared state of every route.
#[derive(Clone)]
pub struct AppState {
    /// Modules and webhooks.
    pub registry: Arc<Registry>,
    /// Runs webhook requests.
    pub inbound: Inbound,
    /// Endpoints and events.
    pub outbound: Arc<Outbound>,
    /// Sends deliveries (used directly by test sends).
    pub worker: Arc<DeliveryWorker>,
    /// The admin bearer token.
    pub admin_token: Arc<str>,
    /// Base of webhook URLs, without a trailing slash.
    pub public_url: Arc<str>,
    /// Largest uploadable component.
    pub max_module_bytes: usize,
    /// Token `GET /metrics` requires, if any.
    pub metrics_token: Option<Arc<str>>,
    /// Dashboard sessions.
    pub ui_sessions: Arc<ui::Sessions>,
    /// Time a webhook caller has to send the request body.
    pub body_timeout: std::time::Duration,
    /// Workspaces, tokens, quotas, event types, portal links.
    pub tenancy: Arc<crate::tenancy::Tenancy>,
    /// Base of portal links, without a trailing slash.
    pub portal_url: Arc<str>,
    /// The portal's `Content-Security-Policy: frame-ancestors` sources.
    pub frame_ancestors: Arc<str>,
}

impl AppState {
    /// The quotas of workspace `ws` (none for an unknown one).
    pub fn quotas(&self, ws: &str) -> crate::tenancy::Quotas {
        self.tenancy
            .workspace(ws)
            .map(|w| w.quotas)
            .unwrap_or_default()
    }

    /// The absolute URL of a webhook.
    pub fn webhook_url(&self, id: &str) -> String {
        format!("{}/hooks/{id}", self.public_url)
    }
}

/// The complete HTTP service on one listener: webhooks, admin API,
/// dashboard and operational endpoints.
pub fn app(state: AppState) -> Router {
    finish(
        Router::new()
            .nest("/v1", admin::router(state.clone()))
            .merge(ingress::router())
            .merge(ops::router())
            .merge(ui::router())
            .merge(portal::router()),
        state,
    )
}

/// The public listener's service when the admin plane has its own
/// (`--admin-listen`): webhook URLs and `/healthz` only.
pub fn public_app(state: AppState) -> Router {
    finish(
        Router::new()
            .merge(ingress::router())
            .merge(ops::health_router()),
        state,
    )
}

/// The admin listener's service: everything but webhook URLs.
pub fn admin_app(state: AppState) -> Router {
    finish(
        Router::new()
            .nest("/v1", admin::router(state.clone()))
            .merge(ops::router())
            .merge(ui::router())
            .merge(portal::router()),
        state,
    )
}

fn finish(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .with_state(state)
}
