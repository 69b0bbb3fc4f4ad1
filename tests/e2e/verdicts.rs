//! Every verdict of SPEC §3 reached through the real binary, with its exit code and the
//! evidence a person needs.

use deploywatch_fleet::{Format, SimRegistry};

use crate::harness::{Dw, Scenario};

/// Runs `verify --json` for a scenario's config and checks verdict, exit code and a phrase
/// of the hint.
async fn verify(s: &Scenario, config: String, verdict: &str, hint_has: &str) -> serde_json::Value {
    let dw = Dw::new(&config);
    let run = dw.run_async(&["verify", "--json"]).await;
    let report = run.report();
    assert_eq!(report["verdict"], verdict, "{run:?}");
    assert_eq!(run.code, if verdict == "live" { 0 } else { 1 }, "{run:?}");
    let hint = report["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains(hint_has),
        "hint {hint:?} lacks {hint_has:?}\n{run:?}"
    );
    assert_eq!(
        report["expected_sha"].as_str().map(str::len).unwrap_or(40),
        40
    );
    let _ = s;
    report
}

#[tokio::test]
async fn live_when_the_pushed_sha_serves() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    let r = verify(&s, s.config("", "", ""), "live", "serves").await;
    assert_eq!(r["live_sha"], s.new.as_str());
    assert_eq!(r["ci"]["conclusion"], "success");
}

#[tokio::test]
async fn phantom_when_ci_passed_and_the_old_sha_serves() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let r = verify(&s, s.config("", "", ""), "phantom", "after CI passed").await;
    assert_eq!(r["expected_sha"], s.new.as_str());
    assert_eq!(r["live_sha"], s.old.as_str());
}

#[tokio::test]
async fn deploying_while_ci_runs() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "in_progress", None);
    verify(&s, s.config("", "", ""), "deploying", "CI is in progress").await;
}

#[tokio::test]
async fn deploying_within_grace_after_ci() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    verify(
        &s,
        s.config("", "grace = \"10m\"", ""),
        "deploying",
        "grace period",
    )
    .await;
}

#[tokio::test]
async fn ci_failed() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("failure"));
    let r = verify(&s, s.config("", "", ""), "ci_failed", "CI failure").await;
    assert_eq!(r["ci"]["conclusion"], "failure");
}

#[tokio::test]
async fn ci_missing_after_ci_timeout() {
    let s = Scenario::start().await;
    verify(
        &s,
        s.config("", "ci_timeout = \"1ms\"", ""),
        "ci_missing",
        "no CI run",
    )
    .await;
}

#[tokio::test]
async fn workflows_filter_ignores_other_workflows() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "Lint", "completed", Some("success"));
    verify(
        &s,
        s.config("workflows = [\"CI\"]", "ci_timeout = \"1ms\"", ""),
        "ci_missing",
        "no CI run",
    )
    .await;
}

#[tokio::test]
async fn image_missing_when_the_registry_lacks_the_tag() {
    let s = Scenario::start().await;
    let registry = SimRegistry::start().await.expect("registry");
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let image = format!("image = \"{}/acme/shop:{{sha}}\"", registry.host());
    verify(
        &s,
        s.config(&image, "", ""),
        "image_missing",
        "is not in the registry",
    )
    .await;
    // Once the tag exists, the same situation is a phantom deploy.
    registry.push_tag("acme/shop", &s.new);
    verify(&s, s.config(&image, "", ""), "phantom", "after CI passed").await;
}

#[tokio::test]
async fn down_on_502() {
    let s = Scenario::start().await;
    s.env.set_down(Some(502));
    verify(&s, s.config("", "", ""), "down", "no healthy upstream").await;
}

#[tokio::test]
async fn down_when_nothing_answers_within_the_timeout() {
    let s = Scenario::start().await;
    s.env.set_hang(true);
    let dw = Dw::new(&s.config("", "timeout = \"500ms\"", ""));
    let run = dw.run_async(&["verify", "--json"]).await;
    assert_eq!(run.report()["verdict"], "down", "{run:?}");
    assert!(run.elapsed < std::time::Duration::from_secs(10), "{run:?}");
}

