//! Checking an inbound request's signature before its handler runs, so that
//! a webhook from GitHub, Stripe, Shopify, Slack or a Standard Webhooks
//! sender needs no verification code in the handler.
//!
//! | scheme | headers | signed | key |
//! |---|---|---|---|
//! | `github` | `X-Hub-Signature-256: sha256=<hex>` | body | secret |
//! | `stripe` | `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` | `{t}.{body}` | secret (`whsec_…` as is) |
//! | `standard` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> […]` | `{id}.{ts}.{body}` | base64-decoded part of `whsec_…` |
//! | `shopify` | `X-Shopify-Hmac-Sha256: <base64>` | body | secret |
//! | `slack` | `X-Slack-Request-Timestamp`, `X-Slack-Signature: v0=<hex>` | `v0:{ts}:{body}` | secret |
//! | `hmac` | `header: [prefix]<hex or base64>` | `{body}` or a template with `{timestamp}` | secret |
//!
//! All are HMACs compared in constant time ([`Mac::verify_slice`]); every
//! configured secret is tried (rotation). Timestamps (Unix seconds) further
//! than the tolerance from the host's clock, in the past or the future, are
//! refused.

use crate::config::{DEFAULT_VERIFY_TOLERANCE, MAX_VERIFY_EXTRA_SECRETS};
use crate::signing::standard_key;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A provider's signature scheme, as `verify.scheme` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyScheme {
    /// `X-Hub-Signature-256`.
    Github,
    /// `Stripe-Signature`.
    Stripe,
    /// Standard Webhooks (Svix and others).
    Standard,
    /// `X-Shopify-Hmac-Sha256`.
    Shopify,
    /// `X-Slack-Signature` with `X-Slack-Request-Timestamp`.
    Slack,
    /// A header of the webhook's choosing.
    Hmac,
}

impl VerifyScheme {
    /// Every scheme, as named in the API.
    pub const ALL: [&'static str; 6] = ["github", "stripe", "standard", "shopify", "slack", "hmac"];

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "github" => Self::Github,
            "stripe" => Self::Stripe,
            "standard" => Self::Standard,
            "shopify" => Self::Shopify,
            "slack" => Self::Slack,
            "hmac" => Self::Hmac,
            _ => return None,
        })
    }

    /// Whether the scheme signs a timestamp (so `tolerance` applies).
    pub fn has_timestamp(self) -> bool {
        matches!(self, Self::Stripe | Self::Standard | Self::Slack)
    }
}

/// Hash of the generic `hmac` scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    /// HMAC-SHA1 (older senders).
    Sha1,
    /// HMAC-SHA256.
    #[default]
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How the generic `hmac` scheme writes the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Hexadecimal, either case.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// A webhook's `verify` setting, as stored. Built only by
/// [`VerifyConfig::from_json`], which checks every field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyConfig {
    /// The provider's scheme.
    pub scheme: VerifyScheme,
    /// The signing secret, as the provider shows it.
    pub secret: String,
    /// Further secrets valid at the same time (rotation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Largest distance of a signed timestamp from now (humantime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<String>,
    /// `hmac`: the header holding the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `hmac`: the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<HmacAlgorithm>,
    /// `hmac`: the signature's encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<SignatureEncoding>,
    /// `hmac`: text before the signature in the header (`sha256=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `hmac`: what is signed: `{body}`, or `<text>{timestamp}<text>{body}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
    /// `hmac`: the header holding the signed timestamp (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
}

/// What `signed` is when absent: the body alone.
pub const BODY_ONLY: &str = "{body}";

/// The form of a secret: 8–256 printable ASCII characters, spaces included
/// (GitHub's documented example secret has them).
pub const SECRET_PATTERN: &str = "^[ -~]{8,256}$";
/// The form of a header name (an HTTP token), up to 64 characters.
pub const HEADER_PATTERN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";
/// The form of an `hmac` prefix: 1–32 printable ASCII characters, no spaces.
pub const PREFIX_PATTERN: &str = "^[!-~]{1,32}$";
/// The form of an `hmac` template that signs a timestamp: up to 16
/// characters, `{timestamp}`, up to 16 characters, `{body}` (literal text
/// is printable ASCII without braces).
pub const TEMPLATE_PATTERN: &str = r"^[!-z|~]{0,16}\{timestamp\}[!-z|~]{0,16}\{body\}$";
/// The form of a duration: one or more `<number><unit>` (units `ms`, `s`,
/// `m`, `h`, `d`; numbers of up to 6 digits), e.g. `5m`, `1h30m`; at most
/// 32 characters.
pub const DURATION_PATTERN: &str = "^([0-9]{1,6}(ms|s|m|h|d))+$";

