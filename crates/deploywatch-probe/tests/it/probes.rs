//! Build-info, replica, cache-bust and health probes against real loopback servers.

use std::time::{Duration, Instant};

use deploywatch_core::{BuildInfoProbe, CacheSignals, HttpOutcome, Response, TransportFailure};
use deploywatch_probe::{Locator, ProbeSettings, Prober, user_agent};

use crate::support::{Reply, Server, json, quick, refused_addr, reply};

/// One line per probe: status and content type (or the failure), then the fingerprint.
fn summary(probe: &BuildInfoProbe) -> String {
    let http = match &probe.http.outcome {
        HttpOutcome::Answered(r) => {
            format!("{} {}", r.status, r.content_type.as_deref().unwrap_or("-"))
        }
        HttpOutcome::Failed(f) => format!("{f:?}"),
    };
    match &probe.fingerprint {
        Ok(f) => format!("{http}: {} from {}", f.sha, f.source),
        Err(e) => format!("{http}: error: {e}"),
    }
}

fn answered(probe: &BuildInfoProbe) -> &Response {
    match &probe.http.outcome {
        HttpOutcome::Answered(r) => r,
        HttpOutcome::Failed(f) => panic!("expected an answer, got {f:?}"),
    }
}

async fn fleet() -> Server {
    Server::start(|req| match req.path() {
        "/api/build-info" => json(r#"{"git_sha": "b7c1e2f", "environment": "production"}"#),
        "/__version__" => json(r#"{"source": "https://github.com/acme/shop", "version": "1.4.2", "commit": "b7c1e2f", "build": ""}"#),
        "/actuator/info" => reply(
            200,
            &[("Content-Type", "application/vnd.spring-boot.actuator.v3+json")],
            r#"{"git": {"commit": {"id": {"full": "b7c1e2f00112233", "abbrev": "b7c1e2f"}}}}"#,
        ),
        "/header" => reply(200, &[("X-Git-Sha", "b7c1e2f"), ("Content-Type", "text/plain")], "ok"),
        "/unknown" => json(r#"{"git_sha": "unknown"}"#),
        "/html" => reply(
            200,
            &[("Content-Type", "text/html")],
            "<!doctype html><html><head><title>Welcome to nginx!</title></head><body>It works</body></html>",
        ),
        "/502" => reply(502, &[("Content-Type", "text/html")], "<html><title>502 Bad Gateway</title></html>"),
        _ => reply(404, &[], "not found"),
    })
    .await
}

#[tokio::test]
async fn build_info_answers() {
    let server = fleet().await;
    let prober = Prober::new(quick());
    let check = async |path: &str, want: &str| {
        let probe = prober
            .build_info(&server.url(path), &Locator::default())
            .await;
        assert_eq!(summary(&probe), want, "{path}");
    };
    check(
        "/api/build-info",
        "200 application/json: b7c1e2f from JSON /git_sha",
    )
    .await;
    check(
        "/__version__",
        "200 application/json: b7c1e2f from JSON /commit",
    )
    .await;
    check(
        "/actuator/info",
        "200 application/vnd.spring-boot.actuator.v3+json: b7c1e2f00112233 from JSON /git/commit/id (Spring Boot)",
    )
    .await;
    check("/header", "200 text/plain: b7c1e2f from header X-Git-Sha").await;
    check(
        "/unknown",
        r#"200 application/json: error: JSON field `git_sha` is "unknown", not a git SHA"#,
    )
    .await;
    check(
        "/html",
        r#"200 text/html: error: got an HTML page (title "Welcome to nginx!"), not JSON, with no <meta name="build-sha">, "git-sha", "release" or "version" tag and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header"#,
    )
    .await;
    check(
        "/502",
        "502 text/html: error: answered HTTP 502 Bad Gateway, not a success, so no build information was read",
    )
    .await;
    check(
        "/missing",
        "404 -: error: answered HTTP 404 Not Found, not a success, so no build information was read",
    )
    .await;

    let probe = prober
        .build_info(&server.url("/api/build-info"), &Locator::default())
        .await;
    let fingerprint = probe.fingerprint.as_ref().unwrap();
    assert_eq!(fingerprint.environment.as_deref(), Some("production"));
    let response = answered(&probe);
    assert_eq!(
        response.first_bytes,
        r#"{"git_sha": "b7c1e2f", "environment": "production"}"#
    );
    assert_eq!((response.body_len, response.truncated), (51, false));
}

#[tokio::test]
async fn locator_overrides_auto_detection() {
    let server = Server::start(|_| {
        reply(
            200,
            &[
                ("X-Build", "1.0+c0ffee1"),
                ("Content-Type", "application/json"),
            ],
            r#"{"git_sha": "b7c1e2f", "meta": {"rev": "d00d123"}}"#,
        )
    })
    .await;
    let prober = Prober::new(quick());
    let with = |pointer: Option<&str>, header: Option<&str>| Locator {
        sha_pointer: pointer.map(str::to_string),
        sha_header: header.map(str::to_string),
        ..Locator::default()
    };
    let url = server.url("/");
    let check = async |locator: Locator, want: &str| {
        assert_eq!(summary(&prober.build_info(&url, &locator).await), want);
    };
    check(
        with(Some("/meta/rev"), None),
        "200 application/json: d00d123 from JSON /meta/rev (sha_pointer)",
    )
    .await;
    check(
        with(None, Some("x-build")),
        "200 application/json: c0ffee1 from header x-build (sha_header)",
    )
    .await;
}

#[tokio::test]
async fn user_agent_and_accept_arrive() {
    let server = Server::start(|_| json(r#"{"sha": "abc1234"}"#)).await;
    Prober::new(quick())
        .build_info(&server.url("/v"), &Locator::default())
        .await;
    let request = &server.requests()[0];
    assert_eq!(request.header("user-agent"), Some(user_agent().as_str()));
    assert!(
        user_agent().starts_with("deploywatch/0."),
        "{}",
        user_agent()
    );
    assert_eq!(
        request.header("accept"),
        Some("application/json, text/html;q=0.9, */*;q=0.5")
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = Server::start(|req| match req.path() {
        "/hang" => Reply::Hang,
        _ => Reply::StalledBody,
    })
    .await;
    let prober = Prober::new(quick());
    for path in ["/hang", "/stalled-body"] {
        let started = Instant::now();
        let probe = prober
            .build_info(&server.url(path), &Locator::default())
            .await;
        assert_eq!(
            probe.http.outcome,
            HttpOutcome::Failed(TransportFailure::Timeout { after_ms: 300 }),
            "{path}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            probe.fingerprint,
            Err("no answer: timed out after 300 ms".to_string())
        );
    }
}

#[tokio::test]
async fn a_redirect_loop_stops_at_the_limit() {
    let server = Server::start(|_| reply(302, &[("Location", "/loop")], "")).await;
    let probe = Prober::new(quick())
        .build_info(&server.url("/loop"), &Locator::default())
        .await;
    assert_eq!(
        probe.http.outcome,
        HttpOutcome::Failed(TransportFailure::TooManyRedirects { limit: 5 })
    );
    // The first request and five redirects followed.
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn a_200_mb_body_is_cut_at_the_cap() {
    let server = Server::start(|_| Reply::Endless {
        total: 200 * 1024 * 1024,
    })
    .await;
    let settings = ProbeSettings {
        timeout: Duration::from_secs(5),
        ..ProbeSettings::default()
    };
    let started = Instant::now();
    let probe = Prober::new(settings)
        .build_info(&server.url("/"), &Locator::default())
        .await;
    let response = answered(&probe);
    assert!(response.truncated);
    assert_eq!(response.body_len, 1024 * 1024);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.first_bytes, " ".repeat(120));
    assert_eq!(
        probe.fingerprint,
        Err("the body is empty and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header".to_string())
    );
}

#[tokio::test]
async fn a_large_json_body_is_reported_as_cut_off() {
    let big = format!(
        r#"{{"git_sha": "abc1234", "padding": "{}"}}"#,
        "x".repeat(4096)
    );
    let server = Server::start(move |_| json(&big)).await;
    let settings = ProbeSettings {
        body_cap: 1000,
        ..quick()
    };
    let probe = Prober::new(settings)
        .build_info(&server.url("/"), &Locator::default())
        .await;
    assert_eq!(
        summary(&probe),
        "200 application/json: error: the body is larger than the body cap and was cut off after 1000 bytes, so it is not complete JSON"
    );
    assert_eq!(answered(&probe).body_len, 1000);
}

#[tokio::test]
async fn refused_connections_and_bad_urls_are_failures() {
    let prober = Prober::new(quick());
    let addr = refused_addr().await;
    let probe = prober
        .build_info(&format!("http://{addr}/"), &Locator::default())
        .await;
    match &probe.http.outcome {
        HttpOutcome::Failed(TransportFailure::Connect { detail }) => {
            assert_eq!(
                detail,
                "tcp connect error: Connection refused (os error 111)"
            )
        }
        other => panic!("expected a connect failure, got {other:?}"),
    }
    for url in ["not a url", "ftp://example.com/x"] {
        let probe = prober.build_info(url, &Locator::default()).await;
        assert!(
            matches!(
                &probe.http.outcome,
                HttpOutcome::Failed(TransportFailure::Other { .. })
            ),
            "{url}: {:?}",
            probe.http.outcome
        );
        assert_eq!(probe.http.url, url);
    }
}

#[tokio::test]
async fn replica_probes_each_open_a_fresh_connection() {
    let server = Server::start(|_| json(r#"{"git_sha": "abc1234"}"#)).await;
    let prober = Prober::new(quick());
    let url = server.url("/api/build-info");
    // The server keeps connections alive: ordinary probes reuse one.
    prober.build_info(&url, &Locator::default()).await;
    prober.build_info(&url, &Locator::default()).await;
    assert_eq!(server.connections(), 1);
    // Replica probes never do, not even across rounds.
    for round in 1..=2 {
        let probes = prober.replicas(&url, &Locator::default(), 3).await;
        assert_eq!(probes.len(), 3);
        assert!(probes.iter().all(|p| p.fingerprint.is_ok()));
        assert_eq!(server.connections(), 1 + 3 * round);
    }
    let closing = server
        .requests()
        .iter()
        .filter(|r| r.header("connection") == Some("close"))
        .count();
    assert_eq!(closing, 6);
}

#[tokio::test]
async fn cache_bust_reaches_the_server() {
    let server = Server::start(|_| json(r#"{"git_sha": "abc1234"}"#)).await;
    let prober = Prober::new(quick());
    let first = prober
        .cache_bust(&server.url("/info?x=1"), &Locator::default())
        .await;
    let second = prober
        .cache_bust(&server.url("/info"), &Locator::default())
        .await;
    assert!(first.fingerprint.is_ok());
    let requests = server.requests();
    let token = |target: &str| target.split("_dw=").nth(1).map(str::to_string);
    assert!(
        requests[0].target.starts_with("/info?x=1&_dw="),
        "{}",
        requests[0].target
    );
    assert!(
        requests[1].target.starts_with("/info?_dw="),
        "{}",
        requests[1].target
    );
    assert_ne!(token(&requests[0].target), token(&requests[1].target));
    for request in &requests {
        assert_eq!(request.header("cache-control"), Some("no-cache"));
        assert_eq!(request.header("pragma"), Some("no-cache"));
    }
    // The evidence names the URL actually fetched.
    assert!(first.http.url.contains("_dw="), "{}", first.http.url);
    assert!(second.http.url.contains("_dw="), "{}", second.http.url);
    // Plain probes carry neither.
    prober
        .build_info(&server.url("/info"), &Locator::default())
        .await;
    let plain = server.requests().pop().unwrap();
    assert_eq!(
        (plain.target.as_str(), plain.header("cache-control")),
        ("/info", None)
    );
}

#[tokio::test]
async fn cache_signals_and_health() {
    let server = Server::start(|req| match req.path() {
        "/cached" => reply(
            200,
            &[
                ("Cache-Control", "public, max-age=600"),
                ("Age", "120"),
                ("X-Cache", "Hit from cloudfront"),
                ("Content-Type", "application/json"),
            ],
            r#"{"sha": "abc1234"}"#,
        ),
        _ => reply(
            503,
            &[("Content-Type", "text/plain")],
            "upstream\nunavailable",
        ),
    })
    .await;
    let prober = Prober::new(quick());
    let probe = prober
        .build_info(&server.url("/cached"), &Locator::default())
        .await;
    assert_eq!(
        answered(&probe).cache,
        CacheSignals {
            cache_control: Some("public, max-age=600".into()),
            age: Some(120),
            hit_header: Some("X-Cache: Hit from cloudfront".into()),
            stale: false,
            via: None,
        }
    );
    let health = prober.health(&server.url("/health")).await;
    // A body that is no health convention's: the answer alone is the evidence.
    assert_eq!((health.status, health.components.len()), (None, 0));
    match health.http.outcome {
        HttpOutcome::Answered(r) => {
            assert_eq!(
                (r.status, r.first_bytes.as_str()),
                (503, "upstream\\nunavailable")
            )
        }
        other => panic!("{other:?}"),
    }
}
