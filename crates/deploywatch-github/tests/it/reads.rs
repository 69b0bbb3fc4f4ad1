//! Reading branch heads, workflow runs, deployments and compare; errors naming what is missing.

use std::time::Duration;

use chrono::Utc;
use deploywatch_github::{GitHub, GitHubError, RepoRef, Token};

use crate::{client, hub, sha, shop};

#[tokio::test]
async fn branch_head_reads_sha_author_message_and_date() {
    let hub = hub().await;
    hub.push(
        "acme/shop",
        "main",
        sha('a').as_str(),
        "Alice Doe",
        "Fix checkout\n\nLonger text",
    );
    let gh = client(&hub);
    assert!(!gh.is_authenticated());

    let head = gh.branch_head(&shop(), "main").await.expect("branch head");
    assert!(head.fresh);
    assert_eq!(head.value.sha, sha('a'));
    assert_eq!(head.value.author.as_deref(), Some("alice-doe"));
    assert_eq!(
        head.value.message.as_deref(),
        Some("Fix checkout\n\nLonger text")
    );
    let age = Utc::now() - head.value.committed_at.expect("committer date");
    assert!(age.num_seconds().abs() < 60, "committed {age} ago");

    // Unauthenticated access sends no credentials and still works (public repositories).
    let requests = hub.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].authorization);
    assert_eq!(requests[0].path_and_query, "/repos/acme/shop/branches/main");
}

#[tokio::test]
async fn branch_names_with_slashes_stay_one_branch() {
    let hub = hub().await;
    hub.push(
        "acme/shop",
        "release/2.0",
        sha('b').as_str(),
        "Bob",
        "Release",
    );
    let head = client(&hub)
        .branch_head(&shop(), "release/2.0")
        .await
        .expect("branch head");
    assert_eq!(head.value.sha, sha('b'));
}

#[tokio::test]
async fn missing_branch_and_repository_are_named() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "Init");
    let gh = client(&hub);
    let check = async |repo: &str, branch: &str, what: &str| {
        let repo = RepoRef::parse(repo).expect("repo name");
        let err = gh.branch_head(&repo, branch).await.expect_err("missing");
        assert_eq!(
            err,
            GitHubError::NotFound { what: what.into() },
            "{repo} {branch}"
        );
    };
    check("acme/shop", "develop", "branch develop of acme/shop").await;
    check("acme/nothing", "main", "repository acme/nothing").await;
    let err = gh
        .branch_head(&shop(), "develop")
        .await
        .expect_err("missing");
    assert_eq!(
        err.to_string(),
        "branch develop of acme/shop not found on GitHub"
    );

    let err = gh
        .runs_for_sha(&RepoRef::new("acme", "nothing"), &sha('a'), &[])
        .await;
    assert_eq!(
        err,
        Err(GitHubError::NotFound {
            what: "repository acme/nothing".into()
        })
    );
}

#[tokio::test]
async fn runs_are_filtered_by_workflow_name_or_file() {
    let hub = hub().await;
    let a = sha('a');
    hub.push("acme/shop", "main", a.as_str(), "Alice", "Change");
    let ci = hub.add_run("acme/shop", a.as_str(), "CI", "completed", Some("success"));
    let lint = hub.add_run(
        "acme/shop",
        a.as_str(),
        "Lint",
        "completed",
        Some("failure"),
    );
    let deploy = hub.add_run("acme/shop", a.as_str(), "Deploy", "in_progress", None);
    hub.add_run(
        "acme/shop",
        sha('b').as_str(),
        "CI",
        "completed",
        Some("success"),
    );
    let gh = client(&hub);

    let check = async |workflows: &[&str], want: &[u64]| {
        let workflows: Vec<String> = workflows.iter().map(|w| w.to_string()).collect();
        let runs = gh
            .runs_for_sha(&shop(), &a, &workflows)
            .await
            .expect("runs");
        let ids: Vec<u64> = runs.value.iter().map(|r| r.id).collect();
        assert_eq!(ids, want, "workflows {workflows:?}");
    };
    // Newest first; only runs of the asked SHA.
    check(&[], &[deploy, lint, ci]).await;
    check(&["CI"], &[ci]).await;
    check(&["CI", "Lint"], &[lint, ci]).await;
    check(&["ci.yml"], &[ci]).await;
    check(&["Release"], &[]).await;

    let runs = gh.runs_for_sha(&shop(), &a, &[]).await.expect("runs").value;
    let by_id = |id| runs.iter().find(|r| r.id == id).expect("run present");
    let (ci, lint, deploy) = (by_id(ci), by_id(lint), by_id(deploy));
    assert!(ci.is_success() && ci.completed_at.is_some() && ci.workflow == "CI");
    assert!(lint.is_failed());
    assert_eq!(
        (deploy.status.as_str(), deploy.conclusion.as_deref()),
        ("in_progress", None)
    );
    assert_eq!(
        deploy.completed_at, None,
        "only a completed run has a completion time"
    );
    assert!(
        ci.url.ends_with(&format!("/actions/runs/{}", ci.id)),
        "{}",
        ci.url
    );
    assert_eq!(ci.head_sha, a);
}

