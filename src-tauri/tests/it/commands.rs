//! The commands the UI calls, through Tauri's IPC on the mock runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deploywatch_fleet::Format;
use serde_json::{Value, json};
use tauri::Listener;

use crate::harness::{Scenario, TestApp};

#[test]
fn dashboard_after_a_check_shows_the_phantom_deploy_with_both_shas() {
    let s = Scenario::start();
    let t = TestApp::start(Some(&s.config("")));
    let pushed: Arc<Mutex<Vec<Value>>> = Arc::default();
    {
        let pushed = pushed.clone();
        t.app
            .listen_any(deploywatch_ipc::event::DASHBOARD, move |e| {
                if let Ok(v) = serde_json::from_str(e.payload()) {
                    pushed.lock().unwrap().push(v);
                }
            });
    }
    let d = t.dashboard_until(Duration::from_secs(10), |d| {
        d["environments"][0]["verdict"].as_str() == Some("phantom")
    });
    let row = &d["environments"][0];
    assert_eq!(row["verdict"], "phantom", "{d:#}");
    assert_eq!(row["expected_sha"], s.new.as_str());
    assert_eq!(row["live_sha"], s.old.as_str());
    assert_eq!(d["overall"], "alert");
    assert_eq!(d["empty"], false);
    assert_eq!(
        row["commit_url_base"]
            .as_str()
            .map(|u| u.ends_with("/acme/shop/commit/")),
        Some(true),
        "{row:#}"
    );
    // The backend pushed the new dashboard to the window after the check (at most one push
    // a second, so within about a second of the check).
    let start = std::time::Instant::now();
    while !pushed
        .lock()
        .unwrap()
        .iter()
        .any(|d| d["environments"][0]["verdict"] == "phantom")
    {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "no dashboard event carried the phantom verdict within 3 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The report names the commit waiting to go live (GitHub's compare API) and the hint.
    let r = t
        .invoke(
            "report",
            json!({"project": "shop", "environment": "production"}),
        )
        .expect("report");
    assert_eq!(r["verdict"], "phantom");
    assert!(r["hint"].as_str().is_some_and(|h| !h.is_empty()), "{r:#}");
    let waiting: Vec<&str> = r["waiting"]
        .as_array()
        .expect("waiting")
        .iter()
        .filter_map(|c| c["sha"].as_str())
        .collect();
    assert!(waiting.contains(&s.new.as_str()), "{r:#}");
    // Advice in the window points at the window, not at a terminal command.
    let warnings = r["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .all(|w| !w.as_str().unwrap_or_default().contains("deploywatch auth")),
        "{warnings:?}"
    );
    if std::env::var_os("GITHUB_TOKEN").is_none() {
        assert!(
            warnings.iter().any(|w| w
                .as_str()
                .unwrap_or_default()
                .ends_with("sign in to GitHub in Settings")),
            "{warnings:?}"
        );
    }

    let md = t
        .invoke(
            "report_markdown",
            json!({"project": "shop", "environment": "production"}),
        )
        .expect("markdown");
    let md = md.as_str().expect("text");
    assert!(md.contains("shop / production: `phantom`"), "{md}");
    assert!(md.contains(&s.old[..7]) && md.contains(&s.new[..7]), "{md}");

    // History lists the push and the phantom verdict.
    let h = t
        .invoke(
            "history",
            json!({"query": {"project": "shop", "limit": 50}}),
        )
        .expect("history");
    let kinds: Vec<&str> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"push"), "{h:#}");
}

#[test]
fn an_unknown_environment_is_a_not_found_error_the_ui_can_branch_on() {
    let s = Scenario::start();
    let t = TestApp::start(Some(&s.config("")));
    let err = t
        .invoke("report", json!({"project": "shop", "environment": "nope"}))
        .expect_err("unknown environment");
    assert_eq!(err["code"], "not_found", "{err}");
}

#[test]
fn a_report_asked_for_before_the_page_listens_is_taken_once() {
    let t = TestApp::start(None);
    assert_eq!(
        t.invoke("take_open_report", json!({})).expect("take"),
        Value::Null
    );
    t.resident
        .state
        .set_pending_report(deploywatch_ipc::OpenReport {
            project: "shop".into(),
            environment: "production".into(),
        });
    let r = t.invoke("take_open_report", json!({})).expect("take");
    assert_eq!(r, json!({"project": "shop", "environment": "production"}));
    // Taken: a later window does not open it again.
    assert_eq!(
        t.invoke("take_open_report", json!({})).expect("take"),
        Value::Null
    );
}

