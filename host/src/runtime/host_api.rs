//! The host side of the `hookhost:handler/host` interface.

use super::bindings::hookhost::handler::{host, types};
use super::invoke::GuestRecord;
use super::sandbox::{LimitExceeded, Sandbox};
use serde_json::value::RawValue;

impl types::Host for Sandbox {}

impl host::Host for Sandbox {
    async fn emit(
        &mut self,
        entity_type: String,
        data: String,
    ) -> wasmtime::Result<Result<(), String>> {
        self.record(data, |data| GuestRecord::Emission { entity_type, data })
    }

    async fn publish(
        &mut self,
        event_type: String,
        data: String,
    ) -> wasmtime::Result<Result<(), String>> {
        if event_type.is_empty() {
            return Ok(Err("event type must not be empty".into()));
        }
        self.record(data, |data| GuestRecord::Event { event_type, data })
    }

    async fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            types::LogLevel::Trace => "TRACE",
            types::LogLevel::Debug => "DEBUG",
            types::LogLevel::Info => "INFO",
            types::LogLevel::Warn => "WARN",
            types::LogLevel::Error => "ERROR",
        };
        self.output
            .push(format!("[{level}] {message}\n").as_bytes());
        Ok(())
    }
}

impl Sandbox {
    /// Validates and keeps one emit/publish. Invalid JSON is the guest's
    /// error to handle; exceeding a limit traps, so a flood cannot go on.
    fn record(
        &mut self,
        data: String,
        make: impl FnOnce(Box<RawValue>) -> GuestRecord,
    ) -> wasmtime::Result<Result<(), String>> {
        if self.records.len() >= self.max_records {
            return Err(LimitExceeded::Records(format!(
                "more than {} emits/publishes in one invocation",
                self.max_records
            ))
            .into());
        }
        if data.len() > self.max_record_bytes {
            return Err(LimitExceeded::Records(format!(
                "emit/publish data of {} bytes exceeds the limit of {} bytes",
                data.len(),
                self.max_record_bytes
            ))
            .into());
        }
        let raw = match RawValue::from_string(data) {
            Ok(raw) => raw,
            Err(e) => return Ok(Err(format!("data is not valid JSON: {e}"))),
        };
        self.records.push(make(raw));
        Ok(Ok(()))
    }
}
