//! Capture and replay end to end: a webhook with `capture` keeps each
//! request and response with its invocation; a replay runs the request
//! again through the current module or another one and answers the new
//! result beside the old, storing nothing unless asked to commit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hookhost_tests::start;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn decoded(b64: &Value) -> Value {
    serde_json::from_slice(&B64.decode(b64.as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_requests_replay_through_any_module() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    srv.upload_component("identity-sync").await;
    let (status, hook) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": "echo", "payload": {"tenant": "acme"}, "capture": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert_eq!(hook["capture"], true);
    let id = hook["id"].as_str().unwrap().to_string();
    let url = format!("{}?publish=echo.seen", hook["url"].as_str().unwrap());
    let (status, first) = srv
        .send(
            srv.http
                .post(&url)
                .header("x-custom", "kept")
                .body(r#"{"hello":"world"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The request and the response are in the log.
    let log = srv.invocations_until(&id, 1).await;
    let inv = &log["data"][0];
    let inv_id = inv["id"].as_str().unwrap().to_string();
    assert_eq!(inv["request"]["method"], "POST");
    assert_eq!(inv["request"]["query"], "publish=echo.seen");
    assert!(
        inv["request"]["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-custom", "kept"])),
        "{inv}"
    );
    assert_eq!(decoded(&inv["response"]["body_base64"]), first);
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);

    // Replayed through the same module, without committing: the same
    // answer, nothing stored.
    let path = format!("/webhooks/{id}/invocations/{inv_id}/replay");
    let (status, r) = srv.send(srv.admin(Method::POST, &path)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["original"]["invocation_id"], json!(inv_id));
    assert_eq!(r["replay"]["status"], 200);
    assert_eq!(decoded(&r["replay"]["response"]["body_base64"]), first);
    assert_eq!(r["records"][0]["kind"], "publish");
    assert_eq!(r["records"][0]["type"], "echo.seen");
    assert_eq!(r["committed"], false);
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        1,
        "nothing published"
    );
    let (_, log) = srv
        .send(srv.admin(Method::GET, &format!("/webhooks/{id}/invocations")))
        .await;
    assert_eq!(log["data"].as_array().unwrap().len(), 1, "nothing logged");

    // Through another module: identity-sync refuses this body (400).
    let (status, r) = srv
        .send(
            srv.admin(Method::POST, &path)
                .json(&json!({"module": "identity-sync"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["replay"]["module"], "identity-sync");
    assert_eq!(r["replay"]["status"], 400);
    assert_eq!(r["replay"]["outcome"], "bad_request");
    assert_eq!(r["original"]["status"], 200);

    // Committed: a new invocation in the log, and its event published.
    let (status, r) = srv
        .send(
            srv.admin(Method::POST, &path)
                .json(&json!({"commit": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["committed"], true);
    let new_id = r["replay"]["invocation_id"].as_str().unwrap();
    let log = srv.invocations_until(&id, 2).await;
    assert_eq!(log["data"][0]["id"], json!(new_id));
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2);

    // Unknown invocation, unknown module, a transform, a read token.
    let (status, _) = srv
        .send(srv.admin(
            Method::POST,
            &format!("/webhooks/{id}/invocations/inv_0123456789abcdef0123456789abcdef/replay"),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, &path)
                .json(&json!({"module": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = srv
        .send(srv.admin(Method::POST, &path).json(&json!({"unknown": 1})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_capture_or_with_a_cut_body_there_is_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let hook = srv.create_webhook("echo", json!(null)).await;
    let id = hook["id"].as_str().unwrap().to_string();
    let url = hook["url"].as_str().unwrap().to_string();
    srv.send(srv.http.post(&url).body("x")).await;
    let log = srv.invocations_until(&id, 1).await;
    assert!(log["data"][0].get("request").is_none(), "{log}");
    let inv = log["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = srv
        .send(srv.admin(
            Method::POST,
            &format!("/webhooks/{id}/invocations/{inv}/replay"),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "not_captured");

    // A request that fails the webhook's signature check is not kept.
    let (status, _) = srv
        .send(srv.admin(Method::PATCH, &format!("/webhooks/{id}")).json(
            &json!({"capture": true, "verify": {"scheme": "github", "secret": "s3cr3t-s3cr3t"}}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = srv.send(srv.http.post(&url).body("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let log = srv.invocations_until(&id, 2).await;
    assert_eq!(log["data"][0]["outcome"], "unverified");
    assert!(log["data"][0].get("request").is_none(), "{log}");
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"verify": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Turned on: a body over the capture limit is kept cut, and refused
    // for replay rather than replayed wrong.
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"capture": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let big = "y".repeat(300 << 10);
    let (status, _) = srv.send(srv.http.post(&url).body(big)).await;
    assert_eq!(status, StatusCode::OK);
    let log = srv.invocations_until(&id, 3).await;
    let captured = &log["data"][0]["request"];
    assert_eq!(captured["body_bytes"], 300 << 10);
    let inv = log["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = srv
        .send(srv.admin(
            Method::POST,
            &format!("/webhooks/{id}/invocations/{inv}/replay"),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("kept only up to"),
        "{body}"
    );
    srv.stop().await;
}
