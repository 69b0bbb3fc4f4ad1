//! The two writes (commit statuses, deployment statuses) against the fake GitHub: what is
//! sent, what is recorded, the errors a person can act on, and the shared rate limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deploywatch_fakehub::FakeHub;
use deploywatch_github::{
    DeploymentState, DeploymentStatusWrite, GitHub, GitHubError, MAX_DESCRIPTION_CHARS, RepoRef,
    StatusState, StatusWrite, Token, WriteKind, truncate_description,
};
use serde_json::json;

use crate::{hub, sha, shop};

const CONTEXT: &str = "deploywatch/production";

/// A client with a token, writing without the default one-second spacing.
fn writer(hub: &FakeHub) -> GitHub {
    GitHub::new(&hub.api_url(), Token::new("ghp_writer"))
        .expect("client builds")
        .with_write_interval(Duration::ZERO)
}

fn status(state: StatusState, description: &str) -> StatusWrite {
    StatusWrite {
        state,
        context: CONTEXT.into(),
        description: description.into(),
        target_url: Some("https://deploywatch.example/production".into()),
    }
}

async fn hub_with_commit() -> FakeHub {
    let hub = hub().await;
    hub.push("acme/shop", "main", sha('a').as_str(), "Alice", "One");
    hub
}

#[tokio::test]
async fn a_commit_status_is_written_and_recorded_with_its_fields() {
    let hub = hub_with_commit().await;
    let gh = writer(&hub);
    let created = gh
        .create_commit_status(
            &shop(),
            &sha('a'),
            &status(StatusState::Failure, "Live 1234567, expected aaaaaaa"),
        )
        .await
        .expect("status written");
    assert_eq!(
        created.url,
        format!("{}/repos/acme/shop/statuses/{}", hub.api_url(), sha('a'))
    );
    let age = Utc::now() - created.created_at.expect("creation time");
    assert!(age.num_seconds().abs() < 60, "{age}");

    let statuses = hub.commit_statuses("acme/shop", sha('a').as_str());
    assert_eq!(statuses.len(), 1);
    let s = &statuses[0];
    assert_eq!(
        (
            s.id,
            s.state.as_str(),
            s.context.as_str(),
            s.description.as_deref(),
            s.target_url.as_deref()
        ),
        (
            created.id,
            "failure",
            CONTEXT,
            Some("Live 1234567, expected aaaaaaa"),
            Some("https://deploywatch.example/production")
        )
    );
    let writes = hub.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.as_str()),
        (
            "POST",
            format!("/repos/acme/shop/statuses/{}", sha('a')).as_str()
        )
    );
    assert_eq!(
        writes[0].body,
        json!({
            "state": "failure",
            "context": CONTEXT,
            "description": "Live 1234567, expected aaaaaaa",
            "target_url": "https://deploywatch.example/production",
        })
    );
    let requests = hub.requests();
    assert!(requests[0].authorization, "the token is sent");
    assert_eq!(gh.request_count(), 1);

    // Each state under its name; no description and no URL send none.
    for state in [
        StatusState::Pending,
        StatusState::Success,
        StatusState::Error,
    ] {
        let bare = StatusWrite {
            state,
            context: CONTEXT.into(),
            description: String::new(),
            target_url: None,
        };
        gh.create_commit_status(&shop(), &sha('a'), &bare)
            .await
            .expect("status written");
    }
    let states: Vec<String> = hub
        .commit_statuses("acme/shop", sha('a').as_str())
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, ["failure", "pending", "success", "error"]);
    assert_eq!(
        hub.writes()[1].body,
        json!({"state": "pending", "context": CONTEXT})
    );
    assert_eq!(hub.status_count("acme/shop", sha('a').as_str(), CONTEXT), 4);
}

