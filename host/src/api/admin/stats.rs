//! `/v1/stats`: health at a glance, aggregated on the server: per
//! endpoint, delivery attempts, success rate and latency per hour; per
//! webhook, invocations and errors per hour. The dashboard and the portal
//! chart it.

use super::scope::{Access, Caller};
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Most attempts read for one answer; beyond it the answer says `truncated`.
const MAX_ATTEMPTS: usize = 50_000;
/// Most invocations read per webhook.
const MAX_INVOCATIONS: usize = 5_000;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// Hours to cover, 1–168 (default 24), in buckets of one hour.
    #[param(minimum = 1, maximum = 168)]
    hours: Option<u32>,
}

/// One hour of an endpoint's attempts.
#[derive(Serialize, ToSchema, Default, Clone)]
pub(crate) struct EndpointBucket {
    /// Start of the hour.
    start: DateTime<Utc>,
    /// Attempts made.
    attempts: usize,
    /// Attempts answered 2xx.
    succeeded: usize,
    /// The others.
    failed: usize,
    /// Median latency, ms.
    latency_ms_p50: Option<f64>,
    /// 95th percentile latency, ms.
    latency_ms_p95: Option<f64>,
}

/// An endpoint's health.
#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointStats {
    /// The endpoint.
    endpoint_id: String,
    /// Its URL.
    url: String,
    /// Attempts in the period.
    attempts: usize,
    /// Attempts answered 2xx.
    succeeded: usize,
    /// The others.
    failed: usize,
    /// `succeeded / attempts`, `null` without attempts.
    success_rate: Option<f64>,
    /// Median latency, ms.
    latency_ms_p50: Option<f64>,
    /// 95th percentile latency, ms.
    latency_ms_p95: Option<f64>,
    /// One per hour, oldest first.
    buckets: Vec<EndpointBucket>,
}

/// One hour of a webhook's invocations.
#[derive(Serialize, ToSchema, Default, Clone)]
pub(crate) struct WebhookBucket {
    /// Start of the hour.
    start: DateTime<Utc>,
    /// Invocations.
    invocations: usize,
    /// Invocations answered with a status of 400 or more.
    errors: usize,
    /// Median handler time, ms.
    duration_ms_p50: Option<f64>,
}

/// A webhook's health.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookStats {
    /// The webhook.
    webhook_id: String,
    /// Invocations in the period.
    invocations: usize,
    /// Those answered with a status of 400 or more.
    errors: usize,
    /// Median handler time, ms.
    duration_ms_p50: Option<f64>,
    /// One per hour, oldest first.
    buckets: Vec<WebhookBucket>,
}

/// Health of a workspace's endpoints and webhooks.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stats {
    /// Start of the first hour.
    since: DateTime<Utc>,
    /// Now.
    until: DateTime<Utc>,
    /// Width of a bucket (3600).
    bucket_seconds: u32,
    /// Every endpoint of the workspace.
    endpoints: Vec<EndpointStats>,
    /// Every webhook of the workspace (none for portal links).
    webhooks: Vec<WebhookStats>,
    /// Whether more records were in the period than were read (the most
    /// recent ones were counted).
    truncated: bool,
}

