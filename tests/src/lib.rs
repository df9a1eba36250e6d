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
}

/// Starts a server on `127.0.0.1:0` with its data in `dir`, after `tweak`
/// has adjusted the default configuration.
pub async fn start_with(dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    hookhost::delivery::http::install_tls();
    let mut config = ServerConfig::new(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    tweak(&mut config);
    let running = server::start(config).await.expect("server starts");
    TestServer {
        url: format!("http://{}", running.addr),
        token: running.admin_token.clone(),
        http: reqwest::Client::new(),
        running: Some(running),
    }
}

/// Starts a server with the default configuration.
pub async fn start(dir: &Path) -> TestServer {
    start_with(dir, |_| {}).await
}

impl TestServer {
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
        let (status, body) = self
            .send(
                self.admin(Method::POST, "/webhooks")
                    .json(&json!({"module": module, "payload": payload})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Stops the server and releases its data directory.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }
}
