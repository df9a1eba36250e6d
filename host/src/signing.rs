//! Signing outbound deliveries, per endpoint scheme.
//!
//! * [`SignatureScheme::Standard`] — [Standard Webhooks]: `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "id.timestamp.body">`, keyed with the base64-decoded part of `whsec_…`.
//! * [`SignatureScheme::StandardEd25519`] — Standard Webhooks' asymmetric
//!   variant: the same headers, `webhook-signature: v1a,<base64 Ed25519
//!   signature of "id.timestamp.body">`, signed with a `whsk_…` private key
//!   that stays with hookhost; receivers verify with the `whpk_…` public key.
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
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Prefix of generated secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// Prefix of Ed25519 private keys: `whsk_` + base64 of the 32-byte secret key.
pub const SIGNING_KEY_PREFIX: &str = "whsk_";

/// Prefix of Ed25519 public keys: `whpk_` + base64 of the 32-byte public key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// The form of a `whsk_` key, exactly what [`signing_key`] accepts: base64
/// (standard alphabet, padded) of 32 bytes. Its last character before the
/// `=` carries 2 unused bits, which must be zero (canonical base64).
pub const SIGNING_KEY_PATTERN: &str = "^whsk_[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$";

/// How deliveries to an endpoint are signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// Standard Webhooks (the default).
    #[default]
    Standard,
    /// Standard Webhooks with Ed25519 signatures (`v1a`).
    #[serde(rename = "standard-ed25519")]
    StandardEd25519,
    /// `X-Webhook-Signature: sha256=<hex>` over the body.
    Hex,
    /// TYPO3 core webhooks.
    Typo3,
}

impl SignatureScheme {
    /// Every scheme.
    pub const ALL: [Self; 4] = [
        Self::Standard,
        Self::StandardEd25519,
        Self::Hex,
        Self::Typo3,
    ];

    /// Whether deliveries are signed with an Ed25519 key pair (the secret
    /// is a `whsk_` private key) rather than with a shared secret.
    pub fn uses_key_pair(self) -> bool {
        self == Self::StandardEd25519
    }

    /// A new secret of the kind this scheme signs with.
    pub fn generate_secret(self) -> String {
        if self.uses_key_pair() {
            generate_signing_key()
        } else {
            generate_secret()
        }
    }
}

fn random_32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random generator works");
    bytes
}

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(random_32()))
}

/// A new Ed25519 private key: `whsk_` + base64 of 32 random bytes (any 32
/// bytes are a valid Ed25519 secret key).
pub fn generate_signing_key() -> String {
    format!("{SIGNING_KEY_PREFIX}{}", B64.encode(random_32()))
}

/// The Ed25519 key of a `whsk_` secret; `None` unless it is of the form
/// [`SIGNING_KEY_PATTERN`].
pub fn signing_key(secret: &str) -> Option<SigningKey> {
    let bytes = B64.decode(secret.strip_prefix(SIGNING_KEY_PREFIX)?).ok()?;
    Some(SigningKey::from_bytes(&bytes.try_into().ok()?))
}

