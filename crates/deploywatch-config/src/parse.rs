//! Turning TOML text into a validated [`Config`], with every error pointing at a line and key.
//!
//! The document is parsed into `toml`'s spanned tree ([`DeTable`]) and walked by hand rather
//! than through serde: every key and value keeps its byte span, so each error (unknown key,
//! wrong type, bad value, cross-key rule) can name the exact line, and messages can carry
//! suggestions that serde's generic errors cannot.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::error::{ConfigError, ErrorKind};
use crate::model::{
    Actions, Config, Environment, Follows, GithubConfig, Limits, MAX_ACTION_TIMEOUT, MAX_LIMIT,
    MAX_REPLICAS, Notifications, Project, RepoRef, Settings,
};

/// Longest duration accepted anywhere. Far beyond any sensible setting, and small enough that
/// adding it to a clock reading can never overflow and panic downstream.
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const TOP_KEYS: &[&str] = &["github", "defaults", "notifications", "limits", "project"];
const LIMITS_KEYS: &[&str] = &["max_concurrent_checks", "max_checks_per_host"];
const GITHUB_KEYS: &[&str] = &["api_url", "client_id", "commit_statuses"];
const SETTINGS_KEYS: &[&str] = &[
    "grace",
    "ci_timeout",
    "fast_interval",
    "idle_interval",
    "timeout",
    "confirm",
    "each_address",
    "on_open",
    "on_cause",
    "on_resolve",
    "action_timeout",
    "recheck_after_action",
];
const NOTIFICATION_KEYS: &[&str] = &["desktop", "webhook", "webhook_format", "verified_live"];
const PROJECT_KEYS: &[&str] = &[
    "name",
    "repo",
    "branch",
    "workflows",
    "image",
    "mute",
    "environment",
];
const ENVIRONMENT_KEYS: &[&str] = &[
    "name",
    "build_info_url",
    "frontend_url",
    "health_url",
    "sha_pointer",
    "sha_header",
    "expect_environment",
    "replicas",
    "follows",
    "mute",
    "grace",
    "ci_timeout",
    "fast_interval",
    "idle_interval",
    "timeout",
    "confirm",
    "each_address",
    "on_open",
    "on_cause",
    "on_resolve",
    "action_timeout",
    "recheck_after_action",
];

/// The kinds of table a key can live in; used to say where a misplaced key belongs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Github,
    Defaults,
    Notifications,
    Limits,
    Project,
    Environment,
}

impl Scope {
    const ALL: [Scope; 7] = [
        Scope::Top,
        Scope::Github,
        Scope::Defaults,
        Scope::Notifications,
        Scope::Limits,
        Scope::Project,
        Scope::Environment,
    ];

    fn keys(self) -> &'static [&'static str] {
        match self {
            Scope::Top => TOP_KEYS,
            Scope::Github => GITHUB_KEYS,
            Scope::Defaults => SETTINGS_KEYS,
            Scope::Notifications => NOTIFICATION_KEYS,
            Scope::Limits => LIMITS_KEYS,
            Scope::Project => PROJECT_KEYS,
            Scope::Environment => ENVIRONMENT_KEYS,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Scope::Top => "the top level",
            Scope::Github => "[github]",
            Scope::Defaults => "[defaults]",
            Scope::Notifications => "[notifications]",
            Scope::Limits => "[limits]",
            Scope::Project => "[[project]]",
            Scope::Environment => "[[project.environment]]",
        }
    }
}

