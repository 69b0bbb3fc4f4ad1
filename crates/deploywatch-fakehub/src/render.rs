//! Turns the fake's state into response bodies: each starts as GitHub's official example and
//! only the values the fake controls (SHAs, ids, names, dates, states, counts, URLs naming
//! them) are patched; every other field stays as in the example.

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::blob::{git_blob_sha, wrapped_base64};
use crate::examples::{
    Examples, login_for, patch_user, replace_in_strings, retarget, set, string_at,
};
use crate::state::{
    Commit, CommitStatus, Deployment, DeploymentStatus, Entry, Environment, Repo, Run, Workflow,
};

/// The largest file whose `content` the contents API includes; GitHub's limit is 1 MB, above
/// which `content` is empty and `encoding` is `none`.
pub(crate) const MAX_CONTENT_BYTES: usize = 1024 * 1024;

/// What a name keeps unencoded in a URL path segment or query value: RFC 3986's unreserved
/// characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` as one percent-encoded URL path segment or query value.
fn encoded(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// A repository path (`.github/deploywatch.toml`) for a URL: each segment encoded, `/` kept.
fn encoded_path(path: &str) -> String {
    path.split('/').map(encoded).collect::<Vec<_>>().join("/")
}

/// What every renderer needs: the examples and the API base the request came in on.
pub(crate) struct Ctx<'a> {
    pub examples: &'a Examples,
    /// `http://127.0.0.1:PORT` or `http://127.0.0.1:PORT/api/v3`.
    pub api_base: &'a str,
}

/// RFC 3339 with whole seconds and `Z`, as GitHub writes dates.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The first line of a commit message (GitHub's `display_title` for push runs).
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

