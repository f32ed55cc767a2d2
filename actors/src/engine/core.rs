//! What every actor of the engine shares: the store, the policy, the chat
//! platforms and the metrics.

use crate::incident::Policy;
use crate::metrics::EngineMetrics;
use crate::render::Links;
use crate::store::{ChangeWriter, Store};
use firebreak_adapters::{ChatAdapter, ConversationRef, Platform};
use std::collections::HashMap;
use std::sync::Arc;

/// One configured chat platform: its adapter and where incidents are
/// announced.
#[derive(Clone)]
pub struct PlatformEndpoint {
    pub adapter: Arc<dyn ChatAdapter>,
    pub announce: Option<ConversationRef>,
}

/// The configured chat platforms; may be empty (incidents then live in the
/// API and the store alone).
#[derive(Clone, Default)]
pub struct Platforms {
    endpoints: HashMap<Platform, PlatformEndpoint>,
}

impl Platforms {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(
        mut self,
        adapter: Arc<dyn ChatAdapter>,
        announce: Option<ConversationRef>,
    ) -> Self {
        self.endpoints
            .insert(adapter.platform(), PlatformEndpoint { adapter, announce });
        self
    }

    pub fn get(&self, platform: Platform) -> Option<&PlatformEndpoint> {
        self.endpoints.get(&platform)
    }

    pub fn adapter(&self, platform: Platform) -> Option<&Arc<dyn ChatAdapter>> {
        self.endpoints
            .get(&platform)
            .map(|endpoint| &endpoint.adapter)
    }

    /// The platform to use when a caller names none: the only configured
    /// one, or the API alone when there are none. Ambiguous (several) gives
    /// `None`, and the caller must choose.
    pub fn default_platform(&self) -> Option<Platform> {
        let mut platforms = self.endpoints.keys();
        match (platforms.next(), platforms.next()) {
            (None, _) => Some(Platform::Api),
            (Some(only), None) => Some(*only),
            _ => None,
        }
    }

    pub fn configured(&self) -> impl Iterator<Item = Platform> + '_ {
        self.endpoints.keys().copied()
    }

    /// Whether `conversation` is where incidents are announced on its
    /// platform (declaring happens there).
    pub fn is_announce(&self, conversation: &ConversationRef) -> bool {
        self.get(conversation.platform)
            .and_then(|endpoint| endpoint.announce.as_ref())
            .is_some_and(|announce| announce == conversation)
    }
}

/// Shared, read-only after start-up.
pub struct EngineCore {
    pub store: Store,
    /// Where incidents' changes are written, together with whatever other
    /// incidents' changes are waiting.
    pub changes: ChangeWriter,
    /// Every "now" the engine uses; a manual clock in tests.
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Holds the wake-ups of every pending reminder.
    pub timers: actix::Addr<super::TimerWheel>,
    /// Escalation targets by name.
    pub pagers: HashMap<String, Arc<dyn firebreak_adapters::paging::Pager>>,
    /// Configured workflow rules, in order.
    pub workflows: Vec<super::WorkflowRule>,
    /// The public status page, when configured.
    pub status_page: Option<Arc<firebreak_adapters::statuspage::StatusPage>>,
    pub policy: Policy,
    pub platforms: Platforms,
    pub metrics: Arc<EngineMetrics>,
    /// Base URL of the incident web pages, for links in messages.
    pub web_base_url: Option<String>,
    /// Severity of an incident declared without one.
    pub default_severity: crate::incident::Severity,
    /// Reactions that put a message on the timeline (`pushpin`, 📌).
    pub pin_reactions: Vec<String>,
    /// Replies to keywords said in an incident conversation.
    pub keywords: Keywords,
    /// Whether the lead speaking in the conversation resets the update
    /// reminder.
    pub lead_message_counts_as_update: bool,
    /// How often a closed incident's open follow-up actions are brought up
    /// in its conversation; `None` for never.
    pub follow_up_digest_every: Option<chrono::Duration>,
    /// How many times a crashed incident actor is restarted within
    /// [`EngineCore::RESTART_WINDOW`] before it is left stopped.
    pub max_restarts: usize,
    /// Configured alert sources by name.
    pub alert_sources: HashMap<String, super::AlertRules>,
}

impl EngineCore {
    pub const RESTART_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn links(&self, incident: &crate::incident::Incident) -> Links {
        Links {
            page: self
                .web_base_url
                .as_ref()
                .map(|base| format!("{}/incidents/{}", base.trim_end_matches('/'), incident.id())),
            conversation: incident.conversation().and_then(|conversation| {
                self.platforms
                    .adapter(conversation.platform)
                    .and_then(|adapter| adapter.conversation_link(conversation))
            }),
        }
    }
}

/// `keyword → reply` rules: a message in an incident conversation that
/// contains the keyword as a word gets the reply (e.g. "statuspage" → how
/// to update the status page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    rules: Vec<(String, String)>,
}

impl Keywords {
    pub fn new(rules: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            rules: rules
                .into_iter()
                .map(|(keyword, reply)| (keyword.trim().to_lowercase(), reply))
                .filter(|(keyword, _)| !keyword.is_empty())
                .collect(),
        }
    }

    /// The replies whose keyword `text` mentions, in rule order.
    pub fn replies_to(&self, text: &str) -> Vec<&str> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
            .filter(|word| !word.is_empty())
            .map(str::to_lowercase)
            .collect();
        self.rules
            .iter()
            .filter(|(keyword, _)| words.iter().any(|word| word == keyword))
            .map(|(_, reply)| reply.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        let keywords = Keywords::new([
            (
                "statuspage".to_owned(),
                "Update it at status.example.com".to_owned(),
            ),
            ("rollback".to_owned(), "Runbook: /rollback".to_owned()),
        ]);
        assert_eq!(
            keywords.replies_to("Who updates the StatusPage?"),
            ["Update it at status.example.com"]
        );
        assert_eq!(
            keywords.replies_to("statuspages are fun"),
            Vec::<&str>::new()
        );
        assert_eq!(keywords.replies_to("rollback, then statuspage").len(), 2);
    }
}
