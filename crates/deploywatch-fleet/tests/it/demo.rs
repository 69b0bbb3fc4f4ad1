//! The demo fleet: its config, its initial state and its scripted timeline at high speed.

use std::collections::BTreeSet;
use std::time::Duration;

use deploywatch_fleet::{Fleet, demo_sha};

use crate::get_json;

/// Every verdict of SPEC §3.
const VERDICTS: [&str; 11] = [
    "down",
    "unverifiable",
    "env_mismatch",
    "mixed",
    "stale_frontend",
    "live",
    "ci_failed",
    "ci_missing",
    "image_missing",
    "deploying",
    "phantom",
];

#[tokio::test]
async fn demo_config_is_valid_toml_with_every_environment() {
    let fleet = Fleet::start_demo().await.expect("start");
    let text = fleet.demo_config();
    let config: toml::Value = toml::from_str(&text).expect("the demo config parses as TOML");
    assert_eq!(
        config["github"]["api_url"].as_str(),
        Some(fleet.hub.api_url().as_str())
    );
    let defaults = &config["defaults"];
    for (key, value) in [
        ("grace", "15s"),
        ("ci_timeout", "40s"),
        ("fast_interval", "2s"),
        ("idle_interval", "10s"),
    ] {
        assert_eq!(defaults[key].as_str(), Some(value), "{key}");
    }
    assert_eq!(defaults["confirm"].as_integer(), Some(2));

    let projects = config["project"].as_array().expect("[[project]]");
    let mut listed = Vec::new();
    for project in projects {
        let name = project["name"].as_str().expect("name");
        assert_eq!(project["repo"].as_str(), Some(fleet.repo(name).as_str()));
        assert_eq!(project["branch"].as_str(), Some("main"));
        assert_eq!(
            project["workflows"].as_array().map(Vec::len),
            Some(1),
            "{name}"
        );
        if let Some(image) = project.get("image") {
            let image = image.as_str().expect("image is a string");
            assert_eq!(
                image,
                format!("{}/acme/{name}:{{sha}}", fleet.registry.host())
            );
        }
        for env in project["environment"]
            .as_array()
            .expect("[[project.environment]]")
        {
            let env_name = env["name"].as_str().expect("name");
            let sim = fleet.env(name, env_name);
            assert_eq!(
                env["build_info_url"].as_str(),
                Some(sim.build_info_url().as_str())
            );
            assert_eq!(env["health_url"].as_str(), Some(sim.health_url().as_str()));
            listed.push((name.to_string(), env_name.to_string(), env.clone()));
        }
    }
    let scenarios = fleet.scenarios();
    assert_eq!(listed.len(), scenarios.len());
    let find = |p: &str, e: &str| {
        listed
            .iter()
            .find(|(lp, le, _)| lp == p && le == e)
            .map(|(_, _, v)| v.clone())
            .expect("listed")
    };
    assert_eq!(find("shop", "production")["replicas"].as_integer(), Some(3));
    assert_eq!(
        find("shop", "production")["expect_environment"].as_str(),
        Some("production")
    );
    assert!(
        find("shop", "production")["frontend_url"]
            .as_str()
            .is_some()
    );
    assert_eq!(
        find("api", "production")["follows"].as_str(),
        Some("deployments")
    );
    assert_eq!(
        find("auth", "production")["expect_environment"].as_str(),
        Some("production")
    );

    // Between them, the scenarios show every verdict (deploying shows during every rollout).
    let mut shown: BTreeSet<&str> = scenarios.iter().map(|s| s.shows).collect();
    shown.insert("deploying");
    assert_eq!(shown, VERDICTS.into_iter().collect::<BTreeSet<_>>());
    assert!(
        scenarios
            .iter()
            .any(|s| s.shows != "live" && s.ends == "live"),
        "some recover"
    );
}

