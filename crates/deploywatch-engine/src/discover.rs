//! Setting up by naming a repository (`deploywatch add OWNER/REPO`, Settings' "Add a
//! repository"): what GitHub knows of its environments — GitHub Environments and the
//! deployments with their statuses' `environment_url` — and, for each environment with a URL,
//! where it exposes its build: the conventional fingerprint locations on that URL's origin are
//! probed and the one whose answer carries a commit of *this* repository is proposed, with its
//! detected format, its SHA and whether that is what GitHub says was deployed.
//!
//! Careful by construction: only GETs, with the probe settings' timeout, body cap and
//! User-Agent, and only to the origins of URLs GitHub listed for this repository; nothing is
//! written anywhere (the caller writes the configuration once the person accepts).

use std::collections::BTreeMap;
use std::time::Duration;

use deploywatch_core::{Confidence, Pin, Sha};
use deploywatch_github::{DeploymentInfo, GitHub, GitHubError, RepoRef};
use deploywatch_probe::{Locator, ProbeSettings, Prober};
use futures_util::StreamExt;
use serde::Serialize;
use url::Url;

/// Where builds conventionally say which commit they run, after the environment URL itself
/// (an HTML page with a meta tag, or an API root): the conventions SPEC §2 names and their
/// common relatives. Tried on the origin of the environment URL.
pub const FINGERPRINT_PATHS: &[&str] = &[
    "/api/build-info",
    "/build-info",
    "/build-info.json",
    "/version",
    "/version.json",
    "/__version__",
    "/api/version",
    "/actuator/info",
    "/_version",
    "/info",
    "/",
];

/// How many deployments of each environment are read (each costs one request for its
/// statuses): enough to find a URL when the newest deployment's status has none.
pub const DEPLOYMENTS_PER_ENVIRONMENT: usize = 3;

/// Probes in flight at once over the whole discovery.
const PROBES_AT_ONCE: usize = 8;

/// Probe limits for discovery: quicker than a check's (a person waits for the answer).
pub fn probe_settings() -> ProbeSettings {
    ProbeSettings {
        timeout: Duration::from_secs(5),
        body_cap: 256 * 1024,
        redirect_limit: 5,
    }
}

/// What a discovery found for one repository.
#[derive(Clone, Debug, Serialize)]
pub struct Discovery {
    /// `owner/name` as GitHub spells it.
    pub repo: String,
    pub default_branch: String,
    /// The head of the default branch, when it could be read.
    pub head: Option<Sha>,
    pub private: bool,
    pub archived: bool,
    /// The names of the repository's active workflows (for `workflows`).
    pub workflows: Vec<String>,
    /// Every environment GitHub knows, GitHub Environments first in GitHub's order, then those
    /// that only deployments name.
    pub environments: Vec<Proposal>,
    /// Requests this discovery made to GitHub.
    pub github_requests: u64,
    /// Requests it made to the environments.
    pub probes: usize,
}

/// One environment and what was found for it.
#[derive(Clone, Debug, Serialize)]
pub struct Proposal {
    pub name: String,
    /// The URL GitHub lists for it (the newest deployment status's `environment_url`).
    pub url: Option<String>,
    /// The SHA of its newest deployment whose latest status is `success`.
    pub deployed: Option<Sha>,
    /// Whether it has deployments at all (then it should follow them).
    pub has_deployments: bool,
    /// Where its build was found, when it was.
    pub found: Option<Found>,
    /// Why nothing is proposed (no URL; no answer carried a commit of the repository), when
    /// `found` is `None` — or a caveat when it is set.
    pub note: Option<String>,
    /// Each location probed and what it answered, in the order tried.
    pub tried: Vec<Tried>,
}

/// Where an environment's build was found.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub build_info_url: String,
    pub sha: Sha,
    /// Where in the answer: `JSON /git_sha`, `header X-Git-Sha`, `HTML <meta name="build-sha">`.
    pub source: String,
    /// The setting that pins it, when detection had to guess.
    pub pin: Option<Pin>,
    /// Whether the SHA is a commit Deploywatch saw in this repository (a deployment or the
    /// branch head): only then is the location proposed as this repository's.
    pub known: bool,
    /// Whether it is what the environment should run (its newest successful deployment, or
    /// the branch head when it has no deployments).
    pub live: bool,
    /// An HTML page of the site that names a commit of the repository too, when the build was
    /// found elsewhere: what `frontend_url` watches (a page served stale by a cache).
    pub frontend_url: Option<String>,
}

/// One probe of discovery.
#[derive(Clone, Debug, Serialize)]
pub struct Tried {
    pub url: String,
    /// "JSON /git_sha = 1a2b3c4", "HTTP 404", "no answer: …", "no usable SHA (…)".
    pub answer: String,
}

