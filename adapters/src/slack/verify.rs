//! Checking that a request really comes from Slack.
//!
//! Slack signs every request it sends (Events API, slash commands,
//! interactions) with the app's signing secret:
//! `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">`
//! together with `X-Slack-Request-Timestamp`.
//! <https://api.slack.com/authentication/verifying-requests-from-slack>
//!
//! The current time is a parameter so tests (and replays) can pin it. The
//! comparison runs in constant time, and no error carries the signature we
//! expected: an error message that leaks it would hand an attacker a valid
//! signature for their forged body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the request timestamp may be from our clock, either way. Slack
/// recommends five minutes: enough for clock drift and retries, short
/// enough that a captured request cannot be replayed much later.
pub const MAX_CLOCK_SKEW_SECS: u64 = 5 * 60;

const VERSION_PREFIX: &str = "v0=";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the X-Slack-Request-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Slack-Signature header is missing")]
    MissingSignature,
    #[error("the X-Slack-Request-Timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes away from now")]
    Stale,
    #[error("the request signature does not match its body")]
    BadSignature,
}

/// Accepts the request only if its signature matches `body` under
/// `signing_secret` and its timestamp is within [`MAX_CLOCK_SKEW_SECS`] of
/// `now_unix`. `timestamp` and `signature` are the raw header values.
pub fn verify(
    signing_secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp)?;
    let signature = signature.ok_or(VerifyError::MissingSignature)?;
    let sent_at: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if sent_at.abs_diff(now_unix) > MAX_CLOCK_SKEW_SECS {
        return Err(VerifyError::Stale);
    }
    let presented = signature
        .strip_prefix(VERSION_PREFIX)
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or(VerifyError::BadSignature)?;
    // The header text, not the parsed number, is what Slack signed.
    signed_base(signing_secret, timestamp, body)
        .verify_slice(&presented)
        .map_err(|_| VerifyError::BadSignature)
}

/// The `X-Slack-Signature` value Slack would send for `body` at
/// `timestamp`: how tests and the end-to-end harness sign requests.
pub fn sign(signing_secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = signed_base(signing_secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{VERSION_PREFIX}{}", hex::encode(digest))
}

fn signed_base(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_secret).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example from Slack's documentation page.
    const DOC_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TIMESTAMP: &str = "1531420618";
    const DOC_NOW: i64 = 1_531_420_618;
    const DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const DOC_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    fn verify_doc(
        secret: &[u8],
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        verify(secret, timestamp, signature, body, now)
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                DOC_NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn signing_reproduces_slacks_documented_signature() {
        assert_eq!(sign(DOC_SECRET, DOC_NOW, DOC_BODY), DOC_SIGNATURE);
    }

    #[test]
    fn tampered_body_is_rejected() {
        let mut body = DOC_BODY.to_vec();
        body.extend_from_slice(b"&text=declare");
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                &body,
                DOC_NOW
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        assert_eq!(
            verify_doc(
                b"not-the-signing-secret",
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                DOC_NOW
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn timestamp_is_part_of_what_is_signed() {
        let later = DOC_NOW + 1;
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(&later.to_string()),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                DOC_NOW
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn requests_older_than_five_minutes_are_stale() {
        let now = DOC_NOW + 301;
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                now
            ),
            Err(VerifyError::Stale)
        );
        let just_in_time = DOC_NOW + 300;
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                just_in_time
            ),
            Ok(())
        );
    }

    #[test]
    fn requests_from_more_than_five_minutes_in_the_future_are_stale() {
        let now = DOC_NOW - 301;
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                now
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn staleness_is_checked_before_the_signature() {
        // A replayed request fails as stale even though its signature is
        // genuine, so the log says what actually happened.
        let body = b"{}";
        let signature = sign(DOC_SECRET, 1_000, body);
        assert_eq!(
            verify_doc(DOC_SECRET, Some("1000"), Some(&signature), body, 1_000_000),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn missing_headers_are_rejected() {
        assert_eq!(
            verify_doc(DOC_SECRET, None, Some(DOC_SIGNATURE), DOC_BODY, DOC_NOW),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            verify_doc(DOC_SECRET, Some(DOC_TIMESTAMP), None, DOC_BODY, DOC_NOW),
            Err(VerifyError::MissingSignature)
        );
    }

    #[test]
    fn malformed_headers_are_rejected() {
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some("yesterday"),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                DOC_NOW
            ),
            Err(VerifyError::BadTimestamp)
        );
        for signature in [
            "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=not-hex",
            "v0=a2114d57",
            "v0=",
        ] {
            assert_eq!(
                verify_doc(
                    DOC_SECRET,
                    Some(DOC_TIMESTAMP),
                    Some(signature),
                    DOC_BODY,
                    DOC_NOW
                ),
                Err(VerifyError::BadSignature),
                "{signature}"
            );
        }
    }

    #[test]
    fn headers_with_extra_whitespace_are_rejected() {
        // Proxies strip the whitespace around a header value; anything
        // left inside it was put there, and is not what Slack signed.
        let padded_signature = format!("v0= {}", &DOC_SIGNATURE[3..]);
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(DOC_TIMESTAMP),
                Some(&padded_signature),
                DOC_BODY,
                DOC_NOW
            ),
            Err(VerifyError::BadSignature)
        );
        let padded_timestamp = format!("{DOC_TIMESTAMP} ");
        assert_eq!(
            verify_doc(
                DOC_SECRET,
                Some(&padded_timestamp),
                Some(DOC_SIGNATURE),
                DOC_BODY,
                DOC_NOW
            ),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn errors_never_reveal_the_expected_signature() {
        let error = verify_doc(
            DOC_SECRET,
            Some(DOC_TIMESTAMP),
            Some("v0=00"),
            DOC_BODY,
            DOC_NOW,
        )
        .expect_err("a wrong signature is rejected");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("a2114d57"), "{shown}");
    }

    #[test]
    fn signed_requests_round_trip() {
        let body = br#"{"type":"event_callback"}"#;
        let signature = sign(b"secret", 1_700_000_000, body);
        assert_eq!(
            verify(
                b"secret",
                Some("1700000000"),
                Some(&signature),
                body,
                1_700_000_030
            ),
            Ok(())
        );
    }
}
