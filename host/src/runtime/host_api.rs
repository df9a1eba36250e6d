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
        if let Err(e) = crate::names::check_type("entity type", &entity_type) {
            return Ok(Err(e));
        }
        self.record(entity_type.len(), data, |data| GuestRecord::Emission {
            entity_type,
            data,
        })
    }

    async fn publish(
        &mut self,
        event_type: String,
        data: String,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = crate::names::check_user_event_type(&event_type) {
            return Ok(Err(e));
        }
        self.record(event_type.len(), data, |data| GuestRecord::Event {
            event_type,
            data,
        })
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
        type_len: usize,
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
        let total = self.record_bytes + type_len + data.len();
        if total > self.max_records_total_bytes {
            return Err(LimitExceeded::Records(format!(
                "emits/publishes of {total} bytes in one invocation exceed the limit of {} bytes",
                self.max_records_total_bytes
            ))
            .into());
        }
        let raw = match RawValue::from_string(data) {
            Ok(raw) => raw,
            Err(e) => return Ok(Err(format!("data is not valid JSON: {e}"))),
        };
        self.record_bytes = total;
        self.records.push(make(raw));
        Ok(Ok(()))
    }
}
