//! What adding a repository by name reads: the repository, its environments, workflows,
//! deployments with their statuses' URLs, and file contents (base64, blob SHA, ETags).

use base64::Engine as _;
use deploywatch_fakehub::FakeHub;
use serde_json::{Value, json};

use crate::support::{client, get, send, sha};

const REPO: &str = "acme/shop";

async fn hub() -> FakeHub {
    FakeHub::start().await.expect("fake starts")
}

fn url(hub: &FakeHub, rest: &str) -> String {
    format!("{}/repos/acme/shop{rest}", hub.api_url())
}

#[tokio::test]
async fn a_repository_is_the_example_with_its_name_default_branch_and_visibility() {
    let hub = hub().await;
    hub.push(REPO, "trunk", &sha('a'), "Alice", "Init");
    let got = get(&url(&hub, "")).await;
    assert_eq!(got.status, 200);
    let b = &got.body;
    let check = |pointer: &str, expected: Value| {
        assert_eq!(b.pointer(pointer), Some(&expected), "{pointer}");
    };
    check("/full_name", json!("acme/shop"));
    check("/name", json!("shop"));
    check("/owner/login", json!("acme"));
    check("/default_branch", json!("trunk"));
    check("/private", json!(false));
    check("/visibility", json!("public"));
    check("/html_url", json!("https://github.com/acme/shop"));
    check("/url", json!(format!("{}/repos/acme/shop", hub.api_url())));
    check(
        "/deployments_url",
        json!(format!("{}/repos/acme/shop/deployments", hub.api_url())),
    );
    // Kept from the example.
    check("/archived", json!(false));
    check("/has_issues", json!(true));
    check("/permissions/admin", json!(false));

    hub.set_repo(REPO, "main", true);
    let anonymous = get(&url(&hub, "")).await;
    assert_eq!(anonymous.status, 404, "a private repository is hidden");
    assert_eq!(
        get(&url(&hub, "/branches/trunk")).await.status,
        404,
        "and everything in it"
    );
    let signed_in = send(client().get(url(&hub, "")).bearer_auth("ghp_any")).await;
    assert_eq!(signed_in.status, 200);
    assert_eq!(
        (
            &signed_in.body["default_branch"],
            &signed_in.body["private"],
            &signed_in.body["visibility"]
        ),
        (&json!("main"), &json!(true), &json!("private"))
    );

    let missing = get(&format!("{}/repos/acme/nothing", hub.api_url())).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
            "status": "404"
        })
    );
}

#[tokio::test]
async fn environments_are_listed_in_order_and_deploying_creates_one() {
    let hub = hub().await;
    hub.set_environments(REPO, &["production", "staging"]);
    hub.add_deployment(REPO, &sha('a'), "production");
    hub.add_deployment(REPO, &sha('a'), "qa 2");
    let got = get(&url(&hub, "/environments")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["total_count"], 3);
    let environments = got.body["environments"].as_array().expect("environments");
    let names: Vec<&str> = environments
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["production", "staging", "qa 2"]);
    let qa = &environments[2];
    assert_eq!(
        qa["url"],
        json!(format!(
            "{}/repos/acme/shop/environments/qa%202",
            hub.api_url()
        ))
    );
    assert_eq!(
        qa["html_url"],
        "https://github.com/acme/shop/deployments/activity_log?environments_filter=qa%202"
    );
    assert!(qa["id"].as_u64().is_some_and(|id| id > 0));
    // Kept from the example.
    assert_eq!(qa["protection_rules"][0]["type"], "wait_timer");

    hub.set_environments(REPO, &[]);
    let none = get(&url(&hub, "/environments")).await;
    assert_eq!(
        (&none.body["total_count"], &none.body["environments"]),
        (&json!(0), &json!([]))
    );

    hub.set_environments_unavailable(REPO, true);
    let unavailable = get(&url(&hub, "/environments")).await;
    assert_eq!(unavailable.status, 404);
    assert_eq!(
        unavailable.body["documentation_url"],
        "https://docs.github.com/rest/deployments/environments#list-environments"
    );
}