/// The public key, `whpk_…`, of a `whsk_` private key.
pub fn public_key(secret: &str) -> Option<String> {
    let key = signing_key(secret)?;
    Some(format!(
        "{PUBLIC_KEY_PREFIX}{}",
        B64.encode(key.verifying_key().as_bytes())
    ))
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
        SignatureScheme::StandardEd25519 => {
            let message = [msg_id.as_bytes(), b".", ts.as_bytes(), b".", body].concat();
            let sig = secrets
                .iter()
                .filter_map(|s| {
                    let key = signing_key(s);
                    if key.is_none() {
                        // Keys are checked when stored: only a record written
                        // by hand gets here.
                        tracing::warn!("an endpoint secret is not a whsk_ key; skipped");
                    }
                    key
                })
                .map(|k| format!("v1a,{}", B64.encode(k.sign(&message).to_bytes())))
                .collect::<Vec<_>>()
                .join(" ");
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

    /// The Standard Webhooks published message (id, timestamp, body)
    /// signed with `secret`.
    fn sign_vector(scheme: SignatureScheme, secret: &str) -> Vec<(&'static str, String)> {
        sign(
            scheme,
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "ep_unused",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
    }

    fn header<'a>(h: &'a [(&str, String)], name: &str) -> &'a str {
        &h.iter().find(|(k, _)| *k == name).unwrap().1
    }

    #[test]
    fn standard_webhooks_published_vector() {
        let h = sign_vector(
            SignatureScheme::Standard,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
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

    /// RFC 8032 test vector 1's key pair; the expected signature was made
    /// with another implementation (Python's `cryptography`).
    const RFC8032_KEY: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    const RFC8032_PUBLIC: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    #[test]
    fn ed25519_signs_id_timestamp_and_body_with_v1a() {
        assert_eq!(
            hex::encode(B64.decode(&RFC8032_KEY[5..]).unwrap()),
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        );
        assert_eq!(public_key(RFC8032_KEY).unwrap(), RFC8032_PUBLIC);
        let h = sign_vector(SignatureScheme::StandardEd25519, RFC8032_KEY);
        assert_eq!(
            header(&h, "webhook-signature"),
            "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw=="
        );
        assert_eq!(header(&h, "webhook-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(header(&h, "webhook-timestamp"), "1614265330");
    }

    #[test]
    fn ed25519_rotation_carries_one_signature_per_key() {
        let new = generate_signing_key();
        let h = sign(
            SignatureScheme::StandardEd25519,
            &[&new, RFC8032_KEY],
            "msg_1",
            "ep",
            1,
            b"{}",
        );
        let sigs: Vec<&str> = header(&h, "webhook-signature").split(' ').collect();
        assert_eq!(sigs.len(), 2);
        for (sig, key) in sigs.iter().zip([new.as_str(), RFC8032_KEY]) {
            let raw = B64.decode(sig.strip_prefix("v1a,").unwrap()).unwrap();
            let sig = ed25519_dalek::Signature::from_slice(&raw).unwrap();
            signing_key(key)
                .unwrap()
                .verifying_key()
                .verify_strict(b"msg_1.1.{}", &sig)
                .unwrap();
        }
    }

    /// [`SIGNING_KEY_PATTERN`], evaluated by hand.
    fn matches_signing_key_pattern(s: &str) -> bool {
        let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        s.strip_prefix("whsk_").is_some_and(|k| {
            let k = k.as_bytes();
            k.len() == 44
                && k[..42].iter().all(|&c| b64(c))
                && b"AEIMQUYcgkosw048".contains(&k[42])
                && k[43] == b'='
        })
    }

    #[test]
    fn the_signing_key_pattern_is_what_signing_key_accepts() {
        assert_eq!(
            SIGNING_KEY_PATTERN,
            "^whsk_[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"
        );
        let base = &RFC8032_KEY[5..];
        let mut cases: Vec<String> = vec![
            RFC8032_KEY.into(),
            generate_signing_key(),
            "whsk_".into(),
            format!("whsk_{}", &base[..43]),
            format!("whsk_{base}="),
            format!("whsk_{}", base.trim_end_matches('=')),
            format!("whsk_{}", &base[..40]),
            format!("whsec_{base}"),
            format!("WHSK_{base}"),
            format!(" whsk_{base}"),
            format!("whsk_{base} "),
            format!("whsk_{}-{}", &base[..10], &base[11..]),
            format!("whsk_{}_{}", &base[..10], &base[11..]),
            // 33 and 31 bytes.
            format!("whsk_{}", B64.encode([7u8; 33])),
            format!("whsk_{}", B64.encode([7u8; 31])),
        ];
        // Every character in the last data position: only those whose two
        // low bits are zero are canonical.
        for c in (b'!'..=b'~').map(char::from) {
            cases.push(format!("whsk_{}{c}=", &base[..42]));
        }
        for case in cases {
            assert_eq!(
                signing_key(&case).is_some(),
                matches_signing_key_pattern(&case),
                "{case:?}"
            );
        }
    }

    #[test]
    fn generated_signing_keys_are_distinct_and_well_formed() {
        let (a, b) = (generate_signing_key(), generate_signing_key());
        assert_ne!(a, b);
        assert!(matches_signing_key_pattern(&a), "{a}");
        assert!(public_key(&a).unwrap().starts_with(PUBLIC_KEY_PREFIX));
        assert!(public_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
        assert!(
            SignatureScheme::StandardEd25519
                .generate_secret()
                .starts_with("whsk_")
        );
        assert!(SignatureScheme::Hex.generate_secret().starts_with("whsec_"));
        assert_eq!(
            serde_json::to_value(SignatureScheme::StandardEd25519).unwrap(),
            "standard-ed25519"
        );
    }

    #[test]
    fn generated_secrets_are_32_random_bytes() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(standard_key(&a).len(), 32);
        assert!(a.starts_with(SECRET_PREFIX));
    }
}