#[tokio::test]
async fn demo_starts_all_live_on_the_previous_push() {
    let fleet = Fleet::start_demo().await.expect("start");
    for s in fleet.scenarios() {
        let old = demo_sha(&fleet.repo(s.project), 1);
        let snapshot = fleet.env(s.project, s.environment).snapshot();
        assert_eq!(
            snapshot.replicas,
            vec![old.clone()],
            "{}/{}",
            s.project,
            s.environment
        );
        assert_eq!(snapshot.down, None);
        assert_eq!(snapshot.frontend.sha, old);
        let head = get_json(&format!(
            "{}/repos/acme/{}/branches/main",
            fleet.hub.api_url(),
            s.project
        ))
        .await;
        assert_eq!(head["commit"]["sha"], old.as_str(), "{}", s.project);
    }
    // Spot checks over HTTP: Dockerflow for api, Spring Boot for billing, "unknown" for docs.
    let api = get_json(&fleet.env("api", "production").build_info_url()).await;
    assert_eq!(api["commit"], demo_sha("acme/api", 1).as_str());
    let billing = get_json(&fleet.env("billing", "production").build_info_url()).await;
    assert_eq!(
        billing["git"]["commit"]["id"]["full"],
        demo_sha("acme/billing", 1).as_str()
    );
    let docs = get_json(&fleet.env("docs", "production").build_info_url()).await;
    assert_eq!(docs["git_sha"], "unknown");
    assert!(
        fleet
            .registry
            .has_tag("acme/shop", &demo_sha("acme/shop", 1))
    );
}

