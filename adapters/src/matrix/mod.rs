//! Matrix: a bot account on any homeserver, spoken to over the
//! Client-Server API (<https://spec.matrix.org/v1.11/client-server-api/>).
//!
//! Commands arrive through a `/sync` long-poll ([`sync`]); each timeline
//! event is stored in the durable inbox as a [`inbound::StoredEvent`] and
//! turned into [`ChatEvent`](crate::ChatEvent)s by [`inbound::decode`].
//! Messages go out as `m.room.message` with HTML ([`html`]).

mod adapter;
pub mod client;
pub mod html;
pub mod inbound;
pub mod receiver;
pub mod sync;

pub use adapter::MatrixAdapter;
