//! The one mapping from errors to HTTP: `{"error": {"code", "message"}}`.

use crate::delivery::OutboundError;
use crate::registry::RegistryError;
use crate::runtime::CompileError;
use crate::store::StoreError;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable code.
    pub code: &'static str,
    /// What went wrong and, where possible, what to do.
    pub message: String,
    /// Seconds for a `Retry-After` header, if any.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 403 `forbidden`: the credential is valid but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 429 `quota_exceeded`: a workspace is at one of its quotas; with a
    /// `Retry-After` when it is a rate.
    pub fn quota(message: impl Into<String>, retry_after: Option<u64>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message);
        e.retry_after = retry_after;
        e
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if unauthorized {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let message = e.to_string();
        match e {
            RegistryError::NotFound(_) => Self::not_found(message),
            RegistryError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", message),
            RegistryError::Invalid(_) => Self::invalid(message),
            RegistryError::Quota(_) => Self::quota(message, None),
            RegistryError::Compile(c) => c.into(),
            RegistryError::Store(s) => s.into(),
        }
    }
}

impl From<OutboundError> for ApiError {
    fn from(e: OutboundError) -> Self {
        let message = e.to_string();
        match e {
            OutboundError::NotFound(_) => Self::not_found(message),
            OutboundError::Invalid(_) => Self::invalid(message),
            OutboundError::NotAllowed(_) => {
                Self::new(StatusCode::BAD_REQUEST, "endpoint_not_allowed", message)
            }
            OutboundError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", message),
            OutboundError::Quota(_) => Self::quota(message, None),
            OutboundError::Store(s) => s.into(),
        }
    }
}

impl From<CompileError> for ApiError {
    fn from(e: CompileError) -> Self {
        let code = match e {
            CompileError::NotWasm => "not_wasm",
            CompileError::CoreModule => "core_module",
            CompileError::Invalid(_) => "invalid_component",
            CompileError::WrongWorld(_) => "wrong_world",
            CompileError::TooLarge(_) => "component_too_large",
            CompileError::Internal(_) => {
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string());
            }
        };
        Self::new(StatusCode::BAD_REQUEST, code, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            e.to_string(),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        // axum says 422 for JSON of the wrong shape; one status (400) for
        // every unusable body is simpler for clients.
        let (status, code) = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_json"),
        };
        Self::new(status, code, e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "invalid_body"
        };
        Self::new(e.status(), code, e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::invalid(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::invalid(e.body_text())
    }
}

/// An optional JSON object body: empty or `null` is `None`; anything but an
/// object (serde would also read a struct from an array) is refused.
pub fn optional_json_object<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<Option<T>, ApiError> {
    let text = body.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Ok(None);
    }
    if text.first() != Some(&b'{') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object (or empty)",
        ));
    }
    serde_json::from_slice(text)
        .map(Some)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

/// `axum::Json` whose rejections are [`ApiError`]s, taking JSON objects
/// only (serde would also read a struct from an array of its fields).
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|t| {
                t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
            });
        if !json_type {
            return Err(Self::Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Self::Rejection::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body must be a JSON object",
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The body of every error response (documentation type of [`ApiError`]).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// `error` of an [`ErrorBody`].
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `not_found`, `invalid_json`.
    pub code: String,
    /// What went wrong and, where possible, what to do.
    pub message: String,
}

/// The error answers every admin route may give.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// `invalid_request`, `invalid_json` (or a component-specific code on
    /// upload): a parameter or the body is unusable; the message says which.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `unauthorized`: missing, wrong, expired or revoked token (or portal link).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `forbidden`: the credential may not call this (a `read` token
    /// changing something, a workspace token managing workspaces, a portal
    /// link outside endpoints and deliveries).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `not_found`: no such id or name.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// `conflict`: the change contradicts stored state.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// `body_too_large`: the body is over the limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: JSON routes need `content-type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// `schema_mismatch`: an event's data does not match its type's schema
    /// in the workspace's catalogue.
    #[response(status = 422)]
    SchemaMismatch(ErrorBody),
    /// `quota_exceeded`: the workspace is at one of its quotas (a rate:
    /// with `Retry-After`); nothing was stored.
    #[response(status = 429)]
    QuotaExceeded(ErrorBody),
    /// `storage_error`: the data directory failed; nothing was half-written.
    #[response(status = 500)]
    Storage(ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Opt {
        secret: Option<String>,
    }

    #[test]
    fn optional_bodies_are_objects_or_nothing() {
        assert_eq!(optional_json_object::<Opt>(b"").unwrap(), None);
        assert_eq!(optional_json_object::<Opt>(b" null \n").unwrap(), None);
        assert_eq!(
            optional_json_object::<Opt>(br#"{"secret": "x"}"#).unwrap(),
            Some(Opt {
                secret: Some("x".into())
            })
        );
        // serde alone would read these as the struct's fields.
        for bad in [
            &b"[null]"[..],
            b"[\"x\"]",
            b"1",
            b"\"x\"",
            b"{\"other\": 1}",
        ] {
            assert!(optional_json_object::<Opt>(bad).is_err(), "{bad:?}");
        }
    }
}