#[tokio::test]
async fn workflows_are_listed_and_runs_name_their_files() {
    let hub = hub().await;
    hub.push(REPO, "main", &sha('a'), "Alice", "Init");
    let deploy = hub.add_workflow(REPO, "Deploy", ".github/workflows/deploy.yaml");
    let lint_run = hub.add_run(REPO, &sha('a'), "Lint", "completed", Some("success"));
    let got = get(&url(&hub, "/actions/workflows")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["total_count"], 2);
    let first = &got.body["workflows"][0];
    assert_eq!(first["id"], deploy);
    assert_eq!(first["name"], "Deploy");
    assert_eq!(first["path"], ".github/workflows/deploy.yaml");
    assert_eq!(first["state"], "active");
    assert_eq!(
        first["url"],
        json!(format!(
            "{}/repos/acme/shop/actions/workflows/{deploy}",
            hub.api_url()
        ))
    );
    assert_eq!(
        first["html_url"],
        "https://github.com/acme/shop/blob/main/.github/workflows/deploy.yaml"
    );
    assert_eq!(
        first["badge_url"],
        "https://github.com/acme/shop/workflows/Deploy/badge.svg"
    );
    assert!(first["node_id"].is_string(), "kept from the example");
    assert_eq!(
        got.body["workflows"][1]["path"],
        ".github/workflows/lint.yml"
    );

    // A run of a workflow added with its file names that file.
    let run = hub.add_run(REPO, &sha('a'), "Deploy", "queued", None);
    let runs = get(&url(&hub, "/actions/runs")).await;
    let path_of = |id: u64| {
        runs.body["workflow_runs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"] == id)
            .map(|r| r["path"].clone())
    };
    assert_eq!(
        path_of(run),
        Some(json!(".github/workflows/deploy.yaml@main"))
    );
    assert_eq!(
        path_of(lint_run),
        Some(json!(".github/workflows/lint.yml@main"))
    );
    // Adding a workflow that has run moves it to the file named, under the same id.
    let lint = hub.add_workflow(REPO, "Lint", ".github/workflows/checks.yml");
    let listed = get(&url(&hub, "/actions/workflows")).await;
    assert_eq!(listed.body["total_count"], 2);
    assert_eq!(listed.body["workflows"][1]["id"], lint);
    assert_eq!(
        listed.body["workflows"][1]["path"],
        ".github/workflows/checks.yml"
    );

    hub.set_repo("acme/bare", "main", false);
    let none = get(&format!(
        "{}/repos/acme/bare/actions/workflows",
        hub.api_url()
    ))
    .await;
    assert_eq!(
        (&none.body["total_count"], &none.body["workflows"]),
        (&json!(0), &json!([]))
    );
}

#[tokio::test]
async fn deployment_statuses_carry_the_urls_given_and_the_list_spans_environments() {
    let hub = hub().await;
    let prod = hub.add_deployment(REPO, &sha('a'), "production");
    let staging = hub.add_deployment(REPO, &sha('b'), "staging");
    hub.add_deployment_status_with_url(
        REPO,
        prod,
        "success",
        Some("https://shop.example.com"),
        Some("https://ci.example.com/run/1"),
    );
    hub.add_deployment_status_with_url(REPO, staging, "failure", None, None);
    hub.add_deployment_status(REPO, staging, "error");

    let all = get(&url(&hub, "/deployments")).await;
    let listed: Vec<(Option<u64>, Option<&str>)> = all
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (d["id"].as_u64(), d["environment"].as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (Some(staging), Some("staging")),
            (Some(prod), Some("production"))
        ],
        "every environment, newest first"
    );

    let statuses = get(&url(&hub, &format!("/deployments/{prod}/statuses"))).await;
    let s = &statuses.body[0];
    assert_eq!(s["state"], "success");
    assert_eq!(s["environment_url"], "https://shop.example.com");
    assert_eq!(s["target_url"], "https://ci.example.com/run/1");
    assert_eq!(s["log_url"], "https://ci.example.com/run/1");
    assert_eq!(s["environment"], "production");

    let statuses = get(&url(&hub, &format!("/deployments/{staging}/statuses"))).await;
    let states: Vec<&str> = statuses
        .body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["error", "failure"]);
    let failure = &statuses.body[1];
    assert_eq!(
        (
            &failure["environment_url"],
            &failure["target_url"],
            &failure["log_url"]
        ),
        (&json!(""), &json!(""), &json!("")),
        "GitHub's default for a URL not given"
    );
    assert_eq!(
        statuses.body[0]["environment_url"], "https://test-branch.lab.acme.com",
        "add_deployment_status keeps the example's URLs"
    );
}