/// Parses a duration of [`DURATION_PATTERN`]'s form with humantime.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text;
    let mut ok = !text.is_empty() && text.len() <= 32;
    while ok && !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let after = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d"]
            .into_iter()
            .find(|u| after.starts_with(u));
        match unit {
            Some(u) if (1..=6).contains(&digits) => rest = &after[u.len()..],
            _ => ok = false,
        }
    }
    if !ok {
        return Err(format!(
            "{text:?} is not a duration such as 30s, 5m, 24h or 1h30m (numbers of up to 6 digits \
             with a unit ms, s, m, h or d; at most 32 characters)"
        ));
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))
}

/// Whether `s` is a header name of [`HEADER_PATTERN`]'s form.
pub fn is_header_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

fn is_printable(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// `(before, between)` of a template of [`TEMPLATE_PATTERN`]'s form.
fn split_template(t: &str) -> Option<(&str, &str)> {
    let (before, rest) = t.split_once("{timestamp}")?;
    let between = rest.strip_suffix("{body}")?;
    let literal = |s: &str| {
        s.len() <= 16
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
    };
    (literal(before) && literal(between)).then_some((before, between))
}

/// A field of a JSON object, checked to be a string.
fn string_field<'a>(
    obj: &'a serde_json::Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{path}.{name}: expected a string, got {other}")),
    }
}

fn check_secret(path: &str, s: &str) -> Result<(), String> {
    if (8..=256).contains(&s.len()) && s.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(format!(
            "{path}: a secret is 8-256 printable ASCII characters (spaces included)"
        ))
    }
}

