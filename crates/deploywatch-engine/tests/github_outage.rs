//! GitHub failing for a while is not a failure of every environment: a repository poll that
//! meets a transient error (unreachable, rate-limited, 5xx) keeps the head it read last, and the
//! checks compare with it, saying so; an answer that stays wrong until someone acts (a branch
//! that does not exist) is still `unverifiable` at once.

use std::path::Path;

use deploywatch_core::Verdict;
use deploywatch_engine::{Engine, EngineOptions};
use deploywatch_fakehub::FakeHub;
use deploywatch_github::GitHub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SHA: &str = "b7c1e2f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";

/// A loopback build-info endpoint serving `SHA`.
async fn build_info() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = format!(r#"{{"git_sha":"{SHA}"}}"#);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

fn engine(api: &str, env_base: &str, branch: &str) -> std::sync::Arc<Engine> {
    let text = format!(
        r#"
[github]
api_url = "{api}"

[defaults]
timeout = "2s"

[[project]]
name = "shop"
repo = "acme/shop"
branch = "{branch}"

[[project.environment]]
name = "production"
build_info_url = "{env_base}/api/build-info"
"#
    );
    let config = deploywatch_config::parse(&text, Path::new("test.toml")).expect("valid config");
    Engine::new(EngineOptions {
        github: GitHub::new(api, None).unwrap(),
        store: None,
        config,
    })
}

#[tokio::test]
async fn an_unreachable_github_keeps_the_last_head_and_says_so() {
    let hub = FakeHub::start().await.unwrap();
    hub.push("acme/shop", "main", SHA, "bob", "Fix totals");
    hub.add_run("acme/shop", SHA, "CI", "completed", Some("success"));
    let env_base = build_info().await;
    let engine = engine(&hub.api_url(), &env_base, "main");
    let project = &engine.config.projects[0];
    let env = &project.environments[0];

    let first = engine.poll_repo(project, None).await;
    assert_eq!(first.head_sha().map(|s| s.as_str()), Some(SHA));
    assert!(first.stale.is_none());
    let report = engine.check(project, env, Some(&first), None).await;
    assert_eq!(report.verdict, Verdict::Live, "{report:#?}");

    hub.shutdown();
    let second = engine.poll_repo(project, Some(&first)).await;
    assert_eq!(
        second.head_sha().map(|s| s.as_str()),
        Some(SHA),
        "the last head is kept: {:?}",
        second.head
    );
    assert!(!second.changed, "keeping the last head is no change");
    assert_eq!(second.runs, first.runs, "and the CI runs read with it");
    assert_eq!(second.runs.len(), 1);
    let stale = second
        .stale
        .as_ref()
        .expect("the snapshot says it is stale");
    assert!(stale.reason.contains("GitHub is unreachable"), "{stale:?}");
    assert_eq!(stale.read_at, first.fetched_at);
    let report = engine.check(project, env, Some(&second), None).await;
    assert_eq!(report.verdict, Verdict::Live, "{report:#?}");
    assert_eq!(
        report.ci.as_ref().and_then(|c| c.conclusion.as_deref()),
        Some("success")
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("GitHub is unreachable")
                && w.contains("the expected SHA is the head of main as of")),
        "{:?}",
        report.warnings
    );

    // A third failing poll keeps the time of the last real read, not of the second poll.
    let third = engine.poll_repo(project, Some(&second)).await;
    assert_eq!(third.stale.map(|s| s.read_at), Some(first.fetched_at));

    // Without an earlier head there is nothing to keep: unverifiable, saying why.
    let fresh = engine.poll_repo(project, None).await;
    assert!(fresh.head.is_err());
    let report = engine.check(project, env, Some(&fresh), None).await;
    assert_eq!(report.verdict, Verdict::Unverifiable);
    assert!(
        report.hint.contains("GitHub is unreachable"),
        "{}",
        report.hint
    );
}

#[tokio::test]
async fn a_branch_that_does_not_exist_is_not_papered_over() {
    let hub = FakeHub::start().await.unwrap();
    hub.push("acme/shop", "main", SHA, "bob", "Fix totals");
    let env_base = build_info().await;
    let good = engine(&hub.api_url(), &env_base, "main");
    let first = good.poll_repo(&good.config.projects[0], None).await;
    assert!(first.head.is_ok());

    // The same repository watched on a branch GitHub does not have: a 404 stays a 404 until
    // someone fixes the config, so the earlier head is not reused.
    let wrong = engine(&hub.api_url(), &env_base, "mian");
    let project = &wrong.config.projects[0];
    let snap = wrong.poll_repo(project, Some(&first)).await;
    assert!(snap.stale.is_none());
    let err = snap
        .head
        .as_ref()
        .expect_err("a missing branch is an error");
    assert!(err.contains("not found"), "{err}");
}
