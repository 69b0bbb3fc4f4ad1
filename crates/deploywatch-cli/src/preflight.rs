//! `deploywatch preflight`: before a deploy, is the local HEAD ready to go out? Pushed to its
//! upstream, green on CI, and its image in the registry.

use std::path::Path;
use std::process::Command;

use deploywatch_core::{CiState, Sha};
use deploywatch_probe::{ProbeSettings, Prober};
use serde::Serialize;

use crate::Failure;
use crate::setup::{self, Paths};

#[derive(Serialize)]
struct Item {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// Runs git in the checkout; the real `git` is the authority on what is pushed.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

pub async fn run(
    paths: &Paths,
    project_name: &str,
    repo_path: &Path,
    json: bool,
) -> Result<u8, Failure> {
    let config = paths.load_config()?;
    let Some(project) = config.project(project_name).cloned() else {
        return Err(Failure::usage(format!(
            "no project {project_name:?} in the config"
        )));
    };
    let head_text = git(repo_path, &["rev-parse", "HEAD"]).map_err(|e| {
        Failure::usage(format!(
            "{} is not a git checkout with commits: {e}",
            repo_path.display()
        ))
    })?;
    let head = Sha::parse(&head_text)
        .ok_or_else(|| Failure::usage(format!("git rev-parse HEAD printed {head_text:?}")))?;
    let mut items = Vec::new();

    // 1. Unpushed commits: against the configured upstream, else origin/<branch>.
    let upstream = git(
        repo_path,
        &[
            "rev-parse",
            "--abbrev-ref",
            "--symbolic-full-name",
            "@{upstream}",
        ],
    )
    .unwrap_or_else(|_| format!("origin/{}", project.branch));
    match git(
        repo_path,
        &["log", "--format=%h %s", &format!("{upstream}..HEAD")],
    ) {
        Ok(log) if log.is_empty() => items.push(Item {
            name: "pushed",
            ok: true,
            detail: format!("HEAD {} is on {upstream}", head.short()),
        }),
        Ok(log) => {
            let commits: Vec<&str> = log.lines().collect();
            items.push(Item {
                name: "pushed",
                ok: false,
                detail: format!(
                    "{} commit(s) not pushed to {upstream}: {}",
                    commits.len(),
                    commits.join("; ")
                ),
            });
        }
        Err(e) => items.push(Item {
            name: "pushed",
            ok: false,
            detail: format!("cannot compare with {upstream}: {e}"),
        }),
    }

    // 2. CI for HEAD.
    let github = setup::github_for(&config)?;
    let repo = deploywatch_github::RepoRef {
        owner: project.repo.owner.clone(),
        name: project.repo.name.clone(),
    };
    match github.runs_for_sha(&repo, &head, &project.workflows).await {
        Err(e) => items.push(Item {
            name: "ci",
            ok: false,
            detail: format!("cannot read CI runs: {e}"),
        }),
        Ok(polled) => {
            let runs = polled.value;
            let (ok, detail) = match CiState::of(&runs) {
                CiState::None => (false, format!("no CI run for {} yet", head.short())),
                CiState::Failed(r) => (
                    false,
                    format!(
                        "{} {} for {}: {}",
                        r.workflow,
                        r.conclusion.as_deref().unwrap_or("failed"),
                        head.short(),
                        r.url
                    ),
                ),
                CiState::Pending(r) => (
                    false,
                    format!(
                        "{} is {} for {}",
                        r.workflow,
                        r.status.replace('_', " "),
                        head.short()
                    ),
                ),
                CiState::Success { run, .. } => (
                    true,
                    format!("{} passed for {}: {}", run.workflow, head.short(), run.url),
                ),
            };
            items.push(Item {
                name: "ci",
                ok,
                detail,
            });
        }
    }

    // 3. The image for HEAD, with the credentials Docker (or the GitHub token, for ghcr.io)
    // has for its registry.
    if let Some(template) = &project.image {
        let prober = Prober::new(ProbeSettings::default());
        let auth = deploywatch_engine::registry_auth(&github);
        let check = prober
            .image(&deploywatch_probe::expand_image(template, &head), &auth)
            .await;
        let ok = check.outcome == deploywatch_core::ImageOutcome::Present;
        let detail = check.summary();
        items.push(Item {
            name: "image",
            ok,
            detail,
        });
    }

    let ready = items.iter().all(|i| i.ok);
    if json {
        let doc = serde_json::json!({ "project": project.name, "head": head.to_string(), "ready": ready, "checks": items });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let style = crate::human::Style::detect();
        for i in &items {
            println!("{} {:<7} {}", style.mark(i.ok), i.name, i.detail);
        }
        println!(
            "{}",
            if ready {
                format!("ready to deploy {}", head.short())
            } else {
                format!("not ready to deploy {}", head.short())
            }
        );
    }
    Ok(if ready { 0 } else { 1 })
}
