//! Validating and compiling uploaded components, and the on-disk cache of
//! compiled artifacts (`<cache>/<sha256>-<engine key>.cwasm`).

use super::Runtime;
use super::bindings::HandlerPre;
use super::sandbox::Sandbox;
use super::transformer_bindings::TransformerPre;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;
use wasmtime::component::Component;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A component that validated as a `hookhost:handler` handler, a
/// `wasi:http/proxy` component (also a handler) or a `hookhost:transformer`
/// transform, ready to run.
pub struct CompiledHandler {
    pub(super) world: World,
    /// sha256 of the component bytes.
    pub sha256: String,
}

/// The world a compiled component implements.
pub(super) enum World {
    Handler(HandlerPre<Sandbox>),
    Proxy(ProxyPre<Sandbox>),
    Transformer(TransformerPre<Sandbox>),
}

/// What a module is: a webhook handler or an outbound transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// A component of the `hookhost:handler/handler` world, or of the
    /// standard `wasi:http/proxy` world: runs webhook requests.
    Handler,
    /// A component of the `hookhost:transformer/transformer` world: changes
    /// endpoints' outgoing messages.
    Transformer,
}

impl CompiledHandler {
    /// Which world it implements.
    pub fn kind(&self) -> ComponentKind {
        match self.world {
            World::Handler(_) | World::Proxy(_) => ComponentKind::Handler,
            World::Transformer(_) => ComponentKind::Transformer,
        }
    }

    /// The world it implements: `hookhost:handler`, `wasi:http/proxy` or
    /// `hookhost:transformer`.
    pub fn world(&self) -> &'static str {
        match self.world {
            World::Handler(_) => "hookhost:handler",
            World::Proxy(_) => "wasi:http/proxy",
            World::Transformer(_) => "hookhost:transformer",
        }
    }
}

/// Why an upload is not a usable handler. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Not WebAssembly at all.
    #[error("not a WebAssembly binary (it does not start with the `\\0asm` magic)")]
    NotWasm,
    /// A core module rather than a component.
    #[error(
        "this is a core WebAssembly module, not a component: build for `wasm32-wasip2`, \
         or wrap it with `wasm-tools component new`"
    )]
    CoreModule,
    /// Malformed component, or one using features the host does not enable.
    #[error("invalid component: {0}")]
    Invalid(String),
    /// A valid component of another world.
    #[error(
        "not a component of the `hookhost:handler/handler`, `wasi:http/proxy` or \
         `hookhost:transformer/transformer` world: {0}. Build it against the WIT in \
         `wit/` (world `handler`), as a `wasi:http/proxy` component, or against \
         `wit/transformer/` (world `transformer`)"
    )]
    WrongWorld(String),
    /// A component that would create more memories, tables or instances
    /// per call than a sandbox allows.
    #[error("component exceeds the sandbox's limits: {0}")]
    TooLarge(String),
    /// The host failed (disk full, ...), not the upload.
    #[error("internal error while compiling: {0}")]
    Internal(String),
}

