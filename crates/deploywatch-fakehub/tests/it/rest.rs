//! The REST bodies: official example fields kept, controlled values patched, filters, 404s.

use chrono::{Duration, Utc};
use deploywatch_fakehub::FakeHub;
use serde_json::{Value, json};

use crate::support::{get, sha};

const REPO: &str = "acme/shop";

/// A fake with `main` at a ← b ← c (authors Alice Martin, Bob, Carol).
async fn three_pushes() -> FakeHub {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push(
        REPO,
        "main",
        &sha('a'),
        "Alice Martin",
        "First commit\n\nWith a body.",
    );
    hub.push(REPO, "main", &sha('b'), "Bob", "Second");
    hub.push(REPO, "main", &sha('c'), "Carol", "Third");
    hub
}

#[tokio::test]
async fn branch_answer_keeps_example_fields_and_names_the_pushed_head() {
    let hub = three_pushes().await;
    let got = get(&format!("{}/repos/acme/shop/branches/main", hub.api_url())).await;
    assert_eq!(got.status, 200);
    let b = &got.body;
    let check = |pointer: &str, expected: Value| {
        assert_eq!(b.pointer(pointer), Some(&expected), "{pointer}")
    };
    check("/name", json!("main"));
    check("/commit/sha", json!(sha('c')));
    check("/commit/commit/author/name", json!("Carol"));
    check("/commit/commit/message", json!("Third"));
    check("/commit/parents/0/sha", json!(sha('b')));
    check(
        "/commit/html_url",
        json!(format!("https://github.com/acme/shop/commit/{}", sha('c'))),
    );
    check(
        "/_links/html",
        json!("https://github.com/acme/shop/tree/main"),
    );
    check(
        "/_links/self",
        json!(format!("{}/repos/acme/shop/branches/main", hub.api_url())),
    );
    // Fields the fake does not control stay as in GitHub's example.
    check("/protected", json!(false));
    check(
        "/protection/required_status_checks/enforcement_level",
        json!("off"),
    );
    check("/commit/commit/verification/reason", json!("unsigned"));
    check("/commit/author/type", json!("User"));
    let date = b
        .pointer("/commit/commit/author/date")
        .and_then(Value::as_str)
        .expect("author date");
    assert!(
        date.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(date).is_ok(),
        "{date}"
    );
}

#[tokio::test]
async fn first_push_has_no_parent_and_branch_names_may_contain_slashes() {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push(REPO, "feature/login", &sha('d'), "Dana", "Start");
    for path in ["feature/login", "feature%2Flogin"] {
        let got = get(&format!(
            "{}/repos/acme/shop/branches/{path}",
            hub.api_url()
        ))
        .await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.body["name"], "feature/login");
        assert_eq!(got.body["commit"]["sha"], sha('d'));
        assert_eq!(got.body["commit"]["parents"], json!([]));
    }
}

#[tokio::test]
async fn unknown_branch_and_repo_answer_githubs_404_bodies() {
    let hub = three_pushes().await;
    let branch_doc = "https://docs.github.com/rest/branches/branches#get-a-branch";
    let check = async |path: &str, status: u16, message: &str, doc: &str| {
        let got = get(&format!("{}{path}", hub.api_url())).await;
        assert_eq!(got.status, status, "{path}");
        assert_eq!(
            got.body,
            json!({"message": message, "documentation_url": doc, "status": status.to_string()}),
            "{path}"
        );
    };
    check(
        "/repos/acme/shop/branches/nope",
        404,
        "Branch not found",
        branch_doc,
    )
    .await;
    check(
        "/repos/acme/nope/branches/main",
        404,
        "Not Found",
        branch_doc,
    )
    .await;
    check(
        "/api/v3/repos/acme/shop/branches/nope",
        404,
        "Branch not found",
        branch_doc,
    )
    .await;
    check(
        "/repos/acme/shop/actions/runs/999999",
        404,
        "Not Found",
        "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run",
    )
    .await;
    check(
        "/repos/acme/shop/no-such-thing",
        404,
        "Not Found",
        "https://docs.github.com/rest/",
    )
    .await;
    check(
        "/nothing/here",
        404,
        "Not Found",
        "https://docs.github.com/rest/",
    )
    .await;
    check(
        &format!("/repos/acme/shop/commits/{}", sha('f')),
        422,
        &format!("No commit found for SHA: {}", sha('f')),
        "https://docs.github.com/rest/commits/commits#get-a-commit",
    )
    .await;
}

#[tokio::test]
async fn repository_names_are_case_insensitive_like_github() {
    let hub = three_pushes().await;
    let got = get(&format!("{}/repos/ACME/Shop/branches/main", hub.api_url())).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["commit"]["sha"], sha('c'));
}

