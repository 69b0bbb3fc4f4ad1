//! The GitHub client: branch heads, workflow runs, deployments and compare, and for adding a
//! repository by name its description, environments, recent deployments, workflows and files;
//! read through octocrab's raw request API with conditional requests and a rate-limit gate in
//! front (the writes, in `write.rs`, go through the same gate).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use deploywatch_core::{CiRun, Sha};
use http::header::{ACCEPT, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use url::Url;

use crate::etag::{EtagCache, MemoryEtagCache};
use crate::rate::{RateGate, RateState, Refusal};
use crate::repo::{ApiBase, RepoRef};
use crate::wire;
use crate::{GitHubError, Token};

/// The largest answer read; GitHub's biggest (100 workflow runs) is around 1 MiB. A larger
/// one is refused rather than buffered, whatever the server sends.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How long one request, body included, may take by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The media type GitHub recommends for its REST API.
pub(crate) const GITHUB_JSON: &str = "application/vnd.github+json";

/// The least time between two writes by one client and its clones by default. GitHub's
/// guidance against its secondary rate limits: "If you are making a large number of POST,
/// PATCH, PUT, or DELETE requests for a single user or client ID, wait at least one second
/// between each request."
const DEFAULT_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// A value read from GitHub, and whether it came with this request.
#[derive(Clone, Debug, PartialEq)]
pub struct Polled<T> {
    pub value: T,
    /// `false` when GitHub answered `304 Not Modified` and the value is the one cached with
    /// the ETag: nothing changed since the last poll, and no rate limit was spent.
    pub fresh: bool,
}

/// The head commit of a branch.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchHead {
    pub sha: Sha,
    /// The author's GitHub login, or the git author name when the e-mail matches no account.
    pub author: Option<String>,
    /// The full commit message.
    pub message: Option<String>,
    /// The committer date (when the commit was made in its final form).
    pub committed_at: Option<DateTime<Utc>>,
}

/// The deployment an environment is expected to run under `follows = "deployments"`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentHead {
    pub sha: Sha,
    pub deployment_id: u64,
    /// When its `success` status was created.
    pub success_at: DateTime<Utc>,
}

/// A commit between the live and the expected SHA ("waiting to go live").
#[derive(Clone, Debug, PartialEq)]
pub struct CommitSummary {
    pub sha: Sha,
    /// GitHub login, or git author name.
    pub author: Option<String>,
    /// The first line of the message.
    pub message: String,
    /// The commit's page on GitHub; empty when GitHub gave none.
    pub url: String,
}

/// A repository as `GET /repos/{o}/{r}` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoInfo {
    /// `owner/name` as GitHub spells it (which may differ in case from what was asked).
    pub full_name: String,
    /// The branch pushes are expected on unless the configuration names another.
    pub default_branch: String,
    /// The repository's page on GitHub.
    pub html_url: String,
    pub private: bool,
    /// Archived: read-only, nothing is pushed or deployed any more.
    pub archived: bool,
}

/// A deployment environment of a repository (`GET /repos/{o}/{r}/environments`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentInfo {
    pub name: String,
    /// The environment's deployments page on GitHub; `None` when GitHub gave none.
    pub html_url: Option<String>,
}

/// A recent deployment and its latest status ([`GitHub::recent_deployments`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentInfo {
    pub id: u64,
    pub environment: String,
    /// `None` when GitHub's `sha` is not a git SHA.
    pub sha: Option<Sha>,
    pub created_at: Option<DateTime<Utc>>,
    /// The newest of its statuses; `None` when it has none.
    pub latest_status: Option<DeploymentStatusInfo>,
}

/// One deployment status. GitHub's empty strings (a URL nobody set) are `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentStatusInfo {
    /// `success`, `failure`, `error`, `inactive`, `in_progress`, `queued` or `pending`.
    pub state: String,
    /// Where the deployed environment is reachable, as the deploy tool reported it.
    pub environment_url: Option<String>,
    /// The legacy name of `log_url`; GitHub sets both when either is written.
    pub target_url: Option<String>,
    /// The deployment's output.
    pub log_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A GitHub Actions workflow of a repository (`GET /repos/{o}/{r}/actions/workflows`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowInfo {
    pub id: u64,
    /// Its `name:` (`CI`); GitHub uses the file's path when the workflow has none.
    pub name: String,
    /// Its file, `.github/workflows/ci.yml`.
    pub path: String,
    /// `active`, `disabled_manually`, `disabled_inactivity`, `disabled_fork` …
    pub state: String,
}

/// A text file of a repository (`GET /repos/{o}/{r}/contents/{path}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    /// Its path in the repository, as GitHub gives it.
    pub path: String,
    /// The git blob SHA of its contents (what `git hash-object` prints), not a commit.
    pub sha: String,
    /// The contents, exactly: GitHub's base64 `content` decoded.
    pub text: String,
    /// The file's page on GitHub; `None` when GitHub gave none.
    pub html_url: Option<String>,
}

