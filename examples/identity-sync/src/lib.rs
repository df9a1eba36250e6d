//! `identity-sync`: receives identity-service notifications (seed 001) like
//! `{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z"}`.
//!
//! * A missing or non-string field answers 400 with a message naming the
//!   fields, so the source application can show it.
//! * Otherwise it emits the entity (type `USER`, ...) and publishes
//!   `<entity>.<event>d` (`user.updated`) for outbound delivery, then
//!   answers 200. The webhook payload's `source` (if any) is attached to both.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p identity-sync`

use hookhost_guest::{Context, Handler, HandlerError, Request, Response, host};
use serde_json::{Value, json};

/// The identity-sync handler.
pub struct IdentitySync;

const FIELDS: [&str; 4] = ["id", "entityType", "eventType", "timestamp"];

impl Handler for IdentitySync {
    fn handle(req: Request, ctx: Context) -> Result<Response, HandlerError> {
        let body: Value = req.json()?;
        let missing: Vec<&str> = FIELDS
            .iter()
            .copied()
            .filter(|f| !body.get(*f).is_some_and(|v| v.is_string()))
            .collect();
        if !missing.is_empty() {
            return Err(HandlerError::BadRequest(format!(
                "missing or non-string field(s): {}",
                missing.join(", ")
            )));
        }
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
        let (id, entity_type, event_type) = (field("id"), field("entityType"), field("eventType"));
        let source = ctx
            .payload_value()
            .get("source")
            .cloned()
            .unwrap_or(Value::Null);

        let entity = json!({
            "id": id,
            "eventType": event_type,
            "timestamp": field("timestamp"),
            "source": source,
        });
        host::emit(&entity_type, &entity).map_err(HandlerError::Internal)?;
        let event_name = format!("{}.{}", entity_type.to_lowercase(), past_tense(&event_type));
        host::publish(&event_name, &entity).map_err(HandlerError::Internal)?;
        Response::json(200, &json!({ "status": "OK", "published": event_name }))
    }
}

/// `UPDATE` -> `updated`, `CREATE` -> `created`, `SYNC` -> `synced`.
fn past_tense(event: &str) -> String {
    let e = event.to_lowercase();
    if e.ends_with('e') {
        format!("{e}d")
    } else {
        format!("{e}ed")
    }
}

hookhost_guest::export_handler!(IdentitySync);

#[cfg(test)]
mod tests {
    use super::*;
    use hookhost_guest::testing;

    fn call(body: &str) -> testing::MockRun {
        testing::run::<IdentitySync>(
            Request::new("POST", "/").with_body(body),
            Context::for_test(Some(json!({"source": "azure-ad"}))),
        )
    }

    #[test]
    fn publishes_and_emits_the_entity() {
        let run = call(
            r#"{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z"}"#,
        );
        assert_eq!(run.result.unwrap().status, 200);
        assert_eq!(run.events.len(), 1);
        assert_eq!(run.events[0].0, "user.updated");
        assert_eq!(run.events[0].1["id"], "IDNUMBER1234");
        assert_eq!(run.emissions[0].0, "USER");
        assert_eq!(run.emissions[0].1["source"], "azure-ad");
    }

    #[test]
    fn missing_fields_are_a_bad_request_naming_them() {
        let run = call(r#"{"id":"IDNUMBER1234","eventType":"UPDATE"}"#);
        match run.result {
            Err(HandlerError::BadRequest(m)) => {
                assert!(m.contains("entityType") && m.contains("timestamp"), "{m}")
            }
            other => panic!("expected bad request, got {other:?}"),
        }
        assert!(run.events.is_empty() && run.emissions.is_empty());
    }

    #[test]
    fn invalid_json_is_a_bad_request() {
        assert!(matches!(
            call("{not json").result,
            Err(HandlerError::BadRequest(_))
        ));
    }

    #[test]
    fn past_tenses() {
        assert_eq!(past_tense("UPDATE"), "updated");
        assert_eq!(past_tense("SYNC"), "synced");
    }
}
