//! End-to-end tests: the real application on 127.0.0.1:0 with its own
//! database, driven over HTTP the way platforms and operators drive it.
//! One binary for all of them, so cargo links once.

mod support;

mod admin_api;
mod alerts;
mod binary;
mod browser;
mod bursts;
mod chat;
mod crash;
mod durability;
mod duties;
mod hostile;
mod incident_flow;
mod matrix;
mod openapi;
mod report;
mod review;
mod slack;
mod stats;
mod teams;
mod tidy;
mod web_pages;