impl Proposal {
    /// Whether it can be accepted as it is: a location carrying a commit of the repository.
    pub fn acceptable(&self) -> bool {
        self.found.as_ref().is_some_and(|f| f.known)
    }
}

/// Discovers `repo`'s environments (see the module docs). GitHub requests: the repository, its
/// default branch, its environments, its deployments and up to
/// [`DEPLOYMENTS_PER_ENVIRONMENT`] status lists per environment, its workflows.
///
/// # Errors
/// When the repository cannot be read (missing, private without a token, GitHub down). Parts
/// that fail after that (no environments endpoint on an old GitHub Enterprise, say) leave
/// their part empty and are said in the proposals' notes.
pub async fn discover(
    github: &GitHub,
    prober: &Prober,
    repo: &RepoRef,
) -> Result<Discovery, GitHubError> {
    let requests_before = github.request_count();
    let info = github.repository(repo).await?;
    let head = match github.branch_head(repo, &info.default_branch).await {
        Ok(polled) => Some(polled.value.sha),
        Err(e) => {
            tracing::info!("{repo}: no head of {}: {e}", info.default_branch);
            None
        }
    };
    let named = github.environments(repo).await.unwrap_or_else(|e| {
        tracing::info!("{repo}: environments unreadable: {e}");
        Vec::new()
    });
    let deployments = github
        .recent_deployments(repo, DEPLOYMENTS_PER_ENVIRONMENT)
        .await
        .unwrap_or_else(|e| {
            tracing::info!("{repo}: deployments unreadable: {e}");
            Vec::new()
        });
    let workflows = github
        .workflows(repo)
        .await
        .map(|w| {
            w.into_iter()
                .filter(|w| w.state == "active")
                .map(|w| w.name)
                .collect()
        })
        .unwrap_or_default();

    // Every commit of this repository that was seen: what an answer must name.
    let mut known: Vec<Sha> = deployments.iter().filter_map(|d| d.sha.clone()).collect();
    known.extend(head.clone());
    let locator = Locator {
        known_commits: known.clone(),
        ..Locator::default()
    };

    let mut by_env: BTreeMap<String, Vec<&DeploymentInfo>> = BTreeMap::new();
    for d in &deployments {
        by_env.entry(d.environment.clone()).or_default().push(d);
    }
    let mut names: Vec<String> = named.into_iter().map(|e| e.name).collect();
    for d in &deployments {
        if !names.contains(&d.environment) {
            names.push(d.environment.clone());
        }
    }

    let mut proposals: Vec<Proposal> = names
        .into_iter()
        .map(|name| {
            let mut deps = by_env.get(&name).cloned().unwrap_or_default();
            deps.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
            let url = deps.iter().find_map(|d| {
                let s = d.latest_status.as_ref()?;
                s.environment_url.clone().filter(|u| web_url(u).is_some())
            });
            let deployed = deps
                .iter()
                .find(|d| {
                    d.latest_status
                        .as_ref()
                        .is_some_and(|s| s.state == "success")
                })
                .and_then(|d| d.sha.clone());
            Proposal {
                name,
                note: url.is_none().then(|| {
                    if deps.is_empty() {
                        "GitHub lists no deployment for it, so no URL: enter its build-info URL"
                            .to_string()
                    } else {
                        "none of its recent deployments gave an environment URL: enter its \
                         build-info URL"
                            .to_string()
                    }
                }),
                url,
                deployed,
                has_deployments: !deps.is_empty(),
                found: None,
                tried: Vec::new(),
            }
        })
        .collect();

    // Every location of every environment, probed concurrently (bounded), read in order.
    let jobs: Vec<(usize, usize, String)> = proposals
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, candidates(p.url.as_deref()?))))
        .flat_map(|(i, urls)| urls.into_iter().enumerate().map(move |(j, u)| (i, j, u)))
        .collect();
    let probes = jobs.len();
    let mut answers: Vec<(usize, usize, String, deploywatch_core::BuildInfoProbe)> =
        futures_util::stream::iter(jobs)
            .map(|(i, j, url)| {
                let (prober, locator) = (prober, &locator);
                async move {
                    let probe = prober.build_info(&url, locator).await;
                    (i, j, url, probe)
                }
            })
            .buffer_unordered(PROBES_AT_ONCE)
            .collect()
            .await;
    answers.sort_by_key(|(i, j, _, _)| (*i, *j));

    let mut pages: Vec<Option<String>> = vec![None; proposals.len()];
    for (i, _, url, probe) in answers {
        let p = &mut proposals[i];
        p.tried.push(Tried {
            url: url.clone(),
            answer: answer_of(&probe),
        });
        let html = match &probe.http.outcome {
            deploywatch_core::HttpOutcome::Answered(r) => r
                .content_type
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().contains("html")),
            _ => false,
        };
        let Ok(fp) = probe.fingerprint else { continue };
        let is_known =
            fp.confidence == Confidence::KnownCommit || known.iter().any(|k| k.matches(&fp.sha));
        if html && is_known && pages[i].is_none() {
            pages[i] = Some(url.clone());
        }
        // The first location (in order) naming a known commit wins; before one is found, the
        // first SHA at all is kept as a caveat.
        let better = match &p.found {
            None => true,
            Some(f) => !f.known && is_known,
        };
        if better {
            let expected = p.deployed.as_ref().or(if p.has_deployments {
                None
            } else {
                head.as_ref()
            });
            p.found = Some(Found {
                build_info_url: url,
                live: expected.is_some_and(|e| e.matches(&fp.sha)),
                sha: fp.sha,
                source: fp.source,
                pin: fp.pin.filter(|_| fp.confidence == Confidence::Guess),
                known: is_known,
                frontend_url: None,
            });
        }
    }
    for (p, page) in proposals.iter_mut().zip(pages) {
        if let Some(f) = p.found.as_mut()
            && f.known
            && page.as_ref().is_some_and(|page| *page != f.build_info_url)
        {
            f.frontend_url = page;
        }
    }
    for p in &mut proposals {
        match &p.found {
            Some(f) if !f.known => {
                p.note = Some(format!(
                    "{} serves {} ({}), which is not a commit of {repo} that GitHub listed: \
                     is this another service's? Check before accepting",
                    f.build_info_url,
                    f.sha.short(),
                    f.source
                ));
            }
            None if p.url.is_some() => {
                p.note = Some(format!(
                    "none of the {} locations tried names a commit: expose the build's SHA \
                     (e.g. /api/build-info with git_sha) and try again, or enter the URL",
                    p.tried.len()
                ));
            }
            _ => {}
        }
    }

    Ok(Discovery {
        repo: info.full_name,
        default_branch: info.default_branch,
        head,
        private: info.private,
        archived: info.archived,
        workflows,
        environments: proposals,
        github_requests: github.request_count().saturating_sub(requests_before),
        probes,
    })
}