impl VerifyConfig {
    /// Reads and checks `verify` of an API request; errors name the field
    /// (`verify.tolerance: …`).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let path = "verify";
        let obj = value
            .as_object()
            .ok_or_else(|| format!("{path}: expected an object with `scheme` and `secret`"))?;
        let scheme_name = string_field(obj, path, "scheme")?.ok_or_else(|| {
            format!(
                "{path}.scheme: required, one of {}",
                VerifyScheme::ALL.join(", ")
            )
        })?;
        let scheme = VerifyScheme::parse(scheme_name).ok_or_else(|| {
            format!(
                "{path}.scheme: unknown scheme {scheme_name:?}; one of {}",
                VerifyScheme::ALL.join(", ")
            )
        })?;
        let timestamped = scheme.has_timestamp()
            || (scheme == VerifyScheme::Hmac
                && obj
                    .get("signed")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s != BODY_ONLY));
        for key in obj.keys() {
            let allowed = match key.as_str() {
                "scheme" | "secret" | "secrets" => true,
                "tolerance" => timestamped,
                "header" | "algorithm" | "encoding" | "prefix" | "signed" => {
                    scheme == VerifyScheme::Hmac
                }
                "timestamp_header" => scheme == VerifyScheme::Hmac && timestamped,
                _ => false,
            };
            if !allowed {
                let why = match key.as_str() {
                    "tolerance" | "timestamp_header" if scheme == VerifyScheme::Hmac => {
                        "only with a `signed` template containing {timestamp}".to_string()
                    }
                    "tolerance" => format!("scheme {scheme_name} signs no timestamp"),
                    "header" | "algorithm" | "encoding" | "prefix" | "signed" => {
                        "only for scheme hmac".to_string()
                    }
                    _ => "unknown option".to_string(),
                };
                return Err(format!("{path}.{key}: {why}"));
            }
        }
        let secret =
            string_field(obj, path, "secret")?.ok_or_else(|| format!("{path}.secret: required"))?;
        check_secret(&format!("{path}.secret"), secret)?;
        let mut secrets = Vec::new();
        match obj.get("secrets") {
            None => {}
            Some(Value::Array(items)) => {
                if items.len() > MAX_VERIFY_EXTRA_SECRETS {
                    return Err(format!(
                        "{path}.secrets: at most {MAX_VERIFY_EXTRA_SECRETS} further secrets"
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    let s = item
                        .as_str()
                        .ok_or_else(|| format!("{path}.secrets[{i}]: expected a string"))?;
                    check_secret(&format!("{path}.secrets[{i}]"), s)?;
                    secrets.push(s.to_string());
                }
            }
            Some(_) => return Err(format!("{path}.secrets: expected an array of strings")),
        }
        let tolerance = string_field(obj, path, "tolerance")?
            .map(|t| {
                parse_duration(t)
                    .map(|_| t.to_string())
                    .map_err(|e| format!("{path}.tolerance: {e}"))
            })
            .transpose()?;
        let mut config = VerifyConfig {
            scheme,
            secret: secret.to_string(),
            secrets,
            tolerance,
            header: None,
            algorithm: None,
            encoding: None,
            prefix: None,
            signed: None,
            timestamp_header: None,
        };
        if scheme != VerifyScheme::Hmac {
            return Ok(config);
        }
        let header = |name: &str| -> Result<Option<String>, String> {
            match string_field(obj, path, name)? {
                Some(h) if is_header_name(h) => Ok(Some(h.to_ascii_lowercase())),
                Some(h) => Err(format!(
                    "{path}.{name}: {h:?} is not a header name (1-64 letters, digits and !#$%&'*+.^_`|~-)"
                )),
                None => Ok(None),
            }
        };
        config.header = Some(
            header("header")?.ok_or_else(|| format!("{path}.header: required for scheme hmac"))?,
        );
        config.algorithm = match string_field(obj, path, "algorithm")? {
            None => None,
            Some("sha1") => Some(HmacAlgorithm::Sha1),
            Some("sha256") => Some(HmacAlgorithm::Sha256),
            Some("sha512") => Some(HmacAlgorithm::Sha512),
            Some(other) => {
                return Err(format!(
                    "{path}.algorithm: unknown algorithm {other:?}; one of sha1, sha256, sha512"
                ));
            }
        };
        config.encoding = match string_field(obj, path, "encoding")? {
            None => None,
            Some("hex") => Some(SignatureEncoding::Hex),
            Some("base64") => Some(SignatureEncoding::Base64),
            Some(other) => {
                return Err(format!(
                    "{path}.encoding: unknown encoding {other:?}; one of hex, base64"
                ));
            }
        };
        config.prefix = match string_field(obj, path, "prefix")? {
            Some(p) if !is_printable(p, 1, 32) => {
                return Err(format!(
                    "{path}.prefix: 1-32 printable ASCII characters without spaces"
                ));
            }
            p => p.map(str::to_string),
        };
        config.signed = match string_field(obj, path, "signed")? {
            None => None,
            Some(BODY_ONLY) => Some(BODY_ONLY.to_string()),
            Some(t) if split_template(t).is_some() => Some(t.to_string()),
            Some(t) => {
                return Err(format!(
                    "{path}.signed: {t:?} is neither {BODY_ONLY:?} nor a template \
                     `<text>{{timestamp}}<text>{{body}}` (text: up to 16 printable ASCII \
                     characters without braces), e.g. \"{{timestamp}}.{{body}}\""
                ));
            }
        };
        config.timestamp_header = header("timestamp_header")?;
        if timestamped && config.timestamp_header.is_none() {
            return Err(format!(
                "{path}.timestamp_header: required when `signed` contains {{timestamp}}"
            ));
        }
        Ok(config)
    }

    /// The tolerance in force, for schemes that sign a timestamp.
    pub fn effective_tolerance(&self) -> Option<&str> {
        let timestamped = self.scheme.has_timestamp() || self.timestamp_header.is_some();
        timestamped.then(|| {
            self.tolerance
                .as_deref()
                .unwrap_or(DEFAULT_VERIFY_TOLERANCE)
        })
    }
}

