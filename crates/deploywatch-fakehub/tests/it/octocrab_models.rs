//! The patched bodies parse into octocrab's models through octocrab's own client, both at the
//! API root and under `/api/v3`: the shapes are what real clients read.

use deploywatch_fakehub::FakeHub;
use octocrab::Octocrab;

use crate::support::sha;

fn crab(base: String) -> Octocrab {
    Octocrab::builder()
        .base_uri(base)
        .expect("base uri")
        .build()
        .expect("octocrab builds")
}

async fn fleet() -> (FakeHub, u64, u64) {
    let hub = FakeHub::start().await.expect("fake starts");
    hub.push("acme/shop", "main", &sha('a'), "Alice", "One");
    hub.push("acme/shop", "main", &sha('b'), "Bob", "Two");
    let run = hub.add_run("acme/shop", &sha('b'), "CI", "completed", Some("success"));
    hub.add_run("acme/shop", &sha('a'), "CI", "completed", Some("failure"));
    let deployment = hub.add_deployment("acme/shop", &sha('b'), "production");
    hub.add_deployment_status("acme/shop", deployment, "success");
    (hub, run, deployment)
}

#[tokio::test]
async fn octocrab_parses_every_answer_at_the_root_and_under_api_v3() {
    let (hub, run_id, deployment_id) = fleet().await;
    for base in [hub.api_url(), format!("{}/api/v3/", hub.api_url())] {
        let crab = crab(base.clone());
        let repo = crab.repos("acme", "shop");

        let branch = repo
            .branches()
            .get("main")
            .await
            .unwrap_or_else(|e| panic!("{base}: branch: {e:?}"));
        assert_eq!(
            (branch.name.as_str(), branch.commit.sha.as_str()),
            ("main", sha('b').as_str())
        );

        let runs = crab
            .workflows("acme", "shop")
            .list_all_runs()
            .head_sha(sha('b'))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: runs: {e:?}"));
        assert_eq!(runs.total_count, Some(1));
        let run = &runs.items[0];
        assert_eq!(
            (run.id.0, run.status.as_str(), run.conclusion.as_deref()),
            (run_id, "completed", Some("success"))
        );
        assert_eq!(run.head_commit.author.name, "Bob");

        let one = crab
            .workflows("acme", "shop")
            .get(run_id.into())
            .await
            .unwrap_or_else(|e| panic!("{base}: run: {e:?}"));
        assert_eq!(one.head_sha, sha('b'));

        let deployments = repo
            .deployments()
            .list()
            .environment("production")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: deployments: {e:?}"));
        assert_eq!(deployments.items.len(), 1);
        assert_eq!(
            (deployments.items[0].id.0, deployments.items[0].sha.as_str()),
            (deployment_id, sha('b').as_str())
        );

        let statuses = repo
            .deployments()
            .statuses(deployment_id)
            .list()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: statuses: {e:?}"));
        assert_eq!(statuses.items.len(), 1);

        let cmp = repo
            .compare_commits(sha('a'), "main")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: compare: {e:?}"));
        assert_eq!(cmp.total_commits, 1);
        let author = cmp.commits[0]
            .commit
            .author
            .as_ref()
            .and_then(|a| a.name.clone());
        assert_eq!(author.as_deref(), Some("Bob"));

        let limit = crab
            .ratelimit()
            .get()
            .await
            .unwrap_or_else(|e| panic!("{base}: rate limit: {e:?}"));
        assert_eq!(limit.resources.core.limit, 5000);
    }
}

#[tokio::test]
async fn octocrab_reads_the_error_bodies() {
    let (hub, _, _) = fleet().await;
    let err = crab(hub.api_url())
        .repos("acme", "shop")
        .branches()
        .get("nope")
        .await
        .expect_err("unknown branch is an error");
    let octocrab::Error::GitHub { source, .. } = err else {
        panic!("expected GitHub's error body to parse, got {err:?}");
    };
    assert_eq!(source.status_code.as_u16(), 404);
    assert_eq!(source.message, "Branch not found");
    assert_eq!(
        source.documentation_url.as_deref(),
        Some("https://docs.github.com/rest/branches/branches#get-a-branch")
    );
}

#[tokio::test]
async fn octocrab_parses_the_answers_to_both_writes() {
    let (hub, _, deployment_id) = fleet().await;
    for base in [hub.api_url(), format!("{}/api/v3/", hub.api_url())] {
        let crab = crab(base.clone());
        let repo = crab.repos("acme", "shop");
        let status = repo
            .create_status(sha('b'), octocrab::models::StatusState::Failure)
            .context("deploywatch/production".to_owned())
            .description("Live: aaaaaaa".to_owned())
            .target("https://deploywatch.example/p".to_owned())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: create status: {e:?}"));
        assert_eq!(status.state, octocrab::models::StatusState::Failure);
        assert_eq!(status.context.as_deref(), Some("deploywatch/production"));
        assert_eq!(status.description.as_deref(), Some("Live: aaaaaaa"));

        let created = repo
            .deployments()
            .statuses(deployment_id)
            .create(octocrab::models::repos::DeploymentStatusState::InProgress)
            .description("Deploywatch sees the rollout")
            .log_url("https://deploywatch.example/p")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: create deployment status: {e:?}"));
        assert_eq!(
            created.state,
            octocrab::models::repos::DeploymentStatusState::InProgress
        );
        assert_eq!(created.environment.as_deref(), Some("production"));
        assert_eq!(
            created.target_url.as_deref(),
            Some("https://deploywatch.example/p")
        );
    }
    assert_eq!(
        hub.status_count("acme/shop", &sha('b'), "deploywatch/production"),
        2
    );
    assert_eq!(hub.deployment_statuses("acme/shop", deployment_id).len(), 3);
}

#[tokio::test]
async fn octocrab_parses_what_adding_a_repository_reads() {
    let (hub, _, _) = fleet().await;
    hub.set_environments("acme/shop", &["production", "staging"]);
    hub.add_workflow("acme/shop", "Deploy", ".github/workflows/deploy.yml");
    let team = "[github]\n# für das Team ✓\n".repeat(4);
    hub.set_file("acme/shop", ".github/deploywatch.toml", Some(&team));
    for base in [hub.api_url(), format!("{}/api/v3/", hub.api_url())] {
        let crab = crab(base.clone());
        let repo = crab.repos("acme", "shop");

        let info = repo
            .get()
            .await
            .unwrap_or_else(|e| panic!("{base}: repository: {e:?}"));
        assert_eq!(info.full_name.as_deref(), Some("acme/shop"));
        assert_eq!(info.default_branch.as_deref(), Some("main"));

        let environments = repo
            .environments()
            .list()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: environments: {e:?}"));
        let names: Vec<&str> = environments
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["production", "staging"]);

        let workflows = crab
            .workflows("acme", "shop")
            .list()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: workflows: {e:?}"));
        let files: Vec<&str> = workflows.items.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            files,
            [".github/workflows/ci.yml", ".github/workflows/deploy.yml"]
        );

        let mut content = repo
            .get_content()
            .path(".github/deploywatch.toml")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: content: {e:?}"));
        let items = content.take_items();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].decoded_content().as_deref(), Some(team.as_str()));

        let mut dir = repo
            .get_content()
            .path(".github")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{base}: directory: {e:?}"));
        let entries = dir.take_items();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.r#type.as_str())
                .collect::<Vec<_>>(),
            ["file"]
        );
    }
}
