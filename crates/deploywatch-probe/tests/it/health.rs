//! `Prober::health` against a loopback server: the body is read by its convention, whatever
//! the HTTP status, and an endless or hung answer is still bounded.

use deploywatch_core::{HealthStatus, HttpOutcome};
use deploywatch_probe::{ProbeSettings, Prober};

use crate::support::{Reply, Server, quick, reply};

#[tokio::test]
async fn health_bodies_are_read_by_their_conventions_whatever_the_status() {
    let server = Server::start(|req| match req.path() {
        // Spring Boot answers 503 for DOWN, with the failing component.
        "/actuator/health" => reply(
            503,
            &[("Content-Type", "application/vnd.spring-boot.actuator.v3+json")],
            r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"java.net.ConnectException: Connection refused"}},"diskSpace":{"status":"UP","details":{"total":100000000000,"free":6100000000,"threshold":10485760,"path":"/data","exists":true}}}}"#,
        ),
        // The IETF format may say `fail` with 200.
        "/health" => reply(
            200,
            &[("Content-Type", "application/health+json")],
            r#"{"status":"fail","checks":{"disk:utilization":[{"observedValue":97,"observedUnit":"percent","status":"fail"}]}}"#,
        ),
        "/healthz" => reply(200, &[("Content-Type", "text/plain")], "ok"),
        "/endless" => Reply::Endless { total: 50 << 20 },
        _ => Reply::Hang,
    })
    .await;
    let prober = Prober::new(quick());

    let spring = prober.health(&server.url("/actuator/health")).await;
    assert!(
        matches!(&spring.http.outcome, HttpOutcome::Answered(r) if r.status == 503),
        "{spring:?}"
    );
    assert_eq!(
        (spring.status, spring.reported.as_deref()),
        (Some(HealthStatus::Down), Some("DOWN"))
    );
    let db = spring.components.iter().find(|c| c.name == "db").unwrap();
    assert_eq!(
        (db.status, db.detail.as_deref()),
        (Some(HealthStatus::Down), Some("Connection refused"))
    );
    let disk = spring.disk.expect("diskSpace");
    assert_eq!(disk.describe(), "/data 94 % used (6.1 GB free of 100 GB)");
    assert!(disk.running_out().is_some());
    let accept = server.requests()[0]
        .header("accept")
        .unwrap_or("")
        .to_string();
    assert!(accept.starts_with("application/health+json"), "{accept}");

    let ietf = prober.health(&server.url("/health")).await;
    assert_eq!(ietf.status, Some(HealthStatus::Down));
    assert_eq!(ietf.disk.and_then(|d| d.used_percent), Some(97.0));

    let plain = prober.health(&server.url("/healthz")).await;
    assert_eq!(plain.status, Some(HealthStatus::Up));

    // Cut at the cap: nothing is guessed from a partial body.
    let capped = Prober::new(ProbeSettings {
        body_cap: 64 * 1024,
        ..quick()
    });
    let endless = capped.health(&server.url("/endless")).await;
    assert!(
        matches!(&endless.http.outcome, HttpOutcome::Answered(r) if r.truncated),
        "{endless:?}"
    );
    assert_eq!((endless.status, endless.disk), (None, None));

    let hung = prober.health(&server.url("/hang")).await;
    assert!(
        matches!(hung.http.outcome, HttpOutcome::Failed(_)),
        "{hung:?}"
    );
    assert_eq!(hung.status, None);
}