/// Parses and validates a configuration. `source` is only used to name the file in errors and
/// is stored in [`Config::source`].
pub(crate) fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
    let doc = Doc { text, source };
    let root = DeTable::parse(text).map_err(|e| doc.syntax_error(&e))?;
    let root = Table::new(&doc, root.get_ref(), 0, String::new(), None);
    root.check_keys(Scope::Top)?;

    let github = match root.get("github") {
        Some(f) => parse_github(&f.table()?)?,
        None => GithubConfig::default(),
    };
    let (defaults, default_actions) = match root.get("defaults") {
        Some(f) => {
            let t = f.table()?;
            t.check_keys(Scope::Defaults)?;
            (
                parse_settings(&t, &Settings::default())?,
                parse_actions(&t, &Actions::default())?,
            )
        }
        None => (Settings::default(), Actions::default()),
    };
    let notifications = match root.get("notifications") {
        Some(f) => parse_notifications(&f.table()?)?,
        None => Notifications::default(),
    };
    let limits = match root.get("limits") {
        Some(f) => parse_limits(&f.table()?)?,
        None => Limits::default(),
    };
    let mut projects = Vec::new();
    if let Some(f) = root.get("project") {
        // Where each project name was first defined (byte offset; its line is computed only
        // for the error, as counting lines for every name is quadratic in a large fleet), to
        // point at both in the duplicate error.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, item) in f.tables("[[project]]")?.into_iter().enumerate() {
            let name_at = item.get("name").map_or(item.at, |n| n.at);
            let project = parse_project(item, &defaults, &default_actions)?;
            if let Some(first) = seen.get(&project.name) {
                let first = doc.locate(*first).0;
                return Err(doc.error(
                    name_at,
                    Some(format!("project[{i}].name")),
                    None,
                    format!(
                        "duplicate project name {:?} (first defined on line {first})",
                        project.name
                    ),
                ));
            }
            seen.insert(project.name.clone(), name_at);
            projects.push(project);
        }
    }
    Ok(Config {
        source: source.to_path_buf(),
        github,
        notifications,
        limits,
        defaults,
        default_actions,
        projects,
    })
}

fn parse_github(t: &Table) -> Result<GithubConfig, ConfigError> {
    t.check_keys(Scope::Github)?;
    let mut github = GithubConfig::default();
    if let Some(f) = t.get("api_url") {
        github.api_url = f.url()?.trim_end_matches('/').to_owned();
    }
    if let Some(f) = t.get("client_id") {
        github.client_id = Some(f.word()?.to_owned());
    }
    if let Some(f) = t.get("commit_statuses") {
        github.commit_statuses = f.bool()?;
    }
    Ok(github)
}

fn parse_notifications(t: &Table) -> Result<Notifications, ConfigError> {
    t.check_keys(Scope::Notifications)?;
    let mut n = Notifications::default();
    if let Some(f) = t.get("desktop") {
        n.desktop = f.bool()?;
    }
    if let Some(f) = t.get("webhook") {
        n.webhook = Some(f.url()?.to_owned());
    }
    if let Some(f) = t.get("webhook_format") {
        let s = f.str()?;
        n.webhook_format = crate::model::WebhookFormat::parse(s).ok_or_else(|| {
            f.error(format!(
                "invalid webhook_format {s:?}: expected \"slack\", \"json\", \"teams\" or \
                 \"discord\""
            ))
        })?;
    }
    if let Some(f) = t.get("verified_live") {
        n.verified_live = f.bool()?;
    }
    Ok(n)
}

fn parse_limits(t: &Table) -> Result<Limits, ConfigError> {
    t.check_keys(Scope::Limits)?;
    let mut l = Limits::default();
    if let Some(f) = t.get("max_concurrent_checks") {
        l.max_concurrent_checks = f.integer_in(1, Some(MAX_LIMIT), "max_concurrent_checks")?;
    }
    if let Some(f) = t.get("max_checks_per_host") {
        l.max_checks_per_host = f.integer_in(1, Some(MAX_LIMIT), "max_checks_per_host")?;
    }
    Ok(l)
}

/// Reads the settings keys present in `t` over `base` (the built-in defaults for `[defaults]`,
/// `[defaults]` for an environment). The cross-key rule is checked on the merged values and
/// reported at a key written in `t`.
fn parse_settings(t: &Table, base: &Settings) -> Result<Settings, ConfigError> {
    let mut s = *base;
    if let Some(f) = t.get("grace") {
        s.grace = f.duration(true)?;
    }
    if let Some(f) = t.get("ci_timeout") {
        s.ci_timeout = f.duration(false)?;
    }
    let fast = t.get("fast_interval");
    if let Some(f) = &fast {
        s.fast_interval = f.duration(false)?;
    }
    let idle = t.get("idle_interval");
    if let Some(f) = &idle {
        s.idle_interval = f.duration(false)?;
    }
    if let Some(f) = t.get("timeout") {
        s.timeout = f.duration(false)?;
    }
    if let Some(f) = t.get("confirm") {
        s.confirm = f.integer_in(1, None, "confirm")?;
    }
    if let Some(f) = t.get("each_address") {
        s.each_address = f.bool()?;
    }
    if s.fast_interval > s.idle_interval {
        let (fast_s, idle_s) = (show(s.fast_interval), show(s.idle_interval));
        // Blame the key written here; an environment that sets neither inherited a valid pair.
        let blamed = match (fast, idle) {
            (Some(f), _) => f.error(format!(
                "fast_interval ({fast_s}) must not be longer than idle_interval ({idle_s})"
            )),
            (None, Some(i)) => i.error(format!(
                "idle_interval ({idle_s}) must not be shorter than fast_interval ({fast_s})"
            )),
            // Neither is written here, so the pair was inherited from a table that passed.
            (None, None) => return Ok(s),
        };
        return Err(blamed);
    }
    Ok(s)
}

