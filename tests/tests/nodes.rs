//! Several nodes on one PostgreSQL: every node serves every webhook, a
//! change on one is seen by the others within a second, delivery work is
//! shared without two attempts of one delivery at once, and a sled data
//! directory moves to PostgreSQL with export/import.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{PgSchema, TestServer, endpoint, send_event, start_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// A node on `schema`, allowed to deliver to loopback receivers.
async fn node(dir: &std::path::Path, schema: &PgSchema) -> TestServer {
    node_with(dir, schema, |_| {}).await
}

async fn node_with(
    dir: &std::path::Path,
    schema: &PgSchema,
    tweak: impl FnOnce(&mut hookhost::config::ServerConfig),
) -> TestServer {
    start_with(dir, |c| {
        schema.configure(c);
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        tweak(c);
    })
    .await
}

/// Waits (1 s at most) until `srv` lists `n` endpoints: a change made on
/// another node reached it.
async fn sees_endpoints(srv: &TestServer, n: usize) {
    wait_until(
        Duration::from_secs(1),
        "the node seeing the endpoints",
        || async {
            let (_, eps) = srv.send(srv.admin(Method::GET, "/endpoints")).await;
            (eps["data"].as_array().map(Vec::len) == Some(n)).then_some(())
        },
    )
    .await;
}

fn hook_path(hook: &Value) -> String {
    let url = hook["url"].as_str().unwrap();
    format!("/hooks/{}", url.split("/hooks/").nth(1).unwrap())
}

