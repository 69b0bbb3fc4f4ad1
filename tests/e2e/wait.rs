//! `verify --wait` and `--expect`: the pipeline step after a deploy.

use std::time::Duration;

use crate::harness::{Dw, Run, Scenario};

#[tokio::test]
async fn wait_turns_deploying_into_live_when_the_deploy_lands() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "grace = \"10m\"", ""));
    let child = dw.spawn(&["verify", "--wait", "30s", "--json"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.env.set_live(&s.new);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let run = Run::new(out, Duration::ZERO);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.report()["verdict"], "live", "{run:?}");
    assert!(
        s.env.requests() >= 3,
        "checked more than once while waiting: {}",
        s.env.requests()
    );
}

#[tokio::test]
async fn wait_runs_out_into_phantom_with_expect() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw
        .run_async(&["verify", "--expect", &s.new, "--wait", "2s", "--json"])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    let r = run.report();
    assert_eq!(r["verdict"], "phantom", "{run:?}");
    assert_eq!(r["expected_sha"], s.new.as_str());
    assert!(
        run.elapsed >= Duration::from_secs(2),
        "gave up early: {run:?}"
    );
    assert!(run.elapsed < Duration::from_secs(15), "{run:?}");
    // --expect needs no GitHub at all.
    assert!(s.hub.requests().is_empty(), "{:?}", s.hub.requests());
}

#[tokio::test]
async fn expect_a_short_sha_that_is_live() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw.run_async(&["verify", "--expect", &s.old[..7]]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("shop / production  live"), "{run:?}");
}

#[tokio::test]
async fn expect_without_wait_is_phantom_at_once() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw
        .run_async(&["verify", "--expect", &s.new, "--json"])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.report()["verdict"], "phantom");
}
