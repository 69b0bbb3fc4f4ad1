//! `deploywatch add OWNER/REPO`: set up a project by naming its repository. GitHub's
//! environments and deployments say where the environments are; the conventional fingerprint
//! locations there say where each exposes its build (see `deploywatch_engine::discover`).
//! Without `--yes` nothing is written: the proposal is shown. With it, the environments found
//! are appended to the config file as one `[[project]]`, leaving the rest of the file as it was.

use deploywatch_config::{Config, Environment, Follows, Project, RepoRef as ConfigRepo};
use deploywatch_core::Pin;
use deploywatch_engine::discover::{self, Discovery, Proposal};
use deploywatch_github::RepoRef;
use deploywatch_probe::Prober;
use serde::Serialize;

use crate::Failure;
use crate::human::Style;
use crate::setup::{Paths, github_for};

/// `add --json`: the discovery, and what was written.
#[derive(Serialize)]
struct AddJson<'a> {
    #[serde(flatten)]
    discovery: &'a Discovery,
    /// The project name used (or that `--yes` would use).
    project: &'a str,
    /// The environments that were (or would be) added.
    accepted: Vec<&'a str>,
    /// Whether the config file was written.
    written: bool,
    config: String,
}

pub async fn run(
    paths: &Paths,
    repo: &str,
    name: Option<String>,
    yes: bool,
    json: bool,
) -> Result<u8, Failure> {
    let Some(gh_repo) = RepoRef::parse(repo) else {
        return Err(Failure::usage(format!(
            "{repo:?} is not a repository: give it as OWNER/NAME, e.g. acme/shop"
        )));
    };
    let path = paths.config_path()?;
    let config = if path.exists() {
        deploywatch_config::load(&path)?
    } else {
        deploywatch_config::parse("", &path)?
    };
    if let Some(p) = config.projects.iter().find(|p| {
        p.repo.owner.eq_ignore_ascii_case(&gh_repo.owner)
            && p.repo.name.eq_ignore_ascii_case(&gh_repo.name)
    }) {
        return Err(Failure::usage(format!(
            "{gh_repo} is already watched as project {:?} in {}",
            p.name,
            path.display()
        )));
    }
    let project_name = name.unwrap_or_else(|| gh_repo.name.clone());
    if config.projects.iter().any(|p| p.name == project_name) {
        return Err(Failure::usage(format!(
            "a project named {project_name:?} exists already in {}: choose another with --name",
            path.display()
        )));
    }

    let github = github_for(&config)?;
    let prober = Prober::new(discover::probe_settings());
    let discovery = discover::discover(&github, &prober, &gh_repo)
        .await
        .map_err(|e| Failure::usage(format!("cannot read {gh_repo} on GitHub: {e}")))?;
    let accepted: Vec<&Proposal> = discovery
        .environments
        .iter()
        .filter(|p| p.acceptable())
        .collect();

    let mut written = false;
    if yes && !accepted.is_empty() {
        let project = project_of(&config, &project_name, &discovery, &accepted)?;
        deploywatch_config::append_project(&path, &project, &config)?;
        written = true;
    }

    if json {
        let doc = AddJson {
            discovery: &discovery,
            project: &project_name,
            accepted: accepted.iter().map(|p| p.name.as_str()).collect(),
            written,
            config: path.display().to_string(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
        );
    } else {
        print!("{}", render(&discovery, Style::detect()));
        let names: Vec<&str> = accepted.iter().map(|p| p.name.as_str()).collect();
        if accepted.is_empty() {
            println!(
                "nothing to add: no environment of {} exposes a commit of it where Deploywatch looked",
                discovery.repo
            );
        } else if written {
            println!(
                "added project {project_name:?} ({}) with {} to {}; `deploywatch verify --project {project_name}` checks it now",
                discovery.repo,
                names.join(", "),
                path.display()
            );
        } else {
            println!(
                "run again with --yes to add project {project_name:?} with {} to {}",
                names.join(", "),
                path.display()
            );
        }
    }
    Ok(if accepted.is_empty() { 1 } else { 0 })
}

/// The project to append: the accepted environments with the file's defaults, following
/// GitHub Deployments where the environment has them.
fn project_of(
    config: &Config,
    name: &str,
    d: &Discovery,
    accepted: &[&Proposal],
) -> Result<Project, Failure> {
    let (owner, repo) = d.repo.split_once('/').unwrap_or((&d.repo, ""));
    let environments = accepted
        .iter()
        .filter_map(|p| {
            let found = p.found.as_ref()?;
            let (sha_pointer, sha_header) = match &found.pin {
                Some(Pin::Pointer(p)) => (Some(p.clone()), None),
                Some(Pin::Header(h)) => (None, Some(h.clone())),
                None => (None, None),
            };
            Some(Environment {
                name: p.name.clone(),
                build_info_url: found.build_info_url.clone(),
                frontend_url: found.frontend_url.clone(),
                health_url: None,
                sha_pointer,
                sha_header,
                expect_environment: None,
                replicas: 1,
                follows: if p.has_deployments {
                    Follows::Deployments
                } else {
                    Follows::Branch
                },
                settings: config.defaults,
                actions: config.default_actions.clone(),
                mute: None,
            })
        })
        .collect();
    if owner.is_empty() || repo.is_empty() {
        return Err(Failure::usage(format!(
            "GitHub named the repository {:?}",
            d.repo
        )));
    }
    Ok(Project {
        name: name.to_string(),
        repo: ConfigRepo {
            owner: owner.to_string(),
            name: repo.to_string(),
        },
        branch: d.default_branch.clone(),
        workflows: Vec::new(),
        image: None,
        mute: false,
        environments,
    })
}

/// The proposal for a terminal: the repository, then a line per environment with what was
/// found (and, where nothing was, each location tried).
fn render(d: &Discovery, style: Style) -> String {
    let mut out = String::new();
    let head = d
        .head
        .as_ref()
        .map(|h| format!(", head {}", h.short()))
        .unwrap_or_default();
    let workflows = if d.workflows.is_empty() {
        String::new()
    } else {
        format!(" · workflows: {}", d.workflows.join(", "))
    };
    out.push_str(&format!(
        "{} (branch {}{head}){workflows}\n",
        style.bold(&d.repo),
        d.default_branch
    ));
    if d.environments.is_empty() {
        out.push_str("  GitHub lists no environment and no deployment for it\n");
    }
    let width = d
        .environments
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0);
    for p in &d.environments {
        let mark = if p.acceptable() { "✓" } else { "✗" };
        let name = format!("{:<width$}", p.name);
        match &p.found {
            Some(f) => {
                let state = match (&p.deployed, f.live) {
                    (_, true) => "live".to_string(),
                    (Some(dep), false) => format!("deployed {} is not live yet", dep.short()),
                    (None, false) if p.has_deployments => "no successful deployment".to_string(),
                    (None, false) => "not the branch head".to_string(),
                };
                out.push_str(&format!(
                    "  {mark} {name}  {}  {} = {} · {state}\n",
                    f.build_info_url,
                    f.source,
                    f.sha.short()
                ));
                if let Some(page) = &f.frontend_url {
                    out.push_str(&format!(
                        "      {}\n",
                        style.dim(&format!(
                            "frontend page {page} names it too: watched for a stale frontend"
                        ))
                    ));
                }
                if let Some(pin) = &f.pin {
                    let pin = match pin {
                        Pin::Pointer(p) => format!("sha_pointer = {p:?}"),
                        Pin::Header(h) => format!("sha_header = {h:?}"),
                    };
                    out.push_str(&format!(
                        "      {}\n",
                        style.dim(&format!("pinned with {pin}"))
                    ));
                }
            }
            None => out.push_str(&format!(
                "  {mark} {name}  {}\n",
                p.url.as_deref().unwrap_or("(no URL)")
            )),
        }
        if let Some(note) = &p.note {
            out.push_str(&format!("      {}\n", style.dim(note)));
        }
        if !p.acceptable() {
            for t in &p.tried {
                out.push_str(&format!(
                    "      {}\n",
                    style.dim(&format!("{} → {}", t.url, t.answer))
                ));
            }
        }
    }
    out.push_str(&format!(
        "{}\n",
        style.dim(&format!(
            "GitHub requests: {} · probes: {}",
            d.github_requests, d.probes
        ))
    ));
    out
}
