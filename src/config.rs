//! Settings: defaults < `firebreak.toml` < `FIREBREAK__SECTION__KEY`
//! environment variables, with `DATABASE_URL` overriding the database.
//! Loaded once at start-up and passed explicitly; nothing else reads the
//! environment. Unknown keys are an error so a typo fails at start-up
//! instead of being silently ignored.

use firebreak_actors::engine::{Trigger, WorkflowRule};
use firebreak_actors::incident::{parse_duration, Policy, ReminderDelays, RoleName, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub api: ApiSettings,
    pub log: LogSettings,
    pub web: WebSettings,
    pub incident: IncidentSettings,
    /// Per-severity settings, keyed `1` to `4` (`[severity.1]`).
    pub severity: BTreeMap<String, SeveritySettings>,
    pub memory: MemorySettings,
    pub slack: SlackSettings,
    pub matrix: MatrixSettings,
    pub teams: TeamsSettings,
    pub reminders: ReminderSettings,
    pub escalation: EscalationSettings,
    pub statuspage: Option<StatusPageSettings>,
    /// `[[workflows]]`: when → do rules, each run once per incident.
    pub workflows: Vec<WorkflowSettings>,
    /// `keyword = "reply"`: said in an incident conversation, answered.
    pub keywords: BTreeMap<String, String>,
    /// `[alerts.sources.NAME]`: monitoring tools that send alerts.
    pub alerts: AlertSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    pub sources: BTreeMap<String, AlertSourceSettings>,
}

/// One monitoring tool's deliveries and what its alerts do.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSourceSettings {
    /// `alertmanager`, `grafana` or `generic`: which receiver it posts to.
    pub kind: String,
    /// Deliveries carry `Authorization: Bearer <token>`…
    pub token: Option<Secret>,
    /// …or an HMAC-SHA256 of the body, hex, in `signature_header`.
    pub hmac_secret: Option<Secret>,
    pub signature_header: Option<String>,
    /// When set, the signature covers `<timestamp>:<body>` and the
    /// timestamp (Unix seconds) comes in this header.
    pub timestamp_header: Option<String>,
    /// The label holding an alert's severity.
    pub severity_label: String,
    /// That label's values and the severities (1–4) they mean.
    pub severities: BTreeMap<String, u8>,
    /// For a missing or unknown severity label.
    pub default_severity: u8,
    /// Alerts this severe or more (1 is most) may open an incident.
    pub open_up_to: u8,
    /// Incident title and summary templates (`{{labels.service}}`,
    /// `{{annotations.summary}}`, `{{title}}`, `{{count}}`).
    pub title: Option<String>,
    pub summary: Option<String>,
    pub platform: Option<String>,
    /// Where its incidents are announced (a channel or room id).
    pub announce: Option<String>,
    /// `[[alerts.sources.NAME.routes]]`: labels → platform/announce.
    pub routes: Vec<AlertRouteSettings>,
    /// Group by these labels rather than the tool's own group key.
    pub group_by: Vec<String>,
    /// New groups sharing `storm_labels` fold into the incident opened
    /// first, within this long of its opening.
    pub group_window: String,
    pub storm_labels: Vec<String>,
    /// `suggest` (say `status mitigated` in chat) or `mitigate`, when the
    /// last firing alert resolves.
    pub on_resolved: String,
    /// Alertmanager's address, for `silence`.
    pub alertmanager_url: Option<String>,
}

