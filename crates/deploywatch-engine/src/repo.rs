//! One GitHub poll of a project's repository: the branch head and the CI runs for it, shared by
//! every environment of the project that follows the branch.

use chrono::{DateTime, Utc};
use deploywatch_core::{CiRun, Sha};

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
    /// one: why, and when they were read.
    pub stale: Option<StaleHead>,
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
    pub fn head_sha(&self) -> Option<&Sha> {
        self.head.as_ref().ok().map(|h| &h.sha)
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
