//! The admin API (`/v1/...`): one file per resource, all behind the bearer token.

mod deliveries;
mod endpoints;
mod event_types;
mod events;
mod inbound_checks;
mod logs;
mod modules;
pub mod openapi;
mod portal;
pub mod scope;
mod stats;
mod webhooks;
mod workspaces;

use super::AppState;
use super::error::ApiError;
use crate::config::{DEFAULT_PAGE, MAX_ADMIN_JSON_BYTES, MAX_PAGE};
use crate::store::DEFAULT_WORKSPACE;
use crate::tenancy::portal::{PORTAL_PREFIX, PortalRefusal};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use scope::{Access, Caller};
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
        .merge(workspaces::router())
        .merge(event_types::router())
        .merge(portal::router())
        .merge(stats::router())
        .layer(DefaultBodyLimit::max(MAX_ADMIN_JSON_BYTES))
        .route_layer(middleware::from_fn_with_state(state, require_token))
        // Added after the token layer: the description is public.
        .route("/openapi.json", axum::routing::get(openapi::document))
}

async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let caller = match identify(&state, &req) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/v1").to_string())
        .unwrap_or_default();
    if let Err(e) = scope::check(caller.access, req.method(), &route) {
        return e.into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The caller a request's credential names: the admin token (or a
/// dashboard session) in the workspace it names, a workspace token in its
/// workspace, a portal link in its workspace.
fn identify(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let named = named_workspace(req)?;
    let operator = match presented {
        Some(token) if token_matches(token, &state.admin_token) => true,
        // The dashboard: a session cookie, plus its CSRF token for changes.
        None => state.ui_sessions.authorizes(req.method(), req.headers()),
        Some(_) => false,
    };
    if operator {
        let ws = named.unwrap_or_else(|| DEFAULT_WORKSPACE.to_string());
        if !state.tenancy.has_workspace(&ws) {
            return Err(ApiError::not_found(format!("no workspace {ws:?}")));
        }
        return Ok(Caller {
            workspace_id: ws,
            access: Access::Operator,
        });
    }
    let (workspace_id, access) = match presented {
        Some(p) if p.starts_with(PORTAL_PREFIX) => match state.tenancy.portal().verify(p) {
            Ok(claims)
                if state.tenancy.portal_epoch(&claims.workspace_id) != Some(claims.epoch) =>
            {
                return Err(unauthorized(
                    "this portal link was revoked; ask for a new one",
                ));
            }
            Ok(claims) => (
                claims.workspace_id,
                Access::Portal {
                    read_only: claims.read_only,
                },
            ),
            Err(PortalRefusal::Expired) => {
                return Err(unauthorized(
                    "this portal link has expired; ask for a new one",
                ));
            }
            Err(PortalRefusal::Invalid) => {
                return Err(unauthorized("this portal link is not valid"));
            }
        },
        Some(p) => match state.tenancy.authenticate(p) {
            Some(t) => (t.workspace_id, Access::Token(t.role)),
            None => {
                return Err(unauthorized(
                    "missing, wrong, expired or revoked token: send `Authorization: Bearer <token>`",
                ));
            }
        },
        None => {
            return Err(unauthorized(
                "missing or wrong admin token: send `Authorization: Bearer <token>`",
            ));
        }
    };
    // A workspace that is gone takes its credentials with it.
    if !state.tenancy.has_workspace(&workspace_id) {
        return Err(unauthorized("this credential's workspace no longer exists"));
    }
    if let Some(other) = named.filter(|n| *n != workspace_id) {
        return Err(ApiError::forbidden(format!(
            "this credential belongs to workspace {workspace_id:?}, not {other:?}"
        )));
    }
    Ok(Caller {
        workspace_id,
        access,
    })
}

/// The workspace a request names (`X-Hookhost-Workspace`, or
/// `?workspace=`), if any.
fn named_workspace(req: &Request) -> Result<Option<String>, ApiError> {
    let header = req
        .headers()
        .get(scope::WORKSPACE_HEADER)
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::invalid("X-Hookhost-Workspace is not text"))
        })
        .transpose()?;
    let query = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "workspace")
            .map(|(_, v)| v.to_string())
    });
    let named = header.or(query);
    if let Some(ws) = &named
        && !crate::tenancy::is_workspace_id(ws)
    {
        return Err(ApiError::invalid(format!(
            "{ws:?} is not a workspace id (`default` or `ws_...`)"
        )));
    }
    Ok(named)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
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
