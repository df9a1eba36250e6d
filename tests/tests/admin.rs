//! The admin API: authentication, validation of uploads and JSON, unknown
//! ids, and webhook/module lifecycle rules.

use hookhost_tests::{component, start};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_except_for_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    for (method, path) in [
        ("GET", "/v1/modules"),
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/events"),
        ("GET", "/v1/emissions"),
    ] {
        let req = srv
            .http
            .request(method.parse().unwrap(), format!("{}{path}", srv.url));
        let (status, body) = srv.send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let wrong = srv
            .http
            .request(method.parse().unwrap(), format!("{}{path}", srv.url))
            .bearer_auth("nope");
        assert_eq!(srv.send(wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    // The generated token was stored in the data dir, readable by the owner only.
    let stored = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    assert_eq!(stored.trim(), srv.token);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_are_not_handler_components_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let cases = [
        (b"this is not wasm at all".to_vec(), "not_wasm"),
        (core_module, "core_module"),
        (component("other-world"), "wrong_world"),
        (
            b"\0asm\x0d\0\x01\0garbage after a component header".to_vec(),
            "invalid_component",
        ),
    ];
    for (bytes, code) in cases {
        let (status, body) = srv.upload("bad", bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    let (_, body) = srv.upload("bad", component("other-world")).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("hookhost:handler"), "{message}");

    let (status, body) = srv.upload("bad name!", component("echo")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = srv
        .send(srv.admin(Method::POST, "/modules").body(component("echo")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "name is required");
    let (status, _) = srv.upload("empty", Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing was stored by the failures.
    let (_, modules) = srv.send(srv.admin(Method::GET, "/modules")).await;
    assert_eq!(modules["data"], json!([]));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_and_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;

    let bad_bodies = [
        ("{not json", "invalid_json"),
        (r#"{"payload": {}}"#, "invalid_json"),
        (r#"{"module": "echo", "surprise": 1}"#, "invalid_json"),
    ];
    for (body, code) in bad_bodies {
        let req = srv
            .admin(Method::POST, "/webhooks")
            .header("content-type", "application/json")
            .body(body);
        let (status, resp) = srv.send(req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(resp["error"]["code"], code, "{body}: {resp}");
    }
    let (status, resp) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        resp["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown module")
    );
    let big = "x".repeat(100 << 10);
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": "echo", "payload": big})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "payload over 64 KiB");

    for (method, path) in [
        (Method::GET, "/webhooks/wh_unknown"),
        (Method::DELETE, "/webhooks/wh_unknown"),
        (Method::GET, "/webhooks/wh_unknown/invocations"),
        (Method::GET, "/modules/unknown"),
        (Method::DELETE, "/modules/unknown"),
    ] {
        let (status, body) = srv.send(srv.admin(method.clone(), path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, "/webhooks/wh_unknown")
                .json(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = srv
        .send(srv.http.post(format!(
            "{}/hooks/wh_0123456789abcdef0123456789abcdef",
            srv.url
        )))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = srv
        .send(srv.admin(Method::GET, "/events?after=garbage"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = srv.send(srv.admin(Method::GET, "/emissions?limit=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = srv.send(srv.admin(Method::GET, "/no/such/route")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_updates_and_module_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    srv.upload_component("identity-sync").await;
    let hook = srv.create_webhook("echo", json!({"v": 1})).await;
    let id = hook["id"].as_str().unwrap();
    let url = hook["url"].as_str().unwrap();
    let patch = |body: serde_json::Value| {
        srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
            .json(&body)
    };

    // Payload and description change what the handler sees.
    let (status, updated) = srv
        .send(patch(json!({"payload": {"v": 2}, "description": "second"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["description"], "second");
    assert_eq!(
        srv.send(srv.http.post(url)).await.1["payload"],
        json!({"v": 2})
    );
    let (_, updated) = srv.send(patch(json!({"payload": null}))).await;
    assert!(updated["payload"].is_null());
    assert!(srv.send(srv.http.post(url)).await.1["payload"].is_null());

    // Disabled webhooks answer 404 (documented), enabled ones work again.
    srv.send(patch(json!({"enabled": false}))).await;
    let (status, _) = srv.send(srv.http.post(url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    srv.send(patch(json!({"enabled": true}))).await;
    assert_eq!(srv.send(srv.http.post(url)).await.0, 200);

    // Moving to another module takes effect on the next request.
    let (status, _) = srv.send(patch(json!({"module": "identity-sync"}))).await;
    assert_eq!(status, 200);
    let (status, body) = srv.send(srv.http.post(url).body("{}")).await;
    assert_eq!(status, 400, "identity-sync now answers: {body}");
    let (status, _) = srv.send(patch(json!({"module": "missing"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A module in use cannot be deleted; once unused it can, and its file goes.
    let (status, body) = srv
        .send(srv.admin(Method::DELETE, "/modules/identity-sync"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(id));
    let (_, module) = srv
        .send(srv.admin(Method::GET, "/modules/identity-sync"))
        .await;
    let wasm = dir
        .path()
        .join("modules")
        .join(format!("{}.wasm", module["sha256"].as_str().unwrap()));
    assert!(wasm.exists());
    assert_eq!(
        srv.send(srv.admin(Method::DELETE, &format!("/webhooks/{id}")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        srv.send(srv.http.post(url)).await.0,
        StatusCode::NOT_FOUND,
        "deleted webhook URL is gone"
    );
    assert_eq!(
        srv.send(srv.admin(Method::DELETE, "/modules/identity-sync"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert!(!wasm.exists());
    let (_, modules) = srv.send(srv.admin(Method::GET, "/modules")).await;
    assert_eq!(modules["data"].as_array().unwrap().len(), 1);

    // Webhook list paging.
    for _ in 0..3 {
        srv.create_webhook("echo", json!(null)).await;
    }
    let (_, page) = srv.send(srv.admin(Method::GET, "/webhooks?limit=2")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = srv
        .send(srv.admin(Method::GET, &format!("/webhooks?limit=2&after={cursor}")))
        .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    srv.stop().await;
}
