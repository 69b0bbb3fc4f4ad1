//! End-to-end tests of the real `deploywatch` binary against real loopback servers: a fake
//! GitHub whose bodies come from GitHub's OpenAPI examples, simulated environments and a
//! simulated registry (crates/deploywatch-fakehub and crates/deploywatch-fleet), and real
//! nginx and Varnish started as child processes (`infra.rs`, cases in `real_infra.rs`), the real
//! distribution registry (`real_registry.rs`), and nginx serving health bodies (`real_health.rs`).
//!
//! One test binary (matklad, "Delete cargo integration tests"); modules by feature.

mod harness;
mod infra;
mod reports;

mod actions;
mod add;
mod auth;
mod budget;
mod calm;
mod demo;
mod github;
mod incidents;
mod lag;
mod notifications;
mod pipeline;
mod preflight;
mod real_health;
mod real_infra;
mod real_registry;
mod usage;
mod verdicts;
mod wait;
mod webhooks;