impl Default for AlertSourceSettings {
    fn default() -> Self {
        Self {
            kind: String::new(),
            token: None,
            hmac_secret: None,
            signature_header: None,
            timestamp_header: None,
            severity_label: "severity".to_owned(),
            severities: BTreeMap::from([
                ("critical".to_owned(), 1),
                ("error".to_owned(), 2),
                ("warning".to_owned(), 3),
                ("info".to_owned(), 4),
            ]),
            default_severity: 3,
            open_up_to: 2,
            title: None,
            summary: None,
            platform: None,
            announce: None,
            routes: Vec::new(),
            group_by: Vec::new(),
            group_window: "2m".to_owned(),
            storm_labels: Vec::new(),
            on_resolved: "suggest".to_owned(),
            alertmanager_url: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRouteSettings {
    /// Every label here must match.
    pub labels: BTreeMap<String, String>,
    pub platform: Option<String>,
    pub announce: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub addr: SocketAddr,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://file.db?mode=rwc` (the default, in the working directory)
    /// or `postgres://user@host/db`.
    pub url: Secret,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://firebreak.db?mode=rwc"),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Bearer token for the admin API. Without one the server only
    /// listens on loopback.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter (`info`, `firebreak=debug,sea_orm=warn`);
    /// `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// Public base URL of this server, for links in chat messages.
    pub base_url: Option<String>,
    /// Serve the web pages without a login. Only honoured while the
    /// server listens on loopback.
    pub open: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentSettings {
    /// Severity of an incident declared without one.
    pub default_severity: u8,
    /// Roles besides the lead (`role comms @bo`).
    pub roles: Vec<String>,
    /// Reactions that put a message on the timeline.
    pub pin_reactions: Vec<String>,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            default_severity: 3,
            roles: vec!["comms".into(), "scribe".into(), "ops".into()],
            pin_reactions: vec!["pushpin".into(), "📌".into()],
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeveritySettings {
    pub name: Option<String>,
    /// Escalation targets paged when an incident reaches this severity.
    pub page: Option<Vec<String>>,
    /// Conversations (ids on the incident's platform) told about it.
    pub notify: Option<Vec<String>>,
    /// Roles that must be filled.
    pub require_roles: Option<Vec<String>>,
    /// How often the lead must post an update (`15m`); `"off"` for never.
    pub update_every: Option<String>,
    /// Missed updates before the escalation targets are paged (0: never).
    pub escalate_after_missed_updates: Option<u32>,
}

/// `[reminders]`: when an unmet duty is brought up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReminderSettings {
    /// The lead saying anything in the incident conversation resets the
    /// update reminder, as a formal `update` does.
    pub lead_message_counts_as_update: bool,
    /// How often a closed incident's open follow-up actions are brought
    /// up (`7d`), or `off`.
    pub follow_up_digest_every: String,
    pub no_lead_after: String,
    pub unfilled_role_after: String,
    pub mitigated_unresolved_after: String,
    pub resolved_unclosed_after: String,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            lead_message_counts_as_update: false,
            follow_up_digest_every: "7d".to_owned(),
            no_lead_after: "5m".to_owned(),
            unfilled_role_after: "10m".to_owned(),
            mitigated_unresolved_after: "1h".to_owned(),
            resolved_unclosed_after: "24h".to_owned(),
        }
    }
}

/// One `[[workflows]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    pub name: String,
    /// `declared`, `severity:N` (N or more severe) or `status:NAME`.
    pub when: String,
    #[serde(default)]
    pub notify: Vec<String>,
    #[serde(default)]
    pub page: Vec<String>,
    #[serde(default)]
    pub checklist: Vec<String>,
}

/// `[statuspage]`: an Atlassian Statuspage-compatible API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageSettings {
    #[serde(default = "default_statuspage_url")]
    pub api_base_url: String,
    pub page_id: String,
    pub api_key: Secret,
}

fn default_statuspage_url() -> String {
    "https://api.statuspage.io".to_owned()
}