/// How a secret is shown by the API: never in full. A `whsec_` prefix and,
/// for secrets of 16 characters or more, the last four characters, so an
/// operator can tell which secret is set without the API leaking it.
pub fn secret_hint(secret: &str) -> String {
    let prefix = if secret.starts_with("whsec_") {
        "whsec_"
    } else {
        ""
    };
    let tail = if secret.len() >= 16 {
        &secret[secret.len() - 4..]
    } else {
        ""
    };
    format!("{prefix}…{tail}")
}

/// A [`VerifyConfig`] made ready for requests: keys decoded, tolerance parsed.
#[derive(Debug)]
pub struct Verifier {
    scheme: VerifyScheme,
    keys: Vec<Vec<u8>>,
    tolerance: i64,
    algorithm: HmacAlgorithm,
    encoding: SignatureEncoding,
    header: String,
    prefix: String,
    /// `hmac` with a timestamp: the template's text before it and between
    /// it and the body, and the timestamp header.
    template: Option<(String, String, String)>,
}

/// Why a request failed verification (the message of the 401).
pub type Unverified = String;

impl Verifier {
    /// Prepares `config` (checked by [`VerifyConfig::from_json`]).
    pub fn new(config: &VerifyConfig) -> Self {
        let secrets = std::iter::once(&config.secret).chain(&config.secrets);
        let keys = secrets
            .map(|s| match config.scheme {
                VerifyScheme::Standard => standard_key(s),
                _ => s.as_bytes().to_vec(),
            })
            .collect();
        let tolerance = config
            .tolerance
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .or_else(|| parse_duration(DEFAULT_VERIFY_TOLERANCE).ok())
            .map_or(300, |d| d.as_secs().min(i64::MAX as u64) as i64);
        let template = config
            .signed
            .as_deref()
            .and_then(split_template)
            .zip(config.timestamp_header.as_deref())
            .map(|((a, b), h)| (a.to_string(), b.to_string(), h.to_string()));
        Self {
            scheme: config.scheme,
            keys,
            tolerance,
            algorithm: config.algorithm.unwrap_or_default(),
            encoding: config.encoding.unwrap_or_default(),
            header: config.header.clone().unwrap_or_default(),
            prefix: config.prefix.clone().unwrap_or_default(),
            template,
        }
    }

    /// The scheme checked.
    pub fn scheme(&self) -> VerifyScheme {
        self.scheme
    }