/// Reads the incident-action keys present in `t` over `base`, as [`parse_settings`] does.
fn parse_actions(t: &Table, base: &Actions) -> Result<Actions, ConfigError> {
    let mut a = base.clone();
    for (key, slot) in [
        ("on_open", &mut a.on_open),
        ("on_cause", &mut a.on_cause),
        ("on_resolve", &mut a.on_resolve),
    ] {
        if let Some(f) = t.get(key) {
            *slot = f.command()?;
        }
    }
    if let Some(f) = t.get("action_timeout") {
        let d = f.duration(false)?;
        if d > MAX_ACTION_TIMEOUT {
            return Err(f.error(format!(
                "action_timeout {} is longer than {}: an action is a repair, not a service",
                show(d),
                show(MAX_ACTION_TIMEOUT)
            )));
        }
        a.timeout = d;
    }
    if let Some(f) = t.get("recheck_after_action") {
        a.recheck = f.bool()?;
    }
    Ok(a)
}

fn parse_project(
    t: Table,
    defaults: &Settings,
    default_actions: &Actions,
) -> Result<Project, ConfigError> {
    // The name first, so that every later error can say which project it is about.
    let context = peek_name(&t).map(|p| format!("project {p:?}"));
    let t = t.with_context(context);
    t.check_keys(Scope::Project)?;
    let name = required(&t, "name", "[[project]]")?.name()?.to_owned();
    let repo_field = required(&t, "repo", "[[project]]")?;
    let repo: RepoRef = repo_field.str()?.parse().map_err(|e| repo_field.error(e))?;
    let branch = match t.get("branch") {
        Some(f) => f.word()?.to_owned(),
        None => crate::model::DEFAULT_BRANCH.to_owned(),
    };
    let mut workflows = Vec::new();
    if let Some(f) = t.get("workflows") {
        for w in f.array()? {
            workflows.push(w.name()?.to_owned());
        }
    }
    let image = match t.get("image") {
        Some(f) => Some(image_template(&f)?.to_owned()),
        None => None,
    };
    let mute = match t.get("mute") {
        Some(f) => f.bool()?,
        None => false,
    };
    let mut environments: Vec<Environment> = Vec::new();
    if let Some(f) = t.get("environment") {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, item) in f.tables("[[project.environment]]")?.into_iter().enumerate() {
            let name_at = item.get("name").map_or(item.at, |n| n.at);
            let env = parse_environment(item, &name, defaults, default_actions)?;
            if let Some(first) = seen.get(&env.name) {
                let first = t.doc.locate(*first).0;
                return Err(t.doc.error(
                    name_at,
                    Some(format!("{}[{i}].name", f.path)),
                    None,
                    format!(
                        "duplicate environment name {:?} in project {name:?} (first defined on \
                         line {first})",
                        env.name
                    ),
                ));
            }
            seen.insert(env.name.clone(), name_at);
            environments.push(env);
        }
    }
    Ok(Project {
        name,
        repo,
        branch,
        workflows,
        image,
        mute,
        environments,
    })
}

