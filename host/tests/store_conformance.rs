//! The storage conformance suite: every test here is written once against
//! [`Backend`] and runs against both back ends, sled (in a temporary
//! directory) and PostgreSQL (in a schema of its own, dropped afterwards),
//! followed by a few tests of what only PostgreSQL does (migrations, the
//! change feed).
//!
//! PostgreSQL comes from `HOOKHOST_TEST_DATABASE_URL`, or else a local
//! server at `host=127.0.0.1 port=5432 user=postgres dbname=test`; without
//! either the PostgreSQL tests fail (they are never skipped): run
//! `scripts/test.sh`, which starts one.

use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use hookhost::signing::SignatureScheme;
use hookhost::store::{
    AttemptRecord, Backend, Change, DedupRecord, DeliveryFilter, DeliveryOrder, DeliveryRecord,
    DeliveryStatus, EmissionRecord, EndpointRecord, EventRecord, InvocationCommit,
    InvocationRecord, MetaKind, MetaRecord, ModuleRecord, Postgres, QueuePos, Sled,
    TransformedMessage, WebhookRecord, ids,
};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

type Store = Arc<dyn Backend>;

// ---- running each test on both back ends ----

/// Declares, for each test function, one test on sled and one on PostgreSQL.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::with_sled(super::$name).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::with_postgres(super::$name).await;
                }
            )*
        }
    };
}

conformance!(
    registry_records_round_trip,
    module_bytes_are_shared_and_removed_only_when_unused,
    accepted_events_queue_their_deliveries,
    an_idempotency_key_answers_the_first_event,
    concurrent_accepts_of_one_key_have_one_winner,
    a_recorded_attempt_moves_the_delivery_in_the_queue,
    leases_exclude_other_attempts,
    leases_hold_an_endpoint_to_its_concurrency,
    rate_slots_are_shared_where_nodes_share_the_store,
    a_requeued_delivery_is_due_again,
    first_pending_is_the_head_of_a_line,
    published_events_are_fanned_out_once,
    lists_page_with_cursors_and_filters,
    deduplication_answers_are_remembered,
    deleting_a_webhook_removes_its_invocations_and_answers,
    pruning_keeps_the_newest_invocations,
    retention_keeps_pending_work_and_removes_finished_work,
    tenancy_records_round_trip,
    records_are_listed_and_purged_per_workspace,
    recent_attempts_are_those_of_recent_deliveries_of_the_workspace,
    transformed_and_skipped_deliveries_are_kept,
    follow_up_webhooks_are_committed_with_their_invocation,
);

async fn with_sled<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Sled::open(dir.path()).expect("open the sled store");
    test(Arc::new(store)).await;
}

async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let (pg, _) = postgres().await;
    dropping_schema_after(&pg, test(pg.clone())).await;
}

/// Runs `test`, then drops `pg`'s schema, even when the test fails.
async fn dropping_schema_after(pg: &Postgres, test: impl Future<Output = ()>) {
    let outcome = AssertUnwindSafe(test).catch_unwind().await;
    pg.drop_schema().await.expect("drop the test schema");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The server the PostgreSQL tests use.
async fn database_url() -> String {
    if let Ok(url) = std::env::var("HOOKHOST_TEST_DATABASE_URL") {
        return url;
    }
    const LOCAL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
    match tokio_postgres::connect(LOCAL, tokio_postgres::NoTls).await {
        Ok(_) => LOCAL.to_string(),
        Err(e) => panic!(
            "the PostgreSQL storage tests need a server, and none answers at {LOCAL:?} ({e}): \
             run scripts/test.sh (which starts one) or set HOOKHOST_TEST_DATABASE_URL"
        ),
    }
}

/// A store in a new schema of its own, with the URL and the schema name.
async fn postgres() -> (Arc<Postgres>, (String, String)) {
    let url = database_url().await;
    let schema = format!(
        "hh_test_{}_{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let pg = Postgres::connect(&url, Some(&schema))
        .await
        .unwrap_or_else(|e| panic!("connect to PostgreSQL at {url:?}: {e}"));
    (Arc::new(pg), (url, schema))
}

// ---- records ----

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).expect("valid JSON")
}

/// An id with `prefix` created at `at` (ids order by creation time, but
/// two made this way in the same millisecond in random order).
fn id_created_at(prefix: &str, at: DateTime<Utc>) -> String {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        at.timestamp() as u64,
        at.timestamp_subsec_nanos(),
    );
    format!("{prefix}_{}", uuid::Uuid::new_v7(ts).simple())
}

