//! The grammar of what people write to the bot: `lead @ana`, `severity 1`,
//! `status mitigated`, `action write the post-mortem`, `remind 10m check
//! the cache`, `snooze update 30m`, …
//!
//! The chat adapter has already stripped the bot's mention (and any `/` or
//! `!`), so the text starts with the command word. People are written
//! `@<id>`, where the id is whatever the platform uses (`@ana`,
//! `@U024BE7LH`, `@ana:example.org`); the adapter rewrites its own mention
//! markup to that form, which keeps this grammar platform-neutral.
//!
//! Parsing turns text into typed [`Request`]s, so the state machine never
//! sees a string it has to re-check. Every [`ParseError`] reads as a whole
//! sentence for the person who typed the command, with the right usage.

use super::duration::{parse_duration, DurationError};
use super::policy::{Policy, RoleName, RoleNameError};
use super::reminder::ReminderKind;
use super::severity::Severity;
use super::status::Status;
use super::status_page::StatusPageState;
use chrono::Duration;
use chrono::{DateTime, Utc};
use firebreak_adapters::alerts::AlertBatch;
use firebreak_adapters::{MessageRef, Platform, UserRef};

/// Longest title, in characters: it has to fit a channel topic and a
/// headline.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest free text (summary, impact, action, note), in characters: long
/// enough for a paragraph, short enough for every platform's message limit.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Anything addressed to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Help,
    Declare { title: String },
    Query(Query),
    Command(Command),
}

/// A question about the incident; answered without changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Actions,
    Duration,
    Status,
    /// Which reminders are pending, and when each is due.
    Reminders,
    /// The monitoring alerts attached, with their state.
    Alerts,
}

/// A request to change the incident; [`decide`](super::decide) accepts or
/// rejects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `None` means the sender takes the lead.
    Lead(Option<UserRef>),
    Severity(Severity),
    Status(Status),
    Summary(String),
    Impact(String),
    Role {
        role: RoleName,
        user: UserRef,
    },
    Action(String),
    Rename(String),
    Note(String),
    Close,
    Reopen,
    Decline,
    /// A stakeholder update.
    Update(String),
    /// Mark follow-up action N done (allowed after closing, when most
    /// follow-ups get done).
    ActionDone(u32),
    /// Create or update the public status page incident.
    StatusPage {
        state: StatusPageState,
        message: String,
    },
    /// Page `target` now. The parser has matched it to a configured
    /// target; [`decide`](super::decide) checks again, as the policy may
    /// have changed.
    Escalate {
        target: String,
        message: Option<String>,
    },
    /// A one-off reminder `after` from now.
    Remind {
        after: Duration,
        text: String,
    },
    /// Put off a pending reminder for `duration` from now.
    Snooze {
        reminder: ReminderKind,
        duration: Duration,
    },
    /// Turn off a pending reminder until its condition changes.
    Dismiss(ReminderKind),
    /// For the review (the web page and the API, not chat): an entry the
    /// timeline is missing, at the time it happened.
    AddTimelineEntry {
        text: String,
        at: DateTime<Utc>,
    },
    /// For the review: entry `seq` should have read `text`. The original
    /// stays in the event log.
    CorrectTimelineEntry {
        seq: u64,
        text: String,
    },
    /// Split an attached alert out (by fingerprint or a prefix of it).
    Detach(String),
    /// Silence the incident's alerts at their source for `duration`.
    Silence(Duration),
    /// Never parsed from text: a monitoring tool's delivery for this
    /// incident.
    ReceiveAlerts(Box<AlertDelivery>),
    /// Never parsed from text: the engine builds it when a message is pinned
    /// or gets the timeline reaction.
    Pin {
        message: MessageRef,
        text: String,
        author: Option<UserRef>,
    },
}

/// A delivery of alerts as the incident takes it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDelivery {
    pub batch: AlertBatch,
    /// The group the engine filed the delivery under (the tool's group
    /// key, or one made from configured labels).
    pub group_key: String,
    pub storm_key: Option<String>,
    /// Move the incident to mitigated when this leaves none firing.
    pub mitigate_when_resolved: bool,
    /// The severity its firing alerts map to: an incident less severe is
    /// raised to it (never lowered: people may have raised it for reasons
    /// the alerts don't know).
    pub severity: Option<Severity>,
}

impl AlertDelivery {
    /// The event that records `alerts` of this delivery arriving.
    pub fn received(&self, alerts: Vec<firebreak_adapters::alerts::Alert>) -> super::DomainEvent {
        let batch = &self.batch;
        let group_labels = if batch.group_labels.is_empty() {
            batch.common_labels.clone()
        } else {
            batch.group_labels.clone()
        };
        super::DomainEvent::AlertsReceived {
            source: batch.source.clone(),
            group_key: self.group_key.clone(),
            group_labels,
            storm_key: self.storm_key.clone(),
            alerts,
        }
    }
}