#[test]
fn edits_to_the_config_file_outside_the_app_are_picked_up() {
    let s = Scenario::start();
    let t = TestApp::start(Some(&s.config("")));
    let rows = |d: &Value| d["environments"].as_array().map_or(0, Vec::len);
    let d = t.dashboard_until(Duration::from_secs(10), |d| rows(d) == 1);
    assert_eq!(rows(&d), 1, "{d:#}");

    // An editor (or `deploywatch`) adds an environment: the dashboard follows.
    let staging = format!(
        "{}\n[[project.environment]]\nname = \"staging\"\nbuild_info_url = \"{}\"\n",
        s.config(""),
        s.env.build_info_url()
    );
    std::fs::write(&t.config, &staging).expect("edit");
    let d = t.dashboard_until(Duration::from_secs(10), |d| rows(d) == 2);
    assert_eq!(rows(&d), 2, "the new environment never appeared: {d:#}");

    // A broken edit is reported with its place, and the previous configuration keeps being
    // watched; fixing the file clears the report.
    std::fs::write(
        &t.config,
        staging.replace("name = \"staging\"", "nmae = \"staging\""),
    )
    .expect("edit");
    let d = t.dashboard_until(Duration::from_secs(10), |d| !d["config_error"].is_null());
    let message = d["config_error"].as_str().unwrap_or_default();
    assert!(
        message.contains("config.toml:") && message.contains("nmae"),
        "names file, line and key: {d:#}"
    );
    assert_eq!(rows(&d), 2, "still watching both environments: {d:#}");
    std::fs::write(&t.config, &staging).expect("fix");
    let d = t.dashboard_until(Duration::from_secs(10), |d| d["config_error"].is_null());
    assert!(d["config_error"].is_null(), "{d:#}");
    assert_eq!(rows(&d), 2, "{d:#}");

    // Removing the file is the first run again.
    std::fs::remove_file(&t.config).expect("remove");
    let d = t.dashboard_until(Duration::from_secs(10), |d| d["empty"] == true);
    assert_eq!(d["empty"], true, "{d:#}");
}

#[test]
fn first_run_is_an_empty_idle_dashboard() {
    let t = TestApp::start(None);
    let d = t.invoke("dashboard", json!({})).expect("dashboard");
    assert_eq!(d["empty"], true);
    assert_eq!(d["overall"], "idle");
    assert_eq!(d["environments"], json!([]));
}

#[test]
fn pause_and_resume_show_on_the_dashboard() {
    let s = Scenario::start();
    let t = TestApp::start(Some(&s.config("")));
    t.invoke("pause", json!({})).expect("pause");
    let d = t.invoke("dashboard", json!({})).expect("dashboard");
    assert!(d["paused_until"].is_string(), "{d:#}");
    assert_eq!(d["overall"], "idle");
    t.invoke("resume", json!({})).expect("resume");
    let d = t.invoke("dashboard", json!({})).expect("dashboard");
    assert!(d["paused_until"].is_null(), "{d:#}");
}

#[test]
fn save_settings_writes_the_config_and_refuses_an_invalid_one() {
    let s = Scenario::start();
    let t = TestApp::start(Some(&s.config("")));
    let mut form = t.invoke("settings", json!({})).expect("settings");
    assert_eq!(form["projects"][0]["environments"][0]["name"], "production");
    assert!(
        form.get("token").is_none(),
        "the token never reaches the UI"
    );

    // Add an environment, as the settings page does.
    let staging = json!({
        "name": "staging", "build_info_url": "http://127.0.0.1:9/api/build-info",
        "frontend_url": null, "health_url": null, "sha_pointer": null, "sha_header": null,
        "expect_environment": "staging", "replicas": 2, "follows": "branch"
    });
    form["projects"][0]["environments"]
        .as_array_mut()
        .expect("environments")
        .push(staging);
    let saved = t
        .invoke("save_settings", json!({"settings": form}))
        .expect("save");
    assert_eq!(saved["projects"][0]["environments"][1]["name"], "staging");
    let text = std::fs::read_to_string(&t.config).expect("config");
    let parsed = deploywatch_config::parse(&text, &t.config).expect("valid config");
    let env = parsed.projects[0].environment("staging").expect("staging");
    assert_eq!(env.replicas, 2);
    assert_eq!(env.expect_environment.as_deref(), Some("staging"));
    // The watcher restarted over the new config: both environments are on the dashboard.
    let d = t.invoke("dashboard", json!({})).expect("dashboard");
    assert_eq!(d["environments"].as_array().map(Vec::len), Some(2), "{d:#}");

    // Invalid edits are refused with config_invalid and the file is left byte for byte.
    let check = |edit: &dyn Fn(&mut Value), what: &str| {
        let mut bad = saved.clone();
        edit(&mut bad);
        let err = t
            .invoke("save_settings", json!({"settings": bad}))
            .expect_err(what);
        assert_eq!(err["code"], "config_invalid", "{what}: {err}");
        assert_eq!(
            std::fs::read_to_string(&t.config).expect("config"),
            text,
            "{what}"
        );
    };
    check(
        &|f| f["projects"][0]["environments"][1]["name"] = json!("production"),
        "duplicate environment name",
    );
    check(
        &|f| f["grace"] = json!("soon"),
        "duration that does not parse",
    );
    check(
        &|f| f["projects"][0]["repo"] = json!("no-slash"),
        "repository not owner/name",
    );
    check(
        &|f| f["projects"][0]["environments"][0]["build_info_url"] = json!("not a url"),
        "invalid URL",
    );
}

