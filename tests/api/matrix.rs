//! Matrix end to end, against a real Synapse on loopback: people talk to
//! the bot from their own accounts, exactly as Element would.

use crate::support::synapse::{synapse, MatrixUser, Synapse};
use crate::support::{wait_for, wait_until, TestApp, TestDatabase};
use firebreak::config::Secret;
use serde_json::{json, Value};

/// The bot, a responder and the announcement room the responder made and
/// invited the bot into.
struct World {
    bot: MatrixUser,
    ana: MatrixUser,
    announce: String,
}

async fn world(synapse: &Synapse) -> World {
    let bot = synapse.register("firebreak");
    let ana = synapse.register("ana");
    let announce = ana
        .create_room(json!({
            "preset": "private_chat",
            "name": "Incidents",
            "invite": [bot.user_id],
        }))
        .await;
    World { bot, ana, announce }
}

async fn spawn(
    database: &TestDatabase,
    synapse: &Synapse,
    world: &World,
    timeline_limit: u32,
) -> TestApp {
    let url = synapse.url.clone();
    let token = world.bot.token.clone();
    let announce = world.announce.clone();
    TestApp::spawn_with(database, move |settings| {
        settings.memory.enabled = false;
        settings.matrix.homeserver_url = Some(url);
        settings.matrix.access_token = Some(Secret::new(token));
        settings.matrix.announce_room = Some(announce);
        settings.matrix.timeline_limit = timeline_limit;
    })
    .await
}

impl TestApp {
    /// The one incident, once it has its room.
    async fn only_incident_room(&self) -> (i64, String) {
        wait_for("the incident has its Matrix room", || async {
            let list = self.get_json("/api/v1/incidents").await;
            let incident = list["incidents"].as_array()?.first()?.clone();
            let room = incident["conversation_id"].as_str()?.to_owned();
            Some((incident["id"].as_i64()?, room))
        })
        .await
    }
}