/// Why some text is not a request. The message is shown in chat as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("I didn't catch a command there: write `help` to see what I can do.")]
    Empty,
    #[error("`{0}` is not a status page state: write investigating, identified, monitoring or resolved.")]
    UnknownStatusPageState(String),
    #[error("`{0}` is not an action number: write `done 2` (`actions` lists them).")]
    NotAnActionNumber(String),
    #[error("`{0}` is not a command I know: write `help` to see what I can do.")]
    UnknownCommand(String),
    #[error("`{command}` needs more than that: write `{usage}`.")]
    MissingArgument {
        command: &'static str,
        usage: &'static str,
    },
    #[error("`{command}` takes no argument: write just `{command}`.")]
    UnexpectedArgument { command: &'static str },
    #[error("`{command}` got more than it takes: write `{usage}`.")]
    TooManyArguments {
        command: &'static str,
        usage: &'static str,
    },
    #[error("`{0}` is not a person: mention someone as `@name`.")]
    NotAUser(String),
    #[error("`{given}` is not a severity: use a number from 1 to 4 or one of {known}.")]
    UnknownSeverity { given: String, known: String },
    #[error("`{0}` is not a status: use one of triage, investigating, mitigated, resolved, closed or declined.")]
    UnknownStatus(String),
    #[error("`{given}` is not a role here: {known}.")]
    UnknownRole { given: String, known: String },
    #[error("That is not a role name: {0}.")]
    BadRoleName(RoleNameError),
    #[error("The {what} is too long: keep it to {max} characters or fewer.")]
    TooLong { what: &'static str, max: usize },
    #[error("{0}")]
    BadDuration(DurationError),
    #[error("`{given}` is not a reminder: use {known}.")]
    UnknownReminder { given: String, known: String },
    #[error("`{given}` is not an escalation target: {known}.")]
    UnknownEscalationTarget { given: String, known: String },
}

/// Parses text addressed to the bot. People named as `@id` become users on
/// `platform`; severities and roles are those of `policy`.
pub fn parse_request(
    text: &str,
    platform: Platform,
    policy: &Policy,
) -> Result<Request, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    };
    let args = Arguments { rest };
    let command = |command| Ok(Request::Command(command));
    match word.to_lowercase().as_str() {
        // Lenient on purpose: someone asking for help ("help me!") should
        // get it, not be told they asked the wrong way.
        "help" => Ok(Request::Help),
        "declare" => Ok(Request::Declare {
            title: args.text(&DECLARE, "title", MAX_TITLE_CHARS)?,
        }),
        "lead" => command(Command::Lead(args.optional_user(&LEAD, platform)?)),
        "severity" | "sev" => command(Command::Severity(args.severity(policy)?)),
        "status" => match args.optional_word(&STATUS)? {
            None => Ok(Request::Query(Query::Status)),
            Some(given) => command(Command::Status(
                given
                    .parse()
                    .map_err(|_| ParseError::UnknownStatus(given.to_owned()))?,
            )),
        },
        "summary" => command(Command::Summary(args.text(
            &SUMMARY,
            "summary",
            MAX_TEXT_CHARS,
        )?)),
        "impact" => command(Command::Impact(args.text(
            &IMPACT,
            "impact",
            MAX_TEXT_CHARS,
        )?)),
        "role" => args.role(platform, policy).map(Request::Command),
        "action" => command(Command::Action(args.text(
            &ACTION,
            "action",
            MAX_TEXT_CHARS,
        )?)),
        "actions" => args.none(&ACTIONS).map(|()| Request::Query(Query::Actions)),
        "done" => {
            let (number, rest) = args.first_and_rest().ok_or_else(|| missing(&DONE))?;
            if !rest.is_empty() {
                return Err(ParseError::TooManyArguments {
                    command: DONE.command,
                    usage: DONE.usage,
                });
            }
            let number = number
                .trim_start_matches('#')
                .parse::<u32>()
                .map_err(|_| ParseError::NotAnActionNumber(number.to_owned()))?;
            command(Command::ActionDone(number))
        }
        "rename" => command(Command::Rename(args.text(
            &RENAME,
            "title",
            MAX_TITLE_CHARS,
        )?)),
        "note" => command(Command::Note(args.text(&NOTE, "note", MAX_TEXT_CHARS)?)),
        "duration" => args
            .none(&DURATION)
            .map(|()| Request::Query(Query::Duration)),
        "close" => args.none(&CLOSE).and_then(|()| command(Command::Close)),
        "reopen" => args.none(&REOPEN).and_then(|()| command(Command::Reopen)),
        "decline" => args.none(&DECLINE).and_then(|()| command(Command::Decline)),
        "update" => command(Command::Update(args.text(
            &UPDATE,
            "update",
            MAX_TEXT_CHARS,
        )?)),
        "statuspage" => args.statuspage().map(Request::Command),
        "escalate" => args.escalate(policy).map(Request::Command),
        "remind" => args.remind().map(Request::Command),
        "reminders" => args
            .none(&REMINDERS)
            .map(|()| Request::Query(Query::Reminders)),
        "snooze" => args.snooze(policy).map(Request::Command),
        "dismiss" => {
            let given = args
                .optional_word(&DISMISS)?
                .ok_or_else(|| missing(&DISMISS))?;
            command(Command::Dismiss(reminder(given, policy)?))
        }
        "alerts" => args.none(&ALERTS).map(|()| Request::Query(Query::Alerts)),
        "detach" => {
            let given = args
                .optional_word(&DETACH)?
                .ok_or_else(|| missing(&DETACH))?;
            command(Command::Detach(given.to_owned()))
        }
        "silence" => {
            if args.rest.is_empty() {
                return Err(missing(&SILENCE));
            }
            command(Command::Silence(
                parse_duration(args.rest).map_err(ParseError::BadDuration)?,
            ))
        }
        _ => Err(ParseError::UnknownCommand(word.to_owned())),
    }
}

