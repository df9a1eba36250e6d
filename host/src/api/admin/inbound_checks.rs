//! The `verify` and `dedup` fields of webhooks: their API shapes and
//! OpenAPI schemas, stating exactly what [`VerifyConfig::from_json`] and
//! [`DedupConfig::from_json`] accept (the unit tests below tie them).

use crate::config::{DEFAULT_DEDUP_WINDOW, DEFAULT_VERIFY_TOLERANCE, MAX_VERIFY_EXTRA_SECRETS};
use crate::dedup::{DedupConfig, POINTER_PATTERN};
use crate::verify::{
    BODY_ONLY, DURATION_PATTERN, HEADER_PATTERN, PREFIX_PATTERN, SECRET_PATTERN, TEMPLATE_PATTERN,
    VerifyConfig, VerifyScheme, secret_hint,
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type,
};

fn string(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

fn secret() -> ObjectBuilder {
    string(
        SECRET_PATTERN,
        "The signing secret as the provider shows it (8–256 printable ASCII characters, \
         spaces included). Write-only: answers show `secret_hint`.",
    )
    .min_length(Some(8))
    .max_length(Some(256))
}

fn duration(description: &str) -> ObjectBuilder {
    string(DURATION_PATTERN, description).max_length(Some(32))
}

fn header(description: &str) -> ObjectBuilder {
    string(HEADER_PATTERN, description)
        .min_length(Some(1))
        .max_length(Some(64))
}

/// One variant of `verify`: `schemes`, the common fields, and `extra`
/// (name, schema, required).
fn variant(schemes: &[&str], extra: Vec<(&str, ObjectBuilder, bool)>, description: &str) -> Schema {
    let secrets = ArrayBuilder::new()
        .items(secret())
        .max_items(Some(MAX_VERIFY_EXTRA_SECRETS))
        .description(Some(
            "Further secrets valid at the same time (rotation); every one is tried.",
        ));
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "scheme",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(schemes.to_vec())),
        )
        .required("scheme")
        .property("secret", secret())
        .required("secret")
        .property("secrets", secrets)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .description(Some(description));
    for (name, schema, required) in extra {
        o = o.property(name, schema);
        if required {
            o = o.required(name);
        }
    }
    o.build().into()
}

fn tolerance() -> ObjectBuilder {
    duration(&format!(
        "How far the signed timestamp may be from the host's clock, either way (default \
         {DEFAULT_VERIFY_TOLERANCE}); stale and future timestamps are refused."
    ))
    .default(Some(json!(DEFAULT_VERIFY_TOLERANCE)))
}

fn hmac_fields() -> Vec<(&'static str, ObjectBuilder, bool)> {
    vec![
        (
            "header",
            header("The request header holding the signature."),
            true,
        ),
        (
            "algorithm",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["sha1", "sha256", "sha512"]))
                .default(Some(json!("sha256"))),
            false,
        ),
        (
            "encoding",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["hex", "base64"]))
                .default(Some(json!("hex"))),
            false,
        ),
        (
            "prefix",
            string(
                PREFIX_PATTERN,
                "Text before the signature in the header, e.g. `sha256=`.",
            )
            .min_length(Some(1))
            .max_length(Some(32)),
            false,
        ),
    ]
}

/// The `verify` object (without `null`).
fn verify_variants(nullable: bool, description: &str) -> RefOr<Schema> {
    let mut body_only = hmac_fields();
    body_only.push((
        "signed",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([BODY_ONLY]))
            .default(Some(json!(BODY_ONLY))),
        false,
    ));
    let mut timestamped = hmac_fields();
    timestamped.extend([
        (
            "signed",
            string(
                TEMPLATE_PATTERN,
                "What is signed: text, `{timestamp}`, text, `{body}` (text: up to 16 printable \
                 ASCII characters without braces), e.g. `{timestamp}.{body}`.",
            ),
            true,
        ),
        (
            "timestamp_header",
            header("The request header holding the signed timestamp (Unix seconds)."),
            true,
        ),
        ("tolerance", tolerance(), false),
    ]);
    let mut one_of = OneOfBuilder::new();
    if nullable {
        one_of = one_of.item(Object::with_type(Type::Null));
    }
    one_of
        .item(variant(
            &["github", "shopify"],
            vec![],
            "GitHub (`X-Hub-Signature-256: sha256=<hex>`) or Shopify \
             (`X-Shopify-Hmac-Sha256: <base64>`): an HMAC-SHA256 of the body.",
        ))
        .item(variant(
            &["stripe", "standard", "slack"],
            vec![("tolerance", tolerance(), false)],
            "Stripe (`Stripe-Signature: t=…,v1=<hex>`), Standard Webhooks \
             (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`; secret \
             `whsec_<base64>`) or Slack (`X-Slack-Request-Timestamp`, `X-Slack-Signature: v0=<hex>`): \
             HMAC-SHA256 over a signed timestamp and the body.",
        ))
        .item(variant(
            &["hmac"],
            body_only,
            "A header of your choosing holding an HMAC of the body.",
        ))
        .item(variant(
            &["hmac"],
            timestamped,
            "A header of your choosing holding an HMAC of a timestamp (from another header) and the body.",
        ))
        .description(Some(description))
        .into()
}

