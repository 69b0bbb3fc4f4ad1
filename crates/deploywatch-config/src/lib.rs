//! Deploywatch's configuration (SPEC §5): the TOML file, its defaults and per-environment
//! overrides, where it lives, and errors that name the file, line and key.
//!
//! ```text
//! [github]          api_url (default "https://api.github.com"), client_id (optional),
//!                   commit_statuses (false: write deploywatch/<environment> statuses)
//! [defaults]        grace, ci_timeout, fast_interval, idle_interval, timeout, confirm,
//!                   each_address (false: probe every address behind the build-info host),
//!                   on_open / on_cause / on_resolve (commands: arrays of words, no shell),
//!                   action_timeout ("2m", at most 1h), recheck_after_action (true)
//! [notifications]   desktop (default true), webhook (optional http/https URL),
//!                   webhook_format ("slack" | "json" | "teams" | "discord"),
//!                   verified_live (false: also announce each deploy verified live)
//! [[project]]       name*, repo* ("owner/name"), branch ("main"), workflows ([]), image,
//!                   mute (false: no notifications about its environments)
//! [[project.environment]]
//!                   name*, build_info_url*, frontend_url, health_url, sha_pointer | sha_header,
//!                   expect_environment, replicas (1, 1..=64), follows ("branch" | "deployments"),
//!                   mute (the project's: its own notifications off, or on in a muted project),
//!                   and any [defaults] key to override it for this environment
//! ```
//! (`*` = required.) Durations are strings such as `500ms`, `10s`, `5m`, `1h`, `1h30m`; `grace`
//! may be zero, the other durations may not; none may exceed 365 days. `confirm` is at least 1
//! and `fast_interval` at most `idle_interval`. `image` must contain `{sha}` and/or
//! `{short_sha}` and no other placeholder.
//!
//! `github.client_id` is an extension of SPEC §5: the OAuth app client id used by the GitHub
//! device flow. The GitHub token is never read from this file.
//!
//! Unknown keys are errors (with a "did you mean" suggestion), never ignored: a misspelt
//! `grace` that silently fell back to the default would make verdicts wrong without a trace.

// `ConfigError` is a flat struct with public fields so callers can show each part (the UI
// highlights the line, the CLI prints it whole). It is returned once per load, never in a hot
// loop, so its size on the error path costs nothing worth boxing it for.
#![allow(clippy::result_large_err)]

mod edit;
mod error;
mod model;
mod parse;
mod paths;
mod write;

use std::path::Path;

pub use edit::set_mute;
pub use error::{ConfigError, ErrorKind};
pub use model::{
    Actions, Config, DEFAULT_ACTION_TIMEOUT, DEFAULT_API_URL, DEFAULT_BRANCH,
    DEFAULT_MAX_CHECKS_PER_HOST, DEFAULT_MAX_CONCURRENT_CHECKS, Environment, Follows, GithubConfig,
    Limits, MAX_ACTION_TIMEOUT, MAX_LIMIT, MAX_REPLICAS, Notifications, Project, RepoRef, Settings,
    WebhookFormat, expand_image,
};
pub use paths::{CONFIG_ENV, DB_ENV, config_path, db_path};
pub use write::{append_project, save, to_toml, write_atomic};

/// A complete configuration showing every key, as in SPEC §5; it parses without error.
pub const EXAMPLE: &str = include_str!("example.toml");

/// Parses and validates configuration text. `source` names the file in errors (as given) and
/// becomes [`Config::source`].
///
/// Errors: [`ErrorKind::Syntax`] for invalid TOML, [`ErrorKind::Invalid`] for anything else
/// wrong (unknown or missing key, wrong type, bad value, duplicate name, conflicting keys),
/// always with the line, column and dotted key. One problem is reported at a time: the first
/// found, which within one table is the first in the file.
pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
    parse::parse(text, source)
}

/// Reads and parses the file at `path`.
///
/// Errors: [`ErrorKind::NotFound`] when it does not exist, [`ErrorKind::Io`] when it cannot be
/// read (both without a line), [`ErrorKind::Syntax`] with the line when it is not UTF-8,
/// otherwise as [`parse`].
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    parse(&read_text(path)?, path)
}

/// The file's text, with [`load`]'s errors for a missing, unreadable or non-UTF-8 file.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read(path).map_err(|e| {
        let (kind, message) = if e.kind() == std::io::ErrorKind::NotFound {
            (
                ErrorKind::NotFound,
                "configuration file not found: create it, or choose another with --config or \
                 DEPLOYWATCH_CONFIG"
                    .to_owned(),
            )
        } else {
            (
                ErrorKind::Io,
                format!("cannot read configuration file: {e}"),
            )
        };
        io_error(path, kind, message)
    })?;
    String::from_utf8(text).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        ConfigError {
            line: Some(line),
            ..io_error(
                path,
                ErrorKind::Syntax,
                "configuration file is not valid UTF-8".to_owned(),
            )
        }
    })
}

fn io_error(path: &Path, kind: ErrorKind, message: String) -> ConfigError {
    ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        kind,
        message,
    }
}