fn body(event: &Value) -> &str {
    event["content"]["body"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_whole_incident_runs_in_matrix() {
    let Some(synapse) = synapse() else { return };
    let database = TestDatabase::new().await;
    let world = world(synapse).await;
    let app = spawn(&database, synapse, &world, 50).await;
    let (bot, ana) = (&world.bot, &world.ana);

    // Declared in the announcement room.
    ana.say(&world.announce, "!incident declare Payments failing")
        .await;
    let (id, room) = app.only_incident_room().await;
    let incident = app.incident(id).await;
    assert_eq!(incident["platform"], "matrix");
    assert_eq!(incident["reporter"]["id"], ana.user_id.as_str());

    // The reporter was invited into a private room named for the incident.
    ana.client
        .join(&room)
        .await
        .expect("the reporter was invited");
    let name = ana
        .client
        .get_state(&room, "m.room.name", "")
        .await
        .expect("state");
    assert_eq!(
        name.expect("named")["name"],
        format!("inc-{id}-payments-failing")
    );
    let rules = ana
        .client
        .get_state(&room, "m.room.join_rules", "")
        .await
        .expect("state");
    assert_eq!(rules.expect("join rules")["join_rule"], "invite");
    let encryption = ana
        .client
        .get_state(&room, "m.room.encryption", "")
        .await
        .expect("state");
    assert_eq!(encryption, None, "the bot's own rooms stay readable to it");

    // The brief is posted and pinned.
    let pinned = wait_for("the brief is pinned", || async {
        let pins = ana
            .client
            .get_state(&room, "m.room.pinned_events", "")
            .await
            .ok()??;
        pins["pinned"]
            .as_array()?
            .first()?
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let brief = ana
        .client
        .event(&room, &pinned)
        .await
        .expect("pinned event");
    assert_eq!(brief["sender"], bot.user_id.as_str());
    assert!(body(&brief).contains("Payments failing"), "{brief}");

    // The headline is a notice with HTML in the announcement room.
    let headline = wait_for("the headline is posted", || async {
        ana.notices_from(&world.announce, &bot.user_id)
            .await
            .into_iter()
            .find(|event| body(event).contains("Payments failing"))
    })
    .await;
    assert_eq!(headline["content"]["format"], "org.matrix.custom.html");
    let headline_id = headline["event_id"].as_str().expect("id").to_owned();

    // A command in the room: applied, answered, and the headline edited.
    ana.say(&room, "!incident severity 1").await;
    wait_until("severity 1 is applied", || async {
        app.incident(id).await["severity"] == 1
    })
    .await;
    wait_until("the change is announced in the room", || async {
        ana.notices_from(&room, &bot.user_id)
            .await
            .iter()
            .any(|event| body(event).to_lowercase().contains("severity"))
    })
    .await;
    let edit = wait_for("the headline is edited", || async {
        ana.events(&world.announce).await.into_iter().find(|event| {
            event["content"]["m.relates_to"]["rel_type"] == "m.replace"
                && event["content"]["m.relates_to"]["event_id"] == headline_id.as_str()
                && event["sender"] == bot.user_id.as_str()
        })
    })
    .await;
    let edited = edit["content"]["m.new_content"]["body"]
        .as_str()
        .expect("new body");
    assert!(edited.contains("Payments failing"), "{edited}");
    assert_ne!(edited, body(&headline), "the edit shows the new severity");

    // Addressed by name, as Element writes a mention in plain text.
    let localpart = bot
        .user_id
        .trim_start_matches('@')
        .split(':')
        .next()
        .expect("localpart");
    ana.say(&room, &format!("{localpart}: status investigating"))
        .await;
    wait_until("the mention is a command", || async {
        app.incident(id).await["status"] == "investigating"
    })
    .await;

    // 📌 puts a message on the timeline.
    let said = ana.say(&room, "The primary database is failing over").await;
    ana.react(&room, &said, "📌").await;
    wait_until("the pinned message is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("The primary database is failing over"))
    })
    .await;

    // So does pinning it, which anyone in the room may do.
    let pinned_by_ana = ana.say(&room, "Rolled back release 4.2").await;
    let mut pins = ana
        .client
        .get_state(&room, "m.room.pinned_events", "")
        .await
        .expect("state")
        .expect("the brief is pinned");
    pins["pinned"]
        .as_array_mut()
        .expect("list")
        .push(pinned_by_ana.into());
    ana.client
        .put_state(&room, "m.room.pinned_events", "", &pins)
        .await
        .expect("anyone in the room may pin");
    wait_until("the pinned message is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("Rolled back release 4.2"))
    })
    .await;

    // An unknown command gets an answer pointing at help.
    ana.say(&room, "!incident frobnicate").await;
    wait_until("the unknown command is answered", || async {
        ana.notices_from(&room, &bot.user_id)
            .await
            .iter()
            .any(|event| body(event).contains("frobnicate") && body(event).contains("help"))
    })
    .await;
    app.stop();
}

#[tokio::test]
async fn a_restarted_bot_resumes_from_its_sync_token_without_missing_or_repeating_commands() {
    let Some(synapse) = synapse() else { return };
    let database = TestDatabase::new().await;
    let world = world(synapse).await;
    let ana = &world.ana;
    // Three events per sync: the five commands sent while the bot is down
    // come back `limited` and must be read back through /messages.
    let app = spawn(&database, synapse, &world, 3).await;
    ana.say(&world.announce, "!incident declare Checkout errors")
        .await;
    let (id, room) = app.only_incident_room().await;
    ana.client.join(&room).await.expect("invited");
    ana.say(&room, "!incident status investigating").await;
    wait_until("the first command is applied", || async {
        app.incident(id).await["status"] == "investigating"
    })
    .await;
    app.stop();

    for command in [
        "!incident summary Card payments time out",
        "!incident impact EU customers cannot pay",
        "!incident severity 2",
        "!incident action check the connection pool",
        "!incident status mitigated",
    ] {
        ana.say(&room, command).await;
    }

    let app = spawn(&database, synapse, &world, 3).await;
    wait_until("every command sent while down is applied", || async {
        let incident = app.incident(id).await;
        incident["status"] == "mitigated"
            && incident["severity"] == 2
            && incident["summary"] == "Card payments time out"
            && incident["impact"] == "EU customers cannot pay"
    })
    .await;
    let timeline = app.timeline_texts(id).await;
    let count = |needle: &str| timeline.iter().filter(|text| text.contains(needle)).count();
    assert_eq!(count("check the connection pool"), 1, "{timeline:?}");
    assert_eq!(
        count("to investigating"),
        1,
        "the command from before the restart is not applied again: {timeline:?}"
    );
    let list = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        list["incidents"].as_array().map(Vec::len),
        Some(1),
        "declared once"
    );
    app.stop();
}

#[tokio::test]
async fn a_send_repeated_with_the_same_delivery_key_posts_once() {
    let Some(synapse) = synapse() else { return };
    let world = world(synapse).await;
    let bot = &world.bot;
    bot.client.join(&world.announce).await.expect("invited");
    let content = json!({"msgtype": "m.notice", "body": "INC-9 headline"});
    let key = Some("INC-9@1/v3/headline");
    // As after a crash between posting and recording the post: the same
    // effect is carried out again with the same key.
    let first = bot
        .client
        .send(&world.announce, "m.room.message", key, &content)
        .await
        .expect("sent");
    let again = bot
        .client
        .send(&world.announce, "m.room.message", key, &content)
        .await
        .expect("sent");
    assert_eq!(first, again);
    let posts = world
        .ana
        .notices_from(&world.announce, &bot.user_id)
        .await
        .into_iter()
        .filter(|event| body(event) == "INC-9 headline")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn the_bot_joins_when_invited_and_says_it_cannot_read_encrypted_rooms() {
    let Some(synapse) = synapse() else { return };
    let database = TestDatabase::new().await;
    let world = world(synapse).await;
    let app = spawn(&database, synapse, &world, 50).await;
    let secret_room = world
        .ana
        .create_room(json!({
            "preset": "private_chat",
            "name": "Secret",
            "invite": [world.bot.user_id],
            "initial_state": [{
                "type": "m.room.encryption", "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"}
            }],
        }))
        .await;
    let notice = wait_for("the bot explains it cannot read the room", || async {
        world
            .ana
            .notices_from(&secret_room, &world.bot.user_id)
            .await
            .into_iter()
            .next()
    })
    .await;
    assert!(body(&notice).contains("encrypted"), "{notice}");
    app.stop();
}