#[tokio::test]
async fn long_descriptions_are_cut_to_140_characters_before_sending() {
    let hub = hub_with_commit().await;
    let gh = writer(&hub);
    // (description, what GitHub must receive)
    let cases: Vec<(String, String)> = vec![
        ("fits".into(), "fits".into()),
        ("x".repeat(140), "x".repeat(140)),
        ("x".repeat(141), format!("{}…", "x".repeat(139))),
        ("ü".repeat(300), format!("{}…", "ü".repeat(139))),
        ("部署".repeat(71), format!("{}…", "部署".repeat(69) + "部")),
        ("🚀".repeat(141), format!("{}…", "🚀".repeat(139))),
        (
            format!("{} {}", "a".repeat(138), "b".repeat(10)),
            format!("{}…", "a".repeat(138)),
        ),
    ];
    for (n, (description, want)) in cases.iter().enumerate() {
        gh.create_commit_status(
            &shop(),
            &sha('a'),
            &status(StatusState::Success, description),
        )
        .await
        .unwrap_or_else(|e| panic!("case {n}: the fake accepts it: {e}"));
        let sent = hub.writes()[n].body["description"]
            .as_str()
            .expect("description sent")
            .to_owned();
        assert_eq!(&sent, want, "case {n}");
        assert_eq!(sent, truncate_description(description), "case {n}");
        assert!(sent.chars().count() <= MAX_DESCRIPTION_CHARS, "case {n}");
    }
    // The deployment status description is cut the same way.
    let d = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    gh.create_deployment_status(
        &shop(),
        d,
        &DeploymentStatusWrite {
            state: DeploymentState::Success,
            description: "é".repeat(500),
            environment_url: None,
            log_url: None,
        },
    )
    .await
    .expect("deployment status written");
    let written = hub.deployment_statuses("acme/shop", d);
    assert_eq!(
        written[0].description.as_deref(),
        Some(format!("{}…", "é".repeat(139)).as_str())
    );
}

