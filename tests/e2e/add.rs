//! `deploywatch add OWNER/REPO` end to end: the real binary reads a repository's environments
//! and deployments from the fake GitHub (bodies from GitHub's OpenAPI examples), probes the
//! simulated environments where GitHub says they are, proposes what it found, and with
//! `--yes` appends the project to the config — which `verify` then checks.

use deploywatch_fleet::{Format, SimEnv};

use crate::harness::{Dw, sha};

struct Repo {
    hub: deploywatch_fakehub::FakeHub,
    production: SimEnv,
    staging: SimEnv,
    broken: SimEnv,
    old: String,
    new: String,
}

/// acme/shop: production (JSON /api/build-info, serving the deployed `new`), staging
/// (Dockerflow /__version__, still serving `old` though `new` was deployed), qa (its URL answers
/// no commit), and preview (a GitHub Environment never deployed to, so without a URL).
async fn repo() -> Repo {
    let hub = deploywatch_fakehub::FakeHub::start()
        .await
        .expect("fake GitHub");
    let (old, new) = (sha("add-old"), sha("add-new"));
    hub.push("acme/shop", "main", &old, "Alice", "Add checkout");
    hub.push("acme/shop", "main", &new, "Bob", "Fix rounding");
    hub.set_environments("acme/shop", &["production", "staging", "qa", "preview"]);
    hub.add_workflow("acme/shop", "CI", ".github/workflows/ci.yml");
    let production = SimEnv::start("production").await.unwrap();
    production.set_live(&new);
    let staging = SimEnv::start("staging").await.unwrap();
    staging.set_format(Format::Dockerflow);
    staging.set_live(&old);
    let broken = SimEnv::start("qa").await.unwrap();
    broken.set_format(Format::Unknown);
    for (env, server, sha) in [
        ("production", &production, &old),
        ("production", &production, &new),
        ("staging", &staging, &new),
        ("qa", &broken, &new),
    ] {
        let id = hub.add_deployment("acme/shop", sha, env);
        hub.add_deployment_status_with_url(
            "acme/shop",
            id,
            "success",
            Some(&server.base_url()),
            Some("https://ci.example.com/log/1"),
        );
    }
    Repo {
        hub,
        production,
        staging,
        broken,
        old,
        new,
    }
}

fn config(hub: &deploywatch_fakehub::FakeHub) -> String {
    format!(
        "# hand-written: this comment must survive `add --yes`\n[github]\napi_url = \"{}\"\n\n[notifications]\ndesktop = false\n",
        hub.api_url()
    )
}

#[tokio::test]
async fn adding_a_repository_by_name_finds_its_environments_and_writes_only_when_asked() {
    let r = repo().await;
    let dw = Dw::new(&config(&r.hub));
    let before = std::fs::read_to_string(&dw.config).unwrap();
    r.hub.clear_requests();

    let shown = dw.run_async(&["add", "acme/shop", "--json"]).await;
    assert_eq!(shown.code, 0, "{shown:?}");
    let github_requests = r.hub.requests().len();
    let d = shown.json();
    assert_eq!(d["written"], false);
    assert_eq!(
        std::fs::read_to_string(&dw.config).unwrap(),
        before,
        "written without --yes"
    );
    assert_eq!(d["repo"], "acme/shop");
    assert_eq!(d["default_branch"], "main");
    assert_eq!(d["workflows"], serde_json::json!(["CI"]));
    assert_eq!(d["accepted"], serde_json::json!(["production", "staging"]));
    let env = |name: &str| {
        d["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {d:#}"))
            .clone()
    };
    let prod = env("production");
    assert_eq!(
        prod["found"]["build_info_url"],
        format!("{}/api/build-info", r.production.base_url())
    );
    assert_eq!(prod["found"]["sha"], r.new.as_str());
    assert_eq!(prod["found"]["known"], true);
    assert_eq!(prod["found"]["live"], true);
    assert_eq!(prod["deployed"], r.new.as_str());
    let staging = env("staging");
    assert_eq!(
        staging["found"]["build_info_url"],
        format!("{}/__version__", r.staging.base_url())
    );
    assert_eq!(staging["found"]["sha"], r.old.as_str());
    assert_eq!(
        staging["found"]["live"], false,
        "staging serves the old build"
    );
    // qa's API says `unknown`; its page names a build, but not one of this repository that
    // GitHub listed: shown with a caveat, not accepted.
    let qa = env("qa");
    assert_eq!(qa["found"]["known"], false, "{qa:#}");
    assert!(
        qa["note"]
            .as_str()
            .unwrap()
            .contains("not a commit of acme/shop"),
        "{qa:#}"
    );
    assert!(
        qa["tried"].as_array().unwrap().iter().any(|t| t["url"]
            == format!("{}/api/build-info", r.broken.base_url())
            && t["answer"].as_str().unwrap().contains("no usable SHA")),
        "{qa:#}"
    );
    let preview = env("preview");
    assert!(
        preview["url"].is_null() && preview["found"].is_null(),
        "{preview:#}"
    );
    assert!(
        preview["note"].as_str().unwrap().contains("no deployment"),
        "{preview:#}"
    );
    // Probes went only to the servers GitHub listed.
    let probes = d["probes"].as_u64().unwrap();
    for e in d["environments"].as_array().unwrap() {
        for t in e["tried"].as_array().unwrap() {
            let url = t["url"].as_str().unwrap();
            assert!(
                [&r.production, &r.staging, &r.broken]
                    .iter()
                    .any(|s| url.starts_with(&s.base_url())),
                "probed {url}"
            );
        }
    }
    assert_eq!(
        d["github_requests"].as_u64().unwrap() as usize,
        github_requests
    );
    eprintln!("one discovery: {github_requests} GitHub requests, {probes} probes");

    // Human output: one line per environment, what is missing said.
    let human = dw.run_async(&["add", "acme/shop"]).await;
    assert_eq!(human.code, 0, "{human:?}");
    assert!(human.stdout.contains("✓ production"), "{}", human.stdout);
    assert!(human.stdout.contains("✗ preview"), "{}", human.stdout);
    assert!(
        human.stdout.contains("run again with --yes"),
        "{}",
        human.stdout
    );

    // Accepted: appended to the file as written, and watched.
    let added = dw.run_async(&["add", "acme/shop", "--yes"]).await;
    assert_eq!(added.code, 0, "{added:?}");
    let text = std::fs::read_to_string(&dw.config).unwrap();
    assert!(text.starts_with(&before), "the file was rewritten:\n{text}");
    assert!(text.contains("follows = \"deployments\""), "{text}");
    let verify = dw
        .run_async(&[
            "verify",
            "--project",
            "shop",
            "--env",
            "production",
            "--json",
        ])
        .await;
    assert_eq!(verify.code, 0, "{verify:?}");
    assert_eq!(verify.json()[0]["verdict"], "live");
    // A second add of the same repository is refused, the file untouched.
    let again = dw.run_async(&["add", "acme/shop", "--yes"]).await;
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already watched"), "{again:?}");
    assert_eq!(std::fs::read_to_string(&dw.config).unwrap(), text);
}

#[tokio::test]
async fn a_repository_that_does_not_exist_is_a_clear_error() {
    let hub = deploywatch_fakehub::FakeHub::start().await.unwrap();
    let dw = Dw::new(&config(&hub));
    let run = dw.run_async(&["add", "acme/nothing-here"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("acme/nothing-here"), "{run:?}");
    let bad = dw.run_async(&["add", "not a repo"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("OWNER/NAME"), "{bad:?}");
}