impl Ctx<'_> {
    fn api(&self, repo: &Repo) -> String {
        format!("{}/repos/{}", self.api_base, repo.full_name())
    }

    fn html(repo: &Repo) -> String {
        format!("https://github.com/{}", repo.full_name())
    }

    /// A copy of `template` describing `repo` and served from this API base.
    fn retargeted(&self, template: &Value, repo: &Repo) -> Value {
        let mut value = template.clone();
        retarget(&mut value, &repo.owner, &repo.name, self.api_base);
        value
    }

    /// A commit object (the `commit` schema, as in a branch, a compare or get-commit answer).
    ///
    /// `commit` is `None` for a SHA the fake only knows by name (say, the base of a compare
    /// that was never pushed); then only the SHA is patched.
    fn commit(&self, template: &Value, repo: &Repo, sha: &str, commit: Option<&Commit>) -> Value {
        let mut value = self.retargeted(template, repo);
        let parent_template = value.pointer("/parents/0").cloned();
        if let Some(old) = string_at(&value, "/sha") {
            replace_in_strings(&mut value, &old, sha);
        }
        let Some(commit) = commit else {
            return value;
        };
        let login = login_for(&commit.author);
        let email = format!("{login}@users.noreply.github.com");
        let date = timestamp(commit.at);
        for role in ["author", "committer"] {
            set(
                &mut value,
                &format!("/commit/{role}/name"),
                commit.author.as_str(),
            );
            set(&mut value, &format!("/commit/{role}/email"), email.as_str());
            set(&mut value, &format!("/commit/{role}/date"), date.as_str());
            if let Some(user) = value.pointer_mut(&format!("/{role}")) {
                patch_user(user, &login);
            }
        }
        set(&mut value, "/commit/message", commit.message.as_str());
        // The fake's history is linear: one parent, or none for a branch's first push.
        let parents = match (&commit.parent, parent_template) {
            (Some(parent), Some(mut tmpl)) => {
                if let Some(old) = string_at(&tmpl, "/sha") {
                    replace_in_strings(&mut tmpl, &old, parent);
                }
                vec![tmpl]
            }
            _ => Vec::new(),
        };
        set(&mut value, "/parents", Value::Array(parents));
        value
    }

    /// `GET /repos/{o}/{r}/branches/{branch}`.
    pub fn branch(&self, repo: &Repo, branch: &str, sha: &str) -> Value {
        let mut value = self.retargeted(&self.examples.branch, repo);
        let commit = value.get("commit").cloned().unwrap_or(Value::Null);
        set(
            &mut value,
            "/commit",
            self.commit(&commit, repo, sha, repo.commits.get(sha)),
        );
        set(&mut value, "/name", branch);
        set(
            &mut value,
            "/_links/html",
            format!("{}/tree/{branch}", Ctx::html(repo)),
        );
        set(
            &mut value,
            "/_links/self",
            format!("{}/branches/{branch}", self.api(repo)),
        );
        set(
            &mut value,
            "/protection_url",
            format!("{}/branches/{branch}/protection", self.api(repo)),
        );
        value
    }

    /// `GET /repos/{o}/{r}/commits/{ref}`.
    pub fn get_commit(&self, repo: &Repo, sha: &str) -> Value {
        self.commit(&self.examples.commit, repo, sha, repo.commits.get(sha))
    }

    /// One workflow run, from the `workflow-run` example item.
    fn run(&self, template: &Value, repo: &Repo, run: &Run) -> Value {
        let mut value = self.retargeted(template, repo);
        if let Some(old) = value.get("id").and_then(Value::as_u64) {
            replace_in_strings(
                &mut value,
                &format!("/runs/{old}"),
                &format!("/runs/{}", run.id),
            );
        }
        if let Some(old) = value.get("workflow_id").and_then(Value::as_u64) {
            replace_in_strings(
                &mut value,
                &format!("/workflows/{old}"),
                &format!("/workflows/{}", run.workflow_id),
            );
        }
        if let Some(old) = string_at(&value, "/head_sha") {
            replace_in_strings(&mut value, &old, &run.head_sha);
        }
        let workflow_path = repo
            .workflows
            .iter()
            .find(|w| w.id == run.workflow_id)
            .map_or_else(
                || format!(".github/workflows/{}.yml", login_for(&run.workflow)),
                |w| w.path.clone(),
            );
        set(&mut value, "/id", run.id);
        set(&mut value, "/name", run.workflow.as_str());
        set(&mut value, "/workflow_id", run.workflow_id);
        set(&mut value, "/run_number", run.run_number);
        set(
            &mut value,
            "/path",
            format!("{workflow_path}@{}", run.head_branch),
        );
        set(&mut value, "/head_branch", run.head_branch.as_str());
        set(&mut value, "/head_sha", run.head_sha.as_str());
        set(&mut value, "/status", run.status.as_str());
        set(
            &mut value,
            "/conclusion",
            run.conclusion.as_deref().map_or(Value::Null, Value::from),
        );
        set(&mut value, "/created_at", timestamp(run.created_at));
        set(&mut value, "/run_started_at", timestamp(run.created_at));
        set(&mut value, "/updated_at", timestamp(run.updated_at));
        set(
            &mut value,
            "/html_url",
            format!("{}/actions/runs/{}", Ctx::html(repo), run.id),
        );
        set(&mut value, "/head_commit/id", run.head_sha.as_str());
        if let Some(commit) = repo.commits.get(&run.head_sha) {
            let login = login_for(&commit.author);
            set(&mut value, "/display_title", first_line(&commit.message));
            set(&mut value, "/head_commit/message", commit.message.as_str());
            set(&mut value, "/head_commit/timestamp", timestamp(commit.at));
            set(
                &mut value,
                "/head_commit/author/name",
                commit.author.as_str(),
            );
            set(
                &mut value,
                "/head_commit/author/email",
                format!("{login}@users.noreply.github.com"),
            );
            for role in ["actor", "triggering_actor"] {
                if let Some(user) = value.pointer_mut(&format!("/{role}")) {
                    patch_user(user, &login);
                }
            }
        }
        value
    }

    /// `GET /repos/{o}/{r}/actions/runs` for one page of runs.
    pub fn runs(&self, repo: &Repo, page: &[&Run], total_count: usize) -> Value {
        let template = self
            .examples
            .runs
            .pointer("/workflow_runs/0")
            .cloned()
            .unwrap_or(Value::Null);
        let mut value = self.examples.runs.clone();
        let items: Vec<Value> = page
            .iter()
            .map(|run| self.run(&template, repo, run))
            .collect();
        set(&mut value, "/workflow_runs", Value::Array(items));
        set(&mut value, "/total_count", total_count);
        value
    }

    /// `GET /repos/{o}/{r}/actions/runs/{id}`.
    pub fn get_run(&self, repo: &Repo, run: &Run) -> Value {
        self.run(&self.examples.run, repo, run)
    }

    fn deployment(&self, template: &Value, repo: &Repo, d: &Deployment) -> Value {
        let mut value = self.retargeted(template, repo);
        let url = format!("{}/deployments/{}", self.api(repo), d.id);
        let updated = d.statuses.last().map_or(d.created_at, |s| s.created_at);
        set(&mut value, "/id", d.id);
        set(&mut value, "/sha", d.sha.as_str());
        set(&mut value, "/ref", d.git_ref.as_str());
        set(&mut value, "/environment", d.environment.as_str());
        set(&mut value, "/original_environment", d.environment.as_str());
        set(
            &mut value,
            "/production_environment",
            d.environment == "production",
        );
        set(&mut value, "/created_at", timestamp(d.created_at));
        set(&mut value, "/updated_at", timestamp(updated));
        set(&mut value, "/statuses_url", format!("{url}/statuses"));
        set(&mut value, "/url", url);
        value
    }

    /// `GET /repos/{o}/{r}/deployments` for one page.
    pub fn deployments(&self, repo: &Repo, page: &[&Deployment]) -> Value {
        let template = self
            .examples
            .deployments
            .pointer("/0")
            .cloned()
            .unwrap_or(Value::Null);
        Value::Array(
            page.iter()
                .map(|d| self.deployment(&template, repo, d))
                .collect(),
        )
    }

    /// `GET /repos/{o}/{r}/deployments/{id}`.
    pub fn get_deployment(&self, repo: &Repo, d: &Deployment) -> Value {
        self.deployment(&self.examples.deployment, repo, d)
    }

    /// `GET /repos/{o}/{r}/deployments/{id}/statuses` for one page (newest first).
    pub fn deployment_statuses(
        &self,
        repo: &Repo,
        d: &Deployment,
        page: &[&DeploymentStatus],
    ) -> Value {
        let template = self
            .examples
            .deployment_statuses
            .pointer("/0")
            .cloned()
            .unwrap_or(Value::Null);
        let items = page
            .iter()
            .map(|s| self.deployment_status(&template, repo, d, s))
            .collect();
        Value::Array(items)
    }

    /// One deployment status from `template` (an item of the list example, or the example of
    /// `POST …/statuses`).
    fn deployment_status(
        &self,
        template: &Value,
        repo: &Repo,
        d: &Deployment,
        s: &DeploymentStatus,
    ) -> Value {
        let mut value = self.retargeted(template, repo);
        let deployment_url = format!("{}/deployments/{}", self.api(repo), d.id);
        match &s.description {
            Some(description) => set(&mut value, "/description", description.as_str()),
            // The example's description says the deployment succeeded; keep it only when
            // that is true rather than contradict `state`.
            None if s.state != "success" => set(&mut value, "/description", ""),
            None => {}
        }
        // A written status shows what was written; GitHub's default for an omitted URL is "".
        let written = s.description.is_some() || s.log_url.is_some();
        if written || s.environment_url.is_some() {
            let environment_url = s.environment_url.as_deref().unwrap_or("");
            set(&mut value, "/environment_url", environment_url);
        }
        if written {
            let log_url = s.log_url.as_deref().unwrap_or("");
            set(&mut value, "/log_url", log_url);
            set(&mut value, "/target_url", log_url);
        }
        let environment = s.environment.as_deref().unwrap_or(d.environment.as_str());
        set(&mut value, "/id", s.id);
        set(&mut value, "/state", s.state.as_str());
        set(&mut value, "/environment", environment);
        set(&mut value, "/created_at", timestamp(s.created_at));
        set(&mut value, "/updated_at", timestamp(s.created_at));
        set(&mut value, "/repository_url", self.api(repo));
        set(
            &mut value,
            "/url",
            format!("{deployment_url}/statuses/{}", s.id),
        );
        set(&mut value, "/deployment_url", deployment_url);
        value
    }

    /// `POST /repos/{o}/{r}/deployments/{id}/statuses`: the created status.
    pub fn created_deployment_status(
        &self,
        repo: &Repo,
        d: &Deployment,
        s: &DeploymentStatus,
    ) -> Value {
        self.deployment_status(&self.examples.deployment_status, repo, d, s)
    }

    /// `POST /repos/{o}/{r}/statuses/{sha}`: the created commit status.
    pub fn commit_status(&self, repo: &Repo, s: &CommitStatus) -> Value {
        let mut value = self.retargeted(&self.examples.commit_status, repo);
        let opt = |text: &Option<String>| text.as_deref().map_or(Value::Null, Value::from);
        set(&mut value, "/id", s.id);
        set(&mut value, "/state", s.state.as_str());
        set(&mut value, "/context", s.context.as_str());
        set(&mut value, "/description", opt(&s.description));
        set(&mut value, "/target_url", opt(&s.target_url));
        set(&mut value, "/created_at", timestamp(s.created_at));
        set(&mut value, "/updated_at", timestamp(s.created_at));
        set(&mut value, "/url", self.status_url(repo, &s.sha));
        value
    }

    /// `…/repos/{o}/{r}/statuses/{sha}`, the `url` and `Location` of a commit status.
    pub fn status_url(&self, repo: &Repo, sha: &str) -> String {
        format!("{}/statuses/{sha}", self.api(repo))
    }

    /// `…/repos/{o}/{r}/deployments/{id}/statuses/{status}`, a deployment status's `Location`.
    pub fn deployment_status_url(&self, repo: &Repo, deployment: u64, status: u64) -> String {
        format!(
            "{}/deployments/{deployment}/statuses/{status}",
            self.api(repo)
        )
    }

    /// `GET /repos/{o}/{r}/compare/{base}...{head}`.
    pub fn compare(
        &self,
        repo: &Repo,
        basehead: (&str, &str),
        shas: (&str, &str),
        cmp: &crate::state::Comparison,
    ) -> Value {
        let (base_ref, head_ref) = basehead;
        let (base_sha, head_sha) = shas;
        let mut value = self.retargeted(&self.examples.compare, repo);
        let commit_template = value.pointer("/commits/0").cloned().unwrap_or(Value::Null);
        let base_template = value.get("base_commit").cloned().unwrap_or(Value::Null);
        let merge_template = value
            .get("merge_base_commit")
            .cloned()
            .unwrap_or(Value::Null);
        let commits: Vec<Value> = cmp
            .commits
            .iter()
            .map(|sha| self.commit(&commit_template, repo, sha, repo.commits.get(sha)))
            .collect();
        let total = commits.len();
        set(
            &mut value,
            "/base_commit",
            self.commit(&base_template, repo, base_sha, repo.commits.get(base_sha)),
        );
        set(
            &mut value,
            "/merge_base_commit",
            self.commit(
                &merge_template,
                repo,
                &cmp.merge_base,
                repo.commits.get(&cmp.merge_base),
            ),
        );
        set(&mut value, "/commits", Value::Array(commits));
        set(&mut value, "/status", cmp.status);
        set(&mut value, "/ahead_by", total);
        set(&mut value, "/behind_by", cmp.behind_by);
        set(&mut value, "/total_commits", total);
        if total == 0 {
            set(&mut value, "/files", json!([]));
        }
        let html = format!("{}/compare/{base_ref}...{head_ref}", Ctx::html(repo));
        let owner = &repo.owner;
        set(
            &mut value,
            "/permalink_url",
            format!(
                "{}/compare/{owner}:{base_sha}...{owner}:{head_sha}",
                Ctx::html(repo)
            ),
        );
        set(&mut value, "/diff_url", format!("{html}.diff"));
        set(&mut value, "/patch_url", format!("{html}.patch"));
        set(&mut value, "/html_url", html);
        set(
            &mut value,
            "/url",
            format!("{}/compare/{base_ref}...{head_ref}", self.api(repo)),
        );
        value
    }

    /// `GET /repos/{o}/{r}`: the full repository, with its default branch and visibility.
    pub fn repository(&self, repo: &Repo) -> Value {
        let mut value = self.retargeted(&self.examples.repository, repo);
        set(&mut value, "/name", repo.name.as_str());
        set(&mut value, "/full_name", repo.full_name());
        set(&mut value, "/private", repo.private);
        let visibility = if repo.private { "private" } else { "public" };
        set(&mut value, "/visibility", visibility);
        set(&mut value, "/default_branch", repo.default_branch());
        set(&mut value, "/html_url", Ctx::html(repo));
        set(&mut value, "/url", self.api(repo));
        value
    }

    /// `GET /repos/{o}/{r}/environments` for one page of environments.
    pub fn environments(&self, repo: &Repo, page: &[&Environment], total_count: usize) -> Value {
        let template = self
            .examples
            .environments
            .pointer("/environments/0")
            .cloned()
            .unwrap_or(Value::Null);
        let items = page
            .iter()
            .map(|e| {
                let mut value = self.retargeted(&template, repo);
                let name = encoded(&e.name);
                set(&mut value, "/id", e.id);
                set(&mut value, "/name", e.name.as_str());
                set(
                    &mut value,
                    "/url",
                    format!("{}/environments/{name}", self.api(repo)),
                );
                set(
                    &mut value,
                    "/html_url",
                    format!(
                        "{}/deployments/activity_log?environments_filter={name}",
                        Ctx::html(repo)
                    ),
                );
                set(&mut value, "/created_at", timestamp(e.created_at));
                set(&mut value, "/updated_at", timestamp(e.created_at));
                value
            })
            .collect();
        let mut value = self.examples.environments.clone();
        set(&mut value, "/environments", Value::Array(items));
        set(&mut value, "/total_count", total_count);
        value
    }

    /// `GET /repos/{o}/{r}/actions/workflows` for one page of workflows.
    pub fn workflows(&self, repo: &Repo, page: &[&Workflow], total_count: usize) -> Value {
        let template = self
            .examples
            .workflows
            .pointer("/workflows/0")
            .cloned()
            .unwrap_or(Value::Null);
        let items = page
            .iter()
            .map(|w| {
                let mut value = self.retargeted(&template, repo);
                set(&mut value, "/id", w.id);
                set(&mut value, "/name", w.name.as_str());
                set(&mut value, "/path", w.path.as_str());
                set(&mut value, "/state", "active");
                set(&mut value, "/created_at", timestamp(w.created_at));
                set(&mut value, "/updated_at", timestamp(w.created_at));
                set(
                    &mut value,
                    "/url",
                    format!("{}/actions/workflows/{}", self.api(repo), w.id),
                );
                set(
                    &mut value,
                    "/html_url",
                    format!(
                        "{}/blob/{}/{}",
                        Ctx::html(repo),
                        encoded_path(repo.default_branch()),
                        encoded_path(&w.path)
                    ),
                );
                set(
                    &mut value,
                    "/badge_url",
                    format!(
                        "{}/workflows/{}/badge.svg",
                        Ctx::html(repo),
                        encoded(&w.name)
                    ),
                );
                value
            })
            .collect();
        let mut value = self.examples.workflows.clone();
        set(&mut value, "/workflows", Value::Array(items));
        set(&mut value, "/total_count", total_count);
        value
    }

    /// The URLs of a file or directory at `path` seen at `git_ref`: `url`, `git_url`,
    /// `html_url` and `download_url`, and the same in `_links`.
    fn content_urls(&self, value: &mut Value, repo: &Repo, path: &str, git_ref: &str, git: String) {
        let (path, git_ref) = (encoded_path(path), encoded(git_ref));
        let api = format!("{}/contents/{path}?ref={git_ref}", self.api(repo));
        let is_file = string_at(value, "/type").as_deref() == Some("file");
        let page = if is_file { "blob" } else { "tree" };
        let html = format!("{}/{page}/{git_ref}/{path}", Ctx::html(repo));
        if is_file {
            let raw = format!(
                "https://raw.githubusercontent.com/{}/{git_ref}/{path}",
                repo.full_name()
            );
            set(value, "/download_url", raw);
        }
        set(value, "/url", api.as_str());
        set(value, "/_links/self", api);
        set(value, "/git_url", git.as_str());
        set(value, "/_links/git", git);
        set(value, "/html_url", html.as_str());
        set(value, "/_links/html", html);
    }

    /// A file of the contents API from `template` (the file example, or a file entry of the
    /// directory example): name, path, size, blob SHA, URLs; the base64 `content` when the
    /// template has one, empty with `encoding: none` over [`MAX_CONTENT_BYTES`].
    fn file_entry(
        &self,
        template: &Value,
        repo: &Repo,
        path: &str,
        text: &str,
        git_ref: &str,
    ) -> Value {
        let mut value = self.retargeted(template, repo);
        let bytes = text.as_bytes();
        let sha = git_blob_sha(bytes);
        let name = path.rsplit('/').next().unwrap_or(path);
        set(&mut value, "/type", "file");
        set(&mut value, "/name", name);
        set(&mut value, "/path", path);
        set(&mut value, "/size", bytes.len());
        set(&mut value, "/sha", sha.as_str());
        if bytes.len() > MAX_CONTENT_BYTES {
            set(&mut value, "/content", "");
            set(&mut value, "/encoding", "none");
        } else {
            set(&mut value, "/content", wrapped_base64(bytes));
            set(&mut value, "/encoding", "base64");
        }
        let git = format!("{}/git/blobs/{sha}", self.api(repo));
        self.content_urls(&mut value, repo, path, git_ref, git);
        value
    }

    /// `GET /repos/{o}/{r}/contents/{path}` for a file.
    pub fn content_file(&self, repo: &Repo, path: &str, text: &str, git_ref: &str) -> Value {
        self.file_entry(&self.examples.content_file, repo, path, text, git_ref)
    }

    /// `GET /repos/{o}/{r}/contents/{path}` for a directory: its entries, as GitHub answers
    /// `application/json` (an array; `application/vnd.github.object` is not served).
    pub fn content_directory(&self, repo: &Repo, entries: &[Entry<'_>], git_ref: &str) -> Value {
        let file_template = self.examples.directory_entry("file").cloned();
        let dir_template = self.examples.directory_entry("dir").cloned();
        let items = entries
            .iter()
            .map(|entry| match entry {
                Entry::File(path, text) => self.file_entry(
                    file_template.as_ref().unwrap_or(&Value::Null),
                    repo,
                    path,
                    text,
                    git_ref,
                ),
                Entry::Dir(path) => {
                    let mut value =
                        self.retargeted(dir_template.as_ref().unwrap_or(&Value::Null), repo);
                    // The fake keeps no trees; a SHA derived from the path stands for one.
                    let sha = git_blob_sha(path.as_bytes());
                    set(&mut value, "/type", "dir");
                    set(&mut value, "/name", path.rsplit('/').next().unwrap_or(path));
                    set(&mut value, "/path", path.as_str());
                    set(&mut value, "/size", 0);
                    set(&mut value, "/sha", sha.as_str());
                    let git = format!("{}/git/trees/{sha}", self.api(repo));
                    self.content_urls(&mut value, repo, path, git_ref, git);
                    value
                }
            })
            .collect();
        Value::Array(items)
    }

    /// `GET /rate_limit`: the `core` resource (and the legacy `rate`) show the fake's counters.
    pub fn rate_limit(&self, limit: u32, remaining: u32, used: u32, reset: i64) -> Value {
        let mut value = self.examples.rate_limit.clone();
        for base in ["/resources/core", "/rate"] {
            set(&mut value, &format!("{base}/limit"), limit);
            set(&mut value, &format!("{base}/remaining"), remaining);
            set(&mut value, &format!("{base}/used"), used);
            set(&mut value, &format!("{base}/reset"), reset);
        }
        value
    }

    /// A `422 Validation Failed` body (`validation-error` schema) with one item in `errors`:
    /// `(resource, field, code, message)`, e.g. `("Status", Some("state"), "custom", "state is
    /// not included in the list")`. Only properties the schema declares are written.
    pub fn validation_failed(
        &self,
        error: (&str, Option<&str>, &str, &str),
        documentation_url: &str,
    ) -> Value {
        let (resource, field, code, message) = error;
        let declared = |names: &[String], key: &str| names.iter().any(|p| p == key);
        let mut item = serde_json::Map::new();
        for (key, val) in [
            ("resource", Some(resource)),
            ("field", field),
            ("code", Some(code)),
            ("message", Some(message)),
        ] {
            if let Some(val) =
                val.filter(|_| declared(&self.examples.validation_item_properties, key))
            {
                item.insert(key.to_owned(), Value::from(val));
            }
        }
        let mut map = serde_json::Map::new();
        for (key, val) in [
            ("message", Value::from("Validation Failed")),
            ("documentation_url", Value::from(documentation_url)),
            ("errors", Value::Array(vec![Value::Object(item)])),
        ] {
            if declared(&self.examples.validation_properties, key) {
                map.insert(key.to_owned(), val);
            }
        }
        Value::Object(map)
    }

    /// A GitHub error body (`basic-error` schema): `message`, `documentation_url`, `status`.
    /// Only properties the schema declares are written.
    pub fn error(&self, status: u16, message: &str, documentation_url: &str) -> Value {
        let mut map = serde_json::Map::new();
        for (key, val) in [
            ("message", message.to_owned()),
            ("documentation_url", documentation_url.to_owned()),
            ("status", status.to_string()),
        ] {
            if self.examples.error_properties.iter().any(|p| p == key) {
                map.insert(key.to_owned(), Value::from(val));
            }
        }
        Value::Object(map)
    }
}
