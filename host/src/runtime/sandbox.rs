//! Per-invocation state: a WASI context that grants nothing, resource
//! limits, bounded capture of guest output, and what the guest recorded.

use super::invoke::GuestRecord;
use super::outgoing::{Egress, Grants, Outgoing};
use crate::config::SandboxLimits;
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A limit the guest ran into; raised as the trap error so the invocation
/// can be classified precisely.
#[derive(Debug, thiserror::Error)]
pub enum LimitExceeded {
    /// Linear memory or table growth beyond the configured limit.
    #[error("memory limit of {0} bytes exceeded")]
    Memory(usize),
    /// Too many emits/publishes, or one too large.
    #[error("{0}")]
    Records(String),
    /// The wall-time limit passed.
    #[error("time limit of {0} ms exceeded")]
    Timeout(u128),
}

/// Store data of one invocation.
pub struct Sandbox {
    wasi: WasiCtx,
    http: wasmtime_wasi_http::WasiHttpCtx,
    table: ResourceTable,
    /// Outgoing HTTP: the webhook's allowed hosts and the calls made.
    pub(super) outgoing: Outgoing,
    /// What the invocation may register besides emissions and events.
    pub(super) grants: Grants,
    pub(super) limiter: Limiter,
    pub(super) output: GuestOutput,
    pub(super) records: Vec<GuestRecord>,
    pub(super) max_records: usize,
    pub(super) max_record_bytes: usize,
    pub(super) max_records_total_bytes: usize,
    /// Bytes recorded so far (types plus data).
    pub(super) record_bytes: usize,
    /// When the current call's time is up.
    pub(super) deadline: Instant,
}

impl Sandbox {
    /// The state of one call under `limits` ending at `deadline`, granted
    /// `grants`, with environment variables `env` (only `wasi:http`
    /// components get any: the invocation's context).
    pub(super) fn new(
        limits: &SandboxLimits,
        grants: Grants,
        egress: Option<Arc<Egress>>,
        deadline: Instant,
        env: &[(&str, &str)],
    ) -> Self {
        let output = GuestOutput::new(limits.max_log_bytes);
        // No preopened directories, no arguments, no sockets (TCP, UDP and
        // name lookup are off by default); outgoing HTTP only through
        // `outgoing`'s policy.
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .envs(env)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let outgoing = Outgoing::new(
            grants.outbound_hosts.clone(),
            egress,
            deadline,
            limits.max_http_calls,
            limits.max_http_call_bytes,
        );
        let mut http = wasmtime_wasi_http::WasiHttpCtx::new();
        http.set_field_size_limit(crate::runtime::invoke::MAX_RESPONSE_HEADER_BYTES);
        Self {
            wasi,
            http,
            table,
            outgoing,
            grants,
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                memory_used: 0,
                table_elements_used: 0,
            },
            output,
            records: Vec::new(),
            max_records: limits.max_records,
            max_record_bytes: limits.max_record_bytes,
            max_records_total_bytes: limits.max_records_total_bytes,
            record_bytes: 0,
            deadline,
        }
    }

    /// Readies a kept instance's state for its next call: new grants and
    /// deadline, nothing recorded, no output, no calls. What the guest
    /// keeps in its own memory is not touched: that is what reuse means.
    pub(super) fn begin_call(
        &mut self,
        limits: &SandboxLimits,
        grants: Grants,
        egress: Option<Arc<Egress>>,
        deadline: Instant,
    ) {
        self.outgoing = Outgoing::new(
            grants.outbound_hosts.clone(),
            egress,
            deadline,
            limits.max_http_calls,
            limits.max_http_call_bytes,
        );
        self.grants = grants;
        let _ = self.output.take();
        self.records.clear();
        self.record_bytes = 0;
        self.deadline = deadline;
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for Sandbox {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}

/// Memory and table limits of one invocation, over all its memories and
/// tables together (a component with many memories gets no more than one
/// with a single memory). They trap with [`LimitExceeded`] instead of
/// failing the growth silently: guests rarely handle allocation failure,
/// and a trap is reported precisely.
pub(super) struct Limiter {
    memory_bytes: usize,
    /// Bytes of every linear memory of the invocation.
    memory_used: usize,
    /// Elements of every table of the invocation.
    table_elements_used: usize,
}

/// Table elements one invocation may hold over all its tables.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Core instances one invocation may create (a Python component needs 14).
pub const MAX_CORE_INSTANCES: usize = 16;
/// Linear memories one invocation may create.
pub const MAX_MEMORIES: usize = 4;
/// Tables one invocation may create.
pub const MAX_TABLES: usize = 16;
/// Entries of an invocation's WASI resource table (streams, pollables,
/// ...): a guest creating handles in a loop fails instead of growing it.
pub const MAX_RESOURCES: usize = 10_000;

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_sub(current) + desired;
        if total > self.memory_bytes {
            return Err(LimitExceeded::Memory(self.memory_bytes).into());
        }
        self.memory_used = total;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(LimitExceeded::Memory(self.memory_bytes).into())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.table_elements_used.saturating_sub(current) + desired;
        if total > MAX_TABLE_ELEMENTS {
            return Err(LimitExceeded::Memory(self.memory_bytes).into());
        }
        self.table_elements_used = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn the_memory_limit_holds_over_all_memories_together() {
        let mut l = Limiter {
            memory_bytes: 64 << 20,
            memory_used: 0,
            table_elements_used: 0,
        };
        // Three memories of 20 MiB each fit; a fourth of 20 MiB does not,
        // although each alone is far below the limit.
        for _ in 0..3 {
            assert!(l.memory_growing(0, 20 << 20, None).unwrap());
        }
        assert!(l.memory_growing(0, 20 << 20, None).is_err());
        // Growing one of them counts only the difference.
        assert!(l.memory_growing(20 << 20, 24 << 20, None).unwrap());
        assert!(l.memory_growing(24 << 20, 25 << 20, None).is_err());
    }

    #[test]
    fn the_table_limit_holds_over_all_tables_together() {
        let mut l = Limiter {
            memory_bytes: 1 << 20,
            memory_used: 0,
            table_elements_used: 0,
        };
        assert!(l.table_growing(0, 60_000, None).unwrap());
        assert!(l.table_growing(0, 60_000, None).is_err());
        assert_eq!(l.memories(), MAX_MEMORIES);
        assert_eq!(l.instances(), MAX_CORE_INSTANCES);
    }
}

/// Guest stdout, stderr and `log` lines, kept up to a byte limit; the rest
/// is counted and dropped so a chatty guest never fails or floods the log.
#[derive(Clone)]
pub(super) struct GuestOutput(Arc<Mutex<OutputBuf>>);

struct OutputBuf {
    text: Vec<u8>,
    limit: usize,
    dropped: usize,
}

impl GuestOutput {
    fn new(limit: usize) -> Self {
        Self(Arc::new(Mutex::new(OutputBuf {
            text: Vec::new(),
            limit,
            dropped: 0,
        })))
    }

    pub(super) fn push(&self, bytes: &[u8]) {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let room = buf.limit.saturating_sub(buf.text.len());
        let take = room.min(bytes.len());
        buf.text.extend_from_slice(&bytes[..take]);
        buf.dropped += bytes.len() - take;
    }

    /// The captured text and the number of bytes dropped.
    pub(super) fn take(&self) -> (String, usize) {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&std::mem::take(&mut buf.text)).into_owned();
        (text, buf.dropped)
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
