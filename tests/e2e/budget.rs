//! GitHub's budget through the real binary (issue 13): forty repositories watched without a
//! token, against a fake GitHub that enforces the 60-an-hour quota as GitHub does (an
//! unauthorised `304` costs a request, `403` once it is spent).

use std::time::Duration;

use chrono::Utc;
use deploywatch_fakehub::FakeHub;
use deploywatch_fleet::SimEnv;

use crate::harness::{Dw, FAST, fleet_config, sha};

const REPOS: usize = 40;

/// Forty repositories, each with one environment serving its head, and CI green.
async fn fleet(hub: &FakeHub) -> (Vec<SimEnv>, String) {
    let mut envs = Vec::new();
    let mut projects = Vec::new();
    for i in 0..REPOS {
        let head = sha(&format!("s{i}"));
        hub.push(&format!("acme/s{i}"), "main", &head, "Alice", "Ship it");
        hub.add_run(
            &format!("acme/s{i}"),
            &head,
            "CI",
            "completed",
            Some("success"),
        );
        let env = SimEnv::start("production").await.expect("environment");
        env.set_live(&head);
        projects.push((format!("s{i}"), env.build_info_url()));
        envs.push(env);
    }
    let toml = fleet_config(&hub.api_url(), FAST, "desktop = false", projects);
    (envs, toml)
}

async fn watch_for(dw: &Dw, how_long: Duration) -> crate::harness::Run {
    let child = dw.spawn(&["watch", "--no-notify"]);
    tokio::time::sleep(how_long).await;
    crate::incidents::terminate(child).await
}

#[tokio::test]
async fn forty_repositories_without_a_token_stay_inside_sixty_requests_an_hour() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    hub.set_rate_limit(60, 60, Utc::now() + chrono::Duration::hours(1));
    let (_envs, toml) = fleet(&hub).await;
    let dw = Dw::new(&toml);

    // A fast schedule (200 ms → 1 s) that would ask for 40 × 3,600 requests an hour.
    let run = watch_for(&dw, Duration::from_secs(8)).await;
    let requests = hub.requests();
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| r.status == 403 || r.status == 429)
        .collect();
    assert!(refused.is_empty(), "requests past the limit: {refused:#?}");
    // Without a token every answer costs one, 304s included; 3 stay for the user (the reserve).
    let counted = requests
        .iter()
        .filter(|r| !r.path_and_query.starts_with("/rate_limit"))
        .count();
    assert!(counted <= 57, "{counted} requests");
    let heads = requests
        .iter()
        .filter(|r| r.path_and_query.contains("/branches/"))
        .count();
    assert_eq!(
        heads, REPOS,
        "each repository's head read once: {requests:#?}"
    );

    // Every environment has a verdict from GitHub's data, and no incident was announced.
    dw.assert_all_live(REPOS).await;
    assert!(
        !run.stdout.contains('▶'),
        "an incident was announced: {}",
        run.stdout
    );
    // The shortfall is said once, with numbers.
    let said = run
        .stdout
        .matches("GitHub allows 60 requests per hour without signing in; these 40 repositories need about 144000 per hour")
        .count();
    assert_eq!(said, 1, "{}", run.stdout);

    // A restart while the quota is still spent: the heads the database saw stand, with their
    // age, and nothing is announced.
    hub.clear_requests();
    let again = watch_for(&dw, Duration::from_secs(4)).await;
    let requests = hub.requests();
    assert!(
        requests.iter().all(|r| r.status != 403 && r.status != 429),
        "{requests:#?}"
    );
    // `/rate_limit` (the watcher's network test when a round of checks finds nothing
    // answering, e.g. timeouts on a loaded machine) costs no quota.
    let counted = requests
        .iter()
        .filter(|r| !r.path_and_query.starts_with("/rate_limit"))
        .count();
    assert!(counted <= 1, "one request learns the quota: {requests:#?}");
    assert!(!again.stdout.contains('▶'), "{}", again.stdout);
    dw.assert_all_live(REPOS).await;
    // The restarted watcher's reports say how old the head they compare with is.
    let store = deploywatch_store::Store::open_read_only(&dw.db).expect("database");
    let states = store.env_states().expect("states");
    let aged = states
        .iter()
        .filter(|s| {
            s.report.verdict == deploywatch_core::Verdict::Live
                && s.report
                    .warnings
                    .iter()
                    .any(|w| w.contains("the expected SHA is the head of main as of"))
        })
        .count();
    assert_eq!(states.len(), REPOS);
    assert!(aged >= REPOS - 1, "{aged} aged verdicts: {states:#?}");

    // `verify` in a pipeline never calls a head only the database remembers live (a push may
    // have come since): with the quota spent it cannot tell, and says why.
    hub.clear_requests();
    let verify = dw.run_async(&["verify", "--json"]).await;
    assert_eq!(verify.code, 1, "{verify:?}");
    let reports = verify.json().as_array().cloned().unwrap_or_default();
    assert_eq!(reports.len(), REPOS);
    // The one request that learns the quota may read a head afresh: that one may be live.
    let unverifiable = reports
        .iter()
        .filter(|r| {
            r["verdict"] == "unverifiable"
                && r["hint"].as_str().unwrap_or("").contains("rate limit")
        })
        .count();
    assert!(unverifiable >= REPOS - 1, "{reports:#?}");
    for r in reports.iter().filter(|r| r["verdict"] == "live") {
        let aged = r["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap_or("").contains("as of")));
        assert!(!aged, "verify called a remembered head live: {r:#}");
    }
    let counted = hub
        .requests()
        .iter()
        .filter(|r| !r.path_and_query.starts_with("/rate_limit"))
        .count();
    assert!(counted <= 1, "{:#?}", hub.requests());
}

