//! How Deploywatch treats GitHub: conditional requests, rate limits, Enterprise base paths.

use std::time::Duration;

use crate::harness::{Dw, Scenario, config};

#[tokio::test]
async fn unchanged_polls_are_answered_304() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "grace = \"10m\"", ""));
    // Several rounds of polling: deploying until the wait runs out.
    let run = dw
        .run_async(&["verify", "--wait", "1500ms", "--json"])
        .await;
    assert_eq!(run.report()["verdict"], "deploying", "{run:?}");
    let reqs = s.hub.requests();
    let branch: Vec<_> = reqs
        .iter()
        .filter(|r| r.path_and_query.contains("/branches/main"))
        .collect();
    assert!(
        branch.len() >= 3,
        "polled the branch {} times",
        branch.len()
    );
    assert_eq!(branch[0].status, 200);
    assert!(
        branch[1..]
            .iter()
            .all(|r| r.status == 304 && r.if_none_match.is_some()),
        "{branch:#?}"
    );
    let runs: Vec<_> = reqs
        .iter()
        .filter(|r| r.path_and_query.contains("/actions/runs"))
        .collect();
    assert!(runs[1..].iter().all(|r| r.status == 304), "{runs:#?}");
}

#[tokio::test]
async fn rate_limited_is_unverifiable_with_the_reset_time_and_no_more_requests() {
    let s = Scenario::start().await;
    let reset = chrono::Utc::now() + chrono::Duration::minutes(42);
    s.hub.set_rate_limit(60, 0, reset);
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw.run_async(&["verify", "--wait", "1s", "--json"]).await;
    let r = run.report();
    assert_eq!(r["verdict"], "unverifiable", "{run:?}");
    let hint = r["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("rate limit"), "{hint}");
    assert!(
        hint.contains(&reset.format("%H:%M").to_string()),
        "{hint} lacks the reset time"
    );
    // One request learned the limit; the following rounds sent nothing before the reset.
    assert_eq!(s.hub.requests().len(), 1, "{:#?}", s.hub.requests());
}

#[tokio::test]
async fn github_enterprise_base_path() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    let api = format!("{}/api/v3", s.hub.api_url());
    let dw = Dw::new(&config(&api, "", &s.env.build_info_url(), "", ""));
    let run = dw.run_async(&["verify", "--json"]).await;
    assert_eq!(run.report()["verdict"], "live", "{run:?}");
    assert!(
        s.hub
            .requests()
            .iter()
            .all(|r| r.path_and_query.starts_with("/api/v3/")),
        "{:#?}",
        s.hub.requests()
    );
}

#[tokio::test]
async fn follows_deployments() {
    let s = Scenario::start().await;
    let id = s.hub.add_deployment("acme/shop", &s.new, "production");
    s.hub.add_deployment_status("acme/shop", id, "success");
    let dw = Dw::new(&s.config("", "follows = \"deployments\"", ""));
    let run = dw.run_async(&["verify", "--json"]).await;
    let r = run.report();
    assert_eq!(r["verdict"], "phantom", "{run:?}");
    assert_eq!(r["expected_sha"], s.new.as_str());
    s.env.set_live(&s.new);
    let run = dw.run_async(&["verify", "--json"]).await;
    assert_eq!(run.report()["verdict"], "live", "{run:?}");
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn the_token_is_sent_but_never_printed() {
    let s = Scenario::start().await;
    s.hub.require_token(Some("ghp_secret_e2e_token"));
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    let dw = Dw::new(&s.config("", "", ""));
    let mut cmd = dw.command(&["verify", "--json"]);
    cmd.env("GITHUB_TOKEN", "ghp_secret_e2e_token")
        .env("DEPLOYWATCH_LOG", "trace");
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    let run = crate::harness::Run::new(out, Duration::ZERO);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("ghp_secret") && !run.stderr.contains("ghp_secret"),
        "{run:?}"
    );
    for entry in std::fs::read_dir(dw.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !bytes.windows(10).any(|w| w == b"ghp_secret"),
            "the token reached {}",
            path.display()
        );
    }
    // Without it, GitHub refuses and the report says so.
    let run = dw.run_async(&["verify", "--json"]).await;
    assert_eq!(run.report()["verdict"], "unverifiable", "{run:?}");
}

/// `[github] commit_statuses`: one commit status per state change of the expected SHA,
/// however many polls run, and none again after a restart.
#[tokio::test]
async fn commit_statuses_follow_the_deploy_once_per_state_change() {
    use crate::harness::{Dw, Scenario};
    use crate::incidents::terminate;
    use std::time::{Duration, Instant};

    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let config = s
        .config("", "", "confirm = 2")
        .replace("grace = \"0s\"", "grace = \"2s\"")
        .replace("[github]\n", "[github]\ncommit_statuses = true\n");
    let dw = Dw::new(&config);
    let spawn = |dw: &Dw| {
        let mut cmd = dw.command(&["watch", "--no-notify"]);
        cmd.env("GITHUB_TOKEN", "ghp_fake_token_that_may_write")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let states = || -> Vec<(String, String)> {
        s.hub
            .commit_statuses("acme/shop", &s.new)
            .into_iter()
            .map(|c| (c.state, c.description.unwrap_or_default()))
            .collect()
    };
    let wait_for = |n: usize| async move {
        let start = Instant::now();
        while states().len() < n && start.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let child = spawn(&dw);
    // Deploying within the grace period, then a phantom deploy once confirmed.
    wait_for(2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.env.set_live(&s.new);
    wait_for(3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = terminate(child).await;
    let got = states();
    let names: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        ["pending", "failure", "success"],
        "{got:#?}\n{run:?}"
    );
    assert_eq!(got[0].1, "Deploying to production");
    assert!(
        got[1]
            .1
            .starts_with("Phantom deploy: production still serves"),
        "{got:#?}"
    );
    assert!(got[1].1.chars().count() <= 140, "{}", got[1].1);
    assert!(got[2].1.starts_with("Live in production"), "{got:#?}");
    assert_eq!(
        s.hub
            .status_count("acme/shop", &s.new, "deploywatch/production"),
        3
    );
    // A restart finds the same state and writes nothing.
    let child = spawn(&dw);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = terminate(child).await;
    assert_eq!(states().len(), 3, "{:#?}\n{run:?}", states());
}
