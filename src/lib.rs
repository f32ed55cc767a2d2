//! The `firebreak` binary's library: configuration, the actix-web server
//! (platform webhooks, admin API, health, metrics) and the start-up wiring.
//! Tests start the real application through [`startup::Application`].

pub mod actors_bench;
pub mod alert_sources;
pub mod bench;
pub mod commands_bench;
pub mod config;
pub mod footprint_bench;
pub mod ingest_bench;
pub mod load_bench;
pub mod matrix;
pub mod rehydrate_bench;
pub mod report;
pub mod routes;
pub mod single_process;
pub mod slack_manifest;
pub mod startup;
pub mod stats;
pub mod storm_bench;
pub mod teams_manifest;
pub mod telemetry;
pub mod timeline;
