//! The demo fleet: simulated environments ([`SimEnv`]), a simulated container registry
//! ([`SimRegistry`]) and a scripted timeline over the fake GitHub ([`Fleet`]), all on loopback.
//!
//! It serves three users: the end-to-end tests of the `deploywatch` binary (which script one
//! environment precisely with [`SimEnv`], [`SimRegistry`], `FakeHub` and [`render_config`]),
//! `deploywatch demo` ([`Fleet::start_demo`], [`Fleet::demo_config`], [`Fleet::run_demo`]),
//! and the desktop app's first run. Between them, the fleet reproduces every fingerprint
//! format of SPEC §2 ([`Format`]) and every verdict of SPEC §3 ([`Scenario`]).

mod config;
mod demo;
mod env;
mod registry;
mod server;
mod sha;

pub use config::{EnvironmentToml, ProjectToml, Timings, render_config, toml_string};
pub use demo::{Fleet, Scenario, demo_sha};
pub use deploywatch_fakehub::FakeHub;
pub use env::{Balance, EnvSnapshot, Format, FrontendSpec, SimEnv};
pub use registry::SimRegistry;
pub use sha::{fake_sha, short_sha};
