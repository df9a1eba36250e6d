//! The real `hookhost` binary: `serve` prints the generated token once, and
//! the client subcommands drive every admin action against it.

#[allow(dead_code)]
#[path = "../../tests/src/guests.rs"]
mod guests;

mod common;

use common::{Served, receiver, serve, serve_with, wait_for_log, wait_until};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn cli(srv: &Served, data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hookhost"))
        .args(args)
        .env("HOOKHOST_URL", &srv.url)
        .env("HOOKHOST_DATA_DIR", data_dir)
        .env_remove("HOOKHOST_ADMIN_TOKEN")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_json(srv: &Served, data_dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (ok, stdout, stderr) = cli(srv, data_dir, &all);
    assert!(ok, "{args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// Uploads the `hostile` fixture (again, if need be) through the CLI and
/// registers a webhook for it in `mode`; returns the webhook.
fn hostile_webhook(srv: &Served, data_dir: &Path, mode: &str) -> Value {
    let wasm = guests::component_path("hostile");
    let upload = [
        "module",
        "upload",
        wasm.to_str().unwrap(),
        "--name",
        "hostile",
    ];
    cli_json(srv, data_dir, &upload);
    let payload = format!(r#"{{"mode":"{mode}"}}"#);
    let create = [
        "webhook",
        "create",
        "--module",
        "hostile",
        "--payload",
        &payload,
    ];
    cli_json(srv, data_dir, &create)
}

#[test]
fn serve_and_every_client_command() {
    hookhost::delivery::http::install_tls();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let srv = serve(&data, &log);
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    assert!(
        srv.banner.contains(token.trim()),
        "first start prints the generated token: {}",
        srv.banner
    );

    let wasm = guests::component_path("echo");
    let module = cli_json(
        &srv,
        &data,
        &["module", "upload", wasm.to_str().unwrap(), "--name", "echo"],
    );
    assert_eq!(module["name"], "echo");
    let (ok, out, _) = cli(&srv, &data, &["module", "list"]);
    assert!(ok && out.contains("echo"), "{out}");
    assert_eq!(
        cli_json(&srv, &data, &["module", "get", "echo"])["sha256"],
        module["sha256"]
    );

    let hook = cli_json(
        &srv,
        &data,
        &[
            "webhook",
            "create",
            "--module",
            "echo",
            "--payload",
            r#"{"tenant":"acme"}"#,
        ],
    );
    let id = hook["id"].as_str().unwrap().to_string();
    let url = hook["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&srv.url));
    let (ok, out, _) = cli(&srv, &data, &["webhook", "list"]);
    assert!(ok && out.contains(&id), "{out}");
    let updated = cli_json(
        &srv,
        &data,
        &[
            "webhook",
            "update",
            &id,
            "--description",
            "cli",
            "--disable",
        ],
    );
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["description"], "cli");
    let updated = cli_json(
        &srv,
        &data,
        &["webhook", "update", &id, "--enable", "--clear-payload"],
    );
    assert_eq!(updated["enabled"], true);
    assert!(updated["payload"].is_null());
    // Verification and deduplication as JSON flags; the secret is never shown.
    let updated = cli_json(
        &srv,
        &data,
        &[
            "webhook",
            "update",
            &id,
            "--verify",
            r#"{"scheme":"github","secret":"cli-secret-0123456789"}"#,
            "--dedup",
            r#"{"window":"1h"}"#,
        ],
    );
    assert_eq!(updated["verify"]["scheme"], "github");
    assert_eq!(updated["verify"]["secret_hint"], "…6789");
    assert!(!updated.to_string().contains("cli-secret"), "{updated}");
    assert_eq!(updated["dedup"]["key"], "auto");
    let (ok, _, err) = cli(
        &srv,
        &data,
        &[
            "webhook",
            "update",
            &id,
            "--verify",
            r#"{"scheme":"gitlab","secret":"x"}"#,
        ],
    );
    assert!(!ok && err.contains("verify.scheme"), "{err}");
    let updated = cli_json(
        &srv,
        &data,
        &["webhook", "update", &id, "--clear-verify", "--clear-dedup"],
    );
    assert!(updated["verify"].is_null() && updated["dedup"].is_null());
    assert_eq!(
        cli_json(&srv, &data, &["webhook", "get", &id])["id"],
        id.as_str()
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .body("hi")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    // The invocation log is written in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let invocations = loop {
        let invocations = cli_json(&srv, &data, &["webhook", "invocations", &id]);
        if !invocations["data"][0].is_null() {
            break invocations;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no invocation logged: {invocations}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(invocations["data"][0]["status"], 200);
    let (ok, out, _) = cli(&srv, &data, &["webhook", "invocations", &id]);
    assert!(ok && out.contains("ok"), "{out}");
    assert_eq!(
        cli_json(&srv, &data, &["event", "list"])["data"],
        serde_json::json!([])
    );
    assert_eq!(
        cli_json(&srv, &data, &["emission", "list"])["data"],
        serde_json::json!([])
    );

    // Errors are reported with the server's message and a failing exit code.
    let (ok, _, err) = cli(&srv, &data, &["module", "delete", "echo"]);
    assert!(!ok && err.contains("409") && err.contains(&id), "{err}");
    let (ok, _, err) = cli(
        &srv,
        &data,
        &[
            "webhook",
            "create",
            "--module",
            "echo",
            "--payload",
            "{oops",
        ],
    );
    assert!(!ok && err.contains("--payload is not valid JSON"), "{err}");
    let (ok, out, _) = cli(&srv, &data, &["webhook", "delete", &id]);
    assert!(ok && out.contains("deleted"), "{out}");
    let (ok, _, _) = cli(&srv, &data, &["module", "delete", "echo"]);
    assert!(ok);

    // Guest output reaches the server log, tagged with the webhook, and bounded.
    let chatty = hostile_webhook(&srv, &data, "chatty");
    let chatty_url = chatty["url"].as_str().unwrap().to_string();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(&chatty_url)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let text = wait_for_log(&log, |l| l.contains("guest output"));
    let line = text.lines().find(|l| l.contains("guest output")).unwrap();
    assert!(line.contains(chatty["id"].as_str().unwrap()), "{line}");
    assert!(line.contains("line 0 of a very chatty handler"), "{line}");
    assert!(line.contains("dropped_bytes="), "{line}");
    assert!(
        line.len() < 2000,
        "guest output is cut at --max-log-bytes: {} bytes",
        line.len()
    );
    // ... and is kept, bounded, in the invocation log, shown under its row.
    let (ok, out, _) = cli(
        &srv,
        &data,
        &["webhook", "invocations", chatty["id"].as_str().unwrap()],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("    | line 0 of a very chatty handler"),
        "{out}"
    );
    assert!(out.contains("more bytes dropped]"), "{out}");
    drop(srv);

    // A second start does not print the token again.
    let srv = serve(&data, &dir.path().join("serve2.log"));
    assert!(!srv.banner.contains(token.trim()), "{}", srv.banner);
    assert!(srv.banner.contains("stored in"), "{}", srv.banner);
}

#[test]
fn outbound_client_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let srv = serve_with(
        &data,
        &dir.path().join("serve.log"),
        &[
            "--outbound-allowlist",
            "127.0.0.0/8",
            "--retry-schedule",
            "0,100ms",
        ],
    );
    let (url, received) = receiver();

    let ep = cli_json(
        &srv,
        &data,
        &[
            "endpoint",
            "create",
            &url,
            "--event",
            "order.*,invoice.paid",
            "--description",
            "shop",
        ],
    );
    let id = ep["id"].as_str().unwrap().to_string();
    assert_eq!(ep["events"], serde_json::json!(["order.*", "invoice.paid"]));
    let secret = ep["secret"].as_str().unwrap().to_string();
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "list"]);
    assert!(ok && out.contains(&id), "{out}");
    assert_eq!(
        cli_json(&srv, &data, &["endpoint", "secret", &id])["secret"],
        secret.as_str()
    );
    let updated = cli_json(
        &srv,
        &data,
        &[
            "endpoint",
            "update",
            &id,
            "--filters",
            r#"{"currency":"EUR"}"#,
        ],
    );
    assert_eq!(updated["filters"], serde_json::json!({"currency": "EUR"}));

    let accepted = cli_json(
        &srv,
        &data,
        &[
            "event",
            "send",
            "--type",
            "order.paid",
            "--data",
            r#"{"currency":"EUR"}"#,
        ],
    );
    assert_eq!(accepted["deliveries"], 1);
    let skipped = cli_json(
        &srv,
        &data,
        &[
            "event",
            "send",
            "--type",
            "order.paid",
            "--data",
            r#"{"currency":"USD"}"#,
        ],
    );
    assert_eq!(skipped["deliveries"], 0, "filtered out");
    // An operator filter besides the equality filters: both must pass.
    let updated = cli_json(
        &srv,
        &data,
        &[
            "endpoint",
            "update",
            &id,
            "--where",
            r#"{"data.amount": {"$gte": 100}}"#,
        ],
    );
    assert_eq!(
        updated["filter"],
        serde_json::json!({"data.amount": {"$gte": 100}})
    );
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "get", &id]);
    assert!(
        ok && out.contains(r#"where     {"data.amount":{"$gte":100}}"#),
        "{out}"
    );
    for (event, deliveries) in [
        (r#"{"currency":"EUR","amount":99}"#, 0),
        (r#"{"currency":"USD","amount":100}"#, 0),
    ] {
        let sent = cli_json(
            &srv,
            &data,
            &["event", "send", "--type", "order.paid", "--data", event],
        );
        assert_eq!(sent["deliveries"], deliveries, "{event}");
    }
    let (ok, _, err) = cli(
        &srv,
        &data,
        &[
            "endpoint",
            "update",
            &id,
            "--where",
            r#"{"data.amount": {"$gtt": 1}}"#,
        ],
    );
    assert!(
        !ok && err.contains("filter.data.amount: unknown operator $gtt"),
        "{err}"
    );
    let updated = cli_json(&srv, &data, &["endpoint", "update", &id, "--where", "null"]);
    assert!(updated["filter"].is_null(), "{updated}");
    // A rate limit, shown, and removed again.
    let limited = cli_json(
        &srv,
        &data,
        &["endpoint", "update", &id, "--rate-limit", "10/5"],
    );
    assert_eq!(
        limited["rate_limit"],
        serde_json::json!({"per_second": 10, "burst": 5})
    );
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "get", &id]);
    assert!(ok && out.contains("rate      10/s, burst 5"), "{out}");
    let (ok, _, err) = cli(
        &srv,
        &data,
        &["endpoint", "update", &id, "--rate-limit", "fast"],
    );
    assert!(!ok && err.contains("PER_SECOND"), "{err}");
    let unlimited = cli_json(
        &srv,
        &data,
        &["endpoint", "update", &id, "--rate-limit", "none"],
    );
    assert!(unlimited["rate_limit"].is_null(), "{unlimited}");
    let event_id = accepted["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let delivery = loop {
        let list = cli_json(&srv, &data, &["delivery", "list", "--event", &event_id]);
        if list["data"][0]["status"] == "success" {
            break list["data"][0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {list}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let dlv = delivery["id"].as_str().unwrap();
    let (ok, out, _) = cli(&srv, &data, &["delivery", "get", dlv]);
    assert!(ok && out.contains("status 200"), "{out}");
    assert_eq!(
        cli_json(&srv, &data, &["delivery", "retry", dlv])["status"],
        "pending"
    );

    let test = cli_json(&srv, &data, &["endpoint", "test", &id]);
    assert_eq!(test["success"], true, "{test}");
    let rotated = cli_json(&srv, &data, &["endpoint", "rotate-secret", &id]);
    assert_ne!(rotated["secret"], secret.as_str());
    let recovered = cli_json(
        &srv,
        &data,
        &[
            "endpoint",
            "recover",
            &id,
            "--since",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert_eq!(recovered["requeued"], 0);
    let (ok, _, err) = cli(
        &srv,
        &data,
        &["endpoint", "create", "http://10.0.0.1/", "--event", "*"],
    );
    assert!(!ok && err.contains("outbound-allowlist"), "{err}");
    // Custom headers and an Ed25519 endpoint: the public key is printed,
    // never the private one.
    let signed = cli_json(
        &srv,
        &data,
        &[
            "endpoint",
            "create",
            &url,
            "--event",
            "none.*",
            "--signature",
            "standard-ed25519",
            "--header",
            "X-Team: billing",
            "--header",
            "Authorization:Bearer a b",
        ],
    );
    assert_eq!(
        signed["headers"],
        serde_json::json!({"X-Team": "billing", "Authorization": "Bearer a b"})
    );
    let public = signed["secret"].as_str().unwrap();
    assert!(public.starts_with("whpk_"), "{signed}");
    let signed_id = signed["id"].as_str().unwrap();
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "get", signed_id]);
    assert!(ok && out.contains("header    X-Team: billing"), "{out}");
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "secret", signed_id]);
    assert!(ok && out.trim() == public, "{out}");
    let cleared = cli_json(
        &srv,
        &data,
        &["endpoint", "update", signed_id, "--clear-headers"],
    );
    assert_eq!(cleared["headers"], serde_json::json!({}));
    let (ok, _, err) = cli(
        &srv,
        &data,
        &["endpoint", "update", signed_id, "--header", "Host: evil"],
    );
    assert!(!ok && err.contains("cannot be overridden"), "{err}");
    let (ok, _, err) = cli(
        &srv,
        &data,
        &["endpoint", "update", signed_id, "--header", "no colon"],
    );
    assert!(!ok && err.contains("Name: value"), "{err}");
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "delete", signed_id]);
    assert!(ok && out.contains("deleted"), "{out}");
    // The first delivery, its retry and the test send arrived (before the
    // endpoint goes: a retry still queued would fail once it is deleted).
    wait_until("3 requests at the receiver", || {
        received.load(std::sync::atomic::Ordering::SeqCst) >= 3
    });
    let (ok, out, _) = cli(&srv, &data, &["endpoint", "delete", &id]);
    assert!(ok && out.contains("deleted"), "{out}");
}

/// `hookhost run` with a private cache directory; returns (exit code, stdout, stderr).
fn run_local(cache: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hookhost"))
        .arg("run")
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("run hookhost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_executes_one_request_locally() {
    let cache = tempfile::tempdir().unwrap();
    let echo = guests::component_path("echo");
    let echo = echo.to_str().unwrap();

    // A response, the payload as context, a publish reported, not committed.
    let (code, out, err) = run_local(
        cache.path(),
        &[
            echo,
            "--payload",
            r#"{"tenant":"acme"}"#,
            "-X",
            "put",
            "--path",
            "/orders?publish=echo.seen",
            "-H",
            "X-Test: 1",
            "-d",
            "hello",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["status"], 200);
    assert_eq!(report["outcome"], "ok");
    let body: Value = serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"payload": {"tenant": "acme"}, "method": "PUT", "path": "/orders", "body": "hello"})
    );
    assert_eq!(report["published"][0]["type"], "echo.seen");
    assert_eq!(report["published"][0]["data"]["body"], "hello");
    assert!(
        report["component"]["prepared"]
            .as_str()
            .unwrap()
            .starts_with("compiled"),
        "{report}"
    );

    // The second run loads the cached artifact; the body comes from a file.
    let file = cache.path().join("body.txt");
    std::fs::write(&file, "from a file").unwrap();
    let (code, out, _) = run_local(cache.path(), &[echo, "-d", &format!("@{}", file.display())]);
    assert_eq!(code, 0);
    assert!(out.starts_with("200 ok"), "{out}");
    assert!(out.contains("loaded from cache"), "{out}");
    assert!(out.contains(r#""body":"from a file""#), "{out}");

    // A trap: exit 1, the failure and the guest's own output shown, and
    // what it published before trapping not reported (it would be discarded).
    let hostile = guests::component_path("hostile");
    let hostile = hostile.to_str().unwrap();
    let (code, out, _) = run_local(
        cache.path(),
        &[hostile, "--payload", r#"{"mode":"publish-then-trap"}"#],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("500 trap"), "{out}");
    assert!(out.contains("trap after publishing"), "{out}");
    assert!(!out.contains("should.not.exist"), "{out}");
    let (code, out, _) = run_local(cache.path(), &[hostile, "--payload", r#"{"mode":"trap"}"#]);
    assert_eq!(code, 1);
    assert!(
        out.contains("hostile fixture trapped on purpose"),
        "the panic message is in the guest output: {out}"
    );
    // The same limits as the server.
    let (code, out, _) = run_local(
        cache.path(),
        &[
            hostile,
            "--payload",
            r#"{"mode":"loop"}"#,
            "--timeout-ms",
            "200",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.starts_with("504 timeout"), "{out}");

    // Unusable input: exit 2 with a message.
    let (code, _, err) = run_local(cache.path(), &[echo, "--payload", "{nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("--payload is not JSON"), "{err}");
    let (code, _, err) = run_local(cache.path(), &["/nonexistent.wasm"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = run_local(cache.path(), &[file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a WebAssembly binary"), "{err}");
}

#[test]
fn json_log_lines_carry_the_invocation_span() {
    hookhost::delivery::http::install_tls();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let srv = serve_with(&data, &log, &["--log-format", "json"]);
    let hook = hostile_webhook(&srv, &data, "trap");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let invocation = rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(hook["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        resp.headers()["x-hookhost-invocation"]
            .to_str()
            .unwrap()
            .to_string()
    });
    let text = wait_for_log(&log, |l| l.contains("invocation failed"));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let failed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "invocation failed")
        .unwrap_or_else(|| panic!("no failure line in\n{text}"));
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["fields"]["kind"], "trap");
    assert_eq!(failed["span"]["name"], "invocation");
    assert_eq!(failed["span"]["invocation_id"], invocation.as_str());
    assert_eq!(failed["span"]["webhook_id"], hook["id"]);
}

#[test]
fn workspace_token_event_type_and_portal_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let srv = serve(&data, &dir.path().join("serve.log"));
    let ws = cli_json(
        &srv,
        &data,
        &[
            "workspace",
            "create",
            "Acme",
            "--quotas",
            r#"{"max_webhooks": 2}"#,
            "--branding",
            r##"{"accent_color": "#aa3300"}"##,
        ],
    );
    let id = ws["id"].as_str().unwrap().to_string();
    assert_eq!(ws["quotas"]["max_webhooks"], 2);
    let (ok, out, _) = cli(&srv, &data, &["workspace", "list"]);
    assert!(ok && out.contains(&id) && out.contains("default"), "{out}");
    let updated = cli_json(
        &srv,
        &data,
        &["workspace", "update", &id, "--name", "Acme Corp"],
    );
    assert_eq!(updated["name"], "Acme Corp");

    // A token, used as the CLI's token: it acts in its workspace only.
    let (ok, out, stderr) = cli(&srv, &data, &["token", "create", &id, "--role", "read"]);
    assert!(ok, "{stderr}");
    assert!(out.contains("shown once"), "{out}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret"))
        .map(|s| s.trim().to_string())
        .unwrap();
    assert!(secret.starts_with("hhk_"), "{out}");
    let as_token = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hookhost"))
            .args(args)
            .env("HOOKHOST_URL", &srv.url)
            .env("HOOKHOST_ADMIN_TOKEN", &secret)
            .output()
            .unwrap()
    };
    let out = as_token(&["endpoint", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_token(&["event", "send", "--type", "a.b", "--data", "{}"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens = cli_json(&srv, &data, &["token", "list", &id]);
    let token_id = tokens["data"][0]["id"].as_str().unwrap().to_string();
    assert!(!tokens.to_string().contains(&secret));
    let (ok, _, stderr) = cli(&srv, &data, &["token", "revoke", &id, &token_id]);
    assert!(ok, "{stderr}");
    assert!(!as_token(&["endpoint", "list"]).status.success());

    // The catalogue of the workspace named with --workspace.
    let t = cli_json(
        &srv,
        &data,
        &[
            "--workspace",
            &id,
            "event-type",
            "put",
            "invoice.paid",
            "--schema",
            r#"{"type": "object", "required": ["amount"]}"#,
        ],
    );
    assert_eq!(t["name"], "invoice.paid");
    let (ok, out, _) = cli(&srv, &data, &["--workspace", &id, "event-type", "list"]);
    assert!(ok && out.contains("invoice.paid"), "{out}");
    let (ok, out, _) = cli(&srv, &data, &["event-type", "list"]);
    assert!(
        ok && !out.contains("invoice.paid"),
        "the default workspace's: {out}"
    );
    let (ok, _, stderr) = cli(
        &srv,
        &data,
        &[
            "--workspace",
            &id,
            "event",
            "send",
            "--type",
            "invoice.paid",
            "--data",
            "{}",
        ],
    );
    assert!(!ok && stderr.contains("422"), "{stderr}");

    let link = cli_json(
        &srv,
        &data,
        &["portal-link", &id, "--ttl", "15m", "--read-only"],
    );
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/portal/#hhp_", srv.url)),
        "{link}"
    );
    assert_eq!(link["read_only"], true);

    let (ok, _, stderr) = cli(&srv, &data, &["workspace", "delete", &id]);
    assert!(ok, "an empty workspace (event types only) goes: {stderr}");
    let (ok, _, stderr) = cli(&srv, &data, &["workspace", "get", &id]);
    assert!(!ok && stderr.contains("404"), "{stderr}");
}

#[test]
fn transform_runs_one_event_locally() {
    let wasm = guests::component_path("slack-transform");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hookhost"))
            .arg("transform")
            .arg(&wasm)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[
        "--type",
        "invoice.paid",
        "--data",
        r#"{"amount": 42, "password": "hunter2"}"#,
        "--url",
        "https://hooks.slack.test/x",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("send"), "{out}");
    assert!(out.contains("POST https://hooks.slack.test/x"), "{out}");
    assert!(
        out.contains("*amount*: 42") && !out.contains("hunter2"),
        "{out}"
    );
    let (code, out, _) = run(&["--data", r#"{"quiet": true}"#, "--json"]);
    assert_eq!(code, Some(0));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["outcome"], "skip");
    let (code, out, _) = run(&["--data", "not json"]);
    assert_eq!(code, Some(2), "{out}");
    // A handler is not a transform.
    let echo = guests::component_path("echo");
    let out = Command::new(env!("CARGO_BIN_EXE_hookhost"))
        .args(["transform", echo.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hookhost run"));
}
