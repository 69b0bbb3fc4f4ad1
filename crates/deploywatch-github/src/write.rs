//! Writing to GitHub so that GitHub shows what Deploywatch sees: a commit status per
//! environment (`POST /repos/{o}/{r}/statuses/{sha}`) and deployment statuses
//! (`POST /repos/{o}/{r}/deployments/{id}/statuses`).
//!
//! Writes go through the same rate-limit gate, request count and timeout as reads (GitHub
//! charges them to the same quota), one at a time and at least the write interval apart
//! (GitHub's advice against its secondary rate limits). They are never retried here: every
//! `POST` creates one more status, and GitHub keeps at most 1000 per commit and context.

use chrono::{DateTime, Utc};
use deploywatch_core::Sha;
use http::header::{ACCEPT, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use crate::client::{GITHUB_JSON, decode, status_error};
use crate::{GitHub, GitHubError, RepoRef, wire};

/// The most characters GitHub accepts in the `description` of a commit or deployment status;
/// a longer one is refused with `422` ("description is too long (maximum is 140 characters)").
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// Which kind of status a write creates; names the scope or permission it needs in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteKind {
    CommitStatus,
    DeploymentStatus,
}

impl WriteKind {
    /// `commit status`
    pub fn singular(self) -> &'static str {
        match self {
            WriteKind::CommitStatus => "commit status",
            WriteKind::DeploymentStatus => "deployment status",
        }
    }

    /// `commit statuses`
    pub fn plural(self) -> &'static str {
        match self {
            WriteKind::CommitStatus => "commit statuses",
            WriteKind::DeploymentStatus => "deployment statuses",
        }
    }

    /// What a token needs for this write, for a classic and a fine-grained token.
    pub fn needs(self) -> &'static str {
        match self {
            WriteKind::CommitStatus => {
                "the `repo:status` scope (classic) or `Commit statuses: write` (fine-grained)"
            }
            WriteKind::DeploymentStatus => {
                "the `repo_deployment` scope (classic) or `Deployments: write` (fine-grained)"
            }
        }
    }

    /// What must exist for the write to be found (a 404 may also mean it does not).
    pub(crate) fn targets_exist(self) -> &'static str {
        match self {
            WriteKind::CommitStatus => "the repository exists",
            WriteKind::DeploymentStatus => "the repository and the deployment exist",
        }
    }
}

/// The state of a commit status, as GitHub accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
}

impl StatusState {
    /// GitHub's name: `pending`, `success`, `failure`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
        }
    }
}

/// The state of a deployment status, as GitHub accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentState {
    Error,
    Failure,
    /// GitHub shows a transient deployment set inactive as destroyed.
    Inactive,
    InProgress,
    Queued,
    Pending,
    Success,
}

impl DeploymentState {
    /// GitHub's name: `error`, `failure`, `inactive`, `in_progress`, `queued`, `pending`,
    /// `success`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Error => "error",
            DeploymentState::Failure => "failure",
            DeploymentState::Inactive => "inactive",
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Queued => "queued",
            DeploymentState::Pending => "pending",
            DeploymentState::Success => "success",
        }
    }
}

/// A commit status to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusWrite {
    pub state: StatusState,
    /// The label that keeps this status apart from other systems' (`deploywatch/production`);
    /// GitHub shows the newest status of each context.
    pub context: String,
    /// One line shown next to the status; cut to [`MAX_DESCRIPTION_CHARS`] with an ellipsis
    /// (see [`truncate_description`]). Empty sends none.
    pub description: String,
    /// Where the status links to; `None` sends none.
    pub target_url: Option<String>,
}

/// A deployment status to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentStatusWrite {
    pub state: DeploymentState,
    /// Cut to [`MAX_DESCRIPTION_CHARS`] with an ellipsis (see [`truncate_description`]).
    pub description: String,
    /// Where the deployed environment is reached; `None` leaves GitHub's default (none).
    pub environment_url: Option<String>,
    /// Where the deployment's output can be read (GitHub sets `target_url` to the same);
    /// `None` leaves GitHub's default (none).
    pub log_url: Option<String>,
}

