//! Webhooks end to end through `deploywatch watch`: a receiver that fails and then recovers
//! gets the notice once, late, and the history says so; a receiver that refuses is given up on
//! at once, with the event still in the history; verified-live notices in the JSON format.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};

use crate::harness::{Dw, Scenario};
use crate::incidents::terminate;

/// A webhook receiver on loopback that answers `fail_with` to the first `failures` posts and
/// 200 after that, keeping every body it accepted.
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<serde_json::Value>>>,
    posts: Arc<Mutex<Vec<Instant>>>,
    failures: usize,
    fail_with: StatusCode,
}

impl Receiver {
    async fn start(failures: usize, fail_with: StatusCode) -> (Receiver, String) {
        let r = Receiver {
            got: Arc::default(),
            posts: Arc::default(),
            failures,
            fail_with,
        };
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(r): State<Receiver>, Json(v): Json<serde_json::Value>| async move {
                        let n = {
                            let mut posts = r.posts.lock().unwrap();
                            posts.push(Instant::now());
                            posts.len()
                        };
                        if n <= r.failures {
                            return r.fail_with;
                        }
                        r.got.lock().unwrap().push(v);
                        StatusCode::OK
                    },
                ),
            )
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn got(&self) -> Vec<serde_json::Value> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize, limit: Duration) -> Vec<serde_json::Value> {
        let start = Instant::now();
        while self.got().len() < n && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.got()
    }
}

fn with_webhook(config: &str, url: &str, extra: &str) -> String {
    config.replace(
        "desktop = false",
        &format!("desktop = false\nwebhook = \"{url}\"\n{extra}"),
    )
}

async fn history_details(dw: &Dw, kind: &str) -> Vec<String> {
    let history = dw.run_async(&["history", "--json"]).await;
    history
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_webhook_that_fails_twice_gets_the_alert_at_the_third_attempt_and_checks_go_on() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let (hook, url) = Receiver::start(2, StatusCode::SERVICE_UNAVAILABLE).await;
    let dw = Dw::new(&with_webhook(&s.config("", "", "confirm = 1"), &url, ""));
    let child = dw.spawn(&["watch", "--no-notify"]);
    let started = Instant::now();
    let got = hook.wait_for(1, Duration::from_secs(30)).await;
    let took = started.elapsed();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("*Phantom deploy: shop / production*"),
        "{got:#?}"
    );
    // The retries waited 1 s and 4 s.
    let posts = hook.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 3);
    assert!(
        posts[1] - posts[0] >= Duration::from_millis(900),
        "{posts:?}"
    );
    assert!(
        posts[2] - posts[1] >= Duration::from_millis(3900),
        "{posts:?}"
    );
    // Meanwhile checks went on: the fast schedule (200 ms) made many.
    let history = dw.run_async(&["status", "--json"]).await;
    assert_eq!(history.json()[0]["verdict"], "phantom");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let run = terminate(child).await;
    let details = history_details(&dw, "webhook_delivery").await;
    assert_eq!(
        details,
        ["slack webhook delivered at attempt 3 (503 Service Unavailable, 503 Service Unavailable)"],
        "{run:?}"
    );
    eprintln!("alert delivered {took:?} after the watcher started, at the third attempt");
}

#[tokio::test]
async fn a_webhook_that_refuses_is_not_retried_and_the_event_stays_in_the_history() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let (hook, url) = Receiver::start(usize::MAX, StatusCode::NOT_FOUND).await;
    let dw = Dw::new(&with_webhook(&s.config("", "", "confirm = 1"), &url, ""));
    let child = dw.spawn(&["watch", "--no-notify"]);
    let start = Instant::now();
    let details = loop {
        let d = history_details(&dw, "webhook_delivery").await;
        if !d.is_empty() || start.elapsed() > Duration::from_secs(20) {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = terminate(child).await;
    assert_eq!(
        details,
        [
            "slack webhook not delivered after 1 attempt (404 Not Found); the event is in this \
             history"
        ],
        "{run:?}"
    );
    assert_eq!(hook.posts.lock().unwrap().len(), 1, "a 404 is not retried");
    assert_eq!(history_details(&dw, "incident_opened").await.len(), 1);
}

#[tokio::test]
async fn a_deploy_verified_live_is_announced_once_with_its_lag_in_the_json_format() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let (hook, url) = Receiver::start(0, StatusCode::OK).await;
    let config = with_webhook(
        &s.config("", "", "confirm = 2"),
        &url,
        "webhook_format = \"json\"\nverified_live = true",
    );
    let dw = Dw::new(&config);
    let child = dw.spawn(&["watch", "--no-notify"]);
    // The phantom deploy alerts; then the deploy lands.
    let got = hook.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got[0]["kind"], "open", "{got:#?}");
    s.env.set_live(&s.new);
    let got = hook.wait_for(3, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = terminate(child).await;
    let got_now = hook.got();
    assert_eq!(got_now.len(), 3, "{got_now:#?}\n{run:?}");
    let kinds: Vec<&str> = got.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["open", "resolve", "live"], "{got:#?}");
    let live = &got[2];
    assert_eq!(live["summary"], "Live: shop / production");
    let body = live["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("{} is live in production, ", &s.new[..7]))
            && body.contains("after the push"),
        "{body}"
    );
    // The whole report travels with it.
    let report = &live["reports"][0];
    assert_eq!(report["verdict"], "live");
    assert_eq!(report["live_sha"], s.new.as_str());
    assert!(report["checks"].as_array().is_some_and(|c| !c.is_empty()));

    // A restart does not announce it again.
    let child = dw.spawn(&["watch", "--no-notify"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run = terminate(child).await;
    assert_eq!(hook.got().len(), 3, "{:#?}\n{run:?}", hook.got());
}

#[tokio::test]
async fn a_muted_environment_is_recorded_and_its_action_runs_but_nothing_is_sent_until_unmuted() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let (hook, url) = Receiver::start(0, StatusCode::OK).await;
    let config = with_webhook(
        &s.config("mute = true", "", "confirm = 1\non_open = [\"./fix.sh\"]"),
        &url,
        "",
    );
    let dw = Dw::new(&config);
    let fix = dw.path().join("fix.sh");
    std::fs::write(&fix, "#!/bin/sh\ntouch fixed\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fix, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let child = dw.spawn(&["watch", "--no-notify"]);
    // The incident opens and its action runs, as without mute.
    let start = Instant::now();
    while !dw.path().join("fixed").exists() && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dw.path().join("fixed").exists(), "the action never ran");
    // Past the coalescing window (3 s, `watch::COALESCE`): still nothing posted.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(hook.got(), Vec::<serde_json::Value>::new());
    assert_eq!(history_details(&dw, "incident_opened").await.len(), 1);

    // Unmuted (the file edited while the watcher runs): the open notice already claimed is
    // not replayed; the resolve that follows is sent.
    std::fs::write(&dw.config, config.replace("mute = true\n", "")).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hook.got(), Vec::<serde_json::Value>::new());
    s.env.set_live(&s.new);
    let got = hook.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let run = terminate(child).await;
    let texts: Vec<&str> = got.iter().map(|v| v["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 1, "{texts:#?}\n{run:?}");
    assert!(
        texts[0].starts_with("*Resolved (phantom deploy): shop / production*"),
        "{texts:#?}"
    );
    // The terminal said why the first notice went nowhere.
    assert!(
        run.stderr.contains("1 environment is muted"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("Phantom deploy: shop / production (muted)")),
        "{}",
        run.stdout
    );
}
