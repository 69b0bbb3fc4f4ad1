//! The two writes (commit statuses, deployment statuses): GitHub's example bodies with the
//! request's values, validation as GitHub answers it, the read-only switch, and the record of
//! every write.

use deploywatch_fakehub::FakeHub;
use serde_json::{Value, json};

use crate::support::{client, get, send, sha};

const REPO: &str = "acme/shop";
const STATUS_DOC: &str = "https://docs.github.com/rest/commits/statuses#create-a-commit-status";
const DEPLOYMENT_STATUS_DOC: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";

async fn hub() -> FakeHub {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push(REPO, "main", &sha('a'), "Alice", "One");
    hub
}

async fn post(url: &str, body: Value) -> crate::support::Got {
    send(client().post(url).bearer_auth("ghp_any").json(&body)).await
}

fn status_url(hub: &FakeHub, sha: &str) -> String {
    format!("{}/repos/acme/shop/statuses/{sha}", hub.api_url())
}

#[tokio::test]
async fn a_commit_status_is_created_from_the_example_and_recorded() {
    let hub = hub().await;
    let url = status_url(&hub, &sha('a'));
    let body = json!({
        "state": "failure",
        "context": "deploywatch/production",
        "description": "Live: 1234567, expected aaaaaaa",
        "target_url": "https://deploywatch.example/production",
    });
    let got = post(&url, body.clone()).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let b = &got.body;
    assert_eq!(b["state"], "failure");
    assert_eq!(b["context"], "deploywatch/production");
    assert_eq!(b["description"], "Live: 1234567, expected aaaaaaa");
    assert_eq!(b["target_url"], "https://deploywatch.example/production");
    assert_eq!(b["url"], json!(url));
    assert_eq!(got.header("location"), Some(url.as_str()));
    let id = b["id"].as_u64().expect("id");
    assert!(
        b["created_at"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    // Kept from GitHub's example.
    assert_eq!(b["creator"]["login"], "octocat");
    assert_eq!(b["node_id"], "MDY6U3RhdHVzMQ==");
    // The write costs one request of the quota, as on GitHub.
    assert_eq!(got.header("x-ratelimit-remaining"), Some("4999"));

    // Without description or target URL: null, and GitHub's default context.
    let bare = post(&url, json!({"state": "pending"})).await;
    assert_eq!(bare.status, 201);
    assert_eq!(
        (
            bare.body["description"].clone(),
            bare.body["target_url"].clone(),
            bare.body["context"].clone()
        ),
        (Value::Null, Value::Null, json!("default"))
    );

    let statuses = hub.commit_statuses(REPO, &sha('a').to_uppercase());
    assert_eq!(statuses.len(), 2);
    let first = &statuses[0];
    assert_eq!(
        (
            first.id,
            first.sha.as_str(),
            first.state.as_str(),
            first.context.as_str(),
            first.description.as_deref(),
            first.target_url.as_deref()
        ),
        (
            id,
            sha('a').as_str(),
            "failure",
            "deploywatch/production",
            Some("Live: 1234567, expected aaaaaaa"),
            Some("https://deploywatch.example/production")
        )
    );
    // Contexts compare case-insensitively, as on GitHub.
    assert_eq!(
        hub.status_count(REPO, &sha('a'), "Deploywatch/Production"),
        1
    );
    assert_eq!(hub.status_count(REPO, &sha('a'), "default"), 1);

    let writes = hub.writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].method, "POST");
    assert_eq!(
        writes[0].path,
        format!("/repos/acme/shop/statuses/{}", sha('a'))
    );
    assert_eq!(writes[0].body, body);
    assert_eq!(writes[0].status, 201);
    assert!(writes[0].at <= writes[1].at);
    hub.clear_writes();
    assert!(hub.writes().is_empty());
    assert_eq!(
        hub.commit_statuses(REPO, &sha('a')).len(),
        2,
        "statuses stay"
    );
}

#[tokio::test]
async fn enterprise_prefix_gives_enterprise_urls_and_short_shas_resolve() {
    let hub = hub().await;
    let url = format!(
        "{}/api/v3/repos/acme/shop/statuses/{}",
        hub.api_url(),
        &sha('a')[..7]
    );
    let got = post(&url, json!({"state": "success", "context": "x"})).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let full = format!(
        "{}/api/v3/repos/acme/shop/statuses/{}",
        hub.api_url(),
        sha('a')
    );
    assert_eq!(got.body["url"], json!(full));
    assert_eq!(
        hub.writes()[0].path,
        format!("/api/v3/repos/acme/shop/statuses/{}", &sha('a')[..7])
    );
    assert_eq!(hub.status_count(REPO, &sha('a'), "x"), 1);
}

