//! The URL registry: modules and webhooks, kept in memory in front of the
//! store so that ingress never reads it. This node's changes go through
//! here; other nodes' changes arrive through [`Registry::refresh`].

use crate::config::MAX_PAYLOAD_BYTES;
use crate::dedup::DedupConfig;
use crate::runtime::{CompileError, CompiledHandler, HostRule, Runtime, parse_outbound_hosts};
use crate::store::{Change, ModuleRecord, Store, StoreError, WebhookRecord, module_key};
use crate::verify::{Verifier, VerifyConfig};
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Errors of registry operations; the API maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such module or webhook.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The workspace is at one of its quotas.
    #[error("{0}")]
    Quota(String),
    /// The uploaded component is not a usable handler.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, RegistryError>;

/// A module with its compiled handler.
pub struct LoadedModule {
    /// The stored record.
    pub record: ModuleRecord,
    /// Ready to instantiate.
    pub handler: Arc<CompiledHandler>,
}

/// A webhook as ingress needs it.
pub struct LiveWebhook {
    /// The stored record.
    pub record: WebhookRecord,
    /// The payload as JSON text, serialized once here rather than per request.
    pub payload_json: Option<String>,
    /// The signature check, keys decoded once here.
    pub verifier: Option<Verifier>,
    /// Hosts its handler may call, parsed once here.
    pub outbound_hosts: Arc<[HostRule]>,
}

impl LiveWebhook {
    fn new(record: WebhookRecord) -> Self {
        let payload_json = record.payload.as_ref().map(|p| p.to_string());
        let verifier = record.verify.as_ref().map(Verifier::new);
        // Checked when stored; an entry that no longer parses (written by
        // another version) allows nothing.
        let outbound_hosts = record
            .outbound_hosts
            .iter()
            .filter_map(|h| HostRule::parse(h).ok())
            .collect();
        Self {
            record,
            payload_json,
            verifier,
            outbound_hosts,
        }
    }
}

/// Fields of a new webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The workspace it belongs to.
    pub workspace_id: String,
    /// The workspace's webhook quota, if any.
    pub max_webhooks: Option<usize>,
    /// Module name.
    pub module: String,
    /// Context payload.
    pub payload: Option<serde_json::Value>,
    /// Free text.
    pub description: String,
    /// Start enabled.
    pub enabled: bool,
    /// Signature check (checked by [`VerifyConfig::from_json`]).
    pub verify: Option<VerifyConfig>,
    /// Deduplication (checked by [`DedupConfig::from_json`]).
    pub dedup: Option<DedupConfig>,
    /// Keep requests and responses for replay.
    pub capture: bool,
    /// Hosts the handler may call (checked by [`parse_outbound_hosts`]).
    pub outbound_hosts: Vec<String>,
    /// Reuse instances between its calls.
    pub reuse_instances: bool,
}

/// A partial update of a webhook; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// New module name.
    pub module: Option<String>,
    /// New payload; `Some(None)` removes it.
    pub payload: Option<Option<serde_json::Value>>,
    /// New description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New signature check; `Some(None)` removes it.
    pub verify: Option<Option<VerifyConfig>>,
    /// New deduplication; `Some(None)` removes it.
    pub dedup: Option<Option<DedupConfig>>,
    /// Turn capture on or off.
    pub capture: Option<bool>,
    /// New outbound hosts.
    pub outbound_hosts: Option<Vec<String>>,
    /// Turn instance reuse on or off.
    pub reuse_instances: Option<bool>,
}

/// Modules and webhooks, persisted in the store and cached in memory.
pub struct Registry {
    store: Store,
    runtime: Arc<Runtime>,
    modules: RwLock<HashMap<String, Arc<LoadedModule>>>,
    webhooks: RwLock<HashMap<String, Arc<LiveWebhook>>>,
    /// Serializes admin changes so checks ("is this module in use?") and the
    /// writes that depend on them cannot interleave.
    changes: tokio::sync::Mutex<()>,
    /// Uploads compiling at once (each takes a core for up to seconds).
    compiling: tokio::sync::Semaphore,
    /// Follow-up webhooks registered by running invocations and not yet
    /// committed, per workspace: counted against its webhook quota.
    follow_ups: std::sync::Mutex<HashMap<String, usize>>,
}

