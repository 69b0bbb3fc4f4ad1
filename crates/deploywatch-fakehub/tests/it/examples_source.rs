//! The committed example files are the extraction script's output for the pinned package.
//!
//! `node scripts/extract-examples.mjs --check` (run in CI, needs npm) compares them byte for byte
//! with a fresh extraction; these tests pin what can be checked without npm.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn examples_come_from_the_pinned_openapi_package() {
    let dir = crate_dir();
    let pinned =
        read_json(&dir.join("scripts/package.json"))["dependencies"]["@octokit/openapi"].clone();
    let locked = read_json(&dir.join("scripts/package-lock.json"))["packages"]["node_modules/@octokit/openapi"]["version"].clone();
    let source = read_json(&dir.join("examples/SOURCE.json"));
    assert!(
        pinned
            .as_str()
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.')),
        "exact pin: {pinned}"
    );
    assert_eq!(locked, pinned);
    assert_eq!(source["version"], pinned);
    assert_eq!(source["package"], "@octokit/openapi");
}

#[test]
fn every_operation_in_source_has_its_file_and_files_are_sorted_and_pretty() {
    let dir = crate_dir().join("examples");
    let source = read_json(&dir.join("SOURCE.json"));
    let operations = source["operations"].as_object().expect("operations");
    let needed = [
        "repos/get-branch",
        "actions/list-workflow-runs-for-repo",
        "actions/get-workflow-run",
        "repos/list-deployments",
        "repos/list-deployment-statuses",
        "repos/compare-commits-with-basehead",
        "rate-limit/get",
        "repos/create-commit-status",
        "repos/create-deployment-status",
        "repos/get",
        "repos/get-all-environments",
        "actions/list-repo-workflows",
        "repos/get-content",
        "repos/get-content-directory",
    ];
    for id in needed {
        assert!(operations.contains_key(id), "{id} is extracted");
    }
    // The operation's examples are a file, a directory, a symlink and a submodule: each key
    // holds the one it was extracted for.
    assert_eq!(
        operations["repos/get-content"]["example"],
        "#/components/examples/content-file-response-if-content-is-a-file"
    );
    let directory = &operations["repos/get-content-directory"];
    assert_eq!(
        directory["example"],
        "#/components/examples/content-file-response-if-content-is-a-directory"
    );
    assert_eq!(directory["operation_id"], "repos/get-content");
    assert_eq!(directory["path"], operations["repos/get-content"]["path"]);
    for (id, op) in operations {
        assert!(
            op["example"]
                .as_str()
                .is_some_and(|e| e.starts_with("#/components/examples/")),
            "{id}: {op}"
        );
        let path = dir.join(format!("{id}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{id}: {e}"));
        // serde_json's map is sorted, so this is the file's canonical form.
        let canonical = serde_json::to_string_pretty(&value).expect("serializes") + "\n";
        assert!(
            canonical == text,
            "{id}.json is not pretty with sorted keys; rerun the script"
        );
        assert!(
            !text.contains("\"$ref\""),
            "{id}.json has an unresolved $ref"
        );
    }
}
