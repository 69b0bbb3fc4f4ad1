//! GitHub's official response examples, as extracted by `scripts/extract-examples.mjs` from the
//! `@octokit/openapi` package, and the generic edits the renderer applies to them.
//!
//! The JSON files under `examples/` are generated, never edited by hand: every response body the
//! fake serves starts as one of them, so its shape is GitHub's, not ours.

use std::collections::BTreeMap;

use serde_json::Value;

/// The parsed examples, one per operation the fake serves.
#[derive(Debug, Clone)]
pub(crate) struct Examples {
    /// `repos/get-branch` 200.
    pub branch: Value,
    /// `actions/list-workflow-runs-for-repo` 200 (`total_count` + `workflow_runs`).
    pub runs: Value,
    /// `actions/get-workflow-run` 200.
    pub run: Value,
    /// `repos/list-deployments` 200 (an array).
    pub deployments: Value,
    /// `repos/get-deployment` 200.
    pub deployment: Value,
    /// `repos/list-deployment-statuses` 200 (an array).
    pub deployment_statuses: Value,
    /// `repos/compare-commits-with-basehead` 200.
    pub compare: Value,
    /// `repos/get-commit` 200.
    pub commit: Value,
    /// `rate-limit/get` 200.
    pub rate_limit: Value,
    /// `repos/create-commit-status` 201.
    pub commit_status: Value,
    /// `repos/create-deployment-status` 201.
    pub deployment_status: Value,
    /// `repos/get` 200: a full repository.
    pub repository: Value,
    /// `repos/get-all-environments` 200 (`total_count` + `environments`).
    pub environments: Value,
    /// `actions/list-repo-workflows` 200 (`total_count` + `workflows`).
    pub workflows: Value,
    /// `repos/get-content` 200, its example of a file.
    pub content_file: Value,
    /// `repos/get-content` 200, its example of a directory (an array of entries).
    pub content_directory: Value,
    /// The property names of the `basic-error` schema (GitHub's error body), which has no example.
    pub error_properties: Vec<String>,
    /// The property names of the `validation-error` schema (the body of `422 Validation
    /// Failed`), which has no example either.
    pub validation_properties: Vec<String>,
    /// The property names of one item of a validation error's `errors`.
    pub validation_item_properties: Vec<String>,
    /// The values each enumerated request field accepts, by operation id and field (`state`
    /// of the two status writes), from the operations' request body schemas.
    pub request_enums: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Each operation's documentation page (its `externalDocs`), by operation id; GitHub's
    /// error bodies name it in `documentation_url`.
    pub docs: BTreeMap<String, String>,
    /// The REST API's documentation root, for answers that match no operation.
    pub docs_root: String,
}

/// The raw files, embedded at build time so the fake needs no files at run time.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "repos/get-branch.json",
        include_str!("../examples/repos/get-branch.json"),
    ),
    (
        "actions/list-workflow-runs-for-repo.json",
        include_str!("../examples/actions/list-workflow-runs-for-repo.json"),
    ),
    (
        "actions/get-workflow-run.json",
        include_str!("../examples/actions/get-workflow-run.json"),
    ),
    (
        "repos/list-deployments.json",
        include_str!("../examples/repos/list-deployments.json"),
    ),
    (
        "repos/get-deployment.json",
        include_str!("../examples/repos/get-deployment.json"),
    ),
    (
        "repos/list-deployment-statuses.json",
        include_str!("../examples/repos/list-deployment-statuses.json"),
    ),
    (
        "repos/compare-commits-with-basehead.json",
        include_str!("../examples/repos/compare-commits-with-basehead.json"),
    ),
    (
        "repos/get-commit.json",
        include_str!("../examples/repos/get-commit.json"),
    ),
    (
        "rate-limit/get.json",
        include_str!("../examples/rate-limit/get.json"),
    ),
    (
        "repos/create-commit-status.json",
        include_str!("../examples/repos/create-commit-status.json"),
    ),
    (
        "repos/create-deployment-status.json",
        include_str!("../examples/repos/create-deployment-status.json"),
    ),
    (
        "schemas/basic-error.json",
        include_str!("../examples/schemas/basic-error.json"),
    ),
    (
        "schemas/validation-error.json",
        include_str!("../examples/schemas/validation-error.json"),
    ),
    ("repos/get.json", include_str!("../examples/repos/get.json")),
    (
        "repos/get-all-environments.json",
        include_str!("../examples/repos/get-all-environments.json"),
    ),
    (
        "actions/list-repo-workflows.json",
        include_str!("../examples/actions/list-repo-workflows.json"),
    ),
    (
        "repos/get-content.json",
        include_str!("../examples/repos/get-content.json"),
    ),
    (
        "repos/get-content-directory.json",
        include_str!("../examples/repos/get-content-directory.json"),
    ),
    ("SOURCE.json", include_str!("../examples/SOURCE.json")),
];

/// Why the embedded examples could not be used.
#[derive(Debug)]
pub(crate) struct ExamplesError(pub String);

impl std::fmt::Display for ExamplesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "embedded OpenAPI example: {}", self.0)
    }
}