/// An http(s) URL with a host, or `None`: GitHub's `environment_url` is free text.
fn web_url(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then_some(url)
}

/// The locations to try for an environment URL, in order of preference: the URL itself when
/// it points somewhere in particular (not just its site's root), then [`FINGERPRINT_PATHS`] on
/// its origin — the site's page last: a page may be cached on its way, an API answers for the
/// running build — each once.
pub fn candidates(environment_url: &str) -> Vec<String> {
    let Some(mut url) = web_url(environment_url) else {
        return Vec::new();
    };
    url.set_fragment(None);
    let mut out = Vec::new();
    if url.path() != "/" || url.query().is_some() {
        out.push(url.to_string());
    }
    for path in FINGERPRINT_PATHS {
        let mut u = url.clone();
        u.set_path(path);
        u.set_query(None);
        let text = u.to_string();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// One line on what a location answered.
fn answer_of(probe: &deploywatch_core::BuildInfoProbe) -> String {
    use deploywatch_core::HttpOutcome;
    match (&probe.http.outcome, &probe.fingerprint) {
        (HttpOutcome::Answered(_), Ok(fp)) => format!("{} = {}", fp.source, fp.sha.short()),
        (HttpOutcome::Answered(r), Err(_)) if !(200..300).contains(&r.status) => {
            format!("HTTP {}", r.status)
        }
        (HttpOutcome::Answered(_), Err(why)) => {
            format!("no usable SHA ({})", cut(why, 160))
        }
        (HttpOutcome::Failed(f), _) => format!(
            "no answer: {}",
            cut(&deploywatch_core::describe_failure(f), 160)
        ),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_url_then_the_conventions_on_its_origin_once_each() {
        let c = candidates("https://shop.example.com/app/?tab=1#top");
        assert_eq!(c[0], "https://shop.example.com/app/?tab=1");
        assert_eq!(c[1], "https://shop.example.com/api/build-info");
        assert!(c.contains(&"https://shop.example.com/actuator/info".to_string()));
        assert_eq!(c.last().unwrap(), "https://shop.example.com/");
        assert_eq!(c.len(), FINGERPRINT_PATHS.len() + 1);
        // The root itself is not tried twice.
        let root = candidates("http://127.0.0.1:8080");
        assert_eq!(root[0], "http://127.0.0.1:8080/api/build-info");
        assert_eq!(root.last().unwrap(), "http://127.0.0.1:8080/");
        assert_eq!(root.len(), FINGERPRINT_PATHS.len());
        // GitHub's environment_url is free text: only http(s) URLs with a host are probed.
        for bad in [
            "",
            "not a url",
            "ftp://example.com/",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert!(candidates(bad).is_empty(), "{bad}");
        }
    }
}
