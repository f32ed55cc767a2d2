//! Microsoft Teams end to end: activities shaped and signed as the Bot
//! Framework sends them, Microsoft's endpoints faked on loopback.

use crate::support::fake_teams::{
    card_submit, mention, FakeTeams, ANNOUNCE, APP_ID, INCIDENT_CHANNEL, ISSUER, KID, TEAM_GROUP,
    TENANT,
};
use crate::support::{wait_for, wait_until, TestApp, TestDatabase};
use firebreak::config::{GraphSettings, Secret};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

async fn spawn(database: &TestDatabase, teams: &FakeTeams) -> TestApp {
    let (metadata, token, service) = (teams.metadata_url(), teams.token_url(), teams.service_url());
    TestApp::spawn_with(database, move |settings| {
        settings.memory.enabled = false;
        settings.teams.app_id = Some(APP_ID.to_owned());
        settings.teams.app_password = Some(Secret::new("app-password"));
        settings.teams.openid_metadata_url = metadata;
        settings.teams.token_url = Some(token);
        settings.teams.service_url = Some(service);
        settings.teams.announce_channel = Some(ANNOUNCE.to_owned());
    })
    .await
}

impl TestApp {
    async fn teams(&self, activity: &Value, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url("/teams/messages")).json(activity);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.send().await.expect("request reaches the app")
    }

    async fn incidents(&self) -> Vec<Value> {
        self.get_json("/api/v1/incidents").await["incidents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The first Adaptive Card of an activity the bot sent.
fn card(body: &Value) -> &Value {
    &body["attachments"][0]["content"]
}

/// A token that claims to need no signature (`alg: none`).
fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "kid": KID})),
        encode(claims)
    )
}

