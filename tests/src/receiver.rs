//! A real HTTP receiver on loopback for outbound tests: records every
//! request and answers from a script (default `200 ok`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    /// Request method.
    pub method: String,
    /// Path and query, e.g. `/hook?x=1`.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("deliveries are JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: String,
    /// Wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// `status` with a short body.
    pub fn status(status: u16) -> Self {
        Self::body(status, format!("reply {status}"))
    }

    /// `status` with `body`.
    pub fn body(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer, after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    active: AtomicUsize,
    peak: AtomicUsize,
}

/// A receiver listening on `127.0.0.1`.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// `host:port` it listens on.
    pub fn authority(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        rest.split('/').next().unwrap_or(rest).to_string()
    }

    /// Answers the next requests with `replies`, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// Answers with `reply` once the script is used up.
    pub fn otherwise(&self, reply: Reply) {
        *self.shared.default.lock().unwrap() = Some(reply);
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Most requests that arrived within any one second.
    pub fn busiest_second(&self) -> usize {
        let mut at: Vec<_> = self.received().iter().map(|m| m.at).collect();
        at.sort();
        (0..at.len())
            .map(|i| {
                at[i..]
                    .iter()
                    .take_while(|t| **t - at[i] < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    /// Most requests in progress at once.
    pub fn peak_concurrency(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} requests, got {} after {timeout:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.active.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak.fetch_max(now, Ordering::SeqCst);
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| shared.default.lock().unwrap().clone())
        .unwrap_or_else(|| Reply::status(200));
    shared.received.lock().unwrap().push(Received {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.to_string()),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    tokio::time::sleep(reply.delay).await;
    shared.active.fetch_sub(1, Ordering::SeqCst);
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}