/// `[escalation.targets.NAME]`: where pages go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationSettings {
    pub targets: BTreeMap<String, TargetSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetSettings {
    /// `pagerduty`, `opsgenie` or `webhook`.
    pub kind: String,
    /// PagerDuty Events API v2 routing key.
    pub routing_key: Option<Secret>,
    /// Opsgenie API key.
    pub api_key: Option<Secret>,
    /// The webhook's URL.
    pub url: Option<String>,
    /// The webhook's signing secret.
    pub secret: Option<Secret>,
    /// Override of the provider's API base URL.
    pub api_base_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemorySettings {
    /// The in-process chat platform, for tests and the local demo.
    pub enabled: bool,
    /// Its announcement conversation.
    pub announce: String,
}

impl Default for MemorySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            announce: "announce".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackSettings {
    /// `xoxb-…`; Slack is enabled when this and either the signing secret
    /// (HTTP) or the app token (Socket Mode) are set.
    pub bot_token: Option<Secret>,
    /// Verifies that HTTP requests come from Slack.
    pub signing_secret: Option<Secret>,
    /// `xapp-…`: receive over Socket Mode, for a bot with no public URL.
    pub app_token: Option<Secret>,
    /// The Web API's base URL (GovSlack and tests point it elsewhere).
    pub api_base_url: String,
    /// Channel id where incidents are announced (`C0123…`).
    pub announce_channel: Option<String>,
    /// Put in front of incident channel names.
    pub channel_prefix: String,
    /// How many times faster than Slack's published rate limits the bot
    /// paces its Web API calls. Keep 1 for Slack itself; only a fake Web
    /// API with limits sped up by the same factor warrants more.
    pub pacing_speed: f64,
}

/// `[teams]`: a Bot Framework bot in Microsoft Teams.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamsSettings {
    /// The bot's Microsoft App ID; Teams is enabled when this and the
    /// password are set.
    pub app_id: Option<String>,
    pub app_password: Option<Secret>,
    /// For a single-tenant bot: its tokens come from this tenant.
    pub tenant_id: Option<String>,
    /// Where the keys that sign Bot Framework requests are published.
    pub openid_metadata_url: String,
    /// The OAuth2 token endpoint; default Bot Framework's, or the
    /// tenant's when `tenant_id` is set.
    pub token_url: Option<String>,
    /// The Bot Connector to call (`https://smba.trafficmanager.net/emea/`);
    /// otherwise learned from the first activity Teams sends.
    pub service_url: Option<String>,
    /// The channel (`19:…@thread.tacv2`) where incidents are announced
    /// and their threads started.
    pub announce_channel: Option<String>,
    /// Put in front of incident thread titles (and channel names).
    pub conversation_prefix: String,
    /// `[teams.graph]`: with Microsoft Graph application credentials each
    /// incident gets a channel of its own in the incidents team.
    pub graph: Option<GraphSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSettings {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The incidents team's id (its Microsoft 365 group id); learned when
    /// the bot is added to a team if not set.
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default = "default_graph_base")]
    pub api_base_url: String,
    /// Default: the tenant's token endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
}

fn default_graph_base() -> String {
    firebreak_adapters::teams::graph::DEFAULT_API_BASE_URL.into()
}

impl GraphSettings {
    pub fn token_url(&self) -> String {
        self.token_url.clone().unwrap_or_else(|| {
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                self.tenant_id
            )
        })
    }
}

impl Default for TeamsSettings {
    fn default() -> Self {
        Self {
            app_id: None,
            app_password: None,
            tenant_id: None,
            openid_metadata_url: firebreak_adapters::teams::auth::DEFAULT_OPENID_METADATA_URL
                .into(),
            token_url: None,
            service_url: None,
            announce_channel: None,
            conversation_prefix: "inc-".into(),
            graph: None,
        }
    }
}

impl TeamsSettings {
    pub fn token_url(&self) -> String {
        match (&self.token_url, &self.tenant_id) {
            (Some(url), _) => url.clone(),
            (None, Some(tenant)) => {
                format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
            }
            (None, None) => firebreak_adapters::teams::connector::DEFAULT_TOKEN_URL.into(),
        }
    }
}

/// `[matrix]`: a bot account on any homeserver.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatrixSettings {
    /// `https://matrix.example.org`; Matrix is enabled when this is set.
    pub homeserver_url: Option<String>,
    /// `@firebreak:example.org`: needed for a password login; with a
    /// token the homeserver says who the bot is.
    pub user_id: Option<String>,
    pub access_token: Option<Secret>,
    /// Used only when no access token is configured.
    pub password: Option<Secret>,
    /// Room id (`!abc:example.org`) or alias (`#incidents:example.org`)
    /// where incidents are declared and announced. The bot joins it at
    /// start-up if it has been invited.
    pub announce_room: Option<String>,
    /// Put in front of incident room names.
    pub room_prefix: String,
    /// What addresses the bot besides a mention.
    pub command_prefix: String,
    /// Who may invite the bot into rooms: user ids and server names.
    /// Empty: anyone on the bot's own server.
    pub allowed_inviters: Vec<String>,
    /// Incident rooms anyone on the server may join (`public_chat`);
    /// off by default (`private_chat`, invite-only).
    pub public_rooms: bool,
    /// How long one `/sync` waits for news (`30s`).
    pub sync_timeout: String,
    /// Events per room one sync returns before the rest is read back.
    pub timeline_limit: u32,
}

