//! `slack-transform`: an outbound transform (world
//! `hookhost:transformer/transformer`) that turns events into Slack
//! incoming-webhook messages.
//!
//! * Reshapes: the body becomes `{"text": "...", "blocks": [...]}` naming
//!   the event type and its id, with the data's top-level scalar fields as
//!   a list: an endpoint can point straight at a Slack incoming webhook.
//! * Drops fields: objects, arrays and any field whose name contains
//!   `secret`, `token` or `password` are left out of the message.
//! * Routes by content: events whose data has `"quiet": true` are skipped
//!   for this endpoint (the delivery ends as `skipped`, nothing is sent).
//!
//! Build: `cargo build --release --target wasm32-wasip2 -p slack-transform`
//! Try it locally: `hookhost transform target/wasm32-wasip2/release/slack_transform.wasm \
//!   --type invoice.paid --data '{"amount": 42, "currency": "EUR"}'`

use serde_json::{Value, json};

// Generated code: its lowering helpers take one argument per field.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/transformer",
        world: "transformer",
    });
}

use bindings::hookhost::transformer::types::{Message, Outcome};

/// The transform.
pub struct SlackTransform;

impl bindings::Guest for SlackTransform {
    fn transform(msg: Message) -> Result<Outcome, String> {
        transform(msg)
    }
}

/// Field names never copied into a message.
const HIDDEN: [&str; 3] = ["secret", "token", "password"];

/// The transformation, callable natively in unit tests.
pub fn transform(mut msg: Message) -> Result<Outcome, String> {
    let envelope: Value = serde_json::from_str(&msg.body)
        .map_err(|e| format!("the body is not the JSON envelope: {e}"))?;
    let data = &envelope["data"];
    if data["quiet"] == json!(true) {
        return Ok(Outcome::Skip);
    }
    let id = envelope["id"].as_str().unwrap_or_default();
    let mut lines = Vec::new();
    if let Some(fields) = data.as_object() {
        for (name, value) in fields {
            let hidden = HIDDEN.iter().any(|h| name.to_lowercase().contains(h));
            let scalar = !(value.is_object() || value.is_array());
            if !hidden && scalar && name != "quiet" {
                let shown = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                lines.push(format!("• *{name}*: {shown}"));
            }
        }
    }
    let title = format!("*{}* ({id})", msg.event_type);
    let text = if lines.is_empty() {
        title.clone()
    } else {
        format!("{title}\n{}", lines.join("\n"))
    };
    msg.body = json!({
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
    .to_string();
    Ok(Outcome::Send(msg))
}

#[cfg(target_arch = "wasm32")]
bindings::export!(SlackTransform with_types_in bindings);

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: Value) -> Message {
        Message {
            event_type: "invoice.paid".into(),
            body: json!({"id": "evt_1", "type": "invoice.paid", "created_at": "2026-01-01T00:00:00Z", "data": data}).to_string(),
            url: "https://hooks.slack.test/services/x".into(),
            headers: vec![],
        }
    }

    #[test]
    fn events_become_slack_messages_without_secrets() {
        let Outcome::Send(m) = transform(message(json!({
            "amount": 42, "currency": "EUR", "api_token": "t0k", "customer": {"email": "a@b.c"}
        })))
        .unwrap() else {
            panic!("skipped")
        };
        let body: Value = serde_json::from_str(&m.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("*invoice.paid* (evt_1)"), "{text}");
        assert!(
            text.contains("*amount*: 42") && text.contains("*currency*: EUR"),
            "{text}"
        );
        assert!(!text.contains("t0k") && !text.contains("a@b.c"), "{text}");
        assert_eq!(m.url, "https://hooks.slack.test/services/x");
    }

    #[test]
    fn quiet_events_are_skipped_and_bad_bodies_are_errors() {
        assert!(matches!(
            transform(message(json!({"quiet": true}))).unwrap(),
            Outcome::Skip
        ));
        let mut m = message(json!({}));
        m.body = "not json".into();
        assert!(transform(m).is_err());
    }
}
