//! Start-up: connect and migrate the database, start the engine, bind the
//! HTTP server. `main` and the tests start the application the same way.

use crate::config::Settings;
use crate::matrix::MatrixSetup;
use crate::routes::{self, AppState};
use crate::routes::{SlackEndpoint, TeamsEndpoint};
use actix::{Actor, Addr};
use actix_web::{dev::Server, web, App, HttpServer};
use anyhow::Context as _;
use firebreak_actors::clock::{Clock, SystemClock};
use firebreak_actors::engine::{
    AttachSupervisor, EngineCore, InboxWorker, Keywords, Platforms, Rehydrate, Supervisor,
    TimerWheel,
};
use firebreak_actors::metrics::EngineMetrics;
use firebreak_actors::store::{ChangeWriter, InboxWriter, Store};
use firebreak_adapters::memory::MemoryAdapter;
use firebreak_adapters::paging::{self, Opsgenie, Pager, PagerDuty, Webhook};
use firebreak_adapters::retry::Sleeper;
use firebreak_adapters::slack::client::SlackClient;
use firebreak_adapters::slack::socket::SocketMode;
use firebreak_adapters::slack::SlackAdapter;
use firebreak_adapters::statuspage::StatusPage;
use firebreak_adapters::teams::auth::TokenVerifier;
use firebreak_adapters::teams::connector::{self, Caller, Connector};
use firebreak_adapters::teams::graph::{self as teams_graph, Graph};
use firebreak_adapters::teams::token::{Credentials, TokenSource};
use firebreak_adapters::teams::TeamsAdapter;
use firebreak_adapters::{ConversationRef, Platform};
use firebreak_migrations::{Migrator, MigratorTrait};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use tokio::sync::Notify;

/// A built application: bound, migrated, rehydrated, not yet serving.
pub struct Application {
    address: SocketAddr,
    server: Server,
    pub store: Store,
    pub supervisor: Addr<Supervisor>,
    /// The in-process chat platform, when enabled, for tests and demos.
    pub memory: Option<MemoryAdapter>,
    /// Wakes the inbox worker after rows were written.
    pub inbox_wake: Arc<Notify>,
    /// This process's hold on a SQLite database, released when it stops.
    _database_lock: Option<crate::single_process::DatabaseLock>,
}

impl Application {
    /// Must be called inside an actix system (`#[actix_web::main]`,
    /// `#[actix_web::test]`).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with the engine's time from `clock`
    /// (tests pass a manual one to drive reminders without waiting).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let policy = settings.policy()?;
        let default_severity = settings.default_severity()?;
        let database_lock = crate::single_process::lock_database(settings.database.url.expose())?;
        let store = connect_and_migrate(settings.database.url.expose()).await?;

        let mut platforms = Platforms::new();
        let memory = settings.memory.enabled.then(MemoryAdapter::new);
        if let Some(adapter) = &memory {
            let announce = ConversationRef::new(Platform::Memory, settings.memory.announce.clone());
            platforms = platforms.with(Arc::new(adapter.clone()), Some(announce));
        }

        let mut slack = None;
        if let Some(token) = settings.slack.bot_token() {
            let client = SlackClient::new(&settings.slack.api_base_url, token.expose().to_owned())
                .context("invalid Slack settings")?
                .with_pacing_speed(settings.slack.pacing_speed);
            let mut adapter = SlackAdapter::new(client, settings.slack.channel_prefix.clone());
            // Slack being down must not keep the incident bot down.
            if let Err(error) = adapter.identify().await {
                tracing::warn!(platform = "slack", %error, "could not ask Slack who the bot is; carrying on");
            }
            let adapter = Arc::new(adapter);
            let announce = settings
                .slack
                .announce_channel
                .as_ref()
                .map(|channel| ConversationRef::new(Platform::Slack, channel.clone()));
            if announce.is_none() {
                tracing::warn!(
                    platform = "slack",
                    "no announcement channel (FIREBREAK__SLACK__ANNOUNCE_CHANNEL): incidents get no headline"
                );
            }
            platforms = platforms.with(adapter.clone(), announce);
            slack = Some(SlackEndpoint {
                adapter,
                signing_secret: settings.slack.signing_secret.clone(),
            });
        }

        let inbox_wake = Arc::new(Notify::new());
        let mut matrix = None;
        if let Some(homeserver) = &settings.matrix.homeserver_url {
            let setup = MatrixSetup::connect(
                &settings.matrix,
                homeserver,
                store.clone(),
                inbox_wake.clone(),
            )
            .await?;
            platforms = platforms.with(setup.adapter.clone(), setup.announce.clone());
            matrix = Some(setup);
        }