/// How to use every command, for the `help` reply, with this
/// organisation's severity names and roles filled in.
pub fn help_text(policy: &Policy) -> String {
    let severities = Severity::ALL
        .into_iter()
        .map(|severity| policy.severity_label(severity))
        .collect::<Vec<_>>()
        .join(", ");
    let statuses = Status::ALL.map(Status::as_str).join(", ");
    let roles = if policy.roles.is_empty() {
        "none are configured".to_owned()
    } else {
        join_roles(policy)
    };
    let mut text = String::from("Write one of these to me (commands are not case-sensitive):\n");
    for usage in USAGES {
        text.push_str(&format!("• `{}`: {}\n", usage.usage, usage.about));
    }
    text.push_str(&format!(
        "Severities: {severities} (`sev` works too, as does `sev1`).\n"
    ));
    text.push_str(&format!("Statuses: {statuses}.\n"));
    text.push_str(&format!("Roles: {roles}.\n"));
    text.push_str(&format!("Reminders: {}.\n", reminder_forms(policy)));
    let targets = &policy.duties.escalation_targets;
    if targets.is_empty() {
        text.push_str("Escalation targets: none are configured.");
    } else {
        text.push_str(&format!("Escalation targets: {}.", targets.join(", ")));
    }
    text
}

/// One line of help, and the usage quoted back in errors.
struct Usage {
    command: &'static str,
    usage: &'static str,
    about: &'static str,
}

// One constant per command so the parser and the help text quote the same
// usage; `USAGES` is the order help lists them in.
const HELP: Usage = Usage {
    command: "help",
    usage: "help",
    about: "show this list",
};
const DECLARE: Usage = Usage {
    command: "declare",
    usage: "declare <title>",
    about: "declare a new incident",
};
const LEAD: Usage = Usage {
    command: "lead",
    usage: "lead [@someone]",
    about: "make someone the lead, or yourself if nobody is named",
};
const SEVERITY: Usage = Usage {
    command: "severity",
    usage: "severity <1-4 or name>",
    about: "change the severity",
};
const STATUS: Usage = Usage {
    command: "status",
    usage: "status [<status>]",
    about: "show where the incident stands, or move it to another status",
};
const SUMMARY: Usage = Usage {
    command: "summary",
    usage: "summary <text>",
    about: "say what is going on",
};
const IMPACT: Usage = Usage {
    command: "impact",
    usage: "impact <text>",
    about: "say who or what is affected",
};
const ROLE: Usage = Usage {
    command: "role",
    usage: "role <role> @someone",
    about: "give someone a role",
};
const ACTION: Usage = Usage {
    command: "action",
    usage: "action <text>",
    about: "add a follow-up action",
};
const DONE: Usage = Usage {
    command: "done",
    usage: "done <action number>",
    about: "mark a follow-up action done (works after closing too)",
};
const ACTIONS: Usage = Usage {
    command: "actions",
    usage: "actions",
    about: "list the follow-up actions",
};
const RENAME: Usage = Usage {
    command: "rename",
    usage: "rename <title>",
    about: "change the title",
};
const NOTE: Usage = Usage {
    command: "note",
    usage: "note <text>",
    about: "add a note to the timeline",
};
const DURATION: Usage = Usage {
    command: "duration",
    usage: "duration",
    about: "how long it has lasted, and how long it took to acknowledge, mitigate and resolve",
};
const CLOSE: Usage = Usage {
    command: "close",
    usage: "close",
    about: "resolve and close the incident (it needs a lead)",
};
const REOPEN: Usage = Usage {
    command: "reopen",
    usage: "reopen",
    about: "the problem is back: move a mitigated or resolved incident back to investigating",
};
const DECLINE: Usage = Usage {
    command: "decline",
    usage: "decline",
    about: "it is not an incident after all (only while in triage)",
};

const UPDATE: Usage = Usage {
    command: "update",
    usage: "update <text>",
    about: "post a stakeholder update (it resets the update reminder)",
};
const STATUSPAGE: Usage = Usage {
    command: "statuspage",
    usage: "statuspage <investigating|identified|monitoring|resolved> <message>",
    about: "create or update the public status page incident",
};
const ESCALATE: Usage = Usage {
    command: "escalate",
    usage: "escalate <target> [message]",
    about: "page an escalation target now",
};
const REMIND: Usage = Usage {
    command: "remind",
    usage: "remind <duration> <text>",
    about: "remind the channel of something later, e.g. `remind 30m check the cache`",
};
const REMINDERS: Usage = Usage {
    command: "reminders",
    usage: "reminders",
    about: "list the pending reminders and when they are due",
};
const SNOOZE: Usage = Usage {
    command: "snooze",
    usage: "snooze <reminder> <duration>",
    about: "put off a reminder, e.g. `snooze update 30m`",
};
const DISMISS: Usage = Usage {
    command: "dismiss",
    usage: "dismiss <reminder>",
    about: "stop a reminder until things change",
};

