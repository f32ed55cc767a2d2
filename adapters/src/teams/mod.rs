//! Microsoft Teams through the Bot Framework: activities in at
//! `POST /teams/messages` (verified by [`auth`], decoded by [`inbound`]),
//! Adaptive Cards out ([`cards`]) through the Bot Connector
//! ([`connector`]).

mod adapter;
pub mod auth;
pub mod cards;
pub mod connector;
pub mod graph;
pub mod inbound;
pub mod token;

pub use adapter::TeamsAdapter;
