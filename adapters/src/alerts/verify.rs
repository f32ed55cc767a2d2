//! How a delivery proves which configured source sent it: a bearer token,
//! or an HMAC-SHA256 signature of the body (Grafana's webhook scheme,
//! optionally over `<timestamp>:<body>` so an old delivery cannot be
//! replayed). Secrets are compared in constant time.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A signed delivery older (or newer) than this is refused.
const MAX_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// Lowercase hex HMAC-SHA256 in `header` (`sha256=` prefix allowed).
    Hmac {
        secret: String,
        header: String,
        /// When set, the signed message is `<timestamp>:<body>`, with the
        /// Unix-seconds timestamp from this header.
        timestamp_header: Option<String>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(***)"),
            Credential::Hmac {
                header,
                timestamp_header,
                ..
            } => f
                .debug_struct("Hmac")
                .field("secret", &"***")
                .field("header", header)
                .field("timestamp_header", timestamp_header)
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the delivery carries no credential")]
    Missing,
    #[error("the delivery's credential is wrong")]
    Wrong,
    #[error("the delivery's timestamp is too far from now")]
    Stale,
}

/// Checks a delivery of `body`; `header(name)` gives a request header.
pub fn verify(
    credential: &Credential,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    match credential {
        // An empty secret proves nothing; configuration refuses one, and
        // so does this, in case a caller builds a credential itself.
        Credential::Bearer(token) if token.is_empty() => Err(VerifyError::Wrong),
        Credential::Hmac { secret, .. } if secret.is_empty() => Err(VerifyError::Wrong),
        Credential::Bearer(token) => {
            let given = header("authorization").ok_or(VerifyError::Missing)?;
            let (scheme, value) = given.trim().split_once(' ').ok_or(VerifyError::Wrong)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(VerifyError::Wrong);
            }
            // Digests have one length, so the comparison says nothing
            // about the token's.
            let expected = Sha256::digest(token.as_bytes());
            let given = Sha256::digest(value.trim().as_bytes());
            if bool::from(expected.ct_eq(&given)) {
                Ok(())
            } else {
                Err(VerifyError::Wrong)
            }
        }
        Credential::Hmac {
            secret,
            header: signature_header,
            timestamp_header,
        } => {
            let signature = header(signature_header).ok_or(VerifyError::Missing)?;
            let signature = signature.trim();
            let signature = signature.strip_prefix("sha256=").unwrap_or(signature);
            let signature = hex::decode(signature).map_err(|_| VerifyError::Wrong)?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| VerifyError::Wrong)?;
            if let Some(name) = timestamp_header {
                let timestamp = header(name).ok_or(VerifyError::Missing)?;
                let seconds: i64 = timestamp.trim().parse().map_err(|_| VerifyError::Wrong)?;
                if (now.timestamp() - seconds).abs() > MAX_SKEW_SECONDS {
                    return Err(VerifyError::Stale);
                }
                mac.update(timestamp.trim().as_bytes());
                mac.update(b":");
            }
            mac.update(body);
            mac.verify_slice(&signature).map_err(|_| VerifyError::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_lowercase(), (*value).to_owned()))
            .collect();
        move |name| map.get(&name.to_lowercase()).cloned()
    }

    fn sign(secret: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    const BODY: &[u8] = b"{\"alerts\":[]}";

    #[test]
    fn a_bearer_token_must_match_whole() {
        let credential = Credential::Bearer("s3cret-token".into());
        let now = Utc::now();
        let check = |pairs: &[(&str, &str)]| verify(&credential, headers(pairs), BODY, now);
        assert_eq!(check(&[("Authorization", "Bearer s3cret-token")]), Ok(()));
        assert_eq!(check(&[("Authorization", "bearer s3cret-token")]), Ok(()));
        assert_eq!(
            check(&[("Authorization", "Bearer s3cret-toke")]),
            Err(VerifyError::Wrong)
        );
        assert_eq!(
            check(&[("Authorization", "Bearer s3cret-token-and-more")]),
            Err(VerifyError::Wrong)
        );
        assert_eq!(
            check(&[("Authorization", "Basic s3cret-token")]),
            Err(VerifyError::Wrong)
        );
        assert_eq!(
            check(&[("Authorization", "s3cret-token")]),
            Err(VerifyError::Wrong)
        );
        assert_eq!(check(&[]), Err(VerifyError::Missing));
    }

    #[test]
    fn an_hmac_signature_must_sign_this_body() {
        let credential = Credential::Hmac {
            secret: "hmac-secret".into(),
            header: "X-Firebreak-Signature".into(),
            timestamp_header: None,
        };
        let now = Utc::now();
        let good = sign("hmac-secret", std::str::from_utf8(BODY).expect("utf-8"));
        let check =
            |pairs: &[(&str, &str)], body: &[u8]| verify(&credential, headers(pairs), body, now);
        assert_eq!(check(&[("X-Firebreak-Signature", &good)], BODY), Ok(()));
        let prefixed = format!("sha256={good}");
        assert_eq!(check(&[("X-Firebreak-Signature", &prefixed)], BODY), Ok(()));
        assert_eq!(
            check(&[("X-Firebreak-Signature", &good)], b"{\"alerts\":[1]}"),
            Err(VerifyError::Wrong)
        );
        let other = sign("other-secret", std::str::from_utf8(BODY).expect("utf-8"));
        assert_eq!(
            check(&[("X-Firebreak-Signature", &other)], BODY),
            Err(VerifyError::Wrong)
        );
        assert_eq!(
            check(&[("X-Firebreak-Signature", "not hex")], BODY),
            Err(VerifyError::Wrong)
        );
        assert_eq!(check(&[], BODY), Err(VerifyError::Missing));
    }

    /// Grafana's scheme: the signature covers `<timestamp>:<body>`.
    fn grafana_credential() -> Credential {
        Credential::Hmac {
            secret: "hmac-secret".into(),
            header: "X-Grafana-Alerting-Signature".into(),
            timestamp_header: Some("X-Grafana-Alerting-Timestamp".into()),
        }
    }

    #[test]
    fn a_timestamped_signature_covers_the_time_and_refuses_old_deliveries() {
        let credential = grafana_credential();
        let now = Utc::now();
        let body = std::str::from_utf8(BODY).expect("utf-8");
        let at = now.timestamp().to_string();
        let good = sign("hmac-secret", &format!("{at}:{body}"));
        let check = |pairs: &[(&str, &str)]| verify(&credential, headers(pairs), BODY, now);
        assert_eq!(
            check(&[
                ("X-Grafana-Alerting-Signature", &good),
                ("X-Grafana-Alerting-Timestamp", &at)
            ]),
            Ok(())
        );
        // The signature without the timestamp it was made with.
        assert_eq!(
            check(&[("X-Grafana-Alerting-Signature", &good)]),
            Err(VerifyError::Missing)
        );
        let later = (now.timestamp() + 1).to_string();
        assert_eq!(
            check(&[
                ("X-Grafana-Alerting-Signature", &good),
                ("X-Grafana-Alerting-Timestamp", &later)
            ]),
            Err(VerifyError::Wrong)
        );
        let old = (now.timestamp() - 600).to_string();
        let old_signature = sign("hmac-secret", &format!("{old}:{body}"));
        assert_eq!(
            check(&[
                ("X-Grafana-Alerting-Signature", &old_signature),
                ("X-Grafana-Alerting-Timestamp", &old)
            ]),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn a_timestamp_must_be_unix_seconds_within_five_minutes_either_way() {
        let credential = grafana_credential();
        let now = Utc::now();
        let body = std::str::from_utf8(BODY).expect("utf-8");
        let check = |at: &str| {
            let signature = sign("hmac-secret", &format!("{at}:{body}"));
            verify(
                &credential,
                headers(&[
                    ("X-Grafana-Alerting-Signature", &signature),
                    ("X-Grafana-Alerting-Timestamp", at),
                ]),
                BODY,
                now,
            )
        };
        assert_eq!(check(&(now.timestamp() - 300).to_string()), Ok(()));
        assert_eq!(check(&(now.timestamp() + 300).to_string()), Ok(()));
        assert_eq!(
            check(&(now.timestamp() - 301).to_string()),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            check(&(now.timestamp() + 301).to_string()),
            Err(VerifyError::Stale),
            "a delivery from the future is as suspect as an old one"
        );
        assert_eq!(check(&now.to_rfc3339()), Err(VerifyError::Wrong));
        assert_eq!(check(""), Err(VerifyError::Wrong));
    }

    #[test]
    fn a_signature_is_checked_whole_and_case_blind_in_its_hex() {
        let credential = Credential::Hmac {
            secret: "hmac-secret".into(),
            header: "X-Firebreak-Signature".into(),
            timestamp_header: None,
        };
        let now = Utc::now();
        let good = sign("hmac-secret", std::str::from_utf8(BODY).expect("utf-8"));
        let check = |signature: &str| {
            verify(
                &credential,
                headers(&[("X-Firebreak-Signature", signature)]),
                BODY,
                now,
            )
        };
        assert_eq!(check(&good.to_uppercase()), Ok(()));
        assert_eq!(check(&good[..32]), Err(VerifyError::Wrong), "a prefix");
        assert_eq!(check(&good[..63]), Err(VerifyError::Wrong), "odd length");
        assert_eq!(check(""), Err(VerifyError::Wrong));
        assert_eq!(check("sha256="), Err(VerifyError::Wrong));
        assert_eq!(
            check(&format!("sha1={good}")),
            Err(VerifyError::Wrong),
            "only the sha256= prefix is known"
        );
    }

    #[test]
    fn an_empty_secret_never_verifies() {
        let now = Utc::now();
        let bearer = Credential::Bearer(String::new());
        for value in ["Bearer ", "Bearer", "Bearer  "] {
            assert_eq!(
                verify(&bearer, headers(&[("Authorization", value)]), BODY, now),
                Err(VerifyError::Wrong)
            );
        }
        let hmac = Credential::Hmac {
            secret: String::new(),
            header: "X-Sig".into(),
            timestamp_header: None,
        };
        let signed_with_nothing = sign("", std::str::from_utf8(BODY).expect("utf-8"));
        assert_eq!(
            verify(
                &hmac,
                headers(&[("X-Sig", &signed_with_nothing)]),
                BODY,
                now
            ),
            Err(VerifyError::Wrong)
        );
    }

    #[test]
    fn secrets_never_print() {
        let bearer = format!("{:?}", Credential::Bearer("s3cret".into()));
        let hmac = format!(
            "{:?}",
            Credential::Hmac {
                secret: "s3cret".into(),
                header: "X".into(),
                timestamp_header: None
            }
        );
        assert!(
            !bearer.contains("s3cret") && !hmac.contains("s3cret"),
            "{bearer} {hmac}"
        );
    }
}
