//! Harness of the end-to-end tests: a real hookhost server on an ephemeral
//! loopback port with its data in a temp dir, real components, real HTTP.

pub mod guests;
pub mod receiver;

use hookhost::config::ServerConfig;
use hookhost::server::{self, RunningServer};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::path::Path;

pub use guests::{component, example};

/// A running server and a client for it.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The admin token.
    pub token: String,
    /// Shared HTTP client.
    pub http: reqwest::Client,
    running: Option<RunningServer>,
    /// The PostgreSQL schema it stores in, when the run uses PostgreSQL.
    schema: Option<PgSchema>,
}

/// `HOOKHOST_TEST_BACKEND=postgres` runs the servers of these tests on
/// PostgreSQL (a schema each) instead of sled: `scripts/test.sh` runs the
/// API suites both ways.
fn test_backend_is_postgres() -> bool {
    std::env::var("HOOKHOST_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// Starts a server on `127.0.0.1:0` with its data in `dir`, after `tweak`
/// has adjusted the default configuration.
pub async fn start_with(dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    hookhost::delivery::http::install_tls();
    let mut config = ServerConfig::new(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    tweak(&mut config);
    let schema = if test_backend_is_postgres() && config.database_url.is_none() {
        let schema = PgSchema::new().await;
        schema.configure(&mut config);
        Some(schema)
    } else {
        None
    };
    let running = server::start(config).await.expect("server starts");
    TestServer {
        url: format!("http://{}", running.addr),
        token: running.admin_token.clone(),
        http: reqwest::Client::new(),
        running: Some(running),
        schema,
    }
}

/// Starts a server with the default configuration.
pub async fn start(dir: &Path) -> TestServer {
    start_with(dir, |_| {}).await
}

/// Creates an endpoint from `body`, asserting `201`; returns it.
pub async fn endpoint(srv: &TestServer, body: Value) -> Value {
    let (status, ep) = srv
        .send(srv.admin(Method::POST, "/endpoints").json(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    ep
}

/// Sends an event (`POST /v1/events`), asserting `202`; returns the answer.
pub async fn send_event(srv: &TestServer, body: Value) -> Value {
    let (status, accepted) = srv
        .send(srv.admin(Method::POST, "/events").json(&body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    accepted
}

/// Checks `r`'s Standard Webhooks signature with the independent
/// `standardwebhooks` crate (not with hookhost's code); panics if it fails.
pub fn verify_standard(secret: &str, r: &receiver::Received) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    let mut headers = http::HeaderMap::new();
    for (k, v) in r.headers.iter() {
        headers.insert(
            http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    wh.verify(&r.body, &headers)
        .expect("the standardwebhooks crate accepts the signature");
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `within`.
pub async fn wait_until<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestServer {
    /// Whether this server stores in PostgreSQL (`HOOKHOST_TEST_BACKEND`).
    pub fn on_postgres(&self) -> bool {
        self.schema.is_some()
    }

    /// Whether the store behind this server (with its data in `dir`) holds
    /// the component bytes of hash `sha256`: a file under `modules/` on
    /// sled, a row on PostgreSQL.
    pub async fn holds_code(&self, dir: &Path, sha256: &str) -> bool {
        use hookhost::store::Backend;
        match &self.schema {
            None => dir.join("modules").join(format!("{sha256}.wasm")).exists(),
            Some(schema) => hookhost::store::Postgres::connect(&schema.url, Some(&schema.name))
                .await
                .expect("PostgreSQL answers")
                .module_bytes(sha256)
                .await
                .expect("module bytes read")
                .is_some(),
        }
    }

    /// An admin API request (`path` below `/v1`) with the token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/v1{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// Sends `req` and returns the status and the JSON body (`null` if none).
    pub async fn send(&self, req: RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// Uploads `bytes` as module `name`; returns status and body.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.send(
            self.admin(Method::POST, "/modules")
                .query(&[("name", name)])
                .body(bytes),
        )
        .await
    }

    /// Uploads the component of `package` as module `package`, asserting success.
    pub async fn upload_component(&self, package: &str) {
        let (status, body) = self.upload(package, component(package)).await;
        assert!(status.is_success(), "upload of {package}: {status} {body}");
    }

    /// Registers a webhook for `module` with `payload`; returns its JSON.
    pub async fn create_webhook(&self, module: &str, payload: Value) -> Value {
        self.create_webhook_from(json!({"module": module, "payload": payload}))
            .await
    }

    /// Registers the webhook `body` describes, asserting `201`; returns
    /// its JSON.
    pub async fn create_webhook_from(&self, body: Value) -> Value {
        let (status, hook) = self
            .send(self.admin(Method::POST, "/webhooks").json(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{hook}");
        hook
    }

    /// The invocation log of webhook `webhook_id` once it holds at least `n`
    /// entries (it is written in the background, after the response).
    /// Polls until then; panics with the last body after 10 s.
    pub async fn invocations_until(&self, webhook_id: &str, n: usize) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, log) = self
                .send(self.admin(Method::GET, &format!("/webhooks/{webhook_id}/invocations")))
                .await;
            if status.is_success() && log["data"].as_array().is_some_and(|d| d.len() >= n) {
                return log;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the invocation log of {webhook_id} never reached {n} entries: {status} {log}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until no delivery is queued (`hookhost_delivery_queue_depth 0`
    /// in `GET /metrics`). A queue entry goes only when its attempt is
    /// recorded, after the receiver answered: once the queue is empty every
    /// delivery that exists has been attempted and nothing more is on its
    /// way. Panics with the last scrape after 10 s.
    pub async fn wait_queue_empty(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let resp = self
                .http
                .get(format!("{}/metrics", self.url))
                .send()
                .await
                .expect("request reaches the server");
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            if status.is_success()
                && text
                    .lines()
                    .any(|l| l.trim_end() == "hookhost_delivery_queue_depth 0")
            {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the delivery queue never emptied: {status}\n{text}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stops the server and releases its data directory.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
        if let Some(schema) = self.schema.take() {
            schema.drop_now().await;
        }
    }
}

impl Drop for TestServer {
    /// A test that ends without [`TestServer::stop`] still drops its
    /// PostgreSQL schema (on a thread of its own: this may run inside the
    /// test's runtime).
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(schema.drop_now());
            })
            .join();
        }
    }
}

/// The PostgreSQL the tests use: `HOOKHOST_TEST_DATABASE_URL` if set, else
/// the server on 127.0.0.1:5432 (database `test`, trust authentication) if
/// one answers. `scripts/test.sh` starts a throwaway cluster and sets the
/// variable when neither is there. Panics otherwise: PostgreSQL tests are
/// never skipped.
pub fn test_database_url() -> String {
    if let Ok(url) = std::env::var("HOOKHOST_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return url;
    }
    let addr: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok() {
        return "postgres://postgres@127.0.0.1:5432/test".into();
    }
    panic!(
        "no PostgreSQL for the tests: set HOOKHOST_TEST_DATABASE_URL, or run scripts/test.sh \
         (it finds or starts one)"
    );
}

/// A PostgreSQL schema of its own for one test, so runs never interfere;
/// [`PgSchema::drop_now`] removes it at the end.
pub struct PgSchema {
    /// Connection string.
    pub url: String,
    /// Schema name.
    pub name: String,
}

impl PgSchema {
    /// A new, empty schema (`hh_e2e_<pid>_<random>`), migrated.
    pub async fn new() -> Self {
        let url = test_database_url();
        let name = format!("hh_e2e_{}_{:08x}", std::process::id(), fastrand::u32(..));
        hookhost::store::Postgres::connect(&url, Some(&name))
            .await
            .expect("PostgreSQL answers and migrates");
        Self { url, name }
    }

    /// Points `config` at this schema.
    pub fn configure(&self, config: &mut ServerConfig) {
        config.database_url = Some(self.url.clone());
        config.database_schema = Some(self.name.clone());
    }

    /// Drops the schema and everything in it.
    pub async fn drop_now(self) {
        let pg = hookhost::store::Postgres::connect(&self.url, Some(&self.name))
            .await
            .expect("PostgreSQL answers");
        pg.drop_schema().await.expect("schema dropped");
    }
}
