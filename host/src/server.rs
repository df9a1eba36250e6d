//! Wires store, runtime, registry and API together and serves them.

use crate::api::{self, AppState};
use crate::config::{ADMIN_TOKEN_FILE, ServerConfig};
use crate::delivery::Outbound;
use crate::delivery::worker::DeliveryWorker;
use crate::inbound::Inbound;
use crate::registry::{Registry, RegistryError};
use crate::runtime::Runtime;
use crate::store::{Change, Committer, Store, StoreError};
use crate::tenancy::Tenancy;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// How often old invocation records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is unusable.
    #[error("data directory: {0}")]
    DataDir(#[from] std::io::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored modules or webhooks could not be loaded.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// wasmtime rejected the engine configuration.
    #[error("runtime: {0}")]
    Runtime(String),
}

/// Where the admin token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// Given in the configuration (`HOOKHOST_ADMIN_TOKEN`).
    Configured,
    /// Read from the data directory.
    Stored,
    /// Generated now and written to the data directory.
    Generated,
}

/// A server listening on its socket.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The admin listener's address, when the admin plane has its own.
    pub admin_addr: Option<SocketAddr>,
    /// Base of webhook URLs.
    pub public_url: String,
    /// The admin token.
    pub admin_token: String,
    /// Where the token came from.
    pub token_source: TokenSource,
    shutdown: Option<watch::Sender<bool>>,
    serving: Vec<JoinHandle<()>>,
    committer: JoinHandle<()>,
    pruner: JoinHandle<()>,
    watching: JoinHandle<()>,
    delivering: JoinHandle<()>,
    worker: Arc<DeliveryWorker>,
    store: Store,
}

impl RunningServer {
    /// Stops accepting requests, finishes those in flight, writes what is
    /// queued and releases the data directory.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(true);
        }
        self.finish().await
    }

    /// Serves until ctrl-c / SIGTERM, then shuts down like [`Self::shutdown`].
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await
    }

    async fn finish(self) -> std::io::Result<()> {
        for serving in self.serving {
            serving.await.map_err(std::io::Error::other)?;
        }
        self.pruner.abort();
        let _ = self.pruner.await;
        self.watching.abort();
        let _ = self.watching.await;
        // Attempts in flight are abandoned; their deliveries are still
        // queued and are sent again after the restart (at least once).
        self.delivering.abort();
        let _ = self.delivering.await;
        self.worker.stop().await;
        drop(self.worker);
        // The router (and with it every committer handle) is gone: the
        // committer drains its queue and stops.
        let _ = self.committer.await;
        self.store.flush().await.map_err(std::io::Error::other)?;
        // The data directory is released once the last handle on the store
        // is gone (a blocking write finishing, say): wait for it, briefly,
        // so that a restart in the same process finds the database free.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while (Arc::strong_count(&self.store) > 1 || self.store.handles() > 1)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

/// Opens the data directory, loads modules and webhooks, binds the socket
/// and starts serving.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)?;
    }
    // Record from the start: counters before the first scrape count too.
    crate::metrics::handle();
    let (admin_token, token_source) = admin_token(&config)?;
    // Private from the start: files created later (sled's blobs and
    // snapshots, uploads, artifacts) get 0600 too. Process-wide, like the
    // data directory's contents it protects.
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let store = crate::store::open(
        &config.data_dir,
        config.database_url.as_deref(),
        config.database_schema.as_deref(),
    )
    .await?;
    let runtime = Runtime::new(config.limits.clone(), config.data_dir.join("compiled"))
        .map_err(|e| StartError::Runtime(format!("{e:#}")))?;
    // Whatever an earlier version or a copy left readable.
    crate::store::restrict_permissions(&config.data_dir)?;
    // Handlers' outgoing calls: the deliveries' guard and allowlist, no
    // proxy (each call's time is bounded by its invocation's deadline).
    let guard = crate::delivery::guard::AddressGuard::new(&config.delivery.allowlist);
    runtime.set_egress(crate::runtime::Egress {
        client: crate::delivery::http::client(&guard, config.limits.timeout, None),
        guard,
    });
    let registry = Arc::new(Registry::open(store.clone(), Arc::new(runtime)).await?);
    let tenancy = Arc::new(
        Tenancy::open(store.clone(), &admin_token)
            .await
            .map_err(|e| StartError::Runtime(format!("loading workspaces: {e}")))?,
    );
    let (committer, committer_task) = Committer::spawn(store.clone());
    let outbound = Arc::new(Outbound::new(store.clone(), config.delivery.clone()));
    outbound.set_registry(registry.clone());
    let worker = DeliveryWorker::new(outbound.clone());
    let delivering = tokio::spawn(worker.clone().run());
    let watching = tokio::spawn(watch_changes(
        store.clone(),
        registry.clone(),
        outbound.clone(),
        tenancy.clone(),
    ));
    let worker_handle = worker.clone();

    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let admin_listener = match config.admin_listen {
        Some(a) => Some(tokio::net::TcpListener::bind(a).await?),
        None => None,
    };
    let admin_addr = admin_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    // The portal is served where `/v1` is: the admin listener when there
    // is one.
    let portal_url = config
        .portal_url
        .clone()
        .or_else(|| admin_addr.map(|a| format!("http://{a}")))
        .unwrap_or_else(|| public_url.clone())
        .trim_end_matches('/')
        .to_string();

    let state = AppState {
        registry: registry.clone(),
        inbound: Inbound::new(
            registry,
            committer,
            tenancy.clone(),
            public_url.clone().into(),
        ),
        outbound,
        worker,
        admin_token: admin_token.clone().into(),
        public_url: public_url.clone().into(),
        max_module_bytes: config.max_module_bytes,
        metrics_token: config.metrics_token.as_deref().map(Arc::from),
        ui_sessions: Default::default(),
        body_timeout: config.body_timeout,
        tenancy,
        portal_url: portal_url.into(),
        frame_ancestors: config.portal_frame_ancestors.clone().into(),
    };
    let (shutdown, stop) = watch::channel(false);
    let limits = ConnLimits {
        header_timeout: config.header_timeout,
        max_connections: config.max_connections,
    };
    let serving = match admin_listener {
        None => vec![tokio::spawn(serve_http(
            listener,
            api::app(state),
            limits,
            stop,
        ))],
        Some(admin) => vec![
            tokio::spawn(serve_http(
                listener,
                api::public_app(state.clone()),
                limits,
                stop.clone(),
            )),
            tokio::spawn(serve_http(admin, api::admin_app(state), limits, stop)),
        ],
    };
    let pruner = tokio::spawn(prune(
        store.clone(),
        config.invocations_kept,
        config.retention,
    ));
    tracing::info!(%addr, ?admin_addr, %public_url, data_dir = %config.data_dir.display(), "hookhost listening");
    Ok(RunningServer {
        addr,
        admin_addr,
        public_url,
        admin_token,
        token_source,
        shutdown: Some(shutdown),
        serving,
        committer: committer_task,
        pruner,
        watching,
        delivering,
        worker: worker_handle,
        store,
    })
}

