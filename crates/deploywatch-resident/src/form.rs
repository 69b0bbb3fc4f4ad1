//! The settings page's form (`deploywatch_ipc::Settings`) to and from the configuration: the
//! form edits the same TOML file as the CLI reads, through `deploywatch-config`'s validation.

use std::path::Path;
use std::time::Duration;

use deploywatch_config::{Config, Environment, Follows, Project, RepoRef};
use deploywatch_ipc::{EnvironmentForm, ProjectForm, Settings};

use crate::error::AppError;

fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The form for a configuration (without the sign-in and start-at-login fields, which do not
/// live in the file).
pub fn to_form(config: &Config, config_path: &Path) -> Settings {
    let d = &config.defaults;
    Settings {
        config_path: config_path.display().to_string(),
        api_url: config.github.api_url.clone(),
        signed_in: false,
        token_source: None,
        desktop_notifications: config.notifications.desktop,
        webhook: config.notifications.webhook.clone(),
        webhook_format: config.notifications.webhook_format.as_str().to_string(),
        verified_live: config.notifications.verified_live,
        on_open: config.default_actions.on_open.clone(),
        on_cause: config.default_actions.on_cause.clone(),
        on_resolve: config.default_actions.on_resolve.clone(),
        action_timeout: show(config.default_actions.timeout),
        grace: show(d.grace),
        ci_timeout: show(d.ci_timeout),
        fast_interval: show(d.fast_interval),
        idle_interval: show(d.idle_interval),
        timeout: show(d.timeout),
        confirm: d.confirm,
        start_at_login: false,
        projects: config
            .projects
            .iter()
            .map(|p| ProjectForm {
                name: p.name.clone(),
                repo: format!("{}/{}", p.repo.owner, p.repo.name),
                branch: p.branch.clone(),
                workflows: p.workflows.clone(),
                image: p.image.clone(),
                environments: p
                    .environments
                    .iter()
                    .map(|e| EnvironmentForm {
                        name: e.name.clone(),
                        build_info_url: e.build_info_url.clone(),
                        frontend_url: e.frontend_url.clone(),
                        health_url: e.health_url.clone(),
                        sha_pointer: e.sha_pointer.clone(),
                        sha_header: e.sha_header.clone(),
                        expect_environment: e.expect_environment.clone(),
                        replicas: e.replicas,
                        follows: e.follows.as_str().to_string(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The configuration text for a submitted form. `previous` (the file as it is now) supplies
/// what the form does not carry: the OAuth client id and per-environment overrides of the
/// schedule, which are kept unless they equalled the old defaults (then they follow the new
/// ones). The text is validated by the caller when it is written (`write_atomic`).
///
/// # Errors
/// [`AppError::ConfigInvalid`] for a field the form itself cannot express as configuration
/// (a duration that does not parse, a repository that is not `owner/name`).
pub fn to_toml(form: &Settings, previous: Option<&Config>) -> Result<String, AppError> {
    let duration = |key: &str, text: &str| {
        humantime::parse_duration(text.trim()).map_err(|e| {
            AppError::ConfigInvalid(format!(
                "{key}: {text:?} is not a duration ({e}; e.g. 500ms, 10s, 5m, 1h)"
            ))
        })
    };
    let defaults = deploywatch_config::Settings {
        grace: duration("grace", &form.grace)?,
        ci_timeout: duration("ci_timeout", &form.ci_timeout)?,
        fast_interval: duration("fast_interval", &form.fast_interval)?,
        idle_interval: duration("idle_interval", &form.idle_interval)?,
        timeout: duration("timeout", &form.timeout)?,
        confirm: form.confirm,
        // Not on the form: kept as the file had it.
        each_address: previous.is_some_and(|c| c.defaults.each_address),
    };
    let old_defaults = previous.map(|c| c.defaults).unwrap_or_default();
    let old_actions = previous
        .map(|c| c.default_actions.clone())
        .unwrap_or_default();
    let words = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect()
    };
    let default_actions = deploywatch_config::Actions {
        on_open: words(&form.on_open),
        on_cause: words(&form.on_cause),
        on_resolve: words(&form.on_resolve),
        timeout: match form.action_timeout.trim() {
            "" => old_actions.timeout,
            t => duration("action_timeout", t)?,
        },
        // Not on the form: kept as the file had it.
        recheck: old_actions.recheck,
    };
    let webhook_format = match form.webhook_format.trim() {
        "" => deploywatch_config::WebhookFormat::default(),
        f => deploywatch_config::WebhookFormat::parse(f).ok_or_else(|| {
            AppError::ConfigInvalid(format!(
                "webhook format {f:?} is not one of slack, json, teams, discord"
            ))
        })?,
    };
    let mut projects = Vec::new();
    for p in &form.projects {
        let (owner, name) = p
            .repo
            .trim()
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                AppError::ConfigInvalid(format!(
                    "project {:?}: repository {:?} is not owner/name",
                    p.name, p.repo
                ))
            })?;
        let old_project = previous.and_then(|c| c.project(&p.name));
        let mut environments = Vec::new();
        for e in &p.environments {
            let follows = match e.follows.trim() {
                "" | "branch" => Follows::Branch,
                "deployments" => Follows::Deployments,
                other => {
                    return Err(AppError::ConfigInvalid(format!(
                        "environment {:?}: follows must be \"branch\" or \"deployments\", not {other:?}",
                        e.name
                    )));
                }
            };
            let old = old_project.and_then(|op| op.environment(&e.name));
            let settings = match old {
                Some(old) => keep_overrides(&old.settings, &old_defaults, &defaults),
                None => defaults,
            };
            // Not on the form per environment: an environment that had the old defaults follows
            // the new ones; its own commands are kept (a new environment takes `[defaults]`).
            let actions = match old {
                Some(o) => keep_own_actions(&o.actions, &old_actions, &default_actions),
                None => default_actions.clone(),
            };
            environments.push(Environment {
                name: e.name.trim().to_string(),
                build_info_url: e.build_info_url.trim().to_string(),
                frontend_url: blank_to_none(&e.frontend_url),
                health_url: blank_to_none(&e.health_url),
                sha_pointer: blank_to_none(&e.sha_pointer),
                sha_header: blank_to_none(&e.sha_header),
                expect_environment: blank_to_none(&e.expect_environment),
                replicas: e.replicas.max(1),
                follows,
                settings,
                actions,
                // Not on the form: muted from the dashboard or the report, kept as the file
                // had it.
                mute: old.and_then(|o| o.mute),
            });
        }
        projects.push(Project {
            name: p.name.trim().to_string(),
            repo: RepoRef {
                owner: owner.to_string(),
                name: name.to_string(),
            },
            branch: Some(p.branch.trim())
                .filter(|b| !b.is_empty())
                .unwrap_or(deploywatch_config::DEFAULT_BRANCH)
                .to_string(),
            workflows: p
                .workflows
                .iter()
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect(),
            image: blank_to_none(&p.image),
            mute: old_project.is_some_and(|op| op.mute),
            environments,
        });
    }
    let config = Config {
        source: previous.map(|c| c.source.clone()).unwrap_or_default(),
        github: deploywatch_config::GithubConfig {
            api_url: Some(form.api_url.trim())
                .filter(|u| !u.is_empty())
                .unwrap_or(deploywatch_config::DEFAULT_API_URL)
                .to_string(),
            client_id: previous.and_then(|c| c.github.client_id.clone()),
            commit_statuses: previous.is_some_and(|c| c.github.commit_statuses),
        },
        notifications: deploywatch_config::Notifications {
            desktop: form.desktop_notifications,
            webhook: blank_to_none(&form.webhook),
            webhook_format,
            verified_live: form.verified_live,
        },
        // Not on the form: kept as the file had it.
        limits: previous.map(|c| c.limits).unwrap_or_default(),
        defaults,
        default_actions,
        projects,
    };
    Ok(deploywatch_config::to_toml(&config))
}

/// An environment's actions after the defaults change, key by key as [`keep_overrides`].
fn keep_own_actions(
    env: &deploywatch_config::Actions,
    old: &deploywatch_config::Actions,
    new: &deploywatch_config::Actions,
) -> deploywatch_config::Actions {
    fn pick<T: PartialEq + Clone>(env: &T, old: &T, new: &T) -> T {
        if env == old { new.clone() } else { env.clone() }
    }
    deploywatch_config::Actions {
        on_open: pick(&env.on_open, &old.on_open, &new.on_open),
        on_cause: pick(&env.on_cause, &old.on_cause, &new.on_cause),
        on_resolve: pick(&env.on_resolve, &old.on_resolve, &new.on_resolve),
        timeout: pick(&env.timeout, &old.timeout, &new.timeout),
        recheck: pick(&env.recheck, &old.recheck, &new.recheck),
    }
}

/// An environment's settings after the defaults change: a value that equalled the old
/// default follows the new one; a real override is kept.
fn keep_overrides(
    env: &deploywatch_config::Settings,
    old: &deploywatch_config::Settings,
    new: &deploywatch_config::Settings,
) -> deploywatch_config::Settings {
    fn pick<T: PartialEq + Copy>(env: T, old: T, new: T) -> T {
        if env == old { new } else { env }
    }
    deploywatch_config::Settings {
        grace: pick(env.grace, old.grace, new.grace),
        ci_timeout: pick(env.ci_timeout, old.ci_timeout, new.ci_timeout),
        fast_interval: pick(env.fast_interval, old.fast_interval, new.fast_interval),
        idle_interval: pick(env.idle_interval, old.idle_interval, new.idle_interval),
        timeout: pick(env.timeout, old.timeout, new.timeout),
        confirm: pick(env.confirm, old.confirm, new.confirm),
        each_address: pick(env.each_address, old.each_address, new.each_address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[defaults]
on_open = ["./fix.sh"]

[notifications]
webhook = "https://example.com/h"
webhook_format = "teams"

[[project]]
name = "shop"
repo = "acme/shop"

[[project.environment]]
name = "production"
build_info_url = "https://shop.example.com/v"
on_open = ["./prod-fix.sh", "--hard"]

[[project.environment]]
name = "staging"
build_info_url = "https://staging.example.com/v"
"#;

    #[test]
    fn the_form_edits_the_default_actions_and_webhook_and_keeps_an_environments_own_command() {
        let path = Path::new("/tmp/config.toml");
        let config = deploywatch_config::parse(FILE, path).unwrap();
        let mut form = to_form(&config, path);
        assert_eq!(form.on_open, ["./fix.sh"]);
        assert_eq!(form.webhook_format, "teams");
        assert_eq!(form.action_timeout, "2m");
        form.on_open = vec!["./recreate.sh".into(), " ".into(), "web".into()];
        form.on_resolve = vec!["notify-send".into(), "fixed".into()];
        form.action_timeout = "30s".into();
        form.webhook_format = "discord".into();
        form.verified_live = true;
        let text = to_toml(&form, Some(&config)).unwrap();
        let saved = deploywatch_config::parse(&text, path).unwrap();
        assert_eq!(saved.default_actions.on_open, ["./recreate.sh", "web"]);
        assert_eq!(saved.default_actions.on_resolve, ["notify-send", "fixed"]);
        assert_eq!(saved.default_actions.timeout, Duration::from_secs(30));
        assert_eq!(
            saved.notifications.webhook_format,
            deploywatch_config::WebhookFormat::Discord
        );
        assert!(saved.notifications.verified_live);
        let envs = &saved.projects[0].environments;
        // production's own command stays; staging followed the defaults.
        assert_eq!(envs[0].actions.on_open, ["./prod-fix.sh", "--hard"]);
        assert_eq!(envs[0].actions.on_resolve, ["notify-send", "fixed"]);
        assert_eq!(envs[0].actions.timeout, Duration::from_secs(30));
        assert_eq!(envs[1].actions, saved.default_actions);
        form.webhook_format = "msteams".into();
        assert!(to_toml(&form, Some(&config)).is_err());
    }

    #[test]
    fn saving_the_form_keeps_what_was_muted() {
        let path = Path::new("/tmp/config.toml");
        let text = FILE
            .replace(
                "repo = \"acme/shop\"\n",
                "repo = \"acme/shop\"\nmute = true\n",
            )
            .replace(
                "build_info_url = \"https://staging.example.com/v\"\n",
                "build_info_url = \"https://staging.example.com/v\"\nmute = false\n",
            );
        let config = deploywatch_config::parse(&text, path).unwrap();
        let mut form = to_form(&config, path);
        form.grace = "1m".into();
        let saved =
            deploywatch_config::parse(&to_toml(&form, Some(&config)).unwrap(), path).unwrap();
        let shop = &saved.projects[0];
        assert!(shop.mute);
        assert!(shop.muted(&shop.environments[0]));
        assert!(!shop.muted(&shop.environments[1]));
    }
}
