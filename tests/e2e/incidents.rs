//! The watcher end to end: a scripted timeline produces exactly one alert and one resolve,
//! nothing during the grace period, and the history shows what happened.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Json, Router, extract::State, routing::post};

use crate::harness::{Dw, Scenario};

/// A Slack-compatible webhook receiver on loopback: records each `{"text": ...}` it gets.
#[derive(Clone, Default)]
pub(crate) struct Hook {
    got: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Hook {
    pub(crate) async fn start() -> (Hook, String) {
        let hook = Hook::default();
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(h): State<Hook>, Json(v): Json<serde_json::Value>| async move {
                        let text = v["text"].as_str().unwrap_or_default().to_string();
                        h.got.lock().unwrap().push((Instant::now(), text));
                        "ok"
                    },
                ),
            )
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }

    pub(crate) fn texts(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub(crate) async fn wait_for(&self, n: usize, limit: Duration) -> Vec<String> {
        let start = Instant::now();
        while self.texts().len() < n && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.texts()
    }
}

pub(crate) async fn terminate(child: std::process::Child) -> crate::harness::Run {
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    crate::harness::Run::new(out, Duration::ZERO)
}

#[tokio::test]
async fn one_alert_and_one_resolve_for_a_deploy_that_lands_late() {
    let s = Scenario::start().await;
    let (hook, url) = Hook::start().await;
    let run_id = s.hub.add_run("acme/shop", &s.new, "CI", "queued", None);
    let grace = Duration::from_secs(3);
    let config = s
        .config("", "", "confirm = 2")
        .replace("grace = \"0s\"", "grace = \"3s\"")
        .replace(
            "desktop = false",
            &format!("desktop = false\nwebhook = \"{url}\""),
        );
    let dw = Dw::new(&config);
    let child = dw.spawn(&["watch", "--no-notify"]);

    tokio::time::sleep(Duration::from_secs(1)).await;
    s.hub.update_run("acme/shop", run_id, "in_progress", None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.hub
        .update_run("acme/shop", run_id, "completed", Some("success"));
    let ci_passed = Instant::now();

    // The deploy never lands: after the grace period, exactly one phantom alert.
    let texts = hook.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(
        texts[0].contains("Phantom deploy: shop / production"),
        "{texts:#?}"
    );
    let alerted = hook.got.lock().unwrap()[0].0;
    // GitHub (and the fake) stamp `updated_at` in whole seconds, so the completion time the
    // watcher sees can be up to 1 s before the moment recorded here.
    let resolution = Duration::from_secs(1);
    assert!(
        alerted + resolution >= ci_passed + grace,
        "alerted {:?} after CI passed, within the {grace:?} grace period",
        alerted - ci_passed
    );
    // Many more checks run; none of them repeats the alert.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hook.texts().len(), 1, "{:#?}", hook.texts());

    // The deploy lands: one resolve.
    s.env.set_live(&s.new);
    let texts = hook.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts[1].starts_with("*Resolved"), "{texts:#?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hook.texts().len(), 2, "{:#?}", hook.texts());

    let run = terminate(child).await;
    assert_eq!(run.code, 0, "watch exits 0 on SIGTERM: {run:?}");

    // The database tells the same story.
    let status = dw.run_async(&["status", "--json"]).await;
    assert_eq!(status.json()[0]["verdict"], "live", "{status:?}");
    let history = dw.run_async(&["history", "--json"]).await;
    let kinds: Vec<String> = history
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    for kind in [
        "push",
        "ci_run",
        "incident_opened",
        "incident_resolved",
        "live_changed",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "history lacks {kind}: {kinds:?}"
        );
    }
    let opened = kinds.iter().filter(|k| *k == "incident_opened").count();
    assert_eq!(opened, 1, "{kinds:?}");
}

#[tokio::test]
async fn a_watcher_killed_mid_write_leaves_a_readable_history() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config("", "", "confirm = 1"));
    let mut child = dw.spawn(&["watch", "--no-notify"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let status = dw.run_async(&["status", "--json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status.json()[0]["verdict"], "phantom", "{status:?}");
    assert_eq!(status.json()[0]["incident_open"], true, "{status:?}");
    // A restarted watcher does not announce the still-open incident again.
    let (hook, url) = Hook::start().await;
    let config = std::fs::read_to_string(&dw.config).unwrap().replace(
        "desktop = false",
        &format!("desktop = false\nwebhook = \"{url}\""),
    );
    std::fs::write(&dw.config, config).unwrap();
    let child = dw.spawn(&["watch", "--no-notify"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = terminate(child).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        hook.texts().is_empty(),
        "re-announced after restart: {:#?}",
        hook.texts()
    );
}

#[tokio::test]
async fn a_running_watcher_follows_edits_to_its_config_and_survives_a_broken_one() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let staging = deploywatch_fleet::SimEnv::start("staging")
        .await
        .expect("staging");
    staging.set_live(&s.new);
    let dw = Dw::new(&s.config("", "", ""));
    let child = dw.spawn(&["watch", "--no-notify"]);
    let status = || async {
        let run = dw.run_async(&["status", "--json"]).await;
        run.json()
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r["environment"].as_str().unwrap_or_default().to_string(),
                    r["verdict"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let wait = |want: (&'static str, &'static str)| async move {
        let start = Instant::now();
        loop {
            let now = status().await;
            if now.iter().any(|(e, v)| (e.as_str(), v.as_str()) == want) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "never saw {want:?}; status: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    wait(("production", "phantom")).await;

    // A broken edit: reported with its place, and the watcher keeps going.
    let good = std::fs::read_to_string(&dw.config).unwrap();
    std::fs::write(&dw.config, good.replace("[[project]]", "[[projcet]]")).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Adding an environment: the watcher checks it without a restart by hand.
    let added = format!(
        "{good}\n[[project.environment]]\nname = \"staging\"\nbuild_info_url = \"{}\"\n",
        staging.build_info_url()
    );
    std::fs::write(&dw.config, added).unwrap();
    wait(("staging", "live")).await;

    let run = terminate(child).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("config.toml:") && run.stderr.contains("projcet"),
        "the broken edit is reported with file, line and key: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("still watching the previous configuration"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("changed: watching the new configuration"),
        "{}",
        run.stderr
    );
}
