//! Writing configuration back: rendering a [`Config`] as TOML and replacing the file atomically.
//!
//! The desktop app edits the same file the CLI reads (SPEC §5), so a write must never leave a
//! half-written or invalid file behind: the text is validated first, written to a temporary
//! file in the same directory, flushed to disk and renamed over the old one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ConfigError, ErrorKind};
use crate::model::{Actions, Config, DEFAULT_BRANCH, Environment, Follows, Project, Settings};
use crate::parse::show;

/// Renders `config` as TOML that [`crate::parse`] reads back to an equal [`Config`] (except
/// `source`). Every `[defaults]` key is written (`each_address` only when `true`); an
/// environment writes only the keys whose value differs from the default (`replicas = 1`,
/// `follows = "branch"` and settings equal to `[defaults]` are left out). Comments of the
/// original file are not preserved.
pub fn to_toml(config: &Config) -> String {
    // The documents are plain structs of strings, booleans, integers, tables and arrays of
    // tables, which the toml serializer always accepts: a failure here is a bug, not bad input.
    render(config).expect("a Config always serializes to TOML")
}

fn render(config: &Config) -> Result<String, toml::ser::Error> {
    let file = FileDto {
        github: GithubDto {
            api_url: &config.github.api_url,
            client_id: config.github.client_id.as_deref(),
            commit_statuses: config.github.commit_statuses.then_some(true),
        },
        defaults: DefaultsDto {
            settings: SettingsDto::all(&config.defaults),
            actions: ActionsDto::overrides(&config.default_actions, &Actions::default()),
        },
        notifications: NotificationsDto {
            desktop: config.notifications.desktop,
            webhook: config.notifications.webhook.as_deref(),
            webhook_format: (config.notifications.webhook_format
                != crate::WebhookFormat::default())
            .then(|| config.notifications.webhook_format.as_str()),
            verified_live: config.notifications.verified_live.then_some(true),
        },
        limits: (config.limits != crate::Limits::default()).then_some(LimitsDto {
            max_concurrent_checks: config.limits.max_concurrent_checks,
            max_checks_per_host: config.limits.max_checks_per_host,
        }),
        project: config
            .projects
            .iter()
            .map(|p| ProjectDto::new(p, config))
            .collect(),
    };
    toml::to_string(&file)
}

/// Replaces the file at `path` with `text`, atomically, if `text` is a valid configuration.
///
/// Errors: the [`ConfigError`] from parsing `text` (the file is then left untouched, byte for
/// byte), or an [`ErrorKind::Io`] error when the directory or temporary file cannot be written.
/// A missing parent directory is created. When `path` is a symbolic link, the file it points
/// to is replaced and the link kept. The permissions of the old file are kept.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ConfigError> {
    crate::parse(text, path)?;
    let io_error = |what: &str, e: io::Error| ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        kind: ErrorKind::Io,
        message: format!("{what}: {e}"),
    };
    let target = resolve_link(path).map_err(|e| io_error("cannot follow symbolic link", e))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| io_error("cannot create directory", e))?;
    // Same directory so that the rename never crosses a filesystem (which would not be atomic).
    let mut tmp = tempfile::Builder::new()
        .prefix(".deploywatch-config.")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| io_error("cannot create temporary file", e))?;
    if let Ok(meta) = fs::metadata(&target) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| io_error("cannot copy permissions", e))?;
    }
    tmp.write_all(text.as_bytes())
        .map_err(|e| io_error("cannot write temporary file", e))?;
    // Flush the data before the rename makes it visible: otherwise a crash could leave the new
    // name pointing at an empty file.
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_error("cannot flush temporary file", e))?;
    tmp.persist(&target)
        .map_err(|e| io_error("cannot replace the file", e.error))?;
    sync_dir(&dir).map_err(|e| io_error("cannot flush directory", e))?;
    Ok(())
}

/// Renders `config` and writes it to `config.source` with [`write_atomic`], which refuses it
/// (keeping the old file) if it does not parse back, e.g. after an edit that left two
/// environments with the same name.
pub fn save(config: &Config) -> Result<(), ConfigError> {
    let text = render(config).map_err(|e| ConfigError {
        path: config.source.clone(),
        line: None,
        column: None,
        key: None,
        kind: ErrorKind::Invalid,
        message: format!("cannot render the configuration as TOML: {e}"),
    })?;
    write_atomic(&config.source, &text)
}

/// Adds `project` to the configuration file at `path` by appending its `[[project]]` table to
/// the file's text, so everything already there — comments, order, formatting — stays as the
/// person wrote it (`deploywatch add`). `config` is the file's current configuration (its
/// `[defaults]` decide which of the project's settings are written). The result is validated
/// and written with [`write_atomic`]: a project whose name is taken, say, is refused with the
/// file left as it was. A missing file is created holding only the project.
pub fn append_project(path: &Path, project: &Project, config: &Config) -> Result<(), ConfigError> {
    #[derive(Serialize)]
    struct Only<'a> {
        project: Vec<ProjectDto<'a>>,
    }
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                key: None,
                kind: ErrorKind::Io,
                message: format!("cannot read the file: {e}"),
            });
        }
    };
    let table = toml::to_string(&Only {
        project: vec![ProjectDto::new(project, config)],
    })
    .map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        kind: ErrorKind::Invalid,
        message: format!("cannot render the project as TOML: {e}"),
    })?;
    let mut text = old;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&table);
    write_atomic(path, &text)
}

