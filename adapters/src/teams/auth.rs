//! Verifying that a request to `/teams/messages` comes from the Bot
//! Framework: the `Authorization: Bearer` JWT is checked as Microsoft's
//! "Authentication with the Bot Connector API" describes.
//!
//! The signing keys come from the OpenID metadata document's `jwks_uri`
//! and are cached; a token signed with a key we do not know makes one
//! refresh (keys rotate), never more than one a minute, so a flood of
//! forged tokens cannot turn into a flood of fetches.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Bot Framework's metadata for tokens it sends to bots.
pub const DEFAULT_OPENID_METADATA_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";

/// Clocks differ; Microsoft's guidance allows five minutes.
const CLOCK_SKEW_SECONDS: i64 = 300;
/// Keys are re-read at least this often, as Microsoft asks (daily).
const KEYS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// The least time between two fetches caused by unknown key ids.
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the token is not signed with RS256")]
    Algorithm,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("the key is not endorsed for channel {0}")]
    NotEndorsed(String),
    #[error("the token was issued by someone else")]
    Issuer,
    #[error("the token is for another bot")]
    Audience,
    #[error("the token has expired or is not valid yet")]
    Expired,
    #[error("the token is for another service URL")]
    ServiceUrl,
    #[error("could not read the signing keys: {0}")]
    Keys(String),
}

/// A token whose signature, issuer, audience and lifetime check out. The
/// activity it came with is read only after this, and must then match
/// it ([`VerifiedToken::admits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub service_url: String,
    /// Channels the signing key is endorsed for; empty means any.
    endorsements: Vec<String>,
}