/// A client for one GitHub API (api.github.com, an Enterprise server, or a test server).
///
/// Cheap to clone; clones share the rate-limit state, the ETag cache and the request count,
/// so one watcher polling many repositories respects one quota. Must be created inside a Tokio
/// runtime (octocrab's client spawns its worker there).
#[derive(Clone)]
pub struct GitHub {
    crab: Octocrab,
    pub(crate) base: ApiBase,
    authenticated: bool,
    /// Kept for the one other service that takes it: ghcr.io ([`GitHub::token`]).
    token: Option<Token>,
    cache: Arc<dyn EtagCache>,
    shared: Arc<Shared>,
    timeout: Duration,
    /// The least time between two writes ([`DEFAULT_WRITE_INTERVAL`]).
    write_interval: Duration,
}

/// At most this many requests to GitHub at once, whatever the number of repositories polled
/// together: GitHub's secondary limits punish bursts of concurrent requests.
const MAX_CONCURRENT: usize = 8;

struct Shared {
    gate: Mutex<RateGate>,
    requests: AtomicU64,
    /// Woken whenever a request's unit of the quota is settled (answer or abandon), for
    /// requests waiting while the quota is being learned.
    settled: tokio::sync::Notify,
    slots: tokio::sync::Semaphore,
    /// Held by the one write on its way, with when the last write was sent: writes go out one
    /// at a time, spaced by the write interval (GitHub: "make requests serially instead of
    /// concurrently" for writes).
    last_write: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            gate: Mutex::default(),
            requests: AtomicU64::new(0),
            settled: tokio::sync::Notify::new(),
            slots: tokio::sync::Semaphore::new(MAX_CONCURRENT),
            last_write: tokio::sync::Mutex::new(None),
        }
    }
}

impl Shared {
    fn gate(&self) -> MutexGuard<'_, RateGate> {
        // The gate holds plain numbers; a panic elsewhere cannot leave them inconsistent.
        self.gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request's unit of the quota, from admission until its answer is recorded. Dropped
/// without an answer (transport failure, timeout, the caller gave up), it is given back.
struct Ticket<'a> {
    shared: &'a Shared,
    answered: bool,
}

impl Ticket<'_> {
    /// Records the answer with the gate; `Some(reset)` for a rate-limit rejection.
    fn answer(
        mut self,
        status: StatusCode,
        headers: &HeaderMap,
        says_rate_limit: bool,
    ) -> Option<DateTime<Utc>> {
        self.answered = true;
        let verdict = self
            .shared
            .gate()
            .observe(status, headers, says_rate_limit, Utc::now());
        self.shared.settled.notify_waiters();
        verdict
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.shared.gate().abandon();
            self.shared.settled.notify_waiters();
        }
    }
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays inside octocrab; nothing of it is printed.
        f.debug_struct("GitHub")
            .field("api_url", &self.base.as_str())
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

/// What one GET produced.
enum Answer {
    Body {
        bytes: Vec<u8>,
        fresh: bool,
    },
    /// 404, with GitHub's message (`Not Found`, `Branch not found`).
    NotFound {
        message: String,
    },
}

impl GitHub {
    /// A client for the API at `api_url` (`https://api.github.com`, `https://HOST/api/v3`),
    /// authenticated with `token` when given. Without a token it reads public repositories
    /// within GitHub's 60 requests per hour.
    ///
    /// # Errors
    /// [`GitHubError::Setup`] when `api_url` is not an http(s) URL, the TLS roots cannot be
    /// loaded, or no Tokio runtime is running.
    pub fn new(api_url: &str, token: Option<Token>) -> Result<GitHub, GitHubError> {
        let base = ApiBase::parse(api_url)?;
        let authenticated = token.is_some();
        let crab = build_octocrab(&base, token.as_ref())?;
        Ok(GitHub {
            crab,
            base,
            authenticated,
            token,
            cache: Arc::new(MemoryEtagCache::default()),
            shared: Arc::default(),
            timeout: DEFAULT_TIMEOUT,
            write_interval: DEFAULT_WRITE_INTERVAL,
        })
    }

