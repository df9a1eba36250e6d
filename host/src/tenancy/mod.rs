//! Workspaces: many customers on one hookhost. Every record belongs to one
//! workspace; a workspace has API tokens (admin or read), quotas, an
//! event-type catalogue and a customer portal ([`portal`]).
//!
//! Workspaces, tokens and event types are few and small: [`Tenancy`] keeps
//! them all in memory (token lookups on every API request read no store),
//! reloads them when any node changes one ([`crate::store::Change::Meta`]),
//! and writes through the store's tenancy records.

pub mod portal;

use crate::store::integral_opt;
use crate::store::{
    DEFAULT_WORKSPACE, MetaKind, MetaRecord, Store, StoreError, is_default_workspace,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Prefix of workspace ids.
pub const WORKSPACE_PREFIX: &str = "ws";
/// Most event types in one workspace's catalogue.
pub const MAX_EVENT_TYPES: usize = 1000;
/// Prefix of workspace API tokens (the secret).
pub const TOKEN_SECRET_PREFIX: &str = "hhk_";

/// Errors of tenancy operations; the API maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// No such workspace, token or event type.
    #[error("{0}")]
    NotFound(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A workspace is at a limit.
    #[error("{0}")]
    Quota(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, TenancyError>;

/// Limits an administrator sets on a workspace; absent means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Most modules it may hold (0–1000000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral_opt"
    )]
    #[schema(minimum = 0, maximum = 1000000)]
    pub max_modules: Option<u32>,
    /// Most webhooks it may hold (0–1000000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral_opt"
    )]
    #[schema(minimum = 0, maximum = 1000000)]
    pub max_webhooks: Option<u32>,
    /// Most endpoints it may hold (0–1000000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral_opt"
    )]
    #[schema(minimum = 0, maximum = 1000000)]
    pub max_endpoints: Option<u32>,
    /// Events accepted per second by `POST /v1/events` (a burst of one
    /// second's worth); beyond it, 429 with `Retry-After`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral_opt"
    )]
    #[schema(minimum = 1, maximum = 100000)]
    pub events_per_second: Option<u32>,
    /// Handler invocations per second over all its webhooks (a burst of
    /// one second's worth); beyond it, webhook URLs answer 429 with
    /// `Retry-After` and run nothing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "integral_opt"
    )]
    #[schema(minimum = 1, maximum = 100000)]
    pub invocations_per_second: Option<u32>,
}

impl Quotas {
    fn check(&self) -> Result<()> {
        for (name, max) in [
            ("max_modules", self.max_modules),
            ("max_webhooks", self.max_webhooks),
            ("max_endpoints", self.max_endpoints),
        ] {
            if max.is_some_and(|m| m > 1_000_000) {
                return Err(TenancyError::Invalid(format!(
                    "quotas.{name} must be 0-1000000"
                )));
            }
        }
        for (name, rate) in [
            ("events_per_second", self.events_per_second),
            ("invocations_per_second", self.invocations_per_second),
        ] {
            if rate.is_some_and(|r| !(1..=100_000).contains(&r)) {
                return Err(TenancyError::Invalid(format!(
                    "quotas.{name} must be 1-100000"
                )));
            }
        }
        Ok(())
    }
}

/// How the customer portal looks for a workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Name shown in the portal's header (default: the workspace's name):
    /// up to 100 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub display_name: Option<String>,
    /// Accent colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub accent_color: Option<String>,
    /// An `https://` (or `http://`) image URL shown beside the name, without
    /// spaces, quotes or control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 2048,
        pattern = r#"^https?://[^\s"'\u0000-\u001f\u007f-\u009f]+$"#
    )]
    pub logo_url: Option<String>,
}