fn event(event_type: &str) -> EventRecord {
    EventRecord {
        workspace_id: "default".into(),
        id: ids::new("evt").0,
        event_type: event_type.into(),
        data: raw(r#"{"n": 1}"#),
        created_at: Utc::now(),
        source: None,
    }
}

/// A delivery of `event` to `endpoint_id`, due at the event's creation.
fn delivery(event: &EventRecord, endpoint_id: &str) -> DeliveryRecord {
    DeliveryRecord {
        transformed: None,
        workspace_id: "default".into(),
        id: ids::new("dlv").0,
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        endpoint_id: endpoint_id.into(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(event.created_at),
        last_status_code: None,
        last_error: None,
        created_at: event.created_at,
        updated_at: event.created_at,
    }
}

fn attempt(d: &DeliveryRecord, n: u32, status: u16) -> AttemptRecord {
    AttemptRecord {
        delivery_id: d.id.clone(),
        attempt: n,
        at: Utc::now(),
        status_code: Some(status),
        latency_ms: 12.5,
        response_body: format!("answer {n}"),
        error: None,
    }
}

/// `d` after an attempt that ended with `status`, due again at `next`
/// when pending.
fn after_attempt(
    d: &DeliveryRecord,
    status: DeliveryStatus,
    next: Option<DateTime<Utc>>,
) -> DeliveryRecord {
    DeliveryRecord {
        workspace_id: "default".into(),
        status,
        attempts: d.attempts + 1,
        next_attempt_at: next,
        updated_at: Utc::now(),
        ..d.clone()
    }
}

fn webhook(id: &str, description: &str) -> WebhookRecord {
    let now = Utc::now();
    WebhookRecord {
        capture: false,
        workspace_id: "default".into(),
        id: id.into(),
        module: "echo".into(),
        payload: Some(serde_json::json!({"k": "v"})),
        description: description.into(),
        enabled: true,
        verify: None,
        dedup: None,
        outbound_hosts: Vec::new(),
        reuse_instances: false,
        created_at: now,
        updated_at: now,
    }
}

fn endpoint(url: &str) -> EndpointRecord {
    let now = Utc::now();
    EndpointRecord {
        transform: None,
        workspace_id: "default".into(),
        id: ids::new("ep").0,
        url: url.into(),
        events: vec!["*".into()],
        filters: serde_json::Map::new(),
        filter: None,
        description: String::new(),
        active: true,
        headers: BTreeMap::new(),
        ordering: DeliveryOrder::Parallel,
        rate_limit: None,
        secret: "whsec_c2VjcmV0".into(),
        retired_secrets: Vec::new(),
        signature: SignatureScheme::Standard,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    }
}

fn module(name: &str, sha256: &str) -> ModuleRecord {
    let now = Utc::now();
    ModuleRecord {
        workspace_id: "default".into(),
        name: name.into(),
        sha256: sha256.into(),
        size: 3,
        created_at: now,
        updated_at: now,
    }
}

/// A new invocation of `webhook_id` (ids of one process are in creation
/// order, to the millisecond and within it).
fn invocation(webhook_id: &str) -> InvocationRecord {
    InvocationRecord {
        id: ids::new("inv").0,
        ..invocation_at(webhook_id, Utc::now())
    }
}

/// An invocation of `webhook_id` received at `at`.
fn invocation_at(webhook_id: &str, at: DateTime<Utc>) -> InvocationRecord {
    InvocationRecord {
        request: None,
        response: None,
        calls: vec![],
        registered: vec![],
        reused: false,
        id: id_created_at("inv", at),
        webhook_id: webhook_id.into(),
        received_at: at,
        method: "POST".into(),
        path: "/".into(),
        status: 200,
        outcome: "ok".into(),
        duration_ms: 1.5,
        error: None,
        emitted: 0,
        published: 0,
        output: None,
    }
}

fn emission(inv: &InvocationRecord, entity_type: &str) -> EmissionRecord {
    EmissionRecord {
        workspace_id: "default".into(),
        id: ids::new("em").0,
        entity_type: entity_type.into(),
        data: raw(r#"{"id":1}"#),
        webhook_id: inv.webhook_id.clone(),
        invocation_id: inv.id.clone(),
        created_at: inv.received_at,
    }
}

fn commit(
    invocation: InvocationRecord,
    emissions: Vec<EmissionRecord>,
    events: Vec<EventRecord>,
) -> InvocationCommit {
    InvocationCommit {
        invocation,
        emissions,
        events,
        webhooks: vec![],
    }
}

fn answer(at: DateTime<Utc>, expires_at: DateTime<Utc>) -> DedupRecord {
    DedupRecord {
        invocation_id: ids::new("inv").0,
        at,
        expires_at,
        status: 201,
        content_type: Some("application/json".into()),
        body: b"{\"ok\":true}\x00\xff".to_vec(),
    }
}

fn ids_of<T>(records: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    records.iter().map(|r| id(r).to_string()).collect()
}

/// The next due time `at` as the queue keeps it (milliseconds).
fn to_ms(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).expect("in range")
}

// ---- the suite ----

async fn registry_records_round_trip(s: Store) {
    s.put_module(&module("beta", "b1")).await.unwrap();
    s.put_module(&module("alpha", "a1")).await.unwrap();
    assert_eq!(s.get_module("alpha").await.unwrap().unwrap().sha256, "a1");
    assert!(s.get_module("gamma").await.unwrap().is_none());
    s.put_module(&module("alpha", "a2")).await.unwrap();
    let modules = s.list_modules().await.unwrap();
    assert_eq!(ids_of(&modules, |m| &m.name), ["alpha", "beta"]);
    assert_eq!(modules[0].sha256, "a2", "a put replaces");
    s.delete_module("beta").await.unwrap();
    assert!(s.get_module("beta").await.unwrap().is_none());
    assert_eq!(s.list_modules().await.unwrap().len(), 1);

    s.put_webhook(&webhook("wh_b", "first")).await.unwrap();
    s.put_webhook(&webhook("wh_a", "other")).await.unwrap();
    s.put_webhook(&webhook("wh_b", "second")).await.unwrap();
    let hooks = s.list_webhooks().await.unwrap();
    assert_eq!(ids_of(&hooks, |w| &w.id), ["wh_a", "wh_b"]);
    assert_eq!(hooks[1].description, "second");
    assert_eq!(hooks[1].payload, Some(serde_json::json!({"k": "v"})));
    let one = s.get_webhook("wh_b").await.unwrap().unwrap();
    assert_eq!(one.description, "second");
    s.delete_webhook("wh_a").await.unwrap();
    assert_eq!(
        ids_of(&s.list_webhooks().await.unwrap(), |w| &w.id),
        ["wh_b"]
    );
    assert!(s.get_webhook("wh_a").await.unwrap().is_none());

    let first = endpoint("https://one.example/hook");
    let second = endpoint("https://two.example/hook");
    s.put_endpoint(&second).await.unwrap();
    s.put_endpoint(&first).await.unwrap();
    assert_eq!(
        s.get_endpoint(&first.id).await.unwrap().unwrap().url,
        first.url
    );
    let mut changed = first.clone();
    changed.active = false;
    s.put_endpoint(&changed).await.unwrap();
    let endpoints = s.list_endpoints().await.unwrap();
    assert_eq!(
        ids_of(&endpoints, |e| &e.id),
        [first.id.clone(), second.id.clone()],
        "oldest first"
    );
    assert!(!endpoints[0].active);
    assert!(s.delete_endpoint(&first.id).await.unwrap());
    assert!(!s.delete_endpoint(&first.id).await.unwrap());
    assert!(s.get_endpoint(&first.id).await.unwrap().is_none());
    assert_eq!(s.list_endpoints().await.unwrap().len(), 1);
}

async fn module_bytes_are_shared_and_removed_only_when_unused(s: Store) {
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    s.put_module_bytes(sha, b"abc").await.unwrap();
    // Equal uploads share the bytes.
    s.put_module_bytes(sha, b"abc").await.unwrap();
    assert_eq!(
        s.module_bytes(sha).await.unwrap().as_deref(),
        Some(&b"abc"[..])
    );
    assert!(s.module_bytes("00").await.unwrap().is_none());
    s.put_module(&module("one", sha)).await.unwrap();
    s.put_module(&module("two", sha)).await.unwrap();

    assert!(!s.remove_module_bytes_if_unused(sha).await.unwrap());
    s.delete_module("one").await.unwrap();
    assert!(!s.remove_module_bytes_if_unused(sha).await.unwrap());
    assert!(s.module_bytes(sha).await.unwrap().is_some());
    s.delete_module("two").await.unwrap();
    assert!(s.remove_module_bytes_if_unused(sha).await.unwrap());
    assert!(s.module_bytes(sha).await.unwrap().is_none());
}

async fn accepted_events_queue_their_deliveries(s: Store) {
    let mut e = event("user.created");
    // Kept byte for byte: the data is signed as accepted.
    let data = r#"{"b": 1,  "a":[1, 2.50], "u":"\u00e9"}"#;
    e.data = raw(data);
    let d1 = delivery(&e, "ep_a");
    let d2 = delivery(&e, "ep_b");
    assert_eq!(
        s.accept_event(&e, &[d1.clone(), d2.clone()], None)
            .await
            .unwrap(),
        None
    );

    let stored = s.get_event(&e.id).await.unwrap().unwrap();
    assert_eq!(stored.data.get(), data);
    assert_eq!(stored.event_type, "user.created");
    assert_eq!(stored.created_at, e.created_at);
    let got = s.get_delivery(&d2.id).await.unwrap().unwrap();
    assert_eq!(got.endpoint_id, "ep_b");
    assert_eq!(
        got.created_at, d2.created_at,
        "timestamps keep their precision"
    );
    assert!(s.get_delivery("dlv_missing").await.unwrap().is_none());

    assert_eq!(s.queue_depth().await.unwrap(), 2);
    assert_eq!(s.next_due().await.unwrap(), Some(to_ms(e.created_at)));
    let now = e.created_at;
    assert!(
        s.due_deliveries(now - Duration::seconds(1), None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is due before its time"
    );
    let due = s.due_deliveries(now, None, 10).await.unwrap();
    assert_eq!(ids_of(&due, |d| &d.id), [d1.id.clone(), d2.id.clone()]);
    assert_eq!(Some(&due[0].pos), QueuePos::of(&d1).as_ref());
    assert!(due[0].pos.is_current(&d1));
    assert_eq!(due[1].endpoint_id.as_deref(), Some("ep_b"));

    // Scans resume strictly after a position.
    let head = s.due_deliveries(now, None, 1).await.unwrap();
    assert_eq!(head[0].id, d1.id);
    let rest = s.due_deliveries(now, Some(&head[0].pos), 10).await.unwrap();
    assert_eq!(ids_of(&rest, |d| &d.id), std::slice::from_ref(&d2.id));
    assert!(
        s.due_deliveries(now, Some(&rest[0].pos), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_idempotency_key_answers_the_first_event(s: Store) {
    let first = event("order.paid");
    s.accept_event(&first, &[delivery(&first, "ep_a")], Some("key-1"))
        .await
        .unwrap();

    let mut again = event("order.paid");
    again.created_at = first.created_at + Duration::hours(1);
    let again_delivery = delivery(&again, "ep_a");
    let answer = s
        .accept_event(&again, std::slice::from_ref(&again_delivery), Some("key-1"))
        .await
        .unwrap();
    assert_eq!(answer, Some(first.id.clone()));
    // Nothing of the repeat was written.
    assert!(s.get_event(&again.id).await.unwrap().is_none());
    assert!(s.get_delivery(&again_delivery.id).await.unwrap().is_none());
    assert_eq!(s.queue_depth().await.unwrap(), 1);

    // Another key is another event.
    let other = event("order.paid");
    assert_eq!(
        s.accept_event(&other, &[], Some("key-2")).await.unwrap(),
        None
    );

    // Past the window the key is taken anew.
    let mut later = event("order.paid");
    later.created_at = first.created_at + hookhost::store::IDEMPOTENCY_WINDOW;
    assert_eq!(
        s.accept_event(&later, &[], Some("key-1")).await.unwrap(),
        None
    );
    let mut repeat = event("order.paid");
    repeat.created_at = later.created_at + Duration::seconds(1);
    assert_eq!(
        s.accept_event(&repeat, &[], Some("key-1")).await.unwrap(),
        Some(later.id.clone())
    );
}

async fn concurrent_accepts_of_one_key_have_one_winner(s: Store) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let e = event("t");
            let key = (i % 2 == 0).then_some("the-key");
            let answer = s
                .accept_event(&e, &[delivery(&e, "ep_a")], key)
                .await
                .unwrap();
            (key.is_some(), e.id, answer)
        }));
    }
    let mut winners = Vec::new();
    let mut repeats = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (true, id, None) => winners.push(id),
            (true, _, Some(first)) => repeats.push(first),
            (false, _, answer) => assert_eq!(answer, None, "no key, no repeat"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one accept takes the key");
    assert_eq!(repeats.len(), 19);
    assert!(repeats.iter().all(|r| *r == winners[0]));
    // The winner and the 20 accepts without a key, each with a delivery.
    let events = s.list_events("default", None, None, 100).await.unwrap();
    assert_eq!(events.data.len(), 21);
    assert_eq!(s.queue_depth().await.unwrap(), 21);
}

async fn a_recorded_attempt_moves_the_delivery_in_the_queue(s: Store) {
    let e = event("t");
    let d = delivery(&e, "ep_a");
    s.accept_event(&e, std::slice::from_ref(&d), None)
        .await
        .unwrap();
    let now = e.created_at;
    let later = now + Duration::seconds(5);

    let failed = after_attempt(&d, DeliveryStatus::Pending, Some(later));
    s.record_attempt(
        QueuePos::of(&d).as_ref(),
        &failed,
        Some(&attempt(&d, 1, 500)),
    )
    .await
    .unwrap();
    assert!(s.due_deliveries(now, None, 10).await.unwrap().is_empty());
    let due = s.due_deliveries(later, None, 10).await.unwrap();
    assert_eq!(ids_of(&due, |d| &d.id), std::slice::from_ref(&d.id));
    assert_eq!(due[0].pos, QueuePos::at(later, &d.id));
    assert!(!due[0].pos.is_current(&d), "the old position is gone");
    assert!(due[0].pos.is_current(&failed));
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    assert_eq!(s.next_due().await.unwrap(), Some(to_ms(later)));
    // A scan after the entry's own position finds nothing more.
    assert!(
        s.due_deliveries(later, Some(&due[0].pos), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let delivered = after_attempt(&failed, DeliveryStatus::Success, None);
    s.record_attempt(Some(&due[0].pos), &delivered, Some(&attempt(&d, 2, 204)))
        .await
        .unwrap();
    assert!(s.due_deliveries(later, None, 10).await.unwrap().is_empty());
    assert_eq!(s.queue_depth().await.unwrap(), 0);
    assert_eq!(s.next_due().await.unwrap(), None);
    let stored = s.get_delivery(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Success);
    assert_eq!(stored.attempts, 2);
    let attempts = s.list_attempts(&d.id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.attempt, a.status_code))
            .collect::<Vec<_>>(),
        [(1, Some(500)), (2, Some(204))]
    );
    assert_eq!(attempts[1].response_body, "answer 2");
    assert!(s.list_attempts("dlv_none").await.unwrap().is_empty());
}

/// Leases the delivery at `pos` (of endpoint `ep_a`) alone.
async fn lease_one(s: &Store, pos: &QueuePos, until: chrono::DateTime<Utc>) -> bool {
    s.lease(&[(pos.clone(), "ep_a".into())], 8, until)
        .await
        .unwrap()[0]
}

async fn leases_hold_an_endpoint_to_its_concurrency(s: Store) {
    let mut wanted = Vec::new();
    let mut all = Vec::new();
    for ep in ["ep_a", "ep_a", "ep_a", "ep_b"] {
        let e = event("t");
        let d = delivery(&e, ep);
        s.accept_event(&e, std::slice::from_ref(&d), None)
            .await
            .unwrap();
        wanted.push((QueuePos::of(&d).unwrap(), ep.to_string()));
        all.push(d);
    }
    let until = Utc::now() + Duration::seconds(30);
    let taken = s.lease(&wanted, 2, until).await.unwrap();
    if s.kind() == "postgres" {
        // Two of ep_a's at once at most, whichever node asks.
        assert_eq!(taken, [true, true, false, true]);
        assert_eq!(s.lease(&wanted[2..3], 2, until).await.unwrap(), [false]);
        // One attempt recorded: room for the third.
        let done = after_attempt(&all[0], DeliveryStatus::Success, None);
        s.record_attempt(Some(&wanted[0].0), &done, Some(&attempt(&all[0], 1, 200)))
            .await
            .unwrap();
        assert_eq!(s.lease(&wanted[2..3], 2, until).await.unwrap(), [true]);
    } else {
        // sled: one process, whose per-endpoint slots are the limit.
        assert_eq!(taken, [true; 4]);
    }
}

async fn rate_slots_are_shared_where_nodes_share_the_store(s: Store) {
    let second = std::time::Duration::from_secs(1);
    let zero = std::time::Duration::ZERO;
    let first = s.take_rate_slot("ep_a", second, zero).await.unwrap();
    if s.kind() == "postgres" {
        // One slot per second: the next is refused, whichever node asks;
        // another endpoint has its own pace; a tolerance lets one more in.
        assert_eq!(first, Some(true));
        assert_eq!(
            s.take_rate_slot("ep_a", second, zero).await.unwrap(),
            Some(false)
        );
        assert_eq!(
            s.take_rate_slot("ep_b", second, zero).await.unwrap(),
            Some(true)
        );
        assert_eq!(
            s.take_rate_slot("ep_a", second, second * 2).await.unwrap(),
            Some(true)
        );
    } else {
        // sled: one process, which paces in memory.
        assert_eq!(first, None);
    }
}

async fn leases_exclude_other_attempts(s: Store) {
    let e = event("t");
    let d = delivery(&e, "ep_a");
    s.accept_event(&e, std::slice::from_ref(&d), None)
        .await
        .unwrap();
    let now = e.created_at;
    let pos = s.due_deliveries(now, None, 10).await.unwrap()[0]
        .pos
        .clone();
    assert!(lease_one(&s, &pos, Utc::now() + Duration::seconds(30)).await);
    // sled serves one process, whose in-memory claims keep a delivery to
    // one attempt at a time, and its lease always succeeds; PostgreSQL
    // serves several nodes, and the lease is what keeps them apart.
    if s.kind() == "postgres" {
        assert!(!lease_one(&s, &pos, Utc::now() + Duration::seconds(30)).await);
        assert!(
            s.due_deliveries(now, None, 10).await.unwrap().is_empty(),
            "a leased delivery is not offered"
        );
        assert_eq!(
            s.next_due().await.unwrap(),
            None,
            "nodes do not wait for a delivery another node attempts"
        );
        assert_eq!(s.queue_depth().await.unwrap(), 1, "it is still queued");
        let stale = QueuePos::at(now - Duration::seconds(1), &d.id);
        assert!(!lease_one(&s, &stale, Utc::now() + Duration::seconds(30)).await);
    }

    // Recording the attempt ends the lease: due again at its new position.
    let retry = after_attempt(
        &d,
        DeliveryStatus::Pending,
        Some(now + Duration::milliseconds(1)),
    );
    s.record_attempt(Some(&pos), &retry, Some(&attempt(&d, 1, 503)))
        .await
        .unwrap();
    let due = s
        .due_deliveries(now + Duration::seconds(1), None, 10)
        .await
        .unwrap();
    assert_eq!(ids_of(&due, |d| &d.id), std::slice::from_ref(&d.id));
    assert!(due[0].pos.is_current(&retry));
    // An expired lease holds nobody off.
    assert!(lease_one(&s, &due[0].pos, Utc::now() - Duration::seconds(1)).await);
    assert!(lease_one(&s, &due[0].pos, Utc::now() + Duration::seconds(30)).await);
}

async fn a_requeued_delivery_is_due_again(s: Store) {
    let e = event("t");
    let d = delivery(&e, "ep_a");
    s.accept_event(&e, std::slice::from_ref(&d), None)
        .await
        .unwrap();
    let failed = after_attempt(&d, DeliveryStatus::Failed, None);
    s.record_attempt(
        QueuePos::of(&d).as_ref(),
        &failed,
        Some(&attempt(&d, 1, 410)),
    )
    .await
    .unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 0);

    let now = Utc::now();
    let retried = DeliveryRecord {
        workspace_id: "default".into(),
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(now),
        updated_at: now,
        ..failed.clone()
    };
    s.requeue_delivery(&retried, None).await.unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    let due = s.due_deliveries(now, None, 10).await.unwrap();
    assert_eq!(ids_of(&due, |d| &d.id), std::slice::from_ref(&d.id));
    assert!(due[0].pos.is_current(&retried));
    let stored = s.get_delivery(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.attempts, 1);

    // Requeued again at another time: it moves.
    let later = DeliveryRecord {
        workspace_id: "default".into(),
        next_attempt_at: Some(now + Duration::minutes(5)),
        ..retried.clone()
    };
    s.requeue_delivery(&later, retried.next_attempt_at)
        .await
        .unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    assert!(s.due_deliveries(now, None, 10).await.unwrap().is_empty());
    // The stale position is dropped (a no-op where the queue is the table).
    s.drop_due(&due[0].pos).await.unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 1);
}