#[tokio::test]
async fn unverifiable_when_build_info_says_unknown() {
    let s = Scenario::start().await;
    s.env.set_format(Format::Unknown);
    verify(
        &s,
        s.config("", "", ""),
        "unverifiable",
        "bake the commit SHA",
    )
    .await;
}

#[tokio::test]
async fn unverifiable_on_an_html_page_served_with_200() {
    let s = Scenario::start().await;
    s.env.set_format(Format::HtmlErrorPage);
    let r = verify(&s, s.config("", "", ""), "unverifiable", "text/html").await;
    assert!(
        r["checks"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("received 200"),
        "{r:#}"
    );
}

#[tokio::test]
async fn unverifiable_when_the_branch_does_not_exist() {
    let s = Scenario::start().await;
    let config = s
        .config("", "", "")
        .replace("branch = \"main\"", "branch = \"release\"");
    verify(&s, config, "unverifiable", "release").await;
}

#[tokio::test]
async fn env_mismatch_when_production_says_staging() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    s.env.set_environment_field(Some("staging"));
    verify(
        &s,
        s.config("", "expect_environment = \"production\"", ""),
        "env_mismatch",
        "\"staging\"",
    )
    .await;
}

#[tokio::test]
async fn mixed_when_replicas_disagree() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_replicas(&[&s.new, &s.old, &s.new]);
    let r = verify(
        &s,
        s.config("", "replicas = 3", ""),
        "mixed",
        "(2 probes, the expected SHA)",
    )
    .await;
    assert_eq!(r["live_sha"], serde_json::Value::Null);
}

#[tokio::test]
async fn stale_frontend_when_the_page_is_old() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    s.env.set_frontend(&s.old, false, false);
    let extra = format!("frontend_url = \"{}\"", s.env.frontend_url());
    verify(&s, s.config("", &extra, ""), "stale_frontend", &s.old[..7]).await;
}

#[tokio::test]
async fn stale_frontend_when_an_asset_is_missing() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    s.env.set_frontend(&s.new, true, false);
    let extra = format!("frontend_url = \"{}\"", s.env.frontend_url());
    verify(&s, s.config("", &extra, ""), "stale_frontend", "404").await;
}

#[tokio::test]
async fn phantom_names_a_cache_layer_when_a_cache_busting_probe_sees_the_new_sha() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    s.env.set_cache(Some(&s.old));
    let r = verify(&s, s.config("", "", ""), "phantom", "cache layer").await;
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("served from a cache"), "{r:#}");
}

#[tokio::test]
async fn every_fingerprint_format_is_read() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    s.env.set_live(&s.new);
    let formats = [
        Format::GitSha,
        Format::Dockerflow,
        Format::SpringActuator { full: true },
        Format::SpringActuator { full: false },
        Format::VersionSuffix,
        Format::Header,
        Format::HtmlMeta,
    ];
    for f in formats {
        s.env.set_format(f.clone());
        let dw = Dw::new(&s.config("", "", ""));
        let run = dw.run_async(&["verify", "--json"]).await;
        assert_eq!(run.report()["verdict"], "live", "{f:?}: {run:?}");
    }
}

/// Regression: a new head seen after earlier ones was dated by its commit, so an hour-old
/// commit pushed just now read as `ci_missing` at once. Its push time is when it was seen.
#[tokio::test]
async fn an_old_commit_pushed_now_waits_for_ci() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    // The database first sees NEW as the head …
    dw.run_async(&["verify"]).await;
    // … then an hour-old commit becomes the head (e.g. a long-lived branch merged).
    let late = crate::harness::sha("late");
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    s.hub.push_at(
        "acme/shop",
        "main",
        &late,
        "Carol",
        "Merge old branch",
        an_hour_ago,
    );
    let run = dw.run_async(&["verify", "--json"]).await;
    let r = run.report();
    assert_eq!(r["expected_sha"], late.as_str(), "{run:?}");
    assert_eq!(r["verdict"], "deploying", "{run:?}");
    assert!(
        r["hint"]
            .as_str()
            .unwrap()
            .contains("waiting for CI to start"),
        "{run:?}"
    );
}
