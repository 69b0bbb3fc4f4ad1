//! The fake's model of GitHub: repositories, branches, commits, workflows and their runs,
//! environments, deployments, commit statuses, files.
//!
//! Pure data and the queries the endpoints need (resolving a ref, comparing two commits); no
//! HTTP and no JSON here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

/// One recorded commit: what `push` was told.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    /// The branch head before this push, if the branch existed and moved.
    pub parent: Option<String>,
    pub branch: String,
    pub author: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// One workflow run as `add_run`/`update_run` left it.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub id: u64,
    pub workflow: String,
    pub workflow_id: u64,
    pub run_number: u64,
    pub head_sha: String,
    pub head_branch: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One workflow: added by [`crate::FakeHub::add_workflow`], or by the first run of a workflow
/// name the fake had not seen ([`crate::FakeHub::add_run`]).
#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    pub id: u64,
    /// The workflow's `name:`.
    pub name: String,
    /// Its file, `.github/workflows/ci.yml`.
    pub path: String,
    pub created_at: DateTime<Utc>,
}

/// One deployment environment.
#[derive(Debug, Clone)]
pub(crate) struct Environment {
    pub id: u64,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// One deployment and its statuses, oldest status first.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub environment: String,
    pub created_at: DateTime<Utc>,
    pub statuses: Vec<DeploymentStatus>,
}

/// One status of a deployment: added by [`crate::FakeHub::add_deployment_status`] or created
/// through `POST /repos/{owner}/{repo}/deployments/{id}/statuses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub id: u64,
    /// `error`, `failure`, `inactive`, `in_progress`, `queued`, `pending` or `success`.
    pub state: String,
    /// As written; `None` for a status added by `add_deployment_status`.
    pub description: Option<String>,
    /// The environment the status names; `None` means the deployment's own.
    pub environment: Option<String>,
    pub environment_url: Option<String>,
    /// The `log_url` written (or the legacy `target_url`, which GitHub takes for it), or the
    /// `target_url` given to `add_deployment_status_with_url`.
    pub log_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl DeploymentStatus {
    /// A status with only a state, as `add_deployment_status` creates it.
    pub(crate) fn bare(id: u64, state: &str, created_at: DateTime<Utc>) -> DeploymentStatus {
        DeploymentStatus {
            id,
            state: state.to_owned(),
            description: None,
            environment: None,
            environment_url: None,
            log_url: None,
            created_at,
        }
    }
}

/// One commit status created through `POST /repos/{owner}/{repo}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub id: u64,
    /// The full, lowercase SHA the status was attached to.
    pub sha: String,
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    /// As written; GitHub's default `default` when the request had none.
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One repository. Created on first use by any `FakeHub` setter.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub owner: String,
    pub name: String,
    /// Set by `set_repo`, else the first branch pushed; `main` when neither.
    pub default_branch: Option<String>,
    pub private: bool,
    pub branches: BTreeMap<String, String>,
    pub commits: HashMap<String, Commit>,
    pub runs: Vec<Run>,
    /// In the order they were added (GitHub lists them by id).
    pub workflows: Vec<Workflow>,
    /// In the order they were set or first deployed to.
    pub environments: Vec<Environment>,
    /// `GET …/environments` answers 404 (`set_environments_unavailable`).
    pub environments_unavailable: bool,
    pub deployments: Vec<Deployment>,
    /// Commit statuses, oldest first.
    pub statuses: Vec<CommitStatus>,
    /// File contents by path (`dir/file.toml`, no leading slash), the same at every ref.
    pub files: BTreeMap<String, String>,
}

impl Repo {
    pub fn new(full_name: &str) -> Repo {
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
        Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
            default_branch: None,
            private: false,
            branches: BTreeMap::new(),
            commits: HashMap::new(),
            runs: Vec::new(),
            workflows: Vec::new(),
            environments: Vec::new(),
            environments_unavailable: false,
            deployments: Vec::new(),
            statuses: Vec::new(),
            files: BTreeMap::new(),
        }
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The default branch GitHub reports.
    pub fn default_branch(&self) -> &str {
        self.default_branch.as_deref().unwrap_or("main")
    }

    /// What `path` names: a file, a directory (the paths of its entries, files and
    /// subdirectories, directly below it), or nothing. The empty path is the root directory.
    pub fn content(&self, path: &str) -> Content<'_> {
        if let Some(text) = self.files.get(path) {
            return Content::File(text);
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut entries: Vec<Entry> = Vec::new();
        for (file, text) in self.files.range(prefix.clone()..) {
            let Some(rest) = file.strip_prefix(&prefix) else {
                break;
            };
            let entry = match rest.split_once('/') {
                Some((dir, _)) => Entry::Dir(format!("{prefix}{dir}")),
                None => Entry::File(file.clone(), text),
            };
            if entries.last() != Some(&entry) {
                entries.push(entry);
            }
        }
        if entries.is_empty() && !path.is_empty() {
            Content::Missing
        } else {
            Content::Dir(entries)
        }
    }

    /// Resolves a branch name, a full SHA or an unambiguous SHA prefix (7+ hex digits) to a
    /// recorded commit SHA. SHAs compare case-insensitively, as on GitHub.
    pub fn resolve(&self, reference: &str) -> Option<String> {
        if let Some(sha) = self.branches.get(reference) {
            return Some(sha.clone());
        }
        let wanted = reference.to_ascii_lowercase();
        if wanted.len() < 7 || !wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut found = self.commits.keys().filter(|sha| sha.starts_with(&wanted));
        match (found.next(), found.next()) {
            (Some(sha), None) => Some(sha.clone()),
            _ => None,
        }
    }