#[test]
fn test_environment_detects_the_format_and_the_sha() {
    let env = tauri::async_runtime::block_on(deploywatch_fleet::SimEnv::start("production"))
        .expect("env");
    let t = TestApp::start(None);
    let sha = crate::harness::sha("live");
    env.set_live(&sha);
    let check = |format: Format, source: &str| {
        env.set_format(format.clone());
        let form = json!({
            "name": "x", "build_info_url": env.build_info_url(), "frontend_url": null,
            "health_url": null, "sha_pointer": null, "sha_header": null,
            "expect_environment": null, "replicas": 1, "follows": "branch"
        });
        let r = t
            .invoke("test_environment", json!({"environment": form}))
            .expect("test_environment");
        assert_eq!(r["ok"], true, "{format:?}: {r:#}");
        let got = r["sha"].as_str().unwrap_or_default();
        assert!(sha.starts_with(got) && got.len() >= 7, "{format:?}: {r:#}");
        assert!(
            r["source"].as_str().is_some_and(|s| s.contains(source)),
            "{format:?}: expected source with {source:?}: {r:#}"
        );
    };
    check(Format::GitSha, "git_sha");
    check(Format::Dockerflow, "commit");
    check(Format::SpringActuator { full: true }, "git/commit/id");
    check(Format::VersionSuffix, "version");
    check(Format::Header, "X-Git-Sha");
    check(Format::HtmlMeta, "build-sha");

    // An image built without GIT_SHA: not ok, and the detail shows what was received.
    env.set_format(Format::Unknown);
    let form = json!({
        "name": "x", "build_info_url": env.build_info_url(), "frontend_url": null,
        "health_url": null, "sha_pointer": null, "sha_header": null,
        "expect_environment": null, "replicas": 1, "follows": "branch"
    });
    let r = t
        .invoke("test_environment", json!({"environment": form}))
        .expect("test_environment");
    assert_eq!(r["ok"], false, "{r:#}");
    assert!(
        r["detail"].as_str().is_some_and(|d| d.contains("unknown")),
        "{r:#}"
    );
}

