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
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(limit),
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path,
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };

    let served = state.inbound.serve(&id, request).await;
    let mut response = match served.reply {
        Reply::Handler(r) => {
            let mut resp = Response::new(Body::from(r.body));
            *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let headers = resp.headers_mut();
            for (name, value) in r.headers {
                // Framing is the host's job; the runtime validated the rest.
                let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) else {
                    continue;
                };
                if name != header::CONTENT_LENGTH
                    && name != header::TRANSFER_ENCODING
                    && name != header::CONNECTION
                {
                    headers.append(name, value);
                }
            }
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
    };
    if let Some(id) = served
        .invocation_id
        .and_then(|id| HeaderValue::from_str(&id).ok())
    {
        response.headers_mut().insert(INVOCATION_HEADER, id);
    }
    response
}

fn too_large(limit: usize) -> Response {
    let body = json!({ "error": {
        "code": "body_too_large",
        "message": format!("request body exceeds the limit of {limit} bytes"),
    }});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}
