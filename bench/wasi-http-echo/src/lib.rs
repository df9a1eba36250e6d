//! The `echo` handler's work as a `wasi:http/proxy` component, so that
//! `wasmtime serve` can be measured against hookhost doing the same thing:
//! parse the (here built-in) payload, read the body, answer
//! `{"payload", "method", "path", "body"}` as JSON. `path` is the part below
//! `/hooks/<id>`, as in hookhost.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p wasi-http-echo`

use serde_json::{Value, json};
use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// The payload hookhost would have stored for the webhook.
const PAYLOAD: &str = r#"{"tenant":"acme"}"#;

struct Echo;

wasi::http::proxy::export!(Echo);

impl wasi::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Other(m) => m,
        };
        let full = request.path_with_query().unwrap_or_default();
        let path = full.split('?').next().unwrap_or("/");
        // "/hooks/<id>/rest" -> "/rest"
        let below = path
            .splitn(4, '/')
            .nth(3)
            .map_or("/".to_string(), |r| format!("/{r}"));

        let mut body = Vec::new();
        // The stream must be dropped before the body it belongs to.
        if let Ok(incoming) = request.consume()
            && let Ok(stream) = incoming.stream()
        {
            while let Ok(chunk) = stream.blocking_read(64 << 10) {
                body.extend_from_slice(&chunk);
            }
        }

        let payload: Value = serde_json::from_str(PAYLOAD).unwrap_or(Value::Null);
        let answer = serde_json::to_vec(&json!({
            "payload": payload,
            "method": method,
            "path": below,
            "body": String::from_utf8_lossy(&body),
        }))
        .unwrap();

        let headers = Fields::new();
        let _ = headers.append("content-type", b"application/json");
        let response = OutgoingResponse::new(headers);
        let outgoing = response.body().expect("response body");
        ResponseOutparam::set(out, Ok(response));
        let stream = outgoing.write().expect("body stream");
        for chunk in answer.chunks(4096) {
            stream.blocking_write_and_flush(chunk).expect("write body");
        }
        drop(stream);
        OutgoingBody::finish(outgoing, None).expect("finish body");
    }
}
