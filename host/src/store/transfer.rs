//! Export and import: every record of a store as a versioned stream of
//! JSON lines, to move between back ends or to keep as a backup.
//!
//! The first line is a header (`{"kind":"header","data":{"format":
//! "hookhost-export","version":1,...}}`), each following line one record
//! (`{"kind":"delivery","data":{...}}`), the last a trailer counting them,
//! so a truncated file is detected. Records are written as the API shows
//! them, secrets included: protect an export like the data directory.

use super::{
    AttemptRecord, DedupRecord, DeliveryRecord, EmissionRecord, EndpointRecord, EventRecord,
    InvocationRecord, MetaRecord, ModuleRecord, StoreError, StoreResult, WebhookRecord,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What the header's `format` says.
pub const FORMAT: &str = "hookhost-export";
/// The version of the format this binary writes and reads.
pub const VERSION: u32 = 1;

/// One exported record.
#[derive(Debug)]
pub enum Item {
    /// A workspace, token (hashed) or event type.
    Meta(MetaRecord),
    /// A module's record.
    Module(ModuleRecord),
    /// A component's bytes, under their SHA-256 (hex).
    ModuleBytes {
        /// SHA-256 of `bytes`, hex.
        sha256: String,
        /// The component.
        bytes: Vec<u8>,
    },
    /// A webhook.
    Webhook(WebhookRecord),
    /// An endpoint, with its secrets.
    Endpoint(EndpointRecord),
    /// An event; `fanout` while its deliveries are still to be made.
    Event {
        /// The event.
        record: EventRecord,
        /// Published by a handler and not yet fanned out.
        fanout: bool,
    },
    /// A delivery (queued again on import while pending).
    Delivery(DeliveryRecord),
    /// An attempt of a delivery.
    Attempt(AttemptRecord),
    /// An invocation log record.
    Invocation(InvocationRecord),
    /// An emission.
    Emission(EmissionRecord),
    /// An idempotency key of an accepted event.
    Idempotency {
        /// The caller's key.
        key: String,
        /// The event it returns.
        event_id: String,
        /// When it was taken.
        at: DateTime<Utc>,
    },
    /// An answer remembered for inbound deduplication, under the SHA-256
    /// (hex) of its delivery id (the id itself is not kept).
    Dedup {
        /// The webhook.
        webhook_id: String,
        /// SHA-256 of the delivery id, hex.
        key_sha256: String,
        /// The answer.
        record: DedupRecord,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    exported_at: DateTime<Utc>,
    source: String,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    items: u64,
}

#[derive(Serialize, Deserialize)]
struct Bytes {
    sha256: String,
    bytes: String,
}

#[derive(Serialize)]
struct EventOut<'a> {
    record: &'a EventRecord,
    fanout: bool,
}

#[derive(Deserialize)]
struct EventIn<'a> {
    #[serde(borrow)]
    record: &'a RawValue,
    #[serde(default)]
    fanout: bool,
}

#[derive(Serialize, Deserialize)]
struct Idempotency {
    key: String,
    event_id: String,
    at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Dedup {
    webhook_id: String,
    key_sha256: String,
    record: DedupRecord,
}

#[derive(Serialize)]
struct LineOut<'a, T: Serialize> {
    kind: &'a str,
    data: T,
}

#[derive(Deserialize)]
struct LineIn<'a> {
    kind: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// The header line of an export from a `source` back end.
pub fn header(source: &str) -> String {
    line(
        "header",
        Header {
            format: FORMAT.into(),
            version: VERSION,
            exported_at: Utc::now(),
            source: source.into(),
        },
    )
}

/// The trailer line after `items` records.
pub fn trailer(items: u64) -> String {
    line("end", Trailer { items })
}

fn line<T: Serialize>(kind: &str, data: T) -> String {
    serde_json::to_string(&LineOut { kind, data }).expect("records serialize")
}

impl Item {
    /// The item as one line (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            Item::Meta(r) => line("meta", r),
            Item::Module(r) => line("module", r),
            Item::ModuleBytes { sha256, bytes } => line(
                "module_bytes",
                Bytes {
                    sha256: sha256.clone(),
                    bytes: B64.encode(bytes),
                },
            ),
            Item::Webhook(r) => line("webhook", r),
            Item::Endpoint(r) => line("endpoint", r),
            Item::Event { record, fanout } => line(
                "event",
                EventOut {
                    record,
                    fanout: *fanout,
                },
            ),
            Item::Delivery(r) => line("delivery", r),
            Item::Attempt(r) => line("attempt", r),
            Item::Invocation(r) => line("invocation", r),
            Item::Emission(r) => line("emission", r),
            Item::Idempotency { key, event_id, at } => line(
                "idempotency",
                Idempotency {
                    key: key.clone(),
                    event_id: event_id.clone(),
                    at: *at,
                },
            ),
            Item::Dedup {
                webhook_id,
                key_sha256,
                record,
            } => line(
                "dedup",
                Dedup {
                    webhook_id: webhook_id.clone(),
                    key_sha256: key_sha256.clone(),
                    record: record.clone(),
                },
            ),
        }
    }
}

/// Checks imported module bytes against their hash.
pub(super) fn check_module_bytes(sha256: &str, bytes: &[u8]) -> StoreResult<()> {
    use sha2::Digest;
    if hex::encode(sha2::Sha256::digest(bytes)) == sha256 {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "module bytes do not match their hash {sha256}"
        )))
    }
}

