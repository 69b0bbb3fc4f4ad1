//! The few fields Deploywatch reads from GitHub's JSON, as serde structs, and their conversion
//! to the crate's types. Every field is optional or defaulted where GitHub documents it as
//! nullable, so an odd answer degrades to a missing value rather than a failed poll.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use deploywatch_core::{CiRun, Sha};
use serde::{Deserialize, Deserializer};

use crate::{BranchHead, CommitSummary, RepoFile};

/// A timestamp that is `None` when absent, `null` or not RFC 3339.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.and_then(|t| {
        DateTime::parse_from_rfc3339(&t)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }))
}

/// A string that is `None` when absent, `null` or empty (GitHub's default for a URL nobody set).
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()))
}

/// `GET /repos/{o}/{r}`: the fields of a full repository Deploywatch shows.
#[derive(Deserialize)]
pub(crate) struct Repository {
    pub(crate) full_name: String,
    pub(crate) default_branch: String,
    pub(crate) html_url: String,
    pub(crate) private: bool,
    #[serde(default)]
    pub(crate) archived: bool,
}

/// `GET /repos/{o}/{r}/environments`.
#[derive(Deserialize)]
pub(crate) struct EnvironmentList {
    #[serde(default)]
    pub(crate) environments: Vec<Environment>,
}

#[derive(Deserialize)]
pub(crate) struct Environment {
    pub(crate) name: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) html_url: Option<String>,
}

/// `GET /repos/{o}/{r}/actions/workflows`.
#[derive(Deserialize)]
pub(crate) struct WorkflowList {
    #[serde(default)]
    pub(crate) workflows: Vec<Workflow>,
}

#[derive(Deserialize)]
pub(crate) struct Workflow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) state: String,
}

/// One item of `GET /repos/{o}/{r}/contents/{path}` (a file, symlink or submodule; a
/// directory is an array of entries instead).
#[derive(Deserialize)]
struct Content {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    sha: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    html_url: Option<String>,
}

/// The file a contents answer holds, its base64 `content` decoded; why not otherwise (a
/// directory, a symlink or submodule, a file whose content GitHub leaves out, text that is
/// not base64 or not UTF-8).
pub(crate) fn content_file(body: &[u8]) -> Result<RepoFile, String> {
    if body.trim_ascii_start().starts_with(b"[") {
        return Err("it is a directory, not a file".to_owned());
    }
    let item: Content = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if item.kind != "file" {
        let kind = if item.kind == "dir" {
            "directory"
        } else {
            item.kind.as_str()
        };
        return Err(format!("it is a {kind}, not a file"));
    }
    let too_large = || {
        let size = item
            .size
            .map(|s| format!(" ({s} bytes)"))
            .unwrap_or_default();
        format!(
            "GitHub sent no content{size}: its contents API includes the content of files up \
             to 1 MB only"
        )
    };
    let encoded = match (item.encoding.as_deref(), item.content.as_deref()) {
        (Some("base64"), Some(content)) => content,
        (Some("none") | None, _) | (Some("base64"), None) => return Err(too_large()),
        (Some(other), _) => return Err(format!("unknown content encoding {other:?}")),
    };
    // GitHub wraps the base64 text with newlines.
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() && item.size.is_some_and(|s| s > 0) {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|e| format!("its content is not base64: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "it is not UTF-8 text (byte {} is not)",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(RepoFile {
        path: item.path,
        sha: item.sha,
        text,
        html_url: item.html_url,
    })
}

#[derive(Deserialize)]
pub(crate) struct Branch {
    pub(crate) commit: Commit,
}

/// A commit as `GET /branches/{b}` and `GET /compare` return it.
#[derive(Deserialize)]
pub(crate) struct Commit {
    pub(crate) sha: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    commit: Option<GitCommit>,
    /// The GitHub account, when the commit e-mail belongs to one.
    #[serde(default)]
    author: Option<Account>,
}

#[derive(Deserialize)]
struct GitCommit {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    author: Option<GitPerson>,
    #[serde(default)]
    committer: Option<GitPerson>,
}

#[derive(Deserialize)]
struct GitPerson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    date: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    login: Option<String>,
}

