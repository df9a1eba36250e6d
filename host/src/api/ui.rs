//! The web dashboard at `/ui`: static assets embedded in the binary, and a
//! cookie session for the browser.
//!
//! Signing in exchanges the admin token for a session: a random id in an
//! `HttpOnly; SameSite=Strict` cookie (`Secure` over https) scoped to
//! `/ui` and `/v1` only, so browsers never send it to webhook URLs, kept in
//! memory (a restart signs everyone out) for 12 hours. The dashboard then calls the same `/v1` API
//! as every other client; the token middleware accepts the session cookie in
//! place of the bearer token, and for every request that changes something
//! also requires the session's CSRF token in `X-CSRF-Token` (double submit:
//! a page on another origin can neither read it nor, with SameSite=Strict,
//! send the cookie).

use super::AppState;
use super::admin::token_matches;
use super::error::{ApiError, ApiJson};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "hookhost_session";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

const INDEX_HTML: &str = include_str!("../../ui/index.html");
const APP_JS: &str = include_str!("../../ui/app.js");
const APP_CSS: &str = include_str!("../../ui/app.css");
/// SVG charts, shared with the customer portal.
pub(super) const CHARTS_JS: &str = include_str!("../../ui/charts.js");

/// Dashboard sessions, in memory.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

struct Session {
    csrf: String,
    expires: Instant,
}

impl Sessions {
    fn create(&self) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
            },
        );
        (id, csrf)
    }

    /// The CSRF token of a live session.
    fn csrf(&self, id: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Whether `headers` carry a live session cookie and, unless `method`
    /// is safe, its CSRF token.
    pub fn authorizes(&self, method: &Method, headers: &HeaderMap) -> bool {
        let Some((_, csrf)) = self.live_id(headers) else {
            return false;
        };
        if method == Method::GET || method == Method::HEAD {
            return true;
        }
        headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|given| token_matches(given, &csrf))
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

/// The session ids in the request's cookies (a browser may send more than
/// one cookie of that name, one per path); the first live one counts.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| k.trim() == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
}

impl Sessions {
    /// The id of the request's live session, if any.
    fn live_id(&self, headers: &HeaderMap) -> Option<(String, String)> {
        session_cookies(headers).find_map(|id| self.csrf(id).map(|csrf| (id.to_string(), csrf)))
    }
}

/// Whether a `Set-Cookie` value sets a cookie named like the session
/// cookie (whatever its path or domain): handlers may not send those.
pub(super) fn names_session_cookie(set_cookie: &[u8]) -> bool {
    let text = String::from_utf8_lossy(set_cookie);
    let name = text.split(';').next().unwrap_or("");
    // Without `=`, browsers take the whole pair as a value of an empty name.
    name.split_once('=')
        .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(SESSION_COOKIE))
}