#[tokio::test]
async fn completion_time_is_the_update_of_the_finished_run() {
    let hub = hub().await;
    let a = sha('a');
    let id = hub.add_run_at(
        "acme/shop",
        a.as_str(),
        "CI",
        "in_progress",
        None,
        Utc::now() - chrono::Duration::minutes(10),
    );
    let finished = Utc::now() - chrono::Duration::minutes(2);
    hub.update_run_at("acme/shop", id, "completed", Some("success"), finished);
    let runs = client(&hub)
        .runs_for_sha(&shop(), &a, &[])
        .await
        .expect("runs")
        .value;
    assert_eq!(
        runs[0].completed_at.map(|t| t.timestamp()),
        Some(finished.timestamp())
    );
    assert!(runs[0].created_at < finished);
}

/// A deployment as the test creates it: SHA, environment, statuses oldest first.
type Deploy<'a> = (&'a str, &'a str, &'a [&'a str]);

#[tokio::test]
async fn latest_successful_deployment_selection() {
    let hub = hub().await;
    let (a, b) = (sha('a'), sha('b'));
    // (repository, deployments oldest first as (sha, environment, statuses), expected sha)
    let cases: &[(&str, &[Deploy], Option<&str>)] = &[
        (
            "acme/one",
            &[(a.as_str(), "production", &["success"])],
            Some(a.as_str()),
        ),
        // A newer deployment whose latest status is a failure is skipped.
        (
            "acme/fail",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "production", &["in_progress", "failure"]),
            ],
            Some(a.as_str()),
        ),
        // Still in progress: not live yet.
        (
            "acme/busy",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "production", &["queued", "in_progress"]),
            ],
            Some(a.as_str()),
        ),
        (
            "acme/newer",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "production", &["in_progress", "success"]),
            ],
            Some(b.as_str()),
        ),
        // Success later overridden on the same deployment counts as the later state.
        (
            "acme/redo",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "production", &["success", "error"]),
            ],
            Some(a.as_str()),
        ),
        // `inactive` (superseded or taken down) is not success: it is not what should run.
        (
            "acme/gone",
            &[(a.as_str(), "production", &["success", "inactive"])],
            None,
        ),
        (
            "acme/down",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "production", &["success", "inactive"]),
            ],
            Some(a.as_str()),
        ),
        // Other environments do not count.
        (
            "acme/staging",
            &[
                (a.as_str(), "production", &["success"]),
                (b.as_str(), "staging", &["success"]),
            ],
            Some(a.as_str()),
        ),
        ("acme/none", &[(a.as_str(), "staging", &["success"])], None),
        ("acme/nostatus", &[(a.as_str(), "production", &[])], None),
    ];
    for (repo, deployments, _) in cases {
        for (sha, env, statuses) in deployments.iter() {
            let id = hub.add_deployment(repo, sha, env);
            for state in statuses.iter() {
                hub.add_deployment_status(repo, id, state);
            }
        }
    }
    let gh = client(&hub);
    for (repo, _, want) in cases {
        let repo_ref = RepoRef::parse(repo).expect("repo name");
        let got = gh
            .latest_successful_deployment(&repo_ref, "production")
            .await
            .expect("deployments");
        assert_eq!(got.as_ref().map(|d| d.sha.as_str()), *want, "{repo}");
        if let Some(d) = got {
            assert!(
                (Utc::now() - d.success_at).num_seconds().abs() < 60,
                "{repo}: {d:?}"
            );
            assert!(d.deployment_id > 0);
        }
    }
}