/// Limits of every client connection.
#[derive(Debug, Clone, Copy)]
struct ConnLimits {
    header_timeout: Duration,
    max_connections: usize,
}

/// Serves `app` on `listener` until `stop` turns true, then lets the
/// requests in flight finish. Unlike a bare `axum::serve`, every
/// connection has a header-read timeout (which is also the idle keep-alive
/// timeout: hyper's header timer runs while it waits for the next request),
/// a cap on request headers, and the listener holds at most
/// `max_connections` at once (more wait in the kernel's backlog), so slow
/// or idle clients cannot exhaust the server.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use tower::ServiceExt;

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(crate::config::MAX_REQUEST_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout)
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let stopped = async move {
        // The guard `wait_for` returns is dropped at once.
        let _ = stop.wait_for(|s| *s).await.is_ok();
    };
    tokio::pin!(stopped);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = &mut stopped => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            hyper_util::service::TowerToHyperService::new(app.clone().map_request(
                |r: http::Request<hyper::body::Incoming>| r.map(axum::body::Body::new),
            ));
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    // Every connection task has ended and dropped its share of the state
    // (the store among it) before this returns.
    while connections.join_next().await.is_some() {}
}

/// Every node re-reads the registry this often, in case an announced
/// change was missed.
const FULL_REFRESH_EVERY: Duration = Duration::from_secs(10);

/// Applies other nodes' changes (modules, webhooks, endpoints) to this
/// node's caches as the store announces them, and re-reads everything every
/// [`FULL_REFRESH_EVERY`] as a fallback. Returns at once for a store only
/// this process uses.
async fn watch_changes(
    store: Store,
    registry: Arc<Registry>,
    outbound: Arc<Outbound>,
    tenancy: Arc<Tenancy>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let Some(mut changes) = store.changes() else {
        return;
    };
    let mut tick = tokio::time::interval(FULL_REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let change = tokio::select! {
            c = changes.recv() => match c {
                Ok(c) => c,
                Err(RecvError::Lagged(_)) => Change::All,
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => Change::All,
        };
        if matches!(change, Change::Endpoint(_) | Change::All) {
            outbound.endpoints_changed();
        }
        if matches!(change, Change::Meta | Change::All)
            && let Err(e) = tenancy.reload().await
        {
            tracing::warn!(error = %e, "reloading workspaces failed");
        }
        if let Err(e) = registry.refresh(&change).await {
            tracing::warn!(?change, error = %e, "applying a change from another node failed");
        }
    }
}

/// Prunes the invocation log per webhook and removes finished records
/// older than the retention period, every [`PRUNE_EVERY`] (or sooner with
/// a short retention).
async fn prune(store: Store, keep: usize, retention: Duration) {
    let every = PRUNE_EVERY.min((retention / 3).max(Duration::from_secs(1)));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let work = async {
            let pruned = store.prune_all_invocations(keep).await?;
            let expired = store.remove_expired(cutoff).await?;
            crate::store::StoreResult::Ok((pruned, expired))
        };
        match work.await {
            Ok((pruned, expired)) if pruned + expired > 0 => {
                tracing::debug!(pruned, expired, "pruned and expired old records")
            }
            Err(e) => tracing::warn!(error = %e, "removing old records failed"),
            _ => {}
        }
    }
}

/// The configured token, else the stored one, else a new one written to the
/// data directory (readable by the owner only).
fn admin_token(config: &ServerConfig) -> std::io::Result<(String, TokenSource)> {
    if let Some(t) = config.admin_token.as_ref().filter(|t| !t.is_empty()) {
        return Ok((t.clone(), TokenSource::Configured));
    }
    let path = config.data_dir.join(ADMIN_TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Ok((t, TokenSource::Stored));
        }
    }
    let token = generate_token()?;
    write_private(&path, &token)?;
    Ok((token, TokenSource::Generated))
}

fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!("hh_{}", hex::encode(bytes)))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
