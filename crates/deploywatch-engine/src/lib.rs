//! The Deploywatch engine: gathers observations for each environment (probes, GitHub,
//! registry), decides with `deploywatch_core::decide`, records history in the store, and runs
//! the watcher loop that schedules checks and announces incidents.
//!
//! It knows nothing of a GUI or of output formats: the CLI and the desktop app are shells over
//! [`Engine`], [`verify`] and [`Watcher`].

pub mod action;
mod budget;
mod calm;
mod check;
mod conditions;
pub mod discover;
mod disk;
mod limit;
mod notify;
mod registry;
mod repo;
mod status;
mod verify;
mod watch;

pub use check::{CliExpect, Engine, EngineOptions, NO_TOKEN_WARNING, Selection};
pub use disk::{DISK_LOW_KIND, DISK_RECOVERED_KIND};
pub use notify::{
    Delivery, DeliveryRecorder, MAX_RETRY_AFTER, Notice, Notifier, OpenReportHook, RETRY_DELAYS,
    Webhook, webhook_body,
};
pub use registry::registry_auth;
pub use repo::{Head, RepoSnapshot, StaleHead};
pub use verify::{VerifyOptions, verify};
pub use watch::{Command, Condition, ConditionKind, WatchEvent, Watcher};