/// Uploads compiled at once; further uploads wait their turn.
const COMPILE_CONCURRENCY: usize = 2;

impl Registry {
    /// Loads every module (from the compiled-artifact cache when possible)
    /// and every webhook. A module that no longer loads is logged and left
    /// out; its webhooks answer 503 until it is uploaded again.
    pub async fn open(store: Store, runtime: Arc<Runtime>) -> Result<Self> {
        let records = store.list_modules().await?;
        let loader = {
            let (store, runtime) = (store.clone(), runtime.clone());
            let handle = tokio::runtime::Handle::current();
            move || {
                let mut by_sha: HashMap<String, Arc<CompiledHandler>> = HashMap::new();
                let mut modules = HashMap::new();
                for record in records {
                    let handler = match by_sha.get(&record.sha256) {
                        Some(h) => h.clone(),
                        None => {
                            let wasm = || match handle.block_on(store.module_bytes(&record.sha256))
                            {
                                Ok(Some(bytes)) => Ok(bytes),
                                Ok(None) => {
                                    Err("the module's bytes are missing from the store".to_string())
                                }
                                Err(e) => Err(e.to_string()),
                            };
                            match runtime.load(&record.sha256, wasm) {
                                Ok(h) => {
                                    let h = Arc::new(h);
                                    by_sha.insert(record.sha256.clone(), h.clone());
                                    h
                                }
                                Err(e) => {
                                    tracing::error!(module = %record.name, error = %e, "module does not load");
                                    continue;
                                }
                            }
                        }
                    };
                    modules.insert(record.key(), Arc::new(LoadedModule { record, handler }));
                }
                modules
            }
        };
        let modules = tokio::task::spawn_blocking(loader)
            .await
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        let webhooks = store
            .list_webhooks()
            .await?
            .into_iter()
            .map(|w| (w.id.clone(), Arc::new(LiveWebhook::new(w))))
            .collect();
        Ok(Self {
            store,
            runtime,
            modules: RwLock::new(modules),
            webhooks: RwLock::new(webhooks),
            changes: tokio::sync::Mutex::new(()),
            compiling: tokio::sync::Semaphore::new(COMPILE_CONCURRENCY),
            follow_ups: Default::default(),
        })
    }

    /// The store behind the registry.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The runtime running the handlers.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The webhook with this id (the ingress fast path: one map lookup).
    pub fn webhook(&self, id: &str) -> Option<Arc<LiveWebhook>> {
        read(&self.webhooks).get(id).cloned()
    }

    /// The module called `name` in workspace `ws`.
    pub fn module(&self, ws: &str, name: &str) -> Option<Arc<LoadedModule>> {
        // Only a valid name: `ws_x/name` must never reach another
        // workspace's key through the default workspace's bare keys.
        validate_module_name(name).ok()?;
        read(&self.modules).get(&module_key(ws, name)).cloned()
    }

    /// How many modules there are, in every workspace.
    pub fn module_count(&self) -> usize {
        read(&self.modules).len()
    }

    /// The module a webhook runs.
    pub fn module_of(&self, webhook: &WebhookRecord) -> Option<Arc<LoadedModule>> {
        self.module(&webhook.workspace_id, &webhook.module)
    }

    /// Every module of workspace `ws`, by name.
    pub fn modules(&self, ws: &str) -> Vec<Arc<LoadedModule>> {
        let mut all: Vec<_> = read(&self.modules)
            .values()
            .filter(|m| m.record.workspace_id == ws)
            .cloned()
            .collect();
        all.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        all
    }

