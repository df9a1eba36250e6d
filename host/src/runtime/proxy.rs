//! Running a webhook request through a standard `wasi:http/proxy`
//! component (what `wasmtime serve` and Spin run): the request becomes a
//! `wasi:http` incoming request, the component's response is collected
//! whole (up to the response limit) and checked like a native handler's.
//! The invocation's context reaches it as environment variables.

use super::bindings::{Request, Response};
use super::sandbox::Sandbox;
use bytes::Bytes;
use http_body_util::BodyExt;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

/// Environment variable holding the webhook id.
pub const ENV_WEBHOOK_ID: &str = "HOOKHOST_WEBHOOK_ID";
/// Environment variable holding the invocation id.
pub const ENV_INVOCATION_ID: &str = "HOOKHOST_INVOCATION_ID";
/// Environment variable holding the webhook's payload as JSON text; unset
/// when the webhook has none.
pub const ENV_PAYLOAD: &str = "HOOKHOST_PAYLOAD";
/// Environment variable holding when the request arrived, in milliseconds
/// since the Unix epoch.
pub const ENV_RECEIVED_AT_MS: &str = "HOOKHOST_RECEIVED_AT_MS";

/// Calls `pre`'s `wasi:http/incoming-handler.handle` with `req` (sent to
/// webhook `webhook_id`) and returns the response it set, its body cut one
/// byte past `max_body` (so the response check reports it as too large).
///
/// The component sees the whole path, `/hooks/<id>` included, as it would
/// behind any reverse proxy (and as under `wasmtime serve`).
pub(super) async fn call(
    pre: &ProxyPre<Sandbox>,
    store: &mut Store<Sandbox>,
    req: Request,
    webhook_id: &str,
    max_body: usize,
) -> wasmtime::Result<Response> {
    let authority = req
        .headers
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.as_str())
        .filter(|h| h.parse::<http::uri::Authority>().is_ok())
        .unwrap_or("localhost");
    let below = if req.path == "/" { "" } else { &req.path };
    let uri = if req.query.is_empty() {
        format!("http://{authority}/hooks/{webhook_id}{below}")
    } else {
        format!("http://{authority}/hooks/{webhook_id}{below}?{}", req.query)
    };
    let mut builder = hyper::Request::builder()
        .method(req.method.as_str())
        .uri(uri);
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let body = http_body_util::Full::new(Bytes::from(req.body))
        .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} });
    let request = builder
        .body(body)
        .map_err(|e| wasmtime::Error::msg(format!("request not representable: {e}")))?;

    let instance = pre.instantiate_async(&mut *store).await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (request, outparam) = {
        let mut http = store.data_mut().http();
        let request = http.new_incoming_request(Scheme::Http, request)?;
        (request, http.new_response_outparam(tx)?)
    };

    // The component writes the body while `handle` runs (the channel holds
    // one chunk), so both are driven together.
    let collect = async move {
        let response = match rx.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => {
                return Err(wasmtime::Error::msg(format!(
                    "the component answered with error {code:?}"
                )));
            }
            Err(_) => {
                return Err(wasmtime::Error::msg(
                    "the component returned without setting a response",
                ));
            }
        };
        let (parts, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| wasmtime::Error::msg(format!("response body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                // Drained to the end so the component is not stopped
                // mid-write; kept only to one byte past the limit.
                let room = (max_body + 1).saturating_sub(bytes.len());
                bytes.extend_from_slice(&data[..room.min(data.len())]);
            }
        }
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(Response {
            status: parts.status.as_u16(),
            headers,
            body: bytes,
        })
    };
    let mut collect = std::pin::pin!(collect);
    let mut collected = None;
    {
        let call =
            instance
                .wasi_http_incoming_handler()
                .call_handle(&mut *store, request, outparam);
        let mut call = std::pin::pin!(call);
        loop {
            tokio::select! {
                result = &mut call => {
                    result?;
                    break;
                }
                c = &mut collect, if collected.is_none() => collected = Some(c),
            }
        }
    }
    match collected {
        Some(c) => c,
        None => collect.await,
    }
}
