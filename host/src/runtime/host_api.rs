//! The host side of the `hookhost:handler/host` interface, in both versions
//! hookhost serves: 0.2.0 (current) and 0.1.0 (the same minus `fetch` and
//! `register-webhook`).

use super::bindings::hookhost::handler::{host, types};
use super::bindings_v01::hookhost::handler::host as host_v01;
use super::invoke::GuestRecord;
use super::outgoing::{MAX_FOLLOW_UP_WEBHOOKS, forbidden_request_header};
use super::sandbox::{LimitExceeded, Sandbox};
use serde_json::value::RawValue;

impl types::Host for Sandbox {}

/// Most bytes of a follow-up webhook's description.
const MAX_DESCRIPTION_BYTES: usize = 1024;

impl host_v01::Host for Sandbox {
    async fn emit(
        &mut self,
        entity_type: String,
        data: String,
    ) -> wasmtime::Result<Result<(), String>> {
        host::Host::emit(self, entity_type, data).await
    }

    async fn publish(
        &mut self,
        event_type: String,
        data: String,
    ) -> wasmtime::Result<Result<(), String>> {
        host::Host::publish(self, event_type, data).await
    }

    async fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        host::Host::log(self, level, message).await
    }
}

impl host::Host for Sandbox {
    async fn fetch(
        &mut self,
        req: types::OutgoingRequest,
    ) -> wasmtime::Result<Result<types::IncomingResponse, String>> {
        let url = match reqwest::Url::parse(&req.url) {
            Ok(url) => url,
            Err(e) => return Ok(Err(format!("invalid URL {:?}: {e}", req.url))),
        };
        let Ok(method) = http::Method::from_bytes(req.method.as_bytes()) else {
            return Ok(Err(format!("invalid method {:?}", req.method)));
        };
        let mut headers = http::HeaderMap::new();
        for (name, value) in &req.headers {
            if forbidden_request_header(name) {
                return Ok(Err(format!("header {name:?} may not be set")));
            }
            let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) else {
                return Ok(Err(format!("invalid header {name:?}")));
            };
            headers.append(n, v);
        }
        let admitted = match self.outgoing.admit(method.as_str(), &url) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if req.body.len() > admitted.max_bytes() {
            let why = format!(
                "request body of {} bytes exceeds the limit of {} bytes per call",
                req.body.len(),
                admitted.max_bytes()
            );
            return Ok(Err(admitted.fail(why).to_string()));
        }
        let mut request = reqwest::Request::new(method, url);
        *request.headers_mut() = headers;
        *request.body_mut() = Some(req.body.into());
        Ok(match admitted.send(request).await {
            Ok(f) => Ok(types::IncomingResponse {
                status: f.status,
                headers: f.headers,
                body: f.body.to_vec(),
            }),
            Err(e) => Err(e.to_string()),
        })
    }

    async fn register_webhook(
        &mut self,
        webhook: types::NewWebhook,
    ) -> wasmtime::Result<Result<types::RegisteredWebhook, String>> {
        let Some(factory) = self.grants.webhooks.clone() else {
            return Ok(Err("this invocation cannot register webhooks".into()));
        };
        let registered = self
            .records
            .iter()
            .filter(|r| matches!(r, GuestRecord::Webhook { .. }))
            .count();
        if registered >= MAX_FOLLOW_UP_WEBHOOKS {
            return Ok(Err(format!(
                "at most {MAX_FOLLOW_UP_WEBHOOKS} webhooks may be registered in one invocation"
            )));
        }
        if webhook.description.len() > MAX_DESCRIPTION_BYTES {
            return Ok(Err(format!(
                "description longer than {MAX_DESCRIPTION_BYTES} bytes"
            )));
        }
        let payload = match webhook.payload {
            None => None,
            Some(text) if text.len() > self.max_record_bytes => {
                return Ok(Err(format!(
                    "payload of {} bytes exceeds the limit of {} bytes",
                    text.len(),
                    self.max_record_bytes
                )));
            }
            // Parsed as the webhook will store it (serde_json's depth
            // limit included), so what is accepted here is what is kept.
            Some(text) => match serde_json::from_str::<serde_json::Value>(&text)
                .and_then(|_| RawValue::from_string(text))
            {
                Ok(raw) => Some(raw),
                Err(e) => return Ok(Err(format!("payload is not valid JSON: {e}"))),
            },
        };
        let (id, url, module) = match factory.prepare(webhook.module.as_deref(), payload.as_deref())
        {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        self.records.push(GuestRecord::Webhook {
            id: id.clone(),
            module,
            payload,
            description: webhook.description,
        });
        Ok(Ok(types::RegisteredWebhook { id, url }))
    }

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