/// The runs GitHub lists for `sha`, as (status, conclusion).
async fn runs(fleet: &Fleet, project: &str, sha: &str) -> Vec<(String, Option<String>)> {
    let url = format!(
        "{}/repos/acme/{project}/actions/runs?head_sha={sha}",
        fleet.hub.api_url()
    );
    let body = get_json(&url).await;
    body["workflow_runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|r| {
                    let status = r["status"].as_str().unwrap_or_default().to_string();
                    (status, r["conclusion"].as_str().map(str::to_string))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn completed(conclusion: &str) -> Vec<(String, Option<String>)> {
    vec![("completed".into(), Some(conclusion.into()))]
}

#[tokio::test]
async fn script_at_high_speed_shows_each_failure_then_reaches_its_end_state() {
    let fleet = Fleet::start_demo().await.expect("start");
    let new = |p: &str| demo_sha(&format!("acme/{p}"), 2);
    let old = |p: &str| demo_sha(&format!("acme/{p}"), 1);

    // Sample the simulated state while the script runs (in process, so nothing is missed).
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let script = fleet.run_script(50.0);
    tokio::pin!(script);
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut script => break,
            () = &mut deadline => panic!("the script did not finish within 20 s at speed 50"),
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        let shop = fleet.env("shop", "production").snapshot();
        if shop.replicas == [new("shop"), new("shop"), old("shop")] {
            seen.insert("shop/production: 2 of 3 replicas new");
        }
        if fleet.env("api", "staging").snapshot().down == Some(502) {
            seen.insert("api/staging: 502");
        }
        let web = fleet.env("web", "production").snapshot();
        if web.replicas == [new("web")]
            && web.frontend.sha == old("web")
            && web.frontend.missing_asset
        {
            seen.insert("web/production: stale frontend");
        }
        if fleet
            .env("auth", "production")
            .snapshot()
            .environment
            .as_deref()
            == Some("staging")
        {
            seen.insert("auth/production: environment staging");
        }
        if fleet.env("landing", "production").snapshot().cache == Some(old("landing")) {
            seen.insert("landing/production: stale cache");
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(fleet.script_finished());

    // End state of the environments (SPEC §3 verdicts they lead to in the comments).
    let live = |p: &str, e: &str| fleet.env(p, e).snapshot().replicas;
    assert_eq!(live("shop", "production"), vec![new("shop")]); // live again
    assert_eq!(live("shop", "staging"), vec![new("shop")]); // live
    assert_eq!(live("api", "production"), vec![old("api")]); // phantom
    let staging = fleet.env("api", "staging").snapshot();
    assert_eq!((staging.down, staging.replicas), (None, vec![new("api")])); // live again
    assert_eq!(
        fleet.env("web", "production").snapshot().frontend.sha,
        new("web")
    ); // live again
    assert_eq!(
        live("billing", "production"),
        vec![demo_sha("acme/billing", 3)]
    ); // fixed, live
    assert_eq!(live("search", "production"), vec![old("search")]); // ci_missing
    assert_eq!(live("worker", "production"), vec![old("worker")]); // image_missing
    let auth = fleet.env("auth", "production").snapshot();
    assert_eq!(
        (auth.environment.as_deref(), auth.replicas),
        (Some("production"), vec![new("auth")])
    );
    assert_eq!(fleet.env("landing", "production").snapshot().cache, None); // live again
    let docs = get_json(&fleet.env("docs", "production").build_info_url()).await;
    assert_eq!(docs["git_sha"], "unknown"); // unverifiable

    // What GitHub and the registry say.
    let api_url = fleet.hub.api_url();
    for p in [
        "shop", "api", "web", "search", "worker", "auth", "docs", "landing",
    ] {
        let head = get_json(&format!("{api_url}/repos/acme/{p}/branches/main")).await;
        assert_eq!(head["commit"]["sha"], new(p).as_str(), "{p}");
    }
    let head = get_json(&format!("{api_url}/repos/acme/billing/branches/main")).await;
    assert_eq!(head["commit"]["sha"], demo_sha("acme/billing", 3).as_str());
    assert_eq!(
        runs(&fleet, "shop", &new("shop")).await,
        completed("success")
    );
    assert_eq!(
        runs(&fleet, "shop", &old("shop")).await,
        completed("success")
    );
    assert_eq!(
        runs(&fleet, "billing", &new("billing")).await,
        completed("failure")
    );
    assert_eq!(
        runs(&fleet, "billing", &demo_sha("acme/billing", 3)).await,
        completed("success")
    );
    assert_eq!(
        runs(&fleet, "worker", &new("worker")).await,
        completed("success")
    );
    assert_eq!(runs(&fleet, "search", &new("search")).await, vec![]);
    assert!(fleet.registry.has_tag("acme/shop", &new("shop")));
    assert!(fleet.registry.has_tag("acme/api", &new("api")));
    assert!(!fleet.registry.has_tag("acme/worker", &new("worker")));
    assert!(fleet.registry.has_tag("acme/worker", &old("worker")));
    let deployments = get_json(&format!(
        "{api_url}/repos/acme/api/deployments?environment=production"
    ))
    .await;
    assert_eq!(
        deployments[0]["sha"],
        new("api").as_str(),
        "newest deployment first"
    );
    let id = deployments[0]["id"].as_u64().expect("deployment id");
    let statuses = get_json(&format!(
        "{api_url}/repos/acme/api/deployments/{id}/statuses"
    ))
    .await;
    let states: Vec<&str> = statuses
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert!(states.contains(&"success"), "{states:?}");
}

#[tokio::test]
async fn run_demo_keeps_shipping_routine_pushes_after_the_script() {
    let fleet = Fleet::start_demo().await.expect("start");
    let routine = demo_sha("acme/shop", 3);
    let demo = fleet.run_demo(50.0);
    tokio::pin!(demo);
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut demo => panic!("run_demo never returns"),
            () = &mut deadline => panic!("no routine rollout within 20 s at speed 50"),
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        if fleet.env("shop", "production").snapshot().replicas == [routine.clone()] {
            break;
        }
    }
    assert!(fleet.script_finished());
    assert_eq!(
        fleet.env("shop", "staging").snapshot().replicas,
        vec![routine.clone()]
    );
    let head = get_json(&format!(
        "{}/repos/acme/shop/branches/main",
        fleet.hub.api_url()
    ))
    .await;
    assert_eq!(head["commit"]["sha"], routine.as_str());
    assert!(fleet.registry.has_tag("acme/shop", &routine));
    // The routine leaves the other environments in their end state.
    assert_eq!(
        fleet.env("api", "production").snapshot().replicas,
        vec![demo_sha("acme/api", 1)]
    );
}