/// A status GitHub created, as it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedStatus {
    pub id: u64,
    /// Its API URL; empty when GitHub gave none.
    pub url: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// `text` cut to GitHub's [`MAX_DESCRIPTION_CHARS`]: unchanged when it fits, otherwise its
/// first characters (whole characters, never a split UTF-8 sequence), trailing whitespace
/// removed, and `…`, at most 140 characters in all.
pub fn truncate_description(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let cut = text
        .char_indices()
        .nth(MAX_DESCRIPTION_CHARS - 1)
        .map_or(text.len(), |(at, _)| at);
    // A dangling zero-width joiner would glue the ellipsis to the emoji before it.
    let kept = text[..cut].trim_end().trim_end_matches('\u{200d}');
    format!("{kept}…")
}

impl GitHub {
    /// Creates a commit status on `sha` (`POST /repos/{o}/{r}/statuses/{sha}`): what GitHub
    /// shows next to the commit, under `status.context`. `sha` should be the full SHA (as a
    /// branch head gives it); the description is cut to 140 characters.
    ///
    /// # Errors
    /// [`GitHubError::TokenRequired`] without a token (nothing is sent);
    /// [`GitHubError::WriteRefused`] on 403/404, naming the scope or permission the token
    /// needs; [`GitHubError::WriteRejected`] on 422 (an unknown commit, 1000 statuses for this
    /// commit and context already); [`GitHubError::RateLimited`] before or after sending, as
    /// for reads; otherwise as described on [`GitHubError`].
    pub async fn create_commit_status(
        &self,
        repo: &RepoRef,
        sha: &Sha,
        status: &StatusWrite,
    ) -> Result<CreatedStatus, GitHubError> {
        let mut body = json!({
            "state": status.state.as_str(),
            "context": status.context,
        });
        if !status.description.is_empty() {
            body["description"] = Value::from(truncate_description(&status.description));
        }
        if let Some(url) = &status.target_url {
            body["target_url"] = Value::from(url.as_str());
        }
        let url = self.base.repo_url(repo, &["statuses", sha.as_str()], &[]);
        let target = format!(
            "commit {} in {repo} (context {})",
            sha.short(),
            status.context
        );
        self.write(WriteKind::CommitStatus, repo, &url, &body, target)
            .await
    }

    /// Creates a status of deployment `deployment_id` (`POST
    /// /repos/{o}/{r}/deployments/{id}/statuses`), e.g. the id of a
    /// [`crate::DeploymentHead`]. GitHub's `auto_inactive` default applies: a `success`
    /// marks older successful deployments to the same non-production environment inactive.
    ///
    /// # Errors
    /// As for [`GitHub::create_commit_status`]; `WriteRefused` names the deployments
    /// permission, and a 404 may also mean that the deployment does not exist.
    pub async fn create_deployment_status(
        &self,
        repo: &RepoRef,
        deployment_id: u64,
        status: &DeploymentStatusWrite,
    ) -> Result<CreatedStatus, GitHubError> {
        let mut body = json!({
            "state": status.state.as_str(),
            "description": truncate_description(&status.description),
        });
        if let Some(url) = &status.environment_url {
            body["environment_url"] = Value::from(url.as_str());
        }
        if let Some(url) = &status.log_url {
            body["log_url"] = Value::from(url.as_str());
        }
        let id = deployment_id.to_string();
        let url = self
            .base
            .repo_url(repo, &["deployments", &id, "statuses"], &[]);
        let target = format!("deployment {deployment_id} of {repo}");
        self.write(WriteKind::DeploymentStatus, repo, &url, &body, target)
            .await
    }

