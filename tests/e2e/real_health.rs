//! Detailed health bodies through the real binary, served by real nginx as JSON with chosen
//! status codes: a Spring Boot actuator DOWN with 503, an IETF `application/health+json`
//! `fail` with 200, a disk running out while the deploy is live, and the watcher's one-time
//! disk notification (and its one recovery) to a webhook.
//!
//! Build-info is a static file with the expected SHA, so the health body alone decides.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Json, Router, extract::State, routing::post};

use crate::harness::{Dw, config, sha};
use crate::infra::Nginx;
use crate::reports::{assert_verdict, build_info, check, hint, run_cmd, warnings};

const NO_GITHUB: &str = "http://127.0.0.1:9";

/// Spring Boot 3 `/actuator/health` with `show-details: always`: the database is down.
const SPRING_DOWN: &str = r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"database":"PostgreSQL","error":"org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"}},"diskSpace":{"status":"UP","details":{"total":100000000000,"free":60000000000,"threshold":10485760,"path":"/app/.","exists":true}},"ping":{"status":"UP"}}}"#;

/// The IETF health-check response format: a failing datastore check.
const IETF_FAIL: &str = r#"{"status":"fail","version":"1","releaseId":"1.2.3","checks":{"postgres:connections":[{"componentType":"datastore","observedValue":100,"status":"fail","output":"too many connections"}],"uptime":[{"componentType":"system","observedValue":1209600.245,"observedUnit":"s","status":"pass"}]}}"#;

/// 95 % used: 5 GB free of 100 GB (above the service's own 10 MB threshold, so it says UP).
const DISK_LOW: &str = r#"{"status":"UP","components":{"diskSpace":{"status":"UP","details":{"total":100000000000,"free":5000000000,"threshold":10485760,"exists":true}}}}"#;
/// 40 % used.
const DISK_FINE: &str = r#"{"status":"UP","components":{"diskSpace":{"status":"UP","details":{"total":100000000000,"free":60000000000,"threshold":10485760,"exists":true}}}}"#;

/// nginx with `/api/build-info` and `/health` as files, and `/actuator/health` answering the
/// Spring body with 503 and `/ietf/health` the IETF body with 200 (`return` with the text).
fn health_site() -> String {
    format!(
        "
server {{
    listen 127.0.0.1:{{port0}};
    root {{root}};
    default_type application/json;
    location = /api/build-info {{ }}
    location = /health {{ }}
    location = /actuator/health {{ return 503 '{SPRING_DOWN}'; }}
    location = /ietf/health {{
        default_type application/health+json;
        return 200 '{IETF_FAIL}';
    }}
}}"
    )
}

/// verify --expect `live` (which build-info serves) with `health_url = <path>`.
fn verify_health(
    nginx: &Nginx,
    live: &str,
    path: &str,
) -> (crate::harness::Run, serde_json::Value) {
    let env_extra = format!("health_url = \"{}\"", nginx.url(0, path));
    let dw = Dw::new(&config(
        NO_GITHUB,
        "",
        &nginx.url(0, "/api/build-info"),
        &env_extra,
        "",
    ));
    let r = run_cmd(dw.command(&["verify", "--expect", live, "--json"]));
    let report = r.report();
    (r, report)
}

fn start(name: &str) -> (Nginx, String) {
    let nginx = Nginx::start(&health_site());
    let live = sha(name);
    nginx.write("api/build-info", &build_info(&live));
    (nginx, live)
}

#[test]
fn spring_actuator_down_with_503_is_down_quoting_the_service_and_the_failing_component() {
    let (nginx, live) = start("health-spring-down");
    let (r, report) = verify_health(&nginx, &live, "/actuator/health");
    assert_verdict(&r, &report, "down");
    let h = hint(&report);
    assert!(h.contains("answered 503"), "{h}");
    assert!(
        h.contains("reports itself DOWN"),
        "the service's own word: {h}"
    );
    assert!(h.contains("db DOWN"), "the failing component: {h}");
    assert!(
        h.contains("db DOWN (Failed to obtain JDBC Connection)"),
        "{h}"
    );
    assert!(!h.contains("diskSpace"), "only failing components: {h}");
    let (ok, detail) = check(&report, "health");
    assert!(!ok, "{detail}");
    assert!(detail.starts_with("503 application/json"), "{detail}");
    assert!(detail.contains("DOWN — db DOWN"), "failing first: {detail}");
    assert!(
        detail.contains("diskSpace UP") && detail.contains("ping UP"),
        "{detail}"
    );
    // Build-info itself is fine: the health body decided.
    assert!(check(&report, "build_info").0, "{report:#}");
    // Its disk has room: a disk entry, ok.
    let (ok, detail) = check(&report, "disk");
    assert!(ok, "{detail}");
}

#[test]
fn ietf_health_json_fail_with_200_is_down() {
    let (nginx, live) = start("health-ietf-fail");
    let (r, report) = verify_health(&nginx, &live, "/ietf/health");
    assert_verdict(&r, &report, "down");
    let h = hint(&report);
    assert!(h.contains("answered 200"), "{h}");
    assert!(h.contains("reports itself fail"), "{h}");
    assert!(h.contains("postgres:connections"), "{h}");
    assert!(h.contains("too many connections"), "{h}");
    let (ok, detail) = check(&report, "health");
    assert!(!ok, "{detail}");
    assert!(
        detail.starts_with("200 application/health+json"),
        "{detail}"
    );
    assert!(detail.contains("fail"), "{detail}");
}

