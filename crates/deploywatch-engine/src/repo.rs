//! One GitHub poll of a project's repository: the branch head and the CI runs for it, shared by
//! every environment of the project that follows the branch.
//!
//! A poll is two reads, so the watcher can order them across repositories within GitHub's
//! budget (`crate::budget`): [`Engine::read_head`] for every due repository first, then
//! [`Engine::read_runs`] where [`Engine::runs_wanted`] says the runs can have changed — the
//! head moved, a run is still pending, or CI may still start — and never for an unchanged head
//! whose runs are all finished.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deploywatch_config::Project;
use deploywatch_core::{CiRun, Sha, human_duration};
use deploywatch_github::GitHubError;
use deploywatch_store::PushRecord;

use crate::check::{Engine, repo_ref};

/// The head of the watched branch as Deploywatch knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub sha: Sha,
    /// When Deploywatch first saw this SHA at the head of the branch (from the store); on a
    /// fresh database, the commit's committer date stands in for it.
    pub first_seen: DateTime<Utc>,
    /// The head before this one, if the store remembers it.
    pub previous: Option<Sha>,
    pub author: Option<String>,
    pub message: Option<String>,
}

/// The result of one poll of a repository.
#[derive(Clone, Debug)]
pub struct RepoSnapshot {
    /// The head, or why it cannot be known (in words: rate limited until …, branch not found).
    pub head: Result<Head, String>,
    /// CI runs for the head SHA, filtered by the project's workflows.
    pub runs: Vec<CiRun>,
    /// Why the runs could not be read, if they could not.
    pub runs_error: Option<String>,
    pub fetched_at: DateTime<Utc>,
    /// The head moved or a run changed status since the previous poll.
    pub changed: bool,
    /// The SHAs recently seen at the head of the branch (from the store), newest first: commits
    /// of the repository that fingerprint detection may meet. Read once per poll, not per check.
    pub recent_heads: Vec<Sha>,
    /// GitHub failed transiently on this poll and the head (and runs) are those of an earlier
    /// one (or, with none in memory, the head the store last saw): why, and when they were read.
    pub stale: Option<StaleHead>,
    /// When the runs were last read from GitHub (`None`: not yet for this head).
    pub runs_read_at: Option<DateTime<Utc>>,
    /// Set by the watcher when GitHub's budget holds the next poll back: when it may run.
    pub deferred_until: Option<DateTime<Utc>>,
    /// This poll's head read failed transiently (GitHub unreachable, rate-limited, a 5xx):
    /// why. A condition of the watcher, not of the project's environments.
    pub transient_failure: Option<String>,
    /// That failure was GitHub not answering at all (no connection, a timeout), as when the
    /// watcher's own network is down — not a rate limit or a 5xx.
    pub unreachable: bool,
    /// For each environment that follows GitHub Deployments (by name), its latest successful
    /// deployment as read by this poll (or kept from an earlier one through a transient
    /// failure). Empty for a poll made without them (`verify` asks per check).
    pub deployments: Vec<(String, DeploymentRead)>,
}

/// An environment's latest successful deployment as the repository poll read it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentRead {
    /// The deployment; `Ok(None)`: GitHub has no successful one for this environment.
    pub found: Result<Option<deploywatch_github::DeploymentHead>, String>,
    /// When it was read from GitHub.
    pub read_at: DateTime<Utc>,
    /// GitHub failed transiently on this poll: why (the deployment is the one read earlier,
    /// or, with none, `found` is that error).
    pub transient: Option<String>,
}

/// The last head read, kept through a transient GitHub failure.
#[derive(Clone, Debug, PartialEq)]
pub struct StaleHead {
    /// What GitHub did this time, in words ("GitHub is unreachable: …").
    pub reason: String,
    /// When the kept head was read.
    pub read_at: DateTime<Utc>,
}

impl RepoSnapshot {
    pub(crate) fn empty(now: DateTime<Utc>) -> RepoSnapshot {
        RepoSnapshot {
            head: Err(String::new()),
            runs: Vec::new(),
            runs_error: None,
            fetched_at: now,
            changed: false,
            recent_heads: Vec::new(),
            stale: None,
            runs_read_at: None,
            deferred_until: None,
            transient_failure: None,
            unreachable: false,
            deployments: Vec::new(),
        }
    }

    pub fn head_sha(&self) -> Option<&Sha> {
        self.head.as_ref().ok().map(|h| &h.sha)
    }

