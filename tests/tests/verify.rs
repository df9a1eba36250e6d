//! Inbound verification and deduplication end to end. Requests are signed
//! by the providers' own libraries (tests/signers: npm `stripe` and
//! `@octokit/webhooks-methods`, PyPI `standardwebhooks`, and Slack's and
//! Shopify's documented recipes), never by hookhost code. Install them with
//! scripts/guest-toolchains.sh.

use hookhost_tests::{TestServer, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

fn signers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("signers")
}

/// Headers signing `payload` for `scheme`, made by the provider's library.
async fn sign(
    scheme: &str,
    secret: &str,
    payload: &str,
    timestamp: i64,
    id: &str,
) -> Vec<(String, String)> {
    let (program, script) = match scheme {
        "stripe" | "github" => ("node", "sign.mjs"),
        _ => ("python3", "sign.py"),
    };
    let mut child = tokio::process::Command::new(program)
        .arg(signers().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the signer (install the signers with scripts/guest-toolchains.sh)");
    let input = json!({"scheme": scheme, "secret": secret, "payload": payload, "timestamp": timestamp, "id": id});
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{program} {script} failed (install the signers with scripts/guest-toolchains.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers: Value = serde_json::from_slice(&out.stdout).unwrap();
    headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `body` with `headers` to `url`: status, JSON body, invocation id.
async fn post(
    srv: &TestServer,
    url: &str,
    headers: &[(String, String)],
    body: &str,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut req = srv
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    )
}

async fn create(srv: &TestServer, module: &str, extra: Value) -> Value {
    let mut body = json!({"module": module});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, hook) = srv
        .send(srv.admin(Method::POST, "/webhooks").json(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    hook
}

/// Outcomes of the invocation log of `id` once it has `n` entries, oldest first.
async fn outcomes(srv: &TestServer, id: &str, n: usize) -> Vec<String> {
    let log = srv.invocations_until(id, n).await;
    let mut all: Vec<String> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    all.reverse();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_signatures_pass_and_forgeries_get_401_without_running_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let secrets = [
        ("github", "It's a Secret to Everybody"),
        ("stripe", "whsec_test_0123456789abcdefghij"),
        ("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("shopify", "shpss_0123456789abcdef0123456789ab"),
        ("slack", "8f742231b10e8888abcd99yyyzzz85a5"),
    ];
    for (scheme, secret) in secrets {
        let hook = create(
            &srv,
            "echo",
            json!({"verify": {"scheme": scheme, "secret": secret}}),
        )
        .await;
        let (id, url) = (hook["id"].as_str().unwrap(), hook["url"].as_str().unwrap());
        // Write-only: the answer shows the scheme and a hint, never the secret.
        assert_eq!(hook["verify"]["scheme"], scheme, "{hook}");
        assert!(
            !hook.to_string().contains(&secret[secret.len() - 12..]),
            "{hook}"
        );
        assert!(
            hook["verify"]["secret_hint"]
                .as_str()
                .unwrap()
                .contains('…')
        );

        let payload = r#"{"id":"evt_1","event_id":"Ev1","type":"ping"}"#;
        let timed = matches!(scheme, "stripe" | "standard" | "slack");
        let good = sign(scheme, secret, payload, now(), "msg_1").await;
        let (status, body, _) = post(&srv, url, &good, payload).await;
        assert_eq!(status, 200, "{scheme}: {body}");
        assert_eq!(body["body"], payload, "{scheme}: the handler ran");

        let mut forgeries = vec![
            (
                "wrong secret",
                sign(
                    scheme,
                    "not-the-right-secret-at-all",
                    payload,
                    now(),
                    "msg_1",
                )
                .await,
                payload,
            ),
            (
                "tampered body",
                good.clone(),
                r#"{"id":"evt_1","type":"refund"}"#,
            ),
            ("missing header", vec![], payload),
        ];
        if timed {
            forgeries.push((
                "stale",
                sign(scheme, secret, payload, now() - 600, "msg_1").await,
                payload,
            ));
            forgeries.push((
                "future",
                sign(scheme, secret, payload, now() + 600, "msg_1").await,
                payload,
            ));
        }
        let refused = forgeries.len();
        for (what, headers, body) in forgeries {
            let (status, answer, _) = post(&srv, url, &headers, body).await;
            assert_eq!(status, 401, "{scheme} {what}: {answer}");
            assert_eq!(
                answer["error"]["code"], "unverified",
                "{scheme} {what}: {answer}"
            );
            assert!(answer["error"]["message"].is_string());
        }
        let log = outcomes(&srv, id, 1 + refused).await;
        assert_eq!(log[0], "ok", "{scheme}");
        assert!(
            log[1..].iter().all(|o| o == "unverified"),
            "{scheme}: {log:?}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_accepts_every_configured_secret() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let (old, new) = ("old-github-secret-1", "new-github-secret-2");
    let hook = create(
        &srv,
        "echo",
        json!({"verify": {"scheme": "github", "secret": new, "secrets": [old]}}),
    )
    .await;
    assert_eq!(hook["verify"]["secret_hints"], json!(["…et-1"]));
    let url = hook["url"].as_str().unwrap();
    for (secret, expected) in [(old, 200), (new, 200), ("third-github-secret", 401)] {
        let headers = sign("github", secret, "{}", 0, "").await;
        let (status, body, _) = post(&srv, url, &headers, "{}").await;
        assert_eq!(status, expected, "{secret}: {body}");
    }
    // Rotation done: only the new secret stays.
    let id = hook["id"].as_str().unwrap();
    let (status, hook) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"verify": {"scheme": "github", "secret": new}})),
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let headers = sign("github", old, "{}", 0, "").await;
    assert_eq!(post(&srv, url, &headers, "{}").await.0, 401);
    // `null` removes the check.
    let (status, hook) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"verify": null})),
        )
        .await;
    assert_eq!((status, &hook["verify"]), (StatusCode::OK, &Value::Null));
    assert_eq!(post(&srv, url, &[], "{}").await.0, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_get_the_first_answer_and_concurrent_ones_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = create(
        &srv,
        "echo",
        json!({"payload": {"n": 1}, "verify": {"scheme": "standard", "secret": secret}, "dedup": {"window": "1h"}}),
    )
    .await;
    assert_eq!(hook["dedup"], json!({"window": "1h", "key": "auto"}));
    let (id, url) = (
        hook["id"].as_str().unwrap(),
        hook["url"].as_str().unwrap().to_string(),
    );

    // A retry of a handled delivery: the first answer, replayed.
    let signed = sign("standard", secret, "{\"a\":1}", now(), "msg_dup_1").await;
    let (s1, first, h1) = post(&srv, &url, &signed, "{\"a\":1}").await;
    let (s2, second, h2) = post(&srv, &url, &signed, "{\"a\":1}").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first, second);
    assert_eq!(h2["content-type"], h1["content-type"]);
    assert_eq!(h2["x-hookhost-duplicate-of"], h1["x-hookhost-invocation"]);
    assert_ne!(h2["x-hookhost-invocation"], h1["x-hookhost-invocation"]);
    assert_eq!(outcomes(&srv, id, 2).await, ["ok", "duplicate"]);

    // The payload changes: a duplicate still gets the first answer, a new id does not.
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"payload": {"n": 2}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        post(&srv, &url, &signed, "{\"a\":1}").await.1["payload"]["n"],
        1
    );

    // Concurrent duplicates: the handler runs once, all get its answer.
    let signed = sign("standard", secret, "{\"b\":2}", now(), "msg_dup_2").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, signed) = (srv.http.clone(), url.clone(), signed.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = http.post(&url).body("{\"b\":2}");
            for (k, v) in &signed {
                req = req.header(k, v);
            }
            let resp = req.send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|a| a == &answers[0] && a.0 == 200),
        "{answers:?}"
    );
    let log = outcomes(&srv, id, 3 + 8).await;
    let batch = &log[3..];
    assert_eq!(batch.iter().filter(|o| *o == "ok").count(), 1, "{log:?}");
    assert_eq!(
        batch.iter().filter(|o| *o == "duplicate").count(),
        7,
        "{log:?}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_answers_are_not_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("hostile").await;
    let hook = create(
        &srv,
        "hostile",
        json!({"payload": {"mode": "trap"}, "dedup": {"key": {"header": "X-Delivery"}}}),
    )
    .await;
    let (id, url) = (hook["id"].as_str().unwrap(), hook["url"].as_str().unwrap());
    let headers = vec![("X-Delivery".to_string(), "d-1".to_string())];
    for _ in 0..2 {
        assert_eq!(post(&srv, url, &headers, "{}").await.0, 500);
    }
    // Senders retry on a 5xx: each retry runs the handler again.
    assert_eq!(outcomes(&srv, id, 2).await, ["trap", "trap"]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    let cases = [
        (
            json!({"verify": {"scheme": "gitlab", "secret": "12345678"}}),
            "verify.scheme",
        ),
        (
            json!({"verify": {"scheme": "stripe", "secret": "12345678", "tolerance": "five minutes"}}),
            "verify.tolerance",
        ),
        (
            json!({"verify": {"scheme": "github", "secret": "12345678", "tolerance": "5m"}}),
            "verify.tolerance",
        ),
        (
            json!({"verify": {"scheme": "hmac", "secret": "12345678", "header": "x-sig", "algorithm": "md5"}}),
            "verify.algorithm",
        ),
        (
            json!({"verify": {"scheme": "shopify", "secret": "12345678", "header": "x"}}),
            "verify.header",
        ),
        (json!({"dedup": {"window": "1 day"}}), "dedup.window"),
        (json!({"dedup": {"key": {"json": "id"}}}), "dedup.key.json"),
    ];
    for (extra, field) in cases {
        let mut body = json!({"module": "echo"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = srv
            .send(srv.admin(Method::POST, "/webhooks").json(&body))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}:")), "{message}");
    }
    // A generic HMAC over a timestamp and the body, checked by hand.
    let hook = create(
        &srv,
        "echo",
        json!({"verify": {"scheme": "hmac", "secret": "generic-secret", "header": "X-Sig", "prefix": "sha256=",
                          "signed": "{timestamp}.{body}", "timestamp_header": "X-Ts"}}),
    )
    .await;
    assert_eq!(hook["verify"]["tolerance"], "5m");
    assert_eq!(hook["verify"]["algorithm"], "sha256");
    use hmac::{Hmac, Mac};
    let ts = now().to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"generic-secret").unwrap();
    mac.update(format!("{ts}.{{}}").as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let url = hook["url"].as_str().unwrap();
    let headers = vec![("X-Sig".to_string(), sig), ("X-Ts".to_string(), ts)];
    assert_eq!(post(&srv, url, &headers, "{}").await.0, 200);
    assert_eq!(post(&srv, url, &headers, "{ }").await.0, 401);
    srv.stop().await;
}
