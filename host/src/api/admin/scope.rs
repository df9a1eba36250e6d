//! Who is calling `/v1`, in which workspace, and what they may do there.
//!
//! Four credentials reach the API: the admin token (or a dashboard session),
//! which acts on any workspace it names; a workspace token, which acts only
//! in its own workspace, as `admin` or `read`; and a portal link, which
//! reaches only a workspace's endpoints, deliveries and catalogue. The
//! middleware in [`super`] resolves the credential into a [`Caller`], checks
//! the route against its access here, and hands it to the handlers, which
//! scope every read and write to `caller.workspace_id`.

use crate::api::error::ApiError;
use crate::tenancy::Role;
use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

/// Names the workspace the admin token acts on.
pub const WORKSPACE_HEADER: &str = "x-hookhost-workspace";

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The admin token or a dashboard session: everything, in any workspace.
    Operator,
    /// A workspace token.
    Token(Role),
    /// A portal link.
    Portal {
        /// Reads only.
        read_only: bool,
    },
}

/// The caller of a `/v1` request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The workspace every read and write is scoped to.
    pub workspace_id: String,
    /// What the credential may do.
    pub access: Access,
}

impl Caller {
    /// Whether this is the operator (the admin token).
    pub fn is_operator(&self) -> bool {
        self.access == Access::Operator
    }

    /// Whether the caller may only look (a `read` token, a read-only
    /// portal link): it sees no secret, and header values only as hints.
    pub fn read_only(&self) -> bool {
        matches!(
            self.access,
            Access::Token(Role::Read) | Access::Portal { read_only: true }
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "no credential",
            )
        })
    }
}

/// Routes (as matched, without `/v1`) a portal link reaches, with the
/// methods a read-only link may use on them.
const PORTAL_ROUTES: &[&str] = &[
    "/endpoints",
    "/endpoints/{id}",
    "/endpoints/{id}/secret",
    "/endpoints/{id}/rotate-secret",
    "/endpoints/{id}/recover",
    "/endpoints/{id}/test",
    "/deliveries",
    "/deliveries/{id}",
    "/deliveries/{id}/retry",
    "/event-types",
    "/event-types/{name}",
    "/portal/session",
    "/stats",
];

/// Whether `access` may call `method` on the route `route` (as matched,
/// without `/v1`); the refusal otherwise.
pub fn check(access: Access, method: &Method, route: &str) -> Result<(), ApiError> {
    let reads = matches!(*method, Method::GET | Method::HEAD);
    if route.starts_with("/workspaces") && access != Access::Operator {
        return Err(ApiError::forbidden(
            "workspaces and their tokens are managed with the admin token",
        ));
    }
    // A viewer must not be able to sign as the platform.
    let viewer = matches!(
        access,
        Access::Token(Role::Read) | Access::Portal { read_only: true }
    );
    if viewer && route == "/endpoints/{id}/secret" {
        return Err(ApiError::forbidden(
            "read-only credentials do not see signing secrets",
        ));
    }
    match access {
        Access::Operator | Access::Token(Role::Admin) => Ok(()),
        Access::Token(Role::Read) if reads => Ok(()),
        Access::Token(Role::Read) => Err(ApiError::forbidden(
            "this token may only read (role `read`)",
        )),
        Access::Portal { read_only } => {
            if !PORTAL_ROUTES.contains(&route) {
                return Err(ApiError::forbidden(
                    "a portal link reaches only its workspace's endpoints, deliveries and event types",
                ));
            }
            // The catalogue is the operator's: the portal reads it.
            if (read_only || route.starts_with("/event-types")) && !reads {
                return Err(ApiError::forbidden("this portal link may only read"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_by_route_and_method() {
        let read = Access::Token(Role::Read);
        let admin = Access::Token(Role::Admin);
        let portal = Access::Portal { read_only: false };
        let viewer = Access::Portal { read_only: true };
        assert!(check(Access::Operator, &Method::POST, "/workspaces").is_ok());
        assert!(check(admin, &Method::GET, "/workspaces").is_err());
        assert!(check(admin, &Method::POST, "/webhooks").is_ok());
        assert!(check(read, &Method::GET, "/webhooks").is_ok());
        assert!(check(read, &Method::GET, "/endpoints/{id}/secret").is_err());
        assert!(check(read, &Method::GET, "/endpoints/{id}").is_ok());
        assert!(check(read, &Method::POST, "/events").is_err());
        assert!(check(read, &Method::DELETE, "/modules/{name}").is_err());
        assert!(check(portal, &Method::POST, "/endpoints").is_ok());
        assert!(check(portal, &Method::GET, "/webhooks").is_err());
        assert!(check(portal, &Method::GET, "/modules").is_err());
        assert!(check(portal, &Method::POST, "/events").is_err());
        assert!(check(portal, &Method::POST, "/event-types").is_err());
        assert!(check(portal, &Method::GET, "/event-types").is_ok());
        assert!(check(viewer, &Method::GET, "/deliveries").is_ok());
        assert!(check(viewer, &Method::POST, "/deliveries/{id}/retry").is_err());
        assert!(check(viewer, &Method::PATCH, "/endpoints/{id}").is_err());
        assert!(check(viewer, &Method::GET, "/endpoints/{id}/secret").is_err());
        assert!(check(portal, &Method::GET, "/endpoints/{id}/secret").is_ok());
    }
}
