//! The validated configuration: what the rest of Deploywatch reads after [`crate::parse`].
//!
//! Every value here has passed validation, so consumers never re-check (URLs are http/https,
//! durations are positive where they must be, names are unique, settings are merged).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use deploywatch_core::Sha;

/// The default GitHub API base URL (github.com).
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The branch watched when a project names none.
pub const DEFAULT_BRANCH: &str = "main";
/// The largest `replicas` accepted: each replica is probed on its own connection every check.
pub const MAX_REPLICAS: u32 = 64;

/// A whole configuration file, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file it came from, as given (relative paths stay relative).
    pub source: PathBuf,
    pub github: GithubConfig,
    pub notifications: Notifications,
    /// The `[limits]` table: how many checks run at once (process-wide, not per environment).
    pub limits: Limits,
    /// The `[defaults]` table as written (merged over the built-in defaults). Kept so that
    /// [`crate::to_toml`] can write overrides only where an environment differs.
    pub defaults: Settings,
    /// The incident actions of `[defaults]`, kept for the same reason.
    pub default_actions: Actions,
    pub projects: Vec<Project>,
}

impl Config {
    /// A configuration of one environment given by its build-info URL alone, for pipelines
    /// (`deploywatch verify --url URL --expect SHA`): named `project` / `environment`, by
    /// default the URL's host (and port) / `default`; the built-in defaults; no desktop
    /// notifications. It names no real repository: the expected SHA comes from the caller,
    /// and GitHub is never asked. The error says why `url` is not an http/https URL.
    pub fn for_url(
        url: &str,
        project: Option<&str>,
        environment: Option<&str>,
    ) -> Result<Config, String> {
        let parsed = crate::parse::check_http_url(url)
            .map_err(|why| format!("invalid URL {url:?}: {why}"))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(format!("invalid URL {url:?}: no host")),
        };
        let name = |given: Option<&str>, default: String| -> Result<String, String> {
            match given.map(str::trim) {
                Some("") => Err("a name may not be empty".into()),
                Some(n) => Ok(n.to_owned()),
                None => Ok(default),
            }
        };
        let defaults = Settings::default();
        Ok(Config {
            source: PathBuf::from("--url"),
            github: GithubConfig::default(),
            notifications: Notifications {
                desktop: false,
                ..Notifications::default()
            },
            limits: Limits::default(),
            defaults,
            default_actions: Actions::default(),
            projects: vec![Project {
                name: name(project, host)?,
                repo: RepoRef {
                    owner: "-".into(),
                    name: "-".into(),
                },
                branch: DEFAULT_BRANCH.to_owned(),
                workflows: Vec::new(),
                image: None,
                mute: false,
                environments: vec![Environment {
                    name: name(environment, "default".into())?,
                    build_info_url: url.to_owned(),
                    frontend_url: None,
                    health_url: None,
                    sha_pointer: None,
                    sha_header: None,
                    expect_environment: None,
                    replicas: 1,
                    follows: Follows::Branch,
                    settings: defaults,
                    actions: Actions::default(),
                    mute: None,
                }],
            }],
        })
    }

    /// The project with this exact name.
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }
}

/// The `[github]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubConfig {
    /// API base URL without a trailing slash: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server (or a fake server in tests).
    pub api_url: String,
    /// `client_id`: the OAuth app client id used by the device flow (`deploywatch auth login`).
    /// An extension of SPEC §5; `None` leaves the choice to the sign-in code's own default.
    pub client_id: Option<String>,
    /// `commit_statuses` (an extension of SPEC §5): write a commit status
    /// `deploywatch/<environment>` on each expected SHA as its state changes — pending while
    /// deploying, success when verified live, failure on an alert — and a deployment status
    /// when a deployment is verified live (default `false`; needs a token that may write).
    pub commit_statuses: bool,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            api_url: DEFAULT_API_URL.to_owned(),
            client_id: None,
            commit_statuses: false,
        }
    }
}

/// The `[notifications]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notifications {
    /// Native desktop notifications (default `true`).
    pub desktop: bool,
    /// An http/https URL that receives each notice (incident open, cause change, resolve; a
    /// disk running out; a deploy verified live, when on) in `webhook_format`.
    pub webhook: Option<String>,
    /// `webhook_format` (an extension of SPEC §5): what the webhook is posted (default
    /// `slack`, SPEC's `{"text": ...}`).
    pub webhook_format: WebhookFormat,
    /// `verified_live` (an extension of SPEC §5): also announce each deploy once it is
    /// verified live, with how long it took (default `false`).
    pub verified_live: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            desktop: true,
            webhook: None,
            webhook_format: WebhookFormat::Slack,
            verified_live: false,
        }
    }
}

/// The body a webhook is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WebhookFormat {
    /// `{"text": "*summary*\nbody"}`: Slack incoming webhooks, Mattermost, Rocket.Chat, and
    /// whatever else speaks Slack's format.
    #[default]
    Slack,
    /// The notice and the whole report of each environment it is about, for scripts and
    /// incident tools.
    Json,
    /// An Adaptive Card message, as Microsoft Teams workflow webhooks take it.
    Teams,
    /// `{"content": ...}` for a Discord channel webhook, with mentions turned off.
    Discord,
}