async fn first_pending_is_the_head_of_a_line(s: Store) {
    const TEST_TYPE: &str = "hookhost.test";
    let mut line = Vec::new();
    for event_type in [TEST_TYPE, "a", "a"] {
        let e = event(event_type);
        let d = delivery(&e, "ep_fifo");
        let other = delivery(&e, "ep_other");
        s.accept_event(&e, &[d.clone(), other], None).await.unwrap();
        line.push(d);
    }
    let head = |from: Option<String>, except: &'static str| {
        let s = s.clone();
        async move {
            s.first_pending("ep_fifo", from.as_deref(), except)
                .await
                .unwrap()
        }
    };
    assert_eq!(head(None, TEST_TYPE).await, Some(line[1].id.clone()));
    assert_eq!(head(None, "a").await, Some(line[0].id.clone()));
    assert_eq!(
        head(Some(line[1].id.clone()), TEST_TYPE).await,
        Some(line[1].id.clone()),
        "from is inclusive"
    );
    assert_eq!(
        head(Some(line[2].id.clone()), TEST_TYPE).await,
        Some(line[2].id.clone())
    );

    let done = after_attempt(&line[1], DeliveryStatus::Success, None);
    s.record_attempt(QueuePos::of(&line[1]).as_ref(), &done, None)
        .await
        .unwrap();
    assert_eq!(head(None, TEST_TYPE).await, Some(line[2].id.clone()));
    let failed = after_attempt(&line[2], DeliveryStatus::Failed, None);
    s.record_attempt(QueuePos::of(&line[2]).as_ref(), &failed, None)
        .await
        .unwrap();
    assert_eq!(head(None, TEST_TYPE).await, None);
    assert_eq!(
        s.first_pending("ep_none", None, TEST_TYPE).await.unwrap(),
        None
    );
}

