//! `echo`: answers every request with what it received and the webhook's
//! stored payload, as JSON. The reference handler: the Python, JavaScript and
//! C examples answer exactly the same way.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p echo`

use hookhost_guest::{Context, Handler, HandlerError, Request, Response};
use serde_json::json;

/// The echo handler.
pub struct Echo;

impl Handler for Echo {
    fn handle(req: Request, ctx: Context) -> Result<Response, HandlerError> {
        Response::json(
            200,
            &json!({
                "payload": ctx.payload_value(),
                "method": req.method,
                "path": req.path,
                "body": String::from_utf8_lossy(&req.body),
            }),
        )
    }
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
}
