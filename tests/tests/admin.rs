//! The admin API: authentication, validation of uploads and JSON, unknown
//! ids, and webhook/module lifecycle rules.

use hookhost_tests::{component, start};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Sends `method url` with `authorization` (if any) and a JSON body (if
/// any); returns status, headers and the body as JSON (`null` if none).
async fn call(
    srv: &hookhost_tests::TestServer,
    method: Method,
    url: &str,
    authorization: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = srv.http.request(method, url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request reaches the server");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, headers, json)
}

/// Every operation of the OpenAPI document the server serves (not a
/// hand-picked few) refuses a request without the token, with a wrong one
/// or with the token not as a bearer token: 401, `WWW-Authenticate: Bearer`
/// and the JSON error. Only operations the document marks as needing no
/// security would be exempt (there are none; the document itself, which is
/// public, is not one of its operations).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_by_every_documented_operation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    let doc_url = format!("{}/v1/openapi.json", srv.url);
    let (status, _, doc) = call(&srv, Method::GET, &doc_url, None, None).await;
    assert_eq!(status, StatusCode::OK, "the document is public");
    let global = &doc["security"];
    assert_eq!(global, &json!([{"admin_token": []}]));

    // No token, a wrong one, and the right one but not as a bearer token.
    let basic = format!("Basic {}", srv.token);
    let rejected = [
        None,
        Some("Bearer wrong"),
        Some(srv.token.as_str()),
        Some(&basic),
    ];
    let (mut checked, mut public) = (0, Vec::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // An operation's own `security` replaces the global one; an
            // empty list, or an empty requirement in it, means "no token".
            let security = op.get("security").unwrap_or(global);
            let needs_token = security.as_array().is_some_and(|reqs| {
                !reqs.is_empty()
                    && reqs
                        .iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            if !needs_token {
                public.push(format!("{method} {path}"));
                continue;
            }
            // Plausible path parameters and, where the operation takes
            // one, a JSON body: the token is checked before either.
            let mut concrete = String::new();
            for (i, part) in path.split(['{', '}']).enumerate() {
                concrete.push_str(if i % 2 == 1 { "x" } else { part });
            }
            let url = format!("{}{concrete}", srv.url);
            let method: Method = method.to_uppercase().parse().unwrap();
            let body = op.get("requestBody").map(|_| json!({}));
            for auth in rejected {
                let (status, headers, body) =
                    call(&srv, method.clone(), &url, auth, body.clone()).await;
                let what = format!("{method} {concrete} with authorization {auth:?}");
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
                assert_eq!(headers["www-authenticate"], "Bearer", "{what}");
                assert!(
                    headers["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("application/json"),
                    "{what}"
                );
                assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{what}: {body}"
                );
                assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
            }
            // The right token gets past the check (whatever the answer).
            let bearer = format!("Bearer {}", srv.token);
            let (status, ..) = call(&srv, method.clone(), &url, Some(&bearer), body).await;
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {concrete}");
            checked += 1;
        }
    }
    assert!(public.is_empty(), "operations without security: {public:?}");
    assert!(checked >= 25, "only {checked} operations checked");

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
    // A well-formed module name that is not uploaded names nothing: 404.
    let (status, resp) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(resp["error"]["code"], "not_found");
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
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = srv.send(patch(json!({"module": "not a name"}))).await;
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
    // sled keeps module bytes as files (PostgreSQL, in the database).
    let on_sled = !srv.on_postgres();
    assert_eq!(wasm.exists(), on_sled);
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

/// What the OpenAPI document says about limits, cursors, module names,
/// event types, idempotency keys, endpoint URLs, event patterns and secrets
/// is what the server does, at the edges (scripts/fuzz-api.sh checks the
/// same from the document at random).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_constraints_hold_at_their_edges() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let hook = srv.create_webhook("echo", json!(null)).await;
    let hook_id = hook["id"].as_str().unwrap();
    let get = |path: String| {
        let (srv, req) = (&srv, srv.admin(Method::GET, &path));
        async move { srv.send(req).await }
    };

    // `limit` is 1-1000 on every list.
    let invocations = format!("/webhooks/{hook_id}/invocations");
    for list in [
        "/webhooks",
        "/events",
        "/emissions",
        "/deliveries",
        &invocations,
    ] {
        for (limit, want) in [(0, 400), (1, 200), (1000, 200), (1001, 400)] {
            let (status, body) = get(format!("{list}?limit={limit}")).await;
            assert_eq!(status.as_u16(), want, "{list}?limit={limit}: {body}");
        }
    }
    // Cursors are ids as the server makes them: `<prefix>_` + 32 lowercase
    // hex digits. One of that form that names nothing is a valid cursor.
    let hex = "0123456789abcdef0123456789abcdef";
    for (list, param, prefix) in [
        ("/events", "after", "evt"),
        ("/emissions", "after", "em"),
        ("/deliveries", "before", "dlv"),
        (invocations.as_str(), "before", "inv"),
    ] {
        let (status, body) = get(format!("{list}?{param}={prefix}_{hex}")).await;
        assert_eq!(status, 200, "{list}: {body}");
        for bad in [
            format!("{prefix}_{}", hex.to_uppercase()),
            format!("{prefix}_01234567-89ab-cdef-0123-456789abcdef"),
            format!("{prefix}_{hex}0"),
            String::new(),
        ] {
            let (status, _) = get(format!("{list}?{param}={bad}")).await;
            assert_eq!(status, 400, "{list}?{param}={bad}");
        }
    }
    // The webhook cursor must name a webhook: 404 when it does not.
    let (status, body) = get(format!("/webhooks?after=wh_{hex}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = get("/webhooks?after=nonsense".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, page) = get(format!("/webhooks?after={hook_id}")).await;
    assert_eq!((status.as_u16(), &page["data"]), (200, &json!([])));

    // Event types: 1-256 of `A-Za-z0-9._:/-`; idempotency keys 1-256
    // characters (not bytes).
    let event = |body: serde_json::Value| srv.admin(Method::POST, "/events").json(&body);
    for (kind, want) in [
        ("a".repeat(256), 202),
        ("a".repeat(257), 400),
        ("Aa0._:/-".into(), 202),
        (String::new(), 400),
        ("a b".into(), 400),
        ("é".into(), 400),
    ] {
        let (status, body) = srv.send(event(json!({"type": kind, "data": null}))).await;
        assert_eq!(status.as_u16(), want, "type {kind:?}: {body}");
    }
    for (key, want) in [
        ("é".repeat(256), 202),
        ("é".repeat(257), 400),
        (String::new(), 400),
    ] {
        let body = json!({"type": "t", "data": 1, "idempotency_key": key});
        let (status, resp) = srv.send(event(body)).await;
        assert_eq!(
            status.as_u16(),
            want,
            "key of {} chars: {resp}",
            key.chars().count()
        );
    }

    // Endpoints: the URL form, event patterns and secrets the document gives.
    let endpoint = |body: serde_json::Value| srv.admin(Method::POST, "/endpoints").json(&body);
    let url = "http://user@hooks.example:8080/in?x=1";
    let (status, ep) = srv
        .send(endpoint(json!({"url": url, "events": ["a.*", "b", "*"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    let ep_id = ep["id"].as_str().unwrap();
    for bad_url in [
        "HTTP://hooks.example/",
        "http://bücher.example/",
        "http://a..b/",
        "http://hooks.example/ x",
    ] {
        let (status, body) = srv
            .send(endpoint(json!({"url": bad_url, "events": ["*"]})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_url}: {body}");
        assert_eq!(body["error"]["code"], "endpoint_not_allowed", "{bad_url}");
        let patch = srv
            .admin(Method::PATCH, &format!("/endpoints/{ep_id}"))
            .json(&json!({"url": bad_url}));
        assert_eq!(
            srv.send(patch).await.0,
            StatusCode::BAD_REQUEST,
            "{bad_url}"
        );
    }
    for bad_events in [
        json!([]),
        json!([""]),
        json!(["a*"]),
        json!(["*.a"]),
        json!(["a.**"]),
    ] {
        let (status, body) = srv
            .send(endpoint(json!({"url": url, "events": bad_events})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_events}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{bad_events}");
    }
    for bad_secret in [
        "short".to_string(),
        "é".repeat(16),
        format!("{} x", "x".repeat(16)),
    ] {
        let body = json!({"url": url, "events": ["*"], "secret": bad_secret});
        let (status, resp) = srv.send(endpoint(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad_secret:?}: {resp}");
        let rotate = srv
            .admin(Method::POST, &format!("/endpoints/{ep_id}/rotate-secret"))
            .json(&json!({"secret": bad_secret}));
        assert_eq!(
            srv.send(rotate).await.0,
            StatusCode::BAD_REQUEST,
            "{bad_secret:?}"
        );
    }
    // The rotation body is optional: empty, or `null` as the document allows.
    let rotate = |body: &'static str| {
        srv.admin(Method::POST, &format!("/endpoints/{ep_id}/rotate-secret"))
            .header("content-type", "application/json")
            .body(body)
    };
    for body in ["", "null"] {
        let (status, resp) = srv.send(rotate(body)).await;
        assert_eq!(status, 200, "{body:?}: {resp}");
        assert!(resp["secret"].as_str().unwrap().starts_with("whsec_"));
    }
    srv.stop().await;
}