impl WebhookFormat {
    pub const ALL: [WebhookFormat; 4] = [
        WebhookFormat::Slack,
        WebhookFormat::Json,
        WebhookFormat::Teams,
        WebhookFormat::Discord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Slack => "slack",
            WebhookFormat::Json => "json",
            WebhookFormat::Teams => "teams",
            WebhookFormat::Discord => "discord",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookFormat> {
        WebhookFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The default of `[limits] max_concurrent_checks`.
pub const DEFAULT_MAX_CONCURRENT_CHECKS: u32 = 64;
/// The default of `[limits] max_checks_per_host`.
pub const DEFAULT_MAX_CHECKS_PER_HOST: u32 = 8;
/// The largest value either `[limits]` key accepts.
pub const MAX_LIMIT: u32 = 4096;

/// The `[limits]` table (an extension of SPEC §5): bounds on the checks one process runs at
/// once, for `verify` over many environments and each round of the watcher. Both are at least
/// 1 and at most [`MAX_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Checks in flight at once, over all projects (default 64).
    pub max_concurrent_checks: u32,
    /// Checks in flight at once whose build-info URL has the same host and port (default 8),
    /// so one slow host cannot take every slot.
    pub max_checks_per_host: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_checks: DEFAULT_MAX_CONCURRENT_CHECKS,
            max_checks_per_host: DEFAULT_MAX_CHECKS_PER_HOST,
        }
    }
}

/// One `[[project]]`: a GitHub repository and where it is deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Unique among projects.
    pub name: String,
    pub repo: RepoRef,
    /// The watched branch (default `main`).
    pub branch: String,
    /// CI workflow names; empty means any workflow run for the SHA counts.
    pub workflows: Vec<String>,
    /// Image reference template; contains `{sha}` and/or `{short_sha}` and no other placeholder.
    pub image: Option<String>,
    /// `mute` (an extension of SPEC §5): no notification about this project's environments —
    /// desktop, webhook or verified live — unless an environment says `mute = false`. They are
    /// still checked, their incidents recorded and their actions run (default `false`).
    pub mute: bool,
    pub environments: Vec<Environment>,
}

impl Project {
    /// The environment with this exact name.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// Whether notifications about `env` (one of this project's environments) are muted: its
    /// own `mute` when it has one, else the project's.
    pub fn muted(&self, env: &Environment) -> bool {
        env.mute.unwrap_or(self.mute)
    }

    /// The image reference built for `sha`: the `image` template with `{sha}` replaced by the
    /// SHA as given and `{short_sha}` by its first 7 characters. `None` without `image`.
    pub fn image_for(&self, sha: &Sha) -> Option<String> {
        self.image.as_deref().map(|t| expand_image(t, sha))
    }
}

/// Expands an image template (see [`Project::image_for`]).
pub fn expand_image(template: &str, sha: &Sha) -> String {
    template
        .replace("{short_sha}", sha.short())
        .replace("{sha}", sha.as_str())
}

/// A GitHub repository, `owner/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoRef {
    type Err = String;

    /// Parses `owner/name`. The error says what was expected, in words for a person.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            || format!("invalid repo {s:?}: expected \"owner/name\", e.g. \"acme/shop\"");
        let (owner, name) = s.split_once('/').ok_or_else(expected)?;
        // GitHub logins are letters, digits and hyphens; Enterprise Server may add underscores
        // (LDAP/SAML logins), so they are accepted too.
        let owner_ok = !owner.is_empty()
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name_ok = !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if owner_ok && name_ok {
            Ok(RepoRef {
                owner: owner.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(expected())
        }
    }
}

/// One `[[project.environment]]`: a deployed instance of a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// Unique within its project.
    pub name: String,
    /// The endpoint that reports the live SHA (http/https).
    pub build_info_url: String,
    pub frontend_url: Option<String>,
    pub health_url: Option<String>,
    /// RFC 6901 JSON pointer to the SHA in the build-info body; starts with `/`.
    /// Never set together with `sha_header`.
    pub sha_pointer: Option<String>,
    /// Response header carrying the SHA (a valid HTTP header name).
    pub sha_header: Option<String>,
    /// The environment name build-info must report (`env_mismatch` otherwise).
    pub expect_environment: Option<String>,
    /// How many replicas to probe, 1..=64 (default 1).
    pub replicas: u32,
    pub follows: Follows,
    /// `[defaults]` merged with this environment's own overrides.
    pub settings: Settings,
    /// The commands run on this environment's incident events (`[defaults]` merged with its
    /// own keys).
    pub actions: Actions,
    /// Its own `mute`, as written (`None`: the project's; see [`Project::muted`]).
    pub mute: Option<bool>,
}