/// The text of a contents answer's `content`, checking GitHub's wrapping on the way.
fn decoded(content: &Value) -> String {
    let text = content.as_str().expect("content is a string");
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    for (n, line) in lines.iter().enumerate() {
        if n + 1 < lines.len() {
            assert_eq!(line.len(), 60, "line {n} of {text:?}");
        } else {
            assert!(
                !line.is_empty() && line.len() <= 60,
                "last line of {text:?}"
            );
        }
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(lines.concat())
        .expect("base64");
    String::from_utf8(bytes).expect("UTF-8")
}

#[tokio::test]
async fn a_file_is_base64_wrapped_with_its_blob_sha_and_etag() {
    let hub = hub().await;
    hub.push(REPO, "main", &sha('a'), "Alice", "Init");
    let text = "[github]\napi_url = \"https://ghe.example.com/api/v3\"\n# Grüße ✓ — \"quoted\"\n"
        .repeat(3);
    hub.set_file(REPO, ".github/deploywatch.toml", Some(&text));
    let file_url = url(&hub, "/contents/.github/deploywatch.toml");

    let got = get(&file_url).await;
    assert_eq!(got.status, 200);
    let b = &got.body;
    assert_eq!(decoded(&b["content"]), text);
    assert_eq!(b["type"], "file");
    assert_eq!(b["encoding"], "base64");
    assert_eq!(b["size"], text.len());
    assert_eq!(b["name"], "deploywatch.toml");
    assert_eq!(b["path"], ".github/deploywatch.toml");
    let api = format!("{}/repos/acme/shop", hub.api_url());
    assert_eq!(
        b["url"],
        json!(format!("{api}/contents/.github/deploywatch.toml?ref=main"))
    );
    assert_eq!(b["_links"]["self"], b["url"]);
    let blob = b["sha"].as_str().expect("sha").to_owned();
    assert_eq!(b["git_url"], json!(format!("{api}/git/blobs/{blob}")));
    assert_eq!(
        b["html_url"],
        "https://github.com/acme/shop/blob/main/.github/deploywatch.toml"
    );
    assert_eq!(
        b["download_url"],
        "https://raw.githubusercontent.com/acme/shop/main/.github/deploywatch.toml"
    );

    // The blob SHA is git's: `printf 'hello world\n' | git hash-object --stdin`.
    hub.set_file(REPO, "hello.txt", Some("hello world\n"));
    let hello = get(&url(&hub, "/contents/hello.txt")).await;
    assert_eq!(
        hello.body["sha"],
        "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
    );
    assert_eq!(hello.body["content"], "aGVsbG8gd29ybGQK\n");

    // Unchanged: 304 for its ETag. Changed: a new ETag and the new text.
    let etag = got.header("etag").expect("ETag").to_owned();
    let again = send(client().get(&file_url).header("If-None-Match", &etag)).await;
    assert_eq!(again.status, 304);
    hub.set_file(REPO, ".github/deploywatch.toml", Some("[github]\n"));
    let changed = send(client().get(&file_url).header("If-None-Match", &etag)).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(decoded(&changed.body["content"]), "[github]\n");
    assert_ne!(changed.body["sha"], json!(blob));

    // At a ref: a branch or a known commit; the same tree for all of them.
    let at_sha = get(&format!("{file_url}?ref={}", sha('a'))).await;
    assert_eq!(at_sha.status, 200);
    assert_eq!(
        at_sha.body["html_url"],
        json!(format!(
            "https://github.com/acme/shop/blob/{}/.github/deploywatch.toml",
            sha('a')
        ))
    );
    let unknown = get(&format!("{file_url}?ref=v9")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["message"], "No commit found for the ref v9");

    hub.set_file(REPO, ".github/deploywatch.toml", None);
    let gone = get(&file_url).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["documentation_url"],
        "https://docs.github.com/rest/repos/contents#get-repository-content"
    );
}

#[tokio::test]
async fn a_directory_lists_its_entries_and_a_large_file_has_no_content() {
    let hub = hub().await;
    hub.set_file(REPO, ".github/deploywatch.toml", Some("a = 1\n"));
    hub.set_file(REPO, ".github/workflows/ci.yml", Some("on: push\n"));
    hub.set_file(REPO, "big.bin", Some(&"x".repeat(1024 * 1024 + 1)));

    let dir = get(&url(&hub, "/contents/.github")).await;
    assert_eq!(dir.status, 200);
    let entries: Vec<(&str, &str, &str)> = dir
        .body
        .as_array()
        .expect("a directory is an array")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or(""),
                e["name"].as_str().unwrap_or(""),
                e["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("file", "deploywatch.toml", ".github/deploywatch.toml"),
            ("dir", "workflows", ".github/workflows"),
        ]
    );
    assert!(
        dir.body[0].get("content").is_none(),
        "entries carry no content"
    );
    assert_eq!(dir.body[1]["download_url"], Value::Null);
    assert_eq!(
        dir.body[1]["html_url"],
        "https://github.com/acme/shop/tree/main/.github/workflows"
    );
    let root = get(&url(&hub, "/contents")).await;
    assert_eq!(root.body.as_array().map(Vec::len), Some(2), "{}", root.body);

    let big = get(&url(&hub, "/contents/big.bin")).await;
    assert_eq!(big.status, 200);
    assert_eq!(
        (
            &big.body["encoding"],
            &big.body["content"],
            &big.body["size"]
        ),
        (&json!("none"), &json!(""), &json!(1024 * 1024 + 1))
    );

    assert_eq!(get(&url(&hub, "/contents/.git")).await.status, 404);
}
