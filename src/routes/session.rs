//! Who may see the web pages: a browser that logged in with the API token
//! holds a session cookie, an HMAC of its expiry keyed by the token (so
//! changing the token ends every session, and the server keeps no session
//! state). Without a token the server only listens on loopback and the
//! pages are open, as they are when `web.open` is set on loopback.

use super::AppState;
use crate::config::Secret;
use actix_web::HttpRequest;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const COOKIE: &str = "firebreak_session";
/// A working day and then some: a responder logs in once per shift.
const LIFETIME_HOURS: i64 = 12;

/// Whether this request may see the pages.
pub fn allowed(state: &AppState, request: &HttpRequest) -> bool {
    let Some(token) = &state.api_token else {
        return true;
    };
    if state.web_open {
        return true;
    }
    cookie(request).is_some_and(|value| valid(token, value, Utc::now()))
}

/// The session cookie's value, from the `Cookie` header.
fn cookie(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
}

/// The `Set-Cookie` value for someone who gave the right token.
pub fn issue(state: &AppState, presented: &str, now: DateTime<Utc>) -> Option<String> {
    let token = state.api_token.as_ref()?;
    if !token.matches(presented) {
        return None;
    }
    let expires = (now + Duration::hours(LIFETIME_HOURS)).timestamp();
    Some(format!(
        "{COOKIE}={expires}.{}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        mac(token, expires),
        LIFETIME_HOURS * 3600
    ))
}

/// A `Set-Cookie` value that ends the session.
pub fn cleared() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

fn valid(token: &Secret, value: &str, now: DateTime<Utc>) -> bool {
    let Some((expires, given)) = value.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    expires > now.timestamp() && bool::from(mac(token, expires).as_bytes().ct_eq(given.as_bytes()))
}

fn mac(token: &Secret, expires: i64) -> String {
    // Any key length is accepted by HMAC, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(token.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("firebreak-web-session/{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_good_until_it_expires_and_only_for_its_token() {
        let token = Secret::new("right");
        let now = Utc::now();
        let expires = (now + Duration::hours(1)).timestamp();
        let value = format!("{expires}.{}", mac(&token, expires));
        assert!(valid(&token, &value, now));
        assert!(!valid(&token, &value, now + Duration::hours(2)), "expired");
        assert!(!valid(&Secret::new("other"), &value, now), "another token");
        let later = expires + 3600;
        assert!(
            !valid(&token, &format!("{later}.{}", mac(&token, expires)), now),
            "a moved expiry"
        );
        assert!(!valid(&token, "garbage", now));
        assert!(!valid(&token, "1.", now));
    }
}
