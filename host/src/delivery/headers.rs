//! Custom headers of an endpoint: static headers added to every delivery,
//! checked when set so that sending never fails on them and never
//! overrides what hookhost itself sends.

use crate::config::{MAX_ENDPOINT_HEADERS, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES};
use std::collections::BTreeMap;

/// Header names an endpoint cannot set, compared case-insensitively: the
/// signature headers of every scheme in [`crate::signing`], the ones
/// describing the body, and those that belong to the connection rather
/// than the message (RFC 9110 §7.6.1 and the like), which would change
/// how the request travels.
pub const RESERVED_HEADERS: [&str; 18] = [
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "host",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "x-webhook-signature",
    "x-webhook-timestamp",
    "x-webhook-id",
];

/// Name prefix an endpoint cannot use either: the Standard Webhooks
/// headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`, TYPO3's
/// `webhook-signature-algo`) and whatever the specification adds there.
pub const RESERVED_PREFIX: &str = "webhook-";

/// A header name: an HTTP token (RFC 9110 §5.6.2).
pub const NAME_PATTERN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/// A header value: printable ASCII and inner spaces or tabs, nothing at
/// either end (empty allowed).
pub const VALUE_PATTERN: &str = r"^([!-~]+([ \t]+[!-~]+)*)?$";

/// The names [`RESERVED_HEADERS`] and [`RESERVED_PREFIX`] refuse, as a
/// pattern (case-insensitive by character classes: the document's regular
/// expressions have no flags).
pub fn reserved_pattern() -> String {
    let ci = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_uppercase(), c)
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let exact: Vec<String> = RESERVED_HEADERS.iter().map(|h| ci(h)).collect();
    format!("^({}.*|{})$", ci(RESERVED_PREFIX), exact.join("|"))
}

/// Whether `name` is one hookhost sets itself.
pub fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(RESERVED_PREFIX) || RESERVED_HEADERS.contains(&lower.as_str())
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

fn is_value(value: &str) -> bool {
    let b = value.as_bytes();
    b.iter()
        .all(|&c| c.is_ascii_graphic() || c == b' ' || c == b'\t')
        && b.first().is_none_or(u8::is_ascii_graphic)
        && b.last().is_none_or(u8::is_ascii_graphic)
}

/// Checks an endpoint's `headers`; the error names the bad header.
pub fn check(headers: &BTreeMap<String, String>) -> Result<(), String> {
    if headers.len() > MAX_ENDPOINT_HEADERS {
        return Err(format!(
            "headers: at most {MAX_ENDPOINT_HEADERS} custom headers, got {}",
            headers.len()
        ));
    }
    for (name, value) in headers {
        if !is_token(name) || name.len() > MAX_HEADER_NAME_BYTES {
            return Err(format!(
                "headers: {name:?} is not a header name (1-{MAX_HEADER_NAME_BYTES} letters, \
                 digits and !#$%&'*+.^_`|~-)"
            ));
        }
        if is_reserved(name) {
            return Err(format!(
                "headers: {name:?} is set by hookhost and cannot be overridden \
                 (nor can webhook-* and the content, connection and signature headers)"
            ));
        }
        if !is_value(value) || value.len() > MAX_HEADER_VALUE_BYTES {
            return Err(format!(
                "headers: the value of {name:?} must be at most {MAX_HEADER_VALUE_BYTES} \
                 printable ASCII characters, with spaces or tabs only between them"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(name.to_string(), value.to_string())])
    }

    /// [`NAME_PATTERN`] minus [`reserved_pattern`], evaluated by hand.
    fn name_matches_patterns(name: &str) -> bool {
        let token = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+.^_`|~-".contains(c));
        let lower = name.to_lowercase();
        let reserved = lower.starts_with("webhook-") || RESERVED_HEADERS.contains(&lower.as_str());
        token && !reserved
    }

    /// [`VALUE_PATTERN`], evaluated by hand: runs of printable ASCII
    /// separated by runs of spaces and tabs.
    fn value_matches_pattern(value: &str) -> bool {
        value
            .chars()
            .all(|c| c.is_ascii_graphic() || c == ' ' || c == '\t')
            && value.trim_matches([' ', '\t']) == value
    }

    #[test]
    fn the_patterns_are_what_the_server_accepts() {
        assert_eq!(NAME_PATTERN, r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$");
        assert_eq!(VALUE_PATTERN, r"^([!-~]+([ \t]+[!-~]+)*)?$");
        assert!(reserved_pattern().starts_with("^([Ww][Ee][Bb][Hh][Oo][Oo][Kk]-.*|"));
        assert!(reserved_pattern().contains("|[Hh][Oo][Ss][Tt]|"));
        // Every string of up to 3 characters over an alphabet covering each
        // case, and every reserved name in several spellings.
        let alphabet = ['a', 'Z', '0', '-', '!', ':', ' ', '\t', '"', 'é', '\u{7f}'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for r in RESERVED_HEADERS
            .iter()
            .chain(&["webhook-id", "webhook-x", "webhook-"])
        {
            all.push(r.to_string());
            all.push(r.to_uppercase());
            all.push(format!("x{r}"));
            all.push(format!("{r}x"));
            let mut chars: Vec<char> = r.chars().collect();
            chars[0] = chars[0].to_ascii_uppercase();
            all.push(chars.into_iter().collect());
        }
        for s in &all {
            assert_eq!(
                check(&one(s, "v")).is_ok(),
                name_matches_patterns(s),
                "name {s:?}"
            );
            assert_eq!(
                check(&one("x-a", s)).is_ok(),
                value_matches_pattern(s),
                "value {s:?}"
            );
        }
    }

    #[test]
    fn accepted_headers_are_valid_http_headers() {
        let mut name = format!("a{}", "!#$%&'*+.^_`|~-".repeat(5));
        name.truncate(MAX_HEADER_NAME_BYTES);
        let value = format!("Bearer \t{}", "~".repeat(MAX_HEADER_VALUE_BYTES - 9));
        assert!(check(&one(&name, &value)).is_ok());
        assert!(http::HeaderName::from_bytes(name.as_bytes()).is_ok());
        assert!(http::HeaderValue::from_str(&value).is_ok());
        assert!(http::HeaderValue::from_str("").is_ok());
    }

    #[test]
    fn bounds_and_messages() {
        assert!(check(&BTreeMap::new()).is_ok());
        let many: BTreeMap<_, _> = (0..=MAX_ENDPOINT_HEADERS)
            .map(|i| (format!("x-{i}"), "v".to_string()))
            .collect();
        assert!(check(&many).unwrap_err().contains("at most 10"));
        let mut ten = many;
        ten.pop_first();
        assert!(check(&ten).is_ok());
        assert!(check(&one(&"a".repeat(MAX_HEADER_NAME_BYTES), "")).is_ok());
        assert!(check(&one(&"a".repeat(MAX_HEADER_NAME_BYTES + 1), "")).is_err());
        assert!(check(&one("a", &"v".repeat(MAX_HEADER_VALUE_BYTES + 1))).is_err());
        for name in ["Webhook-Signature", "CONTENT-TYPE", "Host", "webhook-id"] {
            let err = check(&one(name, "x")).unwrap_err();
            assert!(err.contains(&format!("{name:?}")), "{err}");
            assert!(err.contains("cannot be overridden"), "{err}");
        }
        assert!(check(&one("X-Team", "billing")).is_ok());
        assert!(check(&one("Authorization", "Bearer abc")).is_ok());
    }
}