    /// The deployment this poll read for `environment`, if it read one.
    pub fn deployment(&self, environment: &str) -> Option<&DeploymentRead> {
        self.deployments
            .iter()
            .find(|(name, _)| name == environment)
            .map(|(_, read)| read)
    }

    /// When the head was read from GitHub.
    pub fn head_read_at(&self) -> DateTime<Utc> {
        self.stale.as_ref().map_or(self.fetched_at, |s| s.read_at)
    }

    /// What a check says about the age of the expected SHA, when it is not fresh from this
    /// poll: "…; the expected SHA is the head of main as of 12 min ago (read at 14:05:09 UTC)".
    pub fn age_note(&self, branch: &str, now: DateTime<Utc>) -> Option<String> {
        let read_at = self.head_read_at();
        let ago = human_duration((now - read_at).to_std().unwrap_or(Duration::ZERO));
        let when = read_at.format("%Y-%m-%d %H:%M:%S");
        if let Some(stale) = &self.stale {
            return Some(format!(
                "{}; the expected SHA is the head of {branch} as of {ago} ago (read at {when} UTC)",
                stale.reason
            ));
        }
        let until = self.deferred_until?;
        Some(format!(
            "GitHub's budget holds polls back: the expected SHA is the head of {branch} as of \
             {ago} ago (read at {when} UTC); the next read is due at {} UTC",
            until.format("%H:%M:%S")
        ))
    }

    /// A short fingerprint of the CI state, to tell whether anything changed between polls.
    pub(crate) fn ci_key(&self) -> Vec<(u64, String, Option<String>)> {
        let mut key: Vec<_> = self
            .runs
            .iter()
            .map(|r| (r.id, r.status.clone(), r.conclusion.clone()))
            .collect();
        key.sort();
        key
    }
}

/// Whether a poll reads the workflow runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunsRead {
    /// Nothing can have changed: same head, every run finished (or none, long after CI would
    /// have started), read within the hour.
    Skip,
    /// They may have moved (a run pending, CI yet to start, a re-run): read within the budget.
    Refresh,
    /// A head not read before: its runs decide the verdict, read whenever GitHub allows.
    New,
}

/// Finished runs are read again at most this often, for re-runs of a finished workflow.
const RUNS_REFRESH: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How many recent heads of a branch are offered to fingerprint detection as known commits.
const RECENT_PUSHES: usize = 50;