impl Default for MatrixSettings {
    fn default() -> Self {
        Self {
            homeserver_url: None,
            user_id: None,
            access_token: None,
            password: None,
            announce_room: None,
            room_prefix: "inc-".into(),
            command_prefix: "!incident".into(),
            allowed_inviters: Vec::new(),
            public_rooms: false,
            sync_timeout: "30s".into(),
            timeline_limit: 50,
        }
    }
}

impl MatrixSettings {
    pub fn sync_timeout(&self) -> Result<std::time::Duration, SettingsError> {
        parse_duration(&self.sync_timeout)
            .ok()
            .and_then(|duration| duration.to_std().ok())
            .ok_or_else(|| {
                SettingsError::Invalid(format!(
                    "[matrix] sync_timeout `{}` is not a duration like `30s`",
                    self.sync_timeout
                ))
            })
    }
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            bot_token: None,
            signing_secret: None,
            app_token: None,
            api_base_url: "https://slack.com/api/".to_owned(),
            announce_channel: None,
            channel_prefix: "inc-".to_owned(),
            pacing_speed: 1.0,
        }
    }
}

impl SlackSettings {
    /// The bot token, when Slack is configured with a way in (a signing
    /// secret for HTTP, an app token for Socket Mode, or both).
    pub fn bot_token(&self) -> Option<&Secret> {
        self.bot_token
            .as_ref()
            .filter(|_| self.signing_secret.is_some() || self.app_token.is_some())
    }
}