pub(super) fn verify_schema() -> RefOr<Schema> {
    verify_variants(
        true,
        "Check the request's signature before the handler runs (a failure answers `401 \
         unverified` and is logged with outcome `unverified`); `null` or absent: no check. \
         See docs/verification.md. Refused with `400 invalid_request` naming the field \
         (`verify.scheme: unknown scheme …`).",
    )
}

pub(super) fn verify_patch_schema() -> RefOr<Schema> {
    verify_variants(
        true,
        "New signature check, given whole (secret included); `null` removes it.",
    )
}

fn dedup_variants(description: &str) -> RefOr<Schema> {
    let key = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["auto"])),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("header", header("The header holding the delivery id."))
                .required("header")
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "json",
                    string(
                        POINTER_PATTERN,
                        "A JSON pointer (RFC 6901) into the body; a string or number there is the id.",
                    )
                    .max_length(Some(256)),
                )
                .required("json")
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .description(Some(
            "Where the delivery id is: `auto` (the `verify` scheme's own id: Standard Webhooks \
             `webhook-id`, GitHub `X-GitHub-Delivery`, Stripe's event `id`, Shopify \
             `X-Shopify-Webhook-Id`, Slack's `event_id`; without a scheme or with `hmac`, the \
             `webhook-id` header), a header, or a JSON pointer into the body. A request without \
             one is not deduplicated.",
        ))
        .default(Some(json!("auto")));
    OneOfBuilder::new()
        .item(Object::with_type(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "window",
                    duration(&format!(
                        "How long a delivery id replays the first answer (default \
                         {DEFAULT_DEDUP_WINDOW}; never longer than the retention)."
                    ))
                    .default(Some(json!(DEFAULT_DEDUP_WINDOW))),
                )
                .property("key", key)
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .description(Some(description))
        .into()
}

pub(super) fn dedup_schema() -> RefOr<Schema> {
    dedup_variants(
        "Replay the first 2xx answer to a delivery id to its duplicates within the window, \
         without running the handler (logged with outcome `duplicate`); concurrent duplicates \
         wait for the first. `null` or absent: none. See docs/verification.md.",
    )
}

pub(super) fn dedup_patch_schema() -> RefOr<Schema> {
    dedup_variants("New deduplication, given whole; `null` removes it.")
}

pub(super) fn dedup_out_schema() -> RefOr<Schema> {
    dedup_variants("Deduplication, defaults filled in; `null` when there is none.")
}

/// `verify` as answers show it: the scheme and options, the secrets only
/// as hints.
#[derive(Serialize, ToSchema)]
pub(crate) struct VerifyOut {
    /// The scheme.
    #[schema(value_type = String)]
    scheme: VerifyScheme,
    /// `whsec_` (if the secret starts so), `…`, and for secrets of 16 or
    /// more characters their last four.
    secret_hint: String,
    /// Hints of the further secrets, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secret_hints: Vec<String>,
    /// The timestamp tolerance in force (schemes that sign a timestamp).
    #[serde(skip_serializing_if = "Option::is_none")]
    tolerance: Option<String>,
    /// `hmac`: the signature header (lower-case).
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    /// `hmac`: the hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    algorithm: Option<String>,
    /// `hmac`: the signature's encoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
    /// `hmac`: text before the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    /// `hmac`: what is signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<String>,
    /// `hmac`: the timestamp header (lower-case).
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp_header: Option<String>,
}

fn name_of<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

pub(super) fn verify_out(c: &VerifyConfig) -> VerifyOut {
    let hmac = c.scheme == VerifyScheme::Hmac;
    VerifyOut {
        scheme: c.scheme,
        secret_hint: secret_hint(&c.secret),
        secret_hints: c.secrets.iter().map(|s| secret_hint(s)).collect(),
        tolerance: c.effective_tolerance().map(str::to_string),
        header: c.header.clone(),
        algorithm: hmac
            .then(|| name_of(&c.algorithm.unwrap_or_default()))
            .flatten(),
        encoding: hmac
            .then(|| name_of(&c.encoding.unwrap_or_default()))
            .flatten(),
        prefix: c.prefix.clone(),
        signed: hmac.then(|| c.signed.clone().unwrap_or_else(|| BODY_ONLY.to_string())),
        timestamp_header: c.timestamp_header.clone(),
    }
}