const ALERTS: Usage = Usage {
    command: "alerts",
    usage: "alerts",
    about: "list the monitoring alerts attached to the incident",
};
const DETACH: Usage = Usage {
    command: "detach",
    usage: "detach <fingerprint>",
    about: "split an alert out of the incident (`alerts` shows fingerprints)",
};
const SILENCE: Usage = Usage {
    command: "silence",
    usage: "silence <duration>",
    about: "silence the incident's alerts in Alertmanager for a while",
};
const USAGES: [&Usage; 27] = [
    &HELP,
    &DECLARE,
    &LEAD,
    &SEVERITY,
    &STATUS,
    &SUMMARY,
    &IMPACT,
    &ROLE,
    &ACTION,
    &ACTIONS,
    &DONE,
    &RENAME,
    &NOTE,
    &DURATION,
    &UPDATE,
    &STATUSPAGE,
    &ESCALATE,
    &REMIND,
    &REMINDERS,
    &SNOOZE,
    &DISMISS,
    &ALERTS,
    &DETACH,
    &SILENCE,
    &CLOSE,
    &REOPEN,
    &DECLINE,
];

/// What follows the command word, already trimmed.
struct Arguments<'a> {
    rest: &'a str,
}

impl<'a> Arguments<'a> {
    /// Free text, kept as written apart from the outer whitespace.
    fn text(&self, usage: &Usage, what: &'static str, max: usize) -> Result<String, ParseError> {
        if self.rest.is_empty() {
            return Err(missing(usage));
        }
        if self.rest.chars().count() > max {
            return Err(ParseError::TooLong { what, max });
        }
        Ok(self.rest.to_owned())
    }

    fn none(&self, usage: &Usage) -> Result<(), ParseError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ParseError::UnexpectedArgument {
                command: usage.command,
            })
        }
    }

    /// At most one word.
    fn optional_word(&self, usage: &Usage) -> Result<Option<&'a str>, ParseError> {
        let mut words = self.rest.split_whitespace();
        let word = words.next();
        match words.next() {
            None => Ok(word),
            Some(_) => Err(too_many(usage)),
        }
    }

    fn optional_user(
        &self,
        usage: &Usage,
        platform: Platform,
    ) -> Result<Option<UserRef>, ParseError> {
        self.optional_word(usage)?
            .map(|word| user(word, platform))
            .transpose()
    }

    fn severity(&self, policy: &Policy) -> Result<Severity, ParseError> {
        let given = self
            .optional_word(&SEVERITY)?
            .ok_or_else(|| missing(&SEVERITY))?;
        policy
            .severity_by_name(given)
            .ok_or_else(|| ParseError::UnknownSeverity {
                given: given.to_owned(),
                known: or_list(policy.severity_names.iter().map(|name| format!("`{name}`"))),
            })
    }

    /// `role <role> @someone`; `role lead @someone` is the lead command,
    /// since people reasonably think of the lead as a role too.
    fn role(&self, platform: Platform, policy: &Policy) -> Result<Command, ParseError> {
        let mut words = self.rest.split_whitespace();
        let (Some(role), Some(person)) = (words.next(), words.next()) else {
            return Err(missing(&ROLE));
        };
        if words.next().is_some() {
            return Err(too_many(&ROLE));
        }
        let role = match role.parse::<RoleName>() {
            Ok(role) => role,
            Err(RoleNameError::Lead) => return Ok(Command::Lead(Some(user(person, platform)?))),
            Err(invalid) => return Err(ParseError::BadRoleName(invalid)),
        };
        if !policy.has_role(&role) {
            let known = if policy.roles.is_empty() {
                "no roles are configured".to_owned()
            } else {
                format!("the roles are {}", join_roles(policy))
            };
            return Err(ParseError::UnknownRole {
                given: role.to_string(),
                known,
            });
        }
        Ok(Command::Role {
            role,
            user: user(person, platform)?,
        })
    }

    /// The first word and what follows it, trimmed.
    fn first_and_rest(&self) -> Option<(&'a str, &'a str)> {
        match self.rest.split_once(char::is_whitespace) {
            Some((first, rest)) => Some((first, rest.trim())),
            None if self.rest.is_empty() => None,
            None => Some((self.rest, "")),
        }
    }

    /// `escalate <target> [message]`.
    fn escalate(&self, policy: &Policy) -> Result<Command, ParseError> {
        let (given, message) = self.first_and_rest().ok_or_else(|| missing(&ESCALATE))?;
        let target =
            policy
                .escalation_target(given)
                .ok_or_else(|| ParseError::UnknownEscalationTarget {
                    given: given.to_owned(),
                    known: policy.known_escalation_targets(),
                })?;
        let message = match message {
            "" => None,
            message if message.chars().count() > MAX_TEXT_CHARS => {
                return Err(ParseError::TooLong {
                    what: "message",
                    max: MAX_TEXT_CHARS,
                })
            }
            message => Some(message.to_owned()),
        };
        Ok(Command::Escalate {
            target: target.to_owned(),
            message,
        })
    }

    /// `statuspage <state> <message>`.
    fn statuspage(&self) -> Result<Command, ParseError> {
        let (state, message) = self.first_and_rest().ok_or_else(|| missing(&STATUSPAGE))?;
        let state = state
            .parse::<StatusPageState>()
            .map_err(|_| ParseError::UnknownStatusPageState(state.to_owned()))?;
        let message = Arguments { rest: message }.text(&STATUSPAGE, "message", MAX_TEXT_CHARS)?;
        Ok(Command::StatusPage { state, message })
    }

    /// `remind <duration> <text>`. The duration is one word (`1h30m`), so
    /// the text may start with anything, numbers included.
    fn remind(&self) -> Result<Command, ParseError> {
        let (duration, text) = self.first_and_rest().ok_or_else(|| missing(&REMIND))?;
        let after = parse_duration(duration).map_err(ParseError::BadDuration)?;
        let text = Arguments { rest: text }.text(&REMIND, "reminder", MAX_TEXT_CHARS)?;
        Ok(Command::Remind { after, text })
    }

    /// `snooze <reminder> <duration>`; the duration is the rest, so
    /// `1h 30m` works as well as `1h30m`.
    fn snooze(&self, policy: &Policy) -> Result<Command, ParseError> {
        let (given, duration) = self.first_and_rest().ok_or_else(|| missing(&SNOOZE))?;
        let reminder = reminder(given, policy)?;
        if duration.is_empty() {
            return Err(missing(&SNOOZE));
        }
        let duration = parse_duration(duration).map_err(ParseError::BadDuration)?;
        Ok(Command::Snooze { reminder, duration })
    }
}

