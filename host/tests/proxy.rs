//! The delivery client ignores the proxy variables of the environment
//! (through a proxy the address guard would see only the proxy) and uses
//! the explicit `--outbound-proxy` alone.

mod common;

use common::{Served, read_request, serve_with_env};
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An endpoint on a name that never resolves (`.invalid` is reserved).
const UNRESOLVABLE: &str = "http://hookhost-proxy-test.invalid/hook";

/// What the fake proxy saw.
struct FakeProxy {
    /// `http://127.0.0.1:<port>`.
    url: String,
    /// Connections accepted.
    connections: Arc<AtomicUsize>,
    /// The request line of each request read.
    requests: Arc<Mutex<Vec<String>>>,
}

/// A fake HTTP proxy on loopback: counts connections and answers every
/// request `200 OK`, so a delivery sent through it looks successful.
fn fake_proxy() -> FakeProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (connections.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let text = read_request(&mut stream);
                seen.lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or("").to_string());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    FakeProxy {
        url,
        connections,
        requests,
    }
}

/// Every proxy variable a client might read, all pointing at `proxy`, and
/// nothing exempted from it.
fn proxy_env(proxy: &str) -> Vec<(&'static str, String)> {
    let mut envs: Vec<_> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, proxy.to_string()))
    .collect();
    envs.extend([("NO_PROXY", String::new()), ("no_proxy", String::new())]);
    envs
}

/// The admin API of a served `hookhost`, with the token of `data_dir`.
struct Admin {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Admin {
    fn new(srv: &Served, data_dir: &Path) -> Self {
        hookhost::delivery::http::install_tls();
        let token = std::fs::read_to_string(data_dir.join("admin-token")).unwrap();
        Self {
            rt: tokio::runtime::Runtime::new().unwrap(),
            // This test's own client must not go through a proxy either.
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: srv.url.clone(),
            token: token.trim().to_string(),
        }
    }

    /// `method` on `/v1{path}` with an optional JSON body; status and body.
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method, format!("{}/v1{path}", self.url))
                .bearer_auth(&self.token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("request reaches the server");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// Creates an endpoint at `url` for every event, sends one event and
    /// returns its delivery once its first attempt is recorded.
    fn deliver_once(&self, url: &str) -> Value {
        let (status, ep) = self.call(
            reqwest::Method::POST,
            "/endpoints",
            Some(json!({"url": url, "events": ["*"]})),
        );
        assert_eq!(status, 201, "{ep}");
        let (status, accepted) = self.call(
            reqwest::Method::POST,
            "/events",
            Some(json!({"type": "x.y", "data": {}})),
        );
        assert_eq!(status, 202, "{accepted}");
        assert_eq!(accepted["deliveries"], 1, "{accepted}");
        let event = accepted["id"].as_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, page) = self.call(
                reqwest::Method::GET,
                &format!("/deliveries?event={event}"),
                None,
            );
            if page["data"][0]["attempts"] == 1 {
                return page["data"][0].clone();
            }
            assert!(Instant::now() < deadline, "no attempt recorded: {page}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `hookhost serve` on `dir/data` (loopback allowed, one attempt then an
/// hour's wait) with `extra` flags and `envs`.
fn serve(dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut flags = vec![
        "--outbound-allowlist",
        "127.0.0.0/8",
        "--retry-schedule",
        "0s,1h",
    ];
    flags.extend_from_slice(extra);
    serve_with_env(&dir.join("data"), &dir.join("serve.log"), &flags, envs)
}

#[test]
fn proxy_environment_variables_are_ignored() {
    let proxy = fake_proxy();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut envs = proxy_env(&proxy.url);
    // Nor is an explicit proxy given through hookhost's own variable.
    envs.push(("HOOKHOST_OUTBOUND_PROXY", String::new()));
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let srv = serve(dir.path(), &[], &envs);
    let admin = Admin::new(&srv, &data);

    let delivery = admin.deliver_once(UNRESOLVABLE);
    // Sent directly: the name does not resolve. Through the proxy it would
    // have been a success.
    assert_eq!(delivery["status"], "pending", "{delivery}");
    assert!(delivery["last_status_code"].is_null(), "{delivery}");
    let error = delivery["last_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("connection failed") && error.contains("dns error"),
        "the name did not resolve: {delivery}"
    );
    assert_eq!(
        proxy.connections.load(Ordering::SeqCst),
        0,
        "the proxy was used: {:?}",
        proxy.requests.lock().unwrap()
    );
}

#[test]
fn the_explicit_outbound_proxy_is_used() {
    let proxy = fake_proxy();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let srv = serve(
        dir.path(),
        &["--outbound-proxy", &proxy.url],
        &[("NO_PROXY", ""), ("no_proxy", "")],
    );
    let admin = Admin::new(&srv, &data);

    let delivery = admin.deliver_once(UNRESOLVABLE);
    assert_eq!(delivery["status"], "success", "{delivery}");
    assert_eq!(delivery["last_status_code"], 200, "{delivery}");
    assert!(proxy.connections.load(Ordering::SeqCst) >= 1);
    // Asked of the proxy in absolute form: the name is the proxy's to resolve.
    let requests = proxy.requests.lock().unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with(&format!("POST {UNRESOLVABLE} "))),
        "{requests:?}"
    );
}