fn parse_environment(
    t: Table,
    project: &str,
    defaults: &Settings,
    default_actions: &Actions,
) -> Result<Environment, ConfigError> {
    let context = match peek_name(&t) {
        Some(env) => format!("project {project:?}, environment {env:?}"),
        None => format!("project {project:?}"),
    };
    let t = t.with_context(Some(context));
    t.check_keys(Scope::Environment)?;
    let name = required(&t, "name", "[[project.environment]]")?
        .name()?
        .to_owned();
    let build_info_url = required(&t, "build_info_url", "[[project.environment]]")?
        .url()?
        .to_owned();
    let optional_url = |key: &str| -> Result<Option<String>, ConfigError> {
        t.get(key).map(|f| f.url().map(str::to_owned)).transpose()
    };
    let frontend_url = optional_url("frontend_url")?;
    let health_url = optional_url("health_url")?;
    let sha_pointer = match t.get("sha_pointer") {
        Some(f) => Some(json_pointer(&f)?.to_owned()),
        None => None,
    };
    let sha_header = match t.get("sha_header") {
        Some(f) => Some(header_name(&f)?.to_owned()),
        None => None,
    };
    if let (Some(p), Some(h)) = (t.get("sha_pointer"), t.get("sha_header")) {
        // Blame whichever of the two comes second in the file: most likely the one just added.
        let later = if p.at > h.at { p } else { h };
        return Err(later.error(
            "sha_pointer and sha_header are both set: choose one (the SHA is read either from \
             the JSON body or from a header)",
        ));
    }
    let expect_environment = match t.get("expect_environment") {
        Some(f) => Some(f.name()?.to_owned()),
        None => None,
    };
    let replicas = match t.get("replicas") {
        Some(f) => f.integer_in(1, Some(MAX_REPLICAS), "replicas")?,
        None => 1,
    };
    let follows = match t.get("follows") {
        Some(f) => match f.str()? {
            "branch" => Follows::Branch,
            "deployments" => Follows::Deployments,
            other => {
                return Err(f.error(format!(
                    "invalid follows {other:?}: expected \"branch\" or \"deployments\""
                )));
            }
        },
        None => Follows::Branch,
    };
    let settings = parse_settings(&t, defaults)?;
    let actions = parse_actions(&t, default_actions)?;
    let mute = t.get("mute").map(|f| f.bool()).transpose()?;
    Ok(Environment {
        name,
        build_info_url,
        frontend_url,
        health_url,
        sha_pointer,
        sha_header,
        expect_environment,
        replicas,
        follows,
        settings,
        actions,
        mute,
    })
}

/// The table's `name` when it is valid, to name the table in errors about its other keys
/// (the name's own errors are reported when it is read).
fn peek_name(t: &Table) -> Option<String> {
    t.get("name").and_then(|f| f.name().ok().map(str::to_owned))
}

/// A key the table must have; the error points at the table's header.
fn required<'a, 'i>(
    t: &Table<'a, 'i>,
    key: &str,
    header: &str,
) -> Result<Field<'a, 'i>, ConfigError> {
    t.get(key).ok_or_else(|| {
        t.doc.error(
            t.at,
            Some(t.child(key)),
            t.context.clone(),
            format!("missing required key `{key}` in this {header}"),
        )
    })
}

/// Validates an image template: only `{sha}` and `{short_sha}`, at least one of them.
fn image_template<'a>(f: &Field<'a, '_>) -> Result<&'a str, ConfigError> {
    let s = f.word()?;
    let mut rest = s;
    let mut placeholders = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(f.error(format!(
                "unmatched `}}` in image {s:?}: only {{sha}} and {{short_sha}} placeholders are allowed"
            )));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            f.error(format!(
                "unclosed `{{` in image {s:?}: only {{sha}} and {{short_sha}} placeholders are allowed"
            ))
        })?;
        let name = &after[..close];
        if name != "sha" && name != "short_sha" {
            return Err(f.error(format!(
                "unknown placeholder {{{name}}} in image {s:?}: only {{sha}} and {{short_sha}} are allowed"
            )));
        }
        placeholders += 1;
        rest = &after[close + 1..];
    }
    if placeholders == 0 {
        return Err(f.error(format!(
            "image {s:?} has no {{sha}} or {{short_sha}} placeholder: Deploywatch looks up the \
             image built for each commit, e.g. \"ghcr.io/acme/shop:{{sha}}\""
        )));
    }
    Ok(s)
}

/// Validates an RFC 6901 JSON pointer to a value inside the body.
fn json_pointer<'a>(f: &Field<'a, '_>) -> Result<&'a str, ConfigError> {
    let s = f.str()?;
    if !s.starts_with('/') {
        return Err(f.error(format!(
            "invalid sha_pointer {s:?}: a JSON pointer (RFC 6901) starts with \"/\", e.g. \"/meta/rev\""
        )));
    }
    // `~` is the escape character: only `~0` (for `~`) and `~1` (for `/`) exist.
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(f.error(format!(
                "invalid sha_pointer {s:?}: `~` must be followed by 0 or 1 (RFC 6901 escapes)"
            )));
        }
    }
    Ok(s)
}