/// Reads `verify` of a request body (`null`: none).
pub(super) fn read_verify(v: Option<Value>) -> Result<Option<VerifyConfig>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => VerifyConfig::from_json(&v).map(Some),
    }
}

/// Reads `dedup` of a request body (`null`: none).
pub(super) fn read_dedup(v: Option<Value>) -> Result<Option<DedupConfig>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => DedupConfig::from_json(&v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_are_what_the_server_checks() {
        assert_eq!(SECRET_PATTERN, "^[ -~]{8,256}$");
        assert_eq!(HEADER_PATTERN, r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$");
        assert_eq!(PREFIX_PATTERN, "^[!-~]{1,32}$");
        assert_eq!(DURATION_PATTERN, "^([0-9]{1,6}(ms|s|m|h|d))+$");
        assert_eq!(POINTER_PATTERN, "^(/([^~/]|~[01])*)+$");
        assert_eq!(
            TEMPLATE_PATTERN,
            r"^[!-z|~]{0,16}\{timestamp\}[!-z|~]{0,16}\{body\}$"
        );
        // Each pattern, evaluated by hand on strings over an alphabet that
        // covers each case of its rule, agrees with the server.
        let strings = |alphabet: &[&str], n: usize| {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..n {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let verify_ok = |extra: Value| {
            let mut v = json!({"scheme": "hmac", "secret": "12345678", "header": "x"});
            for (k, val) in extra.as_object().unwrap() {
                v[k] = val.clone();
            }
            VerifyConfig::from_json(&v).is_ok()
        };
        // Durations: `^([0-9]{1,6}(ms|s|m|h|d))+$`.
        let duration_form = |s: &str| {
            let mut rest = s;
            if rest.is_empty() {
                return false;
            }
            while !rest.is_empty() {
                let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                if !(1..=6).contains(&d) {
                    return false;
                }
                rest = &rest[d..];
                match ["ms", "s", "m", "h", "d"]
                    .iter()
                    .find(|u| rest.starts_with(*u))
                {
                    Some(u) => rest = &rest[u.len()..],
                    None => return false,
                }
            }
            true
        };
        for s in strings(&["1", "m", "s", " ", "x"], 5) {
            let accepted = verify_ok(
                json!({"signed": "{timestamp}{body}", "timestamp_header": "t", "tolerance": s}),
            );
            assert_eq!(accepted, duration_form(&s), "{s:?}");
        }
        // Header names.
        for s in strings(&["a", "-", " ", ":", "é", "`"], 3) {
            let token = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+.^_`|~-".contains(c));
            assert_eq!(verify_ok(json!({"header": s})), token, "{s:?}");
        }
        // Templates.
        for s in strings(&["{timestamp}", "{body}", ".", "{", " "], 3) {
            let form = s
                .split_once("{timestamp}")
                .and_then(|(a, rest)| Some((a, rest.strip_suffix("{body}")?)))
                .is_some_and(|(a, b)| {
                    [a, b].iter().all(|t| {
                        t.len() <= 16
                            && t.bytes()
                                .all(|c| c.is_ascii_graphic() && c != b'{' && c != b'}')
                    })
                });
            let accepted =
                s == BODY_ONLY || verify_ok(json!({"signed": s, "timestamp_header": "t"}));
            assert_eq!(accepted, form || s == BODY_ONLY, "{s:?}");
        }
        // JSON pointers.
        for s in strings(&["/", "~", "0", "2", "a"], 4) {
            let form = s.starts_with('/')
                && s.split('~')
                    .skip(1)
                    .all(|t| t.starts_with('0') || t.starts_with('1'));
            let accepted = DedupConfig::from_json(&json!({"key": {"json": s}})).is_ok();
            assert_eq!(accepted, form, "{s:?}");
        }
    }

    #[test]
    fn answers_never_show_a_secret() {
        let c = VerifyConfig::from_json(&json!({
            "scheme": "stripe", "secret": "whsec_0123456789abcdefWXYZ", "secrets": ["another-secret-1234"]
        }))
        .unwrap();
        let out = serde_json::to_value(verify_out(&c)).unwrap();
        assert_eq!(
            out,
            json!({"scheme": "stripe", "secret_hint": "whsec_…WXYZ", "secret_hints": ["…1234"], "tolerance": "5m"})
        );
    }
}
