//! The command line's contract: exit codes, config errors, JSON shape, status and history.

use crate::harness::{Dw, Scenario};

#[tokio::test]
async fn a_bad_config_names_file_line_and_key_and_exits_2() {
    let s = Scenario::start().await;
    let config = s.config("", "grace = \"ten minutes\"", "");
    let line = config
        .lines()
        .position(|l| l.contains("ten minutes"))
        .unwrap()
        + 1;
    let dw = Dw::new(&config);
    let run = dw.run_async(&["verify"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let want = format!("config.toml:{line}:");
    assert!(run.stderr.contains(&want), "stderr lacks {want}: {run:?}");
    assert!(run.stderr.contains("grace"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[tokio::test]
async fn unknown_keys_are_errors() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "graec = \"1m\"", ""));
    let run = dw.run_async(&["verify"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("graec"), "{run:?}");
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let s = Scenario::start().await;
    let dw = Dw::new(&s.config("", "", ""));
    for args in [
        &["verify", "--env", "prodution"][..],
        &["verify", "--project", "nope"],
        &["verify", "--expect", "not-a-sha"],
        &["verify", "--wait", "soon"],
        &["no-such-command"],
    ] {
        let run = dw.run_async(args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let missing = Dw::new("");
    std::fs::remove_file(&missing.config).unwrap();
    let run = missing.run_async(&["verify"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no configuration at"), "{run:?}");
}

#[tokio::test]
async fn verify_json_has_exactly_the_documented_fields() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw.run_async(&["verify", "--json"]).await;
    let r = run.report();
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "checks",
            "ci",
            "environment",
            "expected_sha",
            "hint",
            "live_sha",
            "project",
            "verdict",
            "warnings"
        ]
    );
    let mut ci: Vec<&str> = r["ci"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    ci.sort();
    assert_eq!(ci, ["completed_at", "conclusion", "status", "url"]);
    for check in r["checks"].as_array().unwrap() {
        let mut k: Vec<&str> = check
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        k.sort();
        assert_eq!(k, ["detail", "name", "ok"]);
    }
    assert!(
        r["ci"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://github.com/"),
        "{r:#}"
    );
    assert_eq!(r["project"], "shop");
    assert_eq!(r["environment"], "production");
}

#[tokio::test]
async fn status_reads_the_database_and_history_lists_pushes() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "", ""));
    let before = dw.run_async(&["status", "--json"]).await;
    assert_eq!(before.code, 0, "{before:?}");
    assert_eq!(
        before.json()[0]["verdict"],
        serde_json::Value::Null,
        "never checked: {before:?}"
    );
    dw.run_async(&["verify"]).await;
    let after = dw.run_async(&["status", "--json"]).await;
    assert_eq!(after.json()[0]["verdict"], "phantom", "{after:?}");
    let human = dw.run_async(&["status"]).await;
    assert!(
        human.stdout.contains("shop / production  phantom"),
        "{human:?}"
    );
    let history = dw
        .run_async(&["history", "--project", "shop", "--since", "1h", "--json"])
        .await;
    let events = history.json();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "push" && e["sha"] == s.new.as_str()),
        "{history:?}"
    );
}

#[tokio::test]
async fn human_verify_output_is_readable_without_colour() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "", ""));
    let run = dw.run_async(&["verify"]).await;
    assert_eq!(run.code, 1);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "✗ shop / production  phantom  expected {}  live {}  CI success",
            &s.new[..7],
            &s.old[..7]
        )
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "colour codes on a pipe: {run:?}"
    );
    // A fresh database never saw the previous push, so the hint names the general cause.
    assert!(
        run.stdout
            .contains("the deploy did not replace the running build"),
        "{run:?}"
    );
    // GitHub's compare API names what is waiting to go live.
    let waiting = format!(
        "1 commit(s) waiting to go live:\n      {} Fix rounding in totals (bob)",
        &s.new[..7]
    );
    assert!(run.stdout.contains(&waiting), "{run:?}");
}

#[tokio::test]
async fn watch_lines_keep_their_columns_whatever_the_names() {
    // Names of different lengths: `a/production`, `storefront-api/qa`, `s/e`.
    let hub = deploywatch_fakehub::FakeHub::start()
        .await
        .expect("fake GitHub");
    let mut envs = Vec::new();
    let mut projects = Vec::new();
    for (project, env) in [("a", "production"), ("storefront-api", "qa"), ("s", "e")] {
        let head = crate::harness::sha(project);
        hub.push(
            &format!("acme/{project}"),
            "main",
            &head,
            "Alice",
            "Ship it",
        );
        let sim = deploywatch_fleet::SimEnv::start(env)
            .await
            .expect("environment");
        sim.set_live(&head);
        projects.push((project, env, sim.build_info_url()));
        envs.push(sim);
    }
    let mut toml =
        crate::harness::fleet_config(&hub.api_url(), crate::harness::FAST, "desktop = false", []);
    for (project, env, url) in &projects {
        toml.push_str(&format!(
            "\n[[project]]\nname = \"{project}\"\nrepo = \"acme/{project}\"\n\n\
             [[project.environment]]\nname = \"{env}\"\nbuild_info_url = \"{url}\"\n"
        ));
    }
    let dw = Dw::new(&toml);
    let child = dw.spawn(&["watch", "--no-notify"]);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let run = crate::incidents::terminate(child).await;
    let columns: Vec<(usize, usize)> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" expected "))
        .map(|l| {
            let chars: Vec<char> = l.chars().collect();
            let at = |needle: &str| {
                let n: Vec<char> = needle.chars().collect();
                chars
                    .windows(n.len())
                    .position(|w| w == n.as_slice())
                    .unwrap_or(0)
            };
            (at(" live "), at(" expected "))
        })
        .collect();
    assert_eq!(columns.len(), 3, "{}", run.stdout);
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "columns wander: {columns:?}\n{}",
        run.stdout
    );
}