async fn published_events_are_fanned_out_once(s: Store) {
    let inv = invocation("wh_pub");
    let e1 = event("user.updated");
    let e2 = event("user.deleted");
    let em = emission(&inv, "USER");
    s.commit_invocations(
        &[commit(
            inv.clone(),
            vec![em.clone()],
            vec![e1.clone(), e2.clone()],
        )],
        true,
    )
    .await
    .unwrap();
    // Not durable: written all the same.
    let quiet = invocation("wh_pub");
    s.commit_invocations(&[commit(quiet.clone(), vec![], vec![])], false)
        .await
        .unwrap();
    s.flush().await.unwrap();

    let pending = s.pending_fanout(10).await.unwrap();
    assert_eq!(ids_of(&pending, |e| &e.id), [e1.id.clone(), e2.id.clone()]);
    assert_eq!(s.pending_fanout(1).await.unwrap().len(), 1);
    assert!(s.get_event(&e1.id).await.unwrap().is_some());
    let log = s.list_invocations("wh_pub", None, 10).await.unwrap();
    assert_eq!(
        ids_of(&log.data, |i| &i.id),
        [quiet.id.clone(), inv.id.clone()]
    );
    let emissions = s
        .list_emissions("default", None, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&emissions.data, |e| &e.id),
        std::slice::from_ref(&em.id)
    );
    assert_eq!(s.queue_depth().await.unwrap(), 0);

    let d = delivery(&e1, "ep_a");
    s.fan_out(&e1.id, std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(
        ids_of(&s.pending_fanout(10).await.unwrap(), |e| &e.id),
        std::slice::from_ref(&e2.id)
    );
    assert!(s.get_delivery(&d.id).await.unwrap().is_some());
    assert_eq!(s.queue_depth().await.unwrap(), 1);

    // Another node fanning out the same event later writes nothing.
    let twice = delivery(&e1, "ep_a");
    s.fan_out(&e1.id, std::slice::from_ref(&twice))
        .await
        .unwrap();
    assert!(s.get_delivery(&twice.id).await.unwrap().is_none());
    let of_e1 = DeliveryFilter {
        workspace_id: None,
        event_id: Some(e1.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        s.list_deliveries(&of_e1, None, 10)
            .await
            .unwrap()
            .data
            .len(),
        1
    );

    s.fan_out(&e2.id, &[]).await.unwrap();
    assert!(s.pending_fanout(10).await.unwrap().is_empty());
    assert_eq!(s.queue_depth().await.unwrap(), 1);
}

async fn lists_page_with_cursors_and_filters(s: Store) {
    // Events, oldest first.
    let mut events = Vec::new();
    for t in ["a", "b", "a", "b", "a"] {
        let e = event(t);
        s.accept_event(&e, &[], None).await.unwrap();
        events.push(e.id);
    }
    let page = s.list_events("default", None, None, 2).await.unwrap();
    assert_eq!(ids_of(&page.data, |e| &e.id), events[..2]);
    assert_eq!(page.next_cursor.as_ref(), Some(&events[1]));
    let page = s
        .list_events("default", page.next_cursor.as_deref(), None, 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |e| &e.id), events[2..4]);
    let page = s
        .list_events("default", page.next_cursor.as_deref(), None, 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |e| &e.id), events[4..]);
    assert_eq!(page.next_cursor, None);
    let of_a = s.list_events("default", None, Some("a"), 2).await.unwrap();
    assert_eq!(
        ids_of(&of_a.data, |e| &e.id),
        [events[0].clone(), events[2].clone()]
    );
    let of_a = s
        .list_events("default", of_a.next_cursor.as_deref(), Some("a"), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&of_a.data, |e| &e.id), [events[4].clone()]);
    assert_eq!(of_a.next_cursor, None);
    assert!(
        s.list_events("default", None, Some("c"), 2)
            .await
            .unwrap()
            .data
            .is_empty()
    );

    // Emissions, oldest first, by entity type and webhook.
    let (inv1, inv2) = (invocation("wh_1"), invocation("wh_2"));
    let ems = vec![
        emission(&inv1, "USER"),
        emission(&inv1, "ORDER"),
        emission(&inv2, "USER"),
        emission(&inv1, "USER"),
        emission(&inv2, "USER"),
    ];
    s.commit_invocations(
        &[
            commit(inv1.clone(), vec![ems[0].clone(), ems[1].clone()], vec![]),
            commit(inv2.clone(), vec![ems[2].clone()], vec![]),
        ],
        true,
    )
    .await
    .unwrap();
    s.commit_invocations(
        &[commit(
            invocation("wh_1"),
            vec![ems[3].clone(), ems[4].clone()],
            vec![],
        )],
        true,
    )
    .await
    .unwrap();
    let em_ids = ids_of(&ems, |e| &e.id);
    let page = s
        .list_emissions("default", None, None, None, 3)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |e| &e.id), em_ids[..3]);
    let page = s
        .list_emissions("default", page.next_cursor.as_deref(), None, None, 3)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |e| &e.id), em_ids[3..]);
    assert_eq!(page.next_cursor, None);
    let users_of_1 = s
        .list_emissions("default", None, Some("USER"), Some("wh_1"), 10)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&users_of_1.data, |e| &e.id),
        [em_ids[0].clone(), em_ids[3].clone()]
    );
    let of_2 = s
        .list_emissions("default", None, None, Some("wh_2"), 10)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&of_2.data, |e| &e.id),
        [em_ids[2].clone(), em_ids[4].clone()]
    );

    // Deliveries, newest first.
    let e = event("d");
    let deliveries: Vec<_> = ["ep_a", "ep_b", "ep_a", "ep_b", "ep_a"]
        .iter()
        .map(|ep| delivery(&e, ep))
        .collect();
    s.accept_event(&e, &deliveries, None).await.unwrap();
    let done = after_attempt(&deliveries[3], DeliveryStatus::Success, None);
    s.record_attempt(QueuePos::of(&deliveries[3]).as_ref(), &done, None)
        .await
        .unwrap();
    let newest_first: Vec<String> = deliveries.iter().rev().map(|d| d.id.clone()).collect();
    let all = DeliveryFilter::default();
    let page = s.list_deliveries(&all, None, 2).await.unwrap();
    assert_eq!(ids_of(&page.data, |d| &d.id), newest_first[..2]);
    assert_eq!(page.next_cursor.as_ref(), Some(&newest_first[1]));
    let page = s
        .list_deliveries(&all, page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |d| &d.id), newest_first[2..4]);
    let page = s
        .list_deliveries(&all, page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |d| &d.id), newest_first[4..]);
    assert_eq!(page.next_cursor, None);
    let of_a = DeliveryFilter {
        workspace_id: None,
        endpoint_id: Some("ep_a".into()),
        ..Default::default()
    };
    let page = s.list_deliveries(&of_a, None, 2).await.unwrap();
    assert_eq!(
        ids_of(&page.data, |d| &d.id),
        [deliveries[4].id.clone(), deliveries[2].id.clone()]
    );
    let page = s
        .list_deliveries(&of_a, page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |d| &d.id), [deliveries[0].id.clone()]);
    assert_eq!(page.next_cursor, None);
    let succeeded = DeliveryFilter {
        workspace_id: None,
        status: Some(DeliveryStatus::Success),
        event_id: Some(e.id.clone()),
        ..Default::default()
    };
    let page = s.list_deliveries(&succeeded, None, 10).await.unwrap();
    assert_eq!(ids_of(&page.data, |d| &d.id), [deliveries[3].id.clone()]);

    // Invocations of one webhook, newest first.
    let log: Vec<_> = (0..5).map(|_| invocation("wh_log")).collect();
    let commits: Vec<_> = log
        .iter()
        .map(|i| commit(i.clone(), vec![], vec![]))
        .collect();
    s.commit_invocations(&commits, false).await.unwrap();
    s.commit_invocations(&[commit(invocation("wh_else"), vec![], vec![])], true)
        .await
        .unwrap();
    let newest_first: Vec<String> = log.iter().rev().map(|i| i.id.clone()).collect();
    let page = s.list_invocations("wh_log", None, 2).await.unwrap();
    assert_eq!(ids_of(&page.data, |i| &i.id), newest_first[..2]);
    let page = s
        .list_invocations("wh_log", page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |i| &i.id), newest_first[2..4]);
    let page = s
        .list_invocations("wh_log", page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(ids_of(&page.data, |i| &i.id), newest_first[4..]);
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        s.list_invocations("wh_else", None, 10)
            .await
            .unwrap()
            .data
            .len(),
        1
    );
}

