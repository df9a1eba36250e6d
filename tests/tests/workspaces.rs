//! Workspaces end to end: isolation on every `/v1` operation of the OpenAPI
//! document (another workspace's ids answer 404, its records never appear
//! in lists), roles (`read` tokens change nothing, workspace tokens manage
//! no workspace), token revocation and expiry, quotas (counts and rates,
//! one workspace at its limit while another is not), the event-type
//! catalogue's schemas, handlers publishing into their webhook's workspace,
//! and deleting a workspace.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::Receiver;
use hookhost_tests::{TestServer, start_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn server(dir: &std::path::Path) -> TestServer {
    start_with(dir, |c| {
        // Loopback receivers, allowed explicitly.
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.1/32").unwrap();
    })
    .await
}

/// A request with `token` instead of the admin token.
fn with(srv: &TestServer, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    srv.http
        .request(method, format!("{}/v1{path}", srv.url))
        .bearer_auth(token)
}

async fn create_workspace(srv: &TestServer, name: &str, quotas: Value) -> String {
    let (status, ws) = srv
        .send(
            srv.admin(Method::POST, "/workspaces")
                .json(&json!({"name": name, "quotas": quotas})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let id = ws["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ws_"), "{id}");
    id
}

async fn token(srv: &TestServer, ws: &str, role: &str) -> (String, String) {
    let (status, t) = srv
        .send(
            srv.admin(Method::POST, &format!("/workspaces/{ws}/tokens"))
                .json(&json!({"role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    (
        t["id"].as_str().unwrap().to_string(),
        t["secret"].as_str().unwrap().to_string(),
    )
}

/// What workspace A holds, made with A's admin token.
struct Holdings {
    module: String,
    webhook: String,
    endpoint: String,
    event: String,
    delivery: String,
    event_type: String,
    token_id: String,
}

async fn fill(srv: &TestServer, ws: &str, token: &str, receiver: &Receiver) -> Holdings {
    let module = format!("mod-{}", &ws[ws.len() - 6..]);
    let (status, m) = srv
        .send(
            with(srv, token, Method::POST, "/modules")
                .query(&[("name", module.as_str())])
                .body(hookhost_tests::component("identity-sync")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let (status, w) = srv
        .send(
            with(srv, token, Method::POST, "/webhooks")
                .json(&json!({"module": module, "payload": {"secret": ws}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    let (status, e) = srv
        .send(
            with(srv, token, Method::POST, "/endpoints")
                .json(&json!({"url": receiver.url, "events": ["*"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let event_type = format!("only.{}", &ws[ws.len() - 6..]);
    let (status, t) = srv
        .send(
            with(srv, token, Method::POST, "/event-types")
                .json(&json!({"name": event_type, "description": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let (status, accepted) = srv
        .send(
            with(srv, token, Method::POST, "/events")
                .json(&json!({"type": event_type, "data": {"n": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["deliveries"], 1, "{accepted}");
    let event = accepted["id"].as_str().unwrap().to_string();
    let (_, deliveries) = srv
        .send(with(srv, token, Method::GET, "/deliveries").query(&[("event", event.as_str())]))
        .await;
    let delivery = deliveries["data"][0]["id"].as_str().unwrap().to_string();
    let (token_id, _) = self::token(srv, ws, "read").await;
    Holdings {
        module,
        webhook: w["id"].as_str().unwrap().to_string(),
        endpoint: e["id"].as_str().unwrap().to_string(),
        event,
        delivery,
        event_type,
        token_id,
    }
}

/// `path` of the document with its parameters set to A's ids.
fn fill_path(path: &str, ws: &str, a: &Holdings) -> String {
    let mut p = path.trim_start_matches("/v1").to_string();
    let id = if p.starts_with("/webhooks/") {
        &a.webhook
    } else if p.starts_with("/endpoints/") {
        &a.endpoint
    } else if p.starts_with("/deliveries/") {
        &a.delivery
    } else if p.starts_with("/workspaces/") {
        ws
    } else {
        ""
    };
    p = p.replace("{id}", id);
    p = p.replace("{token_id}", &a.token_id);
    let name = if p.starts_with("/modules/") {
        &a.module
    } else {
        &a.event_type
    };
    p.replace("{name}", name)
}

/// A plausible body for an operation, so that it gets past parsing to the
/// workspace check.
fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("patch", p) if p.contains("webhooks") => Some(json!({"description": "stolen"})),
        ("patch", p) if p.contains("endpoints") => Some(json!({"description": "stolen"})),
        ("patch", p) if p.contains("workspaces") => Some(json!({"name": "stolen"})),
        ("post", "/v1/endpoints/{id}/recover") => Some(json!({"since": "2020-01-01T00:00:00Z"})),
        ("post", "/v1/workspaces/{id}/tokens") => Some(json!({"role": "admin"})),
        ("post", "/v1/workspaces/{id}/portal") => Some(json!({"ttl": "1h"})),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspace_sees_and_touches_nothing_on_any_operation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver_a = Receiver::start().await;
    let receiver_b = Receiver::start().await;
    let ws_a = create_workspace(&srv, "A", json!({})).await;
    let ws_b = create_workspace(&srv, "B", json!({})).await;
    let (_, token_a) = token(&srv, &ws_a, "admin").await;
    let (_, token_b) = token(&srv, &ws_b, "admin").await;
    let a = fill(&srv, &ws_a, &token_a, &receiver_a).await;
    let b = fill(&srv, &ws_b, &token_b, &receiver_b).await;
    let a_ids = [
        a.webhook.as_str(),
        a.endpoint.as_str(),
        a.event.as_str(),
        a.delivery.as_str(),
        a.module.as_str(),
        a.event_type.as_str(),
        a.token_id.as_str(),
        ws_a.as_str(),
    ];

    // Every operation of the document, with B's token on A's ids.
    let (_, doc) = srv
        .send(srv.http.get(format!("{}/v1/openapi.json", srv.url)))
        .await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let filled = fill_path(path, &ws_a, &a);
            let m: Method = method.to_uppercase().parse().unwrap();
            let mut req = with(&srv, &token_b, m.clone(), &filled);
            if let Some(body) = body_for(method, path) {
                req = req.json(&body);
            } else if m == Method::POST {
                req = req.json(&json!({}));
            }
            let (status, body) = srv.send(req).await;
            let text = body.to_string();
            let what = format!("{method} {path} ({filled}) with B's token: {status} {text}");
            if path.starts_with("/v1/workspaces") {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
            } else if path.contains('{') {
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
            } else {
                assert!(status.as_u16() < 500, "{what}");
            }
            // (A 404 may repeat the id asked for; nothing else of A.)
            for id in a_ids.iter().filter(|id| !filled.contains(**id)) {
                assert!(!text.contains(id), "A's {id} leaked: {what}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 39, "{checked} operations checked");

    // Nothing of A changed, and A still sees all of it.
    for path in [
        format!("/webhooks/{}", a.webhook),
        format!("/endpoints/{}", a.endpoint),
        format!("/deliveries/{}", a.delivery),
        format!("/modules/{}", a.module),
        format!("/event-types/{}", a.event_type),
    ] {
        let (status, body) = srv.send(with(&srv, &token_a, Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_ne!(body["description"], "stolen", "{path}: {body}");
    }
    // B's lists hold B's records only.
    let (_, events) = srv.send(with(&srv, &token_b, Method::GET, "/events")).await;
    let ids: Vec<_> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(b.event)]);
    // The admin token sees A by naming it, and `default` otherwise.
    let (_, hooks) = srv
        .send(
            srv.admin(Method::GET, "/webhooks")
                .header("x-hookhost-workspace", &ws_a),
        )
        .await;
    assert_eq!(hooks["data"][0]["id"], json!(a.webhook));
    let (_, hooks) = srv
        .send(srv.admin(Method::GET, &format!("/webhooks?workspace={ws_b}")))
        .await;
    assert_eq!(hooks["data"][0]["id"], json!(b.webhook));
    let (_, hooks) = srv.send(srv.admin(Method::GET, "/webhooks")).await;
    assert_eq!(hooks["data"], json!([]));
    // A token naming another workspace is refused.
    let (status, _) = srv
        .send(with(&srv, &token_b, Method::GET, "/webhooks").header("x-hookhost-workspace", &ws_a))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Events fan out only within their workspace: each receiver got its
    // own workspace's one event, with the workspace in the envelope.
    let got_a = receiver_a.wait_for(1, Duration::from_secs(10)).await;
    let got_b = receiver_b.wait_for(1, Duration::from_secs(10)).await;
    srv.wait_queue_empty().await;
    assert_eq!(receiver_a.received().len(), 1);
    assert_eq!(receiver_b.received().len(), 1);
    assert_eq!(got_a[0].json()["workspace_id"], json!(ws_a));
    assert_eq!(got_a[0].json()["type"], json!(a.event_type));
    assert_eq!(got_b[0].json()["workspace_id"], json!(ws_b));

    // A default-workspace caller cannot reach A's modules through the
    // `<ws>/<name>` keys other workspaces' modules are stored under.
    let smuggled = format!("{ws_a}/{}", a.module);
    let encoded = smuggled.replace('/', "%2F");
    let (status, body) = srv
        .send(srv.admin(Method::GET, &format!("/modules/{encoded}")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains(&a.webhook), "{body}");
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, &format!("/modules/{encoded}")))
        .await;
    assert!(status.is_client_error(), "{status}");
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": smuggled})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/endpoints")
                .json(&json!({"url": receiver_a.url, "events": ["*"], "transform": smuggled})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = srv
        .send(with(
            &srv,
            &token_a,
            Method::GET,
            &format!("/modules/{}", a.module),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "A's module is still there");

    // Module names are per workspace: B may use A's name.
    let (status, _) = srv
        .send(
            with(&srv, &token_b, Method::POST, "/modules")
                .query(&[("name", a.module.as_str())])
                .body(hookhost_tests::component("identity-sync")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_revocation_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let ws = create_workspace(&srv, "roles", json!({})).await;
    let (_, admin) = token(&srv, &ws, "admin").await;
    let (read_id, read) = token(&srv, &ws, "read").await;
    let receiver = Receiver::start().await;
    let a = fill(&srv, &ws, &admin, &receiver).await;

    // A read token: every GET answers (non-workspace routes), every change is 403.
    let (_, doc) = srv
        .send(srv.http.get(format!("{}/v1/openapi.json", srv.url)))
        .await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let filled = fill_path(path, &ws, &a);
            let m: Method = method.to_uppercase().parse().unwrap();
            let mut req = with(&srv, &read, m.clone(), &filled);
            if let Some(body) = body_for(method, path) {
                req = req.json(&body);
            }
            let (status, body) = srv.send(req).await;
            let what = format!("{method} {filled} with a read token: {status} {body}");
            // Signing secrets are not for readers either.
            if path.starts_with("/v1/workspaces")
                || m != Method::GET
                || path == "/v1/endpoints/{id}/secret"
            {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
            } else {
                assert_eq!(status, StatusCode::OK, "{what}");
            }
        }
    }
    // Readers see header values only as hints (they carry credentials).
    let (status, ep) = srv
        .send(
            with(
                &srv,
                &admin,
                Method::PATCH,
                &format!("/endpoints/{}", a.endpoint),
            )
            .json(&json!({"headers": {"authorization": "Bearer s3cr3t-value"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ep}");
    let (_, seen) = srv
        .send(with(
            &srv,
            &read,
            Method::GET,
            &format!("/endpoints/{}", a.endpoint),
        ))
        .await;
    assert_eq!(seen["headers"]["authorization"], "Bear…", "{seen}");
    assert!(!seen.to_string().contains("s3cr3t"), "{seen}");

    // Nothing changed: the webhook is there, undescribed.
    let (_, w) = srv
        .send(with(
            &srv,
            &admin,
            Method::GET,
            &format!("/webhooks/{}", a.webhook),
        ))
        .await;
    assert_eq!(w["description"], "");

    // Tokens are listed without secrets; revoked ones answer 401.
    let (_, list) = srv
        .send(srv.admin(Method::GET, &format!("/workspaces/{ws}/tokens")))
        .await;
    assert!(!list.to_string().contains(&read), "{list}");
    assert!(!list.to_string().contains(&admin), "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let (status, _) = srv
        .send(srv.admin(
            Method::DELETE,
            &format!("/workspaces/{ws}/tokens/{read_id}"),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = srv.send(with(&srv, &read, Method::GET, "/webhooks")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // An expired token answers 401.
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (status, t) = srv
        .send(
            srv.admin(Method::POST, &format!("/workspaces/{ws}/tokens"))
                .json(&json!({"role": "admin", "expires_at": soon})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let short = t["secret"].as_str().unwrap().to_string();
    let (status, _) = srv.send(with(&srv, &short, Method::GET, "/webhooks")).await;
    assert_eq!(status, StatusCode::OK);
    wait_until(Duration::from_secs(10), "the token to expire", || async {
        let (status, _) = srv.send(with(&srv, &short, Method::GET, "/webhooks")).await;
        (status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    // Expiry in the past is refused at creation; unknown roles too.
    for bad in [
        json!({"role": "admin", "expires_at": "2000-01-01T00:00:00Z"}),
        json!({"role": "owner"}),
    ] {
        let (status, body) = srv
            .send(
                srv.admin(Method::POST, &format!("/workspaces/{ws}/tokens"))
                    .json(&bad),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // A made-up token of the right form is 401, not a crash.
    let (status, _) = srv
        .send(with(
            &srv,
            &format!("hhk_{}", "0".repeat(64)),
            Method::GET,
            "/webhooks",
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_without_storing_and_spare_other_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let limited = create_workspace(
        &srv,
        "limited",
        json!({"max_modules": 1, "max_webhooks": 1, "max_endpoints": 1,
               "events_per_second": 2, "invocations_per_second": 1}),
    )
    .await;
    let free = create_workspace(&srv, "free", json!({})).await;
    let (_, lim) = token(&srv, &limited, "admin").await;
    let (_, fre) = token(&srv, &free, "admin").await;
    let receiver = Receiver::start().await;
    for t in [&lim, &fre] {
        for name in ["one", "two"] {
            let (status, body) = srv
                .send(
                    with(&srv, t, Method::POST, "/modules")
                        .query(&[("name", name)])
                        .body(hookhost_tests::component("echo")),
                )
                .await;
            let expected = if t == &lim && name == "two" {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::CREATED
            };
            assert_eq!(status, expected, "{name}: {body}");
        }
    }
    // Replacing the code of a module it has is not a new module.
    let (status, _) = srv
        .send(
            with(&srv, &lim, Method::POST, "/modules")
                .query(&[("name", "one")])
                .body(hookhost_tests::component("echo")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut hooks = Vec::new();
    for t in [&lim, &lim, &fre, &fre] {
        let (status, body) = srv
            .send(with(&srv, t, Method::POST, "/webhooks").json(&json!({"module": "one"})))
            .await;
        hooks.push((status, body));
    }
    assert_eq!(hooks[0].0, StatusCode::CREATED);
    assert_eq!(hooks[1].0, StatusCode::TOO_MANY_REQUESTS, "{}", hooks[1].1);
    assert_eq!(hooks[1].1["error"]["code"], "quota_exceeded");
    assert_eq!(hooks[2].0, StatusCode::CREATED);
    assert_eq!(hooks[3].0, StatusCode::CREATED);
    for (t, second) in [
        (&lim, StatusCode::TOO_MANY_REQUESTS),
        (&fre, StatusCode::CREATED),
    ] {
        for expected in [StatusCode::CREATED, second] {
            let (status, body) = srv
                .send(
                    with(&srv, t, Method::POST, "/endpoints")
                        .json(&json!({"url": receiver.url, "events": ["*"]})),
                )
                .await;
            assert_eq!(status, expected, "{body}");
        }
    }
    let (_, eps) = srv.send(with(&srv, &lim, Method::GET, "/endpoints")).await;
    assert_eq!(
        eps["data"].as_array().unwrap().len(),
        1,
        "nothing stored over the quota"
    );

    // The event rate: 2/s with a burst of 2. A burst of 6 gets some 429s
    // with Retry-After, and each refused one stored nothing.
    let mut accepted = 0;
    let mut refused = 0;
    for n in 0..6 {
        let resp = with(&srv, &lim, Method::POST, "/events")
            .json(&json!({"type": "t.x", "data": {"n": n}}))
            .send()
            .await
            .unwrap();
        match resp.status() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(resp.headers().get("retry-after").is_some());
                refused += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert!(refused >= 2, "{accepted} accepted, {refused} refused");
    let (_, events) = srv.send(with(&srv, &lim, Method::GET, "/events")).await;
    assert_eq!(events["data"].as_array().unwrap().len(), accepted);
    // Meanwhile the other workspace is not slowed: all of its burst goes in.
    for n in 0..6 {
        let (status, body) = srv
            .send(
                with(&srv, &fre, Method::POST, "/events")
                    .json(&json!({"type": "t.x", "data": {"n": n}})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }

    // The invocation rate: 1/s. Two calls at once: one runs, one is 429
    // with Retry-After and leaves no invocation record.
    let url = hooks[0].1["url"].as_str().unwrap().to_string();
    let id = hooks[0].1["id"].as_str().unwrap().to_string();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let resp = srv.http.post(&url).body("x").send().await.unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(resp.headers().get("retry-after").is_some());
        }
        statuses.push(resp.status());
    }
    let ran = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!((1..3).contains(&ran), "{statuses:?}");
    // The free workspace's webhook runs at once, several times.
    let free_url = hooks[2].1["url"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = srv.send(srv.http.post(free_url).body("x")).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Only the calls that ran are logged (the log is written after the
    // answer: the free webhook's third entry is the positive signal that
    // the writer got that far).
    let free_id = hooks[2].1["id"].as_str().unwrap();
    wait_until(
        Duration::from_secs(10),
        "the free webhook's log",
        || async {
            let (_, log) = srv
                .send(with(
                    &srv,
                    &fre,
                    Method::GET,
                    &format!("/webhooks/{free_id}/invocations"),
                ))
                .await;
            (log["data"].as_array()?.len() == 3).then_some(())
        },
    )
    .await;
    let (_, log) = srv
        .send(with(
            &srv,
            &lim,
            Method::GET,
            &format!("/webhooks/{id}/invocations"),
        ))
        .await;
    assert_eq!(log["data"].as_array().unwrap().len(), ran, "{log}");

    // Quotas are checked: a rate of 0 is refused.
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/workspaces/{limited}"))
                .json(&json!({"quotas": {"events_per_second": 0}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_validates_events_of_types_with_a_schema() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let schema = json!({
        "type": "object",
        "required": ["invoice_id", "amount"],
        "properties": {"invoice_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}
    });
    let (status, t) = srv
        .send(srv.admin(Method::POST, "/event-types").json(
            &json!({"name": "invoice.paid", "description": "An invoice was paid", "schema": schema}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/events")
                .json(&json!({"type": "invoice.paid", "data": {"invoice_id": 7}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "schema_mismatch");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("amount") && message.contains("invoice_id"),
        "{message}"
    );
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(events["data"], json!([]), "nothing stored");
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/events").json(
                &json!({"type": "invoice.paid", "data": {"invoice_id": "in_1", "amount": 5}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Types outside the catalogue go through unchecked.
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, "/events")
                .json(&json!({"type": "other", "data": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Not a JSON Schema, a remote `$ref`, a reserved name: 400.
    for bad in [
        json!({"name": "x.y", "schema": {"type": "no-such-type"}}),
        json!({"name": "x.y", "schema": {"$ref": "http://127.0.0.1:9/s.json"}}),
        json!({"name": "hookhost.mine"}),
        json!({"name": ""}),
    ] {
        let (status, body) = srv
            .send(srv.admin(Method::POST, "/event-types").json(&bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // Replacing keeps one entry; the catalogue is per workspace.
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, "/event-types")
                .json(&json!({"name": "invoice.paid"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = srv.send(srv.admin(Method::GET, "/event-types")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let other = create_workspace(&srv, "other", json!({})).await;
    let (_, list) = srv
        .send(
            srv.admin(Method::GET, "/event-types")
                .header("x-hookhost-workspace", &other),
        )
        .await;
    assert_eq!(list["data"], json!([]));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_publish_into_their_webhooks_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let ws = create_workspace(&srv, "tenant", json!({})).await;
    let (_, t) = token(&srv, &ws, "admin").await;
    let mine = Receiver::start().await;
    let default_receiver = Receiver::start().await;
    hookhost_tests::endpoint(&srv, json!({"url": default_receiver.url, "events": ["*"]})).await;
    let a = fill(&srv, &ws, &t, &mine).await;
    let (_, hook) = srv
        .send(with(
            &srv,
            &t,
            Method::GET,
            &format!("/webhooks/{}", a.webhook),
        ))
        .await;
    let url = hook["url"].as_str().unwrap();
    let event = json!({"id": "ID1", "entityType": "USER", "eventType": "UPDATE", "timestamp": "2019-01-01T00:00:00Z"});
    let (status, body) = srv.send(srv.http.post(url).json(&event)).await;
    assert_eq!(status, 200, "{body}");
    // The workspace's endpoint gets the published event (after the one
    // `fill` sent), with the workspace in the envelope.
    let got = wait_until(Duration::from_secs(10), "the published event", || async {
        let got = mine.received();
        got.iter()
            .find(|r| r.json()["type"] == "user.updated")
            .map(|r| r.json())
    })
    .await;
    assert_eq!(got["workspace_id"], json!(ws));
    let (_, emissions) = srv.send(with(&srv, &t, Method::GET, "/emissions")).await;
    assert_eq!(
        emissions["data"].as_array().unwrap().len(),
        1,
        "{emissions}"
    );
    srv.wait_queue_empty().await;
    // The default workspace saw none of it.
    assert!(default_receiver.received().is_empty());
    let (_, emissions) = srv.send(srv.admin(Method::GET, "/emissions")).await;
    assert_eq!(emissions["data"], json!([]));
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(events["data"], json!([]));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_workspace_is_refused_while_it_holds_records_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let ws = create_workspace(&srv, "doomed", json!({})).await;
    let keep = create_workspace(&srv, "kept", json!({})).await;
    let (_, t) = token(&srv, &ws, "admin").await;
    let (_, k) = token(&srv, &keep, "admin").await;
    let receiver = Receiver::start().await;
    let a = fill(&srv, &ws, &t, &receiver).await;
    let kept = fill(&srv, &keep, &k, &receiver).await;
    let (status, body) = srv
        .send(srv.admin(Method::DELETE, &format!("/workspaces/{ws}")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, &format!("/workspaces/{ws}?force=true")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Its tokens are gone with it, its records too.
    let (status, _) = srv.send(with(&srv, &t, Method::GET, "/webhooks")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = srv
        .send(srv.admin(Method::GET, &format!("/workspaces/{ws}")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, hook) = srv
        .send(srv.http.post(format!("{}/hooks/{}", srv.url, a.webhook)))
        .await;
    assert_eq!(hook["error"]["code"], "not_found");
    // The other workspace kept everything.
    for path in [
        format!("/webhooks/{}", kept.webhook),
        format!("/endpoints/{}", kept.endpoint),
        format!("/deliveries/{}", kept.delivery),
    ] {
        let (status, _) = srv.send(with(&srv, &k, Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (_, events) = srv.send(with(&srv, &k, Method::GET, "/events")).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    // The default workspace cannot go.
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, "/workspaces/default?force=true"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // An empty workspace goes without force.
    let empty = create_workspace(&srv, "empty", json!({})).await;
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, &format!("/workspaces/{empty}")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    srv.stop().await;
}
