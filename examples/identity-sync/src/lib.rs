//! `identity-sync`: receives identity-service notifications (seed 001) like
//! `{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z"}`.
//!
//! * A missing or non-string field answers 400 with a message naming the
//!   fields, so the source application can show it.
//! * Otherwise it emits the entity (type `USER`, ...) and publishes
//!   `<entity>.<event>d` (`user.updated`) for outbound delivery, then
//!   answers 200. The webhook payload's `source` (if any) is attached to both.
//! * The fetching variant: when the webhook payload has `identity_url`, it
//!   first fetches `<identity_url>/<id>` from the identity service (the
//!   webhook's `outbound_hosts` must allow that host) and includes the
//!   entity it got under `entity`. An unreachable service or a non-200
//!   answer fails the invocation (500), so nothing is published and the
//!   source application retries.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p identity-sync`

use hookhost_guest::host::FetchRequest;
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
        let payload = ctx.payload_value();
        let source = payload.get("source").cloned().unwrap_or(Value::Null);

        let mut entity = json!({
            "id": id,
            "eventType": event_type,
            "timestamp": field("timestamp"),
            "source": source,
        });
        if let Some(base) = payload.get("identity_url").and_then(Value::as_str) {
            entity["entity"] = fetch_entity(base, &id)?;
        }
        host::emit(&entity_type, &entity).map_err(HandlerError::Internal)?;
        let event_name = format!("{}.{}", entity_type.to_lowercase(), past_tense(&event_type));
        host::publish(&event_name, &entity).map_err(HandlerError::Internal)?;
        Response::json(200, &json!({ "status": "OK", "published": event_name }))
    }
}

/// The entity `id` as the identity service at `base` has it.
fn fetch_entity(base: &str, id: &str) -> Result<Value, HandlerError> {
    let url = format!("{}/{id}", base.trim_end_matches('/'));
    let response =
        host::fetch(FetchRequest::get(&url).with_header("accept", "application/json"))
            .map_err(|e| HandlerError::Internal(format!("identity service unreachable: {e}")))?;
    if response.status != 200 {
        return Err(HandlerError::Internal(format!(
            "identity service answered {} for {id}",
            response.status
        )));
    }
    response.json().map_err(HandlerError::Internal)
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
    fn the_fetching_variant_publishes_the_entity_from_the_identity_service() {
        testing::mock_fetch(|req| {
            Ok(hookhost_guest::host::FetchResponse {
                status: if req.url.ends_with("/users/U1") {
                    200
                } else {
                    404
                },
                headers: vec![],
                body: br#"{"name":"Ada"}"#.to_vec(),
            })
        });
        let ctx = |url: &str| Context::for_test(Some(json!({"identity_url": url})));
        let body = r#"{"id":"U1","entityType":"USER","eventType":"UPDATE","timestamp":"t"}"#;
        let run = testing::run::<IdentitySync>(
            Request::new("POST", "/").with_body(body),
            ctx("http://ids.test/users/"),
        );
        assert_eq!(run.result.unwrap().status, 200);
        assert_eq!(run.fetched[0].url, "http://ids.test/users/U1");
        assert_eq!(run.events[0].1["entity"]["name"], "Ada");

        // Unknown to the service: the invocation fails, nothing is published.
        let run = testing::run::<IdentitySync>(
            Request::new("POST", "/").with_body(body),
            ctx("http://ids.test/other"),
        );
        assert!(matches!(run.result, Err(HandlerError::Internal(_))));
        assert!(run.events.is_empty());
    }

    #[test]
    fn past_tenses() {
        assert_eq!(past_tense("UPDATE"), "updated");
        assert_eq!(past_tense("SYNC"), "synced");
    }
}