#[tokio::test]
async fn a_read_only_token_gets_the_scope_it_needs() {
    let hub = hub_with_commit().await;
    let d = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    hub.set_read_only(true);
    let gh = writer(&hub);

    let err = gh
        .create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        GitHubError::WriteRefused {
            kind: WriteKind::CommitStatus,
            repo: "acme/shop".into(),
            status: 403,
            detail: "Resource not accessible by personal access token".into(),
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the GitHub token cannot write commit statuses to acme/shop: it needs the \
             `repo:status` scope (classic) or `Commit statuses: write` (fine-grained)"
        ),
        "{text}"
    );
    assert!(
        text.contains("Resource not accessible by personal access token"),
        "{text}"
    );
    assert!(!err.is_transient());

    let err = gh
        .create_deployment_status(
            &shop(),
            d,
            &DeploymentStatusWrite {
                state: DeploymentState::Success,
                description: "ok".into(),
                environment_url: None,
                log_url: None,
            },
        )
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the GitHub token cannot write deployment statuses to acme/shop: it needs the \
             `repo_deployment` scope (classic) or `Deployments: write` (fine-grained)"
        ),
        "{text}"
    );

    // A refused write is not a rate limit: the client goes on reading and writing.
    assert!(gh.branch_head(&shop(), "main").await.is_ok());
    hub.set_read_only(false);
    assert!(
        gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
            .await
            .is_ok()
    );

    // GitHub answers 404 where it hides a repository from the token; the message says both.
    let err = gh
        .create_commit_status(
            &RepoRef::new("acme", "hidden"),
            &sha('a'),
            &status(StatusState::Success, "ok"),
        )
        .await
        .expect_err("404");
    assert!(
        matches!(err, GitHubError::WriteRefused { status: 404, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("the GitHub token cannot write commit statuses to acme/hidden")
            && text.contains("check too that the repository exists"),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_token_nothing_is_sent() {
    let hub = hub_with_commit().await;
    let d = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    let gh = GitHub::new(&hub.api_url(), None).expect("client");
    let err = gh
        .create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect_err("needs a token");
    assert_eq!(
        err,
        GitHubError::TokenRequired {
            kind: WriteKind::CommitStatus,
            repo: "acme/shop".into()
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("needs a GitHub token")
            && text.contains("deploywatch auth login")
            && text.contains("GITHUB_TOKEN")
            && text.contains("`repo:status`"),
        "{text}"
    );
    let err = gh
        .create_deployment_status(
            &shop(),
            d,
            &DeploymentStatusWrite {
                state: DeploymentState::Success,
                description: String::new(),
                environment_url: None,
                log_url: None,
            },
        )
        .await
        .expect_err("needs a token");
    assert!(
        matches!(
            err,
            GitHubError::TokenRequired {
                kind: WriteKind::DeploymentStatus,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(hub.requests().is_empty());
    assert!(hub.writes().is_empty());
    assert_eq!(gh.request_count(), 0);
}

#[tokio::test]
async fn a_deployment_status_round_trip() {
    let hub = hub_with_commit().await;
    let d = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    hub.add_deployment_status("acme/shop", d, "success");
    let gh = writer(&hub);

    // The read keeps the deployment id for the write.
    let head = gh
        .latest_successful_deployment(&shop(), "production")
        .await
        .expect("deployments")
        .expect("a successful deployment");
    assert_eq!((head.sha.clone(), head.deployment_id), (sha('a'), d));

    let created = gh
        .create_deployment_status(
            &shop(),
            head.deployment_id,
            &DeploymentStatusWrite {
                state: DeploymentState::Failure,
                description: "Deploywatch: production runs 1234567, not aaaaaaa".into(),
                environment_url: Some("https://shop.example".into()),
                log_url: Some("https://deploywatch.example/production".into()),
            },
        )
        .await
        .expect("deployment status written");
    assert_eq!(
        created.url,
        format!(
            "{}/repos/acme/shop/deployments/{d}/statuses/{}",
            hub.api_url(),
            created.id
        )
    );
    assert_eq!(
        hub.writes()[0].body,
        json!({
            "state": "failure",
            "description": "Deploywatch: production runs 1234567, not aaaaaaa",
            "environment_url": "https://shop.example",
            "log_url": "https://deploywatch.example/production",
        })
    );
    let statuses = hub.deployment_statuses("acme/shop", d);
    let last = statuses.last().expect("the written status");
    assert_eq!(
        (
            last.id,
            last.state.as_str(),
            last.environment_url.as_deref(),
            last.log_url.as_deref()
        ),
        (
            created.id,
            "failure",
            Some("https://shop.example"),
            Some("https://deploywatch.example/production")
        )
    );

    // What was written is what the next read sees: the deployment is no longer successful.
    assert_eq!(
        gh.latest_successful_deployment(&shop(), "production")
            .await
            .expect("deployments"),
        None
    );
    gh.create_deployment_status(
        &shop(),
        d,
        &DeploymentStatusWrite {
            state: DeploymentState::Success,
            description: "Deploywatch: production runs aaaaaaa".into(),
            environment_url: None,
            log_url: None,
        },
    )
    .await
    .expect("written");
    let again = gh
        .latest_successful_deployment(&shop(), "production")
        .await
        .expect("deployments")
        .expect("successful again");
    assert_eq!(again.deployment_id, d);

    // Every state GitHub has goes out under its own name.
    for state in [
        DeploymentState::Queued,
        DeploymentState::Pending,
        DeploymentState::InProgress,
        DeploymentState::Error,
        DeploymentState::Inactive,
    ] {
        let write = DeploymentStatusWrite {
            state,
            description: String::new(),
            environment_url: None,
            log_url: None,
        };
        gh.create_deployment_status(&shop(), d, &write)
            .await
            .unwrap_or_else(|e| panic!("{state:?}: {e}"));
    }
    let states: Vec<String> = hub
        .deployment_statuses("acme/shop", d)
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(
        states,
        [
            "success",
            "failure",
            "success",
            "queued",
            "pending",
            "in_progress",
            "error",
            "inactive"
        ]
    );

    // An unknown deployment is a 404 that names it as a possibility.
    let err = gh
        .create_deployment_status(
            &shop(),
            424_242,
            &DeploymentStatusWrite {
                state: DeploymentState::Success,
                description: String::new(),
                environment_url: None,
                log_url: None,
            },
        )
        .await
        .expect_err("no such deployment");
    assert!(
        err.to_string()
            .contains("check too that the repository and the deployment exist"),
        "{err}"
    );
}

#[tokio::test]
async fn validation_failures_say_what_github_rejected() {
    let hub = hub_with_commit().await;
    let gh = writer(&hub);
    let err = gh
        .create_commit_status(&shop(), &sha('f'), &status(StatusState::Success, "ok"))
        .await
        .expect_err("unknown commit");
    assert_eq!(
        err,
        GitHubError::WriteRejected {
            kind: WriteKind::CommitStatus,
            target: format!("commit fffffff in acme/shop (context {CONTEXT})"),
            detail: format!("No commit found for SHA: {}", sha('f')),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "GitHub rejected the commit status for commit fffffff in acme/shop (context \
             {CONTEXT}): No commit found for SHA: {}",
            sha('f')
        )
    );

    hub.set_max_statuses_per_context(1);
    gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Pending, "1"))
        .await
        .expect("the first fits");
    let err = gh
        .create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "2"))
        .await
        .expect_err("too many");
    let text = err.to_string();
    assert!(
        text.contains(
            "Validation Failed: This SHA and context has reached the maximum number of statuses."
        ) && text.contains("at most 1000 statuses per commit and context"),
        "{text}"
    );
    assert!(!err.is_transient());
    assert_eq!(hub.status_count("acme/shop", sha('a').as_str(), CONTEXT), 1);
}

/// The reset time as GitHub sends it: whole seconds.
fn reset_in(minutes: i64) -> DateTime<Utc> {
    let at = Utc::now() + chrono::Duration::minutes(minutes);
    DateTime::from_timestamp(at.timestamp(), 0).expect("in range")
}

#[tokio::test]
async fn writes_spend_the_same_quota_and_update_the_rate_state() {
    let hub = hub_with_commit().await;
    let reset = reset_in(30);
    hub.set_rate_limit(5000, 1234, reset);
    let gh = writer(&hub);
    assert_eq!(gh.rate(), None);

    gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect("written");
    let rate = gh.rate().expect("the write's rate headers were read");
    assert_eq!(
        (rate.limit, rate.remaining, rate.reset),
        (5000, 1233, reset)
    );
    gh.branch_head(&shop(), "main").await.expect("read");
    assert_eq!(gh.rate().map(|r| r.remaining), Some(1232));
    gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect("written");
    assert_eq!(gh.rate().map(|r| r.remaining), Some(1231));
    assert_eq!(gh.request_count(), 3);

    // Down to the reserve (5 % of 60 = 3), a write is refused before sending, like a read.
    let hub = hub_with_commit().await;
    hub.set_rate_limit(60, 4, reset);
    let gh = writer(&hub);
    gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect("written");
    assert_eq!(gh.rate().map(|r| r.remaining), Some(3));
    let err = gh
        .create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect_err("at the reserve");
    assert_eq!(err, GitHubError::RateLimited { reset });
    assert_eq!(hub.writes().len(), 1);
    assert_eq!(gh.request_count(), 1);
}

#[tokio::test]
async fn a_secondary_limit_on_a_write_holds_back_reads_and_writes() {
    let hub = hub_with_commit().await;
    hub.set_retry_after(Some(90));
    let gh = writer(&hub);
    let before = Utc::now();
    let Err(GitHubError::RateLimited { reset }) = gh
        .create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
    else {
        panic!("a 429 with Retry-After is a rate limit");
    };
    let wait = reset - before;
    assert!(
        wait >= chrono::TimeDelta::seconds(89) && wait <= chrono::TimeDelta::seconds(92),
        "{wait}"
    );
    hub.set_retry_after(None);
    assert_eq!(
        gh.branch_head(&shop(), "main").await,
        Err(GitHubError::RateLimited { reset })
    );
    assert_eq!(
        gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
            .await,
        Err(GitHubError::RateLimited { reset })
    );
    assert_eq!(hub.requests().len(), 1);
}

#[tokio::test]
async fn writes_go_out_one_at_a_time_spaced_by_the_write_interval() {
    let hub = hub_with_commit().await;
    let gh = GitHub::new(&hub.api_url(), Token::new("ghp_writer"))
        .expect("client")
        .with_write_interval(Duration::from_millis(300));
    let clone = gh.clone();
    let one = status(StatusState::Pending, "one");
    let two = status(StatusState::Success, "two");
    let (repo, commit) = (shop(), sha('a'));
    let (a, b) = tokio::join!(
        gh.create_commit_status(&repo, &commit, &one),
        clone.create_commit_status(&repo, &commit, &two),
    );
    a.expect("first");
    b.expect("second");
    let writes = hub.writes();
    assert_eq!(writes.len(), 2);
    let gap = writes[1].at - writes[0].at;
    assert!(gap >= chrono::TimeDelta::milliseconds(280), "{gap}");
    // Reads are not held back by the spacing.
    let started = std::time::Instant::now();
    gh.branch_head(&shop(), "main").await.expect("read");
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn writes_keep_the_enterprise_base_path_and_a_bad_token_is_unauthorized() {
    let hub = hub_with_commit().await;
    let d = hub.add_deployment("acme/shop", sha('a').as_str(), "production");
    let gh = GitHub::new(
        &format!("{}/api/v3/", hub.api_url()),
        Token::new("ghp_good"),
    )
    .expect("client")
    .with_write_interval(Duration::ZERO);
    gh.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
        .await
        .expect("written");
    let created = gh
        .create_deployment_status(
            &shop(),
            d,
            &DeploymentStatusWrite {
                state: DeploymentState::Success,
                description: "ok".into(),
                environment_url: None,
                log_url: None,
            },
        )
        .await
        .expect("written");
    assert!(
        created.url.starts_with(&format!(
            "{}/api/v3/repos/acme/shop/deployments/",
            hub.api_url()
        )),
        "{}",
        created.url
    );
    let paths: Vec<String> = hub.writes().into_iter().map(|w| w.path).collect();
    assert_eq!(
        paths,
        [
            format!("/api/v3/repos/acme/shop/statuses/{}", sha('a')),
            format!("/api/v3/repos/acme/shop/deployments/{d}/statuses"),
        ]
    );

    hub.require_token(Some("ghp_good"));
    let bad = GitHub::new(&hub.api_url(), Token::new("ghp_revoked"))
        .expect("client")
        .with_write_interval(Duration::ZERO);
    assert_eq!(
        bad.create_commit_status(&shop(), &sha('a'), &status(StatusState::Success, "ok"))
            .await,
        Err(GitHubError::Unauthorized)
    );
}