async fn deduplication_answers_are_remembered(s: Store) {
    let now = Utc::now();
    assert!(s.dedup_get("wh_1", "msg-1").await.unwrap().is_none());
    let first = answer(now, now + Duration::hours(1));
    s.dedup_put("wh_1", "msg-1", &first).await.unwrap();
    let got = s.dedup_get("wh_1", "msg-1").await.unwrap().unwrap();
    assert_eq!(got.invocation_id, first.invocation_id);
    assert_eq!(got.body, first.body);
    assert_eq!(got.content_type, first.content_type);
    assert_eq!(got.expires_at, first.expires_at);
    assert!(s.dedup_get("wh_2", "msg-1").await.unwrap().is_none());
    assert!(s.dedup_get("wh_1", "msg-2").await.unwrap().is_none());
    // Any key, however long.
    let long = "k".repeat(10_000);
    s.dedup_put("wh_1", &long, &first).await.unwrap();
    assert!(s.dedup_get("wh_1", &long).await.unwrap().is_some());

    let second = answer(now, now + Duration::hours(2));
    s.dedup_put("wh_1", "msg-1", &second).await.unwrap();
    let got = s.dedup_get("wh_1", "msg-1").await.unwrap().unwrap();
    assert_eq!(got.invocation_id, second.invocation_id);
}

