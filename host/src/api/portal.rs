//! The customer portal at `/portal/`: a static page embedded in the binary
//! that a workspace's customers open with a portal link
//! (`POST /v1/workspaces/{id}/portal`). The link's credential is in the URL
//! fragment; the page sends it as a bearer token to the same `/v1` API,
//! where it reaches only its workspace's endpoints, deliveries and event
//! types ([`super::admin::scope`]). No cookie is involved, so the page works
//! inside another site's iframe; who may frame it is the operator's
//! `--portal-frame-ancestors` (CSP `frame-ancestors`, `'none'` by default).

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../../portal/index.html");
const PORTAL_JS: &str = include_str!("../../portal/portal.js");
const PORTAL_CSS: &str = include_str!("../../portal/portal.css");

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { Redirect::permanent("/portal/") }))
        .route(
            "/portal/",
            get(|State(s): State<AppState>| async move {
                asset(&s, INDEX_HTML, "text/html; charset=utf-8")
            }),
        )
        .route(
            "/portal/portal.js",
            get(|State(s): State<AppState>| async move {
                asset(&s, PORTAL_JS, "text/javascript; charset=utf-8")
            }),
        )
        .route(
            "/portal/charts.js",
            get(|State(s): State<AppState>| async move {
                asset(&s, super::ui::CHARTS_JS, "text/javascript; charset=utf-8")
            }),
        )
        .route(
            "/portal/portal.css",
            get(|State(s): State<AppState>| async move {
                asset(&s, PORTAL_CSS, "text/css; charset=utf-8")
            }),
        )
}

fn asset(state: &AppState, body: &'static str, content_type: &'static str) -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response();
    // Logos are the workspace's own image URLs: any http(s) image, nothing
    // else from elsewhere.
    let csp = format!(
        "default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; \
         script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors {}",
        state.frame_ancestors
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if &*state.frame_ancestors == crate::config::DEFAULT_FRAME_ANCESTORS {
        // For browsers without CSP frame-ancestors.
        resp.headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}
