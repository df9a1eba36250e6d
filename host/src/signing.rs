//! Signing outbound deliveries, per endpoint scheme.
//!
//! * [`SignatureScheme::Standard`] — [Standard Webhooks]: `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "id.timestamp.body">`, keyed with the base64-decoded part of `whsec_…`.
//! * [`SignatureScheme::Hex`] — `X-Webhook-Signature: sha256=<hex HMAC of
//!   body>`, `X-Webhook-Timestamp`, `X-Webhook-ID`, keyed with the secret
//!   string as written (what `hash_hmac('sha256', $body, $secret)` expects).
//! * [`SignatureScheme::Typo3`] — TYPO3's `Webhook-Signature-Algo: sha256`
//!   and `Webhook-Signature: <hex HMAC of "endpoint-id:body">`, keyed with the
//!   secret string.
//!
//! During a secret rotation several secrets are valid; every signature
//! header then carries one signature per secret, space-separated.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Prefix of generated secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// How deliveries to an endpoint are signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// Standard Webhooks (the default).
    #[default]
    Standard,
    /// `X-Webhook-Signature: sha256=<hex>` over the body.
    Hex,
    /// TYPO3 core webhooks.
    Typo3,
}

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the OS random generator works");
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

/// The HMAC key of a Standard Webhooks secret: the base64-decoded part after
/// `whsec_`; secrets that are not of that form are used as raw bytes.
pub fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The headers that sign one delivery attempt.
///
/// `msg_id` identifies the message (stable across retries, so receivers can
/// deduplicate), `endpoint_id` is used by the TYPO3 scheme, `timestamp` is
/// Unix seconds, `secrets` are the valid secrets, newest first.
pub fn sign(
    scheme: SignatureScheme,
    secrets: &[&str],
    msg_id: &str,
    endpoint_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let ts = timestamp.to_string();
    let joined =
        |f: &dyn Fn(&str) -> String| secrets.iter().map(|s| f(s)).collect::<Vec<_>>().join(" ");
    match scheme {
        SignatureScheme::Standard => {
            let sig = joined(&|s| {
                let mac = hmac(
                    &standard_key(s),
                    &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body],
                );
                format!("v1,{}", B64.encode(mac))
            });
            vec![
                ("webhook-id", msg_id.into()),
                ("webhook-timestamp", ts),
                ("webhook-signature", sig),
            ]
        }
        SignatureScheme::Hex => {
            let sig = joined(&|s| format!("sha256={}", hex::encode(hmac(s.as_bytes(), &[body]))));
            vec![
                ("x-webhook-signature", sig),
                ("x-webhook-timestamp", ts),
                ("x-webhook-id", msg_id.into()),
            ]
        }
        SignatureScheme::Typo3 => {
            let sig =
                joined(&|s| hex::encode(hmac(s.as_bytes(), &[endpoint_id.as_bytes(), b":", body])));
            vec![
                ("webhook-signature-algo", "sha256".into()),
                ("webhook-signature", sig),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(h: &'a [(&str, String)], name: &str) -> &'a str {
        &h.iter().find(|(k, _)| *k == name).unwrap().1
    }

    #[test]
    fn standard_webhooks_published_vector() {
        let h = sign(
            SignatureScheme::Standard,
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "ep_unused",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            header(&h, "webhook-signature"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(header(&h, "webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(header(&h, "webhook-timestamp"), "1614265330");
    }

    #[test]
    fn rotation_carries_one_signature_per_secret() {
        let secrets = [
            generate_secret(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string(),
        ];
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let h = sign(
            SignatureScheme::Standard,
            &refs,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "ep",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        let sigs: Vec<&str> = header(&h, "webhook-signature").split(' ').collect();
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[1], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn hex_scheme_matches_php_hash_hmac() {
        // hash_hmac('sha256', 'Hello, World!', "It's a Secret to Everybody")
        let h = sign(
            SignatureScheme::Hex,
            &["It's a Secret to Everybody"],
            "evt_1",
            "ep",
            1,
            b"Hello, World!",
        );
        assert_eq!(
            header(&h, "x-webhook-signature"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert_eq!(header(&h, "x-webhook-id"), "evt_1");
    }

    #[test]
    fn typo3_scheme_signs_endpoint_id_and_body() {
        let h = sign(
            SignatureScheme::Typo3,
            &["s3cret"],
            "evt_1",
            "ep_42",
            1,
            b"{}",
        );
        let expected = hex::encode(hmac(b"s3cret", &[b"ep_42:{}"]));
        assert_eq!(header(&h, "webhook-signature"), expected);
        assert_eq!(header(&h, "webhook-signature-algo"), "sha256");
    }

    #[test]
    fn generated_secrets_are_32_random_bytes() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(standard_key(&a).len(), 32);
        assert!(a.starts_with(SECRET_PREFIX));
    }
}