/// A `Cookie` request header without the session cookie, or `None` when
/// nothing else is left: what a handler sees.
pub(super) fn without_session_cookie(cookie_header: &str) -> Option<String> {
    let kept: Vec<&str> = cookie_header
        .split(';')
        .map(str::trim)
        .filter(|kv| {
            !kv.is_empty()
                && kv
                    .split_once('=')
                    .is_none_or(|(k, _)| !k.trim().eq_ignore_ascii_case(SESSION_COOKIE))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Paths the session cookie is scoped to: the dashboard and the API it
/// calls, never `/hooks`, so a browser does not even send it to handlers.
const COOKIE_PATHS: [&str; 2] = ["/ui", "/v1"];

/// The `Set-Cookie` values that set (`Some(id)`) or clear (`None`) the
/// session on every path it lives on. `Secure` when the dashboard is served
/// over https (an https public URL, or a proxy saying so).
fn session_set_cookies(id: Option<&str>, secure: bool) -> Vec<HeaderValue> {
    let mut paths = COOKIE_PATHS.to_vec();
    if id.is_none() {
        // Earlier versions scoped the cookie to `/`.
        paths.push("/");
    }
    paths
        .into_iter()
        .map(|path| {
            let mut c = cookie::Cookie::build((SESSION_COOKIE, id.unwrap_or("")))
                .http_only(true)
                .same_site(cookie::SameSite::Strict)
                .secure(secure)
                .path(path)
                .build();
            match id {
                Some(_) => {
                    c.set_max_age(cookie::time::Duration::seconds(SESSION_TTL.as_secs() as i64))
                }
                None => c.set_max_age(cookie::time::Duration::ZERO),
            }
            HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
        })
        .collect()
}

fn served_over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route(
            "/ui/",
            get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/charts.js",
            get(|| async { asset(CHARTS_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/ui/session", get(session).delete(logout))
        .route("/ui/login", post(login))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    resp
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginIn {
    token: String,
}

/// Exchanges the admin token for a session cookie; answers the CSRF token.
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Response, ApiError> {
    if !token_matches(&body.token, &state.admin_token) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong admin token",
        ));
    }
    let (id, csrf) = state.ui_sessions.create();
    let mut resp = axum::Json(json!({ "csrf": csrf })).into_response();
    for cookie in session_set_cookies(Some(&id), served_over_https(&state, &headers)) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

/// The session's CSRF token, or 401 when signed out.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    state
        .ui_sessions
        .live_id(&headers)
        .map(|(_, csrf)| axum::Json(json!({ "csrf": csrf })).into_response())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "signed out"))
}

/// Signs out (CSRF-checked like every change).
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !state.ui_sessions.authorizes(&Method::DELETE, &headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no session, or a missing CSRF token",
        ));
    }
    if let Some((id, _)) = state.ui_sessions.live_id(&headers) {
        state.ui_sessions.remove(&id);
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for cookie in session_set_cookies(None, served_over_https(&state, &headers)) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: Option<&str>, csrf: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(c) = cookie {
            h.insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        if let Some(t) = csrf {
            h.insert(CSRF_HEADER, HeaderValue::from_str(t).unwrap());
        }
        h
    }

    #[test]
    fn sessions_need_the_cookie_and_csrf_for_changes() {
        let s = Sessions::default();
        let (id, csrf) = s.create();
        let cookie = format!("other=1; {SESSION_COOKIE}={id}");
        assert!(s.authorizes(&Method::GET, &headers(Some(&cookie), None)));
        assert!(!s.authorizes(&Method::POST, &headers(Some(&cookie), None)));
        assert!(!s.authorizes(&Method::POST, &headers(Some(&cookie), Some("nope"))));
        assert!(s.authorizes(&Method::POST, &headers(Some(&cookie), Some(&csrf))));
        assert!(!s.authorizes(&Method::GET, &headers(None, None)));
        assert!(!s.authorizes(
            &Method::GET,
            &headers(Some("hookhost_session=forged"), None)
        ));
        // A stale or forged cookie of the same name does not hide a live one.
        let two = format!("{SESSION_COOKIE}=stale; {SESSION_COOKIE}={id}");
        assert!(s.authorizes(&Method::GET, &headers(Some(&two), None)));
        s.remove(&id);
        assert!(!s.authorizes(&Method::GET, &headers(Some(&cookie), None)));
    }

    #[test]
    fn session_cookie_never_reaches_or_comes_from_a_handler() {
        for bad in [
            "hookhost_session=evil; Path=/",
            " hookhost_session =evil; Path=/ui",
            "HOOKHOST_SESSION=evil",
            "hookhost_session=",
        ] {
            assert!(names_session_cookie(bad.as_bytes()), "{bad}");
        }
        for fine in [
            "theme=dark; Path=/",
            "hookhost_sessionx=1",
            "hookhost_session",
        ] {
            assert!(!names_session_cookie(fine.as_bytes()), "{fine}");
        }
        assert_eq!(
            without_session_cookie("a=1; hookhost_session=secret; b=2").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without_session_cookie("hookhost_session=secret"), None);
        assert_eq!(without_session_cookie("x=1").as_deref(), Some("x=1"));
    }

    #[test]
    fn session_cookies_are_scoped_to_the_dashboard_and_api() {
        let set = session_set_cookies(Some("abc"), true);
        let texts: Vec<&str> = set.iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(texts.len(), 2);
        for t in &texts {
            assert!(t.starts_with("hookhost_session=abc"), "{t}");
            assert!(
                t.contains("HttpOnly") && t.contains("SameSite=Strict"),
                "{t}"
            );
            assert!(t.contains("Secure"), "{t}");
            assert!(!t.contains("Path=/;") && !t.ends_with("Path=/"), "{t}");
        }
        assert!(texts.iter().any(|t| t.contains("Path=/ui")));
        assert!(texts.iter().any(|t| t.contains("Path=/v1")));
        let plain = session_set_cookies(Some("abc"), false);
        assert!(
            plain
                .iter()
                .all(|v| !v.to_str().unwrap().contains("Secure"))
        );
        let cleared = session_set_cookies(None, false);
        assert_eq!(cleared.len(), 3);
        assert!(
            cleared
                .iter()
                .all(|v| v.to_str().unwrap().contains("Max-Age=0"))
        );
    }
}
