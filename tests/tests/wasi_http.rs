//! Standard `wasi:http/proxy` components as webhook handlers, side by side
//! with a native `hookhost:handler` one: the Python example
//! (componentize-py), the Rust `wasi-http-echo` benchmark peer (the same
//! component `wasmtime serve` runs) and the native Rust `echo`.

use hookhost::api::ingress::INVOCATION_HEADER;
use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, guests, start_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// Sends the same request to `url` and returns (status, invocation id, JSON).
async fn ask(srv: &TestServer, url: &str) -> (StatusCode, String, Value) {
    let resp = srv
        .http
        .post(format!("{url}/orders/7?x=1"))
        .header("content-type", "text/plain")
        .body("hello, héllo")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let inv = resp
        .headers()
        .get(INVOCATION_HEADER)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.bytes().await.unwrap();
    let json =
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    (status, inv, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasi_http_components_serve_webhooks_beside_native_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    let service = Receiver::start().await;
    service.otherwise(Reply::body(201, "created upstream"));
    let service_host = service.authority();

    srv.upload_component("echo").await;
    srv.upload_component("wasi-http-echo").await;
    let (status, module) = srv
        .upload("python-proxy", guests::example("python-proxy"))
        .await;
    assert!(status.is_success(), "{module}");
    assert_eq!(module["kind"], "handler");
    assert_eq!(module["world"], "wasi:http/proxy");
    let (_, native) = srv.send(srv.admin(Method::GET, "/modules/echo")).await;
    assert_eq!(native["world"], "hookhost:handler");

    let payload = json!({"tenant": "acme"});
    let native = srv.create_webhook("echo", payload.clone()).await;
    let rust_proxy = srv.create_webhook("wasi-http-echo", payload.clone()).await;
    let py = srv
        .create_webhook_from(
            json!({"module": "python-proxy", "payload": payload, "outbound_hosts": [service_host]}),
        )
        .await;
    let py_id = py["id"].as_str().unwrap();
    let py_url = py["url"].as_str().unwrap();

    // The same request gets the same answer from all three.
    let (s1, _, a1) = ask(&srv, native["url"].as_str().unwrap()).await;
    let (s2, _, a2) = ask(&srv, rust_proxy["url"].as_str().unwrap()).await;
    let (s3, inv, a3) = ask(&srv, py_url).await;
    assert_eq!(
        (s1, s2, s3),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    let common = |v: &Value| json!({"payload": v["payload"], "method": v["method"], "path": v["path"], "body": v["body"]});
    assert_eq!(
        common(&a1),
        json!({"payload": payload, "method": "POST", "path": "/orders/7", "body": "hello, héllo"})
    );
    assert_eq!(common(&a2), common(&a1), "{a2}");
    assert_eq!(common(&a3), common(&a1), "{a3}");
    // The context reaches a proxy component through its environment.
    assert_eq!(a3["webhook_id"], json!(py_id));
    assert_eq!(a3["invocation_id"], json!(inv));

    // Logged like any invocation.
    let log = srv.invocations_until(py_id, 1).await;
    let entry = &log["data"][0];
    assert_eq!(entry["outcome"], "ok");
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["path"], "/orders/7");

    // Commit on success: a 2xx answer keeps what it published; any other
    // status discards it. The later 2xx publish is the positive signal
    // that the discarded one is not merely late.
    let (status, _) = srv
        .send(
            srv.http
                .post(format!("{py_url}?publish=echo.proxy&status=503"))
                .body("x"),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = srv
        .send(
            srv.http
                .post(format!("{py_url}?publish=echo.proxy&status=202"))
                .body("y"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    let events = events["data"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["data"]["body"], "y");
    let log = srv.invocations_until(py_id, 3).await;
    assert_eq!(log["data"][1]["status"], 503);
    assert_eq!(log["data"][1]["published"], 0);
    assert_eq!(log["data"][0]["published"], 1);

    // Outgoing calls through wasi:http/outgoing-handler obey the same
    // policy: allowed to the listed host, denied elsewhere, both logged.
    let (_, answer) = srv
        .send(
            srv.http
                .post(format!("{py_url}?fetch={}/item", service.url))
                .body(""),
        )
        .await;
    assert_eq!(
        answer["fetched"],
        json!({"status": 201, "body": "created upstream"}),
        "{answer}"
    );
    let got = service.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].path, "/hook/item");
    let (_, answer) = srv
        .send(
            srv.http
                .post(format!("{py_url}?fetch=http://127.0.0.1:9/nope"))
                .body(""),
        )
        .await;
    assert_eq!(
        answer["fetched"]["error"], "ErrorCode_HttpRequestDenied",
        "{answer}"
    );
    let log = srv.invocations_until(py_id, 5).await;
    assert_eq!(log["data"][1]["calls"][0]["status"], 201, "{log}");
    assert!(log["data"][0]["calls"][0]["error"].is_string(), "{log}");
    assert_eq!(service.received().len(), 1);
    srv.stop().await;
}