/// A reminder as people name it; a role must be one of the policy's.
fn reminder(given: &str, policy: &Policy) -> Result<ReminderKind, ParseError> {
    let unknown = || ParseError::UnknownReminder {
        given: given.to_owned(),
        known: reminder_forms(policy),
    };
    match given.parse::<ReminderKind>() {
        Ok(ReminderKind::RoleUnfilled(role)) if !policy.has_role(&role) => Err(unknown()),
        Ok(reminder) => Ok(reminder),
        Err(_) => Err(unknown()),
    }
}

/// The ways to name a reminder, with this organisation's roles.
fn reminder_forms(policy: &Policy) -> String {
    let roles = if policy.roles.is_empty() {
        String::new()
    } else {
        format!(", role:<role> ({})", join_roles(policy))
    };
    format!("lead, update, mitigated, resolved{roles} or the number of one set with `remind`")
}

fn user(word: &str, platform: Platform) -> Result<UserRef, ParseError> {
    match word.strip_prefix('@') {
        Some(id) if !id.is_empty() => Ok(UserRef::new(platform, id)),
        _ => Err(ParseError::NotAUser(word.to_owned())),
    }
}

fn missing(usage: &Usage) -> ParseError {
    ParseError::MissingArgument {
        command: usage.command,
        usage: usage.usage,
    }
}

fn too_many(usage: &Usage) -> ParseError {
    ParseError::TooManyArguments {
        command: usage.command,
        usage: usage.usage,
    }
}

