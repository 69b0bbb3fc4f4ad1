//! The messages that cross the Tauri IPC boundary between the desktop app (`src-tauri`) and
//! its Leptos UI (`ui`), and (in [`proto`]) between the window and the resident process.
//! Plain serde types with no dependency on the engine, so the UI (wasm) compiles without it;
//! the resident side converts domain types into these by hand.
//!
//! Times are RFC 3339 strings in UTC; SHAs are full lowercase hex; verdicts are the stable
//! names of SPEC §3 (`live`, `phantom`, …). Nothing here ever carries the GitHub token.

use serde::{Deserialize, Serialize};

pub mod proto;

/// Command names, shared so neither side can misspell one.
pub mod command {
    pub const DASHBOARD: &str = "dashboard";
    pub const REPORT: &str = "report";
    pub const CHECK_NOW: &str = "check_now";
    pub const PAUSE: &str = "pause";
    pub const RESUME: &str = "resume";
    pub const HISTORY: &str = "history";
    pub const DEPLOY_LAGS: &str = "deploy_lags";
    pub const SETTINGS: &str = "settings";
    pub const SAVE_SETTINGS: &str = "save_settings";
    pub const TEST_ENVIRONMENT: &str = "test_environment";
    pub const SIGN_IN_START: &str = "sign_in_start";
    pub const SIGN_IN_WAIT: &str = "sign_in_wait";
    pub const SIGN_IN_TOKEN: &str = "sign_in_token";
    pub const SIGN_OUT: &str = "sign_out";
    pub const START_DEMO: &str = "start_demo";
    pub const REPORT_MARKDOWN: &str = "report_markdown";
    /// Mutes or unmutes notifications about an environment or a whole project; returns the
    /// [`super::Dashboard`] after it.
    pub const SET_MUTE: &str = "set_mute";
    /// Returns `Option<OpenReport>`: the report a newly opened window should show first.
    pub const TAKE_OPEN_REPORT: &str = "take_open_report";
    /// Resident process only: the window process introduces itself ([`crate::proto::Attach`]).
    pub const ATTACH_WINDOW: &str = "attach_window";
    /// Resident process only: bring the window to the front, opening one if needed.
    pub const SHOW: &str = "show";
    /// Resident process only: end it (the tray's Quit).
    pub const QUIT: &str = "quit";
}

/// Event names the backend emits.
pub mod event {
    /// Payload: [`super::Dashboard`]; sent after every check and every pause/resume.
    pub const DASHBOARD: &str = "dashboard-changed";
    /// Payload: [`super::OpenReport`]; the tray or a notification asks the window to show a report.
    pub const OPEN_REPORT: &str = "open-report";
}

/// An error the UI can branch on (`code`) and show (`message`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpcError {
    /// `config_invalid`, `not_found`, `github`, `keyring`, `io`, `busy`, `demo`.
    pub code: String,
    pub message: String,
}

/// The worst state across all environments: what the tray icon shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Every environment is live.
    Live,
    /// None alerting, at least one deploying.
    Deploying,
    /// At least one alert verdict.
    Alert,
    /// Paused, or nothing configured / nothing checked yet.
    Idle,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub overall: Overall,
    /// Set while checks are paused.
    pub paused_until: Option<String>,
    /// True when the config has no projects (the UI offers the demo fleet).
    pub empty: bool,
    /// True while the built-in demo fleet is what is being watched.
    pub demo: bool,
    pub environments: Vec<EnvRow>,
    /// The config file was edited outside the app into something invalid (the message names
    /// file, line and key); the previous configuration keeps being watched until it is fixed.
    #[serde(default)]
    pub config_error: Option<String>,
    /// What holds for the watcher itself, not for one environment (offline, GitHub unreadable,
    /// GitHub's quota short), while it holds: most important first.
    #[serde(default)]
    pub conditions: Vec<WatcherCondition>,
}

/// A condition of the running watcher, said once at the top of the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatcherCondition {
    /// `offline`, `github_unavailable` or `github_budget`.
    pub kind: String,
    /// For people: what holds and what it means for the verdicts shown.
    pub message: String,
    /// When it began.
    pub since: String,
}

/// One environment on the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvRow {
    pub project: String,
    pub environment: String,
    /// `owner/name`, for commit links (`https://github.com/{repo}/commit/{sha}`; the web
    /// base comes from [`Dashboard`]'s settings for GitHub Enterprise).
    pub repo: String,
    /// A commit's web page without the SHA (`https://github.com/acme/shop/commit/`): append
    /// the full SHA. GitHub Enterprise's web host when `api_url` points there.
    pub commit_url_base: String,
    /// `None` until the first check.
    pub verdict: Option<String>,
    pub expected_sha: Option<String>,
    pub live_sha: Option<String>,
    pub ci_status: Option<String>,
    pub ci_conclusion: Option<String>,
    pub ci_url: Option<String>,
    pub checked_at: Option<String>,
    pub next_check_at: Option<String>,
    pub hint: Option<String>,
    pub incident_open: bool,
    /// Notifications about it are muted (`mute` in the config: its own or its project's). It
    /// is still checked and shown; the tray's colour and menu leave it out.
    #[serde(default)]
    pub muted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenReport {
    pub project: String,
    pub environment: String,
}