#[tokio::test]
async fn invalid_writes_get_githubs_answers() {
    let hub = hub().await;
    let url = status_url(&hub, &sha('a'));
    let validation = |field: Option<&str>, message: &str, resource: &str, doc: &str| {
        let mut item = json!({"resource": resource, "code": "custom", "message": message});
        if let Some(field) = field {
            item["field"] = json!(field);
        }
        json!({"message": "Validation Failed", "documentation_url": doc, "errors": [item]})
    };

    let got = post(&url, json!({"state": "cancelled"})).await;
    assert_eq!(got.status, 422);
    assert_eq!(
        got.body,
        validation(
            Some("state"),
            "state is not included in the list",
            "Status",
            STATUS_DOC
        )
    );
    assert_eq!(post(&url, json!({"context": "x"})).await.status, 422);
    // `in_progress` is a deployment state, not a commit status state.
    assert_eq!(
        post(&url, json!({"state": "in_progress"})).await.status,
        422
    );

    let too_long = "é".repeat(141);
    let got = post(&url, json!({"state": "success", "description": too_long})).await;
    assert_eq!(got.status, 422);
    assert_eq!(
        got.body,
        validation(
            Some("description"),
            "description is too long (maximum is 140 characters)",
            "Status",
            STATUS_DOC
        )
    );
    // The limit counts characters, not bytes.
    let fits = "é".repeat(140);
    assert_eq!(
        post(&url, json!({"state": "success", "description": fits}))
            .await
            .status,
        201
    );

    let unknown = status_url(&hub, &sha('f'));
    let got = post(&unknown, json!({"state": "success"})).await;
    assert_eq!(got.status, 422);
    assert_eq!(
        got.body,
        json!({"message": format!("No commit found for SHA: {}", sha('f')), "documentation_url": STATUS_DOC, "status": "422"})
    );

    let no_repo = format!("{}/repos/acme/nope/statuses/{}", hub.api_url(), sha('a'));
    let got = post(&no_repo, json!({"state": "success"})).await;
    assert_eq!(
        (got.status, got.body["message"].as_str()),
        (404, Some("Not Found"))
    );

    let got = send(
        client()
            .post(&url)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (got.status, got.body["message"].as_str()),
        (400, Some("Problems parsing JSON"))
    );
    let got = post(&url, json!({"state": "success", "target_url": 5})).await;
    assert_eq!(got.status, 422);

    // Only the one valid write created a status; every attempt is recorded with its answer.
    assert_eq!(hub.commit_statuses(REPO, &sha('a')).len(), 1);
    let answers: Vec<u16> = hub.writes().iter().map(|w| w.status).collect();
    assert_eq!(answers, [422, 422, 422, 422, 201, 422, 404, 400, 422]);
    assert_eq!(hub.writes()[7].body, json!("{not json"));
}

#[tokio::test]
async fn a_sha_and_context_take_a_limited_number_of_statuses() {
    let hub = hub().await;
    hub.set_max_statuses_per_context(2);
    let url = status_url(&hub, &sha('a'));
    let mut answers = Vec::new();
    for context in [
        "deploywatch/prod",
        "DEPLOYWATCH/PROD",
        "deploywatch/prod",
        "other",
    ] {
        let got = post(&url, json!({"state": "success", "context": context})).await;
        answers.push(got.status);
        if got.status == 422 {
            assert_eq!(
                got.body["errors"][0]["message"],
                "This SHA and context has reached the maximum number of statuses."
            );
        }
    }
    assert_eq!(answers, [201, 201, 422, 201]);
    assert_eq!(hub.status_count(REPO, &sha('a'), "deploywatch/prod"), 2);
    assert_eq!(deploywatch_fakehub::MAX_STATUSES_PER_CONTEXT, 1000);
}

#[tokio::test]
async fn a_read_only_token_is_refused_writes_but_may_read() {
    let hub = hub().await;
    hub.set_read_only(true);
    let d = hub.add_deployment(REPO, &sha('a'), "production");
    let got = post(&status_url(&hub, &sha('a')), json!({"state": "success"})).await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.body,
        json!({"message": "Resource not accessible by personal access token", "documentation_url": STATUS_DOC, "status": "403"})
    );
    assert_eq!(
        got.header("x-accepted-github-permissions"),
        Some("statuses=write")
    );
    let deployment_url = format!("{}/repos/acme/shop/deployments/{d}/statuses", hub.api_url());
    let got = post(&deployment_url, json!({"state": "success"})).await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.header("x-accepted-github-permissions"),
        Some("deployments=write")
    );
    assert_eq!(got.body["documentation_url"], DEPLOYMENT_STATUS_DOC);

    assert!(hub.commit_statuses(REPO, &sha('a')).is_empty());
    assert!(hub.deployment_statuses(REPO, d).is_empty());
    assert_eq!(
        hub.writes().iter().map(|w| w.status).collect::<Vec<_>>(),
        [403, 403]
    );
    let read = get(&format!("{}/repos/acme/shop/branches/main", hub.api_url())).await;
    assert_eq!(read.status, 200);

    hub.set_read_only(false);
    let got = post(&status_url(&hub, &sha('a')), json!({"state": "success"})).await;
    assert_eq!(got.status, 201);
}

