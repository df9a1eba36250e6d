//! The ceiling without a sandbox: a native axum server doing the `echo`
//! handler's work (look up the webhook's payload, decode the body, answer
//! `{"payload", "method", "path", "body"}` as JSON), for the ingress
//! comparison in `bench/compare.sh`.
//!
//! `native_echo [listen-addr]` (default 127.0.0.1:18081); every id under
//! `/hooks/` answers with the same stored payload.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    // Stored as JSON text, parsed per request, as the echo handler does.
    let payload: Arc<str> = Arc::from(r#"{"tenant":"acme"}"#);
    let app = Router::new()
        .route("/hooks/{id}", any(root))
        .route("/hooks/{id}/{*rest}", any(sub))
        .with_state(payload);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("native echo on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}

async fn root(
    State(payload): State<Arc<str>>,
    Path(_id): Path<String>,
    method: Method,
    body: Bytes,
) -> Response {
    echo(&payload, method, "/".into(), body)
}

async fn sub(
    State(payload): State<Arc<str>>,
    Path((_id, rest)): Path<(String, String)>,
    method: Method,
    body: Bytes,
) -> Response {
    echo(&payload, method, format!("/{rest}"), body)
}

fn echo(payload: &str, method: Method, path: String, body: Bytes) -> Response {
    let payload: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let out = json!({
        "payload": payload,
        "method": method.as_str(),
        "path": path,
        "body": String::from_utf8_lossy(&body),
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&out).unwrap(),
    )
        .into_response()
}