/// Validates an HTTP header name (RFC 9110 token).
fn header_name<'a>(f: &Field<'a, '_>) -> Result<&'a str, ConfigError> {
    let s = f.str()?;
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if s.is_empty() || !s.bytes().all(tchar) {
        return Err(f.error(format!(
            "invalid sha_header {s:?}: expected an HTTP header name, e.g. \"X-Build\""
        )));
    }
    Ok(s)
}

/// Formats a duration the way the config file spells it.
pub(crate) fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// The text being parsed and the name of its file.
struct Doc<'t> {
    text: &'t str,
    source: &'t Path,
}

impl Doc<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    fn error(
        &self,
        offset: usize,
        key: Option<String>,
        context: Option<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = self.locate(offset);
        let mut message = message.into();
        if let Some(context) = context {
            message = format!("{message} ({context})");
        }
        ConfigError {
            path: self.source.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key,
            kind: ErrorKind::Invalid,
            message,
        }
    }

    fn syntax_error(&self, e: &toml::de::Error) -> ConfigError {
        // The parser's message may span several lines (what was expected); keep it on one.
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        // The parser does not name the duplicated key; the span covers it, so quote it.
        let snippet = e
            .span()
            .and_then(|span| self.text.get(span))
            .filter(|t| !t.is_empty() && t.len() <= 80 && !t.contains('\n'));
        let message = match snippet {
            Some(key) if message == "duplicate key" => format!("duplicate key `{key}`"),
            _ => message,
        };
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = self.locate(span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            path: self.source.to_path_buf(),
            line,
            column,
            key: None,
            kind: ErrorKind::Syntax,
            message: format!("invalid TOML: {message}"),
        }
    }
}

type Entry<'a, 'i> = (&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>);

/// One TOML table being read, with its entries in file order.
#[derive(Clone)]
struct Table<'a, 'i> {
    doc: &'a Doc<'a>,
    entries: Vec<Entry<'a, 'i>>,
    /// Byte offset of the table's header (or inline table), for "missing key" errors.
    at: usize,
    /// Dotted path of the table itself, empty at the root.
    path: String,
    context: Option<String>,
}

impl<'a, 'i> Table<'a, 'i> {
    fn new(
        doc: &'a Doc<'a>,
        table: &'a DeTable<'i>,
        at: usize,
        path: String,
        context: Option<String>,
    ) -> Self {
        let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        Table {
            doc,
            entries,
            at,
            path,
            context,
        }
    }

    fn with_context(self, context: Option<String>) -> Self {
        Table { context, ..self }
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<Field<'a, 'i>> {
        self.entries
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, v)| Field {
                doc: self.doc,
                path: self.child(key),
                at: k.span().start,
                value: v,
                context: self.context.clone(),
            })
    }

    /// Rejects keys this scope does not know, suggesting the likely intended one.
    fn check_keys(&self, scope: Scope) -> Result<(), ConfigError> {
        for (k, _) in &self.entries {
            let key = k.get_ref().as_ref();
            if scope.keys().contains(&key) {
                continue;
            }
            let message = unknown_key_message(key, scope);
            return Err(self.doc.error(
                k.span().start,
                Some(self.child(key)),
                self.context.clone(),
                message,
            ));
        }
        Ok(())
    }
}

fn unknown_key_message(key: &str, scope: Scope) -> String {
    if scope == Scope::Github && key.to_ascii_lowercase().contains("token") {
        return format!(
            "unknown key `{key}`: the GitHub token is never read from the config file; sign in \
             with `deploywatch auth login` (or the app's settings) or set GITHUB_TOKEN"
        );
    }
    if let Some(s) = suggest(key, scope.keys()) {
        return format!("unknown key `{key}`; did you mean `{s}`?");
    }
    if scope == Scope::Top && matches!(key, "environment" | "environments") {
        return format!(
            "unknown key `{key}`: environments belong to a project; write \
             [[project.environment]] after its [[project]]"
        );
    }
    let homes: Vec<&str> = Scope::ALL
        .iter()
        .filter(|s| **s != scope && s.keys().contains(&key))
        .map(|s| s.header())
        .collect();
    if !homes.is_empty() {
        let mut m = format!(
            "unknown key `{key}` in {}; it belongs in {}",
            scope.header(),
            homes.join(" or ")
        );
        if scope == Scope::Environment && homes.contains(&Scope::Project.header()) {
            m.push_str(
                "; keys after a [[project.environment]] header belong to that environment, so \
                 move it above the project's first [[project.environment]]",
            );
        }
        return m;
    }
    format!(
        "unknown key `{key}`; expected one of: {}",
        scope.keys().join(", ")
    )
}