impl Runtime {
    /// Validates `bytes` as a handler component and compiles it, storing the
    /// artifact in the cache. CPU-heavy (seconds for Python/JS components):
    /// call from a blocking thread.
    pub fn compile(&self, bytes: &[u8], sha256: &str) -> Result<CompiledHandler, CompileError> {
        check_header(bytes)?;
        check_shape(bytes)?;
        let started = Instant::now();
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
        let handler = self.prepare(&component, sha256)?;
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!(crate::metrics::COMPILE_DURATION)
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            sha256,
            ms = started.elapsed().as_millis() as u64,
            "compiled component"
        );
        match component.serialize() {
            Ok(artifact) => {
                let path = self.artifact_path(sha256);
                if let Err(e) = crate::store::write_file_atomic(&path, &artifact) {
                    tracing::warn!(error = %e, "could not cache compiled component");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not serialize compiled component"),
        }
        Ok(handler)
    }

    /// Loads the handler with hash `sha256` from the artifact cache, or
    /// compiles the bytes `wasm` reads when no usable artifact exists.
    pub fn load(
        &self,
        sha256: &str,
        wasm: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<CompiledHandler, CompileError> {
        let artifact = self.artifact_path(sha256);
        if artifact.exists() {
            // SAFETY: the artifact was written by `compile` of an engine with
            // the same compatibility key (it is in the file name) into the
            // data directory, which only hookhost writes to.
            match unsafe { Component::deserialize_file(&self.engine, &artifact) } {
                Ok(component) => {
                    self.stats.loaded_from_cache.fetch_add(1, Ordering::Relaxed);
                    return self.prepare(&component, sha256);
                }
                Err(e) => tracing::warn!(error = %e, "cached artifact unusable, recompiling"),
            }
        }
        let bytes = wasm().map_err(CompileError::Internal)?;
        self.compile(&bytes, sha256)
    }

    fn prepare(
        &self,
        component: &Component,
        sha256: &str,
    ) -> Result<CompiledHandler, CompileError> {
        let instance_pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| CompileError::WrongWorld(format!("{e:#}")))?;
        let world = if let Ok(pre) = HandlerPre::new(instance_pre.clone()) {
            World::Handler(pre)
        } else if let Ok(pre) = ProxyPre::new(instance_pre.clone()) {
            World::Proxy(pre)
        } else {
            match TransformerPre::new(instance_pre) {
                Ok(pre) => World::Transformer(pre),
                Err(_) => {
                    return Err(CompileError::WrongWorld(
                        "it exports neither `handle` (hookhost:handler), \
                         `wasi:http/incoming-handler` (wasi:http/proxy) nor `transform` \
                         (hookhost:transformer)"
                            .into(),
                    ));
                }
            }
        };
        Ok(CompiledHandler {
            world,
            sha256: sha256.to_string(),
        })
    }

    /// Deletes the cached artifacts of `sha256` (its module is gone),
    /// those compiled by other engine versions included.
    pub fn remove_artifact(&self, sha256: &str) {
        let prefix = format!("{sha256}-");
        let Ok(entries) = std::fs::read_dir(&self.cache_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix)
                && name.ends_with(".cwasm")
                && let Err(e) = std::fs::remove_file(entry.path())
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(sha256, error = %e, "could not remove a compiled artifact");
            }
        }
    }

    /// Where the compiled artifact of `sha256` is cached.
    pub fn artifact_path(&self, sha256: &str) -> PathBuf {
        self.cache_dir
            .join(format!("{sha256}-{}.cwasm", self.compat_key))
    }
}

/// Tells garbage and core modules apart from components before handing the
/// bytes to the compiler, whose messages for those cases are cryptic.
fn check_header(bytes: &[u8]) -> Result<(), CompileError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(CompileError::NotWasm);
    }
    // Bytes 4..8: version (u16) and layer (u16); layer 0 is a core module,
    // layer 1 a component.
    match u16::from_le_bytes([bytes[6], bytes[7]]) {
        0 => Err(CompileError::CoreModule),
        1 => Ok(()),
        layer => Err(CompileError::Invalid(format!(
            "unknown WebAssembly layer {layer}"
        ))),
    }
}

/// What a component creates when instantiated, counted from its binary.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// Core module instantiations.
    pub core_instances: usize,
    /// Linear memories defined by its core modules.
    pub memories: usize,
    /// Tables defined by its core modules.
    pub tables: usize,
}

/// Counts what `bytes` would create per instantiation (every nested
/// module and component included). Malformed bytes count as nothing here:
/// the compiler reports them precisely.
pub(super) fn shape(bytes: &[u8]) -> Shape {
    use wasmparser::{Instance, Payload};
    let mut shape = Shape::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::MemorySection(r) => shape.memories += r.count() as usize,
            Payload::TableSection(r) => shape.tables += r.count() as usize,
            Payload::InstanceSection(r) => {
                shape.core_instances += r
                    .into_iter()
                    .filter(|i| matches!(i, Ok(Instance::Instantiate { .. })))
                    .count();
            }
            _ => {}
        }
    }
    shape
}

/// Refuses components that declare more memories, tables or core instances
/// than one sandbox may create ([`super::sandbox`] enforces the same caps
/// at run time, whatever the binary declares).
fn check_shape(bytes: &[u8]) -> Result<(), CompileError> {
    use super::sandbox::{MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES};
    let s = shape(bytes);
    let over = [
        ("core instances", s.core_instances, MAX_CORE_INSTANCES),
        ("memories", s.memories, MAX_MEMORIES),
        ("tables", s.tables, MAX_TABLES),
    ]
    .into_iter()
    .filter(|(_, n, max)| n > max)
    .map(|(what, n, max)| format!("{n} {what} (at most {max})"))
    .collect::<Vec<_>>();
    if over.is_empty() {
        Ok(())
    } else {
        Err(CompileError::TooLarge(over.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert!(matches!(
            check_header(b"hello world"),
            Err(CompileError::NotWasm)
        ));
        assert!(matches!(
            check_header(b"\0asm\x01\0\0\0"),
            Err(CompileError::CoreModule)
        ));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
        assert!(matches!(
            check_header(b"\0asm\x0d\0\x07\0"),
            Err(CompileError::Invalid(_))
        ));
    }
}