fn join_roles(policy: &Policy) -> String {
    policy
        .roles
        .iter()
        .map(RoleName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a, b or c`.
fn or_list(items: impl IntoIterator<Item = String>) -> String {
    let mut items: Vec<String> = items.into_iter().collect();
    match items.pop() {
        None => String::new(),
        Some(last) if items.is_empty() => last,
        Some(last) => format!("{} or {last}", items.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::fixtures::{severity, user};
    use crate::incident::reminder::ReminderKind;

    fn parse(text: &str) -> Result<Request, ParseError> {
        parse_request(text, Platform::Memory, &Policy::default())
    }

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    fn command(command: Command) -> Result<Request, ParseError> {
        Ok(Request::Command(command))
    }

    #[test]
    fn every_command_parses() {
        let cases: Vec<(&str, Result<Request, ParseError>)> = vec![
            ("help", Ok(Request::Help)),
            ("help me please", Ok(Request::Help)),
            ("alerts", Ok(Request::Query(Query::Alerts))),
            (
                "alerts now",
                Err(ParseError::UnexpectedArgument { command: "alerts" }),
            ),
            ("detach 3fa2b1", command(Command::Detach("3fa2b1".into()))),
            (
                "detach",
                Err(ParseError::MissingArgument {
                    command: "detach",
                    usage: "detach <fingerprint>",
                }),
            ),
            (
                "silence 1h 30m",
                command(Command::Silence(Duration::minutes(90))),
            ),
            (
                "silence",
                Err(ParseError::MissingArgument {
                    command: "silence",
                    usage: "silence <duration>",
                }),
            ),
            (
                "declare Payments failing",
                Ok(Request::Declare {
                    title: "Payments failing".into(),
                }),
            ),
            ("lead", command(Command::Lead(None))),
            ("lead @ana", command(Command::Lead(Some(user("ana"))))),
            (
                "lead @U024BE7LH",
                command(Command::Lead(Some(user("U024BE7LH")))),
            ),
            (
                "lead @ana:example.org",
                command(Command::Lead(Some(user("ana:example.org")))),
            ),
            ("severity 1", command(Command::Severity(severity(1)))),
            ("severity major", command(Command::Severity(severity(2)))),
            ("sev 3", command(Command::Severity(severity(3)))),
            ("sev sev4", command(Command::Severity(severity(4)))),
            ("sev Critical", command(Command::Severity(severity(1)))),
            ("status", Ok(Request::Query(Query::Status))),
            (
                "status investigating",
                command(Command::Status(Status::Investigating)),
            ),
            (
                "status Mitigated",
                command(Command::Status(Status::Mitigated)),
            ),
            (
                "status resolved",
                command(Command::Status(Status::Resolved)),
            ),
            ("status closed", command(Command::Status(Status::Closed))),
            (
                "status declined",
                command(Command::Status(Status::Declined)),
            ),
            ("status triage", command(Command::Status(Status::Triage))),
            (
                "summary Cards are declined",
                command(Command::Summary("Cards are declined".into())),
            ),
            (
                "impact All EU customers",
                command(Command::Impact("All EU customers".into())),
            ),
            (
                "role comms @bo",
                command(Command::Role {
                    role: role("comms"),
                    user: user("bo"),
                }),
            ),
            (
                "role Scribe @cy",
                command(Command::Role {
                    role: role("scribe"),
                    user: user("cy"),
                }),
            ),
            ("role lead @ana", command(Command::Lead(Some(user("ana"))))),
            (
                "action Add an alert on 5xx",
                command(Command::Action("Add an alert on 5xx".into())),
            ),
            ("actions", Ok(Request::Query(Query::Actions))),
            (
                "rename Cards declined",
                command(Command::Rename("Cards declined".into())),
            ),
            (
                "note Rolled back 1.4.2",
                command(Command::Note("Rolled back 1.4.2".into())),
            ),
            ("duration", Ok(Request::Query(Query::Duration))),
            ("close", command(Command::Close)),
            ("reopen", command(Command::Reopen)),
            ("decline", command(Command::Decline)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "parsing {text:?}");
        }
    }

    #[test]
    fn command_words_ignore_case_and_surrounding_whitespace() {
        for text in ["CLOSE", "Close", "  close  ", "\tclose\n"] {
            assert_eq!(parse(text), command(Command::Close), "parsing {text:?}");
        }
        assert_eq!(parse("SEV  2"), command(Command::Severity(severity(2))));
        assert_eq!(
            parse("Lead   @Ana "),
            command(Command::Lead(Some(user("Ana"))))
        );
    }

    #[test]
    fn free_text_keeps_its_inner_text() {
        assert_eq!(
            parse("summary   Cards  are *declined*\n  since 09:00  "),
            command(Command::Summary(
                "Cards  are *declined*\n  since 09:00".into()
            ))
        );
        assert_eq!(
            parse("NOTE Ça marche pas"),
            command(Command::Note("Ça marche pas".into()))
        );
    }

    #[test]
    fn free_text_is_capped_in_characters() {
        let title = "é".repeat(MAX_TITLE_CHARS);
        assert_eq!(
            parse(&format!("declare {title}")),
            Ok(Request::Declare {
                title: title.clone()
            })
        );
        assert_eq!(
            parse(&format!("declare {title}x")),
            Err(ParseError::TooLong {
                what: "title",
                max: 200
            })
        );
        assert_eq!(
            parse(&format!("rename {title}x")),
            Err(ParseError::TooLong {
                what: "title",
                max: 200
            })
        );
        let text = "x".repeat(MAX_TEXT_CHARS);
        for (word, what) in [
            ("summary", "summary"),
            ("impact", "impact"),
            ("action", "action"),
            ("note", "note"),
        ] {
            assert!(
                parse(&format!("{word} {text}")).is_ok(),
                "{word} at the limit"
            );
            assert_eq!(
                parse(&format!("{word} {text}x")),
                Err(ParseError::TooLong { what, max: 4000 }),
                "{word} over the limit"
            );
        }
    }

    #[test]
    fn commands_without_arguments_refuse_extra_words() {
        for word in [
            "actions",
            "duration",
            "close",
            "reopen",
            "decline",
            "reminders",
        ] {
            assert_eq!(
                parse(&format!("{word} now")),
                Err(ParseError::UnexpectedArgument { command: word }),
                "{word} with an argument"
            );
        }
    }

    #[test]
    fn commands_with_arguments_require_them() {
        for (text, command) in [
            ("declare", "declare"),
            ("severity", "severity"),
            ("sev", "severity"),
            ("summary", "summary"),
            ("impact  ", "impact"),
            ("role", "role"),
            ("role comms", "role"),
            ("action", "action"),
            ("rename", "rename"),
            ("note", "note"),
            ("update", "update"),
            ("escalate", "escalate"),
            ("remind", "remind"),
            ("remind 10m", "remind"),
            ("remind 10m   ", "remind"),
            ("snooze", "snooze"),
            ("snooze update", "snooze"),
            ("dismiss", "dismiss"),
        ] {
            assert!(
                matches!(parse(text), Err(ParseError::MissingArgument { command: c, .. }) if c == command),
                "{text:?} should miss an argument of {command}"
            );
        }
    }

    #[test]
    fn one_word_arguments_refuse_more_words() {
        for (text, command) in [
            ("lead @ana @bo", "lead"),
            ("severity 1 now", "severity"),
            ("status resolved now", "status"),
            ("role comms @bo @cy", "role"),
            ("dismiss update lead", "dismiss"),
        ] {
            assert!(
                matches!(parse(text), Err(ParseError::TooManyArguments { command: c, .. }) if c == command),
                "{text:?} should have too many arguments for {command}"
            );
        }
    }

    #[test]
    fn bad_values_are_named() {
        let cases: Vec<(&str, ParseError)> = vec![
            ("", ParseError::Empty),
            ("   ", ParseError::Empty),
            ("panic now", ParseError::UnknownCommand("panic".into())),
            ("lead ana", ParseError::NotAUser("ana".into())),
            ("lead @", ParseError::NotAUser("@".into())),
            ("role comms bo", ParseError::NotAUser("bo".into())),
            ("role lead bo", ParseError::NotAUser("bo".into())),
            (
                "sev 5",
                ParseError::UnknownSeverity {
                    given: "5".into(),
                    known: "`critical`, `major`, `minor` or `trivial`".into(),
                },
            ),
            ("status done", ParseError::UnknownStatus("done".into())),
            (
                "role chef @bo",
                ParseError::UnknownRole {
                    given: "chef".into(),
                    known: "the roles are comms, scribe, ops".into(),
                },
            ),
            (
                "role chef! @bo",
                ParseError::BadRoleName(RoleNameError::Invalid("chef!".into())),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "parsing {text:?}");
        }
    }

    #[test]
    fn errors_read_as_sentences_with_the_right_usage() {
        let cases: Vec<(&str, &str)> = vec![
            ("", "I didn't catch a command there: write `help` to see what I can do."),
            ("panic", "`panic` is not a command I know: write `help` to see what I can do."),
            ("summary", "`summary` needs more than that: write `summary <text>`."),
            ("role comms", "`role` needs more than that: write `role <role> @someone`."),
            ("close now", "`close` takes no argument: write just `close`."),
            ("lead @ana @bo", "`lead` got more than it takes: write `lead [@someone]`."),
            ("lead ana", "`ana` is not a person: mention someone as `@name`."),
            (
                "sev huge",
                "`huge` is not a severity: use a number from 1 to 4 or one of `critical`, `major`, `minor` or `trivial`.",
            ),
            (
                "status done",
                "`done` is not a status: use one of triage, investigating, mitigated, resolved, closed or declined.",
            ),
            ("role chef @bo", "`chef` is not a role here: the roles are comms, scribe, ops."),
            (
                "role chef! @bo",
                "That is not a role name: a role name needs 1 to 32 characters of a-z, 0-9, - or _; `chef!` is not one.",
            ),
        ];
        for (text, message) in cases {
            let error = parse(text).expect_err("the case is an error");
            assert_eq!(error.to_string(), message, "parsing {text:?}");
        }
        assert_eq!(
            ParseError::TooLong {
                what: "title",
                max: 200
            }
            .to_string(),
            "The title is too long: keep it to 200 characters or fewer."
        );
    }

    #[test]
    fn a_custom_policy_brings_its_own_severities_and_roles() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![role("scribe")],
            ..Policy::default()
        };
        let parse = |text| parse_request(text, Platform::Memory, &policy);
        assert_eq!(parse("sev P2"), command(Command::Severity(severity(2))));
        assert_eq!(parse("sev 3"), command(Command::Severity(severity(3))));
        assert_eq!(
            parse("sev major"),
            Err(ParseError::UnknownSeverity {
                given: "major".into(),
                known: "`p1`, `p2`, `p3` or `p4`".into()
            })
        );
        assert_eq!(
            parse("role comms @bo"),
            Err(ParseError::UnknownRole {
                given: "comms".into(),
                known: "the roles are scribe".into()
            })
        );
        assert_eq!(
            parse("lead @bo:example.org"),
            command(Command::Lead(Some(UserRef::new(
                Platform::Memory,
                "bo:example.org"
            ))))
        );

        let no_roles = Policy {
            roles: vec![],
            ..policy.clone()
        };
        assert_eq!(
            parse_request("role scribe @bo", Platform::Memory, &no_roles)
                .map_err(|error| error.to_string()),
            Err("`scribe` is not a role here: no roles are configured.".to_owned())
        );
    }

    #[test]
    fn help_lists_every_command_with_the_policy() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![role("comms"), role("scribe")],
            ..Policy::default()
        };
        let help = help_text(&policy);
        for usage in USAGES {
            assert!(
                help.contains(&format!("`{}`", usage.usage)),
                "help shows {}",
                usage.usage
            );
            assert!(
                !matches!(parse(usage.command), Err(ParseError::UnknownCommand(_))),
                "{} in the help is a command",
                usage.command
            );
        }
        assert!(
            help.contains("Severities: 1 (p1), 2 (p2), 3 (p3), 4 (p4)"),
            "{help}"
        );
        assert!(help.contains("Roles: comms, scribe."), "{help}");
        assert!(
            help.contains(
                "Statuses: triage, investigating, mitigated, resolved, closed, declined."
            ),
            "{help}"
        );
        assert!(
            help.contains("Reminders: lead, update, mitigated, resolved, role:<role> (comms, scribe) or the number of one set with `remind`."),
            "{help}"
        );
        assert!(
            help.contains("Escalation targets: none are configured."),
            "{help}"
        );
        assert!(help_text(&Policy {
            roles: vec![],
            ..policy.clone()
        })
        .contains("Roles: none are configured."));
        let mut with_targets = policy;
        with_targets.duties.escalation_targets = vec!["exec-oncall".into(), "db-oncall".into()];
        assert!(help_text(&with_targets).contains("Escalation targets: exec-oncall, db-oncall."));
    }

    fn with_targets() -> Policy {
        let mut policy = Policy::default();
        policy.duties.escalation_targets = vec!["exec-oncall".into(), "db-oncall".into()];
        policy
    }

    #[test]
    fn duty_commands_parse() {
        let minutes = chrono::Duration::minutes;
        let cases: Vec<(&str, Result<Request, ParseError>)> = vec![
            (
                "update Rolled back, error rate falling",
                command(Command::Update("Rolled back, error rate falling".into())),
            ),
            (
                "escalate exec-oncall",
                command(Command::Escalate {
                    target: "exec-oncall".into(),
                    message: None,
                }),
            ),
            (
                "ESCALATE DB-Oncall  the primary is down ",
                command(Command::Escalate {
                    target: "db-oncall".into(),
                    message: Some("the primary is down".into()),
                }),
            ),
            (
                "remind 30m check the cache",
                command(Command::Remind {
                    after: minutes(30),
                    text: "check the cache".into(),
                }),
            ),
            (
                "remind 1h30m 2 replicas left to check",
                command(Command::Remind {
                    after: minutes(90),
                    text: "2 replicas left to check".into(),
                }),
            ),
            (
                "snooze update 30m",
                command(Command::Snooze {
                    reminder: ReminderKind::UpdateDue,
                    duration: minutes(30),
                }),
            ),
            (
                "snooze lead 1h 30m",
                command(Command::Snooze {
                    reminder: ReminderKind::NoLead,
                    duration: minutes(90),
                }),
            ),
            (
                "snooze comms 10m",
                command(Command::Snooze {
                    reminder: ReminderKind::RoleUnfilled(role("comms")),
                    duration: minutes(10),
                }),
            ),
            (
                "snooze role:scribe 10m",
                command(Command::Snooze {
                    reminder: ReminderKind::RoleUnfilled(role("scribe")),
                    duration: minutes(10),
                }),
            ),
            (
                "snooze 3 2d",
                command(Command::Snooze {
                    reminder: ReminderKind::Custom(3),
                    duration: chrono::Duration::days(2),
                }),
            ),
            (
                "dismiss updates",
                command(Command::Dismiss(ReminderKind::UpdateDue)),
            ),
            (
                "dismiss close",
                command(Command::Dismiss(ReminderKind::ResolvedUnclosed)),
            ),
            (
                "dismiss mitigated",
                command(Command::Dismiss(ReminderKind::MitigatedUnresolved)),
            ),
            (
                "dismiss no-lead",
                command(Command::Dismiss(ReminderKind::NoLead)),
            ),
            (
                "dismiss custom:2",
                command(Command::Dismiss(ReminderKind::Custom(2))),
            ),
            ("reminders", Ok(Request::Query(Query::Reminders))),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_request(text, Platform::Memory, &with_targets()),
                expected,
                "parsing {text:?}"
            );
        }
    }

    #[test]
    fn duty_commands_name_what_is_wrong() {
        let cases: Vec<(&str, &str)> = vec![
            (
                "escalate ceo",
                "`ceo` is not an escalation target: the targets are exec-oncall, db-oncall.",
            ),
            (
                "remind 45 check the cache",
                "`45` needs a unit: write `45m` for minutes, or use s, h or d.",
            ),
            (
                "remind soon check the cache",
                "`soon` is not a duration: write one like `90s`, `5m`, `1h30m` or `2d`.",
            ),
            ("remind 31d check", "`31d` is too long: keep it to 30 days or less."),
            (
                "snooze update forever",
                "`forever` is not a duration: write one like `90s`, `5m`, `1h30m` or `2d`.",
            ),
            (
                "snooze chef 10m",
                "`chef` is not a reminder: use lead, update, mitigated, resolved, role:<role> (comms, scribe, ops) or the number of one set with `remind`.",
            ),
            (
                "dismiss role:lead",
                "`role:lead` is not a reminder: use lead, update, mitigated, resolved, role:<role> (comms, scribe, ops) or the number of one set with `remind`.",
            ),
            (
                "dismiss 0",
                "`0` is not a reminder: use lead, update, mitigated, resolved, role:<role> (comms, scribe, ops) or the number of one set with `remind`.",
            ),
            ("snooze update", "`snooze` needs more than that: write `snooze <reminder> <duration>`."),
            ("remind 5m", "`remind` needs more than that: write `remind <duration> <text>`."),
            ("dismiss", "`dismiss` needs more than that: write `dismiss <reminder>`."),
            ("reminders now", "`reminders` takes no argument: write just `reminders`."),
        ];
        for (text, message) in cases {
            let error = parse_request(text, Platform::Memory, &with_targets())
                .expect_err("the case is an error");
            assert_eq!(error.to_string(), message, "parsing {text:?}");
        }
        assert_eq!(
            parse("escalate exec-oncall").map_err(|error| error.to_string()),
            Err(
                "`exec-oncall` is not an escalation target: no escalation targets are configured."
                    .to_owned()
            ),
            "the default policy has no targets"
        );
        assert_eq!(
            parse_request(
                &format!("escalate exec-oncall {}", "x".repeat(MAX_TEXT_CHARS + 1)),
                Platform::Memory,
                &with_targets()
            ),
            Err(ParseError::TooLong {
                what: "message",
                max: MAX_TEXT_CHARS
            })
        );
        assert_eq!(
            parse(&format!("remind 5m {}", "x".repeat(MAX_TEXT_CHARS + 1))),
            Err(ParseError::TooLong {
                what: "reminder",
                max: MAX_TEXT_CHARS
            })
        );
        assert_eq!(
            parse(&format!("update {}", "x".repeat(MAX_TEXT_CHARS + 1))),
            Err(ParseError::TooLong {
                what: "update",
                max: MAX_TEXT_CHARS
            })
        );
    }
}
