//! Names a caller or a handler chooses and hookhost stores: event types and
//! entity types. One rule for the admin API and for handlers' `publish` and
//! `emit`, so that neither path can store what the other refuses.

/// Longest event or entity type.
pub const MAX_TYPE_LEN: usize = 256;

/// Checks an event or entity type: 1-256 characters, each an ASCII letter,
/// digit or one of `. _ - : /` (`user.updated`, `invoice:paid`,
/// `github/push`).
pub fn check_type(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_TYPE_LEN {
        return Err(format!(
            "{kind} must be 1-{MAX_TYPE_LEN} characters (got {})",
            name.len()
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_type_char(*c)) {
        return Err(format!(
            "{kind} may contain only letters, digits and `. _ - : /` (found {bad:?})"
        ));
    }
    Ok(())
}

/// Event types under this prefix are hookhost's own operational events
/// (`hookhost.endpoint.disabled`, ...): nobody else may send them, and the
/// `*` pattern does not match them (an endpoint subscribes by name or
/// with `hookhost.*`).
pub const RESERVED_PREFIX: &str = "hookhost.";

/// [`check_type`] plus the reserved prefix: the rule for event types that
/// callers (`POST /v1/events`) and handlers (`publish`) send.
pub fn check_user_event_type(name: &str) -> Result<(), String> {
    check_type("type", name)?;
    if name.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "event types under `{RESERVED_PREFIX}` are reserved for hookhost's operational events"
        ));
    }
    Ok(())
}

fn is_type_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')
}

/// The regular expression of [`check_type`], for the OpenAPI document.
pub const TYPE_PATTERN: &str = "^[A-Za-z0-9._:/-]{1,256}$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_types() {
        assert!(check_user_event_type("hookhost.endpoint.disabled").is_err());
        assert!(check_user_event_type("hookhostx.a").is_ok());
        assert!(check_user_event_type("user.updated").is_ok());
        assert!(check_user_event_type("").is_err());
    }

    #[test]
    fn types() {
        for ok in [
            "a",
            "user.updated",
            "invoice:paid",
            "github/push",
            "a_b-c",
            &"x".repeat(256),
        ] {
            assert!(check_type("type", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "a b",
            "a*",
            "é",
            "a\n",
            &"x".repeat(257),
            "<script>",
        ] {
            assert!(check_type("type", bad).is_err(), "{bad:?}");
        }
    }
}
