//! `echo`: answers every request with what it received and the webhook's
//! stored payload, as JSON. The reference handler: the Python, JavaScript and
//! C examples behave exactly the same way (`tests/tests/languages.rs` checks it).
//!
//! * Response: `200`, `content-type: application/json`, body
//!   `{"payload": <stored payload or null>, "method", "path", "body"}` where
//!   `body` is the request body as text (invalid UTF-8 replaced by U+FFFD).
//! * With `publish=TYPE` in the query string (the first such parameter, taken
//!   verbatim), it also publishes an outbound event of type `TYPE` with data
//!   `{"method", "path", "body"}`. Only types under `echo.` (`echo.seen`):
//!   anyone who knows the URL can call it, and must not be able to inject
//!   signed events of any other type into subscribers; others answer 400.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p echo`

use hookhost_guest::{Context, Handler, HandlerError, Request, Response, host};
use serde_json::json;

/// The echo handler.
pub struct Echo;

impl Handler for Echo {
    fn handle(req: Request, ctx: Context) -> Result<Response, HandlerError> {
        let body = String::from_utf8_lossy(&req.body);
        if let Some(event_type) = publish_param(&req.query) {
            if !event_type.starts_with(PUBLISH_PREFIX) {
                return Err(HandlerError::BadRequest(format!(
                    "echo publishes only event types under `{PUBLISH_PREFIX}`"
                )));
            }
            let data = json!({"method": req.method, "path": req.path, "body": body});
            host::publish(event_type, &data).map_err(HandlerError::Internal)?;
        }
        Response::json(
            200,
            &json!({
                "payload": ctx.payload_value(),
                "method": req.method,
                "path": req.path,
                "body": body,
            }),
        )
    }
}

/// What every type echo publishes starts with.
const PUBLISH_PREFIX: &str = "echo.";

/// The value of the first `publish=` parameter of `query`, if not empty.
fn publish_param(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("publish="))
        .filter(|v| !v.is_empty())
}

hookhost_guest::export_handler!(Echo);

#[cfg(test)]
mod tests {
    use super::*;
    use hookhost_guest::testing;

    #[test]
    fn echoes_request_and_payload() {
        let run = testing::run::<Echo>(
            Request::new("PUT", "/a/b").with_body("hi"),
            Context::for_test(Some(json!({"tenant": "acme"}))),
        );
        let resp = run.result.unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(
            resp.body_json().unwrap(),
            json!({"payload": {"tenant": "acme"}, "method": "PUT", "path": "/a/b", "body": "hi"})
        );
        assert!(run.emissions.is_empty() && run.events.is_empty());
    }

    #[test]
    fn missing_payload_is_null() {
        let run = testing::run::<Echo>(Request::new("GET", "/"), Context::for_test(None));
        assert_eq!(
            run.result.unwrap().body_json().unwrap()["payload"],
            json!(null)
        );
    }

    #[test]
    fn publishes_when_asked() {
        let mut req = Request::new("POST", "/x").with_body("yo");
        req.query = "a=1&publish=echo.seen&publish=other".into();
        let run = testing::run::<Echo>(req, Context::for_test(None));
        assert_eq!(run.result.unwrap().status, 200);
        assert_eq!(run.events.len(), 1);
        assert_eq!(run.events[0].0, "echo.seen");
        assert_eq!(
            run.events[0].1,
            json!({"method": "POST", "path": "/x", "body": "yo"})
        );
    }

    #[test]
    fn publishes_only_echo_types() {
        let mut req = Request::new("POST", "/x");
        req.query = "publish=invoice.paid".into();
        let run = testing::run::<Echo>(req, Context::for_test(None));
        assert!(matches!(run.result, Err(HandlerError::BadRequest(_))));
        assert!(run.events.is_empty());
    }

    #[test]
    fn publish_param_parsing() {
        assert_eq!(publish_param(""), None);
        assert_eq!(publish_param("publish="), None);
        assert_eq!(publish_param("xpublish=a"), None);
        assert_eq!(publish_param("b=2&publish=a.b"), Some("a.b"));
    }
}
