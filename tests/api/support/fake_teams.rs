//! Microsoft's side of a Teams bot, on loopback: the OpenID metadata and
//! key set that sign Bot Framework requests (with a test RSA key), the
//! token endpoint, and a Bot Connector (`serviceUrl`) that records what
//! the bot sends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const APP_ID: &str = "00000000-0000-4000-8000-00000000b07a";
pub const BOT_ID: &str = "28:00000000-0000-4000-8000-00000000b07a";
pub const ANNOUNCE: &str = "19:incidents@thread.tacv2";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const ISSUER: &str = "https://api.botframework.com";
pub const KID: &str = "test-key-1";
/// The channel Graph creates for an incident.
pub const INCIDENT_CHANNEL: &str = "19:inc1chan@thread.tacv2";
pub const TEAM_GROUP: &str = "02ce3874-dd86-41ba-bddc-013f34019978";

pub struct FakeTeams {
    pub server: MockServer,
    key: RsaKeyPair,
}

fn test_key() -> RsaKeyPair {
    let pem = include_str!("teams_test_key.pem");
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64");
    RsaKeyPair::from_pkcs8(&der).expect("PKCS#8 RSA key")
}

impl FakeTeams {
    pub async fn start() -> FakeTeams {
        let server = MockServer::start().await;
        let key = test_key();
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
        Mock::given(method("GET"))
            .and(path("/openid"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": format!("{}/keys", server.uri()),
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [{
                "kty": "RSA", "use": "sig", "kid": KID,
                "n": URL_SAFE_NO_PAD.encode(&public.n),
                "e": URL_SAFE_NO_PAD.encode(&public.e),
                "endorsements": ["msteams"],
            }]})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": "bot-access-token",
            })))
            .mount(&server)
            .await;
        let next = Arc::new(AtomicU64::new(1_800_000_000_000));
        let ids = next.clone();
        Mock::given(method("POST"))
            .and(path("/v3/conversations"))
            .respond_with(move |_: &Request| {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                ResponseTemplate::new(201).set_body_json(json!({
                    "id": format!("{ANNOUNCE};messageid={id}"),
                    "activityId": id.to_string(),
                }))
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v3/conversations/[^/]+/activities(/[^/]+)?$"))
            .respond_with(move |_: &Request| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                ResponseTemplate::new(201).set_body_json(json!({ "id": id.to_string() }))
            })
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(r"^/v3/conversations/[^/]+/activities/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "updated" })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v3/conversations/[^/]+/members/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "29:1ana", "name": "Ana Lopez", "givenName": "Ana", "surname": "Lopez",
                "email": "ana@example.com", "userPrincipalName": "ana@example.com",
                "aadObjectId": "6b0d2b3c-0000-4000-8000-000000000001", "tenantId": TENANT,
                "userRole": "user",
            })))
            .mount(&server)
            .await;
        FakeTeams { server, key }
    }

    /// Microsoft Graph on the same server: channels are created (the
    /// first name asked for is taken), renamed and described.
    pub async fn with_graph(self) -> FakeTeams {
        Mock::given(method("POST"))
            .and(path("/graph-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": 3599, "access_token": "graph-access-token",
            })))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/graph/v1.0/teams/[^/]+/channels$"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": "NameAlreadyExists",
                "message": "Channel name already existed, please use other name.",
            }})))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/graph/v1.0/teams/[^/]+/channels$"))
            .respond_with(|request: &Request| {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                ResponseTemplate::new(201).set_body_json(json!({
                    "id": INCIDENT_CHANNEL,
                    "displayName": body["displayName"],
                    "description": body["description"],
                    "membershipType": "standard",
                }))
            })
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(r"^/graph/v1.0/teams/[^/]+/channels/[^/]+$"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&self.server)
            .await;
        self
    }

    pub fn graph_url(&self) -> String {
        format!("{}/graph/v1.0", self.server.uri())
    }

    /// What the bot asked of Graph: (method, path, body).
    pub async fn graph_calls(&self) -> Vec<(String, String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.url.path().starts_with("/graph/"))
            .map(|request| {
                (
                    request.method.to_string(),
                    percent_decode(request.url.path()),
                    serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/openid", self.server.uri())
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.uri())
    }

    /// The Bot Connector, as activities name it (with its trailing slash).
    pub fn service_url(&self) -> String {
        format!("{}/", self.server.uri())
    }

    /// Claims of a good token for this bot and connector.
    pub fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": ISSUER,
            "aud": APP_ID,
            "exp": now + 3600,
            "nbf": now - 60,
            "serviceurl": self.service_url(),
        })
    }

    /// A token over `claims`, signed with the published key unless
    /// `kid` names another.
    pub fn token(&self, claims: &Value, kid: &str) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid, "x5t": kid});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .expect("signs");
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub fn good_token(&self) -> String {
        self.token(&self.claims(), KID)
    }

    /// What the bot sent the connector: (method, path, body), in order.
    pub async fn sent(&self) -> Vec<(String, String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.url.path().starts_with("/v3/"))
            .map(|request| {
                (
                    request.method.to_string(),
                    percent_decode(request.url.path()),
                    serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(byte) = path
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A channel message as Teams delivers it: `text` after an @mention of
/// the bot, in `conversation`.
pub fn mention(service_url: &str, id: &str, conversation: &str, text: &str) -> Value {
    json!({
        "text": format!("<at>Firebreak</at> {text}"),
        "textFormat": "plain",
        "type": "message",
        "timestamp": "2026-11-24T10:00:00.0000000Z",
        "id": id,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:1ana", "name": "Ana Lopez", "aadObjectId": "6b0d2b3c-0000-4000-8000-000000000001"},
        "conversation": {"isGroup": true, "conversationType": "channel", "tenantId": TENANT, "id": conversation},
        "recipient": {"id": BOT_ID, "name": "Firebreak"},
        "entities": [{"mentioned": {"id": BOT_ID, "name": "Firebreak"}, "text": "<at>Firebreak</at>", "type": "mention"}],
        "channelData": {"teamsChannelId": ANNOUNCE, "channel": {"id": ANNOUNCE}, "tenant": {"id": TENANT}},
        "locale": "en-US"
    })
}

/// An Adaptive Card `Action.Submit` as Teams delivers it: a message
/// activity whose `value` holds the card's data and inputs.
pub fn card_submit(
    service_url: &str,
    id: &str,
    conversation: &str,
    card: &str,
    value: Value,
) -> Value {
    json!({
        "type": "message",
        "id": id,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:1ana", "name": "Ana Lopez"},
        "conversation": {"isGroup": true, "conversationType": "channel", "tenantId": TENANT, "id": conversation},
        "recipient": {"id": BOT_ID, "name": "Firebreak"},
        "replyToId": card,
        "value": value,
        "channelData": {"channel": {"id": ANNOUNCE}, "tenant": {"id": TENANT}, "source": {"name": "message"}}
    })
}