/// Per endpoint, attempts, success rate and latency per hour (attempts of
/// deliveries created in the period); per webhook, invocations and errors.
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(StatsQuery),
    responses((status = 200, description = "The workspace's health", body = Stats), ErrorResponses))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::invalid("hours must be between 1 and 168"));
    }
    let ws = &caller.workspace_id;
    let until = Utc::now();
    let first_hour = until.duration_trunc(Duration::hours(1)).unwrap_or(until)
        - Duration::hours(i64::from(hours) - 1);
    let bucket = |at: DateTime<Utc>| -> Option<usize> {
        let i = (at - first_hour).num_hours();
        (0..i64::from(hours)).contains(&i).then_some(i as usize)
    };
    let starts: Vec<_> = (0..hours)
        .map(|i| first_hour + Duration::hours(i64::from(i)))
        .collect();
    let mut truncated = false;

    let store = state.outbound.store();
    let workspace_endpoints: Vec<_> = state
        .outbound
        .endpoints()
        .await?
        .into_iter()
        .filter(|e| e.workspace_id == *ws)
        .collect();
    let endpoint_ids: Vec<String> = workspace_endpoints.iter().map(|e| e.id.clone()).collect();
    let (attempts, cut) = store
        .recent_attempts(ws, &endpoint_ids, first_hour, MAX_ATTEMPTS)
        .await?;
    truncated |= cut;
    // Per endpoint, per hour: (ok, failed, latencies).
    type Hour = (usize, usize, Vec<f64>);
    let mut per_endpoint: BTreeMap<String, Vec<Hour>> = BTreeMap::new();
    for (endpoint, a) in attempts {
        let Some(i) = bucket(a.at) else { continue };
        let hours_of = per_endpoint
            .entry(endpoint)
            .or_insert_with(|| vec![(0, 0, Vec::new()); hours as usize]);
        let ok = a.status_code.is_some_and(|c| (200..300).contains(&c));
        let h = &mut hours_of[i];
        if ok {
            h.0 += 1;
        } else {
            h.1 += 1;
        }
        h.2.push(a.latency_ms);
    }
    let mut endpoints = Vec::new();
    for ep in workspace_endpoints {
        let hours_of = per_endpoint.remove(&ep.id).unwrap_or_default();
        let mut all = Vec::new();
        let buckets = starts
            .iter()
            .enumerate()
            .map(|(i, start)| {
                let (ok, failed, mut lat) = hours_of.get(i).cloned().unwrap_or_default();
                all.extend_from_slice(&lat);
                EndpointBucket {
                    start: *start,
                    attempts: ok + failed,
                    succeeded: ok,
                    failed,
                    latency_ms_p50: percentile(&mut lat, 0.5),
                    latency_ms_p95: percentile(&mut lat, 0.95),
                }
            })
            .collect::<Vec<_>>();
        let succeeded: usize = buckets.iter().map(|b| b.succeeded).sum();
        let attempts: usize = buckets.iter().map(|b| b.attempts).sum();
        endpoints.push(EndpointStats {
            endpoint_id: ep.id,
            url: ep.url,
            attempts,
            succeeded,
            failed: attempts - succeeded,
            success_rate: (attempts > 0).then(|| succeeded as f64 / attempts as f64),
            latency_ms_p50: percentile(&mut all, 0.5),
            latency_ms_p95: percentile(&mut all, 0.95),
            buckets,
        });
    }

    // The portal shows no webhooks.
    let mut webhooks = Vec::new();
    if !matches!(caller.access, Access::Portal { .. }) {
        for hook in state.registry.webhooks_of(ws) {
            let mut per_hour: Vec<(usize, usize, Vec<f64>)> =
                vec![(0, 0, Vec::new()); hours as usize];
            let outcomes = store
                .invocation_outcomes(&hook.record.id, first_hour, MAX_INVOCATIONS + 1)
                .await?;
            truncated |= outcomes.len() > MAX_INVOCATIONS;
            for inv in outcomes.iter().take(MAX_INVOCATIONS) {
                if let Some(i) = bucket(inv.received_at) {
                    per_hour[i].0 += 1;
                    if inv.status >= 400 {
                        per_hour[i].1 += 1;
                    }
                    per_hour[i].2.push(inv.duration_ms);
                }
            }
            let mut all = Vec::new();
            let buckets: Vec<_> = per_hour
                .into_iter()
                .zip(&starts)
                .map(|((n, errors, mut d), start)| {
                    all.extend_from_slice(&d);
                    WebhookBucket {
                        start: *start,
                        invocations: n,
                        errors,
                        duration_ms_p50: percentile(&mut d, 0.5),
                    }
                })
                .collect();
            webhooks.push(WebhookStats {
                webhook_id: hook.record.id.clone(),
                invocations: buckets.iter().map(|b| b.invocations).sum(),
                errors: buckets.iter().map(|b| b.errors).sum(),
                duration_ms_p50: percentile(&mut all, 0.5),
                buckets,
            });
        }
    }
    Ok(Json(Stats {
        since: first_hour,
        until,
        bucket_seconds: 3600,
        endpoints,
        webhooks,
        truncated,
    }))
}

/// The `p` quantile (nearest rank) of `values`, `None` when empty.
fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        assert_eq!(percentile(&mut [], 0.5), None);
        assert_eq!(percentile(&mut [3.0], 0.95), Some(3.0));
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), Some(50.0));
        assert_eq!(percentile(&mut v, 0.95), Some(95.0));
    }
}