impl std::error::Error for ExamplesError {}

fn file(name: &str) -> Result<Value, ExamplesError> {
    let text = FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| ExamplesError(format!("{name} is not embedded")))?;
    serde_json::from_str(text).map_err(|e| ExamplesError(format!("{name}: {e}")))
}

impl Examples {
    /// Parses the embedded files.
    ///
    /// # Errors
    /// Fails only if a generated file is not valid JSON or lacks what the renderer needs,
    /// which the crate's tests rule out for the committed files.
    pub fn load() -> Result<Examples, ExamplesError> {
        let keys = |value: &Value, pointer: &str, what: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_object)
                .map(|props| props.keys().cloned().collect::<Vec<String>>())
                .ok_or_else(|| ExamplesError(format!("{what} has no properties")))
        };
        let error_properties = keys(
            &file("schemas/basic-error.json")?,
            "/properties",
            "basic-error",
        )?;
        let validation = file("schemas/validation-error.json")?;
        let validation_properties = keys(&validation, "/properties", "validation-error")?;
        let validation_item_properties = keys(
            &validation,
            "/item_properties/errors",
            "validation-error errors",
        )?;
        let source = file("SOURCE.json")?;
        let request_enums = source
            .get("operations")
            .and_then(Value::as_object)
            .map(|ops| {
                ops.iter()
                    .filter_map(|(id, op)| {
                        let fields = op.get("request_enums")?.as_object()?;
                        let fields = fields
                            .iter()
                            .map(|(field, values)| {
                                let values = values
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|v| v.as_str().map(str::to_owned))
                                    .collect();
                                (field.clone(), values)
                            })
                            .collect();
                        Some((id.clone(), fields))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let docs = source
            .get("operations")
            .and_then(Value::as_object)
            .map(|ops| {
                ops.iter()
                    .filter_map(|(id, op)| {
                        Some((
                            id.clone(),
                            op.get("documentation_url")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let docs_root = string_at(&source, "/documentation_url")
            .unwrap_or_else(|| "https://docs.github.com/rest".into());
        let examples = Examples {
            branch: file("repos/get-branch.json")?,
            runs: file("actions/list-workflow-runs-for-repo.json")?,
            run: file("actions/get-workflow-run.json")?,
            deployments: file("repos/list-deployments.json")?,
            deployment: file("repos/get-deployment.json")?,
            deployment_statuses: file("repos/list-deployment-statuses.json")?,
            compare: file("repos/compare-commits-with-basehead.json")?,
            commit: file("repos/get-commit.json")?,
            rate_limit: file("rate-limit/get.json")?,
            commit_status: file("repos/create-commit-status.json")?,
            deployment_status: file("repos/create-deployment-status.json")?,
            repository: file("repos/get.json")?,
            environments: file("repos/get-all-environments.json")?,
            workflows: file("actions/list-repo-workflows.json")?,
            content_file: file("repos/get-content.json")?,
            content_directory: file("repos/get-content-directory.json")?,
            error_properties,
            validation_properties,
            validation_item_properties,
            request_enums,
            docs,
            docs_root,
        };
        // The renderer clones these items; check once here that they exist.
        let items = [
            ("workflow_runs", examples.runs.pointer("/workflow_runs/0")),
            ("deployments", examples.deployments.pointer("/0")),
            (
                "deployment statuses",
                examples.deployment_statuses.pointer("/0"),
            ),
            ("compare commits", examples.compare.pointer("/commits/0")),
            (
                "environments",
                examples.environments.pointer("/environments/0"),
            ),
            ("workflows", examples.workflows.pointer("/workflows/0")),
            ("a directory's files", examples.directory_entry("file")),
            (
                "a directory's subdirectories",
                examples.directory_entry("dir"),
            ),
        ];
        for (what, item) in items {
            if !item.is_some_and(Value::is_object) {
                return Err(ExamplesError(format!("no example item in {what}")));
            }
        }
        for operation in [
            "repos/create-commit-status",
            "repos/create-deployment-status",
        ] {
            if examples.allowed(operation, "state").is_empty() {
                return Err(ExamplesError(format!("{operation} lists no states")));
            }
        }
        Ok(examples)
    }

    /// The first entry of type `kind` (`file`, `dir`) in the directory example.
    pub fn directory_entry(&self, kind: &str) -> Option<&Value> {
        self.content_directory
            .as_array()?
            .iter()
            .find(|entry| entry.get("type").and_then(Value::as_str) == Some(kind))
    }

    /// The values `field` of `operation`'s request body accepts (empty if not enumerated).
    pub fn allowed(&self, operation: &str, field: &str) -> &[String] {
        self.request_enums
            .get(operation)
            .and_then(|fields| fields.get(field))
            .map_or(&[], Vec::as_slice)
    }

    /// The documentation page of `operation_id`, or the API's root page.
    pub fn doc(&self, operation_id: &str) -> &str {
        self.docs
            .get(operation_id)
            .map_or(self.docs_root.as_str(), String::as_str)
    }
}

/// Replaces `from` by `to` inside every string of `value`, recursively.
pub(crate) fn replace_in_strings(value: &mut Value, from: &str, to: &str) {
    if from.is_empty() || from == to {
        return;
    }
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        _ => {}
    }
}

/// Sets `pointer` (RFC 6901) to `new` if the example has that field; never adds fields, so a
/// patched body keeps exactly the example's shape.
pub(crate) fn set(value: &mut Value, pointer: &str, new: impl Into<Value>) {
    if let Some(slot) = value.pointer_mut(pointer) {
        *slot = new.into();
    }
}

/// The string at `pointer`, if the example has one there.
pub(crate) fn string_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Makes a GitHub user object (`author`, `actor`, `owner`...) stand for `login`: the login and
/// every URL naming the example's user; id, avatar and type stay as in the example.
pub(crate) fn patch_user(user: &mut Value, login: &str) {
    let Some(old) = string_at(user, "/login") else {
        return;
    };
    replace_in_strings(user, &format!("/users/{old}"), &format!("/users/{login}"));
    if string_at(user, "/html_url").is_some_and(|url| url.ends_with(&format!("/{old}"))) {
        set(user, "/html_url", format!("https://github.com/{login}"));
    }
    set(user, "/login", login);
}

/// A GitHub login for a display name: lowercase letters, digits and hyphens, as GitHub allows.
pub(crate) fn login_for(author: &str) -> String {
    let mut login = String::new();
    for c in author.chars() {
        if c.is_ascii_alphanumeric() {
            login.push(c.to_ascii_lowercase());
        } else if !login.is_empty() && !login.ends_with('-') {
            login.push('-');
        }
    }
    let login = login.trim_end_matches('-');
    if login.is_empty() {
        "ghost".to_owned()
    } else {
        login.to_owned()
    }
}

/// Repository names used by the examples in the pinned description; each is renamed to the
/// fake's repository wherever it appears.
const EXAMPLE_REPOS: &[&str] = &[
    "octocat/Hello-World",
    "octo-org/octo-repo",
    "octocat/example",
    "github/hello-world",
    "octokit/octokit.rb",
];

/// Makes an example body describe `owner/name` served from `api_base`: renames the example
/// repositories in every string and points API URLs at the fake (as GitHub Enterprise answers
/// with its own host), while `html_url`s keep pointing at `https://github.com/...`.
pub(crate) fn retarget(value: &mut Value, owner: &str, name: &str, api_base: &str) {
    // Through a placeholder, so a repository whose name contains an example's name (say
    // `octocat/example-app`) is not renamed twice.
    const PLACEHOLDER: &str = "\u{0}repo\u{0}";
    for example in EXAMPLE_REPOS {
        replace_in_strings(value, example, PLACEHOLDER);
    }
    replace_in_strings(value, PLACEHOLDER, &format!("{owner}/{name}"));
    replace_in_strings(value, "https://api.github.com", api_base);
    // One example URL (`hooks_url`) uses plain http; treat it like the others.
    replace_in_strings(value, "http://api.github.com", api_base);
    patch_repositories(value, owner, name);
}

/// Finds embedded repository objects (`repository`, `head_repository`...) and sets their
/// names and owner.
fn patch_repositories(value: &mut Value, owner: &str, name: &str) {
    match value {
        Value::Object(map) => {
            let is_repo = map.contains_key("full_name") && map.contains_key("owner");
            if is_repo {
                if let Some(slot) = map.get_mut("full_name") {
                    *slot = Value::from(format!("{owner}/{name}"));
                }
                if let Some(slot) = map.get_mut("name") {
                    *slot = Value::from(name);
                }
                if let Some(user) = map.get_mut("owner") {
                    patch_user(user, owner);
                }
            }
            for (key, child) in map.iter_mut() {
                if !(is_repo && key == "owner") {
                    patch_repositories(child, owner, name);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| patch_repositories(v, owner, name)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_examples_load() {
        let examples = Examples::load().expect("committed examples parse");
        assert_eq!(
            examples.error_properties,
            ["documentation_url", "message", "status", "url"]
        );
        assert_eq!(
            examples.doc("repos/get-branch"),
            "https://docs.github.com/rest/branches/branches#get-a-branch"
        );
        assert_eq!(examples.doc("no/such-op"), "https://docs.github.com/rest/");
        assert_eq!(
            examples.validation_properties,
            ["documentation_url", "errors", "message"]
        );
        assert!(
            ["resource", "field", "code", "message"]
                .iter()
                .all(|p| examples.validation_item_properties.iter().any(|q| q == p))
        );
        assert_eq!(
            examples.allowed("repos/create-commit-status", "state"),
            ["error", "failure", "pending", "success"]
        );
        assert_eq!(
            examples.allowed("repos/create-deployment-status", "state"),
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
        assert!(examples.allowed("repos/get-branch", "state").is_empty());
    }

    #[test]
    fn login_for_names() {
        let check = |name: &str, login: &str| assert_eq!(login_for(name), login, "{name}");
        check("Alice Martin", "alice-martin");
        check("bob", "bob");
        check("  Ünïcode ", "n-code");
        check("", "ghost");
    }
}