async fn post_hook(srv: &TestServer, path: &str, body: &str) -> (StatusCode, Value) {
    srv.send(
        srv.http
            .post(format!("{}{path}", srv.url))
            .body(body.to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_takes_effect_on_the_other_within_a_second() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(dir_a.path(), &schema).await;
    let b = node(dir_b.path(), &schema).await;

    // Uploaded and registered on A, served by B (which compiles the module
    // from the bytes in the database).
    a.upload_component("echo").await;
    let hook = a.create_webhook("echo", json!({"tenant": "acme"})).await;
    let path = hook_path(&hook);
    let body = wait_until(Duration::from_secs(1), "B serving A's webhook", || async {
        let (status, body) = post_hook(&b, &path, "hello").await;
        (status == StatusCode::OK).then_some(body)
    })
    .await;
    assert_eq!(body["payload"], json!({"tenant": "acme"}));

    // Changed on A: B answers with the new payload.
    let id = hook["id"].as_str().unwrap();
    let (status, _) = a
        .send(
            a.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"payload": {"tenant": "globex"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    wait_until(
        Duration::from_secs(1),
        "B seeing the new payload",
        || async {
            let (status, body) = post_hook(&b, &path, "x").await;
            (status == StatusCode::OK && body["payload"]["tenant"] == "globex").then_some(())
        },
    )
    .await;

    // Both nodes' invocations land in the one log, visible from either.
    post_hook(&a, &path, "from a").await;
    let log = b.invocations_until(id, 2).await;
    assert!(log["data"].as_array().unwrap().len() >= 2, "{log}");

    // Deleted on A: gone on B.
    let (status, _) = a
        .send(a.admin(Method::DELETE, &format!("/webhooks/{id}")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    wait_until(Duration::from_secs(1), "B dropping the webhook", || async {
        let (status, _) = post_hook(&b, &path, "x").await;
        (status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;

    // An endpoint created on A receives the events B accepts.
    let receiver = Receiver::start().await;
    endpoint(&a, json!({"url": receiver.url, "events": ["*"]})).await;
    wait_until(
        Duration::from_secs(1),
        "B delivering to A's endpoint",
        || async {
            let accepted = send_event(&b, json!({"type": "probe.sent", "data": {}})).await;
            (accepted["deliveries"].as_u64() == Some(1)).then_some(())
        },
    )
    .await;

    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_deliveries_without_attempting_one_twice() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(dir_a.path(), &schema).await;
    let b = node(dir_b.path(), &schema).await;
    let receiver = Receiver::start().await;
    let ep = endpoint(&a, json!({"url": receiver.url, "events": ["*"]})).await;
    let ep_id = ep["id"].as_str().unwrap().to_string();
    // B knows the endpoint before it accepts events.
    sees_endpoints(&b, 1).await;

    const EVENTS: usize = 2000;
    let mut senders = Vec::new();
    for (n, srv) in [&a, &b].into_iter().enumerate() {
        let (url, token, http) = (srv.url.clone(), srv.token.clone(), srv.http.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..EVENTS / 2 {
                let resp = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&token)
                    .json(&json!({"type": "load.sent", "data": {"node": n, "i": i}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::ACCEPTED);
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let got = receiver.wait_for(EVENTS, Duration::from_secs(60)).await;

    // Every event arrived exactly once: two attempts of one delivery at
    // once would show as a repeated webhook-id.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *seen.entry(r.header("webhook-id").to_string()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    assert_eq!(seen.len(), EVENTS);

    // The attempt records agree: one attempt per delivery, all successful.
    a.wait_queue_empty().await;
    let mut cursor: Option<String> = None;
    let mut deliveries = 0;
    loop {
        let mut q = vec![("endpoint", ep_id.clone()), ("limit", "200".into())];
        if let Some(c) = &cursor {
            q.push(("before", c.clone()));
        }
        let (_, page) = a.send(a.admin(Method::GET, "/deliveries").query(&q)).await;
        for d in page["data"].as_array().unwrap() {
            assert_eq!(d["attempts"], 1, "{d}");
            assert_eq!(d["status"], "success", "{d}");
            deliveries += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(deliveries, EVENTS);

    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoints_concurrency_holds_across_nodes() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one_at_a_time = |c: &mut hookhost::config::ServerConfig| {
        c.delivery.endpoint_concurrency = 1;
    };
    let a = node_with(dir_a.path(), &schema, one_at_a_time).await;
    let b = node_with(dir_b.path(), &schema, one_at_a_time).await;
    let receiver = Receiver::start().await;
    receiver.otherwise(Reply {
        delay: Duration::from_millis(150),
        ..Reply::status(200)
    });
    endpoint(&a, json!({"url": receiver.url, "events": ["*"]})).await;
    sees_endpoints(&b, 1).await;
    // Both nodes hold due deliveries of the one endpoint at once.
    for i in 0..12 {
        let srv = if i % 2 == 0 { &a } else { &b };
        send_event(srv, json!({"type": "slow.sent", "data": {"i": i}})).await;
    }
    receiver.wait_for(12, Duration::from_secs(30)).await;
    assert_eq!(
        receiver.peak_concurrency(),
        1,
        "two nodes together keep the endpoint to one attempt at a time"
    );
    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_nodes() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(dir_a.path(), &schema).await;
    let b = node(dir_b.path(), &schema).await;
    let r = Receiver::start().await;
    endpoint(
        &a,
        json!({"url": r.url, "events": ["tick"], "rate_limit": {"per_second": 5}}),
    )
    .await;
    sees_endpoints(&b, 1).await;
    // Both nodes hold due deliveries of the endpoint at once.
    for n in 0..20 {
        let srv = if n % 2 == 0 { &a } else { &b };
        send_event(srv, json!({"type": "tick", "data": {"n": n}})).await;
    }
    r.wait_for(20, Duration::from_secs(20)).await;
    let busiest = r.busiest_second();
    assert!(
        busiest <= 5,
        "{busiest} deliveries within one second from two nodes at 5/s"
    );
    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_line_keeps_its_order_across_nodes() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let quick_retries = |c: &mut hookhost::config::ServerConfig| {
        c.delivery.schedule = hookhost::config::parse_schedule("0,100ms,100ms,100ms").unwrap();
    };
    let a = node_with(dir_a.path(), &schema, quick_retries).await;
    let b = node_with(dir_b.path(), &schema, quick_retries).await;
    let r = Receiver::start().await;
    // The first event needs three attempts, the second fails for good
    // (four attempts), the rest succeed at once; replies take a moment, so
    // overlapping attempts would show.
    let slow = |status| Reply {
        delay: Duration::from_millis(30),
        ..Reply::status(status)
    };
    r.script([500, 500, 200, 500, 500, 500, 500].map(slow));
    r.otherwise(slow(200));
    endpoint(
        &a,
        json!({"url": r.url, "events": ["seq"], "ordering": "fifo"}),
    )
    .await;
    sees_endpoints(&b, 1).await;
    // Accepted alternately by the two nodes, in this order.
    let mut ids = Vec::new();
    for n in 0..6 {
        let srv = if n % 2 == 0 { &a } else { &b };
        let accepted = send_event(srv, json!({"type": "seq", "data": {"n": n}})).await;
        ids.push(accepted["id"].as_str().unwrap().to_string());
    }
    r.wait_for(3 + 4 + 4, Duration::from_secs(30)).await;
    a.wait_queue_empty().await;
    let order: Vec<usize> = r
        .received()
        .iter()
        .map(|m| {
            let id = m.json()["id"].as_str().unwrap().to_string();
            ids.iter().position(|i| *i == id).unwrap()
        })
        .collect();
    assert_eq!(order, [0, 0, 0, 1, 1, 1, 1, 2, 3, 4, 5]);
    assert_eq!(
        r.peak_concurrency(),
        1,
        "one attempt at a time, over both nodes"
    );
    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_data_directory_moves_to_postgres_with_export_and_import() {
    use hookhost::cli::StoreArgs;
    use hookhost::cli::transfer::{ExportArgs, ImportArgs, export, import};

    let sled_dir = tempfile::tempdir().unwrap();
    let srv = start_with(sled_dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    srv.upload_component("echo").await;
    let hook = srv.create_webhook("echo", json!({"tenant": "acme"})).await;
    let path = hook_path(&hook);
    let (status, _) = post_hook(&srv, &path, "before the move").await;
    assert_eq!(status, StatusCode::OK);
    srv.invocations_until(hook["id"].as_str().unwrap(), 1).await;
    // A receiver that is down: the delivery stays pending across the move.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let ep = endpoint(
        &srv,
        json!({"url": format!("http://{down}/hook"), "events": ["*"]}),
    )
    .await;
    let accepted = send_event(&srv, json!({"type": "moved.event", "data": {"k": 1}})).await;
    let event_id = accepted["id"].as_str().unwrap().to_string();
    srv.stop().await;

    let file = tempfile::NamedTempFile::new().unwrap();
    // sled's file lock goes with the last thread of the stopped server
    // (a separate process, in real use, has exited by then).
    let exported = wait_until(
        Duration::from_secs(5),
        "the data directory unlocked",
        || async {
            let args = ExportArgs {
                store: StoreArgs {
                    data_dir: sled_dir.path().to_path_buf(),
                    database_url: None,
                    database_schema: None,
                },
                output: Some(file.path().to_path_buf()),
            };
            match export(args).await {
                Ok(n) => Some(n),
                Err(e) if e.contains("could not acquire lock") => None,
                Err(e) => panic!("export failed: {e}"),
            }
        },
    )
    .await;
    let schema = PgSchema::new().await;
    let into_postgres = || ImportArgs {
        store: StoreArgs {
            data_dir: sled_dir.path().to_path_buf(),
            database_url: Some(schema.url.clone()),
            database_schema: Some(schema.name.clone()),
        },
        input: Some(file.path().to_path_buf()),
        force: false,
    };
    let imported = import(into_postgres()).await.unwrap();
    assert_eq!(exported, imported);
    // Into a store that holds records already: refused without --force.
    let again = import(into_postgres()).await.unwrap_err();
    assert!(again.contains("already holds records"), "{again}");

    // A file cut short (its end line lost) is refused, saying so.
    let text = std::fs::read_to_string(file.path()).unwrap();
    let cut = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(cut.path(), lines[..lines.len() - 1].join("\n")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = import(ImportArgs {
        store: StoreArgs {
            data_dir: elsewhere.path().to_path_buf(),
            database_url: None,
            database_schema: None,
        },
        input: Some(cut.path().to_path_buf()),
        force: false,
    })
    .await
    .unwrap_err();
    assert!(refused.contains("cut short"), "{refused}");

    // A node on PostgreSQL serves the same webhook URL with its payload,
    // has the invocation log and the endpoint (with its secret), and sends
    // the pending delivery once the receiver is up, on its own address.
    let pg_dir = tempfile::tempdir().unwrap();
    let node = node(pg_dir.path(), &schema).await;
    let (status, body) = post_hook(&node, &path, "after the move").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payload"], json!({"tenant": "acme"}));
    node.invocations_until(hook["id"].as_str().unwrap(), 2)
        .await;
    let ep_id = ep["id"].as_str().unwrap();
    let (status, secret) = node
        .send(node.admin(Method::GET, &format!("/endpoints/{ep_id}/secret")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secret["secret"], ep["secret"], "{secret} vs {ep}");
    let (_, deliveries) = node
        .send(
            node.admin(Method::GET, "/deliveries")
                .query(&[("event", &event_id)]),
        )
        .await;
    let d = &deliveries["data"][0];
    assert_eq!(d["status"], "pending", "{deliveries}");
    let receiver = Receiver::start().await;
    let (status, _) = node
        .send(
            node.admin(Method::PATCH, &format!("/endpoints/{ep_id}"))
                .json(&json!({"url": receiver.url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = node
        .send(node.admin(
            Method::POST,
            &format!("/deliveries/{}/retry", d["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].json()["id"], event_id.as_str());
    assert_eq!(got[0].json()["data"], json!({"k": 1}));

    node.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspaces_and_tokens_made_on_one_node_hold_on_the_other() {
    let schema = PgSchema::new().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(dir_a.path(), &schema).await;
    let b = node(dir_b.path(), &schema).await;
    let (status, ws) = a
        .send(
            a.admin(Method::POST, "/workspaces")
                .json(&json!({"name": "tenant", "quotas": {"max_endpoints": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let ws = ws["id"].as_str().unwrap().to_string();
    let (status, t) = a
        .send(
            a.admin(Method::POST, &format!("/workspaces/{ws}/tokens"))
                .json(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let secret = t["secret"].as_str().unwrap().to_string();
    let on_b = |method: Method, path: &str| {
        b.http
            .request(method, format!("{}/v1{path}", b.url))
            .bearer_auth(&secret)
    };
    // B accepts A's token within a second, in its workspace.
    wait_until(Duration::from_secs(1), "B accepting the token", || async {
        let (status, _) = b.send(on_b(Method::GET, "/endpoints")).await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    // A module uploaded in the workspace on B serves on A.
    let (status, _) = b
        .send(
            on_b(Method::POST, "/modules")
                .query(&[("name", "echo")])
                .body(hookhost_tests::component("echo")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, hook) = b
        .send(on_b(Method::POST, "/webhooks").json(&json!({"module": "echo"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let path = hook_path(&hook);
    wait_until(Duration::from_secs(1), "A serving B's webhook", || async {
        let (status, _) = post_hook(&a, &path, "hi").await;
        (status == StatusCode::OK).then_some(())
    })
    .await;
    // The quota set on A holds on B.
    let receiver = Receiver::start().await;
    for expected in [StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS] {
        let (status, body) = b
            .send(
                on_b(Method::POST, "/endpoints")
                    .json(&json!({"url": receiver.url, "events": ["*"]})),
            )
            .await;
        assert_eq!(status, expected, "{body}");
    }
    // Revoked on A: refused by B within a second.
    let (status, _) = a
        .send(a.admin(
            Method::DELETE,
            &format!("/workspaces/{ws}/tokens/{}", t["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    wait_until(
        Duration::from_secs(1),
        "B refusing the revoked token",
        || async {
            let (status, _) = b.send(on_b(Method::GET, "/endpoints")).await;
            (status == StatusCode::UNAUTHORIZED).then_some(())
        },
    )
    .await;
    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}