    /// One `POST` of `body` to `url`: refused without a token, one write at a time at least
    /// the write interval after the previous one, then through the rate gate like a read.
    async fn write(
        &self,
        kind: WriteKind,
        repo: &RepoRef,
        url: &Url,
        body: &Value,
        target: String,
    ) -> Result<CreatedStatus, GitHubError> {
        if !self.is_authenticated() {
            return Err(GitHubError::TokenRequired {
                kind,
                repo: repo.to_string(),
            });
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(GITHUB_JSON));
        let (parts, bytes) = self
            .one_write(self.exchange(Method::POST, url, headers, Some(body)))
            .await?;
        let status = parts.status;
        if status.is_success() {
            let created: wire::CreatedStatus = decode(&bytes, kind.singular())?;
            return Ok(CreatedStatus {
                id: created.id,
                url: created.url.unwrap_or_default(),
                created_at: created.created_at,
            });
        }
        match status {
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Err(GitHubError::WriteRefused {
                kind,
                repo: repo.to_string(),
                status: status.as_u16(),
                detail: wire::error_message(&bytes),
            }),
            StatusCode::UNPROCESSABLE_ENTITY => {
                let mut detail = wire::validation_detail(&bytes);
                if detail.contains("maximum number of statuses") {
                    detail.push_str(
                        " (GitHub keeps at most 1000 statuses per commit and context; a new \
                         commit or another context is needed)",
                    );
                }
                Err(GitHubError::WriteRejected {
                    kind,
                    target,
                    detail,
                })
            }
            _ => Err(status_error(status, &bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_to_140_characters_on_char_boundaries() {
        // (input, expected output)
        let long_ascii = "a".repeat(200);
        let exact = "b".repeat(140);
        let one_over = "c".repeat(141);
        let e_acute = "é".repeat(150); // 2 bytes each
        let cjk = "漢".repeat(141); // 3 bytes each
        let emoji = "🚀".repeat(145); // 4 bytes each
        let spaced = format!("{} tail", "d".repeat(138));
        let zwj = format!("{}👩\u{200d}💻x", "e".repeat(137));
        let cases: Vec<(&str, String)> = vec![
            ("", String::new()),
            ("short", "short".into()),
            (&exact, exact.clone()),
            (&long_ascii, format!("{}…", "a".repeat(139))),
            (&one_over, format!("{}…", "c".repeat(139))),
            (&e_acute, format!("{}…", "é".repeat(139))),
            (&cjk, format!("{}…", "漢".repeat(139))),
            (&emoji, format!("{}…", "🚀".repeat(139))),
            // Whitespace before the cut is dropped rather than kept before the ellipsis.
            (&spaced, format!("{}…", "d".repeat(138))),
            // The joiner of a cut emoji sequence is not left dangling.
            (&zwj, format!("{}👩…", "e".repeat(137))),
            (
                "ünïcödé 😀 under the limit",
                "ünïcödé 😀 under the limit".into(),
            ),
        ];
        for (input, want) in cases {
            let got = truncate_description(input);
            assert_eq!(got, want, "{input:?}");
            assert!(got.chars().count() <= MAX_DESCRIPTION_CHARS, "{got:?}");
            if input.chars().count() > MAX_DESCRIPTION_CHARS {
                assert!(got.ends_with('…'), "{got:?}");
                assert!(input.starts_with(got.trim_end_matches('…')), "{got:?}");
            }
        }
    }

    #[test]
    fn state_names_are_githubs() {
        let commit: Vec<&str> = [
            StatusState::Error,
            StatusState::Failure,
            StatusState::Pending,
            StatusState::Success,
        ]
        .into_iter()
        .map(StatusState::as_str)
        .collect();
        assert_eq!(commit, ["error", "failure", "pending", "success"]);
        let deployment: Vec<&str> = [
            DeploymentState::Error,
            DeploymentState::Failure,
            DeploymentState::Inactive,
            DeploymentState::InProgress,
            DeploymentState::Queued,
            DeploymentState::Pending,
            DeploymentState::Success,
        ]
        .into_iter()
        .map(DeploymentState::as_str)
        .collect();
        assert_eq!(
            deployment,
            [
                "error",
                "failure",
                "inactive",
                "in_progress",
                "queued",
                "pending",
                "success"
            ]
        );
    }
}