async fn deleting_a_webhook_removes_its_invocations_and_answers(s: Store) {
    let now = Utc::now();
    for id in ["wh_gone", "wh_kept"] {
        s.put_webhook(&webhook(id, "")).await.unwrap();
        s.commit_invocations(&[commit(invocation(id), vec![], vec![])], true)
            .await
            .unwrap();
        s.dedup_put(id, "msg", &answer(now, now + Duration::hours(1)))
            .await
            .unwrap();
    }
    s.delete_webhook("wh_gone").await.unwrap();
    assert!(
        s.list_invocations("wh_gone", None, 10)
            .await
            .unwrap()
            .data
            .is_empty()
    );
    assert!(s.dedup_get("wh_gone", "msg").await.unwrap().is_none());
    assert_eq!(
        s.list_invocations("wh_kept", None, 10)
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    assert!(s.dedup_get("wh_kept", "msg").await.unwrap().is_some());
    assert_eq!(
        ids_of(&s.list_webhooks().await.unwrap(), |w| &w.id),
        ["wh_kept"]
    );
}

async fn pruning_keeps_the_newest_invocations(s: Store) {
    let mut logs: HashMap<&str, Vec<InvocationRecord>> = HashMap::new();
    for (id, n) in [("wh_busy", 5), ("wh_calm", 2)] {
        s.put_webhook(&webhook(id, "")).await.unwrap();
        let log: Vec<_> = (0..n).map(|_| invocation(id)).collect();
        let commits: Vec<_> = log
            .iter()
            .map(|i| commit(i.clone(), vec![], vec![]))
            .collect();
        s.commit_invocations(&commits, true).await.unwrap();
        logs.insert(id, log);
    }
    assert_eq!(s.prune_all_invocations(3).await.unwrap(), 2);
    let busy = s.list_invocations("wh_busy", None, 10).await.unwrap();
    let newest: Vec<String> = logs["wh_busy"]
        .iter()
        .rev()
        .take(3)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(ids_of(&busy.data, |i| &i.id), newest);
    assert_eq!(
        s.list_invocations("wh_calm", None, 10)
            .await
            .unwrap()
            .data
            .len(),
        2
    );
    assert_eq!(s.prune_all_invocations(3).await.unwrap(), 0);
}

async fn retention_keeps_pending_work_and_removes_finished_work(s: Store) {
    let now = Utc::now();
    let old = now - Duration::hours(2);
    let cutoff = now - Duration::hours(1);
    let old_event = |event_type: &str| EventRecord {
        workspace_id: "default".into(),
        id: id_created_at("evt", old),
        created_at: old,
        ..event(event_type)
    };
    let old_delivery = |e: &EventRecord| DeliveryRecord {
        workspace_id: "default".into(),
        id: id_created_at("dlv", old),
        ..delivery(e, "ep_a")
    };

    // Delivered long ago: goes, with its attempt and its event.
    let e_done = old_event("done");
    let d_done = old_delivery(&e_done);
    s.accept_event(&e_done, std::slice::from_ref(&d_done), None)
        .await
        .unwrap();
    let delivered = DeliveryRecord {
        workspace_id: "default".into(),
        status: DeliveryStatus::Success,
        attempts: 1,
        next_attempt_at: None,
        updated_at: old,
        ..d_done.clone()
    };
    s.record_attempt(
        QueuePos::of(&d_done).as_ref(),
        &delivered,
        Some(&attempt(&d_done, 1, 200)),
    )
    .await
    .unwrap();
    // Still pending: stays, with its event.
    let e_pending = old_event("pending");
    let d_pending = old_delivery(&e_pending);
    s.accept_event(&e_pending, std::slice::from_ref(&d_pending), None)
        .await
        .unwrap();
    // Finished, but changed since the cutoff: stays, with its event.
    let e_recent = old_event("recent");
    let d_recent = old_delivery(&e_recent);
    s.accept_event(&e_recent, std::slice::from_ref(&d_recent), None)
        .await
        .unwrap();
    let failed = DeliveryRecord {
        workspace_id: "default".into(),
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        updated_at: now,
        ..d_recent.clone()
    };
    s.record_attempt(QueuePos::of(&d_recent).as_ref(), &failed, None)
        .await
        .unwrap();
    // Published long ago, not fanned out yet: stays. Its invocation and
    // emission go.
    let inv_old = invocation_at("wh_1", old);
    let em_old = EmissionRecord {
        workspace_id: "default".into(),
        id: id_created_at("em", old),
        ..emission(&inv_old, "USER")
    };
    let e_published = old_event("published");
    s.commit_invocations(
        &[commit(
            inv_old.clone(),
            vec![em_old.clone()],
            vec![e_published.clone()],
        )],
        true,
    )
    .await
    .unwrap();
    // An old event without deliveries and its idempotency key (two days
    // old): both go.
    let e_keyed = EventRecord {
        workspace_id: "default".into(),
        created_at: now - Duration::days(2),
        id: id_created_at("evt", now - Duration::days(2)),
        ..event("keyed")
    };
    s.accept_event(&e_keyed, &[], Some("old-key"))
        .await
        .unwrap();
    // Recent records stay.
    let inv_new = invocation("wh_1");
    let em_new = emission(&inv_new, "USER");
    let e_new = event("new");
    s.commit_invocations(
        &[commit(inv_new.clone(), vec![em_new.clone()], vec![])],
        true,
    )
    .await
    .unwrap();
    s.accept_event(&e_new, &[], Some("new-key")).await.unwrap();
    // A remembered answer past its window goes; a fresh one stays.
    s.dedup_put("wh_1", "expired", &answer(old, now - Duration::minutes(1)))
        .await
        .unwrap();
    s.dedup_put("wh_1", "fresh", &answer(now, now + Duration::hours(1)))
        .await
        .unwrap();

    let removed = s.remove_expired(cutoff).await.unwrap();
    // The delivered delivery, its attempt, its event, the keyed event, its
    // key, the old invocation, the old emission, the expired answer.
    assert_eq!(removed, 8);

    assert!(s.get_delivery(&d_done.id).await.unwrap().is_none());
    assert!(s.list_attempts(&d_done.id).await.unwrap().is_empty());
    assert!(s.get_event(&e_done.id).await.unwrap().is_none());
    assert!(s.get_event(&e_keyed.id).await.unwrap().is_none());
    assert!(s.get_delivery(&d_pending.id).await.unwrap().is_some());
    assert!(s.get_event(&e_pending.id).await.unwrap().is_some());
    assert!(s.get_delivery(&d_recent.id).await.unwrap().is_some());
    assert!(s.get_event(&e_recent.id).await.unwrap().is_some());
    assert_eq!(
        ids_of(&s.pending_fanout(10).await.unwrap(), |e| &e.id),
        std::slice::from_ref(&e_published.id)
    );
    assert!(s.get_event(&e_new.id).await.unwrap().is_some());
    let log = s.list_invocations("wh_1", None, 10).await.unwrap();
    assert_eq!(
        ids_of(&log.data, |i| &i.id),
        std::slice::from_ref(&inv_new.id)
    );
    let emissions = s
        .list_emissions("default", None, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&emissions.data, |e| &e.id),
        std::slice::from_ref(&em_new.id)
    );
    assert!(s.dedup_get("wh_1", "expired").await.unwrap().is_none());
    assert!(s.dedup_get("wh_1", "fresh").await.unwrap().is_some());
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    // The recent key still answers; the old one was forgotten.
    let repeat = event("new");
    assert_eq!(
        s.accept_event(&repeat, &[], Some("new-key")).await.unwrap(),
        Some(e_new.id.clone())
    );

    assert_eq!(s.remove_expired(cutoff).await.unwrap(), 0, "nothing more");
}

