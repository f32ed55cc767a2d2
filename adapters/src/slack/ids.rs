//! Slack's own identifiers, one newtype each.
//!
//! Slack ids are all strings, and mixing them up (a user id where a channel
//! id belongs, a `trigger_id` where a `ts` belongs) gives an API error far
//! from the mistake. Inside the `slack` module every id travels as its own
//! type; at the edge of the module they become the neutral
//! [`crate::ConversationRef`] / [`crate::UserRef`] / [`crate::MessageRef`].
//!
//! The values are opaque: Slack documents their prefixes (`C`, `G`, `D`,
//! `U`, `W`, `T`) but warns that formats change, so nothing here checks them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A conversation: public or private channel, DM or group DM (`C…`, `G…`,
/// `D…`).
///
/// <https://api.slack.com/types/conversation>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(String);

impl ChannelId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person or bot user (`U…`, or `W…` on Enterprise Grid).
///
/// <https://api.slack.com/types/user>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message timestamp such as `1700000000.000100`. Together with its
/// channel it names one message: it is what `chat.update`, `pins.add` and
/// `thread_ts` take. Kept as text because Slack compares it as text and a
/// float would lose the last digits.
///
/// <https://api.slack.com/messaging/retrieving#individual_messages>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ts(String);

impl Ts {
    pub fn new(ts: impl Into<String>) -> Self {
        Self(ts.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The short-lived handle (about three seconds) that slash commands,
/// shortcuts and button presses carry, without which `views.open` refuses
/// to open a modal. Each interaction gets a fresh one, which is also why
/// it serves as the interaction's dedupe key.
///
/// <https://api.slack.com/interactivity/handling#modal_responses>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TriggerId(String);

impl TriggerId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TriggerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A workspace (`T…`); Slack's APIs still call workspaces "teams".
///
/// <https://api.slack.com/methods/team.info>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TeamId(String);

impl TeamId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_travel_as_bare_json_strings() {
        let channel: ChannelId = serde_json::from_str("\"C123ABC456\"").expect("a JSON string");
        assert_eq!(channel.as_str(), "C123ABC456");
        assert_eq!(
            serde_json::to_string(&Ts::new("1700000000.000100")).expect("serialises"),
            "\"1700000000.000100\""
        );
    }

    #[test]
    fn ids_display_as_the_id_itself() {
        assert_eq!(UserId::new("U061F7AUR").to_string(), "U061F7AUR");
        assert_eq!(TeamId::new("T0001").to_string(), "T0001");
        assert_eq!(
            TriggerId::new("13345224609.738474920.8088").to_string(),
            "13345224609.738474920.8088"
        );
    }
}