/// The 32 bytes of an imported dedup key hash.
pub(super) fn dedup_hash(key_sha256: &str) -> StoreResult<Vec<u8>> {
    hex::decode(key_sha256)
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or_else(|| StoreError::Corrupt(format!("dedup key hash {key_sha256:?}")))
}

/// A line read from an export.
#[derive(Debug)]
pub enum Line {
    /// The header (checked: format and version).
    Header,
    /// A record.
    Item(Box<Item>),
    /// The trailer, with the number of records the file should hold.
    End(u64),
}

/// Parses one line; `n` (1-based) names it in errors.
pub fn parse_line(text: &str, n: u64) -> StoreResult<Line> {
    let bad = |e: String| StoreError::Corrupt(format!("line {n}: {e}"));
    let l: LineIn = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let data = l.data.get();
    fn de<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T, String> {
        serde_json::from_str(data).map_err(|e| e.to_string())
    }
    let item = match l.kind.as_str() {
        "header" => {
            let h: Header = de(data).map_err(bad)?;
            if h.format != FORMAT {
                return Err(bad(format!(
                    "not a hookhost export (format {:?})",
                    h.format
                )));
            }
            if h.version > VERSION {
                return Err(bad(format!(
                    "export format version {} is newer than this hookhost reads ({VERSION}); \
                     import with a newer hookhost",
                    h.version
                )));
            }
            return Ok(Line::Header);
        }
        "end" => return Ok(Line::End(de::<Trailer>(data).map_err(bad)?.items)),
        "meta" => Item::Meta(de(data).map_err(bad)?),
        "module" => Item::Module(de(data).map_err(bad)?),
        "module_bytes" => {
            let b: Bytes = de(data).map_err(bad)?;
            Item::ModuleBytes {
                bytes: B64.decode(b.bytes).map_err(|e| bad(e.to_string()))?,
                sha256: b.sha256,
            }
        }
        "webhook" => Item::Webhook(de(data).map_err(bad)?),
        "endpoint" => Item::Endpoint(de(data).map_err(bad)?),
        "event" => {
            let e: EventIn = de(data).map_err(bad)?;
            Item::Event {
                record: de(e.record.get()).map_err(bad)?,
                fanout: e.fanout,
            }
        }
        "delivery" => Item::Delivery(de(data).map_err(bad)?),
        "attempt" => Item::Attempt(de(data).map_err(bad)?),
        "invocation" => Item::Invocation(de(data).map_err(bad)?),
        "emission" => Item::Emission(de(data).map_err(bad)?),
        "idempotency" => {
            let i: Idempotency = de(data).map_err(bad)?;
            Item::Idempotency {
                key: i.key,
                event_id: i.event_id,
                at: i.at,
            }
        }
        "dedup" => {
            let d: Dedup = de(data).map_err(bad)?;
            Item::Dedup {
                webhook_id: d.webhook_id,
                key_sha256: d.key_sha256,
                record: d.record,
            }
        }
        other => return Err(bad(format!("unknown record kind {other:?}"))),
    };
    // Time-ordered ids are what cursors and key order rely on.
    let id = match &item {
        Item::Event { record, .. } => Some(("evt", record.id.as_str())),
        Item::Delivery(d) => Some(("dlv", d.id.as_str())),
        Item::Attempt(a) => Some(("dlv", a.delivery_id.as_str())),
        Item::Invocation(i) => Some(("inv", i.id.as_str())),
        Item::Emission(e) => Some(("em", e.id.as_str())),
        _ => None,
    };
    if let Some((prefix, id)) = id
        && super::ids::key(prefix, id).is_none()
    {
        return Err(bad(format!("not a {prefix}_ id: {id:?}")));
    }
    Ok(Line::Item(Box::new(item)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_keeps_its_data_bytes_and_flag() {
        let record = EventRecord {
            workspace_id: "default".into(),
            id: crate::store::ids::new("evt").0,
            event_type: "a.b".into(),
            data: RawValue::from_string(r#"{"x": 1.50,"y":[ ]}"#.into()).unwrap(),
            created_at: Utc::now(),
            source: None,
        };
        let text = Item::Event {
            record,
            fanout: true,
        }
        .to_line();
        match parse_line(&text, 1).unwrap() {
            Line::Item(item) if matches!(*item, Item::Event { .. }) => {
                let Item::Event { record, fanout } = *item else {
                    unreachable!()
                };
                assert!(fanout);
                assert_eq!(record.data.get(), r#"{"x": 1.50,"y":[ ]}"#);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn headers_of_other_formats_and_newer_versions_are_refused() {
        assert!(matches!(
            parse_line(&header("sled"), 1).unwrap(),
            Line::Header
        ));
        let newer = header("sled").replace(r#""version":1"#, r#""version":99"#);
        let e = parse_line(&newer, 1).unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
        let other = header("sled").replace(FORMAT, "tarball");
        assert!(parse_line(&other, 1).is_err());
        assert!(parse_line(r#"{"kind":"zip","data":{}}"#, 3).is_err());
        let made_up = r#"{"kind":"emission","data":{"id":"em_1","entity_type":"t","data":{},"webhook_id":"wh_x","invocation_id":"inv_x","created_at":"2026-01-01T00:00:00Z"}}"#;
        let e = parse_line(made_up, 5).unwrap_err().to_string();
        assert!(e.contains("not a em_ id"), "{e}");
        assert!(
            parse_line("not json", 4)
                .unwrap_err()
                .to_string()
                .contains("line 4")
        );
    }
}
