//! Which endpoints an event goes to: event-type patterns, equality
//! `filters` on the data, and operator [`filter`]s on the envelope.

pub mod filter;

use serde_json::{Map, Value};

/// Whether `event_type` matches one of `patterns`: an exact type, a prefix
/// wildcard (`post.*` matches `post.created` and `post.comment.added`), or `*`
/// (every type but hookhost's own `hookhost.*` operational events, which an
/// endpoint subscribes to by name or prefix).
pub fn type_matches(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some("") => !event_type.starts_with(crate::names::RESERVED_PREFIX),
        Some(prefix) => prefix.ends_with('.') && event_type.starts_with(prefix),
        None => p == event_type,
    })
}

/// Whether every filter equals the value at its key in `data`. Keys are
/// top-level field names or dotted paths (`author.id`).
pub fn filters_match(filters: &Map<String, Value>, data: &Value) -> bool {
    filters
        .iter()
        .all(|(path, want)| lookup(data, path) == Some(want))
}

fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    // A literal key containing dots wins over the dotted path.
    if let Some(v) = data.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(data, |v, key| v.get(key))
}

/// Checks an endpoint's event patterns: non-empty, and `*` only alone or as
/// a `prefix.*` suffix.
pub fn validate_patterns(patterns: &[String]) -> Result<(), String> {
    if patterns.is_empty() {
        return Err("events must list at least one event type, `prefix.*` or `*`".into());
    }
    for p in patterns {
        let star = p.find('*');
        let ok = !p.is_empty()
            && match star {
                None => true,
                Some(i) => i == p.len() - 1 && (p == "*" || p.ends_with(".*")),
            };
        if !ok {
            return Err(format!(
                "invalid event pattern {p:?}: use `type`, `prefix.*` or `*`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn event_type_patterns() {
        assert!(type_matches(&pats(&["post.created"]), "post.created"));
        assert!(!type_matches(&pats(&["post.created"]), "post.updated"));
        assert!(type_matches(&pats(&["post.*"]), "post.updated"));
        assert!(type_matches(&pats(&["post.*"]), "post.comment.added"));
        assert!(!type_matches(&pats(&["post.*"]), "poster.created"));
        assert!(!type_matches(&pats(&["post.*"]), "post"));
        assert!(type_matches(&pats(&["*"]), "anything.at.all"));
        // hookhost's own events only by name or prefix, never through `*`.
        assert!(!type_matches(&pats(&["*"]), "hookhost.endpoint.disabled"));
        assert!(type_matches(
            &pats(&["hookhost.*"]),
            "hookhost.endpoint.disabled"
        ));
        assert!(type_matches(
            &pats(&["*", "hookhost.delivery.exhausted"]),
            "hookhost.delivery.exhausted"
        ));
        assert!(type_matches(
            &pats(&["user.deleted", "post.*"]),
            "post.published"
        ));
    }

    #[test]
    fn filters_on_top_level_and_dotted_fields() {
        let data = json!({"status": "published", "author": {"id": 7}, "a.b": 1});
        let f = |v: Value| v.as_object().unwrap().clone();
        assert!(filters_match(&f(json!({})), &data));
        assert!(filters_match(&f(json!({"status": "published"})), &data));
        assert!(!filters_match(&f(json!({"status": "draft"})), &data));
        assert!(filters_match(&f(json!({"author.id": 7})), &data));
        assert!(
            !filters_match(&f(json!({"author.id": "7"})), &data),
            "types must match"
        );
        assert!(filters_match(&f(json!({"a.b": 1})), &data));
        assert!(!filters_match(&f(json!({"missing": null})), &data));
        assert!(!filters_match(
            &f(json!({"status": "published", "author.id": 8})),
            &data
        ));
    }

    #[test]
    fn pattern_validation() {
        assert!(validate_patterns(&pats(&["post.created", "post.*", "*"])).is_ok());
        assert!(validate_patterns(&[]).is_err());
        assert!(validate_patterns(&pats(&["po*st"])).is_err());
        assert!(validate_patterns(&pats(&["post*"])).is_err());
        assert!(validate_patterns(&pats(&[""])).is_err());
    }
}