    /// The SHAs from `sha` back to the first commit, `sha` first.
    fn ancestry(&self, sha: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = Some(sha.to_owned());
        while let Some(sha) = current {
            // A push of an already-recorded SHA could make a cycle; stop rather than loop.
            if chain.contains(&sha) {
                break;
            }
            current = self.commits.get(&sha).and_then(|c| c.parent.clone());
            chain.push(sha);
        }
        chain
    }

    /// Compares two resolved SHAs the way GitHub's compare API does.
    ///
    /// Returns `None` when they share no history (GitHub answers 404 then).
    pub fn compare(&self, base: &str, head: &str) -> Option<Comparison> {
        let head_chain = self.ancestry(head);
        let base_chain = self.ancestry(base);
        let merge_base = head_chain
            .iter()
            .find(|sha| base_chain.contains(sha))?
            .clone();
        let ahead: Vec<String> = head_chain
            .iter()
            .take_while(|sha| **sha != merge_base)
            .cloned()
            .collect();
        let behind_by = base_chain
            .iter()
            .take_while(|sha| **sha != merge_base)
            .count();
        let status = match (ahead.len(), behind_by) {
            (0, 0) => "identical",
            (_, 0) => "ahead",
            (0, _) => "behind",
            _ => "diverged",
        };
        Some(Comparison {
            status,
            behind_by,
            merge_base,
            // GitHub lists the commits oldest first.
            commits: ahead.into_iter().rev().collect(),
        })
    }
}

/// What a path of a repository names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Content<'a> {
    File(&'a str),
    /// The entries directly below, in path order.
    Dir(Vec<Entry<'a>>),
    Missing,
}

/// One entry of a directory: a file (its path and text) or a subdirectory (its path).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    File(String, &'a str),
    Dir(String),
}

/// The result of comparing two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub status: &'static str,
    pub behind_by: usize,
    pub merge_base: String,
    /// Commits reachable from head but not from base, oldest first.
    pub commits: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(pushes: &[(&str, &str)]) -> Repo {
        let mut repo = Repo::new("acme/shop");
        for (branch, sha) in pushes {
            let parent = repo.branches.get(*branch).cloned();
            repo.commits.insert(
                (*sha).to_owned(),
                Commit {
                    parent,
                    branch: (*branch).to_owned(),
                    author: "a".into(),
                    message: "m".into(),
                    at: Utc::now(),
                },
            );
            repo.branches
                .insert((*branch).to_owned(), (*sha).to_owned());
        }
        repo
    }

    #[test]
    fn compare_statuses() {
        let repo = repo_with(&[
            ("main", "aaaaaaa1"),
            ("main", "bbbbbbb2"),
            ("main", "ccccccc3"),
        ]);
        let check = |base: &str, head: &str, status: &str, commits: &[&str], behind: usize| {
            let got = repo.compare(base, head).expect("shared history");
            let got_commits: Vec<&str> = got.commits.iter().map(String::as_str).collect();
            assert_eq!(
                (got.status, got_commits.as_slice(), got.behind_by),
                (status, commits, behind),
                "{base}...{head}"
            );
        };
        check(
            "aaaaaaa1",
            "ccccccc3",
            "ahead",
            &["bbbbbbb2", "ccccccc3"],
            0,
        );
        check("ccccccc3", "aaaaaaa1", "behind", &[], 2);
        check("bbbbbbb2", "bbbbbbb2", "identical", &[], 0);
    }

    #[test]
    fn content_of_files_and_directories() {
        let mut repo = Repo::new("acme/shop");
        for path in [
            ".github/deploywatch.toml",
            ".github/workflows/ci.yml",
            "README.md",
        ] {
            repo.files
                .insert(path.to_owned(), format!("text of {path}"));
        }
        // A file that sorts between the directory's entries without being one of them.
        repo.files.insert(".github-x".to_owned(), "x".to_owned());
        assert_eq!(
            repo.content("README.md"),
            Content::File("text of README.md")
        );
        assert_eq!(
            repo.content(".github"),
            Content::Dir(vec![
                Entry::File(
                    ".github/deploywatch.toml".into(),
                    "text of .github/deploywatch.toml"
                ),
                Entry::Dir(".github/workflows".into()),
            ])
        );
        assert_eq!(
            repo.content(""),
            Content::Dir(vec![
                Entry::File(".github-x".into(), "x"),
                Entry::Dir(".github".into()),
                Entry::File("README.md".into(), "text of README.md"),
            ])
        );
        assert_eq!(repo.content(".git"), Content::Missing);
        assert_eq!(repo.content("README.md/x"), Content::Missing);
        assert_eq!(Repo::new("a/b").content(""), Content::Dir(Vec::new()));
    }

    #[test]
    fn resolve_accepts_branch_full_and_short_sha() {
        let repo = repo_with(&[("main", "abcdef1234567890"), ("dev", "abcdef1999999999")]);
        assert_eq!(repo.resolve("main").as_deref(), Some("abcdef1234567890"));
        assert_eq!(
            repo.resolve("ABCDEF12").as_deref(),
            Some("abcdef1234567890")
        );
        // Ambiguous or too short prefixes resolve to nothing, as an unknown ref would.
        assert_eq!(repo.resolve("abcdef"), None);
        assert_eq!(repo.resolve("abcdef1"), None);
        assert_eq!(repo.resolve("nope"), None);
    }
}
