//! Portal links: signed, expiring, single-workspace credentials for a
//! workspace's customers.
//!
//! A link's credential is `hhp_<claims>.<mac>`: the claims (workspace,
//! expiry, read-only) as base64url JSON and an HMAC-SHA256 of them under a
//! key derived from the admin token, so every node sharing the admin token
//! checks every link and changing the admin token revokes them all. It
//! travels in the URL's fragment (`/portal/#hhp_...`), which browsers do not
//! send to servers or in `Referer`s; the page sends it as a bearer token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Prefix of portal credentials.
pub const PORTAL_PREFIX: &str = "hhp_";
/// Longest lifetime of a link.
pub const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// What a link grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalClaims {
    /// The workspace.
    #[serde(rename = "ws")]
    pub workspace_id: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Reads only.
    #[serde(rename = "ro")]
    pub read_only: bool,
    /// Makes each link unique.
    pub nonce: String,
    /// The workspace's portal epoch when it was signed: revoking the
    /// workspace's links bumps it, and links of an older epoch are refused.
    #[serde(default, rename = "ep")]
    pub epoch: u32,
}

impl PortalClaims {
    /// When the link stops working.
    pub fn expires_at(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.exp, 0).single().unwrap_or_default()
    }
}

/// Why a credential is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalRefusal {
    /// Not a credential this server signed (altered, or another key).
    Invalid,
    /// Signed here, but past its expiry.
    Expired,
}

/// Signs and checks portal credentials.
pub struct PortalKeys {
    key: [u8; 32],
}

impl PortalKeys {
    /// Keys derived from the admin token.
    pub fn new(admin_token: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(admin_token.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(b"hookhost portal links v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, claims: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(claims.as_bytes());
        mac
    }

    /// A credential for workspace `ws`, valid for `ttl`.
    pub fn sign(
        &self,
        ws: &str,
        epoch: u32,
        ttl: std::time::Duration,
        read_only: bool,
    ) -> (String, DateTime<Utc>) {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let claims = PortalClaims {
            workspace_id: ws.to_string(),
            exp: expires_at.timestamp(),
            read_only,
            nonce: hex::encode(nonce),
            epoch,
        };
        let body = B64.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let tag = B64.encode(self.mac(&body).finalize().into_bytes());
        (format!("{PORTAL_PREFIX}{body}.{tag}"), claims.expires_at())
    }

    /// The claims of `credential` if this server signed it and it has not
    /// expired.
    pub fn verify(&self, credential: &str) -> Result<PortalClaims, PortalRefusal> {
        let rest = credential
            .strip_prefix(PORTAL_PREFIX)
            .ok_or(PortalRefusal::Invalid)?;
        let (body, tag) = rest.split_once('.').ok_or(PortalRefusal::Invalid)?;
        let tag = B64.decode(tag).map_err(|_| PortalRefusal::Invalid)?;
        // Constant-time comparison.
        self.mac(body)
            .verify_slice(&tag)
            .map_err(|_| PortalRefusal::Invalid)?;
        let json = B64.decode(body).map_err(|_| PortalRefusal::Invalid)?;
        let claims: PortalClaims =
            serde_json::from_slice(&json).map_err(|_| PortalRefusal::Invalid)?;
        if claims.exp <= Utc::now().timestamp() {
            return Err(PortalRefusal::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn links_verify_until_they_expire_and_only_unaltered() {
        let keys = PortalKeys::new("admin-token");
        let (cred, exp) = keys.sign("ws_a", 3, Duration::from_secs(3600), true);
        let claims = keys.verify(&cred).unwrap();
        assert_eq!(claims.workspace_id, "ws_a");
        assert_eq!(claims.epoch, 3);
        assert!(claims.read_only);
        assert_eq!(claims.expires_at(), exp);

        // Another workspace in the claims, same tag.
        let (body, tag) = cred[PORTAL_PREFIX.len()..].split_once('.').unwrap();
        let mut forged: PortalClaims = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
        forged.workspace_id = "ws_b".into();
        let forged_body = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            keys.verify(&format!("{PORTAL_PREFIX}{forged_body}.{tag}")),
            Err(PortalRefusal::Invalid)
        );
        // Another admin token's key.
        assert_eq!(
            PortalKeys::new("other").verify(&cred),
            Err(PortalRefusal::Invalid)
        );
        assert_eq!(keys.verify("hhp_garbage"), Err(PortalRefusal::Invalid));

        let (old, _) = keys.sign("ws_a", 0, Duration::ZERO, false);
        assert_eq!(keys.verify(&old), Err(PortalRefusal::Expired));
    }
}