#[tokio::test]
async fn a_deployment_status_is_created_listed_and_validated() {
    let hub = hub().await;
    let d = hub.add_deployment(REPO, &sha('a'), "production");
    hub.add_deployment_status(REPO, d, "in_progress");
    let url = format!("{}/repos/acme/shop/deployments/{d}/statuses", hub.api_url());
    let got = post(
        &url,
        json!({
            "state": "failure",
            "description": "Deploywatch: production runs 1234567",
            "environment_url": "https://shop.example",
            "log_url": "https://deploywatch.example/production",
        }),
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
    let b = &got.body;
    let id = b["id"].as_u64().expect("id");
    let deployment_url = format!("{}/repos/acme/shop/deployments/{d}", hub.api_url());
    let own_url = format!("{deployment_url}/statuses/{id}");
    assert_eq!(b["state"], "failure");
    assert_eq!(b["description"], "Deploywatch: production runs 1234567");
    assert_eq!(b["environment"], "production");
    assert_eq!(b["environment_url"], "https://shop.example");
    assert_eq!(b["log_url"], "https://deploywatch.example/production");
    assert_eq!(
        b["target_url"], "https://deploywatch.example/production",
        "GitHub sets target_url to log_url"
    );
    assert_eq!(b["deployment_url"], json!(deployment_url));
    assert_eq!(
        b["repository_url"],
        json!(format!("{}/repos/acme/shop", hub.api_url()))
    );
    assert_eq!(b["url"], json!(own_url));
    assert_eq!(got.header("location"), Some(own_url.as_str()));
    assert_eq!(
        b["node_id"], "MDE2OkRlcGxveW1lbnRTdGF0dXMx",
        "kept from the example"
    );

    // The list shows it first, with what was written.
    let list = get(&url).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body[0]["id"], json!(id));
    assert_eq!(list.body[0]["state"], "failure");
    assert_eq!(
        list.body[0]["description"],
        "Deploywatch: production runs 1234567"
    );
    assert_eq!(
        list.body[0]["log_url"],
        "https://deploywatch.example/production"
    );
    assert_eq!(list.body[1]["state"], "in_progress");

    let statuses = hub.deployment_statuses(REPO, d);
    assert_eq!(
        statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["in_progress", "failure"]
    );
    assert_eq!(
        statuses[1].environment_url.as_deref(),
        Some("https://shop.example")
    );

    let got = post(&url, json!({"state": "destroyed"})).await;
    assert_eq!(got.status, 422);
    assert_eq!(
        got.body,
        json!({"message": "Validation Failed", "documentation_url": DEPLOYMENT_STATUS_DOC,
               "errors": [{"resource": "DeploymentStatus", "field": "state", "code": "custom",
                           "message": "state is not included in the list"}]})
    );
    let missing = format!(
        "{}/repos/acme/shop/deployments/424242/statuses",
        hub.api_url()
    );
    assert_eq!(
        post(&missing, json!({"state": "success"})).await.status,
        404
    );
    assert_eq!(hub.deployment_statuses(REPO, d).len(), 2);
}

#[tokio::test]
async fn a_successful_deployment_makes_earlier_ones_to_the_same_environment_inactive() {
    let hub = hub().await;
    let staging_old = hub.add_deployment(REPO, &sha('a'), "staging");
    hub.add_deployment_status(REPO, staging_old, "success");
    let staging_failed = hub.add_deployment(REPO, &sha('a'), "staging");
    hub.add_deployment_status(REPO, staging_failed, "failure");
    let prod_old = hub.add_deployment(REPO, &sha('a'), "production");
    hub.add_deployment_status(REPO, prod_old, "success");
    let staging_new = hub.add_deployment(REPO, &sha('a'), "staging");
    let prod_new = hub.add_deployment(REPO, &sha('a'), "production");
    let write = async |id: u64, body: Value| {
        let url = format!(
            "{}/repos/acme/shop/deployments/{id}/statuses",
            hub.api_url()
        );
        assert_eq!(post(&url, body).await.status, 201);
    };
    let latest = |id: u64| {
        hub.deployment_statuses(REPO, id)
            .last()
            .map(|s| s.state.clone())
    };

    write(staging_new, json!({"state": "success"})).await;
    assert_eq!(latest(staging_old).as_deref(), Some("inactive"));
    assert_eq!(
        latest(staging_failed).as_deref(),
        Some("failure"),
        "only successful deployments become inactive"
    );
    write(prod_new, json!({"state": "success"})).await;
    assert_eq!(
        latest(prod_old).as_deref(),
        Some("success"),
        "production environments are left alone"
    );

    // `auto_inactive: false` keeps the earlier ones as they are.
    let hub2 = hub.clone();
    let again = hub2.add_deployment(REPO, &sha('a'), "staging");
    write(again, json!({"state": "success", "auto_inactive": false})).await;
    assert_eq!(latest(staging_new).as_deref(), Some("success"));
}