#[tokio::test]
async fn forged_expired_or_misdirected_tokens_are_refused_and_nothing_is_applied() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await;
    let app = spawn(&database, &teams).await;
    let service = teams.service_url();
    let declare = mention(
        &service,
        "1700000000001",
        ANNOUNCE,
        "declare Payments failing",
    );

    let claims = teams.claims();
    let with = |field: &str, value: Value| {
        let mut claims = claims.clone();
        claims[field] = value;
        claims
    };
    let good = teams.good_token();
    // Another token's claims under this token's signature.
    let [head, _, signature]: [&str; 3] = good
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("three parts");
    let other = teams.token(
        &with("exp", json!(chrono::Utc::now().timestamp() + 7200)),
        KID,
    );
    let tampered_payload = other.split('.').nth(1).expect("payload");
    let bad_tokens = [
        ("no token", None),
        ("not a JWT", Some("abc".to_owned())),
        (
            "wrong signature",
            Some(format!("{head}.{tampered_payload}.{signature}")),
        ),
        (
            "wrong audience",
            Some(teams.token(&with("aud", json!("another-bot")), KID)),
        ),
        (
            "wrong issuer",
            Some(teams.token(&with("iss", json!("https://evil.example")), KID)),
        ),
        (
            "expired",
            Some(teams.token(
                &with("exp", json!(chrono::Utc::now().timestamp() - 3600)),
                KID,
            )),
        ),
        (
            "unknown key",
            Some(teams.token(&claims, "someone-elses-key")),
        ),
        ("alg none", Some(unsigned(&claims))),
        (
            "another service URL",
            Some(teams.token(&with("serviceurl", json!("https://evil.example/")), KID)),
        ),
    ];
    for (what, token) in &bad_tokens {
        let response = app.teams(&declare, token.as_deref()).await;
        assert_eq!(response.status(), 401, "{what}");
    }
    // The activity's own service URL differs from the token's: refused too.
    let mut moved = declare.clone();
    moved["serviceUrl"] = json!("https://evil.example/");
    assert_eq!(
        app.teams(&moved, Some(&good)).await.status(),
        401,
        "moved service URL"
    );
    // Malformed: 400 with a reason for a verified sender, 401 for anyone else.
    let malformed = app
        .client
        .post(app.url("/teams/messages"))
        .header("Authorization", format!("Bearer {good}"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(malformed.status(), 400);
    assert!(malformed
        .text()
        .await
        .unwrap_or_default()
        .contains("not JSON"));
    let anonymous = app
        .client
        .post(app.url("/teams/messages"))
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(anonymous.status(), 401);
    assert!(app.incidents().await.is_empty(), "nothing was applied");
    assert_eq!(
        ISSUER, claims["iss"],
        "the bad tokens differ from a good one in one claim only"
    );
    assert!(teams.sent().await.is_empty(), "nothing was sent");

    assert_eq!(app.teams(&declare, Some(&good)).await.status(), 200);
    wait_until("the verified declare is applied", || async {
        app.incidents().await.len() == 1
    })
    .await;
}

#[tokio::test]
async fn an_incident_runs_in_a_channel_thread_with_its_card_kept_current() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await;
    let app = spawn(&database, &teams).await;
    let service = teams.service_url();
    let token = teams.good_token();

    let response = app
        .teams(
            &mention(
                &service,
                "1700000000010",
                ANNOUNCE,
                "declare Payments failing",
            ),
            Some(&token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let thread = wait_for("the incident thread is started", || async {
        let incident = app.incidents().await.into_iter().next()?;
        incident["conversation_id"].as_str().map(str::to_owned)
    })
    .await;
    assert!(
        thread.starts_with(&format!("{ANNOUNCE};messageid=")),
        "{thread}"
    );
    let sent = teams.sent().await;
    let (_, _, started) = sent
        .iter()
        .find(|(method, path, _)| method == "POST" && path == "/v3/conversations")
        .expect("a conversation was started");
    assert_eq!(started["isGroup"], true);
    assert_eq!(started["channelData"]["channel"]["id"], ANNOUNCE);
    assert_eq!(
        started["activity"]["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );

    // The headline card in the announcement channel.
    let headline_path = format!("/v3/conversations/{ANNOUNCE}/activities");
    wait_until("the headline card is posted", || async {
        teams.sent().await.iter().any(|(method, path, body)| {
            method == "POST"
                && *path == headline_path
                && card(body).to_string().contains("Payments failing")
        })
    })
    .await;

    // A command in the thread: applied, and the card replaced with PUT.
    let response = app
        .teams(
            &mention(&service, "1700000000011", &thread, "severity 1"),
            Some(&token),
        )
        .await;
    assert_eq!(response.status(), 200);
    wait_until("severity 1 is applied", || async {
        app.incident(1).await["severity"] == 1
    })
    .await;
    let update = wait_for("the headline card is updated", || async {
        teams.sent().await.into_iter().find(|(method, path, body)| {
            method == "PUT"
                && path.starts_with(&format!("/v3/conversations/{ANNOUNCE}/activities/"))
                && card(body).to_string().contains("Payments failing")
        })
    })
    .await;
    assert!(
        card(&update.2).to_string().contains("1 (critical)"),
        "{}",
        update.2
    );
    // A mention names only an id; the name comes from the member lookup.
    let mut lead = mention(
        &service,
        "1700000000012",
        &thread,
        "lead <at>Ana Lopez</at>",
    );
    lead["entities"]
        .as_array_mut()
        .expect("entities")
        .push(json!({"mentioned": {"id": "29:1ana", "name": "Ana Lopez"}, "text": "<at>Ana Lopez</at>", "type": "mention"}));
    lead["from"] = json!({"id": "29:1bo", "name": "Bo Jansen"});
    app.teams(&lead, Some(&token)).await;
    wait_until("ana leads, by name", || async {
        let incident = app.incident(1).await;
        incident["lead"]["id"] == "29:1ana" && incident["lead"]["name"] == "Ana Lopez"
    })
    .await;

    // The change is said in the thread too.
    let thread_path = format!("/v3/conversations/{thread}/activities");
    wait_until("the change is announced in the thread", || async {
        teams.sent().await.iter().any(|(method, path, body)| {
            method == "POST"
                && *path == thread_path
                && body.to_string().to_lowercase().contains("severity")
        })
    })
    .await;
}

#[tokio::test]
async fn the_declare_form_card_declares_and_shows_its_errors() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await;
    let app = spawn(&database, &teams).await;
    let service = teams.service_url();
    let token = teams.good_token();

    // `declare` alone brings the form.
    app.teams(
        &mention(&service, "1700000000020", ANNOUNCE, "declare"),
        Some(&token),
    )
    .await;
    let form = wait_for("the declare form is posted", || async {
        teams.sent().await.into_iter().find(|(method, _, body)| {
            method == "POST" && card(body).to_string().contains("Input.Text")
        })
    })
    .await;
    assert!(
        card(&form.2).to_string().contains("\"title\""),
        "{}",
        form.2
    );

    // An empty title is refused on the card itself.
    let bad = card_submit(
        &service,
        "1700000000021",
        ANNOUNCE,
        "1800000000005",
        json!({"firebreak": "form", "form_id": "incident.declare", "title": "", "severity": "2"}),
    );
    assert_eq!(app.teams(&bad, Some(&token)).await.status(), 200);
    let shown = wait_for("the errors are shown on the card", || async {
        teams.sent().await.into_iter().find(|(method, path, _)| {
            method == "PUT" && path.ends_with("/activities/1800000000005")
        })
    })
    .await;
    assert!(
        card(&shown.2).to_string().contains("attention"),
        "{}",
        shown.2
    );
    assert!(app.incidents().await.is_empty());

    // A private incident gets no thread everyone in the channel could see.
    let private = card_submit(
        &service,
        "1700000000023",
        ANNOUNCE,
        "1800000000005",
        json!({"firebreak": "form", "form_id": "incident.declare", "title": "Suspected breach",
               "severity": "1", "private": "true"}),
    );
    assert_eq!(app.teams(&private, Some(&token)).await.status(), 200);
    wait_until("the private incident is declared", || async {
        app.incidents()
            .await
            .iter()
            .any(|incident| incident["private"] == true)
    })
    .await;

    let good = card_submit(
        &service,
        "1700000000022",
        ANNOUNCE,
        "1800000000005",
        json!({"firebreak": "form", "form_id": "incident.declare", "title": "Checkout errors",
               "summary": "Card payments time out", "severity": "2", "private": "false"}),
    );
    assert_eq!(app.teams(&good, Some(&token)).await.status(), 200);
    wait_until("the form declared the incident", || async {
        app.incidents()
            .await
            .iter()
            .any(|incident| incident["title"] == "Checkout errors" && incident["severity"] == 2)
    })
    .await;
    let started = wait_for("the public incident's thread is started", || async {
        let started: Vec<Value> = teams
            .sent()
            .await
            .into_iter()
            .filter(|(method, path, _)| method == "POST" && path == "/v3/conversations")
            .map(|(_, _, body)| body)
            .collect();
        (!started.is_empty()).then_some(started)
    })
    .await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert!(
        started[0].to_string().contains("checkout-errors"),
        "{started:?}"
    );
    let private = app
        .incidents()
        .await
        .into_iter()
        .find(|incident| incident["private"] == true);
    assert_eq!(
        private.expect("private incident")["conversation_id"],
        Value::Null
    );
}

#[tokio::test]
async fn a_rate_limited_send_is_retried_and_a_redelivered_activity_is_applied_once() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await;
    // The first send into the announcement channel is refused with 429.
    Mock::given(method("POST"))
        .and(path_regex(r"^/v3/conversations/[^/]+/activities$"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&teams.server)
        .await;
    let app = spawn(&database, &teams).await;
    let service = teams.service_url();
    let token = teams.good_token();
    let declare = mention(&service, "1700000000030", ANNOUNCE, "declare Queue backlog");
    app.teams(&declare, Some(&token)).await;
    let thread = wait_for("the incident has its thread", || async {
        let incident = app.incidents().await.into_iter().next()?;
        incident["conversation_id"].as_str().map(str::to_owned)
    })
    .await;
    wait_until("the headline got through after the 429", || async {
        app.get_json("/api/v1/incidents/1/timeline")
            .await
            .to_string()
            .contains("announcement_posted")
    })
    .await;
    // The first send (the brief, into the new thread) met the 429 and
    // was sent again: the same activity twice, then nothing lost.
    let thread_path = format!("/v3/conversations/{thread}/activities");
    let briefs: Vec<Value> = teams
        .sent()
        .await
        .into_iter()
        .filter(|(method, path, _)| method == "POST" && *path == thread_path)
        .map(|(_, _, body)| body)
        .collect();
    assert_eq!(briefs.len(), 2, "{briefs:?}");
    assert_eq!(briefs[0], briefs[1]);

    // The same activity delivered twice (Teams retries when unsure).
    let note = mention(&service, "1700000000031", &thread, "note cache warmed");
    assert_eq!(app.teams(&note, Some(&token)).await.status(), 200);
    assert_eq!(app.teams(&note, Some(&token)).await.status(), 200);
    wait_until("the note is on the timeline", || async {
        app.timeline_texts(1)
            .await
            .iter()
            .any(|text| text.contains("cache warmed"))
    })
    .await;
    let declared_again = app.teams(&declare, Some(&token)).await;
    assert_eq!(declared_again.status(), 200);
    let texts = app.timeline_texts(1).await;
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("cache warmed"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        app.incidents().await.len(),
        1,
        "the redelivered declare is applied once"
    );
}

#[tokio::test]
async fn without_a_configured_channel_the_team_the_bot_joins_is_used() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await;
    let (metadata, token_url) = (teams.metadata_url(), teams.token_url());
    let spawn_unconfigured = || {
        let (metadata, token_url) = (metadata.clone(), token_url.clone());
        TestApp::spawn_with(&database, move |settings| {
            settings.memory.enabled = false;
            settings.teams.app_id = Some(APP_ID.to_owned());
            settings.teams.app_password = Some(Secret::new("app-password"));
            settings.teams.openid_metadata_url = metadata;
            settings.teams.token_url = Some(token_url);
        })
    };
    let app = spawn_unconfigured().await;
    let service = teams.service_url();
    let token = teams.good_token();
    // Teams tells the bot it was added to a team (the activity's shape is
    // Microsoft's `teamMemberAdded` conversationUpdate).
    let mut added: Value = serde_json::from_str(include_str!(
        "../../adapters/src/teams/fixtures/conversation_update.json"
    ))
    .expect("fixture");
    added["serviceUrl"] = json!(service);
    added["channelData"]["team"]["id"] = json!(ANNOUNCE);
    assert_eq!(app.teams(&added, Some(&token)).await.status(), 200);
    app.stop();

    // After a restart the service URL and the channel are known.
    let app = spawn_unconfigured().await;
    app.teams(
        &mention(
            &service,
            "1700000000040",
            "a:1personal",
            "declare Disk full",
        ),
        Some(&token),
    )
    .await;
    let thread = wait_for("the incident thread is started in the team", || async {
        let incident = app.incidents().await.into_iter().next()?;
        incident["conversation_id"].as_str().map(str::to_owned)
    })
    .await;
    assert!(thread.starts_with(ANNOUNCE), "{thread}");
}

#[tokio::test]
async fn with_graph_each_incident_gets_a_channel_of_its_own() {
    let database = TestDatabase::new().await;
    let teams = FakeTeams::start().await.with_graph().await;
    let (metadata, token, service, graph) = (
        teams.metadata_url(),
        teams.token_url(),
        teams.service_url(),
        teams.graph_url(),
    );
    let graph_token = format!("{}/graph-token", teams.server.uri());
    let app = TestApp::spawn_with(&database, move |settings| {
        settings.memory.enabled = false;
        settings.teams.app_id = Some(APP_ID.to_owned());
        settings.teams.app_password = Some(Secret::new("app-password"));
        settings.teams.openid_metadata_url = metadata;
        settings.teams.token_url = Some(token);
        settings.teams.service_url = Some(service);
        settings.teams.announce_channel = Some(ANNOUNCE.to_owned());
        settings.teams.graph = Some(GraphSettings {
            tenant_id: TENANT.to_owned(),
            client_id: "graph-client".to_owned(),
            client_secret: Secret::new("graph-secret"),
            team_id: Some(TEAM_GROUP.to_owned()),
            api_base_url: graph,
            token_url: Some(graph_token),
        });
    })
    .await;
    let service = teams.service_url();
    let token = teams.good_token();
    app.teams(
        &mention(&service, "1700000000050", ANNOUNCE, "declare Database down"),
        Some(&token),
    )
    .await;
    let conversation = wait_for("the incident has its channel", || async {
        let incident = app.incidents().await.into_iter().next()?;
        incident["conversation_id"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(conversation, INCIDENT_CHANNEL);
    let created: Vec<Value> = teams
        .graph_calls()
        .await
        .into_iter()
        .filter(|(method, path, _)| {
            method == "POST" && *path == format!("/graph/v1.0/teams/{TEAM_GROUP}/channels")
        })
        .map(|(_, _, body)| body["displayName"].clone())
        .collect();
    assert_eq!(
        created,
        [json!("inc-1-database-down"), json!("inc-1-database-down-2")],
        "a taken name is numbered"
    );
    wait_until("the channel is opened with a card", || async {
        teams.sent().await.iter().any(|(method, path, _)| {
            method == "POST" && *path == format!("/v3/conversations/{INCIDENT_CHANNEL}/activities")
        })
    })
    .await;

    // Any post in the channel belongs to the incident, and a rename
    // renames the channel.
    let in_channel = format!("{INCIDENT_CHANNEL};messageid=1700000000060");
    app.teams(
        &mention(
            &service,
            "1700000000060",
            &in_channel,
            "rename Primary database down",
        ),
        Some(&token),
    )
    .await;
    wait_until("the channel is renamed", || async {
        teams
            .graph_calls()
            .await
            .iter()
            .any(|(method, path, body)| {
                method == "PATCH"
                    && path.ends_with(&format!("/channels/{INCIDENT_CHANNEL}"))
                    && body["displayName"] == "inc-1-primary-database-down"
            })
    })
    .await;
    assert_eq!(app.incident(1).await["title"], "Primary database down");
}