impl Commit {
    /// The GitHub login when known (what people recognise in a team), else the git author name.
    fn author(&self) -> Option<String> {
        let login = self.author.as_ref().and_then(|a| a.login.clone());
        login.or_else(|| {
            self.commit
                .as_ref()
                .and_then(|c| c.author.as_ref())
                .and_then(|a| a.name.clone())
        })
    }

    fn message(&self) -> Option<&str> {
        self.commit.as_ref().and_then(|c| c.message.as_deref())
    }

    pub(crate) fn into_head(self) -> Result<BranchHead, String> {
        let sha = parse_sha(&self.sha)?;
        let git = self.commit.as_ref();
        // The committer date is when the commit landed on the branch (a rebase or merge keeps
        // the author date of the original work).
        let committed_at = git
            .and_then(|c| c.committer.as_ref())
            .and_then(|c| c.date)
            .or_else(|| git.and_then(|c| c.author.as_ref()).and_then(|a| a.date));
        Ok(BranchHead {
            author: self.author(),
            message: self.message().map(str::to_owned),
            committed_at,
            sha,
        })
    }

    pub(crate) fn into_summary(self) -> Result<CommitSummary, String> {
        Ok(CommitSummary {
            sha: parse_sha(&self.sha)?,
            author: self.author(),
            message: self
                .message()
                .and_then(|m| m.lines().next())
                .unwrap_or_default()
                .trim_end()
                .to_owned(),
            url: self.html_url.clone().unwrap_or_default(),
        })
    }
}

fn parse_sha(text: &str) -> Result<Sha, String> {
    Sha::parse(text).ok_or_else(|| format!("commit sha {text:?} is not a git SHA"))
}

#[derive(Deserialize)]
pub(crate) struct Compare {
    #[serde(default)]
    pub(crate) commits: Vec<Commit>,
}

#[derive(Deserialize)]
pub(crate) struct RunList {
    #[serde(default)]
    pub(crate) workflow_runs: Vec<Run>,
}

#[derive(Deserialize)]
pub(crate) struct Run {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    /// `.github/workflows/ci.yml`
    #[serde(default)]
    path: Option<String>,
    head_sha: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
}

impl Run {
    /// True when the run belongs to one of `workflows`, named either as the workflow's `name:`
    /// (`CI`) or as its file (`ci.yml`), since both are how people refer to a workflow.
    /// An empty list selects every run.
    pub(crate) fn is_selected(&self, workflows: &[String]) -> bool {
        if workflows.is_empty() {
            return true;
        }
        let file = self
            .path
            .as_deref()
            .and_then(|p| p.split('@').next())
            .and_then(|p| p.rsplit('/').next());
        workflows.iter().any(|w| {
            let w = w.trim();
            self.name.as_deref() == Some(w) || file == Some(w)
        })
    }

    /// The run as the core sees it; `None` for a run whose head SHA or creation time is
    /// unusable (it could not be matched to anything anyway).
    pub(crate) fn into_ci_run(self) -> Option<CiRun> {
        let status = self.status.unwrap_or_else(|| "unknown".to_owned());
        let completed = status == "completed";
        Some(CiRun {
            id: self.id,
            workflow: self.name.unwrap_or_default(),
            head_sha: Sha::parse(&self.head_sha)?,
            conclusion: self.conclusion.filter(|_| completed),
            url: self.html_url.unwrap_or_default(),
            created_at: self.created_at.or(self.updated_at)?,
            completed_at: if completed { self.updated_at } else { None },
            status,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct Deployment {
    pub(crate) id: u64,
    pub(crate) sha: String,
    #[serde(default)]
    pub(crate) environment: String,
    #[serde(default, deserialize_with = "lenient_time")]
    pub(crate) created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
pub(crate) struct DeploymentStatus {
    pub(crate) id: u64,
    pub(crate) state: String,
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) environment_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) target_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) log_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub(crate) created_at: Option<DateTime<Utc>>,
}

/// A created commit or deployment status: the fields Deploywatch keeps.
#[derive(Deserialize)]
pub(crate) struct CreatedStatus {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) url: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub(crate) created_at: Option<DateTime<Utc>>,
}

/// GitHub's `422` body: `message` ("Validation Failed") and `errors`, each an object with a
/// `message` or `field` and `code` (`validation-error`), or a string (`validation-error-simple`).
#[derive(Deserialize)]
struct ValidationBody {
    message: String,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// A `422` answer as one line: GitHub's message and the reasons in `errors`
/// (`Validation Failed: description is too long (maximum is 140 characters)`); anything else
/// as [`error_message`] reads it.
pub(crate) fn validation_detail(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ValidationBody>(body) else {
        return error_message(body);
    };
    let reasons: Vec<String> = parsed
        .errors
        .iter()
        .filter_map(|item| match item {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Object(map) => {
                let text = |key: &str| map.get(key).and_then(|v| v.as_str());
                text("message").map(str::to_owned).or_else(|| {
                    let field = text("field")?;
                    Some(format!("{field} {}", text("code").unwrap_or("invalid")))
                })
            }
            _ => None,
        })
        .collect();
    if reasons.is_empty() {
        parsed.message
    } else {
        format!("{}: {}", parsed.message, reasons.join("; "))
    }
}

/// GitHub's error body: `{"message": "Not Found", "documentation_url": …}`.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) message: String,
}

/// The message of an error body, or its first bytes as text when it is not GitHub's JSON.
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return e.message;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