#[tokio::test]
async fn a_secondary_limit_stops_every_request_until_retry_after() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    let (_envs, toml) = fleet(&hub).await;
    hub.set_retry_after(Some(30));
    let dw = Dw::new(&toml);
    let run = watch_for(&dw, Duration::from_secs(4)).await;
    // One request met the 429 (the first, sent alone to learn the quota); nothing followed it.
    let requests = hub.requests();
    let api: Vec<_> = requests
        .iter()
        .filter(|r| !r.path_and_query.starts_with("/rate_limit"))
        .collect();
    assert_eq!(api.len(), 1, "{requests:#?}");
    assert_eq!(api[0].status, 429);
    assert!(!run.stdout.contains('▶'), "{}", run.stdout);
}

#[tokio::test]
async fn five_hundred_repositories_with_a_token_whose_quota_is_mostly_spent_stay_above_the_reserve()
{
    // A token whose hour is mostly spent by the user's other tools: 1,000 of 5,000 left, the
    // reserve is 250. 500 repositories want 500 heads and 500 run lists at once.
    const MANY: usize = 500;
    let hub = FakeHub::start().await.expect("fake GitHub");
    hub.require_token(Some("ghp_budget"));
    hub.set_rate_limit(5000, 1000, Utc::now() + chrono::Duration::hours(1));
    let env = SimEnv::start("production").await.expect("environment");
    let head = sha("many");
    env.set_live(&head);
    for i in 0..MANY {
        hub.push(&format!("acme/m{i}"), "main", &head, "Alice", "Ship it");
        hub.add_run(
            &format!("acme/m{i}"),
            &head,
            "CI",
            "completed",
            Some("success"),
        );
    }
    let toml = fleet_config(
        &hub.api_url(),
        "grace = \"0s\"\nfast_interval = \"1s\"\nidle_interval = \"1s\"\ntimeout = \"5s\"",
        "desktop = false",
        (0..MANY).map(|i| (format!("m{i}"), env.build_info_url())),
    );
    let dw = Dw::new(&toml);
    let mut cmd = dw.command(&["watch", "--no-notify"]);
    cmd.env("GITHUB_TOKEN", "ghp_budget")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("watch");
    // Twelve idle intervals: a scaled hour at the default schedule.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let run = crate::incidents::terminate(child).await;

    let requests = hub.requests();
    assert!(
        requests.iter().all(|r| r.status != 403 && r.status != 429),
        "a request past the limit"
    );
    let charged = requests
        .iter()
        .filter(|r| r.status != 304 && !r.path_and_query.starts_with("/rate_limit"))
        .count();
    assert!(
        charged <= 750,
        "{charged} requests charged; 750 were above the reserve"
    );
    let heads = requests
        .iter()
        .filter(|r| r.path_and_query.contains("/branches/") && r.status == 200)
        .count();
    assert_eq!(heads, MANY, "every head read once");
    dw.assert_all_live(MANY).await;
    assert!(!run.stdout.contains('▶'), "{}", run.stdout);
}
