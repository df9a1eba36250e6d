//! Prometheus metrics: names, the process-wide recorder and `GET /metrics`.
//!
//! Counters and histograms are recorded where things happen (ingress,
//! sandbox, compiler, delivery worker) through the `metrics` facade; gauges
//! that describe stored state (queue depth, disabled endpoints, webhooks) are
//! computed and rendered by each server's own `/metrics` handler. Every metric is listed in
//! `docs/operations.md`.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Requests answered on webhook URLs, by `class` (`2xx`, `4xx`, `5xx`, ...).
pub const INBOUND_REQUESTS: &str = "hookhost_inbound_requests_total";
/// Wall time of handler invocations (instantiation included), seconds.
pub const HANDLER_DURATION: &str = "hookhost_handler_duration_seconds";
/// Sandbox failures by `kind` (`trap`, `timeout`, `memory_limit`, ...).
pub const SANDBOX_FAILURES: &str = "hookhost_sandbox_failures_total";
/// Time to validate and compile an uploaded component, seconds.
pub const COMPILE_DURATION: &str = "hookhost_compile_duration_seconds";
/// Outbound delivery attempts by `result` (`success`, `http_error`, `network_error`).
pub const OUTBOUND_ATTEMPTS: &str = "hookhost_outbound_attempts_total";
/// Time from an event's creation to its successful delivery, seconds.
pub const DELIVERY_LAG: &str = "hookhost_delivery_lag_seconds";
/// Endpoints disabled automatically, by `reason` (`gone`, `failing`).
pub const ENDPOINTS_DISABLED_TOTAL: &str = "hookhost_endpoints_disabled_total";
/// Invocation log records dropped because the log writer fell behind.
pub const INVOCATION_RECORDS_DROPPED: &str = "hookhost_invocation_records_dropped_total";
/// Deliveries waiting for an attempt (scrape time).
pub const QUEUE_DEPTH: &str = "hookhost_delivery_queue_depth";
/// Endpoints currently disabled (scrape time).
pub const ENDPOINTS_DISABLED: &str = "hookhost_endpoints_disabled";
/// Registered webhooks (scrape time).
pub const WEBHOOKS: &str = "hookhost_webhooks";
/// Uploaded modules (scrape time).
pub const MODULES: &str = "hookhost_modules";

/// The process-wide Prometheus recorder, installed on first use. Servers in
/// one process (tests) share it.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HANDLER_DURATION.into()),
                &[
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(COMPILE_DURATION.into()),
                    &[0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(DELIVERY_LAG.into()),
                    &[
                        0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0,
                        7200.0, 86400.0,
                    ],
                )
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program's):
        // then ours still renders, it just sees nothing.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        handle.clone()
    })
}

/// Handles of the metrics recorded on every request or delivery, looked up
/// once: the macros hash their name and labels on each call, which showed in
/// the ingress benchmark.
pub struct Hot {
    inbound: [metrics::Counter; 5],
    /// [`HANDLER_DURATION`].
    pub handler_duration: metrics::Histogram,
    attempts: [metrics::Counter; 3],
    /// [`DELIVERY_LAG`].
    pub delivery_lag: metrics::Histogram,
}

impl Hot {
    /// [`INBOUND_REQUESTS`] for `status`'s class.
    pub fn inbound(&self, status: u16) -> &metrics::Counter {
        &self.inbound[class_index(status)]
    }

    /// [`OUTBOUND_ATTEMPTS`] for an attempt that got `status` (`None`: no
    /// response); returns the counter and its `result` label.
    pub fn attempt(&self, status: Option<u16>) -> (&metrics::Counter, &'static str) {
        let i = match status {
            Some(200..=299) => 0,
            Some(_) => 1,
            None => 2,
        };
        (&self.attempts[i], RESULTS[i])
    }
}

/// The hot-path metric handles (registered after the recorder is installed).
pub fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| {
        handle();
        Hot {
            inbound: CLASSES.map(|class| metrics::counter!(INBOUND_REQUESTS, "class" => class)),
            handler_duration: metrics::histogram!(HANDLER_DURATION),
            attempts: RESULTS
                .map(|result| metrics::counter!(OUTBOUND_ATTEMPTS, "result" => result)),
            delivery_lag: metrics::histogram!(DELIVERY_LAG),
        }
    })
}

/// The `result` labels of [`OUTBOUND_ATTEMPTS`], in [`Hot::attempt`] order.
const RESULTS: [&str; 3] = ["success", "http_error", "network_error"];

/// The `class` labels of [`INBOUND_REQUESTS`], in [`class_index`] order.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Index into [`CLASSES`] of an HTTP status (anything above 599 counts as 5xx).
fn class_index(status: u16) -> usize {
    usize::from((status / 100).clamp(1, 5)) - 1
}

/// The status class label of an HTTP status: `"2xx"`, `"4xx"`, ...
pub fn status_class(status: u16) -> &'static str {
    CLASSES[class_index(status)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(302), "3xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
        assert_eq!(status_class(101), "1xx");
    }
}