    fn run(name: Option<&str>, path: Option<&str>) -> Run {
        Run {
            id: 1,
            name: name.map(str::to_owned),
            path: path.map(str::to_owned),
            head_sha: SHA.into(),
            status: Some("completed".into()),
            conclusion: Some("success".into()),
            html_url: None,
            created_at: None,
            updated_at: None,
        }
    }

    #[test]
    fn workflow_selection() {
        let check = |name, path, workflows: &[&str], want: bool| {
            let workflows: Vec<String> = workflows.iter().map(|w| w.to_string()).collect();
            assert_eq!(
                run(name, path).is_selected(&workflows),
                want,
                "{name:?} {path:?} {workflows:?}"
            );
        };
        let ci = Some(".github/workflows/ci.yml");
        check(Some("CI"), ci, &[], true);
        check(Some("CI"), ci, &["CI"], true);
        check(Some("CI"), ci, &["ci.yml"], true);
        check(
            Some("CI"),
            Some(".github/workflows/ci.yml@refs/heads/main"),
            &["ci.yml"],
            true,
        );
        check(Some("CI"), ci, &["Deploy", "CI"], true);
        check(Some("CI"), ci, &["ci"], false);
        check(Some("Lint"), ci, &["CI"], false);
        check(None, None, &["CI"], false);
    }