impl VerifiedToken {
    /// Whether the token covers an activity from `service_url` through
    /// `channel_id`.
    pub fn admits(&self, service_url: &str, channel_id: Option<&str>) -> Result<(), AuthError> {
        if self.service_url.trim_end_matches('/') != service_url.trim_end_matches('/') {
            return Err(AuthError::ServiceUrl);
        }
        if let Some(channel) = channel_id {
            if !self.endorsements.is_empty() && !self.endorsements.iter().any(|e| e == channel) {
                return Err(AuthError::NotEndorsed(channel.to_owned()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Key {
    n: Vec<u8>,
    e: Vec<u8>,
    /// Channels the key may sign for (`msteams`); empty means any.
    endorsements: Vec<String>,
}

struct KeySet {
    issuer: String,
    keys: HashMap<String, Key>,
    fetched: Instant,
}

pub struct TokenVerifier {
    http: reqwest::Client,
    metadata_url: String,
    app_id: String,
    keys: Mutex<Option<KeySet>>,
    refresh_at_most_every: Duration,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: Option<String>,
    n: Option<String>,
    e: Option<String>,
    #[serde(default)]
    endorsements: Vec<String>,
}

impl TokenVerifier {
    pub fn new(metadata_url: &str, app_id: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            metadata_url: metadata_url.to_owned(),
            app_id: app_id.to_owned(),
            keys: Mutex::new(None),
            refresh_at_most_every: REFRESH_AT_MOST_EVERY,
        }
    }

    /// How soon after a fetch an unknown key id may cause another.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_at_most_every = interval;
        self
    }

    /// Checks `authorization` (the header's value) at `now` (seconds since
    /// the epoch).
    pub async fn verify(
        &self,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<VerifiedToken, AuthError> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("not three parts"));
        };
        let header: Value = decode_json(header)?;
        if header["alg"] != "RS256" {
            return Err(AuthError::Algorithm);
        }
        let kid = header["kid"]
            .as_str()
            .ok_or(AuthError::Malformed("no key id"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed("signature is not base64url"))?;
        let (key, issuer) = self.key(kid).await?;
        let signed = &token[..header_and_payload_len(token)];
        RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .map_err(|_| AuthError::Signature)?;
        let claims: Value = decode_json(payload)?;
        if claims["iss"] != issuer.as_str() {
            return Err(AuthError::Issuer);
        }
        let audience_matches = match &claims["aud"] {
            Value::String(aud) => *aud == self.app_id,
            Value::Array(auds) => auds.iter().any(|aud| *aud == self.app_id.as_str()),
            _ => false,
        };
        if !audience_matches {
            return Err(AuthError::Audience);
        }
        let exp = claims["exp"].as_i64().ok_or(AuthError::Expired)?;
        if exp + CLOCK_SKEW_SECONDS < now {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = claims["nbf"].as_i64() {
            if nbf - CLOCK_SKEW_SECONDS > now {
                return Err(AuthError::Expired);
            }
        }
        let claimed = claims["serviceurl"]
            .as_str()
            .or_else(|| claims["serviceUrl"].as_str())
            .ok_or(AuthError::ServiceUrl)?;
        Ok(VerifiedToken {
            service_url: claimed.to_owned(),
            endorsements: key.endorsements,
        })
    }

    /// The key `kid` and the issuer, from the cache or a fresh fetch.
    async fn key(&self, kid: &str) -> Result<(Key, String), AuthError> {
        let mut cache = self.keys.lock().await;
        let stale = cache
            .as_ref()
            .is_none_or(|set| set.fetched.elapsed() > KEYS_MAX_AGE);
        let unknown = cache.as_ref().is_some_and(|set| {
            !set.keys.contains_key(kid) && set.fetched.elapsed() >= self.refresh_at_most_every
        });
        if stale || unknown {
            match self.fetch().await {
                Ok(set) => *cache = Some(set),
                // Keep verifying with the keys we have while the
                // metadata endpoint is unreachable.
                Err(error) if cache.is_some() => {
                    tracing::warn!(platform = "teams", %error, "could not refresh the signing keys")
                }
                Err(error) => return Err(error),
            }
        }
        let set = cache.as_ref().ok_or(AuthError::UnknownKey)?;
        let key = set.keys.get(kid).cloned().ok_or(AuthError::UnknownKey)?;
        Ok((key, set.issuer.clone()))
    }

    async fn fetch(&self) -> Result<KeySet, AuthError> {
        let fetch_error = |error: reqwest::Error| AuthError::Keys(error.to_string());
        let metadata: Metadata = self
            .http
            .get(&self.metadata_url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fetch_error)?
            .json()
            .await
            .map_err(fetch_error)?;
        let jwks: Jwks = self
            .http
            .get(&metadata.jwks_uri)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fetch_error)?
            .json()
            .await
            .map_err(fetch_error)?;
        let keys = jwks
            .keys
            .into_iter()
            .filter(|jwk| jwk.kty.as_deref().is_none_or(|kty| kty == "RSA"))
            .filter_map(|jwk| {
                let n = URL_SAFE_NO_PAD.decode(jwk.n?.trim_end_matches('=')).ok()?;
                let e = URL_SAFE_NO_PAD.decode(jwk.e?.trim_end_matches('=')).ok()?;
                Some((
                    jwk.kid?,
                    Key {
                        n,
                        e,
                        endorsements: jwk.endorsements,
                    },
                ))
            })
            .collect();
        Ok(KeySet {
            issuer: metadata.issuer,
            keys,
            fetched: Instant::now(),
        })
    }
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json(part: &str) -> Result<Value, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed("a part is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed("a part is not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use ring::rand::SystemRandom;
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn key() -> RsaKeyPair {
        let pem = include_str!("../../../tests/api/support/teams_test_key.pem");
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        RsaKeyPair::from_pkcs8(&STANDARD.decode(body).expect("base64")).expect("key")
    }

    fn token(key: &RsaKeyPair, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": kid});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("signs");
        format!("Bearer {signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_when_a_token_names_it() {
        let server = MockServer::start().await;
        let key = key();
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
        let jwk = |kid: &str| json!({"kty": "RSA", "kid": kid, "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)});
        Mock::given(method("GET"))
            .and(path("/openid"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": "https://api.botframework.com",
                "jwks_uri": format!("{}/keys", server.uri()),
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk("old")]})))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk("old"), jwk("new")]})),
            )
            .mount(&server)
            .await;
        let verifier = TokenVerifier::new(&format!("{}/openid", server.uri()), "app")
            .with_refresh_interval(Duration::ZERO);
        let now = 1_800_000_000;
        let claims = json!({"iss": "https://api.botframework.com", "aud": "app", "exp": now + 60, "serviceurl": "https://smba.example/"});
        let old = token(&key, "old", &claims);
        let new = token(&key, "new", &claims);
        assert!(verifier.verify(Some(&old), now).await.is_ok());
        let verified = verifier
            .verify(Some(&new), now)
            .await
            .expect("the new key verifies");
        assert_eq!(
            verified.admits("https://smba.example", Some("msteams")),
            Ok(())
        );
        assert_eq!(
            verified.admits("https://evil.example/", Some("msteams")),
            Err(AuthError::ServiceUrl)
        );
        let fetches = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|request| request.url.path() == "/keys")
            .count();
        assert_eq!(fetches, 2, "fetched once, then once for the new key");
        // An unknown key is still refused after the refresh.
        let forged = token(&key, "forged", &claims);
        assert_eq!(
            verifier.verify(Some(&forged), now).await,
            Err(AuthError::UnknownKey)
        );
        // A late token is refused, with five minutes of allowance.
        assert!(verifier.verify(Some(&old), now + 60 + 299).await.is_ok());
        assert_eq!(
            verifier.verify(Some(&old), now + 60 + 301).await,
            Err(AuthError::Expired)
        );
    }
}
