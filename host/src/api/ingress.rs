//! `/hooks/{id}` and `/hooks/{id}/...`: any method runs the webhook's handler.

use super::AppState;
use crate::inbound::Reply;
use crate::runtime::bindings::Request;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::json;

/// Response header carrying the invocation id, for support and log lookup.
pub const INVOCATION_HEADER: &str = "x-hookhost-invocation";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/{id}", any(root))
        .route("/hooks/{id}/", any(root))
        .route("/hooks/{id}/{*rest}", any(sub))
}

async fn root(
    state: State<AppState>,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    serve(state, id, String::from("/"), req).await
}

async fn sub(
    state: State<AppState>,
    Path((id, rest)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Response {
    serve(state, id, format!("/{rest}"), req).await
}

async fn serve(
    state: State<AppState>,
    id: String,
    path: String,
    req: axum::extract::Request,
) -> Response {
    let response = run(state, id, path, req).await;
    crate::metrics::hot()
        .inbound(response.status().as_u16())
        .increment(1);
    response
}

async fn run(
    State(state): State<AppState>,
    id: String,
    path: String,
    req: axum::extract::Request,
) -> Response {
    let limit = state.registry.runtime().limits().max_request_body;
    let (parts, body) = req.into_parts();
    // Refuse early on a declared length; the streaming limit below catches
    // bodies that lie about it or are chunked.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(limit);
    }
    let body =
        match tokio::time::timeout(state.body_timeout, axum::body::to_bytes(body, limit)).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return too_large(limit),
            Err(_) => {
                let body = json!({ "error": {
                    "code": "body_timeout",
                    "message": format!(
                        "the request body did not arrive within {} s",
                        state.body_timeout.as_secs_f64()
                    ),
                }});
                return (StatusCode::REQUEST_TIMEOUT, axum::Json(body)).into_response();
            }
        };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path,
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: guest_request_headers(&parts.headers),
        body: body.to_vec(),
    };

    let served = state.inbound.serve(&id, request).await;
    let mut response = match served.reply {
        Reply::Handler(r) => {
            let mut resp = Response::new(Body::from(r.body));
            *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let headers = resp.headers_mut();
            for (name, value) in r.headers {
                // The runtime validated names and values; what the host
                // must own is dropped here.
                let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) else {
                    continue;
                };
                if guest_may_send(&name, &value) {
                    headers.append(name, value);
                }
            }
            sandbox_response(headers);
            resp
        }
        Reply::Error {
            status,
            code,
            message,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut body = json!({ "error": { "code": code, "message": message } });
            if let Some(id) = &served.invocation_id {
                body["error"]["invocation_id"] = json!(id);
            }
            (status, axum::Json(body)).into_response()
        }
        Reply::Throttled { retry_after } => {
            let body = json!({ "error": {
                "code": "quota_exceeded",
                "message": "this webhook's workspace is over its invocation rate; retry later",
            }});
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
            resp
        }
    };
    if let Some(id) = served
        .invocation_id
        .and_then(|id| HeaderValue::from_str(&id).ok())
    {
        response.headers_mut().insert(INVOCATION_HEADER, id);
    }
    response
}

/// What a handler's response is always served with, whatever it says:
/// the page runs in a unique opaque origin with scripts, forms, plugins
/// and navigation of other windows off (`sandbox`), so even an HTML page
/// served from the dashboard's origin can neither read nor send anything
/// with the dashboard's authority; and the browser may not guess a more
/// dangerous type than the one declared. A handler's own
/// `Content-Security-Policy` is kept: browsers enforce every policy, so it
/// can only restrict further.
pub const HANDLER_CSP: &str = "sandbox";

fn sandbox_response(headers: &mut axum::http::HeaderMap) {
    headers.append(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(HANDLER_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Whether a handler may send response header `name`: not the framing
/// and per-connection (hop-by-hop) headers, which are the host's, and no
/// cookie named like the dashboard's session (which it could otherwise set
/// or shadow, on any path).
fn guest_may_send(name: &HeaderName, value: &HeaderValue) -> bool {
    let hop_by_hop = matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
    ) || name.as_str().starts_with("proxy-");
    // `Clear-Site-Data` would sign the operator out of the dashboard.
    if hop_by_hop || name.as_str() == "clear-site-data" {
        return false;
    }
    if name == header::SET_COOKIE {
        return !super::ui::names_session_cookie(value.as_bytes());
    }
    true
}

/// The request headers as the guest sees them: everything but the
/// dashboard's session cookie (other cookies pass).
fn guest_request_headers(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        let value = String::from_utf8_lossy(v.as_bytes());
        if k == header::COOKIE {
            if let Some(kept) = super::ui::without_session_cookie(&value) {
                out.push((k.as_str().to_string(), kept));
            }
            continue;
        }
        out.push((k.as_str().to_string(), value.into_owned()));
    }
    out
}

fn too_large(limit: usize) -> Response {
    let body = json!({ "error": {
        "code": "body_too_large",
        "message": format!("request body exceeds the limit of {limit} bytes"),
    }});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}