    #[test]
    fn run_conversion() {
        let json = format!(
            r#"{{"id": 30433642, "name": "Build", "head_sha": "{SHA}", "status": "completed",
                "conclusion": "failure", "html_url": "https://github.com/o/r/actions/runs/30433642",
                "created_at": "2020-01-22T19:33:08Z", "updated_at": "2020-01-22T19:40:08+01:00"}}"#
        );
        let run: Run = serde_json::from_str(&json).expect("decodes");
        let ci = run.into_ci_run().expect("usable");
        assert_eq!(ci.workflow, "Build");
        assert!(ci.is_failed());
        assert_eq!(
            ci.completed_at.map(|t| t.to_rfc3339()),
            Some("2020-01-22T18:40:08+00:00".into())
        );

        let pending = format!(
            r#"{{"id": 1, "name": "Build", "head_sha": "{SHA}", "status": "in_progress",
                "conclusion": null, "created_at": "2020-01-22T19:33:08Z", "updated_at": "garbage"}}"#
        );
        let ci = serde_json::from_str::<Run>(&pending)
            .expect("decodes")
            .into_ci_run()
            .expect("usable");
        assert_eq!(
            (ci.status.as_str(), ci.conclusion, ci.completed_at),
            ("in_progress", None, None)
        );

        let bad_sha = r#"{"id": 1, "head_sha": "not-a-sha", "created_at": "2020-01-22T19:33:08Z"}"#;
        assert!(
            serde_json::from_str::<Run>(bad_sha)
                .expect("decodes")
                .into_ci_run()
                .is_none()
        );
    }

    #[test]
    fn commit_summaries_take_login_and_first_line() {
        let check = |json: &str, want: (&str, Option<&str>, &str)| {
            let c: Commit = serde_json::from_str(json).expect("decodes");
            let s = c.into_summary().expect("valid sha");
            assert_eq!(
                (s.message.as_str(), s.author.as_deref(), s.url.as_str()),
                want,
                "{json}"
            );
        };
        check(
            &format!(
                r#"{{"sha": "{SHA}", "html_url": "u", "author": {{"login": "octocat"}},
                "commit": {{"message": "Fix all the bugs\n\nLong text", "author": {{"name": "Monalisa"}}}}}}"#
            ),
            ("Fix all the bugs", Some("octocat"), "u"),
        );
        check(
            &format!(
                r#"{{"sha": "{SHA}", "author": null, "commit": {{"message": "One line\r\n", "author": {{"name": "Monalisa"}}}}}}"#
            ),
            ("One line", Some("Monalisa"), ""),
        );
        check(&format!(r#"{{"sha": "{SHA}"}}"#), ("", None, ""));
    }

    #[test]
    fn content_files_decode_or_say_why_not() {
        let item = |fields: &str| {
            format!(
                r#"{{"type": "file", "path": "a/b.toml", "sha": "3d21ec5", "html_url": "",
                    {fields}}}"#
            )
        };
        let file =
            content_file(item(r#""encoding": "base64", "content": "aGVs\nbG8K\n""#).as_bytes())
                .expect("a file");
        assert_eq!(
            (
                file.path.as_str(),
                file.sha.as_str(),
                file.text.as_str(),
                file.html_url
            ),
            ("a/b.toml", "3d21ec5", "hello\n", None)
        );
        let empty =
            content_file(item(r#""size": 0, "encoding": "base64", "content": """#).as_bytes())
                .expect("an empty file");
        assert_eq!(empty.text, "");

        let refused = |body: &str, want: &str| {
            let err = content_file(body.as_bytes()).expect_err(body);
            assert!(err.contains(want), "{body}: {err}");
        };
        refused(r#"[{"type": "file"}]"#, "is a directory");
        refused(
            r#"{"type": "symlink", "path": "l", "sha": "1", "target": "x"}"#,
            "is a symlink",
        );
        refused(
            r#"{"type": "dir", "path": "d", "sha": "1"}"#,
            "is a directory",
        );
        refused(
            &item(r#""size": 2000000, "encoding": "none", "content": """#),
            "up to 1 MB",
        );
        refused(&item(r#""size": 2000000"#), "up to 1 MB");
        refused(
            &item(r#""size": 5, "encoding": "base64", "content": """#),
            "up to 1 MB",
        );
        refused(
            &item(r#""encoding": "utf-8", "content": "x""#),
            "unknown content encoding",
        );
        refused(
            &item(r#""encoding": "base64", "content": "not base64!""#),
            "not base64",
        );
        // 0xff is never UTF-8.
        refused(
            &item(r#""encoding": "base64", "content": "aGn/""#),
            "not UTF-8",
        );
        refused(r#"{"message": "x"}"#, "missing field");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(br#"{"message":"Bad credentials","documentation_url":"x"}"#),
            "Bad credentials"
        );
        assert_eq!(error_message(b"<html>502</html>"), "<html>502</html>");
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(error_message(&[b'x'; 500]).len(), 200);
    }

    #[test]
    fn validation_details() {
        let check = |body: &str, want: &str| {
            assert_eq!(validation_detail(body.as_bytes()), want, "{body}");
        };
        check(
            r#"{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom",
                "field":"description","message":"description is too long (maximum is 140 characters)"}]}"#,
            "Validation Failed: description is too long (maximum is 140 characters)",
        );
        check(
            r#"{"message":"Validation Failed","errors":[{"resource":"Status","field":"state","code":"invalid"},"and a string"]}"#,
            "Validation Failed: state invalid; and a string",
        );
        check(
            r#"{"message":"No commit found for SHA: abc","documentation_url":"x"}"#,
            "No commit found for SHA: abc",
        );
        check("<html>422</html>", "<html>422</html>");
    }
}
