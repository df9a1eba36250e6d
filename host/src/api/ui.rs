//! The web dashboard at `/ui`: static assets embedded in the binary, and a
//! cookie session for the browser.
//!
//! Signing in exchanges the admin token for a session: a random id in an
//! `HttpOnly; SameSite=Strict` cookie, kept in memory (a restart signs
//! everyone out) for 12 hours. The dashboard then calls the same `/v1` API
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
        let Some(id) = session_cookie(headers) else {
            return false;
        };
        let Some(csrf) = self.csrf(&id) else {
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

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
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
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    let mut resp = axum::Json(json!({ "csrf": csrf })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("cookie is ASCII"),
    );
    Ok(resp)
}

/// The session's CSRF token, or 401 when signed out.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    session_cookie(&headers)
        .and_then(|id| state.ui_sessions.csrf(&id))
        .map(|csrf| axum::Json(json!({ "csrf": csrf })).into_response())
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
    if let Some(id) = session_cookie(&headers) {
        state.ui_sessions.remove(&id);
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hookhost_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
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
        s.remove(&id);
        assert!(!s.authorizes(&Method::GET, &headers(Some(&cookie), None)));
    }
}