/// The known key `unknown` was most likely meant to be, if any is close enough.
fn suggest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
    let u = norm(unknown);
    if let Some(k) = known.iter().find(|k| norm(k) == u) {
        return Some(k);
    }
    let limit = (unknown.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| {
            (
                k,
                strsim::damerau_levenshtein(unknown, k),
                strsim::jaro_winkler(unknown, k),
            )
        })
        .filter(|(_, d, jw)| *d <= limit || *jw >= 0.9)
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)))
        .map(|(k, _, _)| *k)
}

/// One key's value, with what is needed to report errors about it.
#[derive(Clone)]
struct Field<'a, 'i> {
    doc: &'a Doc<'a>,
    path: String,
    /// Byte offset of the key (or, for array elements, of the element).
    at: usize,
    value: &'a Spanned<DeValue<'i>>,
    context: Option<String>,
}

impl<'a, 'i> Field<'a, 'i> {
    fn error(&self, message: impl Into<String>) -> ConfigError {
        self.doc.error(
            self.at,
            Some(self.path.clone()),
            self.context.clone(),
            message,
        )
    }

    fn type_error(&self, expected: &str) -> ConfigError {
        self.error(format!(
            "expected {expected}, found {}",
            type_name(self.value.get_ref())
        ))
    }

    fn str(&self) -> Result<&'a str, ConfigError> {
        match self.value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.type_error("a string")),
        }
    }

    /// A string with no whitespace at all (branch, client id, image).
    fn word(&self) -> Result<&'a str, ConfigError> {
        let s = self.str()?;
        if s.is_empty() {
            return Err(self.error("must not be empty"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(self.error(format!("{s:?} must not contain whitespace")));
        }
        Ok(s)
    }

    /// A human-chosen name: non-empty, no surrounding whitespace, no control characters.
    fn name(&self) -> Result<&'a str, ConfigError> {
        let s = self.str()?;
        if s.trim().is_empty() {
            return Err(self.error("must not be empty"));
        }
        if s.trim() != s {
            return Err(self.error(format!("{s:?} has leading or trailing whitespace")));
        }
        if s.chars().any(char::is_control) {
            return Err(self.error(format!("{s:?} contains control characters")));
        }
        Ok(s)
    }

    fn bool(&self) -> Result<bool, ConfigError> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.type_error("true or false")),
        }
    }

    /// An integer from `min` to `max` (to `u32::MAX` when `max` is `None`).
    fn integer_in(&self, min: u32, max: Option<u32>, what: &str) -> Result<u32, ConfigError> {
        let DeValue::Integer(i) = self.value.get_ref() else {
            return Err(self.type_error("an integer"));
        };
        // Beyond i64 (the only parse failure of a TOML integer) is simply too large.
        let n = i64::from_str_radix(i.as_str(), i.radix()).unwrap_or(i64::MAX);
        match (u32::try_from(n), max) {
            (Ok(v), _) if v >= min && max.is_none_or(|m| v <= m) => Ok(v),
            (_, Some(max)) => {
                Err(self.error(format!("{what} must be between {min} and {max}, got {i}")))
            }
            (_, None) if n < i64::from(min) => {
                Err(self.error(format!("{what} must be at least {min}, got {i}")))
            }
            (_, None) => Err(self.error(format!("{what} is too large: {i}"))),
        }
    }

    /// A duration string such as `10s`; zero only when `zero_ok`.
    fn duration(&self, zero_ok: bool) -> Result<Duration, ConfigError> {
        const EXPECTED: &str = "expected e.g. 500ms, 10s, 5m, 1h";
        let s = match self.value.get_ref() {
            DeValue::String(s) => s.as_ref(),
            DeValue::Integer(i) => {
                return Err(self.error(format!(
                    "invalid duration {}: durations are strings with a unit, {EXPECTED} \
                     (write \"{}s\" for seconds)",
                    i.as_str(),
                    i.as_str()
                )));
            }
            _ => return Err(self.type_error("a duration string such as \"10s\"")),
        };
        let d = humantime::parse_duration(s)
            .map_err(|_| self.error(format!("invalid duration {s:?}: {EXPECTED}")))?;
        if d.is_zero() && !zero_ok {
            return Err(self.error(format!("duration {s:?} must be greater than zero")));
        }
        if d > MAX_DURATION {
            return Err(self.error(format!("duration {s:?} is longer than 365 days")));
        }
        Ok(d)
    }

    /// An absolute http or https URL, returned as written.
    fn url(&self) -> Result<&'a str, ConfigError> {
        let s = self.str()?;
        check_http_url(s).map_err(|why| self.error(format!("invalid URL {s:?}: {why}")))?;
        Ok(s)
    }

    fn array(&self) -> Result<Vec<Field<'a, 'i>>, ConfigError> {
        let DeValue::Array(items) = self.value.get_ref() else {
            return Err(self.type_error("an array"));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| Field {
                doc: self.doc,
                path: format!("{}[{i}]", self.path),
                at: v.span().start,
                value: v,
                context: self.context.clone(),
            })
            .collect())
    }

    /// A command: an array of words, the first the program, run without a shell. An empty
    /// array is no command (it turns an inherited one off).
    fn command(&self) -> Result<Vec<String>, ConfigError> {
        const HOW: &str = "write the command as an array of words, e.g. [\"systemctl\", \"--user\", \
                           \"restart\", \"shop\"]; it runs without a shell (for shell syntax write \
                           [\"sh\", \"-c\", \"...\"])";
        let DeValue::Array(_) = self.value.get_ref() else {
            return Err(self.error(format!(
                "expected an array of words, found {}: {HOW}",
                type_name(self.value.get_ref())
            )));
        };
        let mut words = Vec::new();
        for (i, w) in self.array()?.into_iter().enumerate() {
            let word = w.str()?;
            if word.contains('\0') {
                return Err(w.error("a command word may not contain a NUL character"));
            }
            if i == 0 {
                if word.trim().is_empty() {
                    return Err(w.error("the program (the first word) must not be empty"));
                }
                if word.trim() != word {
                    return Err(w.error(format!(
                        "the program {word:?} has leading or trailing whitespace"
                    )));
                }
                // "docker compose up" as one word: a program of that name does not exist.
                if word.contains(char::is_whitespace) && !word.contains(['/', '\\']) {
                    return Err(w.error(format!("the program {word:?} contains a space: {HOW}")));
                }
            }
            words.push(word.to_owned());
        }
        Ok(words)
    }

    fn table(&self) -> Result<Table<'a, 'i>, ConfigError> {
        match self.value.get_ref() {
            DeValue::Table(t) => Ok(Table::new(
                self.doc,
                t,
                self.at,
                self.path.clone(),
                self.context.clone(),
            )),
            _ => Err(self.type_error("a table")),
        }
    }

    /// An array of tables (`[[project]]`), each with its own path `key[i]`.
    fn tables(&self, header: &str) -> Result<Vec<Table<'a, 'i>>, ConfigError> {
        let DeValue::Array(items) = self.value.get_ref() else {
            return Err(self.error(format!(
                "expected an array of tables (write {header}), found {}",
                type_name(self.value.get_ref())
            )));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            let DeValue::Table(t) = v.get_ref() else {
                return Err(self.error(format!(
                    "expected an array of tables (write {header}), found an array containing {}",
                    type_name(v.get_ref())
                )));
            };
            out.push(Table::new(
                self.doc,
                t,
                v.span().start,
                format!("{}[{i}]", self.path),
                self.context.clone(),
            ));
        }
        Ok(out)
    }
}

fn type_name(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Checks that `s` is an absolute http or https URL with a host, as every URL in a config
/// must be; the error says why not, in words for a person.
pub(crate) fn check_http_url(s: &str) -> Result<url::Url, String> {
    if s.trim() != s || s.is_empty() {
        return Err("expected an http:// or https:// URL without surrounding spaces".into());
    }
    let url = url::Url::parse(s).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(url)
}