        let mut teams = None;
        if let (Some(app_id), Some(password)) =
            (&settings.teams.app_id, &settings.teams.app_password)
        {
            let connector = Connector::new(Caller::new(TokenSource::new(
                Credentials {
                    client_id: app_id.clone(),
                    client_secret: password.expose().to_owned(),
                    token_url: settings.teams.token_url(),
                },
                connector::BOT_SCOPE,
            )));
            let service_url = match &settings.teams.service_url {
                Some(url) => Some(url.clone()),
                None => store.platform_state(routes::SERVICE_URL_STATE).await?,
            };
            let channel = match &settings.teams.announce_channel {
                Some(channel) => Some(channel.clone()),
                None => store.platform_state(routes::TEAM_CHANNEL_STATE).await?,
            };
            if channel.is_none() {
                tracing::warn!(platform = "teams", "no incidents channel (FIREBREAK__TEAMS__ANNOUNCE_CHANNEL) and the bot was not added to a team yet: incidents get no thread or headline");
            }
            let mut adapter = TeamsAdapter::new(
                connector,
                service_url,
                channel.clone(),
                settings.teams.tenant_id.clone(),
                settings.teams.conversation_prefix.clone(),
            );
            if let Some(graph) = &settings.teams.graph {
                let team = match &graph.team_id {
                    Some(team) => Some(team.clone()),
                    None => store.platform_state(routes::TEAM_GROUP_STATE).await?,
                };
                match team {
                    Some(team) => {
                        let caller = Caller::new(TokenSource::new(
                            Credentials {
                                client_id: graph.client_id.clone(),
                                client_secret: graph.client_secret.expose().to_owned(),
                                token_url: graph.token_url(),
                            },
                            teams_graph::SCOPE,
                        ));
                        adapter = adapter.with_graph(Graph::new(caller, &graph.api_base_url, &team));
                    }
                    None => tracing::warn!(
                        platform = "teams",
                        "[teams.graph] has no team_id and the bot was not added to a team yet: incidents get threads, not channels"
                    ),
                }
            }
            let adapter = Arc::new(adapter);
            let announce = channel.map(|channel| ConversationRef::new(Platform::Teams, channel));
            platforms = platforms.with(adapter.clone(), announce);
            teams = Some(TeamsEndpoint {
                adapter,
                verifier: TokenVerifier::new(&settings.teams.openid_metadata_url, app_id),
            });
        }

        let pagers = pagers(&settings, Arc::new(ClockSleeper(clock.clone())))?;
        let alert_sources = crate::alert_sources::AlertSources::from_settings(&settings)?;
        alert_sources.check_platforms(&platforms)?;
        let timers = TimerWheel::new(clock.clone()).start();
        let core = Arc::new(EngineCore {
            store: store.clone(),
            changes: ChangeWriter::start(store.clone()),
            clock,
            timers: timers.clone(),
            pagers,
            workflows: settings.workflows()?,
            status_page: match &settings.statuspage {
                Some(page) => Some(Arc::new(
                    StatusPage::new(
                        &page.api_base_url,
                        &page.page_id,
                        page.api_key.expose().to_owned(),
                    )
                    .map_err(|error| anyhow::anyhow!("[statuspage]: {error}"))?,
                )),
                None => None,
            },
            policy,
            platforms,
            metrics: Arc::new(EngineMetrics::default()),
            web_base_url: settings.web.base_url.clone(),
            default_severity,
            pin_reactions: settings.incident.pin_reactions.clone(),
            keywords: Keywords::new(settings.keywords.clone()),
            lead_message_counts_as_update: settings.reminders.lead_message_counts_as_update,
            follow_up_digest_every: settings.follow_up_digest_every()?,
            max_restarts: 3,
            alert_sources: alert_sources.rules,
        });
        let supervisor = Supervisor::new(core.clone()).start();
        timers.do_send(AttachSupervisor(supervisor.clone().recipient()));
        let count = supervisor
            .send(Rehydrate)
            .await
            .context("the supervisor stopped during start-up")??;
        tracing::info!(open_incidents = count, "engine ready");

        let worker = InboxWorker::new(core.clone(), supervisor.clone(), inbox_wake.clone());
        actix::spawn(worker.run());
        actix::spawn(checkpoints(store.clone()));
        if let Some(matrix) = matrix {
            matrix.start_receiving().await;
        }