/// The oldest head the store remembers that a restarted watcher compares with while GitHub
/// cannot be read: GitHub's rate-limit window, after which a read is possible again.
const STORED_HEAD_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl Engine {
    /// Polls the project's branch head and, when they may have changed, the CI runs for it;
    /// records the push and the runs in the store. `previous` is the last snapshot, to tell
    /// what changed. (The watcher runs the steps itself, to order them within the budget.)
    ///
    /// A poll made this way (`verify`) never compares with a head only the store remembers:
    /// a pipeline's `verify` right after a push must not call the old head live because GitHub
    /// cannot be read; it says `unverifiable` (exit 1) instead. Within one `verify --wait`, a
    /// head read in an earlier round stands through a transient failure.
    pub async fn poll_repo(
        &self,
        project: &Project,
        previous: Option<&RepoSnapshot>,
    ) -> RepoSnapshot {
        let mut snap = self.read_head(project, previous, false).await;
        if self.runs_wanted(project, &snap, previous, Utc::now()) != RunsRead::Skip {
            self.read_runs(project, &mut snap).await;
        }
        self.finish_poll(project, &mut snap, previous);
        snap
    }

    /// Reads the branch head. Through a transient failure (unreachable, rate-limited, a 5xx)
    /// the head last read stands, marked stale with its age: the one in `previous`, or, with
    /// none and `from_store` (the watcher), the one the store saw within the last hour. The runs
    /// of an unchanged head are carried over.
    pub(crate) async fn read_head(
        &self,
        project: &Project,
        previous: Option<&RepoSnapshot>,
        from_store: bool,
    ) -> RepoSnapshot {
        let now = Utc::now();
        let mut snap = RepoSnapshot::empty(now);
        let head = match self
            .github
            .branch_head(&repo_ref(project), &project.branch)
            .await
        {
            Ok(polled) => polled.value,
            Err(e) if e.is_transient() => {
                // GitHub cannot answer now: keep comparing with the head last read, saying so,
                // instead of making every environment of the project unverifiable at once.
                let kept = match previous.filter(|p| p.head.is_ok()) {
                    Some(prev) => Some(RepoSnapshot {
                        changed: false,
                        stale: Some(StaleHead {
                            reason: e.to_string(),
                            read_at: prev.head_read_at(),
                        }),
                        deferred_until: None,
                        ..prev.clone()
                    }),
                    None if from_store => self.stored_snapshot(project, e.to_string(), now),
                    None => None,
                };
                if let Some(mut kept) = kept {
                    tracing::info!(
                        "{}: {e}; comparing with the head read at {}",
                        project.name,
                        kept.head_read_at()
                    );
                    kept.transient_failure = Some(e.to_string());
                    kept.unreachable = matches!(e, GitHubError::Unreachable(_));
                    return kept;
                }
                snap.head = Err(e.to_string());
                snap.transient_failure = Some(e.to_string());
                snap.unreachable = matches!(e, GitHubError::Unreachable(_));
                return snap;
            }
            Err(e) => {
                snap.head = Err(e.to_string());
                return snap;
            }
        };
        let commit_date = head.committed_at.unwrap_or(now).min(now);
        let stored = self.with_store(|s| -> Option<(DateTime<Utc>, Option<Sha>)> {
            // The first head a database ever sees for a branch was pushed before Deploywatch
            // looked: its commit date estimates the push time better than "now". Later heads
            // are seen as they arrive.
            let fresh = s
                .latest_push(&project.name, &project.branch)
                .ok()?
                .is_none();
            let record = PushRecord {
                project: project.name.clone(),
                branch: project.branch.clone(),
                sha: head.sha.clone(),
                author: head.author.clone(),
                message: head.message.clone(),
                seen_at: if fresh { commit_date } else { now },
            };
            s.record_push(&record).ok()?;
            let first = s.latest_push(&project.name, &project.branch).ok()??;
            let prev = s
                .previous_push(&project.name, &project.branch, &head.sha)
                .ok()?;
            Some((first.first_seen, prev.map(|p| p.sha)))
        });
        let (first_seen, previous_sha) = stored.flatten().unwrap_or((commit_date, None));
        if let Some(prev) = previous.filter(|p| p.head_sha() == Some(&head.sha)) {
            snap.runs = prev.runs.clone();
            snap.runs_read_at = prev.runs_read_at;
            snap.runs_error = prev.runs_error.clone();
        }
        snap.head = Ok(Head {
            sha: head.sha,
            first_seen,
            previous: previous_sha,
            author: head.author,
            message: head.message,
        });
        snap
    }

    /// Whether this poll should read the workflow runs of the head `snap` read.
    pub(crate) fn runs_wanted(
        &self,
        project: &Project,
        snap: &RepoSnapshot,
        previous: Option<&RepoSnapshot>,
        now: DateTime<Utc>,
    ) -> RunsRead {
        let Ok(head) = &snap.head else {
            return RunsRead::Skip;
        };
        if snap.stale.is_some() {
            return RunsRead::Skip;
        }
        let Some(read_at) = snap.runs_read_at else {
            return RunsRead::New;
        };
        if previous.and_then(RepoSnapshot::head_sha) != Some(&head.sha) {
            return RunsRead::New;
        }
        let ci_timeout = project
            .environments
            .iter()
            .map(|e| e.settings.ci_timeout)
            .min()
            .unwrap_or(Duration::from_secs(600));
        let ci_may_start = snap.runs.is_empty()
            && (now - head.first_seen).to_std().unwrap_or_default() < ci_timeout;
        let pending = snap.runs.iter().any(|r| r.status != "completed");
        if snap.runs_error.is_some() || pending || ci_may_start || now - read_at >= RUNS_REFRESH {
            RunsRead::Refresh
        } else {
            RunsRead::Skip
        }
    }

    /// Reads the CI runs for the head `snap` holds and records them. On a failure the runs
    /// read earlier for the same head stay (without them a transient failure would read as
    /// "no CI run", `ci_missing`) and the error is kept for the report.
    pub(crate) async fn read_runs(&self, project: &Project, snap: &mut RepoSnapshot) {
        let Some(sha) = snap.head_sha().cloned() else {
            return;
        };
        let now = Utc::now();
        match self
            .github
            .runs_for_sha(&repo_ref(project), &sha, &project.workflows)
            .await
        {
            Ok(runs) => {
                snap.runs = runs.value;
                snap.runs_error = None;
                snap.runs_read_at = Some(now);
                self.with_store(|s| {
                    for run in &snap.runs {
                        let _ = s.record_ci_run(&project.name, run, now);
                    }
                });
            }
            Err(e) => snap.runs_error = Some(e.to_string()),
        }
    }

    /// Reads the latest successful deployment of each environment of the project that
    /// follows GitHub Deployments. Through a transient failure the one read earlier (in
    /// `previous`) stands, marked with why.
    pub(crate) async fn read_deployments(
        &self,
        project: &Project,
        snap: &mut RepoSnapshot,
        previous: Option<&RepoSnapshot>,
    ) {
        let repo = repo_ref(project);
        for env in project
            .environments
            .iter()
            .filter(|e| e.follows == deploywatch_config::Follows::Deployments)
        {
            let now = Utc::now();
            let read = match self
                .github
                .latest_successful_deployment(&repo, &env.name)
                .await
            {
                Ok(found) => DeploymentRead {
                    found: Ok(found),
                    read_at: now,
                    transient: None,
                },
                Err(e) if e.is_transient() => {
                    if snap.transient_failure.is_none() {
                        snap.transient_failure = Some(e.to_string());
                        snap.unreachable = matches!(e, GitHubError::Unreachable(_));
                    }
                    match previous
                        .and_then(|p| p.deployment(&env.name))
                        .filter(|d| d.found.is_ok())
                    {
                        Some(kept) => DeploymentRead {
                            transient: Some(e.to_string()),
                            ..kept.clone()
                        },
                        None => DeploymentRead {
                            found: Err(e.to_string()),
                            read_at: now,
                            transient: Some(e.to_string()),
                        },
                    }
                }
                Err(e) => DeploymentRead {
                    found: Err(e.to_string()),
                    read_at: now,
                    transient: None,
                },
            };
            snap.deployments.push((env.name.clone(), read));
        }
    }

    /// Completes a poll: the recent heads (once per poll, shared by the environments' checks)
    /// and whether anything changed since `previous`.
    pub(crate) fn finish_poll(
        &self,
        project: &Project,
        snap: &mut RepoSnapshot,
        previous: Option<&RepoSnapshot>,
    ) {
        snap.recent_heads = self
            .with_store(|s| s.recent_push_shas(&project.name, &project.branch, RECENT_PUSHES))
            .and_then(Result::ok)
            .unwrap_or_else(|| snap.recent_heads.clone());
        let deployed = |s: &RepoSnapshot| -> Vec<Option<Sha>> {
            s.deployments
                .iter()
                .map(|(_, d)| {
                    d.found
                        .as_ref()
                        .ok()
                        .and_then(Option::as_ref)
                        .map(|d| d.sha.clone())
                })
                .collect()
        };
        snap.changed = match previous {
            None => true,
            Some(prev) => {
                prev.head_sha() != snap.head_sha()
                    || prev.ci_key() != snap.ci_key()
                    || deployed(prev) != deployed(snap)
            }
        };
    }

    /// The head the store last saw for the project's branch, with its runs, as a stale
    /// snapshot: what a check can compare with when GitHub cannot be read and this process
    /// has read nothing yet (a restart while rate-limited or offline). Only a head seen within
    /// [`STORED_HEAD_MAX_AGE`]: one from yesterday says little about what should run now.
    fn stored_snapshot(
        &self,
        project: &Project,
        reason: String,
        now: DateTime<Utc>,
    ) -> Option<RepoSnapshot> {
        let (push, previous, runs) = self
            .with_store(|s| {
                let push = s.latest_push(&project.name, &project.branch).ok()??;
                let previous = s
                    .previous_push(&project.name, &project.branch, &push.sha)
                    .ok()
                    .flatten()
                    .map(|p| p.sha);
                let runs = s.ci_runs_for(&project.name, &push.sha).unwrap_or_default();
                Some((push, previous, runs))
            })
            .flatten()?;
        if now - push.last_seen > STORED_HEAD_MAX_AGE {
            return None;
        }
        let mut snap = RepoSnapshot::empty(now);
        snap.stale = Some(StaleHead {
            reason,
            read_at: push.last_seen,
        });
        snap.runs = runs;
        snap.head = Ok(Head {
            sha: push.sha,
            first_seen: push.first_seen,
            previous,
            author: push.author,
            message: push.message,
        });
        Some(snap)
    }
}