// ---- PostgreSQL only ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_a_schema_newer_than_it_knows() {
    let (pg, (url, schema)) = postgres().await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "UPDATE \"{schema}\".hookhost_schema SET version = version + 100"
        ))
        .await
        .unwrap();
    let refused = Postgres::connect(&url, Some(&schema)).await;
    pg.drop_schema().await.unwrap();
    match refused {
        Ok(_) => panic!("a schema newer than this hookhost was accepted"),
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("newer"), "unclear refusal: {message}");
            assert!(
                message.contains("upgrade hookhost"),
                "unclear refusal: {message}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_idempotently() {
    let (pg, (url, schema)) = postgres().await;
    dropping_schema_after(&pg, async {
        pg.put_webhook(&webhook("wh_1", "kept")).await.unwrap();
        pg.migrate().await.unwrap();
        pg.migrate().await.unwrap();
        // Nodes starting together: each migrates, none fails.
        let (a, b) = tokio::join!(
            Postgres::connect(&url, Some(&schema)),
            Postgres::connect(&url, Some(&schema))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.list_webhooks().await.unwrap()[0].description, "kept");
        assert_eq!(b.kind(), "postgres");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_announces_registry_changes_to_other_nodes() {
    let (a, (url, schema)) = postgres().await;
    dropping_schema_after(&a, async {
        let b = Postgres::connect(&url, Some(&schema)).await.unwrap();
        let mut changes = b.changes().expect("PostgreSQL has a change feed");

        a.put_webhook(&webhook("wh_seen", "")).await.unwrap();
        expect_change(&mut changes, Change::Webhook("wh_seen".into())).await;
        a.delete_webhook("wh_seen").await.unwrap();
        expect_change(&mut changes, Change::Webhook("wh_seen".into())).await;
        let ep = endpoint("https://example.com/");
        a.put_endpoint(&ep).await.unwrap();
        expect_change(&mut changes, Change::Endpoint(ep.id.clone())).await;
        a.put_module(&module("mod-1", "ab")).await.unwrap();
        expect_change(&mut changes, Change::Module("mod-1".into())).await;
        a.delete_module("mod-1").await.unwrap();
        expect_change(&mut changes, Change::Module("mod-1".into())).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_change_feed_survives_a_lost_connection() {
    let (pg, (url, schema)) = postgres().await;
    dropping_schema_after(&pg, async {
        let mut changes = pg.changes().expect("PostgreSQL has a change feed");
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        // The feed's session is the one whose last statement listened on
        // this schema's channel.
        let listen = format!("LISTEN \"hookhost_changes_{schema}\"");
        let ended: i64 = client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
                &[&listen],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(ended, 1, "one session listens");
        // Dropped caches when the feed goes, and again once it is back.
        expect_change(&mut changes, Change::All).await;
        expect_change(&mut changes, Change::All).await;
        pg.put_webhook(&webhook("wh_after", "")).await.unwrap();
        expect_change(&mut changes, Change::Webhook("wh_after".into())).await;
    })
    .await;
}

/// Waits (up to a second) until `changes` brings `expected`.
async fn expect_change(changes: &mut tokio::sync::broadcast::Receiver<Change>, expected: Change) {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(change) if change == expected => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("change feed closed: {e}"),
            }
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(1), wait)
        .await
        .is_err()
    {
        panic!("{expected:?} was not announced within a second");
    }
}

#[tokio::test]
async fn sled_serves_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let sled = Sled::open(dir.path()).unwrap();
    assert_eq!(sled.kind(), "sled");
    assert!(sled.changes().is_none());
}

// ---- workspaces ----

async fn tenancy_records_round_trip(s: Store) {
    let ws = MetaRecord {
        kind: MetaKind::Workspace,
        key: "ws_1".into(),
        workspace_id: "ws_1".into(),
        record: r#"{"id":"ws_1","name":"one"}"#.into(),
    };
    let token = MetaRecord {
        kind: MetaKind::Token,
        key: "tok_1".into(),
        workspace_id: "ws_1".into(),
        record: r#"{"id":"tok_1"}"#.into(),
    };
    s.put_meta(&ws).await.unwrap();
    s.put_meta(&token).await.unwrap();
    assert_eq!(
        s.list_meta(MetaKind::Workspace).await.unwrap(),
        vec![ws.clone()]
    );
    assert_eq!(
        s.list_meta(MetaKind::Token).await.unwrap(),
        vec![token.clone()]
    );
    assert!(s.list_meta(MetaKind::EventType).await.unwrap().is_empty());
    // Replaced by key.
    let renamed = MetaRecord {
        record: r#"{"id":"ws_1","name":"uno"}"#.into(),
        ..ws.clone()
    };
    s.put_meta(&renamed).await.unwrap();
    assert_eq!(
        s.list_meta(MetaKind::Workspace).await.unwrap(),
        vec![renamed]
    );
    assert!(s.delete_meta(MetaKind::Token, "tok_1").await.unwrap());
    assert!(!s.delete_meta(MetaKind::Token, "tok_1").await.unwrap());
    assert!(s.list_meta(MetaKind::Token).await.unwrap().is_empty());
    // They travel with an export.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    s.export(tx).await.unwrap();
    let mut metas = 0;
    while let Some(item) = rx.recv().await {
        if matches!(item, hookhost::store::transfer::Item::Meta(_)) {
            metas += 1;
        }
    }
    assert_eq!(metas, 1);
}

/// An event with one delivery in workspace `ws`.
fn event_in(ws: &str, event_type: &str) -> (EventRecord, DeliveryRecord) {
    let mut e = event(event_type);
    e.workspace_id = ws.into();
    let mut d = delivery(&e, "ep_w");
    d.workspace_id = ws.into();
    (e, d)
}

async fn records_are_listed_and_purged_per_workspace(s: Store) {
    let (ea, da) = event_in("ws_a", "t");
    let (eb, db) = event_in("ws_b", "t");
    let (ed, dd) = event_in("default", "t");
    for (e, d, key) in [(&ea, &da, "ws_a/k"), (&eb, &db, "ws_b/k"), (&ed, &dd, "k")] {
        assert!(
            s.accept_event(e, std::slice::from_ref(d), Some(key))
                .await
                .unwrap()
                .is_none()
        );
    }
    let (eb2, db2) = event_in("ws_b", "t");
    s.accept_event(&eb2, std::slice::from_ref(&db2), None)
        .await
        .unwrap();
    let ids = |p: hookhost::store::Page<EventRecord>| {
        p.data.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.list_events("ws_a", None, None, 10).await.unwrap()),
        vec![ea.id.clone()]
    );
    assert_eq!(
        ids(s.list_events("default", None, None, 10).await.unwrap()),
        vec![ed.id.clone()]
    );
    assert_eq!(
        s.list_events("ws_b", None, None, 10)
            .await
            .unwrap()
            .data
            .len(),
        2
    );
    let of_b = DeliveryFilter {
        workspace_id: Some("ws_b".into()),
        ..Default::default()
    };
    let page = s.list_deliveries(&of_b, None, 10).await.unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(page.data.iter().all(|d| d.workspace_id == "ws_b"));
    let depth = s.queue_depth().await.unwrap();

    // Purging B removes its events, deliveries (and their queue entries)
    // and idempotency keys, nothing of A or the default workspace.
    assert!(s.purge_workspace("ws_b").await.unwrap() >= 5);
    assert!(
        s.list_events("ws_b", None, None, 10)
            .await
            .unwrap()
            .data
            .is_empty()
    );
    assert!(
        s.list_deliveries(&of_b, None, 10)
            .await
            .unwrap()
            .data
            .is_empty()
    );
    assert!(s.get_delivery(&db.id).await.unwrap().is_none());
    assert_eq!(s.queue_depth().await.unwrap(), depth - 2);
    let due: Vec<_> = s
        .due_deliveries(Utc::now() + Duration::hours(1), None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(
        !due.contains(&db.id) && due.contains(&da.id) && due.contains(&dd.id),
        "{due:?}"
    );
    // B's key is free again; A's still answers A's event.
    let (eb3, db3) = event_in("ws_b", "t");
    assert!(
        s.accept_event(&eb3, &[db3], Some("ws_b/k"))
            .await
            .unwrap()
            .is_none()
    );
    let (ea2, da2) = event_in("ws_a", "t");
    assert_eq!(
        s.accept_event(&ea2, &[da2], Some("ws_a/k")).await.unwrap(),
        Some(ea.id.clone())
    );
    assert_eq!(
        s.list_events("ws_a", None, None, 10)
            .await
            .unwrap()
            .data
            .len(),
        1
    );
}

async fn recent_attempts_are_those_of_recent_deliveries_of_the_workspace(s: Store) {
    let (ea, da) = event_in("ws_a", "t");
    let (eb, db) = event_in("ws_b", "t");
    for (e, d) in [(&ea, &da), (&eb, &db)] {
        s.accept_event(e, std::slice::from_ref(d), None)
            .await
            .unwrap();
        let attempt = AttemptRecord {
            delivery_id: d.id.clone(),
            attempt: 1,
            at: Utc::now(),
            status_code: Some(200),
            latency_ms: 12.0,
            response_body: String::new(),
            error: None,
        };
        let done = DeliveryRecord {
            status: DeliveryStatus::Success,
            attempts: 1,
            next_attempt_at: None,
            ..d.clone()
        };
        s.record_attempt(QueuePos::of(d).as_ref(), &done, Some(&attempt))
            .await
            .unwrap();
    }
    let since = Utc::now() - Duration::hours(1);
    let eps = vec!["ep_w".to_string()];
    let (a, cut) = s.recent_attempts("ws_a", &eps, since, 100).await.unwrap();
    assert!(!cut);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].0, "ep_w");
    assert_eq!(a[0].1.delivery_id, da.id);
    // Only the endpoints asked for; deliveries made before `since` are not read.
    let other = vec!["ep_other".to_string()];
    assert!(
        s.recent_attempts("ws_a", &other, since, 100)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let later = Utc::now() + Duration::seconds(5);
    assert!(
        s.recent_attempts("ws_a", &eps, later, 100)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(
        s.recent_attempts("ws_c", &eps, since, 100)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    // At the limit, it says so.
    let (none, cut) = s.recent_attempts("ws_b", &eps, since, 0).await.unwrap();
    assert!(none.is_empty() && cut);

    // Invocation outcomes: when, status and time, newest first.
    let inv = invocation("wh_stats");
    s.commit_invocations(
        &[InvocationCommit {
            invocation: inv.clone(),
            emissions: vec![],
            events: vec![],
            webhooks: vec![],
        }],
        true,
    )
    .await
    .unwrap();
    let outcomes = s.invocation_outcomes("wh_stats", since, 10).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].status, inv.status);
    assert!(
        s.invocation_outcomes("wh_stats", later, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- transforms ----

async fn transformed_and_skipped_deliveries_are_kept(s: Store) {
    let e = event("t");
    let d1 = delivery(&e, "ep_t");
    let d2 = delivery(&e, "ep_u");
    s.accept_event(&e, &[d1.clone(), d2.clone()], None)
        .await
        .unwrap();
    // A transformed message kept with a pending delivery after a failed attempt.
    let message = TransformedMessage {
        body: r#"{"text":"hi"}"#.into(),
        url: "http://127.0.0.1:9/x".into(),
        headers: BTreeMap::from([("x-a".to_string(), "1".to_string())]),
        basis: "b".into(),
    };
    let retry = DeliveryRecord {
        transformed: Some(message.clone()),
        attempts: 1,
        next_attempt_at: Some(Utc::now() + Duration::seconds(5)),
        ..d1.clone()
    };
    let attempt = AttemptRecord {
        delivery_id: d1.id.clone(),
        attempt: 1,
        at: Utc::now(),
        status_code: Some(500),
        latency_ms: 1.0,
        response_body: String::new(),
        error: None,
    };
    s.record_attempt(QueuePos::of(&d1).as_ref(), &retry, Some(&attempt))
        .await
        .unwrap();
    let stored = s.get_delivery(&d1.id).await.unwrap().unwrap();
    assert_eq!(stored.transformed, Some(message));
    // A skipped one leaves the queue and is listed by its status.
    let skipped = DeliveryRecord {
        status: DeliveryStatus::Skipped,
        next_attempt_at: None,
        ..d2.clone()
    };
    s.record_attempt(QueuePos::of(&d2).as_ref(), &skipped, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_delivery(&d2.id).await.unwrap().unwrap().status,
        DeliveryStatus::Skipped
    );
    let of_skipped = DeliveryFilter {
        status: Some(DeliveryStatus::Skipped),
        ..Default::default()
    };
    let listed = s.list_deliveries(&of_skipped, None, 10).await.unwrap();
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0].id, d2.id);
    let due = s
        .due_deliveries(Utc::now() + Duration::hours(1), None, 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![d1.id]
    );
}

// ---- follow-up webhooks ----

async fn follow_up_webhooks_are_committed_with_their_invocation(s: Store) {
    let inv = invocation("wh_parent");
    let mut child = webhook("wh_child", "registered by a handler");
    child.workspace_id = "ws_a".into();
    let mut changes = s.changes();
    s.commit_invocations(
        &[InvocationCommit {
            invocation: InvocationRecord {
                registered: vec!["wh_child".into()],
                ..inv.clone()
            },
            emissions: vec![],
            events: vec![],
            webhooks: vec![child.clone()],
        }],
        true,
    )
    .await
    .unwrap();
    let stored = s.get_webhook("wh_child").await.unwrap().expect("stored");
    assert_eq!(stored.workspace_id, "ws_a");
    assert_eq!(stored.description, "registered by a handler");
    assert!(
        s.list_webhooks()
            .await
            .unwrap()
            .iter()
            .any(|w| w.id == "wh_child")
    );
    let logged = s
        .get_invocation("wh_parent", &inv.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(logged.registered, vec!["wh_child".to_string()]);
    // Other nodes hear of it where the store is shared.
    if let Some(changes) = changes.as_mut() {
        expect_change(changes, Change::Webhook("wh_child".into())).await;
    }
}