#[tokio::test]
async fn api_v3_prefix_serves_the_same_api_with_enterprise_urls() {
    let hub = three_pushes().await;
    let root = get(&format!("{}/repos/acme/shop/branches/main", hub.api_url())).await;
    let ghes = get(&format!(
        "{}/api/v3/repos/acme/shop/branches/main",
        hub.api_url()
    ))
    .await;
    assert_eq!(ghes.status, 200);
    assert_eq!(ghes.body["commit"]["sha"], root.body["commit"]["sha"]);
    assert_eq!(
        ghes.body["_links"]["self"],
        json!(format!(
            "{}/api/v3/repos/acme/shop/branches/main",
            hub.api_url()
        ))
    );
    // html_url always points at github.com, as in the examples.
    assert_eq!(
        ghes.body["_links"]["html"],
        "https://github.com/acme/shop/tree/main"
    );
    let limit = get(&format!("{}/api/v3/rate_limit", hub.api_url())).await;
    assert_eq!(limit.status, 200);
}

#[tokio::test]
async fn runs_filter_by_head_sha_newest_first_with_paging() {
    let hub = three_pushes().await;
    let t0 = Utc::now() - Duration::minutes(30);
    let old = hub.add_run_at(REPO, &sha('c'), "CI", "completed", Some("failure"), t0);
    let other = hub.add_run_at(
        REPO,
        &sha('b'),
        "CI",
        "completed",
        Some("success"),
        t0 + Duration::minutes(1),
    );
    let new = hub.add_run_at(
        REPO,
        &sha('c'),
        "Deploy",
        "in_progress",
        None,
        t0 + Duration::minutes(2),
    );
    let url = |query: &str| format!("{}/repos/acme/shop/actions/runs?{query}", hub.api_url());

    let got = get(&url(&format!("head_sha={}", sha('c')))).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["total_count"], 2);
    let runs = got.body["workflow_runs"].as_array().expect("workflow_runs");
    let summary: Vec<(u64, &str, &str, Value)> = runs
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap_or(0),
                r["name"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["conclusion"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (new, "Deploy", "in_progress", Value::Null),
            (old, "CI", "completed", json!("failure"))
        ]
    );
    let first = &runs[0];
    assert_eq!(first["head_sha"], sha('c'));
    assert_eq!(first["head_branch"], "main");
    assert_eq!(first["display_title"], "Third");
    assert_eq!(first["head_commit"]["author"]["name"], "Carol");
    assert_eq!(
        first["html_url"],
        json!(format!("https://github.com/acme/shop/actions/runs/{new}"))
    );
    assert_eq!(
        first["created_at"],
        json!((t0 + Duration::minutes(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(first["run_started_at"], first["created_at"]);
    // Kept from the example.
    assert_eq!(first["event"], "push");
    assert_eq!(first["run_attempt"], 1);
    assert_eq!(first["repository"]["full_name"], "acme/shop");
    assert_eq!(first["repository"]["owner"]["login"], "acme");

    let all = get(&url("")).await;
    assert_eq!(all.body["total_count"], 3);
    let ids: Vec<u64> = all.body["workflow_runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect();
    assert_eq!(ids, [new, other, old]);

    let page = get(&url(&format!("head_sha={}&per_page=1", sha('c')))).await;
    assert_eq!(
        page.body["total_count"], 2,
        "total_count counts every match, not the page"
    );
    assert_eq!(page.body["workflow_runs"].as_array().map(Vec::len), Some(1));
    let link = page.header("link").expect("Link header on a partial page");
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );

    let none = get(&url(&format!("head_sha={}", sha('9')))).await;
    assert_eq!(
        (
            none.body["total_count"].clone(),
            none.body["workflow_runs"].clone()
        ),
        (json!(0), json!([]))
    );
}

#[tokio::test]
async fn update_run_changes_status_conclusion_and_updated_at() {
    let hub = three_pushes().await;
    let created = Utc::now() - Duration::minutes(10);
    let id = hub.add_run_at(REPO, &sha('c'), "CI", "queued", None, created);
    hub.update_run(REPO, id, "completed", Some("success"));
    let got = get(&format!(
        "{}/repos/acme/shop/actions/runs/{id}",
        hub.api_url()
    ))
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        (got.body["status"].as_str(), got.body["conclusion"].as_str()),
        (Some("completed"), Some("success"))
    );
    let parse = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(got.body[key].as_str().unwrap_or(""))
            .expect("RFC 3339 date")
    };
    assert!(parse("updated_at") > parse("created_at") + Duration::minutes(9));
}

#[tokio::test]
async fn deployments_filter_by_environment_and_sha_and_statuses_come_newest_first() {
    let hub = three_pushes().await;
    let prod_b = hub.add_deployment(REPO, &sha('b'), "production");
    let staging_c = hub.add_deployment(REPO, &sha('c'), "staging");
    let prod_c = hub.add_deployment(REPO, &sha('c'), "production");
    hub.add_deployment_status(REPO, prod_c, "in_progress");
    hub.add_deployment_status(REPO, prod_c, "success");
    let ids = async |query: &str| -> Vec<u64> {
        let got = get(&format!(
            "{}/repos/acme/shop/deployments?{query}",
            hub.api_url()
        ))
        .await;
        assert_eq!(got.status, 200, "{query}");
        got.body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_u64())
            .collect()
    };
    assert_eq!(ids("").await, [prod_c, staging_c, prod_b]);
    assert_eq!(ids("environment=production").await, [prod_c, prod_b]);
    assert_eq!(ids(&format!("sha={}", sha('c'))).await, [prod_c, staging_c]);
    assert_eq!(ids("environment=preview").await, Vec::<u64>::new());

    let list = get(&format!(
        "{}/repos/acme/shop/deployments?environment=staging",
        hub.api_url()
    ))
    .await;
    let d = &list.body[0];
    assert_eq!(d["sha"], sha('c'));
    assert_eq!(d["ref"], "main");
    assert_eq!(d["environment"], "staging");
    assert_eq!(
        d["statuses_url"],
        json!(format!(
            "{}/repos/acme/shop/deployments/{staging_c}/statuses",
            hub.api_url()
        ))
    );
    assert_eq!(d["task"], "deploy", "kept from the example");

    let statuses = get(&format!(
        "{}/repos/acme/shop/deployments/{prod_c}/statuses",
        hub.api_url()
    ))
    .await;
    assert_eq!(statuses.status, 200);
    let states: Vec<&str> = statuses
        .body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["success", "in_progress"]);
    assert_eq!(statuses.body[0]["environment"], "production");
    let missing = get(&format!(
        "{}/repos/acme/shop/deployments/424242/statuses",
        hub.api_url()
    ))
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn compare_lists_the_commits_between_with_authors() {
    let hub = three_pushes().await;
    let compare = async |basehead: String| {
        get(&format!(
            "{}/repos/acme/shop/compare/{basehead}",
            hub.api_url()
        ))
        .await
    };

    let got = compare(format!("{}...main", &sha('a')[..7])).await;
    assert_eq!(got.status, 200);
    let b = &got.body;
    assert_eq!(
        (
            b["status"].as_str(),
            b["ahead_by"].as_u64(),
            b["behind_by"].as_u64(),
            b["total_commits"].as_u64()
        ),
        (Some("ahead"), Some(2), Some(0), Some(2))
    );
    let commits: Vec<(&str, &str)> = b["commits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["sha"].as_str().unwrap_or(""),
                c["commit"]["author"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        commits,
        [(sha('b').as_str(), "Bob"), (sha('c').as_str(), "Carol")],
        "oldest first, as GitHub lists them"
    );
    assert_eq!(b["base_commit"]["sha"], sha('a'));
    assert_eq!(b["merge_base_commit"]["sha"], sha('a'));
    assert_eq!(
        b["html_url"],
        json!(format!(
            "https://github.com/acme/shop/compare/{}...main",
            &sha('a')[..7]
        ))
    );

    let behind = compare(format!("{}...{}", sha('c'), sha('a'))).await;
    assert_eq!(
        (
            behind.body["status"].as_str(),
            behind.body["behind_by"].as_u64()
        ),
        (Some("behind"), Some(2))
    );
    assert_eq!(behind.body["commits"], json!([]));

    let same = compare(format!("{0}...{0}", sha('b'))).await;
    assert_eq!(
        (same.body["status"].as_str(), same.body["files"].clone()),
        (Some("identical"), json!([]))
    );

    let unknown = compare(format!("{}...main", sha('9'))).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["message"], "Not Found");
}

#[tokio::test]
async fn rate_limit_body_reports_the_core_counters() {
    let hub = FakeHub::start().await.expect("fake starts");
    let reset = Utc::now() + Duration::minutes(20);
    hub.set_rate_limit(60, 42, reset);
    let got = get(&format!("{}/rate_limit", hub.api_url())).await;
    assert_eq!(got.status, 200);
    let core = json!({"limit": 60, "remaining": 42, "used": 18, "reset": reset.timestamp()});
    assert_eq!(got.body["resources"]["core"], core);
    assert_eq!(got.body["rate"], core);
    // Other resources are the example's.
    assert_eq!(got.body["resources"]["search"]["limit"], 30);
}
