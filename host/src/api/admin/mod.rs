//! The admin API (`/v1/...`): one file per resource, all behind the bearer token.

mod deliveries;
mod endpoints;
mod events;
mod inbound_checks;
mod logs;
mod modules;
pub mod openapi;
mod webhooks;

use super::AppState;
use super::error::ApiError;
use crate::config::{DEFAULT_PAGE, MAX_ADMIN_JSON_BYTES, MAX_PAGE};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Routes under `/v1`.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(modules::router(state.max_module_bytes))
        .merge(webhooks::router())
        .merge(logs::router())
        .merge(endpoints::router())
        .merge(events::router())
        .merge(deliveries::router())
        .layer(DefaultBodyLimit::max(MAX_ADMIN_JSON_BYTES))
        .route_layer(middleware::from_fn_with_state(state, require_token))
        // Added after the token layer: the description is public.
        .route("/openapi.json", axum::routing::get(openapi::document))
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if token_matches(token, &state.admin_token) => next.run(req).await,
        // The dashboard: a session cookie, plus its CSRF token for changes.
        None if state.ui_sessions.authorizes(req.method(), req.headers()) => next.run(req).await,
        _ => {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong admin token: send `Authorization: Bearer <token>`",
            )
            .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("valid header"),
            );
            resp
        }
    }
}

/// Constant-time comparison; hashing first hides the token's length too.
pub(crate) fn token_matches(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

/// `limit` of a list request, defaulted and bounded.
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(token_matches("secret", "secret"));
        assert!(!token_matches("secret2", "secret"));
        assert!(!token_matches("", "secret"));
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(7)).unwrap(), 7);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(MAX_PAGE + 1)).is_err());
    }
}