    /// Keeps ETags and bodies in `cache` instead of memory (e.g. the engine's database).
    pub fn with_etag_cache(mut self, cache: Arc<dyn EtagCache>) -> GitHub {
        self.cache = cache;
        self
    }

    /// Sets how long one request, body included, may take (default 20 s).
    pub fn with_timeout(mut self, timeout: Duration) -> GitHub {
        self.timeout = timeout;
        self
    }

    /// Sets the least time between two writes (commit and deployment statuses) sent by this
    /// client and its clones (default 1 s, GitHub's advice against its secondary rate limits).
    /// Writes go out one at a time whatever the interval; tests set it to zero.
    pub fn with_write_interval(mut self, interval: Duration) -> GitHub {
        self.write_interval = interval;
        self
    }

    /// Whether a token is sent. Unauthenticated clients work; callers should warn about the
    /// 60 requests/hour limit.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The token this client sends, for the one other service that accepts a GitHub token:
    /// GitHub's container registry (ghcr.io), asked by the engine's image check. `None`
    /// without a token.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The API base URL, without a trailing slash.
    pub fn api_url(&self) -> &str {
        self.base.as_str()
    }

    /// The web URL of this GitHub (where the device flow and HTML pages live); see
    /// [`crate::web_url_for`].
    pub fn web_url(&self) -> String {
        crate::web_url_for(self.base.as_str())
    }

    /// The quota as GitHub last reported it; `None` before the first answer.
    pub fn rate(&self) -> Option<RateState> {
        self.gate().last()
    }

    /// The quota as GitHub last reported it, less what the requests now on their way may
    /// spend: what a scheduler can still plan with.
    pub fn rate_estimate(&self) -> Option<RateState> {
        self.gate().estimate()
    }

    /// Requests actually sent so far by this client and its clones (refused ones not counted).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Asks GitHub whether it accepts the token (`GET /rate_limit`, which costs no quota) and
    /// returns the quota it reports. Used by `deploywatch auth status`.
    ///
    /// # Errors
    /// `Unauthorized` when the token is refused; otherwise as described on [`GitHubError`].
    pub async fn check_token(&self) -> Result<RateState, GitHubError> {
        let url = self.base.url(&["rate_limit"], &[]);
        match self.fetch(&url).await? {
            Answer::Body { .. } => self.rate().ok_or_else(|| GitHubError::Unexpected {
                status: 200,
                detail: "GitHub sent no X-RateLimit headers".into(),
            }),
            Answer::NotFound { message } => Err(GitHubError::Unexpected {
                status: 404,
                detail: format!(
                    "{} has no /rate_limit endpoint: {message}",
                    self.base.as_str()
                ),
            }),
        }
    }

