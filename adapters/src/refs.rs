//! References to things that live on a chat platform.
//!
//! The ids inside are opaque to everyone but the platform's own module: a
//! Slack channel id, a Teams conversation id, a Matrix room id all travel as
//! strings here, tagged with the [`Platform`] that can make sense of them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a conversation, message or person lives.
///
/// `Api` is not a chat platform: it names incidents and people that came in
/// through the admin API when no chat platform is configured, so the engine
/// works with zero adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Api,
    Memory,
    Slack,
    Teams,
    Matrix,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Api,
        Platform::Memory,
        Platform::Slack,
        Platform::Teams,
        Platform::Matrix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Api => "api",
            Platform::Memory => "memory",
            Platform::Slack => "slack",
            Platform::Teams => "teams",
            Platform::Matrix => "matrix",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}` (expected one of api, memory, slack, teams, matrix)")]
pub struct PlatformParseError(pub String);

impl FromStr for Platform {
    type Err = PlatformParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|platform| platform.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| PlatformParseError(text.to_owned()))
    }
}

/// A channel, room, chat or thread in which messages are exchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationRef {
    pub platform: Platform,
    pub id: String,
}

impl ConversationRef {
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            id: id.into(),
        }
    }
}

impl fmt::Display for ConversationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.id)
    }
}

/// One message inside a conversation (a Slack `ts`, a Teams activity id, a
/// Matrix event id), so it can be updated, pinned or quoted later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    pub conversation: ConversationRef,
    pub id: String,
}

impl MessageRef {
    pub fn new(conversation: ConversationRef, id: impl Into<String>) -> Self {
        Self {
            conversation,
            id: id.into(),
        }
    }
}

/// A person (or bot) on a platform. `name` is a display name when the
/// platform told us one; the id is what identifies them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRef {
    pub platform: Platform,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl UserRef {
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            id: id.into(),
            name: None,
        }
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What a human reads: the display name when known, else the id.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

// Two references to the same person are equal whatever display name each
// happened to carry.
impl PartialEq for UserRef {
    fn eq(&self, other: &Self) -> bool {
        self.platform == other.platform && self.id == other.id
    }
}

impl Eq for UserRef {}

impl std::hash::Hash for UserRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.platform.hash(state);
        self.id.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_round_trips_through_text() {
        for platform in Platform::ALL {
            assert_eq!(platform.as_str().parse::<Platform>(), Ok(platform));
        }
        assert_eq!("SLACK".parse::<Platform>(), Ok(Platform::Slack));
        assert!("irc".parse::<Platform>().is_err());
    }

    #[test]
    fn users_are_equal_by_platform_and_id_only() {
        let a = UserRef::new(Platform::Slack, "U1").with_name("Ana");
        let b = UserRef::new(Platform::Slack, "U1");
        let c = UserRef::new(Platform::Matrix, "U1");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.display(), "Ana");
        assert_eq!(b.display(), "U1");
    }
}