#[test]
fn tray_summary_counts_verdicts() {
    let row = |v: &str| deploywatch_ipc::EnvRow {
        project: "p".into(),
        environment: v.into(),
        repo: "a/b".into(),
        commit_url_base: String::new(),
        verdict: Some(v.into()),
        expected_sha: None,
        live_sha: None,
        ci_status: None,
        ci_conclusion: None,
        ci_url: None,
        checked_at: None,
        next_check_at: None,
        hint: None,
        incident_open: false,
        muted: false,
    };
    let rows = vec![row("live"), row("phantom"), row("live"), row("live")];
    let d = deploywatch_ipc::Dashboard {
        overall: deploywatch_resident::overall(&rows, false),
        paused_until: None,
        empty: false,
        demo: false,
        environments: rows,
        config_error: None,
        conditions: Vec::new(),
    };
    assert_eq!(d.overall, deploywatch_ipc::Overall::Alert);
    assert_eq!(
        deploywatch_resident::summary(&d),
        "Deploywatch: 3 live, 1 phantom"
    );
    // Paused: until the local clock time, as people read it on the panel.
    let until = "2026-11-22T10:30:00Z";
    let local = chrono::DateTime::parse_from_rfc3339(until)
        .expect("time")
        .with_timezone(&chrono::Local)
        .format("%H:%M")
        .to_string();
    let paused = deploywatch_ipc::Dashboard {
        paused_until: Some(until.into()),
        ..d.clone()
    };
    assert_eq!(
        deploywatch_resident::summary(&paused),
        format!("Deploywatch: 3 live, 1 phantom (paused until {local})")
    );
    let check = |verdicts: &[&str], paused: bool, expected: deploywatch_ipc::Overall| {
        let rows: Vec<_> = verdicts.iter().map(|v| row(v)).collect();
        assert_eq!(
            deploywatch_resident::overall(&rows, paused),
            expected,
            "{verdicts:?}"
        );
    };
    use deploywatch_ipc::Overall::*;
    check(&["live", "live"], false, Live);
    check(&["live", "deploying"], false, Deploying);
    check(&["deploying", "down"], false, Alert);
    check(&["phantom"], true, Idle);
    check(&[], false, Idle);

    // A muted environment neither colours the tray nor joins its alert items; the summary
    // counts it apart.
    let mut rows = vec![row("live"), row("phantom"), row("down")];
    rows[1].muted = true;
    let d = deploywatch_ipc::Dashboard {
        overall: deploywatch_resident::overall(&rows, false),
        environments: rows.clone(),
        ..d.clone()
    };
    assert_eq!(d.overall, Alert, "down is not muted");
    assert_eq!(
        deploywatch_resident::summary(&d),
        "Deploywatch: 1 live, 1 down, 1 muted"
    );
    let menu = deploywatch_resident::MenuContent::of(&d);
    assert_eq!(
        menu.alerting,
        [("p".to_string(), "down".to_string(), "down".to_string())]
    );
    rows[2].muted = true;
    assert_eq!(deploywatch_resident::overall(&rows, false), Live);
    rows[0].muted = true;
    assert_eq!(
        deploywatch_resident::overall(&rows, false),
        Idle,
        "all muted"
    );
}

#[test]
fn muting_from_the_window_edits_the_file_in_place_and_the_tray_stops_alerting() {
    let s = Scenario::start();
    let text = format!("# watched by the whole team\n{}", s.config(""));
    let t = TestApp::start(Some(&text));
    let d = t.dashboard_until(Duration::from_secs(10), |d| d["overall"] == "alert");
    assert_eq!(d["overall"], "alert", "{d:#}");
    assert_eq!(d["environments"][0]["muted"], false);

    let d = t
        .invoke(
            "set_mute",
            json!({"project": "shop", "environment": "production", "mute": true}),
        )
        .expect("mute");
    assert_eq!(d["environments"][0]["muted"], true, "{d:#}");
    let muted = std::fs::read_to_string(&t.config).expect("config");
    assert!(
        muted.starts_with("# watched by the whole team\n"),
        "{muted}"
    );
    assert_eq!(
        muted
            .lines()
            .filter(|l| !text.contains(l))
            .collect::<Vec<_>>(),
        ["mute = true"],
        "one line added, nothing else changed: {muted}"
    );
    let report = || {
        t.invoke(
            "report",
            json!({"project": "shop", "environment": "production"}),
        )
        .expect("report")
    };
    // The watcher restarted over it: still checked, still phantom, the tray not red.
    let d = t.dashboard_until(Duration::from_secs(10), |d| {
        d["environments"][0]["verdict"] == "phantom"
    });
    assert_eq!(d["environments"][0]["verdict"], "phantom", "{d:#}");
    assert_ne!(d["overall"], "alert", "{d:#}");
    let r = report();
    assert_eq!(
        (&r["muted"], &r["project_muted"]),
        (&json!(true), &json!(false))
    );

    // The whole project, then unmuted again: the file is back as it was written.
    t.invoke(
        "set_mute",
        json!({"project": "shop", "environment": null, "mute": true}),
    )
    .expect("mute project");
    let r = report();
    assert_eq!(
        (&r["muted"], &r["project_muted"]),
        (&json!(true), &json!(true))
    );
    let d = t
        .invoke(
            "set_mute",
            json!({"project": "shop", "environment": null, "mute": false}),
        )
        .expect("unmute project");
    assert_eq!(d["environments"][0]["muted"], false, "{d:#}");
    assert_eq!(std::fs::read_to_string(&t.config).expect("config"), text);
    let d = t.dashboard_until(Duration::from_secs(10), |d| d["overall"] == "alert");
    assert_eq!(d["overall"], "alert", "{d:#}");

    // An unknown name is an error the page can show, and the file is left alone.
    let err = t
        .invoke(
            "set_mute",
            json!({"project": "shop", "environment": "qa", "mute": true}),
        )
        .expect_err("unknown environment");
    assert_eq!(err["code"], "config_invalid", "{err}");
    assert_eq!(std::fs::read_to_string(&t.config).expect("config"), text);
}