impl Branding {
    fn check(&self) -> Result<()> {
        if self
            .display_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 100 || n.chars().any(char::is_control))
        {
            return Err(TenancyError::Invalid(
                "branding.display_name: at most 100 characters, no control characters".into(),
            ));
        }
        if let Some(c) = &self.accent_color {
            let ok =
                c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(TenancyError::Invalid(
                    "branding.accent_color must be #rrggbb".into(),
                ));
            }
        }
        if let Some(u) = &self.logo_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"))
                .unwrap_or_default();
            let ok = u.chars().count() <= 2048
                && !rest.is_empty()
                && !rest
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\'');
            if !ok {
                return Err(TenancyError::Invalid(
                    "branding.logo_url must be an http(s) URL of at most 2048 characters".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workspace {
    /// `ws_` + 32 hex digits, or `default`.
    pub id: String,
    /// Its name (1–100 characters).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Its limits.
    #[serde(default)]
    pub quotas: Quotas,
    /// How its portal looks.
    #[serde(default)]
    pub branding: Branding,
    /// Bumped by revoking the workspace's portal links: links signed
    /// before are refused.
    #[serde(default)]
    pub portal_epoch: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Workspace {
    fn default_workspace() -> Self {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        Workspace {
            id: DEFAULT_WORKSPACE.into(),
            name: "Default".into(),
            description: "Records made without naming a workspace".into(),
            quotas: Quotas::default(),
            branding: Branding::default(),
            portal_epoch: 0,
            created_at: epoch,
            updated_at: epoch,
        }
    }
}

/// Fields of a workspace change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkspacePatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New quotas (replacing all of them).
    pub quotas: Option<Quotas>,
    /// New branding (replacing all of it).
    pub branding: Option<Branding>,
}

/// What a workspace token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in its workspace.
    Admin,
    /// Reads only: every change answers 403.
    Read,
}

/// A workspace API token as stored: its secret only as a SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// `tok_...`.
    pub id: String,
    /// The workspace it acts in.
    pub workspace_id: String,
    /// What it may do.
    pub role: Role,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The last four characters of the secret, to tell tokens apart.
    pub hint: String,
    /// SHA-256 of the secret, hex.
    pub sha256: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An entry of a workspace's event-type catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventTypeRecord {
    /// The event type, e.g. `invoice.paid`.
    pub name: String,
    /// Free text, shown to customers in the portal.
    #[serde(default)]
    pub description: String,
    /// A JSON Schema events of this type must match (`data`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An event type with its compiled schema.
struct EventType {
    record: EventTypeRecord,
    validator: Option<jsonschema::Validator>,
}

/// Compiles an event type's JSON Schema (no remote or file `$ref`s).
fn compile_schema(
    schema: &serde_json::Value,
) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| format!("schema is not a valid JSON Schema: {e}"))
}

/// Everything in memory, replaced whole on a reload.
#[derive(Default)]
struct Snapshot {
    workspaces: BTreeMap<String, Workspace>,
    /// By the SHA-256 (hex) of their secret.
    tokens: HashMap<String, TokenRecord>,
    /// By workspace, then name.
    event_types: HashMap<String, BTreeMap<String, Arc<EventType>>>,
    /// Whether any workspace has a rate quota (requests of the others
    /// then skip the rate check without a lookup).
    any_rates: bool,
}

/// Which per-workspace rate a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKind {
    /// `POST /v1/events`.
    Events,
    /// Handler invocations.
    Invocations,
}

impl RateKind {
    fn as_str(self) -> &'static str {
        match self {
            RateKind::Events => "events",
            RateKind::Invocations => "invocations",
        }
    }
}

/// Workspaces, tokens, event types and per-workspace rates.
pub struct Tenancy {
    store: Store,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serializes changes, so checks and the writes depending on them
    /// cannot interleave on this node.
    changes: tokio::sync::Mutex<()>,
    /// Theoretical arrival times of the per-workspace rates (GCRA), on a
    /// store only this process uses.
    paces: Mutex<HashMap<(String, RateKind), Instant>>,
    /// Signs portal links.
    portal: portal::PortalKeys,
}

impl Tenancy {
    /// Loads every workspace, token and event type; portal links are
    /// signed with a key derived from `admin_token`.
    pub async fn open(store: Store, admin_token: &str) -> Result<Self> {
        let t = Self {
            store,
            snapshot: RwLock::default(),
            changes: tokio::sync::Mutex::new(()),
            paces: Mutex::default(),
            portal: portal::PortalKeys::new(admin_token),
        };
        t.reload().await?;
        Ok(t)
    }