#[tokio::test]
async fn compare_lists_the_commits_waiting_to_go_live() {
    let hub = hub().await;
    let shas = [sha('a'), sha('b'), sha('c'), sha('d')];
    for (n, s) in shas.iter().enumerate() {
        let message = format!("Change {n}\n\nbody");
        hub.push(
            "acme/shop",
            "main",
            s.as_str(),
            &format!("Dev {n}"),
            &message,
        );
    }
    let gh = client(&hub);
    let commits = gh
        .compare(&shop(), &shas[1], &shas[3])
        .await
        .expect("compare");
    let got: Vec<(&str, Option<&str>, &str)> = commits
        .iter()
        .map(|c| (c.sha.as_str(), c.author.as_deref(), c.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (shas[3].as_str(), Some("dev-3"), "Change 3"),
            (shas[2].as_str(), Some("dev-2"), "Change 2")
        ],
        "newest first, first line of the message"
    );
    assert!(
        commits[0].url.contains(shas[3].as_str()),
        "{}",
        commits[0].url
    );

    let before = hub.requests().len();
    assert_eq!(gh.compare(&shop(), &shas[2], &shas[2]).await, Ok(vec![]));
    assert_eq!(
        hub.requests().len(),
        before,
        "an equal pair needs no request"
    );

    let unknown = sha('e');
    let err = gh
        .compare(&shop(), &shas[0], &unknown)
        .await
        .expect_err("unknown head");
    assert_eq!(
        err,
        GitHubError::NotFound {
            what: "commit eeeeeee in acme/shop".into()
        }
    );
    let err = gh
        .compare(&RepoRef::new("acme", "nothing"), &shas[0], &shas[1])
        .await;
    assert_eq!(
        err,
        Err(GitHubError::NotFound {
            what: "repository acme/nothing".into()
        })
    );
}

#[tokio::test]
async fn enterprise_base_path_is_kept_on_every_request() {
    let hub = hub().await;
    let (a, b) = (sha('a'), sha('b'));
    hub.push("acme/shop", "main", a.as_str(), "Alice", "One");
    hub.push("acme/shop", "main", b.as_str(), "Bob", "Two");
    hub.add_run("acme/shop", b.as_str(), "CI", "completed", Some("success"));
    let d = hub.add_deployment("acme/shop", b.as_str(), "production");
    hub.add_deployment_status("acme/shop", d, "success");

    for base in [
        format!("{}/api/v3", hub.api_url()),
        format!("{}/api/v3/", hub.api_url()),
    ] {
        hub.clear_requests();
        let gh = GitHub::new(&base, None).expect("client");
        assert_eq!(
            gh.branch_head(&shop(), "main")
                .await
                .expect("head")
                .value
                .sha,
            b
        );
        assert_eq!(
            gh.runs_for_sha(&shop(), &b, &[])
                .await
                .expect("runs")
                .value
                .len(),
            1
        );
        let deployed = gh
            .latest_successful_deployment(&shop(), "production")
            .await
            .expect("deployments");
        assert_eq!(deployed.map(|d| d.sha), Some(b.clone()));
        assert_eq!(gh.compare(&shop(), &a, &b).await.expect("compare").len(), 1);
        let requests = hub.requests();
        assert_eq!(requests.len(), 5, "{requests:#?}");
        for r in &requests {
            assert!(
                r.path_and_query.starts_with("/api/v3/repos/acme/shop/"),
                "{}",
                r.path_and_query
            );
            assert_eq!(r.status, 200, "{}", r.path_and_query);
        }
    }
}

#[tokio::test]
async fn token_is_sent_and_a_bad_one_is_unauthorized() {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "Init");
    hub.require_token(Some("ghp_good"));

    let good = GitHub::new(&hub.api_url(), Token::new("ghp_good")).expect("client");
    assert!(good.is_authenticated());
    assert_eq!(
        good.branch_head(&shop(), "main")
            .await
            .expect("head")
            .value
            .sha,
        sha('a')
    );
    assert!(hub.requests().iter().all(|r| r.authorization));
    let debug = format!("{good:?}");
    assert!(!debug.contains("ghp_good"), "{debug}");

    for token in [Token::new("ghp_expired"), None] {
        let gh = GitHub::new(&hub.api_url(), token).expect("client");
        let err = gh.branch_head(&shop(), "main").await.expect_err("rejected");
        assert_eq!(err, GitHubError::Unauthorized);
        let text = err.to_string();
        assert!(
            text.contains("deploywatch auth login") && text.contains("GITHUB_TOKEN"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn unreachable_api_is_reported_quickly() {
    let hub = hub().await;
    let url = hub.api_url();
    hub.shutdown();
    drop(hub);
    // Let the server task close its listener.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gh = GitHub::new(&url, None)
        .expect("client")
        .with_timeout(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let err = gh
        .branch_head(&shop(), "main")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, GitHubError::Unreachable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn bad_api_url_is_a_setup_error() {
    let err = GitHub::new("api.github.com", None).expect_err("no scheme");
    assert!(matches!(err, GitHubError::Setup(_)), "{err:?}");
}
