//! The incident engine: the pure incident domain, the actors that run it,
//! and the store that remembers everything.

pub mod clock;
pub mod engine;
pub mod incident;
pub mod metrics;
pub mod render;
pub mod store;
