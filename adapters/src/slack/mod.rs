//! Slack: request verification, payload parsing, Block Kit rendering and
//! the Web API client, behind [`SlackAdapter`].
//!
//! Wire formats follow Slack's documentation:
//! <https://api.slack.com/authentication/verifying-requests-from-slack>,
//! <https://api.slack.com/apis/events-api>, <https://api.slack.com/interactivity/handling>,
//! <https://api.slack.com/block-kit>, <https://api.slack.com/web>.

mod adapter;
pub mod blocks;
pub mod client;
pub mod ids;
pub mod inbound;
pub mod socket;
pub mod verify;

pub use adapter::SlackAdapter;