/// Which SHA an environment should run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Follows {
    /// The head of the project's branch (`follows = "branch"`, the default).
    #[default]
    Branch,
    /// The newest GitHub Deployment for this environment whose latest status is `success`
    /// (`follows = "deployments"`).
    Deployments,
}

impl Follows {
    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Follows::Branch => "branch",
            Follows::Deployments => "deployments",
        }
    }
}

impl fmt::Display for Follows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Schedule and policy keys: set in `[defaults]`, each overridable per environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Settings {
    /// How long after CI success (or a successful deployment) an old live SHA is still
    /// `deploying` rather than `phantom`. May be zero.
    pub grace: Duration,
    /// How long after a push with no CI run before `ci_missing`. Positive.
    pub ci_timeout: Duration,
    /// Check interval after any change. Positive, at most `idle_interval`.
    pub fast_interval: Duration,
    /// The longest interval the backoff reaches. Positive.
    pub idle_interval: Duration,
    /// Per-request HTTP timeout. Positive.
    pub timeout: Duration,
    /// Consecutive alert checks before an incident opens (at least 1).
    pub confirm: u32,
    /// `each_address`: resolve the build-info host (A and AAAA) and probe every address once,
    /// directly, with the original Host header and TLS server name (default `false`). Covers
    /// DNS round-robin and several load balancers behind one name; `replicas` is then not used.
    pub each_address: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace: Duration::from_secs(10 * 60),
            ci_timeout: Duration::from_secs(10 * 60),
            fast_interval: Duration::from_secs(10),
            idle_interval: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(10),
            confirm: 2,
            each_address: false,
        }
    }
}

/// The default of `action_timeout`.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// The longest `action_timeout` accepted: an action is a repair, not a service.
pub const MAX_ACTION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Commands run on this computer when an incident opens, changes cause or resolves (an
/// extension of SPEC §5): `on_open`, `on_cause`, `on_resolve`, `action_timeout` and
/// `recheck_after_action`, set in `[defaults]` and overridable per environment (an empty
/// array there turns an inherited command off).
///
/// A command is an array of words run without a shell — the first word is the program (a
/// bare name is looked up in `PATH`; a relative path is relative to the config file's
/// directory). What the incident is about reaches it only as environment variables, never in
/// its words: those values come from the network.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actions {
    pub on_open: Vec<String>,
    pub on_cause: Vec<String>,
    pub on_resolve: Vec<String>,
    /// How long a command may run before it is killed (with its process group). Positive, at
    /// most [`MAX_ACTION_TIMEOUT`].
    pub timeout: Duration,
    /// Check the environment again as soon as an `on_open` or `on_cause` command exits 0, so a
    /// fix that worked resolves the incident at once (default `true`).
    pub recheck: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            on_open: Vec::new(),
            on_cause: Vec::new(),
            on_resolve: Vec::new(),
            timeout: DEFAULT_ACTION_TIMEOUT,
            recheck: true,
        }
    }
}

impl Actions {
    /// Whether any command is set.
    pub fn any(&self) -> bool {
        !(self.on_open.is_empty() && self.on_cause.is_empty() && self.on_resolve.is_empty())
    }

    /// Removes every command (keeping the time limit and re-check setting).
    pub fn clear(&mut self) {
        self.on_open.clear();
        self.on_cause.clear();
        self.on_resolve.clear();
    }
}

impl Config {
    /// Turns every incident action off (`watch --no-actions`): the defaults' and each
    /// environment's. Returns how many environments had one.
    pub fn without_actions(&mut self) -> usize {
        self.default_actions.clear();
        let mut had = 0;
        for env in self
            .projects
            .iter_mut()
            .flat_map(|p| p.environments.iter_mut())
        {
            had += usize::from(env.actions.any());
            env.actions.clear();
        }
        had
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_alone_makes_one_environment_named_after_its_host() {
        let c = Config::for_url("https://shop.example.com:8443/api/build-info", None, None)
            .expect("valid");
        assert_eq!(c.projects.len(), 1);
        let p = &c.projects[0];
        assert_eq!(p.name, "shop.example.com:8443");
        assert_eq!(p.environments[0].name, "default");
        assert_eq!(
            p.environments[0].build_info_url,
            "https://shop.example.com:8443/api/build-info"
        );
        assert!(!c.notifications.desktop);
        let named = Config::for_url("http://10.0.0.5/version", Some("shop"), Some("production"))
            .expect("valid");
        assert_eq!(named.projects[0].name, "shop");
        assert_eq!(named.projects[0].environments[0].name, "production");
    }

    #[test]
    fn a_url_that_is_not_http_is_refused_with_the_reason() {
        for (url, why) in [
            ("ftp://example.com/x", "the scheme must be http or https"),
            ("example.com/version", "relative URL"),
            (" https://example.com/", "without surrounding spaces"),
        ] {
            let e = Config::for_url(url, None, None).expect_err(url);
            assert!(e.contains(why), "{url}: {e}");
        }
        assert!(Config::for_url("https://example.com/", Some(" "), None).is_err());
    }
}