    /// Checks the signature of a request with `headers` (lower-case names)
    /// and `body`, at `now` (Unix seconds).
    pub fn verify(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<(), Unverified> {
        let get =
            |name: &str| header(headers, name).ok_or_else(|| format!("missing header {name}"));
        let hex_sigs = |v: &str, prefix: &str| -> Vec<Vec<u8>> {
            v.strip_prefix(prefix)
                .and_then(|h| hex::decode(h.trim()).ok())
                .into_iter()
                .collect()
        };
        let (sigs, parts): (Vec<Vec<u8>>, Vec<Vec<u8>>) = match self.scheme {
            VerifyScheme::Github => {
                let v = get("x-hub-signature-256")?;
                (hex_sigs(v, "sha256="), vec![])
            }
            VerifyScheme::Shopify => {
                let v = get("x-shopify-hmac-sha256")?;
                (B64.decode(v.trim()).ok().into_iter().collect(), vec![])
            }
            VerifyScheme::Slack => {
                let ts = get("x-slack-request-timestamp")?;
                let v = get("x-slack-signature")?;
                self.check_time(ts, now)?;
                (hex_sigs(v, "v0="), vec![format!("v0:{ts}:").into_bytes()])
            }
            VerifyScheme::Stripe => {
                let v = get("stripe-signature")?;
                let mut ts = None;
                let mut sigs = Vec::new();
                for item in v.split(',') {
                    match item.trim().split_once('=') {
                        Some(("t", t)) => ts = Some(t),
                        Some(("v1", s)) => sigs.extend(hex::decode(s).ok()),
                        _ => {}
                    }
                }
                let ts = ts.ok_or("Stripe-Signature has no timestamp (t=)")?;
                self.check_time(ts, now)?;
                (sigs, vec![format!("{ts}.").into_bytes()])
            }
            VerifyScheme::Standard => {
                let id = get("webhook-id")?;
                let ts = get("webhook-timestamp")?;
                let v = get("webhook-signature")?;
                self.check_time(ts, now)?;
                let sigs = v
                    .split(' ')
                    .filter_map(|s| s.strip_prefix("v1,"))
                    .filter_map(|s| B64.decode(s).ok())
                    .collect();
                (sigs, vec![format!("{id}.{ts}.").into_bytes()])
            }
            VerifyScheme::Hmac => {
                let v = get(&self.header)?;
                let encoded = v.trim().strip_prefix(self.prefix.as_str()).ok_or_else(|| {
                    format!(
                        "header {} does not start with {:?}",
                        self.header, self.prefix
                    )
                })?;
                let sig = match self.encoding {
                    SignatureEncoding::Hex => hex::decode(encoded).ok(),
                    SignatureEncoding::Base64 => B64.decode(encoded).ok(),
                };
                let parts = match &self.template {
                    Some((before, between, ts_header)) => {
                        let ts = get(ts_header)?;
                        self.check_time(ts, now)?;
                        vec![format!("{before}{ts}{between}").into_bytes()]
                    }
                    None => vec![],
                };
                (sig.into_iter().collect(), parts)
            }
        };
        if sigs.is_empty() {
            return Err("no signature of the expected form".into());
        }
        let mut message: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        message.push(body);
        let algorithm = match self.scheme {
            VerifyScheme::Hmac => self.algorithm,
            _ => HmacAlgorithm::Sha256,
        };
        let mut matched = false;
        // Every pair is checked (no early exit), each in constant time.
        for key in &self.keys {
            for sig in &sigs {
                matched |= mac_verifies(algorithm, key, &message, sig);
            }
        }
        if matched {
            Ok(())
        } else {
            Err("signature does not match".into())
        }
    }

    fn check_time(&self, ts: &str, now: i64) -> Result<(), Unverified> {
        let ts: i64 = ts
            .trim()
            .parse()
            .map_err(|_| format!("timestamp {ts:?} is not a Unix time in seconds"))?;
        let age = now.saturating_sub(ts);
        if age > self.tolerance {
            Err(format!(
                "timestamp is {age} s old; the tolerance is {} s",
                self.tolerance
            ))
        } else if -age > self.tolerance {
            Err(format!(
                "timestamp is {} s in the future; the tolerance is {} s",
                -age, self.tolerance
            ))
        } else {
            Ok(())
        }
    }
}

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn mac_verifies(algorithm: HmacAlgorithm, key: &[u8], message: &[&[u8]], sig: &[u8]) -> bool {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[&[u8]], sig: &[u8]) -> bool {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .expect("HMAC takes keys of any length");
        for part in message {
            mac.update(part);
        }
        mac.verify_slice(sig).is_ok()
    }
    match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message, sig),
        HmacAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message, sig),
        HmacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, message, sig),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verifier(v: Value) -> Verifier {
        Verifier::new(&VerifyConfig::from_json(&v).unwrap())
    }

    fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }

    #[test]
    fn standard_webhooks_published_vector() {
        let v = verifier(
            json!({"scheme": "standard", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        );
        let h = hdrs(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1,bm9ldHUK v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(v.verify(&h, body, 1614265330), Ok(()));
        assert!(
            v.verify(&h, body, 1614265330 + 301)
                .unwrap_err()
                .contains("old")
        );
        assert!(
            v.verify(&h, body, 1614265330 - 301)
                .unwrap_err()
                .contains("future")
        );
        assert!(v.verify(&h, b"{}", 1614265330).is_err());
    }

    #[test]
    fn github_example_from_its_docs() {
        // docs.github.com "Validating webhook deliveries" test values.
        let v = verifier(json!({"scheme": "github", "secret": "It's a Secret to Everybody"}));
        let h = hdrs(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert_eq!(v.verify(&h, b"Hello, World!", 0), Ok(()));
        assert!(v.verify(&h, b"Hello, World?", 0).is_err());
        assert_eq!(
            v.verify(&[], b"", 0),
            Err("missing header x-hub-signature-256".into())
        );
    }

    #[test]
    fn rotation_accepts_every_secret() {
        let v = verifier(
            json!({"scheme": "shopify", "secret": "old-secret-1", "secrets": ["new-secret-2"]}),
        );
        for key in ["old-secret-1", "new-secret-2"] {
            let sig = B64.encode(hmac256(key.as_bytes(), b"{}"));
            assert_eq!(
                v.verify(&hdrs(&[("x-shopify-hmac-sha256", &sig)]), b"{}", 0),
                Ok(())
            );
        }
        let sig = B64.encode(hmac256(b"other-secret", b"{}"));
        assert!(
            v.verify(&hdrs(&[("x-shopify-hmac-sha256", &sig)]), b"{}", 0)
                .is_err()
        );
    }

    #[test]
    fn generic_hmac_with_a_timestamp_template() {
        let v = verifier(json!({
            "scheme": "hmac", "secret": "generic-secret", "header": "X-Sig", "prefix": "sha256=",
            "encoding": "base64", "signed": "{timestamp}.{body}", "timestamp_header": "X-Ts",
            "tolerance": "1m"
        }));
        let sig = format!(
            "sha256={}",
            B64.encode(hmac256(b"generic-secret", b"100.{}"))
        );
        let h = hdrs(&[("x-sig", &sig), ("x-ts", "100")]);
        assert_eq!(v.verify(&h, b"{}", 130), Ok(()));
        assert!(v.verify(&h, b"{}", 161).is_err());
    }

    #[test]
    fn refusals_name_the_field() {
        let err = |v: Value| VerifyConfig::from_json(&v).unwrap_err();
        assert!(
            err(json!({"scheme": "gitlab", "secret": "12345678"})).starts_with("verify.scheme:")
        );
        assert!(err(json!({"scheme": "github"})).starts_with("verify.secret:"));
        assert!(err(json!({"scheme": "github", "secret": "short"})).starts_with("verify.secret:"));
        assert!(
            err(json!({"scheme": "github", "secret": "12345678", "tolerance": "5m"}))
                .starts_with("verify.tolerance:")
        );
        assert!(
            err(json!({"scheme": "stripe", "secret": "12345678", "tolerance": "5 minutes"}))
                .starts_with("verify.tolerance:")
        );
        assert!(
            err(json!({"scheme": "stripe", "secret": "12345678", "header": "x"}))
                .starts_with("verify.header:")
        );
        assert!(err(json!({"scheme": "hmac", "secret": "12345678"})).starts_with("verify.header:"));
        assert!(
            err(json!({"scheme": "hmac", "secret": "12345678", "header": "x", "algorithm": "md5"}))
                .starts_with("verify.algorithm:")
        );
        assert!(err(json!({"scheme": "hmac", "secret": "12345678", "header": "x", "signed": "{body}{timestamp}"})).starts_with("verify.signed:"));
        assert!(err(json!({"scheme": "hmac", "secret": "12345678", "header": "x", "signed": "{timestamp}.{body}"})).starts_with("verify.timestamp_header:"));
        assert!(err(json!({"scheme": "hmac", "secret": "12345678", "header": "x", "timestamp_header": "t"})).starts_with("verify.timestamp_header:"));
        assert!(
            err(json!({"scheme": "github", "secret": "12345678", "secrets": ["a", "b"]}))
                .starts_with("verify.secrets[0]:")
        );
        assert!(
            err(json!({"scheme": "github", "secret": "12345678", "extra": 1}))
                .starts_with("verify.extra:")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(
            parse_duration("999999d"),
            Ok(Duration::from_secs(999999 * 86400))
        );
        for bad in ["", "5", "m", "5 m", "1234567s", "5min", "-5s", "5m ", "5M"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn templates_and_hints() {
        assert_eq!(split_template("{timestamp}.{body}"), Some(("", ".")));
        assert_eq!(split_template("v0:{timestamp}:{body}"), Some(("v0:", ":")));
        assert_eq!(split_template("{body}"), None);
        assert_eq!(split_template("{timestamp}{body}x"), None);
        assert_eq!(split_template("{timestamp}{x}{body}"), None);
        assert_eq!(
            secret_hint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "whsec_…LaSw"
        );
        assert_eq!(secret_hint("shortsecret"), "…");
    }
}