/// The file a path designates: the link target for a symbolic link (so dotfile managers that
/// link the config keep working), the path itself otherwise (including when it does not exist).
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let link = fs::read_link(path)?;
            Ok(match path.parent() {
                Some(parent) if link.is_relative() => parent.join(link),
                _ => link,
            })
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Makes the rename itself durable. Only Unix can open and fsync a directory.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[derive(Serialize)]
struct FileDto<'a> {
    github: GithubDto<'a>,
    defaults: DefaultsDto<'a>,
    notifications: NotificationsDto<'a>,
    /// Written only when it differs from the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsDto>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    project: Vec<ProjectDto<'a>>,
}

#[derive(Serialize)]
struct DefaultsDto<'a> {
    #[serde(flatten)]
    settings: SettingsDto,
    #[serde(flatten)]
    actions: ActionsDto<'a>,
}

/// The incident actions that differ from `base` (an empty command where `base` has one turns
/// it off, so it is written as `[]`).
#[derive(Serialize)]
struct ActionsDto<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    on_open: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_cause: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_resolve: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recheck_after_action: Option<bool>,
}

impl<'a> ActionsDto<'a> {
    fn overrides(a: &'a Actions, base: &Actions) -> Self {
        let differ = |a: &'a Vec<String>, b: &Vec<String>| (a != b).then_some(a.as_slice());
        ActionsDto {
            on_open: differ(&a.on_open, &base.on_open),
            on_cause: differ(&a.on_cause, &base.on_cause),
            on_resolve: differ(&a.on_resolve, &base.on_resolve),
            action_timeout: (a.timeout != base.timeout).then(|| show(a.timeout)),
            recheck_after_action: (a.recheck != base.recheck).then_some(a.recheck),
        }
    }
}

#[derive(Serialize)]
struct GithubDto<'a> {
    api_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_statuses: Option<bool>,
}

#[derive(Serialize)]
struct LimitsDto {
    max_concurrent_checks: u32,
    max_checks_per_host: u32,
}

#[derive(Serialize)]
struct NotificationsDto<'a> {
    desktop: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_live: Option<bool>,
}

#[derive(Serialize, Default)]
struct SettingsDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    grace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fast_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    each_address: Option<bool>,
}

impl SettingsDto {
    fn all(s: &Settings) -> Self {
        SettingsDto {
            grace: Some(show(s.grace)),
            ci_timeout: Some(show(s.ci_timeout)),
            fast_interval: Some(show(s.fast_interval)),
            idle_interval: Some(show(s.idle_interval)),
            timeout: Some(show(s.timeout)),
            confirm: Some(s.confirm),
            // Written only when on, so files of users who never heard of it stay as they were.
            each_address: s.each_address.then_some(true),
        }
    }

    /// Only the settings that differ from `base`.
    fn overrides(s: &Settings, base: &Settings) -> Self {
        let differ = |a: std::time::Duration, b| (a != b).then(|| show(a));
        SettingsDto {
            grace: differ(s.grace, base.grace),
            ci_timeout: differ(s.ci_timeout, base.ci_timeout),
            fast_interval: differ(s.fast_interval, base.fast_interval),
            idle_interval: differ(s.idle_interval, base.idle_interval),
            timeout: differ(s.timeout, base.timeout),
            confirm: (s.confirm != base.confirm).then_some(s.confirm),
            each_address: (s.each_address != base.each_address).then_some(s.each_address),
        }
    }
}

#[derive(Serialize)]
struct ProjectDto<'a> {
    name: &'a str,
    repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    workflows: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mute: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    environment: Vec<EnvironmentDto<'a>>,
}

impl<'a> ProjectDto<'a> {
    fn new(p: &'a Project, config: &Config) -> Self {
        ProjectDto {
            name: &p.name,
            repo: p.repo.to_string(),
            branch: (p.branch != DEFAULT_BRANCH).then_some(p.branch.as_str()),
            workflows: &p.workflows,
            image: p.image.as_deref(),
            mute: p.mute.then_some(true),
            environment: p
                .environments
                .iter()
                .map(|e| EnvironmentDto::new(e, config))
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct EnvironmentDto<'a> {
    name: &'a str,
    build_info_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    frontend_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha_pointer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha_header: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect_environment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    follows: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mute: Option<bool>,
    #[serde(flatten)]
    settings: SettingsDto,
    #[serde(flatten)]
    actions: ActionsDto<'a>,
}

impl<'a> EnvironmentDto<'a> {
    fn new(e: &'a Environment, config: &Config) -> Self {
        EnvironmentDto {
            name: &e.name,
            build_info_url: &e.build_info_url,
            frontend_url: e.frontend_url.as_deref(),
            health_url: e.health_url.as_deref(),
            sha_pointer: e.sha_pointer.as_deref(),
            sha_header: e.sha_header.as_deref(),
            expect_environment: e.expect_environment.as_deref(),
            replicas: (e.replicas != 1).then_some(e.replicas),
            follows: (e.follows != Follows::Branch).then_some(e.follows.as_str()),
            mute: e.mute,
            settings: SettingsDto::overrides(&e.settings, &config.defaults),
            actions: ActionsDto::overrides(&e.actions, &config.default_actions),
        }
    }
}
