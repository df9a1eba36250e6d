//! The WebAssembly side: one wasmtime [`Engine`] for the process, compiled
//! handler components and their on-disk cache, the sandbox each request runs
//! in, and the host side of the `hookhost:handler` WIT imports.
//!
//! This is the only module that touches wasmtime; the rest of the server sees
//! [`Runtime`], [`CompiledHandler`] and [`Invocation`].

mod compile;
mod host_api;
mod invoke;
mod outgoing;
mod proxy;
mod sandbox;
mod transform;
mod warm;

pub use compile::{CompileError, CompiledHandler, ComponentKind};
pub use invoke::{Failure, FailureKind, GuestRecord, Invocation, Outcome, handler_error_reply};
pub use outgoing::{
    DEFAULT_MAX_CALL_BYTES, DEFAULT_MAX_CALLS, Egress, Grants, HostRule, MAX_FOLLOW_UP_WEBHOOKS,
    MAX_OUTBOUND_HOSTS, WebhookFactory, parse_outbound_hosts,
};
pub use proxy::{ENV_INVOCATION_ID, ENV_PAYLOAD, ENV_RECEIVED_AT_MS, ENV_WEBHOOK_ID};
pub use transform::{Message, TransformOutcome, Transformed};

use crate::config::{EPOCH_TICK, SandboxLimits};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Host bindings generated from `wit/handler.wit`.
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "handler",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// Host bindings of `hookhost:handler@0.1.0` (`wit/v0.1/`): only its `host`
/// interface is linked, so components built against 0.1.0 keep running.
/// Its types are 0.2.0's, which are the same records.
#[allow(missing_docs)]
pub mod bindings_v01 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        world: "handler",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "hookhost:handler/types@0.1.0": super::bindings::hookhost::handler::types,
        },
    });
}

/// Host bindings generated from `wit/transformer/transformer.wit`.
#[allow(missing_docs)]
pub mod transformer_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/transformer",
        world: "transformer",
        exports: { default: async },
    });
}

/// Compiles, caches and runs handler components.
pub struct Runtime {
    engine: Engine,
    linker: Linker<sandbox::Sandbox>,
    limits: SandboxLimits,
    cache_dir: PathBuf,
    /// Engine settings + wasmtime version, so a cached artifact is only
    /// reused by an engine that can run it.
    compat_key: String,
    stats: RuntimeStats,
    /// The client of handlers' outgoing calls; without it every call is refused.
    egress: std::sync::OnceLock<std::sync::Arc<Egress>>,
    /// Instances kept for webhooks with `reuse_instances` on.
    warm: warm::Warm,
}

/// Counters of compile work, for health checks and tests.
#[derive(Debug, Default)]
pub struct RuntimeStats {
    /// Components compiled by Cranelift since start.
    pub compiled: AtomicU64,
    /// Components loaded from the on-disk artifact cache since start.
    pub loaded_from_cache: AtomicU64,
}

impl RuntimeStats {
    /// `(compiled, loaded_from_cache)`.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.compiled.load(Ordering::Relaxed),
            self.loaded_from_cache.load(Ordering::Relaxed),
        )
    }
}

impl Runtime {
    /// Builds the engine for `limits`, caching compiled artifacts in `cache_dir`.
    pub fn new(limits: SandboxLimits, cache_dir: PathBuf) -> wasmtime::Result<Self> {
        std::fs::create_dir_all(&cache_dir)?;
        let engine = Engine::new(&engine_config(&limits))?;
        spawn_epoch_ticker(&engine);

        let mut linker = Linker::new(&engine);
        // Rust std (and other libc-based) guests import wasi:cli and wasi:io
        // even for pure code. The context built per request grants no
        // filesystem, network or environment; see `sandbox`.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        // `wasi:http/types` and `outgoing-handler`, for `wasi:http/proxy`
        // components and any handler calling out; requests go through
        // `outgoing`'s policy.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::Handler::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |s: &mut sandbox::Sandbox| s,
        )?;
        // hookhost:handler@0.1.0: its `host` functions, and its `types`
        // interface (types only, nothing to define).
        bindings_v01::hookhost::handler::host::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |s: &mut sandbox::Sandbox| s,
        )?;
        linker.instance("hookhost:handler/types@0.1.0")?;

        let compat_key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut h);
            format!("{:016x}", h.finish())
        };
        // Each idle instance holds a slot of the pool: a quarter at most.
        let warm = warm::Warm::new(
            limits
                .warm_instances
                .min(limits.max_concurrent as usize / 4),
        );
        Ok(Self {
            engine,
            linker,
            limits,
            cache_dir,
            compat_key,
            stats: RuntimeStats::default(),
            egress: std::sync::OnceLock::new(),
            warm,
        })
    }

    /// Sets the client handlers' outgoing calls use (once; later calls are
    /// ignored). Without one, every outgoing call is refused.
    pub fn set_egress(&self, egress: Egress) {
        let _ = self.egress.set(std::sync::Arc::new(egress));
    }

    /// Drops the instances kept for `webhook_id` (it turned reuse off, was
    /// deleted or disabled).
    pub fn forget_instances(&self, webhook_id: &str) {
        self.warm.forget(webhook_id);
    }

    /// Idle instances kept for reuse now.
    pub fn warm_instances(&self) -> usize {
        self.warm.idle()
    }

    /// The limits every invocation runs under.
    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Compile counters.
    pub fn stats(&self) -> &RuntimeStats {
        &self.stats
    }
}

/// Bytes of a memory, table or stack slot reset in place rather than
/// decommitted.
const KEEP_RESIDENT: usize = 1 << 20;
/// Decommits queued before they are flushed together.
const DECOMMIT_BATCH: usize = 16;

/// Core instances budgeted per concurrent invocation (Python needs 14).
const CORE_INSTANCES_PER_CALL: u32 = 16;
/// Memories budgeted per concurrent invocation: what one may create.
const MEMORIES_PER_CALL: u32 = sandbox::MAX_MEMORIES as u32;
/// Tables budgeted per concurrent invocation: what one may create (a
/// Python component uses more than 4), so that `max_concurrent` calls at
/// their limits always fit in the pool.
const TABLES_PER_CALL: u32 = sandbox::MAX_TABLES as u32;

fn engine_config(limits: &SandboxLimits) -> Config {
    let n = limits.max_concurrent;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        // Interpreter-based guests are many core instances each: a
        // componentize-py (Python) component instantiates 14 core modules,
        // a componentize-js one 4, Rust and C 2 or 3. Budget for Python at
        // full concurrency; slots are address-space reservations, committed
        // only when used.
        .total_core_instances(n * CORE_INSTANCES_PER_CALL)
        .total_memories(n * MEMORIES_PER_CALL)
        .total_tables(n * TABLES_PER_CALL)
        .total_stacks(n)
        .max_memory_size(limits.memory_bytes)
        .table_elements(100_000)
        .max_core_instance_size(8 << 20)
        .max_component_instance_size(8 << 20)
        // Reset a used slot by rewriting the pages the guest dirtied
        // (found with the PAGEMAP_SCAN ioctl on Linux 6.7+) instead of
        // `madvise`: no page faults on the next use of the slot and no
        // TLB-shootdown IPIs, which dominated ingress on two cores.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .async_stack_keep_resident(KEEP_RESIDENT)
        // What still has to be decommitted goes in batches: one IPI round
        // per batch rather than per instance.
        .decommit_batch_size(DECOMMIT_BATCH);

    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        .wasm_component_model(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`]; stops with the engine.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("hookhost-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch thread");
}