    /// Reads everything from the store again (after a change on any node).
    pub async fn reload(&self) -> Result<()> {
        let mut snap = Snapshot::default();
        for m in self.store.list_meta(MetaKind::Workspace).await? {
            let w: Workspace = decode(&m)?;
            snap.workspaces.insert(w.id.clone(), w);
        }
        snap.workspaces
            .entry(DEFAULT_WORKSPACE.into())
            .or_insert_with(Workspace::default_workspace);
        for m in self.store.list_meta(MetaKind::Token).await? {
            let t: TokenRecord = decode(&m)?;
            snap.tokens.insert(t.sha256.clone(), t);
        }
        let old = self.snap();
        for m in self.store.list_meta(MetaKind::EventType).await? {
            let record: EventTypeRecord = decode(&m)?;
            // An unchanged entry keeps its compiled schema: a reload
            // compiles only what changed.
            let kept = old
                .event_types
                .get(&m.workspace_id)
                .and_then(|t| t.get(&record.name))
                .filter(|t| t.record == record)
                .cloned();
            let entry = kept.unwrap_or_else(|| {
                let validator = record.schema.as_ref().and_then(|s| compile_schema(s).ok());
                Arc::new(EventType { record, validator })
            });
            snap.event_types
                .entry(m.workspace_id.clone())
                .or_default()
                .insert(entry.record.name.clone(), entry);
        }
        snap.any_rates = snap.workspaces.values().any(|w| {
            w.quotas.events_per_second.is_some() || w.quotas.invocations_per_second.is_some()
        });
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
        Ok(())
    }

