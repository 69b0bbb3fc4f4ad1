//! A fake GitHub on loopback for tests and the demo fleet: the REST endpoints Deploywatch reads
//! (repositories, branches, workflows and their runs, environments, deployments, compare, file
//! contents, rate limit), the two it writes (commit statuses, deployment statuses) plus the
//! OAuth device flow.
//!
//! Every REST body starts as the official example from GitHub's OpenAPI description (see
//! `examples.rs` and `scripts/extract-examples.mjs`); the fake only patches the values it
//! controls. Around the bodies it behaves like GitHub where clients depend on it: strong
//! `ETag`s and `304 Not Modified` for a matching `If-None-Match` (free of rate limit when the
//! request is authorised, charged like any other when it is not), the
//! `X-RateLimit-*` headers and a `403` when the primary limit runs out, `429` + `Retry-After`
//! for a secondary limit, `401 Bad credentials` when a token is required, and the API served
//! both at the root (like api.github.com) and under `/api/v3` (like GitHub Enterprise Server).
//!
//! The description has no example error bodies, only the `basic-error` schema; error answers
//! use exactly its properties (`message`, `documentation_url` from the operation's
//! `externalDocs`, `status`) with the messages GitHub sends ("Branch not found", "Not Found",
//! "Bad credentials", "API rate limit exceeded for ..."). A `422 Validation Failed` uses the
//! properties of the `validation-error` schema the same way, and the states a write accepts
//! are the enums of the operations' request schemas. The device flow is not in the
//! description at all; see `device.rs`.
//!
//! Every write is recorded ([`FakeHub::writes`]) and the statuses it creates can be read back
//! ([`FakeHub::commit_statuses`], [`FakeHub::deployment_statuses`]); [`FakeHub::set_read_only`]
//! makes the fake refuse writes as GitHub refuses a token without write access.

mod blob;
mod device;
mod examples;
mod render;
mod server;
mod state;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::oneshot;

pub use device::DeviceStep;
pub use state::{CommitStatus, DeploymentStatus};

use crate::device::DeviceFlow;
use crate::examples::Examples;
use crate::state::{Commit, Deployment, Environment, Repo, Run, Workflow};

/// One request the fake answered, for tests that check what a client sent and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// As sent, e.g. `/api/v3/repos/acme/shop/actions/runs?head_sha=abc`.
    pub path_and_query: String,
    pub status: u16,
    pub if_none_match: Option<String>,
    /// Whether the request carried an `Authorization` header (its value is never recorded).
    pub authorization: bool,
    pub at: Instant,
}

/// One write (`POST`, `PATCH`, `PUT`, `DELETE`) to the REST API, whatever its answer, for
/// tests that check what a client wrote and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRecord {
    pub method: String,
    /// As sent, without the query, e.g. `/api/v3/repos/acme/shop/statuses/abc…`.
    pub path: String,
    /// The request body as JSON; `Null` when empty, a string when it was not JSON.
    pub body: serde_json::Value,
    /// The status the fake answered (201, 403, 422 …).
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// GitHub's limit of commit statuses per SHA and context ("Attempts to create more than 1000
/// statuses will result in a validation error").
pub const MAX_STATUSES_PER_CONTEXT: usize = 1000;

/// The primary rate limit window.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// When the window ends; a full new window starts then, as on GitHub.
    pub(crate) reset: DateTime<Utc>,
}

/// Everything the fake knows; one lock, never held across an `await`.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) repos: BTreeMap<String, Repo>,
    pub(crate) next_id: u64,
    pub(crate) rate: RateLimit,
    pub(crate) retry_after: Option<u64>,
    pub(crate) token: Option<String>,
    pub(crate) device: Option<DeviceFlow>,
    pub(crate) device_interval: u64,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) writes: Vec<WriteRecord>,
    /// Refuse every write with `403` (a token that may read but not write).
    pub(crate) read_only: bool,
    /// Statuses allowed per SHA and context before `422`.
    pub(crate) max_statuses: usize,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The repository named `full_name` (case-insensitive, as on GitHub), created if new.
    fn repo_mut(&mut self, full_name: &str) -> &mut Repo {
        self.repos
            .entry(full_name.to_ascii_lowercase())
            .or_insert_with(|| Repo::new(full_name))
    }

    pub(crate) fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos
            .get(&format!("{owner}/{name}").to_ascii_lowercase())
    }

    /// An existing repository, for writing; unlike [`State::repo_mut`] never creates one.
    pub(crate) fn existing_repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        self.repos
            .get_mut(&format!("{owner}/{name}").to_ascii_lowercase())
    }
}