/// The report view: the checklist with evidence, the hint and the commits waiting to go live.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub project: String,
    pub environment: String,
    pub repo: String,
    pub commit_url_base: String,
    pub verdict: String,
    pub expected_sha: Option<String>,
    pub live_sha: Option<String>,
    pub ci_status: Option<String>,
    pub ci_conclusion: Option<String>,
    pub ci_url: Option<String>,
    pub checks: Vec<CheckRow>,
    pub warnings: Vec<String>,
    pub hint: String,
    pub checked_at: String,
    /// Commits between the live and the expected SHA (GitHub's compare API), newest first;
    /// empty when live or unknown.
    pub waiting: Vec<CommitRow>,
    /// Why `waiting` could not be read, if it could not.
    pub waiting_error: Option<String>,
    /// Notifications about this environment are muted (its own `mute`, or its project's).
    #[serde(default)]
    pub muted: bool,
    /// The whole project is muted (`mute = true` on the project).
    #[serde(default)]
    pub project_muted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommitRow {
    pub sha: String,
    pub author: Option<String>,
    pub message: String,
    pub url: String,
}

/// Filters and paging for the history browser. `before` is the opaque cursor of the last
/// event of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub project: Option<String>,
    pub environment: Option<String>,
    pub verdict: Option<String>,
    /// RFC 3339 bounds.
    pub since: Option<String>,
    pub until: Option<String>,
    pub before: Option<String>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub events: Vec<HistoryRow>,
    /// Pass as `before` for the next (older) page; `None` at the end.
    pub next: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub at: String,
    /// `push`, `ci_run`, `live_changed`, `verdict_changed`, `incident_opened`,
    /// `incident_cause_changed`, `incident_resolved`.
    pub kind: String,
    pub project: String,
    pub environment: Option<String>,
    pub sha: Option<String>,
    pub verdict: Option<String>,
    pub detail: String,
}

/// Push → live timings of one deploy, for the lag chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LagRow {
    pub environment: String,
    pub sha: String,
    pub pushed_at: Option<String>,
    pub ci_green_at: Option<String>,
    pub first_live_at: Option<String>,
    pub all_live_at: Option<String>,
}

/// Everything the settings page edits. Durations are strings as in the config (`10m`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub config_path: String,
    pub api_url: String,
    pub signed_in: bool,
    /// `env` (GITHUB_TOKEN) or `keyring`; never the token itself.
    pub token_source: Option<String>,
    pub desktop_notifications: bool,
    pub webhook: Option<String>,
    /// `slack`, `json`, `teams` or `discord`.
    #[serde(default)]
    pub webhook_format: String,
    /// Also announce each deploy once it is verified live.
    #[serde(default)]
    pub verified_live: bool,
    /// The `[defaults]` incident actions, one word per item (empty: none). They run on the
    /// computer that watches; environments' own overrides are kept from the file.
    #[serde(default)]
    pub on_open: Vec<String>,
    #[serde(default)]
    pub on_cause: Vec<String>,
    #[serde(default)]
    pub on_resolve: Vec<String>,
    #[serde(default)]
    pub action_timeout: String,
    pub grace: String,
    pub ci_timeout: String,
    pub fast_interval: String,
    pub idle_interval: String,
    pub timeout: String,
    pub confirm: u32,
    pub start_at_login: bool,
    pub projects: Vec<ProjectForm>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectForm {
    pub name: String,
    pub repo: String,
    pub branch: String,
    pub workflows: Vec<String>,
    pub image: Option<String>,
    pub environments: Vec<EnvironmentForm>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentForm {
    pub name: String,
    pub build_info_url: String,
    pub frontend_url: Option<String>,
    pub health_url: Option<String>,
    pub sha_pointer: Option<String>,
    pub sha_header: Option<String>,
    pub expect_environment: Option<String>,
    pub replicas: u32,
    /// `branch` or `deployments`.
    pub follows: String,
}

/// What the "Test" button found at a build-info URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub ok: bool,
    /// Where the SHA was found (`JSON /git_sha`, `header X-Git-Sha`, …).
    pub source: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    /// What was received or why it failed, for people.
    pub detail: String,
    /// Auto-detection had to guess where the SHA is: the form should offer `pin`.
    #[serde(default)]
    pub guessed: bool,
    /// The exact setting that pins where the SHA was found.
    #[serde(default)]
    pub pin: Option<PinSetting>,
}

/// `sha_pointer = "/data/revision"` or `sha_header = "X-Revision"`, for the form to apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PinSetting {
    /// `sha_pointer` or `sha_header`.
    pub key: String,
    pub value: String,
    /// As written in the config file.
    pub text: String,
}

/// The device-flow code to show while signing in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
}