        let address = listen_address(&settings);
        let listener =
            TcpListener::bind(address).with_context(|| format!("could not listen on {address}"))?;
        let address = listener.local_addr()?;
        let state = web::Data::new(AppState {
            core,
            supervisor: supervisor.clone(),
            inbox: InboxWriter::start(store.clone(), inbox_wake.clone()),
            api_token: settings.api.token.clone(),
            memory: memory.clone(),
            slack,
            teams,
            web_open: settings.web.open && address.ip().is_loopback(),
            alert_receivers: alert_sources.receivers,
            inbox_wake: inbox_wake.clone(),
        });
        if let Some(app_token) = &settings.slack.app_token {
            if state.slack.is_some() {
                let socket =
                    SocketMode::new(&settings.slack.api_base_url, app_token.expose().to_owned())
                        .context("invalid Slack app token")?;
                let handler = Arc::new(routes::SlackSocket::new(state.clone()));
                // The socket stops with the actix system, like the server.
                actix::spawn(socket.run(handler, std::future::pending::<()>()));
                tracing::info!(platform = "slack", "receiving over Socket Mode");
            }
        }
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(routes::register)
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        tracing::info!(%address, "listening");
        Ok(Self {
            address,
            server,
            store,
            supervisor,
            memory,
            inbox_wake,
            _database_lock: database_lock,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until SIGINT/SIGTERM, then stops taking requests and lets
    /// the ones in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The escalation targets, by name, from `[escalation.targets.NAME]`.
fn pagers(
    settings: &Settings,
    sleeper: Arc<dyn Sleeper>,
) -> anyhow::Result<HashMap<String, Arc<dyn Pager>>> {
    let mut pagers: HashMap<String, Arc<dyn Pager>> = HashMap::new();
    for (name, target) in &settings.escalation.targets {
        let missing = |key: &str| anyhow::anyhow!("[escalation.targets.{name}] needs `{key}`");
        let pager: Arc<dyn Pager> = match target.kind.as_str() {
            "pagerduty" => {
                let key = target.routing_key.as_ref().ok_or_else(|| missing("routing_key"))?;
                let base = target.api_base_url.as_deref().unwrap_or(paging::pagerduty::DEFAULT_API_BASE_URL);
                Arc::new(PagerDuty::new(name, base, key.expose().to_owned())?.with_sleeper(sleeper.clone()))
            }
            "opsgenie" => {
                let key = target.api_key.as_ref().ok_or_else(|| missing("api_key"))?;
                let base = target.api_base_url.as_deref().unwrap_or(paging::opsgenie::DEFAULT_API_BASE_URL);
                Arc::new(Opsgenie::new(name, base, key.expose().to_owned())?.with_sleeper(sleeper.clone()))
            }
            "webhook" => {
                let url = target.url.as_deref().ok_or_else(|| missing("url"))?;
                let secret = target.secret.as_ref().map(|secret| secret.expose().to_owned());
                Arc::new(Webhook::new(name, url, secret)?.with_sleeper(sleeper.clone()))
            }
            other => anyhow::bail!(
                "[escalation.targets.{name}] kind `{other}` is not one of pagerduty, opsgenie, webhook"
            ),
        };
        pagers.insert(name.clone(), pager);
    }
    Ok(pagers)
}

/// Retry back-offs of outbound integrations wait on the engine's clock,
/// so a manual clock drives them in tests too.
struct ClockSleeper(Arc<dyn Clock>);

#[async_trait::async_trait]
impl Sleeper for ClockSleeper {
    async fn sleep(&self, delay: std::time::Duration) {
        let until =
            self.0.now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        self.0.sleep_until(until).await;
    }
}

/// Keeps SQLite's write-ahead log short from a reader connection, so the
/// one writer connection never stops to do it (see `Store::checkpoint`).
async fn checkpoints(store: Store) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(error) = store.checkpoint().await {
            tracing::warn!(%error, "could not checkpoint the database");
        }
    }
}

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url)
        .await
        .context("could not connect to the database")?;
    Migrator::up(store.connection(), None)
        .await
        .context("could not migrate the database")?;
    Ok(store)
}

/// Without an API token the admin API is open, so it may only be reachable
/// from this machine.
fn listen_address(settings: &Settings) -> SocketAddr {
    let configured = settings.server.addr;
    if settings.api.token.is_some() || configured.ip().is_loopback() {
        return configured;
    }
    let loopback = SocketAddr::from(([127, 0, 0, 1], configured.port()));
    tracing::warn!(
        %configured,
        %loopback,
        "no API token configured (FIREBREAK__API__TOKEN): listening on loopback only"
    );
    loopback
}