/// Shared between the handle and the server task.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) examples: Examples,
    pub(crate) addr: SocketAddr,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters to a fake, so keep serving rather than poison every later request.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Stops the server when the last `FakeHub` clone is dropped.
struct ServerGuard {
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
}

impl ServerGuard {
    fn stop(&self) {
        let sender = self
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(sender) = sender {
            // The server may already be gone; nothing to do then.
            let _ = sender.send(());
        }
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running fake GitHub. Clones share the same server and state; the server stops when the
/// last clone is dropped (or on [`FakeHub::shutdown`]).
#[derive(Clone)]
pub struct FakeHub {
    shared: Arc<Shared>,
    guard: Arc<ServerGuard>,
}

impl fmt::Debug for FakeHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeHub")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

/// The primary rate limit a new fake starts with: GitHub's authenticated limit.
const DEFAULT_LIMIT: u32 = 5000;
/// GitHub's primary rate-limit window.
pub(crate) const WINDOW: Duration = Duration::hours(1);
/// The device-flow `interval` (seconds) GitHub announces by default.
const DEFAULT_DEVICE_INTERVAL: u64 = 5;

impl FakeHub {
    /// Binds `127.0.0.1:0` and serves in a tokio task until the last clone is dropped.
    ///
    /// # Errors
    /// Fails if the socket cannot be bound, or (only if the committed files were corrupted) if
    /// the embedded OpenAPI examples do not parse.
    pub async fn start() -> std::io::Result<FakeHub> {
        let examples = Examples::load().map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = State {
            repos: BTreeMap::new(),
            next_id: 0,
            rate: RateLimit {
                limit: DEFAULT_LIMIT,
                remaining: DEFAULT_LIMIT,
                reset: Utc::now() + WINDOW,
            },
            retry_after: None,
            token: None,
            device: None,
            device_interval: DEFAULT_DEVICE_INTERVAL,
            requests: Vec::new(),
            writes: Vec::new(),
            read_only: false,
            max_statuses: MAX_STATUSES_PER_CONTEXT,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            examples,
            addr,
        });
        let (tx, rx) = oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            // Graceful shutdown also closes idle keep-alive connections, so a dropped fake is
            // really unreachable afterwards, like a GitHub that went away.
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            // An accept error ends the fake; callers see connection errors, as they would.
            let _ = server.await;
        });
        Ok(FakeHub {
            shared,
            guard: Arc::new(ServerGuard {
                shutdown: Mutex::new(Some(tx)),
            }),
        })
    }

    /// Stops accepting connections now (for tests of an unreachable GitHub).
    pub fn shutdown(&self) {
        self.guard.stop();
    }

    /// `http://127.0.0.1:PORT`. The API is served there at the root, like api.github.com, and
    /// under `/api/v3`, like GitHub Enterprise Server.
    pub fn api_url(&self) -> String {
        self.shared.origin()
    }

    /// The same origin: the device flow is at `/login/device/code` and
    /// `/login/oauth/access_token`, as on github.com.
    pub fn web_url(&self) -> String {
        self.shared.origin()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Moves `branch` of `repo` (`owner/name`) to `sha` now and records the commit (author,
    /// message, parent = the previous head) for the compare API.
    pub fn push(&self, repo: &str, branch: &str, sha: &str, author: &str, message: &str) {
        self.push_at(repo, branch, sha, author, message, Utc::now());
    }

    /// [`FakeHub::push`] with an explicit commit time, for scenarios set in the past.
    pub fn push_at(
        &self,
        repo: &str,
        branch: &str,
        sha: &str,
        author: &str,
        message: &str,
        at: DateTime<Utc>,
    ) {
        let sha = sha.to_ascii_lowercase();
        let mut state = self.lock();
        let repo = state.repo_mut(repo);
        let parent = repo
            .branches
            .get(branch)
            .filter(|head| **head != sha)
            .cloned();
        let commit = Commit {
            parent,
            branch: branch.to_owned(),
            author: author.to_owned(),
            message: message.to_owned(),
            at,
        };
        repo.commits.insert(sha.clone(), commit);
        repo.branches.insert(branch.to_owned(), sha);
        // GitHub makes the first branch pushed to a repository its default branch.
        if repo.default_branch.is_none() {
            repo.default_branch = Some(branch.to_owned());
        }
    }

    /// Makes `repo` known (as any setter does) with `default_branch` and visibility: `GET
    /// /repos/{o}/{r}` reports them, and a private repository is `404 Not Found` to every
    /// read without an `Authorization` header, as GitHub hides it from anonymous clients.
    /// Without this call the default branch is the first branch pushed (`main` before any).
    pub fn set_repo(&self, repo: &str, default_branch: &str, private: bool) {
        let mut state = self.lock();
        let repo = state.repo_mut(repo);
        repo.default_branch = Some(default_branch.to_owned());
        repo.private = private;
    }

    /// Sets the deployment environments of `repo` (`GET /repos/{o}/{r}/environments`), in
    /// this order, replacing those there were. A deployment to an environment not in the list
    /// adds it, as GitHub creates an environment when something deploys to it.
    pub fn set_environments(&self, repo: &str, environments: &[&str]) {
        let mut state = self.lock();
        let now = Utc::now();
        let ids: Vec<u64> = environments.iter().map(|_| state.next_id()).collect();
        state.repo_mut(repo).environments = environments
            .iter()
            .zip(ids)
            .map(|(name, id)| Environment {
                id,
                name: (*name).to_owned(),
                created_at: now,
            })
            .collect();
    }

    /// With `true`, `GET /repos/{o}/{r}/environments` answers `404 Not Found` although the
    /// repository exists, as GitHub may where environments are not available to a
    /// repository (a private one on a plan without them).
    pub fn set_environments_unavailable(&self, repo: &str, unavailable: bool) {
        self.lock().repo_mut(repo).environments_unavailable = unavailable;
    }

    /// Adds a workflow (`GET /repos/{o}/{r}/actions/workflows`) named `name` (its `name:`)
    /// in the file `path` (`.github/workflows/deploy.yml`), state `active`, and returns its
    /// id. A workflow of that name that exists already (say, made by [`FakeHub::add_run`])
    /// moves to `path` and keeps its id. Runs added later under that name name its file.
    pub fn add_workflow(&self, repo: &str, name: &str, path: &str) -> u64 {
        let mut state = self.lock();
        let fresh_id = state.next_id();
        let repo = state.repo_mut(repo);
        if let Some(workflow) = repo.workflows.iter_mut().find(|w| w.name == name) {
            workflow.path = path.to_owned();
            return workflow.id;
        }
        repo.workflows.push(Workflow {
            id: fresh_id,
            name: name.to_owned(),
            path: path.to_owned(),
            created_at: Utc::now(),
        });
        fresh_id
    }

    /// Puts a file with `contents` at `path` (`.github/deploywatch.toml`; no leading slash)
    /// of `repo`, or removes it with `None`. `GET /repos/{o}/{r}/contents/{path}` serves it
    /// as GitHub does: base64 `content` wrapped every 60 characters, `sha` the git blob SHA,
    /// an ETag that changes with the contents; a file over 1 MiB comes with an empty
    /// `content` and `encoding: none`. The parent directories exist while a file is in
    /// them. The fake has one tree for every ref: `?ref=` must name a branch or a known
    /// commit, and any of them shows the same files.
    pub fn set_file(&self, repo: &str, path: &str, contents: Option<&str>) {
        let mut state = self.lock();
        let files = &mut state.repo_mut(repo).files;
        let path = path.trim_matches('/').to_owned();
        match contents {
            Some(text) => {
                files.insert(path, text.to_owned());
            }
            None => {
                files.remove(&path);
            }
        }
    }

    /// Adds a workflow run for `sha` created now and returns its id. `status` is GitHub's
    /// (`queued`, `in_progress`, `completed`...), `conclusion` is set once completed.
    pub fn add_run(
        &self,
        repo: &str,
        sha: &str,
        workflow: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        self.add_run_at(repo, sha, workflow, status, conclusion, Utc::now())
    }

    /// [`FakeHub::add_run`] with an explicit creation time (also its `updated_at`).
    pub fn add_run_at(
        &self,
        repo: &str,
        sha: &str,
        workflow: &str,
        status: &str,
        conclusion: Option<&str>,
        at: DateTime<Utc>,
    ) -> u64 {
        let sha = sha.to_ascii_lowercase();
        let mut state = self.lock();
        let id = state.next_id();
        let fresh_workflow_id = state.next_id();
        let repo = state.repo_mut(repo);
        let workflow_id = match repo.workflows.iter().find(|w| w.name == workflow) {
            Some(known) => known.id,
            None => {
                repo.workflows.push(Workflow {
                    id: fresh_workflow_id,
                    name: workflow.to_owned(),
                    path: format!(".github/workflows/{}.yml", examples::login_for(workflow)),
                    created_at: at,
                });
                fresh_workflow_id
            }
        };
        let run_number = repo
            .runs
            .iter()
            .filter(|r| r.workflow_id == workflow_id)
            .count() as u64
            + 1;
        // A run happens on the branch the commit was pushed to; for a SHA never pushed, the
        // repository's first branch, or `main`.
        let head_branch = repo
            .commits
            .get(&sha)
            .map(|c| c.branch.clone())
            .or_else(|| repo.branches.keys().next().cloned())
            .unwrap_or_else(|| "main".to_owned());
        repo.runs.push(Run {
            id,
            workflow: workflow.to_owned(),
            workflow_id,
            run_number,
            head_sha: sha,
            head_branch,
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
            created_at: at,
            updated_at: at,
        });
        id
    }

    /// Changes a run's status and conclusion; `updated_at` becomes now. Unknown runs are
    /// ignored.
    pub fn update_run(&self, repo: &str, run_id: u64, status: &str, conclusion: Option<&str>) {
        self.update_run_at(repo, run_id, status, conclusion, Utc::now());
    }

    /// [`FakeHub::update_run`] with an explicit `updated_at`.
    pub fn update_run_at(
        &self,
        repo: &str,
        run_id: u64,
        status: &str,
        conclusion: Option<&str>,
        at: DateTime<Utc>,
    ) {
        let mut state = self.lock();
        if let Some(run) = state
            .repo_mut(repo)
            .runs
            .iter_mut()
            .find(|r| r.id == run_id)
        {
            run.status = status.to_owned();
            run.conclusion = conclusion.map(str::to_owned);
            run.updated_at = at;
        }
    }

    /// Adds a deployment of `sha` to `environment` (created now) and returns its id. The
    /// environment joins the repository's environments if it was not one of them.
    pub fn add_deployment(&self, repo: &str, sha: &str, environment: &str) -> u64 {
        let sha = sha.to_ascii_lowercase();
        let mut state = self.lock();
        let id = state.next_id();
        let environment_id = state.next_id();
        let repo = state.repo_mut(repo);
        if !repo.environments.iter().any(|e| e.name == environment) {
            repo.environments.push(Environment {
                id: environment_id,
                name: environment.to_owned(),
                created_at: Utc::now(),
            });
        }
        // `ref` is what was deployed: the branch the commit was pushed to, else the SHA.
        let git_ref = repo
            .commits
            .get(&sha)
            .map_or_else(|| sha.clone(), |c| c.branch.clone());
        repo.deployments.push(Deployment {
            id,
            sha,
            git_ref,
            environment: environment.to_owned(),
            created_at: Utc::now(),
            statuses: Vec::new(),
        });
        id
    }

    /// Adds a status (`success`, `failure`, `in_progress`...) to a deployment, created now.
    /// Its URLs are the example's. Unknown deployments are ignored.
    pub fn add_deployment_status(&self, repo: &str, deployment_id: u64, state: &str) {
        self.push_deployment_status(repo, deployment_id, |id| {
            DeploymentStatus::bare(id, state, Utc::now())
        });
    }

    /// [`FakeHub::add_deployment_status`] with the URLs a deploy tool sets: `environment_url`
    /// (where the environment is reachable) and `target_url` (its log; GitHub reports it as
    /// `log_url` too). `None` is what GitHub answers for a URL not given: `""`.
    pub fn add_deployment_status_with_url(
        &self,
        repo: &str,
        deployment_id: u64,
        state: &str,
        environment_url: Option<&str>,
        target_url: Option<&str>,
    ) {
        self.push_deployment_status(repo, deployment_id, |id| DeploymentStatus {
            environment_url: Some(environment_url.unwrap_or_default().to_owned()),
            log_url: Some(target_url.unwrap_or_default().to_owned()),
            ..DeploymentStatus::bare(id, state, Utc::now())
        });
    }

    fn push_deployment_status(
        &self,
        repo: &str,
        deployment_id: u64,
        status: impl FnOnce(u64) -> DeploymentStatus,
    ) {
        let mut st = self.lock();
        let id = st.next_id();
        if let Some(d) = st
            .repo_mut(repo)
            .deployments
            .iter_mut()
            .find(|d| d.id == deployment_id)
        {
            d.statuses.push(status(id));
        }
    }

    /// Sets the primary rate limit. Every answer carries `X-RateLimit-*`; each answer uses one
    /// except a 304 to an authorised request and `/rate_limit` (GitHub counts neither); at zero
    /// the API answers
    /// 403 with GitHub's message until `reset`, when a full window starts again.
    pub fn set_rate_limit(&self, limit: u32, remaining: u32, reset: DateTime<Utc>) {
        self.lock().rate = RateLimit {
            limit,
            remaining: remaining.min(limit),
            reset,
        };
    }

    /// With `Some(seconds)`, every API answer is `429` with `Retry-After: seconds` (a
    /// secondary rate limit) until set back to `None`.
    pub fn set_retry_after(&self, seconds: Option<u64>) {
        self.lock().retry_after = seconds;
    }

    /// With `Some(token)`, API requests without `Authorization: Bearer <token>` (or
    /// `token <token>`) get `401 Bad credentials`.
    pub fn require_token(&self, token: Option<&str>) {
        self.lock().token = token.map(str::to_owned);
    }

    /// Configures the device flow for `client_id`: each poll of `/login/oauth/access_token`
    /// consumes one step of `script`. Resets the recorded poll times.
    pub fn set_device_flow(&self, client_id: &str, script: Vec<DeviceStep>) {
        let mut state = self.lock();
        let interval = state.device_interval;
        state.device = Some(DeviceFlow::new(client_id, script, interval));
    }

    /// The `interval` (seconds) the device flow announces; GitHub's default is 5. Tests use
    /// smaller values to stay fast.
    pub fn set_device_interval(&self, seconds: u64) {
        let mut state = self.lock();
        state.device_interval = seconds;
        if let Some(flow) = &mut state.device {
            flow.interval = seconds;
        }
    }

    /// When each device-flow poll arrived, oldest first.
    pub fn device_polls(&self) -> Vec<Instant> {
        self.lock()
            .device
            .as_ref()
            .map(|f| f.polls.clone())
            .unwrap_or_default()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// With `true`, every write (`POST /repos/{o}/{r}/statuses/{sha}`,
    /// `POST /repos/{o}/{r}/deployments/{id}/statuses`) to an existing repository is refused
    /// with GitHub's answer to a token that may read but not write: `403 Resource not
    /// accessible by personal access token`, with `X-Accepted-GitHub-Permissions` naming the
    /// permission it lacks. Reads keep working. Refused writes are still recorded
    /// ([`FakeHub::writes`]) and charged to the rate limit, as on GitHub.
    pub fn set_read_only(&self, read_only: bool) {
        self.lock().read_only = read_only;
    }

    /// How many commit statuses one SHA and context may have before the next is refused with
    /// `422` ("This SHA and context has reached the maximum number of statuses."). GitHub's
    /// limit, and the default, is [`MAX_STATUSES_PER_CONTEXT`]; tests lower it.
    pub fn set_max_statuses_per_context(&self, max: usize) {
        self.lock().max_statuses = max;
    }

    /// Every write request answered so far (created, refused or invalid), oldest first.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.lock().writes.clone()
    }

    /// Forgets the recorded writes (the statuses they created stay).
    pub fn clear_writes(&self) {
        self.lock().writes.clear();
    }

    /// The commit statuses created for `sha` (full, any case) in `repo`, oldest first.
    pub fn commit_statuses(&self, repo: &str, sha: &str) -> Vec<CommitStatus> {
        let state = self.lock();
        let Some((owner, name)) = repo.split_once('/') else {
            return Vec::new();
        };
        state
            .repo(owner, name)
            .map(|r| {
                r.statuses
                    .iter()
                    .filter(|s| s.sha.eq_ignore_ascii_case(sha))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many commit statuses `sha` has in `repo` for `context` (case-insensitive, as on
    /// GitHub): what GitHub's limit of [`MAX_STATUSES_PER_CONTEXT`] counts.
    pub fn status_count(&self, repo: &str, sha: &str, context: &str) -> usize {
        self.commit_statuses(repo, sha)
            .iter()
            .filter(|s| s.context.eq_ignore_ascii_case(context))
            .count()
    }

    /// The statuses of a deployment, oldest first (added with
    /// [`FakeHub::add_deployment_status`] or written through the API); empty for an unknown
    /// deployment.
    pub fn deployment_statuses(&self, repo: &str, deployment_id: u64) -> Vec<DeploymentStatus> {
        let state = self.lock();
        let Some((owner, name)) = repo.split_once('/') else {
            return Vec::new();
        };
        state
            .repo(owner, name)
            .and_then(|r| r.deployments.iter().find(|d| d.id == deployment_id))
            .map(|d| d.statuses.clone())
            .unwrap_or_default()
    }
}