    fn snap(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The signer of portal links.
    pub fn portal(&self) -> &portal::PortalKeys {
        &self.portal
    }

    // ---- workspaces ----

    /// Whether workspace `id` exists.
    pub fn has_workspace(&self, id: &str) -> bool {
        self.snap().workspaces.contains_key(id)
    }

    /// The workspace `id`.
    pub fn workspace(&self, id: &str) -> Option<Workspace> {
        self.snap().workspaces.get(id).cloned()
    }

    /// Every workspace, `default` first, then by creation.
    pub fn workspaces(&self) -> Vec<Workspace> {
        let mut all: Vec<_> = self.snap().workspaces.values().cloned().collect();
        all.sort_by(|a, b| {
            (!is_default_workspace(&a.id), a.created_at, &a.id).cmp(&(
                !is_default_workspace(&b.id),
                b.created_at,
                &b.id,
            ))
        });
        all
    }

    /// Creates a workspace.
    pub async fn create_workspace(
        &self,
        name: String,
        description: String,
        quotas: Quotas,
        branding: Branding,
    ) -> Result<Workspace> {
        check_name(&name)?;
        quotas.check()?;
        branding.check()?;
        let _guard = self.changes.lock().await;
        let now = Utc::now();
        let w = Workspace {
            id: format!("{WORKSPACE_PREFIX}_{}", uuid::Uuid::now_v7().simple()),
            name,
            description,
            quotas,
            branding,
            portal_epoch: 0,
            created_at: now,
            updated_at: now,
        };
        self.put(MetaKind::Workspace, &w.id, &w.id, &w).await?;
        Ok(w)
    }

    /// Revokes every portal link of workspace `id` made so far.
    pub async fn revoke_portal_links(&self, id: &str) -> Result<Workspace> {
        let _guard = self.changes.lock().await;
        let mut w = self
            .workspace(id)
            .ok_or_else(|| not_found("workspace", id))?;
        w.portal_epoch = w.portal_epoch.wrapping_add(1);
        w.updated_at = Utc::now();
        self.put(MetaKind::Workspace, &w.id, &w.id, &w).await?;
        Ok(w)
    }

    /// The portal epoch of workspace `id`, if it exists.
    pub fn portal_epoch(&self, id: &str) -> Option<u32> {
        self.snap().workspaces.get(id).map(|w| w.portal_epoch)
    }

    /// Changes workspace `id`.
    pub async fn update_workspace(&self, id: &str, patch: WorkspacePatch) -> Result<Workspace> {
        let _guard = self.changes.lock().await;
        let mut w = self
            .workspace(id)
            .ok_or_else(|| not_found("workspace", id))?;
        if let Some(name) = patch.name {
            check_name(&name)?;
            w.name = name;
        }
        if let Some(d) = patch.description {
            w.description = d;
        }
        if let Some(q) = patch.quotas {
            q.check()?;
            w.quotas = q;
        }
        if let Some(b) = patch.branding {
            b.check()?;
            w.branding = b;
        }
        w.updated_at = Utc::now();
        self.put(MetaKind::Workspace, &w.id, &w.id, &w).await?;
        Ok(w)
    }

    /// Deletes workspace `id` with its tokens and event types (its other
    /// records are the caller's to remove first). `default` stays.
    pub async fn delete_workspace(&self, id: &str) -> Result<()> {
        if is_default_workspace(id) {
            return Err(TenancyError::Conflict(
                "the default workspace cannot be deleted".into(),
            ));
        }
        let _guard = self.changes.lock().await;
        let snap = self.snap();
        if !snap.workspaces.contains_key(id) {
            return Err(not_found("workspace", id));
        }
        for t in snap.tokens.values().filter(|t| t.workspace_id == id) {
            self.store.delete_meta(MetaKind::Token, &t.id).await?;
        }
        for name in snap.event_types.get(id).into_iter().flat_map(|t| t.keys()) {
            self.store
                .delete_meta(MetaKind::EventType, &event_type_key(id, name))
                .await?;
        }
        self.store.delete_meta(MetaKind::Workspace, id).await?;
        self.reload().await
    }

    // ---- tokens ----

    /// Issues a token for workspace `ws`; returns it with its secret, which
    /// is not kept (only its SHA-256 is).
    pub async fn create_token(
        &self,
        ws: &str,
        role: Role,
        description: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(TokenRecord, String)> {
        if self.workspace(ws).is_none() {
            return Err(not_found("workspace", ws));
        }
        if expires_at.is_some_and(|e| e <= Utc::now()) {
            return Err(TenancyError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TenancyError::Invalid(e.to_string()))?;
        let secret = format!("{TOKEN_SECRET_PREFIX}{}", hex::encode(bytes));
        let _guard = self.changes.lock().await;
        let t = TokenRecord {
            id: format!("tok_{}", uuid::Uuid::now_v7().simple()),
            workspace_id: ws.to_string(),
            role,
            description,
            hint: secret[secret.len() - 4..].to_string(),
            sha256: hex::encode(Sha256::digest(secret.as_bytes())),
            created_at: Utc::now(),
            expires_at,
        };
        self.put(MetaKind::Token, &t.id, ws, &t).await?;
        Ok((t, secret))
    }

    /// The tokens of workspace `ws`, oldest first.
    pub fn tokens(&self, ws: &str) -> Vec<TokenRecord> {
        let mut all: Vec<_> = self
            .snap()
            .tokens
            .values()
            .filter(|t| t.workspace_id == ws)
            .cloned()
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Revokes token `id` of workspace `ws`.
    pub async fn revoke_token(&self, ws: &str, id: &str) -> Result<()> {
        let _guard = self.changes.lock().await;
        let known = self
            .snap()
            .tokens
            .values()
            .any(|t| t.id == id && t.workspace_id == ws);
        if !known {
            return Err(not_found("token", id));
        }
        self.store.delete_meta(MetaKind::Token, id).await?;
        self.reload().await
    }

    /// The live (unexpired) token whose secret is `secret`.
    pub fn authenticate(&self, secret: &str) -> Option<TokenRecord> {
        if !secret.starts_with(TOKEN_SECRET_PREFIX) {
            return None;
        }
        let digest = Sha256::digest(secret.as_bytes());
        let snap = self.snap();
        let t = snap.tokens.get(&hex::encode(digest))?;
        // The map found it by its hash; compare the stored hash in
        // constant time all the same.
        let stored = hex::decode(&t.sha256).ok()?;
        let same: bool = stored.ct_eq(digest.as_slice()).into();
        (same && t.expires_at.is_none_or(|e| e > Utc::now())).then(|| t.clone())
    }

    // ---- event types ----

    /// Adds or replaces event type `name` in workspace `ws`'s catalogue;
    /// whether it is new.
    pub async fn put_event_type(
        &self,
        ws: &str,
        name: String,
        description: String,
        schema: Option<serde_json::Value>,
    ) -> Result<(EventTypeRecord, bool)> {
        crate::names::check_user_event_type(&name).map_err(TenancyError::Invalid)?;
        if let Some(s) = &schema {
            compile_schema(s).map_err(TenancyError::Invalid)?;
        }
        let _guard = self.changes.lock().await;
        let previous = self.event_type(ws, &name);
        if previous.is_none() && self.event_types(ws).len() >= MAX_EVENT_TYPES {
            return Err(TenancyError::Quota(format!(
                "workspace {ws} has {MAX_EVENT_TYPES} event types, the most a catalogue holds"
            )));
        }
        let now = Utc::now();
        let record = EventTypeRecord {
            name,
            description,
            schema,
            created_at: previous.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
        };
        let key = event_type_key(ws, &record.name);
        self.put(MetaKind::EventType, &key, ws, &record).await?;
        Ok((record, previous.is_none()))
    }

    /// Event type `name` of workspace `ws`.
    pub fn event_type(&self, ws: &str, name: &str) -> Option<EventTypeRecord> {
        self.snap()
            .event_types
            .get(ws)?
            .get(name)
            .map(|t| t.record.clone())
    }

    /// Whether event type `name` of workspace `ws` has a schema events
    /// are checked against.
    pub fn has_schema(&self, ws: &str, name: &str) -> bool {
        self.snap()
            .event_types
            .get(ws)
            .and_then(|t| t.get(name))
            .is_some_and(|t| t.validator.is_some())
    }

    /// Workspace `ws`'s catalogue, by name.
    pub fn event_types(&self, ws: &str) -> Vec<EventTypeRecord> {
        self.snap()
            .event_types
            .get(ws)
            .into_iter()
            .flat_map(|t| t.values())
            .map(|t| t.record.clone())
            .collect()
    }

    /// Removes event type `name` from workspace `ws`'s catalogue.
    pub async fn delete_event_type(&self, ws: &str, name: &str) -> Result<()> {
        let _guard = self.changes.lock().await;
        if self.event_type(ws, name).is_none() {
            return Err(not_found("event type", name));
        }
        self.store
            .delete_meta(MetaKind::EventType, &event_type_key(ws, name))
            .await?;
        self.reload().await
    }

    /// Checks `data` against the schema of event type `name` in workspace
    /// `ws`, if the catalogue has one; the errors found, if any.
    pub fn validate_event(&self, ws: &str, name: &str, data: &serde_json::Value) -> Option<String> {
        let snap = self.snap();
        let t = snap.event_types.get(ws)?.get(name)?;
        let v = t.validator.as_ref()?;
        let errors: Vec<String> = v
            .iter_errors(data)
            .take(10)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    // ---- rates ----

    /// Takes a slot of workspace `ws`'s `kind` rate, if it has one: `Ok`
    /// when the request may go on, `Err(seconds)` to wait otherwise. The
    /// generic cell rate algorithm with a burst of one second's worth; on a
    /// store several nodes share, the pace is kept there, so the rate
    /// holds across nodes. A workspace without the quota costs nothing.
    pub async fn take(&self, ws: &str, kind: RateKind) -> std::result::Result<(), u64> {
        let snap = self.snap();
        if !snap.any_rates {
            return Ok(());
        }
        let rate = snap.workspaces.get(ws).and_then(|w| match kind {
            RateKind::Events => w.quotas.events_per_second,
            RateKind::Invocations => w.quotas.invocations_per_second,
        });
        let Some(rate) = rate else {
            return Ok(());
        };
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let tolerance = interval * rate.saturating_sub(1);
        let key = format!("{ws}/{}", kind.as_str());
        match self.store.take_rate_slot(&key, interval, tolerance).await {
            Ok(Some(true)) => return Ok(()),
            Ok(Some(false)) => return Err(1),
            Ok(None) => {}
            Err(e) => {
                // A quota must not take the service down with the store;
                // the store's own failure shows where it is used next.
                tracing::warn!(workspace = ws, error = %e, "quota pace unavailable");
                return Ok(());
            }
        }
        let now = Instant::now();
        let mut paces = self.paces.lock().unwrap_or_else(|e| e.into_inner());
        let tat = paces.entry((ws.to_string(), kind)).or_insert(now);
        if now + tolerance < *tat {
            let wait = (*tat - tolerance - now).as_secs_f64().ceil().max(1.0);
            return Err(wait as u64);
        }
        *tat = (*tat).max(now) + interval;
        Ok(())
    }

    async fn put<T: Serialize>(
        &self,
        kind: MetaKind,
        key: &str,
        ws: &str,
        record: &T,
    ) -> Result<()> {
        let m = MetaRecord {
            kind,
            key: key.to_string(),
            workspace_id: ws.to_string(),
            record: serde_json::to_string(record).expect("records serialize"),
        };
        self.store.put_meta(&m).await?;
        self.reload().await
    }
}

fn decode<T: serde::de::DeserializeOwned>(m: &MetaRecord) -> Result<T> {
    serde_json::from_str(&m.record).map_err(|e| {
        TenancyError::Store(StoreError::Corrupt(format!(
            "{} {}: {e}",
            m.kind.as_str(),
            m.key
        )))
    })
}

fn event_type_key(ws: &str, name: &str) -> String {
    format!("{ws}/{name}")
}

fn check_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if !(1..=100).contains(&n) || name.chars().any(char::is_control) {
        return Err(TenancyError::Invalid(
            "name must be 1-100 characters without control characters".into(),
        ));
    }
    Ok(())
}

fn not_found(what: &str, id: &str) -> TenancyError {
    TenancyError::NotFound(format!("no {what} {id:?}"))
}

/// Whether `id` has the form of a workspace id (`default` or `ws_` + 32
/// hex digits).
pub fn is_workspace_id(id: &str) -> bool {
    is_default_workspace(id)
        || id
            .strip_prefix("ws_")
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branding_is_checked() {
        let ok = Branding {
            display_name: Some("Acme".into()),
            accent_color: Some("#12abEF".into()),
            logo_url: Some("https://acme.test/logo.png".into()),
        };
        assert!(ok.check().is_ok());
        for bad in [
            Branding {
                accent_color: Some("red".into()),
                ..Default::default()
            },
            Branding {
                logo_url: Some("javascript:alert(1)".into()),
                ..Default::default()
            },
            Branding {
                logo_url: Some("https://x.test/\"onerror=\"".into()),
                ..Default::default()
            },
            Branding {
                display_name: Some("x".repeat(101)),
                ..Default::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn workspace_ids() {
        assert!(is_workspace_id("default"));
        assert!(is_workspace_id(&format!("ws_{}", "a".repeat(32))));
        assert!(!is_workspace_id("ws_x"));
        assert!(!is_workspace_id("other"));
    }

    #[tokio::test]
    async fn a_catalogue_is_bounded_and_reloads_compile_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open_sled(dir.path()).unwrap();
        let t = Tenancy::open(store, "admin").await.unwrap();
        let schema = serde_json::json!({"type": "object", "required": ["id"]});
        t.put_event_type("default", "a.b".into(), String::new(), Some(schema.clone()))
            .await
            .unwrap();
        let compiled = |t: &Tenancy| Arc::as_ptr(&t.snap().event_types["default"]["a.b"]);
        let before = compiled(&t);
        for n in 1..MAX_EVENT_TYPES {
            t.put_event_type("default", format!("t.{n}"), String::new(), None)
                .await
                .unwrap();
        }
        // The first entry was not compiled again by the reloads since.
        assert_eq!(compiled(&t), before);
        let over = t
            .put_event_type("default", "one.more".into(), String::new(), None)
            .await;
        assert!(matches!(over, Err(TenancyError::Quota(_))), "{over:?}");
        // Replacing an entry is not a new one; another workspace has its own.
        t.put_event_type("default", "a.b".into(), "new".into(), Some(schema))
            .await
            .unwrap();
        assert_ne!(compiled(&t), before, "a changed entry is compiled anew");
        t.put_event_type("ws_other", "a.b".into(), String::new(), None)
            .await
            .unwrap();
    }

    #[test]
    fn schemas_do_not_resolve_remote_refs() {
        let remote = serde_json::json!({"$ref": "http://127.0.0.1:1/schema.json"});
        assert!(compile_schema(&remote).is_err());
        let local = serde_json::json!({"type": "object", "required": ["id"]});
        assert!(compile_schema(&local).is_ok());
    }
}
