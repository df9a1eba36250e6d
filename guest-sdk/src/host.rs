//! Calls into the host: emit entities, publish events, log.
//!
//! On `wasm32` these call the hookhost host; elsewhere they record into the
//! [`crate::testing`] mock.

use serde::Serialize;

/// Severity of a [`log`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

/// Records an emission of `entity_type` with `data` serialized as JSON.
/// Committed only if the handler returns `Ok`.
pub fn emit<T: Serialize + ?Sized>(entity_type: &str, data: &T) -> Result<(), String> {
    let json = serde_json::to_string(data).map_err(|e| e.to_string())?;
    emit_json(entity_type, &json)
}

/// Publishes an outbound event of `event_type` with `data` serialized as
/// JSON. Committed only if the handler returns `Ok`.
pub fn publish<T: Serialize + ?Sized>(event_type: &str, data: &T) -> Result<(), String> {
    let json = serde_json::to_string(data).map_err(|e| e.to_string())?;
    publish_json(event_type, &json)
}

/// Writes `message` to the host's log, tagged with the invocation.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message)
}

/// [`emit`] with data that is already JSON text.
pub fn emit_json(entity_type: &str, json: &str) -> Result<(), String> {
    imp::emit(entity_type, json)
}

/// [`publish`] with data that is already JSON text.
pub fn publish_json(event_type: &str, json: &str) -> Result<(), String> {
    imp::publish(event_type, json)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::LogLevel;
    use crate::bindings::hookhost::handler::{host, types};

    pub fn emit(entity_type: &str, json: &str) -> Result<(), String> {
        host::emit(entity_type, json)
    }

    pub fn publish(event_type: &str, json: &str) -> Result<(), String> {
        host::publish(event_type, json)
    }

    pub fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => types::LogLevel::Trace,
            LogLevel::Debug => types::LogLevel::Debug,
            LogLevel::Info => types::LogLevel::Info,
            LogLevel::Warn => types::LogLevel::Warn,
            LogLevel::Error => types::LogLevel::Error,
        };
        host::log(level, message)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::LogLevel;
    use crate::testing;

    pub fn emit(entity_type: &str, json: &str) -> Result<(), String> {
        testing::record_emit(entity_type, json)
    }

    pub fn publish(event_type: &str, json: &str) -> Result<(), String> {
        testing::record_publish(event_type, json)
    }

    pub fn log(level: LogLevel, message: &str) {
        testing::record_log(level, message)
    }
}