    /// Every webhook, oldest first.
    pub fn webhooks(&self) -> Vec<Arc<LiveWebhook>> {
        let mut all: Vec<_> = read(&self.webhooks).values().cloned().collect();
        all.sort_by(|a, b| {
            (a.record.created_at, &a.record.id).cmp(&(b.record.created_at, &b.record.id))
        });
        all
    }

    /// Every webhook of workspace `ws`, oldest first.
    pub fn webhooks_of(&self, ws: &str) -> Vec<Arc<LiveWebhook>> {
        let mut all = self.webhooks();
        all.retain(|w| w.record.workspace_id == ws);
        all
    }

    /// How many modules and webhooks workspace `ws` has.
    pub fn counts(&self, ws: &str) -> (usize, usize) {
        let modules = read(&self.modules)
            .values()
            .filter(|m| m.record.workspace_id == ws)
            .count();
        let webhooks = read(&self.webhooks)
            .values()
            .filter(|w| w.record.workspace_id == ws)
            .count();
        (modules, webhooks)
    }

    /// Ids of the webhooks of workspace `ws` handled by its module `name`
    /// (none for a name that is not a module name).
    pub fn module_users(&self, ws: &str, name: &str) -> Vec<String> {
        let mut ids: Vec<_> = read(&self.webhooks)
            .values()
            .filter(|w| w.record.workspace_id == ws && w.record.module == name)
            .map(|w| w.record.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Validates, compiles and stores a component as module `name`,
    /// replacing the code of an existing module of that name (its webhooks
    /// run the new code from the next request). Returns the record and
    /// whether the name is new.
    pub async fn upload_module(
        &self,
        ws: &str,
        name: &str,
        bytes: bytes::Bytes,
        max_modules: Option<usize>,
        transform_users: usize,
    ) -> Result<(ModuleRecord, bool)> {
        validate_module_name(name)?;
        // Refused before anything is compiled or stored (checked again
        // under the lock below).
        let quota_refusal = |max| {
            RegistryError::Quota(format!(
                "workspace {ws} has reached its quota of {max} module(s)"
            ))
        };
        if let Some(max) = max_modules
            && self.module(ws, name).is_none()
            && self.counts(ws).0 >= max
        {
            return Err(quota_refusal(max));
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        // Compile outside the change lock and off the async workers: large
        // components take seconds and must not stall other requests.
        let existing = read(&self.modules)
            .values()
            .find(|m| m.record.sha256 == sha256)
            .map(|m| m.handler.clone());
        let handler = match existing {
            Some(h) => h,
            None => {
                let (runtime, sha) = (self.runtime.clone(), sha256.clone());
                let _turn = self
                    .compiling
                    .acquire()
                    .await
                    .map_err(|e| CompileError::Internal(e.to_string()))?;
                let compiled = {
                    let bytes = bytes.clone();
                    tokio::task::spawn_blocking(move || runtime.compile(&bytes, &sha))
                        .await
                        .map_err(|e| CompileError::Internal(e.to_string()))??
                };
                Arc::new(compiled)
            }
        };
        // A module in use keeps its kind: webhooks run handlers, endpoints
        // run transforms.
        if let Some(previous) = self.module(ws, name)
            && previous.handler.kind() != handler.kind()
        {
            let webhooks = self.module_users(ws, name).len();
            if webhooks > 0 || transform_users > 0 {
                return Err(RegistryError::Conflict(format!(
                    "module {name:?} is a {:?} used by {webhooks} webhook(s) and \
                     {transform_users} endpoint(s); a component of another kind cannot replace it",
                    previous.handler.kind()
                )));
            }
        }
        self.store.put_module_bytes(&sha256, &bytes).await?;

        let _guard = self.changes.lock().await;
        let now = Utc::now();
        let previous = self.module(ws, name);
        if let Some(max) = max_modules
            && previous.is_none()
            && self.counts(ws).0 >= max
        {
            drop(_guard);
            self.forget_code_if_unused(&sha256).await?;
            return Err(quota_refusal(max));
        }
        let record = ModuleRecord {
            workspace_id: ws.to_string(),
            name: name.to_string(),
            sha256,
            size: bytes.len() as u64,
            created_at: previous.as_ref().map_or(now, |p| p.record.created_at),
            updated_at: now,
        };
        self.store.put_module(&record).await?;
        write(&self.modules).insert(
            record.key(),
            Arc::new(LoadedModule {
                record: record.clone(),
                handler,
            }),
        );
        if let Some(previous) = &previous {
            self.forget_code_if_unused(&previous.record.sha256).await?;
        }
        Ok((record, previous.is_none()))
    }

    /// Deletes module `name` of workspace `ws`; refused while a webhook
    /// uses it.
    pub async fn delete_module(&self, ws: &str, name: &str) -> Result<()> {
        // Not a module name: no module of that name (404, as for `module`).
        if validate_module_name(name).is_err() {
            return Err(not_found("module", name));
        }
        let _guard = self.changes.lock().await;
        let module = self
            .module(ws, name)
            .ok_or_else(|| not_found("module", name))?;
        let users = self.module_users(ws, name);
        if !users.is_empty() {
            return Err(RegistryError::Conflict(format!(
                "module {name:?} is used by {} webhook(s): {}; delete them or move them to another module first",
                users.len(),
                users.join(", ")
            )));
        }
        let key = module_key(ws, name);
        self.store.delete_module(&key).await?;
        write(&self.modules).remove(&key);
        self.forget_code_if_unused(&module.record.sha256).await?;
        Ok(())
    }

    /// Removes the stored bytes and the compiled artifact of `sha256` when
    /// no module uses that code any more.
    async fn forget_code_if_unused(&self, sha256: &str) -> Result<()> {
        if self.store.remove_module_bytes_if_unused(sha256).await? {
            self.runtime.remove_artifact(sha256);
        }
        Ok(())
    }

    /// Registers a webhook with a new unguessable id.
    pub async fn create_webhook(&self, new: NewWebhook) -> Result<Arc<LiveWebhook>> {
        check_payload(new.payload.as_ref())?;
        parse_outbound_hosts(&new.outbound_hosts).map_err(RegistryError::Invalid)?;
        let _guard = self.changes.lock().await;
        self.require_module(&new.workspace_id, &new.module)?;
        if let Some(max) = new.max_webhooks
            && self.counts(&new.workspace_id).1 >= max
        {
            return Err(RegistryError::Quota(format!(
                "workspace {} has reached its quota of {max} webhook(s)",
                new.workspace_id
            )));
        }
        let now = Utc::now();
        let record = WebhookRecord {
            capture: new.capture,
            workspace_id: new.workspace_id,
            // uuid v4: 122 random bits from the OS generator.
            id: new_webhook_id(),
            module: new.module,
            payload: new.payload,
            description: new.description,
            enabled: new.enabled,
            verify: new.verify,
            dedup: new.dedup,
            outbound_hosts: new.outbound_hosts,
            reuse_instances: new.reuse_instances,
            created_at: now,
            updated_at: now,
        };
        self.store.put_webhook(&record).await?;
        let live = Arc::new(LiveWebhook::new(record));
        write(&self.webhooks).insert(live.record.id.clone(), live.clone());
        Ok(live)
    }

    /// Applies `patch` to webhook `id`.
    pub async fn update_webhook(&self, id: &str, patch: WebhookPatch) -> Result<Arc<LiveWebhook>> {
        if let Some(payload) = &patch.payload {
            check_payload(payload.as_ref())?;
        }
        if let Some(hosts) = &patch.outbound_hosts {
            parse_outbound_hosts(hosts).map_err(RegistryError::Invalid)?;
        }
        let _guard = self.changes.lock().await;
        let mut record = self
            .webhook(id)
            .ok_or_else(|| not_found("webhook", id))?
            .record
            .clone();
        if let Some(module) = patch.module {
            self.require_module(&record.workspace_id, &module)?;
            record.module = module;
        }
        if let Some(payload) = patch.payload {
            record.payload = payload;
        }
        if let Some(description) = patch.description {
            record.description = description;
        }
        if let Some(enabled) = patch.enabled {
            record.enabled = enabled;
        }
        if let Some(verify) = patch.verify {
            record.verify = verify;
        }
        if let Some(dedup) = patch.dedup {
            record.dedup = dedup;
        }
        if let Some(capture) = patch.capture {
            record.capture = capture;
        }
        if let Some(hosts) = patch.outbound_hosts {
            record.outbound_hosts = hosts;
        }
        if let Some(reuse) = patch.reuse_instances {
            record.reuse_instances = reuse;
        }
        record.updated_at = Utc::now();
        self.store.put_webhook(&record).await?;
        let live = Arc::new(LiveWebhook::new(record));
        write(&self.webhooks).insert(id.to_string(), live.clone());
        // Whatever changed, later calls start from fresh instances.
        self.runtime.forget_instances(id);
        Ok(live)
    }

    /// Checks that a handler of workspace `ws` may register a follow-up
    /// webhook for `module` with a payload of `payload_bytes` bytes, within
    /// the workspace's quota `max_webhooks`, and reserves a place under it
    /// until [`Registry::release_follow_ups`] (after the invocation's
    /// commit): concurrent invocations cannot together go over the quota.
    /// Nothing is stored here.
    pub fn reserve_follow_up(
        &self,
        ws: &str,
        module: &str,
        payload_bytes: usize,
        max_webhooks: Option<usize>,
    ) -> std::result::Result<(), String> {
        self.require_module(ws, module).map_err(|e| e.to_string())?;
        if payload_bytes > MAX_PAYLOAD_BYTES {
            return Err(format!(
                "payload of {payload_bytes} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes"
            ));
        }
        let mut reserved = lock(&self.follow_ups);
        let held = reserved.get(ws).copied().unwrap_or(0);
        if let Some(max) = max_webhooks
            && self.counts(ws).1 + held >= max
        {
            return Err(format!(
                "workspace {ws} has reached its quota of {max} webhook(s)"
            ));
        }
        *reserved.entry(ws.to_string()).or_default() += 1;
        Ok(())
    }

    /// Gives back `n` places reserved by [`Registry::reserve_follow_up`].
    pub fn release_follow_ups(&self, ws: &str, n: usize) {
        let mut reserved = lock(&self.follow_ups);
        if let Some(held) = reserved.get_mut(ws) {
            *held = held.saturating_sub(n);
            if *held == 0 {
                reserved.remove(ws);
            }
        }
    }

    /// Serves webhooks a handler registered, once they are committed.
    pub fn adopt_webhooks(&self, records: Vec<WebhookRecord>) {
        let mut webhooks = write(&self.webhooks);
        for record in records {
            webhooks.insert(record.id.clone(), Arc::new(LiveWebhook::new(record)));
        }
    }

    /// Deletes webhook `id` and its invocation log. Its URL answers 404 from now on.
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        let _guard = self.changes.lock().await;
        if self.webhook(id).is_none() {
            return Err(not_found("webhook", id));
        }
        self.store.delete_webhook(id).await?;
        write(&self.webhooks).remove(id);
        self.runtime.forget_instances(id);
        Ok(())
    }

    /// Brings the cache up to date with a change another node made to the
    /// store (or, for [`Change::All`], with everything). Serialized with
    /// this node's own changes, so a stale read never overwrites a newer
    /// local write.
    pub async fn refresh(&self, change: &Change) -> Result<()> {
        let _guard = self.changes.lock().await;
        match change {
            Change::Module(name) => self.refresh_module(name).await?,
            Change::Webhook(id) => match self.store.get_webhook(id).await? {
                Some(w) => {
                    let unchanged = self
                        .webhook(id)
                        .is_some_and(|live| live.record.updated_at == w.updated_at);
                    if !unchanged {
                        write(&self.webhooks).insert(id.clone(), Arc::new(LiveWebhook::new(w)));
                        self.runtime.forget_instances(id);
                    }
                }
                None => {
                    write(&self.webhooks).remove(id);
                    self.runtime.forget_instances(id);
                }
            },
            Change::All => {
                let stored = self.store.list_webhooks().await?;
                let mut webhooks = write(&self.webhooks);
                let fresh: HashMap<_, _> = stored
                    .into_iter()
                    .map(|w| match webhooks.get(&w.id) {
                        // Unchanged: keep the decoded one.
                        Some(live) if live.record.updated_at == w.updated_at => {
                            (w.id.clone(), live.clone())
                        }
                        _ => (w.id.clone(), Arc::new(LiveWebhook::new(w))),
                    })
                    .collect();
                *webhooks = fresh;
            }
            Change::Endpoint(_) | Change::Meta => {}
        }
        if *change == Change::All {
            let names: Vec<String> = self
                .store
                .list_modules()
                .await?
                .into_iter()
                .map(|m| m.key())
                .chain(read(&self.modules).keys().cloned())
                .collect();
            // One module that no longer loads does not keep the others
            // stale.
            for name in names {
                if let Err(e) = self.refresh_module(&name).await {
                    tracing::warn!(module = %name, error = %e, "refreshing a module failed");
                }
            }
        }
        Ok(())
    }

    /// Reloads the module stored under `key` from the store: dropped when gone, compiled
    /// (or read from the artifact cache) when its code changed.
    async fn refresh_module(&self, key: &str) -> Result<()> {
        let Some(record) = self.store.get_module(key).await? else {
            write(&self.modules).remove(key);
            return Ok(());
        };
        let same_code = read(&self.modules)
            .values()
            .find(|m| m.record.sha256 == record.sha256)
            .map(|m| m.handler.clone());
        let handler = match same_code {
            Some(h) => h,
            None => {
                let Some(bytes) = self.store.module_bytes(&record.sha256).await? else {
                    return Err(RegistryError::Invalid(format!(
                        "module {key:?}: its code is missing from the store"
                    )));
                };
                let runtime = self.runtime.clone();
                let sha = record.sha256.clone();
                let compiled =
                    tokio::task::spawn_blocking(move || runtime.load(&sha, || Ok(bytes)))
                        .await
                        .map_err(|e| CompileError::Internal(e.to_string()))??;
                Arc::new(compiled)
            }
        };
        write(&self.modules).insert(key.to_string(), Arc::new(LoadedModule { record, handler }));
        Ok(())
    }

    fn require_module(&self, ws: &str, name: &str) -> Result<()> {
        if let Some(m) = self.module(ws, name)
            && m.handler.kind() != crate::runtime::ComponentKind::Handler
        {
            return Err(RegistryError::Invalid(format!(
                "module {name:?} is an outbound transform; webhooks run handlers \
                 (components of the `hookhost:handler` world)"
            )));
        }
        if self.module(ws, name).is_none() {
            return Err(RegistryError::Invalid(format!(
                "unknown module {name:?}: upload it first (POST /v1/modules?name={name})"
            )));
        }
        Ok(())
    }
}

fn not_found(what: &str, id: &str) -> RegistryError {
    RegistryError::NotFound(format!("no {what} {id:?}"))
}

fn validate_module_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Invalid(
            "module name must be 1-64 characters of letters, digits, '-', '_' or '.'".into(),
        ))
    }
}

fn check_payload(payload: Option<&serde_json::Value>) -> Result<()> {
    let size = payload.map_or(0, |p| p.to_string().len());
    if size > MAX_PAYLOAD_BYTES {
        return Err(RegistryError::Invalid(format!(
            "payload of {size} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    Ok(())
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// A new unguessable webhook id: uuid v4, 122 random bits from the OS
/// generator.
pub fn new_webhook_id() -> String {
    format!("wh_{}", uuid::Uuid::new_v4().simple())
}