/// A secret from configuration: never printed, compared in constant time.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality, so response timing says nothing about how
    /// much of a guess was right.
    pub fn matches(&self, candidate: &str) -> bool {
        use subtle::ConstantTimeEq;
        // Lengths may leak; contents do not.
        self.0.len() == candidate.len() && bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

fn duration(key: &str, text: &str) -> Result<chrono::Duration, SettingsError> {
    parse_duration(text).map_err(|error| SettingsError::Invalid(format!("{key}: {error}")))
}

impl Settings {
    /// Loads `path` if it exists (`firebreak.toml` by default), then the
    /// environment. `env` is the process environment in production and a
    /// fixed map in tests.
    pub fn load(path: &Path, env: BTreeMap<String, String>) -> Result<Self, SettingsError> {
        let mut env = env;
        let database_url = env.remove("DATABASE_URL");
        let firebreak_env: config::Map<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with("FIREBREAK__"))
            .collect();
        let mut builder = config::Config::builder()
            .add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("FIREBREAK")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("incident.roles")
                    .with_list_parse_key("incident.pin_reactions")
                    .with_list_parse_key("matrix.allowed_inviters")
                    .with_list_parse_key("severity.1.page")
                    .with_list_parse_key("severity.2.page")
                    .with_list_parse_key("severity.3.page")
                    .with_list_parse_key("severity.4.page")
                    .with_list_parse_key("severity.1.notify")
                    .with_list_parse_key("severity.2.notify")
                    .with_list_parse_key("severity.3.notify")
                    .with_list_parse_key("severity.4.notify")
                    .with_list_parse_key("severity.1.require_roles")
                    .with_list_parse_key("severity.2.require_roles")
                    .with_list_parse_key("severity.3.require_roles")
                    .with_list_parse_key("severity.4.require_roles")
                    .source(Some(firebreak_env)),
            );
        if let Some(url) = database_url.filter(|url| !url.is_empty()) {
            builder = builder.set_override("database.url", url)?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.policy()?;
        settings.workflows()?;
        settings.follow_up_digest_every()?;
        settings.matrix.sync_timeout()?;
        Ok(settings)
    }

    /// The incident process as the domain sees it.
    pub fn policy(&self) -> Result<Policy, SettingsError> {
        let mut policy = Policy::default();
        for (key, severity) in &self.severity {
            let level = key
                .parse::<i64>()
                .ok()
                .and_then(|level| Severity::new(level).ok())
                .ok_or_else(|| {
                    SettingsError::Invalid(format!("[severity.{key}]: severities are 1 to 4"))
                })?;
            if let Some(name) = &severity.name {
                if name.trim().is_empty()
                    || name.contains(char::is_whitespace)
                    || name.parse::<i64>().is_ok()
                {
                    return Err(SettingsError::Invalid(format!(
                        "[severity.{key}] name `{name}` must be one word and not a number"
                    )));
                }
                policy.severity_names[usize::from(level.level() - 1)] = name.to_lowercase();
            }
            let duties = &mut policy.duties.severities[usize::from(level.level() - 1)];
            if let Some(page) = &severity.page {
                duties.page = page.clone();
            }
            if let Some(notify) = &severity.notify {
                duties.notify = notify.clone();
            }
            if let Some(roles) = &severity.require_roles {
                duties.require_roles = roles
                    .iter()
                    .map(|role| {
                        role.parse::<RoleName>().map_err(|error| {
                            SettingsError::Invalid(format!(
                                "[severity.{key}] require_roles: {error}"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            if let Some(every) = &severity.update_every {
                duties.update_every = match every.trim() {
                    "off" | "never" | "" => None,
                    text => Some(duration(&format!("severity.{key}.update_every"), text)?),
                };
            }
            if let Some(misses) = severity.escalate_after_missed_updates {
                duties.escalate_after_missed_updates = misses;
            }
        }
        let reminders = &self.reminders;
        policy.duties.reminders = ReminderDelays {
            no_lead_after: duration("reminders.no_lead_after", &reminders.no_lead_after)?,
            unfilled_role_after: duration(
                "reminders.unfilled_role_after",
                &reminders.unfilled_role_after,
            )?,
            mitigated_unresolved_after: duration(
                "reminders.mitigated_unresolved_after",
                &reminders.mitigated_unresolved_after,
            )?,
            resolved_unclosed_after: duration(
                "reminders.resolved_unclosed_after",
                &reminders.resolved_unclosed_after,
            )?,
        };
        policy.duties.escalation_targets = self.escalation.targets.keys().cloned().collect();
        for (level, duties) in policy.duties.severities.iter().enumerate() {
            for target in &duties.page {
                if !self.escalation.targets.contains_key(target) {
                    return Err(SettingsError::Invalid(format!(
                        "[severity.{}] pages `{target}`, but there is no [escalation.targets.{target}]",
                        level + 1
                    )));
                }
            }
        }
        let roles: Vec<RoleName> = self
            .incident
            .roles
            .iter()
            .map(|role| {
                role.parse::<RoleName>()
                    .map_err(|error| SettingsError::Invalid(format!("incident.roles: {error}")))
            })
            .collect::<Result<_, _>>()?;
        for duties in &policy.duties.severities {
            if let Some(role) = duties
                .require_roles
                .iter()
                .find(|role| !roles.contains(role))
            {
                return Err(SettingsError::Invalid(format!(
                    "a severity requires the role `{role}`, which is not in incident.roles"
                )));
            }
        }
        policy.roles = roles;
        Ok(policy)
    }

    /// The workflow rules, checked: names unique, triggers valid, paged
    /// targets configured.
    pub fn workflows(&self) -> Result<Vec<WorkflowRule>, SettingsError> {
        let mut rules: Vec<WorkflowRule> = Vec::new();
        for workflow in &self.workflows {
            let name = workflow.name.trim();
            if name.is_empty() || rules.iter().any(|rule| rule.name == name) {
                return Err(SettingsError::Invalid(format!(
                    "[[workflows]] need unique, non-empty names; `{name}` is not"
                )));
            }
            let when = workflow
                .when
                .parse::<Trigger>()
                .map_err(|error| SettingsError::Invalid(format!("workflow {name}: {error}")))?;
            if let Some(target) = workflow
                .page
                .iter()
                .find(|target| !self.escalation.targets.contains_key(*target))
            {
                return Err(SettingsError::Invalid(format!(
                    "workflow {name} pages `{target}`, but there is no [escalation.targets.{target}]"
                )));
            }
            rules.push(WorkflowRule {
                name: name.to_owned(),
                when,
                notify: workflow.notify.clone(),
                page: workflow.page.clone(),
                checklist: workflow.checklist.clone(),
            });
        }
        Ok(rules)
    }

    /// `reminders.follow_up_digest_every`, or `None` when off.
    pub fn follow_up_digest_every(&self) -> Result<Option<chrono::Duration>, SettingsError> {
        match self.reminders.follow_up_digest_every.trim() {
            "off" | "never" | "" => Ok(None),
            text => duration("reminders.follow_up_digest_every", text).map(Some),
        }
    }

    pub fn default_severity(&self) -> Result<Severity, SettingsError> {
        Severity::new(i64::from(self.incident.default_severity))
            .map_err(|error| SettingsError::Invalid(format!("incident.default_severity: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_file() -> &'static Path {
        Path::new("/nonexistent/firebreak.toml")
    }

    #[test]
    fn defaults_need_no_configuration() {
        let settings = Settings::load(no_file(), BTreeMap::new()).expect("defaults load");
        assert_eq!(settings.server.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(
            settings.database.url.expose(),
            "sqlite://firebreak.db?mode=rwc"
        );
        assert!(settings.api.token.is_none());
        assert_eq!(
            settings.policy().expect("valid").severity_names[0],
            "critical"
        );
    }

    #[test]
    fn environment_overrides_file_and_database_url_overrides_both() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "[server]\naddr = \"0.0.0.0:9000\"\n[severity.1]\nname = \"p1\"\n[incident]\nroles = [\"comms\"]\n",
        )
        .expect("write config");
        let settings = Settings::load(
            &path,
            env(&[
                ("FIREBREAK__SERVER__ADDR", "127.0.0.1:9100"),
                ("FIREBREAK__API__TOKEN", "12345"),
                ("FIREBREAK__LOG__FORMAT", "json"),
                ("FIREBREAK__INCIDENT__ROLES", "comms,scribe"),
                ("DATABASE_URL", "postgres://db/firebreak"),
                ("UNRELATED", "ignored"),
            ]),
        )
        .expect("loads");
        assert_eq!(settings.server.addr.to_string(), "127.0.0.1:9100");
        assert!(settings
            .api
            .token
            .as_ref()
            .is_some_and(|token| token.matches("12345")));
        assert_eq!(settings.log.format, LogFormat::Json);
        assert_eq!(settings.database.url.expose(), "postgres://db/firebreak");
        let policy = settings.policy().expect("valid");
        assert_eq!(policy.severity_names[0], "p1");
        assert_eq!(policy.roles.len(), 2);
    }

    #[test]
    fn typos_and_bad_values_fail_at_start_up() {
        assert!(Settings::load(no_file(), env(&[("FIREBREAK__SERVER__ADRR", "x")])).is_err());
        assert!(Settings::load(no_file(), env(&[("FIREBREAK__SEVERITY__7__NAME", "x")])).is_err());
        assert!(Settings::load(no_file(), env(&[("FIREBREAK__INCIDENT__ROLES", "lead")])).is_err());
    }

    #[test]
    fn duties_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "[severity.1]\npage = [\"exec-oncall\"]\nnotify = [\"C0EXEC\"]\nupdate_every = \"10m\"\n\
             [severity.4]\nupdate_every = \"off\"\n\
             [escalation.targets.exec-oncall]\nkind = \"pagerduty\"\nrouting_key = \"k\"\n",
        )
        .expect("write config");
        let settings = Settings::load(&path, env(&[("FIREBREAK__REMINDERS__NO_LEAD_AFTER", "2m")]))
            .expect("loads");
        let policy = settings.policy().expect("valid");
        assert_eq!(
            policy.duties.reminders.no_lead_after,
            chrono::Duration::minutes(2)
        );
        let critical = &policy.duties.severities[0];
        assert_eq!(critical.page, ["exec-oncall"]);
        assert_eq!(critical.notify, ["C0EXEC"]);
        assert_eq!(critical.update_every, Some(chrono::Duration::minutes(10)));
        assert_eq!(policy.duties.severities[3].update_every, None);
        assert_eq!(policy.duties.escalation_targets, ["exec-oncall"]);
    }

    #[test]
    fn a_page_to_an_unknown_target_or_a_bad_duration_fails_at_start_up() {
        let unknown = Settings::load(
            no_file(),
            env(&[("FIREBREAK__SEVERITY__1__PAGE", "nobody")]),
        );
        assert!(unknown.is_err());
        let bad = Settings::load(
            no_file(),
            env(&[("FIREBREAK__REMINDERS__NO_LEAD_AFTER", "soon")]),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn secrets_never_print_and_compare_exactly() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(secret.matches("hunter2"));
        assert!(!secret.matches("hunter3"));
        assert!(!secret.matches("hunter22"));
    }
}