#[test]
fn a_disk_95_percent_used_while_live_is_a_warning_and_a_failing_disk_check() {
    let (nginx, live) = start("health-disk-low");
    nginx.write("health", DISK_LOW);
    let (r, report) = verify_health(&nginx, &live, "/health");
    assert_verdict(&r, &report, "live");
    let (ok, detail) = check(&report, "health");
    assert!(ok, "the service says UP: {detail}");
    let (ok, detail) = check(&report, "disk");
    assert!(!ok, "{detail}");
    assert!(
        detail.contains("diskSpace 95 % used (5.0 GB free of 100 GB)"),
        "{detail}"
    );
    assert!(detail.contains("more than 90 % used"), "{detail}");
    let w = warnings(&report);
    assert!(
        w.iter()
            .any(|w| w.contains("disk almost full on production")
                && w.contains("diskSpace")
                && w.contains("95 %")
                && w.contains("5.0 GB free of 100 GB")),
        "no disk warning naming the disk and its figures: {w:?}"
    );

    // With room again: the entry is ok and nothing warns.
    nginx.write("health", DISK_FINE);
    let (r, report) = verify_health(&nginx, &live, "/health");
    assert_verdict(&r, &report, "live");
    let (ok, detail) = check(&report, "disk");
    assert!(ok, "{detail}");
    assert!(detail.contains("40 % used"), "{detail}");
    assert!(warnings(&report).is_empty(), "{report:#}");
}

/// A Slack-compatible webhook receiver on loopback: records each `{"text": ...}`.
#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<String>>>,
}

impl Hook {
    async fn start() -> (Hook, String) {
        let hook = Hook::default();
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(h): State<Hook>, Json(v): Json<serde_json::Value>| async move {
                        let text = v["text"].as_str().unwrap_or_default().to_string();
                        h.got.lock().unwrap().push(text);
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

    fn texts(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

/// Health requests nginx has answered so far (one per check of the environment).
fn health_requests(nginx: &Nginx) -> usize {
    nginx
        .file("access.log")
        .lines()
        .filter(|l| l.contains("GET /health "))
        .count()
}

/// Polls until `done()` holds, or fails saying `what`.
async fn until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The watcher process, stopped when the test ends whatever happens.
struct Watcher(std::process::Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_watcher_announces_a_low_disk_once_after_confirm_checks_and_its_recovery_once() {
    const CONFIRM: usize = 3;
    let hub = deploywatch_fakehub::FakeHub::start()
        .await
        .expect("fake GitHub");
    let (old, new) = (sha("disk-watch-old"), sha("disk-watch-new"));
    hub.push("acme/shop", "main", &old, "Alice", "Add checkout");
    hub.push("acme/shop", "main", &new, "Bob", "Fix rounding in totals");
    hub.add_run("acme/shop", &new, "CI", "completed", Some("success"));
    let nginx = Nginx::start(&health_site());
    nginx.write("api/build-info", &build_info(&new));
    nginx.write("health", DISK_LOW);
    let (hook, url) = Hook::start().await;
    let text = config(
        &hub.api_url(),
        "",
        &nginx.url(0, "/api/build-info"),
        &format!("health_url = \"{}\"", nginx.url(0, "/health")),
        &format!("confirm = {CONFIRM}"),
    )
    .replace(
        "desktop = false",
        &format!("desktop = false\nwebhook = \"{url}\""),
    );
    let dw = Dw::new(&text);
    let watcher = Watcher(dw.spawn(&["watch", "--no-notify"]));
    let limit = Duration::from_secs(20);

    // Exactly one "Disk almost full", and only after `confirm` checks saw the disk low.
    until("the disk-low notice", limit, || !hook.texts().is_empty()).await;
    let checks_when_notified = health_requests(&nginx);
    let texts = hook.texts();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(
        texts[0].starts_with("*Disk almost full: shop / production*"),
        "{texts:#?}"
    );
    assert!(
        texts[0].contains("diskSpace 95 % used (5.0 GB free of 100 GB)"),
        "{texts:#?}"
    );
    assert!(
        checks_when_notified >= CONFIRM,
        "announced after {checks_when_notified} checks, before {CONFIRM} confirmed it"
    );
    // Many more checks see it low; none repeats the notice.
    let seen = health_requests(&nginx);
    until("more checks of the low disk", limit, || {
        health_requests(&nginx) >= seen + 2 * CONFIRM
    })
    .await;
    assert_eq!(hook.texts().len(), 1, "repeated: {:#?}", hook.texts());

    // Plenty of space again: one "Disk space recovered", after `confirm` checks.
    let before_fix = health_requests(&nginx);
    nginx.write("health", DISK_FINE);
    until("the recovery notice", limit, || hook.texts().len() >= 2).await;
    let checks_of_fine = health_requests(&nginx) - before_fix;
    let texts = hook.texts();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts[1].starts_with("*Disk space recovered: shop / production*"),
        "{texts:#?}"
    );
    assert!(texts[1].contains("diskSpace 40 % used"), "{texts:#?}");
    assert!(
        checks_of_fine >= CONFIRM,
        "recovered after {checks_of_fine} checks, fewer than {CONFIRM}"
    );
    let seen = health_requests(&nginx);
    until("more checks of the fine disk", limit, || {
        health_requests(&nginx) >= seen + 2 * CONFIRM
    })
    .await;
    let texts = hook.texts();
    assert_eq!(texts.len(), 2, "repeated: {texts:#?}");
    // Everything was live all along: the disk announcements were the only ones.
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("Resolved") && !t.contains("deploy")),
        "{texts:#?}"
    );
    drop(watcher);
}