    /// Whether this GitHub answers over HTTP at all (`GET /rate_limit`, any status): the
    /// watcher's test of its own network when every environment fails to connect. Outside the
    /// rate gate, since GitHub does not count `/rate_limit` against the quota (and a rate
    /// limit is an answer too). Waits at most `timeout`.
    pub async fn answers(&self, timeout: Duration) -> bool {
        let url = self.base.url(&["rate_limit"], &[]);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_JSON));
        let request = self.crab._get_with_headers(url.as_str(), Some(headers));
        matches!(tokio::time::timeout(timeout, request).await, Ok(Ok(_)))
    }

    /// The head commit of `branch` (`GET /repos/{o}/{r}/branches/{branch}`).
    ///
    /// # Errors
    /// `NotFound { what: "branch main of acme/shop" }` when the branch does not exist,
    /// `NotFound { what: "repository acme/shop" }` when the repository does not (or is private
    /// and no token is set); otherwise as described on [`GitHubError`].
    pub async fn branch_head(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> Result<Polled<BranchHead>, GitHubError> {
        let url = self.base.repo_url(repo, &["branches", branch], &[]);
        match self.fetch(&url).await? {
            Answer::Body { bytes, fresh } => {
                let parsed: wire::Branch = decode(&bytes, "branch")?;
                let value = parsed.commit.into_head().map_err(GitHubError::Decode)?;
                Ok(Polled { value, fresh })
            }
            // GitHub says which of the two is missing in the message; the look at the
            // repository covers servers that word it differently.
            Answer::NotFound { message } if message == "Branch not found" => {
                Err(GitHubError::NotFound {
                    what: format!("branch {branch} of {repo}"),
                })
            }
            Answer::NotFound { .. } => Err(self
                .not_found(repo, format!("branch {branch} of {repo}"))
                .await),
        }
    }

    /// The workflow runs for `sha` (`GET /repos/{o}/{r}/actions/runs?head_sha=…&per_page=100`),
    /// newest first, keeping those whose workflow is named in `workflows` (by its `name:` or
    /// its file name, e.g. `CI` or `ci.yml`); all runs when `workflows` is empty.
    ///
    /// `sha` should be the full SHA: GitHub matches `head_sha` exactly. Runs beyond the first
    /// 100 for one commit are not read (re-runs of one workflow rarely come near that).
    ///
    /// # Errors
    /// As described on [`GitHubError`]; `NotFound` names the repository when it is missing.
    pub async fn runs_for_sha(
        &self,
        repo: &RepoRef,
        sha: &Sha,
        workflows: &[String],
    ) -> Result<Polled<Vec<CiRun>>, GitHubError> {
        let query = [("head_sha", sha.as_str()), ("per_page", "100")];
        let url = self.base.repo_url(repo, &["actions", "runs"], &query);
        match self.fetch(&url).await? {
            Answer::Body { bytes, fresh } => {
                let list: wire::RunList = decode(&bytes, "workflow runs")?;
                let mut runs: Vec<CiRun> = list
                    .workflow_runs
                    .into_iter()
                    .filter(|run| run.is_selected(workflows))
                    .filter_map(wire::Run::into_ci_run)
                    // GitHub filters by head_sha already; this keeps a server that ignores the
                    // filter from attributing other commits' runs to this one.
                    .filter(|run| run.head_sha.matches(sha))
                    .collect();
                runs.sort_by_key(|run| std::cmp::Reverse((run.created_at, run.id)));
                Ok(Polled { value: runs, fresh })
            }
            Answer::NotFound { .. } => Err(self
                .not_found(repo, format!("workflow runs of {repo}"))
                .await),
        }
    }

    /// The newest deployment to `environment` whose latest status is `success`
    /// (`GET /repos/{o}/{r}/deployments?environment=…`, then each one's statuses, newest
    /// deployment first, until one qualifies). `None` when none of the newest 30 does.
    ///
    /// A deployment whose latest status is `inactive` does not qualify: GitHub marks a
    /// deployment inactive when a newer one to the same environment succeeds, or when someone
    /// takes it down, so it is not what the environment should run now. A newer deployment
    /// whose latest status is `failure`, `error`, `pending`, `queued` or `in_progress` is
    /// skipped and an older successful one is returned.
    ///
    /// # Errors
    /// As described on [`GitHubError`]; `NotFound` names the repository when it is missing.
    pub async fn latest_successful_deployment(
        &self,
        repo: &RepoRef,
        environment: &str,
    ) -> Result<Option<DeploymentHead>, GitHubError> {
        let query = [("environment", environment), ("per_page", "30")];
        let url = self.base.repo_url(repo, &["deployments"], &query);
        let bytes = match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => bytes,
            Answer::NotFound { .. } => {
                return Err(self.not_found(repo, format!("deployments of {repo}")).await);
            }
        };
        let mut deployments: Vec<wire::Deployment> = decode(&bytes, "deployments")?;
        deployments.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        for deployment in deployments {
            let id = deployment.id.to_string();
            let url = self.base.repo_url(
                repo,
                &["deployments", &id, "statuses"],
                &[("per_page", "100")],
            );
            let bytes = match self.fetch(&url).await? {
                Answer::Body { bytes, .. } => bytes,
                // Deleted between the two requests: it is not live anyway.
                Answer::NotFound { .. } => continue,
            };
            let statuses: Vec<wire::DeploymentStatus> = decode(&bytes, "deployment statuses")?;
            let Some(latest) = statuses.iter().max_by_key(|s| (s.created_at, s.id)) else {
                continue;
            };
            if latest.state != "success" {
                continue;
            }
            let Some(sha) = Sha::parse(&deployment.sha) else {
                continue;
            };
            return Ok(Some(DeploymentHead {
                sha,
                deployment_id: deployment.id,
                // A missing time cannot start the grace period earlier than now.
                success_at: latest
                    .created_at
                    .or(deployment.created_at)
                    .unwrap_or_else(Utc::now),
            }));
        }
        Ok(None)
    }

    /// The repository itself (`GET /repos/{o}/{r}`): how GitHub spells its name, its default
    /// branch, its page, whether it is private or archived. One request.
    ///
    /// # Errors
    /// `NotFound { what: "repository acme/shop" }` when it does not exist (or is private and
    /// the token cannot see it); otherwise as described on [`GitHubError`].
    pub async fn repository(&self, repo: &RepoRef) -> Result<RepoInfo, GitHubError> {
        let url = self.base.repo_url(repo, &[], &[]);
        match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => {
                let parsed: wire::Repository = decode(&bytes, "repository")?;
                Ok(RepoInfo {
                    full_name: parsed.full_name,
                    default_branch: parsed.default_branch,
                    html_url: parsed.html_url,
                    private: parsed.private,
                    archived: parsed.archived,
                })
            }
            Answer::NotFound { .. } => Err(GitHubError::NotFound {
                what: format!("repository {repo}"),
            }),
        }
    }

    /// The deployment environments of the repository
    /// (`GET /repos/{o}/{r}/environments?per_page=100`), in GitHub's order; the first 100.
    /// Empty when it has none, and when GitHub answers 404 for a repository that exists
    /// (where environments are not available to it), which costs a second request to tell
    /// the two apart.
    ///
    /// # Errors
    /// `NotFound { what: "repository acme/shop" }` when the repository does not exist;
    /// otherwise as described on [`GitHubError`].
    pub async fn environments(&self, repo: &RepoRef) -> Result<Vec<EnvironmentInfo>, GitHubError> {
        let url = self
            .base
            .repo_url(repo, &["environments"], &[("per_page", "100")]);
        let bytes = match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => bytes,
            Answer::NotFound { .. } => {
                return if self.repository_missing(repo).await? {
                    Err(GitHubError::NotFound {
                        what: format!("repository {repo}"),
                    })
                } else {
                    Ok(Vec::new())
                };
            }
        };
        let list: wire::EnvironmentList = decode(&bytes, "environments")?;
        Ok(list
            .environments
            .into_iter()
            .map(|e| EnvironmentInfo {
                name: e.name,
                html_url: e.html_url,
            })
            .collect())
    }

    /// The recent deployments of every environment, each with its latest status, newest
    /// first: the newest 100 deployments of the repository
    /// (`GET /repos/{o}/{r}/deployments?per_page=100`), of which the newest `per_environment`
    /// of each environment have their statuses read
    /// (`GET /repos/{o}/{r}/deployments/{id}/statuses?per_page=100`, the newest status kept).
    /// Older deployments are left out. Costs 1 request plus one per deployment returned: with
    /// `per_environment = 1`, 1 + the number of environments deployed to lately. With
    /// `per_environment = 0` nothing is asked and nothing returned.
    ///
    /// A deployment deleted between the two requests is left out.
    ///
    /// # Errors
    /// As described on [`GitHubError`]; `NotFound` names the repository when it is missing.
    pub async fn recent_deployments(
        &self,
        repo: &RepoRef,
        per_environment: usize,
    ) -> Result<Vec<DeploymentInfo>, GitHubError> {
        if per_environment == 0 {
            return Ok(Vec::new());
        }
        let url = self
            .base
            .repo_url(repo, &["deployments"], &[("per_page", "100")]);
        let bytes = match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => bytes,
            Answer::NotFound { .. } => {
                return Err(self.not_found(repo, format!("deployments of {repo}")).await);
            }
        };
        let mut deployments: Vec<wire::Deployment> = decode(&bytes, "deployments")?;
        deployments.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        let mut taken: std::collections::HashMap<String, usize> = Default::default();
        deployments.retain(|d| {
            let count = taken.entry(d.environment.clone()).or_default();
            *count += 1;
            *count <= per_environment
        });
        let mut recent = Vec::with_capacity(deployments.len());
        for deployment in deployments {
            let id = deployment.id.to_string();
            let url = self.base.repo_url(
                repo,
                &["deployments", &id, "statuses"],
                &[("per_page", "100")],
            );
            let bytes = match self.fetch(&url).await? {
                Answer::Body { bytes, .. } => bytes,
                // Deleted between the two requests.
                Answer::NotFound { .. } => continue,
            };
            let statuses: Vec<wire::DeploymentStatus> = decode(&bytes, "deployment statuses")?;
            let latest_status = statuses
                .into_iter()
                .max_by_key(|s| (s.created_at, s.id))
                .map(|s| DeploymentStatusInfo {
                    state: s.state,
                    environment_url: s.environment_url,
                    target_url: s.target_url,
                    log_url: s.log_url,
                    created_at: s.created_at,
                });
            recent.push(DeploymentInfo {
                id: deployment.id,
                sha: Sha::parse(&deployment.sha),
                environment: deployment.environment,
                created_at: deployment.created_at,
                latest_status,
            });
        }
        Ok(recent)
    }

    /// The GitHub Actions workflows of the repository
    /// (`GET /repos/{o}/{r}/actions/workflows?per_page=100`), the first 100, in GitHub's
    /// order. Empty when it has none. One request.
    ///
    /// # Errors
    /// As described on [`GitHubError`]; `NotFound` names the repository when it is missing.
    pub async fn workflows(&self, repo: &RepoRef) -> Result<Vec<WorkflowInfo>, GitHubError> {
        let url = self
            .base
            .repo_url(repo, &["actions", "workflows"], &[("per_page", "100")]);
        let bytes = match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => bytes,
            Answer::NotFound { .. } => {
                return Err(self.not_found(repo, format!("workflows of {repo}")).await);
            }
        };
        let list: wire::WorkflowList = decode(&bytes, "workflows")?;
        Ok(list
            .workflows
            .into_iter()
            .map(|w| WorkflowInfo {
                id: w.id,
                name: w.name,
                path: w.path,
                state: w.state,
            })
            .collect())
    }

    /// The text file at `path` (`.github/deploywatch.toml`) of the repository, at `git_ref`
    /// (a branch, tag or SHA; the default branch when `None`):
    /// `GET /repos/{o}/{r}/contents/{path}[?ref=…]`, each segment of the path encoded on its
    /// own. A conditional request like the other reads, so reading an unchanged file again
    /// costs a `304` GitHub does not count (with a token) and comes back with `fresh: false`.
    ///
    /// `Ok(None)` when the repository has no such file (one more request tells that from a
    /// missing repository), and at once for a path with a `.` or `..` segment, which names
    /// no file in a git tree. Leading, trailing and doubled slashes are ignored.
    ///
    /// # Errors
    /// `Decode` when the path is a directory, a symlink or a submodule, when the file is
    /// larger than the 1 MB whose content GitHub's contents API includes, or when its
    /// content is not UTF-8 text; `NotFound { what: "repository acme/shop" }` when the
    /// repository does not exist, `NotFound { what: "ref v2 of acme/shop" }` when `git_ref`
    /// does not; otherwise as described on [`GitHubError`].
    pub async fn file(
        &self,
        repo: &RepoRef,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<Option<Polled<RepoFile>>, GitHubError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| matches!(*s, "." | "..")) {
            return Ok(None);
        }
        let mut rest = vec!["contents"];
        rest.extend(&segments);
        let query: Vec<(&str, &str)> = git_ref.map(|r| ("ref", r)).into_iter().collect();
        let url = self.base.repo_url(repo, &rest, &query);
        match self.fetch(&url).await? {
            Answer::Body { bytes, fresh } => {
                let value = wire::content_file(&bytes).map_err(|why| {
                    let shown = if segments.is_empty() {
                        "/".to_owned()
                    } else {
                        segments.join("/")
                    };
                    GitHubError::Decode(format!("{shown} in {repo}: {why}"))
                })?;
                Ok(Some(Polled { value, fresh }))
            }
            Answer::NotFound { message } => {
                if self.repository_missing(repo).await? {
                    return Err(GitHubError::NotFound {
                        what: format!("repository {repo}"),
                    });
                }
                match git_ref {
                    // GitHub: "No commit found for the ref v2".
                    Some(r) if message.starts_with("No commit found for the ref") => {
                        Err(GitHubError::NotFound {
                            what: format!("ref {r} of {repo}"),
                        })
                    }
                    _ => Ok(None),
                }
            }
        }
    }

    /// The commits in `head` that `base` lacks (`GET /repos/{o}/{r}/compare/{base}...{head}`),
    /// newest first as in `git log`: what is waiting to go live when `base` is live and `head`
    /// is expected. GitHub lists at most 250 commits; an equal pair costs no request.
    ///
    /// # Errors
    /// `NotFound { what: "commit abc1234 in acme/shop" }` when a SHA is unknown,
    /// `NotFound { what: "repository acme/shop" }` when the repository is;
    /// otherwise as described on [`GitHubError`].
    pub async fn compare(
        &self,
        repo: &RepoRef,
        base: &Sha,
        head: &Sha,
    ) -> Result<Vec<CommitSummary>, GitHubError> {
        if base.matches(head) {
            return Ok(Vec::new());
        }
        let range = format!("{base}...{head}");
        let url = self.base.repo_url(repo, &["compare", &range], &[]);
        match self.fetch(&url).await? {
            Answer::Body { bytes, .. } => {
                let compare: wire::Compare = decode(&bytes, "compare")?;
                let mut commits = compare
                    .commits
                    .into_iter()
                    .map(wire::Commit::into_summary)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(GitHubError::Decode)?;
                commits.reverse();
                Ok(commits)
            }
            Answer::NotFound { .. } => Err(self.compare_not_found(repo, base, head).await),
        }
    }

    /// Which of the two commits (or the repository) a failed compare lacks, found with
    /// `GET /repos/{o}/{r}/commits/{sha}`: 404 there means no repository, 422 no such commit.
    async fn compare_not_found(&self, repo: &RepoRef, base: &Sha, head: &Sha) -> GitHubError {
        for sha in [base, head] {
            let url = self.base.repo_url(repo, &["commits", sha.as_str()], &[]);
            match self.fetch(&url).await {
                Ok(Answer::NotFound { .. }) => {
                    return GitHubError::NotFound {
                        what: format!("repository {repo}"),
                    };
                }
                Err(GitHubError::Unexpected { status: 422, .. }) => {
                    return GitHubError::NotFound {
                        what: format!("commit {} in {repo}", sha.short()),
                    };
                }
                Ok(Answer::Body { .. }) => {}
                // Rate-limited or unreachable now: say what is known.
                Err(_) => break,
            }
        }
        GitHubError::NotFound {
            what: format!(
                "a comparison of {} and {} in {repo} (no common history)",
                base.short(),
                head.short()
            ),
        }
    }

    /// A 404 below `/repos/{o}/{r}` does not say whether the repository or the thing asked
    /// for is missing; one look at the repository tells people which to fix.
    async fn not_found(&self, repo: &RepoRef, what: String) -> GitHubError {
        match self.repository_missing(repo).await {
            Ok(true) => GitHubError::NotFound {
                what: format!("repository {repo}"),
            },
            // Present, or the look failed (rate limit): the first answer stands.
            Ok(false) | Err(_) => GitHubError::NotFound { what },
        }
    }

    /// Whether `GET /repos/{o}/{r}` is a 404: the repository does not exist, or is hidden
    /// from this client (private, and no token or one that cannot see it).
    async fn repository_missing(&self, repo: &RepoRef) -> Result<bool, GitHubError> {
        let url = self.base.repo_url(repo, &[], &[]);
        Ok(matches!(self.fetch(&url).await?, Answer::NotFound { .. }))
    }

    fn gate(&self) -> MutexGuard<'_, RateGate> {
        self.shared.gate()
    }

    /// Waits for a unit of the quota: refused at once while rate-limited or down to the
    /// reserve; while the quota is being learned (the first request, or the first after a
    /// reset), waits for that request's answer.
    async fn admit(&self) -> Result<Ticket<'_>, GitHubError> {
        loop {
            let settled = self.shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            // Bound first: the gate's lock must not be held across the wait below.
            let admitted = self.gate().acquire(Utc::now());
            match admitted {
                Ok(()) => {
                    return Ok(Ticket {
                        shared: &self.shared,
                        answered: false,
                    });
                }
                Err(Refusal::Until(reset)) => return Err(GitHubError::RateLimited { reset }),
                // The learning request settles within its own timeout; the bound here only
                // keeps a lost wake-up from waiting for ever.
                Err(Refusal::Learning) => {
                    let _ = tokio::time::timeout(self.timeout, settled).await;
                }
            }
        }
    }

    /// One request to the API, reads and writes alike: at most [`MAX_CONCURRENT`] at once,
    /// admitted by the rate gate before it is sent (so writes spend the same quota as reads),
    /// counted in [`GitHub::request_count`], bounded by the timeout, and its answer's rate
    /// headers, `Retry-After` and rate-limit rejections recorded with the gate. A rate-limit
    /// rejection comes back as [`GitHubError::RateLimited`]; every other answer as it came.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<&serde_json::Value>,
    ) -> Result<(http::response::Parts, Vec<u8>), GitHubError> {
        // The semaphore is never closed, so this cannot fail.
        let _slot = self.shared.slots.acquire().await.ok();
        let ticket = self.admit().await?;

        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let request = self
            .crab
            .build_request(builder, body)
            .map_err(|e| GitHubError::Setup(format!("request to {url}: {}", error_chain(&e))))?;

        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let response = self
                .crab
                .execute(request)
                .await
                .map_err(|e| GitHubError::Unreachable(error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let bytes = read_capped(body, parts.status).await?;
            Ok::<_, GitHubError>((parts, bytes))
        };
        let (parts, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                GitHubError::Unreachable(format!(
                    "no answer from {} within {} s",
                    self.base.as_str(),
                    self.timeout.as_secs_f32()
                ))
            })??;

        let says_rate_limit = parts.status == StatusCode::FORBIDDEN
            && wire::error_message(&bytes)
                .to_ascii_lowercase()
                .contains("rate limit");
        if let Some(reset) = ticket.answer(parts.status, &parts.headers, says_rate_limit) {
            return Err(GitHubError::RateLimited { reset });
        }
        Ok((parts, bytes))
    }

    /// Runs `send` (one write) when it is the only write on its way and at least the write
    /// interval has passed since the previous one was sent, by this client or a clone.
    pub(crate) async fn one_write<T>(&self, send: impl Future<Output = T>) -> T {
        let mut last_write = self.shared.last_write.lock().await;
        if let Some(last) = *last_write {
            tokio::time::sleep_until(last + self.write_interval).await;
        }
        let result = send.await;
        // Whether or not it got through, the next write waits its interval after this one.
        *last_write = Some(tokio::time::Instant::now());
        result
    }

    /// One conditional GET through [`GitHub::exchange`]: `If-None-Match` from the cache, the
    /// cached body on `304`.
    async fn fetch(&self, url: &Url) -> Result<Answer, GitHubError> {
        let key = url.as_str();
        let cached = self.cache.get(key);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_JSON));
        if let Some((etag, _)) = &cached {
            // An ETag that is not a valid header value (a corrupt persisted cache) is skipped:
            // the request goes out unconditional and refreshes the entry.
            if let Ok(value) = HeaderValue::from_str(etag) {
                headers.insert(IF_NONE_MATCH, value);
            }
        }

        let (parts, bytes) = self.exchange(Method::GET, url, headers, None).await?;
        let status = parts.status;
        if status == StatusCode::NOT_MODIFIED {
            return match cached {
                Some((_, body)) => Ok(Answer::Body {
                    bytes: body,
                    fresh: false,
                }),
                None => Err(GitHubError::Unexpected {
                    status: 304,
                    detail: "304 Not Modified for a request that was not conditional".into(),
                }),
            };
        }
        if status.is_success() {
            if let Some(etag) = parts.headers.get(ETAG).and_then(|v| v.to_str().ok()) {
                self.cache.put(key, etag, &bytes);
            }
            return Ok(Answer::Body { bytes, fresh: true });
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(Answer::NotFound {
                message: wire::error_message(&bytes),
            });
        }
        Err(status_error(status, &bytes))
    }
}

