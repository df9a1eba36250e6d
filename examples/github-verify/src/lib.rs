//! `github-verify`: authenticates GitHub webhook deliveries.
//!
//! The webhook's payload holds the shared secret: `{"secret": "..."}`. Each
//! request's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` is
//! checked in constant time; a missing or wrong signature answers 401. A
//! verified delivery is published as `github.<X-GitHub-Event>` with a short
//! summary, and answered 200.
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p github-verify`

use hmac::{Hmac, Mac};
use hookhost_guest::{Context, Handler, HandlerError, Request, Response, host};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

/// The GitHub verification handler.
pub struct GithubVerify;

#[derive(Deserialize)]
struct Payload {
    secret: String,
}

impl Handler for GithubVerify {
    fn handle(req: Request, ctx: Context) -> Result<Response, HandlerError> {
        let secret = ctx
            .payload::<Payload>()?
            .ok_or_else(|| {
                HandlerError::Internal("webhook payload must be {\"secret\": \"...\"}".into())
            })?
            .secret;
        let signature = req.header("x-hub-signature-256").ok_or_else(|| {
            HandlerError::Unauthorized("missing X-Hub-Signature-256 header".into())
        })?;
        verify(secret.as_bytes(), &req.body, signature)?;

        let event = req
            .header("x-github-event")
            .unwrap_or("unknown")
            .to_string();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let summary = json!({
            "event": event,
            "delivery": req.header("x-github-delivery"),
            "action": body.get("action"),
            "repository": body.pointer("/repository/full_name"),
            "sender": body.pointer("/sender/login"),
        });
        host::publish(&format!("github.{event}"), &summary).map_err(HandlerError::Internal)?;
        Response::json(200, &json!({ "verified": true, "event": event }))
    }
}

/// Checks `sha256=<hex>` against the HMAC of `body`, in constant time.
fn verify(secret: &[u8], body: &[u8], signature: &str) -> Result<(), HandlerError> {
    let hex_sig = signature.strip_prefix("sha256=").ok_or_else(|| {
        HandlerError::Unauthorized("X-Hub-Signature-256 must start with sha256=".into())
    })?;
    let expected = hex::decode(hex_sig)
        .map_err(|_| HandlerError::Unauthorized("X-Hub-Signature-256 is not hex".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| HandlerError::Unauthorized("signature does not match".into()))
}

hookhost_guest::export_handler!(GithubVerify);

#[cfg(test)]
mod tests {
    use super::*;
    use hookhost_guest::testing;

    // GitHub's documented test vector.
    const SECRET: &str = "It's a Secret to Everybody";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn call(sig: Option<&str>) -> testing::MockRun {
        let mut req = Request::new("POST", "/")
            .with_body("Hello, World!")
            .with_header("X-GitHub-Event", "ping");
        if let Some(sig) = sig {
            req = req.with_header("X-Hub-Signature-256", sig);
        }
        testing::run::<GithubVerify>(req, Context::for_test(Some(json!({"secret": SECRET}))))
    }

    #[test]
    fn accepts_githubs_test_vector() {
        let run = call(Some(SIG));
        assert_eq!(run.result.unwrap().status, 200);
        assert_eq!(run.events[0].0, "github.ping");
    }

    #[test]
    fn rejects_wrong_and_missing_signatures() {
        let wrong = SIG.replace("757", "758");
        assert!(matches!(
            call(Some(&wrong)).result,
            Err(HandlerError::Unauthorized(_))
        ));
        assert!(matches!(
            call(None).result,
            Err(HandlerError::Unauthorized(_))
        ));
        assert!(call(Some(&wrong)).events.is_empty());
    }
}