/// The error for a non-success status other than 304/404.
pub(crate) fn status_error(status: StatusCode, body: &[u8]) -> GitHubError {
    match status {
        StatusCode::UNAUTHORIZED => GitHubError::Unauthorized,
        StatusCode::FORBIDDEN => GitHubError::Forbidden(wire::error_message(body)),
        _ => GitHubError::Unexpected {
            status: status.as_u16(),
            detail: wire::error_message(body),
        },
    }
}

/// Builds the octocrab client for `base`, with `token` when given.
pub(crate) fn build_octocrab(
    base: &ApiBase,
    token: Option<&Token>,
) -> Result<Octocrab, GitHubError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(GitHubError::Setup(
            "the GitHub client must be created inside a Tokio runtime".into(),
        ));
    }
    let mut builder = Octocrab::builder()
        .base_uri(base.as_str())
        .map_err(|e| GitHubError::Setup(format!("API URL {}: {e}", base.as_str())))?
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(DEFAULT_TIMEOUT));
    if let Some(token) = token {
        builder = builder.personal_token(token.expose().to_owned());
    }
    builder
        .build()
        .map_err(|e| GitHubError::Setup(error_chain(&e)))
}

/// Reads a body up to [`MAX_BODY`].
pub(crate) async fn read_capped(
    body: BoxBody<Bytes, octocrab::Error>,
    status: StatusCode,
) -> Result<Vec<u8>, GitHubError> {
    match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(GitHubError::Unexpected {
            status: status.as_u16(),
            detail: format!("answer larger than {} MiB", MAX_BODY / (1024 * 1024)),
        }),
        Err(e) => Err(GitHubError::Unreachable(format!(
            "connection lost while reading the answer: {}",
            error_chain(e.as_ref())
        ))),
    }
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, GitHubError> {
    serde_json::from_slice(bytes).map_err(|e| GitHubError::Decode(format!("{what}: {e}")))
}

/// An error and its causes on one line ("Service Error: client error (Connect): tcp connect
/// error: Connection refused"), since the outermost message alone rarely says what happened.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
