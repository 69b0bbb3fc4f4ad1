//! Table-driven tests of the decision order of SPEC §3: each case starts from a healthy
//! environment (live on the expected SHA) and changes one or two observations.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::observe::*;

const NEW: &str = "b7c1e2f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";
const OLD: &str = "a3f9d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8";
const OLDER: &str = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";

fn sha(s: &str) -> Sha {
    Sha::parse(s).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn mins_ago(m: i64) -> DateTime<Utc> {
    now() - chrono::Duration::minutes(m)
}

fn ok_response(status: u16, ctype: &str) -> Response {
    Response {
        status,
        content_type: Some(ctype.into()),
        elapsed_ms: 41,
        body_len: 80,
        truncated: false,
        first_bytes: "{\"git_sha\": …".into(),
        cache: CacheSignals {
            cache_control: Some("no-cache".into()),
            ..Default::default()
        },
    }
}

fn http(status: u16) -> HttpEvidence {
    HttpEvidence {
        url: "http://shop.test/api/build-info".into(),
        outcome: HttpOutcome::Answered(ok_response(status, "application/json")),
    }
}

fn probe(live: &str) -> BuildInfoProbe {
    BuildInfoProbe {
        http: http(200),
        fingerprint: Ok(Fingerprint {
            sha: sha(live),
            source: "JSON /git_sha".into(),
            build_date: None,
            image_tag: None,
            environment: Some("production".into()),
            confidence: Confidence::Convention,
            pin: None,
        }),
        address: None,
    }
}

fn run(
    workflow: &str,
    status: &str,
    conclusion: Option<&str>,
    created: i64,
    done: Option<i64>,
) -> CiRun {
    CiRun {
        id: created as u64 + 1000,
        workflow: workflow.into(),
        head_sha: sha(NEW),
        status: status.into(),
        conclusion: conclusion.map(Into::into),
        url: "https://github.com/acme/shop/actions/runs/1".into(),
        created_at: mins_ago(created),
        completed_at: done.map(mins_ago),
    }
}

/// Healthy: NEW pushed 30 min ago (previous head OLD), CI passed 25 min ago, NEW is live.
fn base() -> Observations {
    Observations {
        project: "shop".into(),
        environment: "production".into(),
        now: now(),
        policy: Policy {
            grace: Duration::from_secs(600),
            ci_timeout: Duration::from_secs(600),
            expect_environment: None,
            replicas: 1,
            branch: "main".into(),
        },
        expected: Expected::Known {
            sha: sha(NEW),
            basis: ExpectedBasis::Branch {
                first_seen: mins_ago(30),
                previous: Some(sha(OLD)),
            },
        },
        build_info: vec![probe(NEW)],
        health: None,
        frontend: None,
        cache_bust: None,
        ci_runs: vec![run("CI", "completed", Some("success"), 29, Some(25))],
        ci_runs_live: vec![],
        image: None,
        notes: vec![],
    }
}

fn frontend(
    meta: Option<&str>,
    assets: &[(&str, Result<u16, String>, bool)],
    cache_control: &str,
) -> FrontendProbe {
    let mut r = ok_response(200, "text/html");
    r.cache.cache_control = Some(cache_control.into());
    FrontendProbe {
        http: HttpEvidence {
            url: "http://shop.test/".into(),
            outcome: HttpOutcome::Answered(r),
        },
        fingerprint: meta.map(|m| Fingerprint {
            sha: sha(m),
            source: "HTML <meta name=\"build-sha\">".into(),
            build_date: None,
            image_tag: None,
            environment: None,
            confidence: Confidence::Convention,
            pin: None,
        }),
        assets: assets
            .iter()
            .map(|(u, s, h)| AssetProbe {
                url: (*u).into(),
                kind: AssetKind::Script,
                status: s.clone(),
                content_type: Some("text/javascript".into()),
                hashed: *h,
            })
            .collect(),
    }
}

fn failed(f: TransportFailure) -> HttpEvidence {
    HttpEvidence {
        url: "http://shop.test/api/build-info".into(),
        outcome: HttpOutcome::Failed(f),
    }
}

/// One case: a name, a change to the healthy observations, the verdict, and a phrase the hint
/// must contain.
fn check(
    name: &str,
    change: impl FnOnce(&mut Observations),
    verdict: Verdict,
    hint_has: &str,
) -> Report {
    let mut obs = base();
    change(&mut obs);
    let report = decide(&obs);
    assert_eq!(report.verdict, verdict, "{name}: {report:#?}");
    assert!(
        report.hint.contains(hint_has),
        "{name}: hint {:?} lacks {hint_has:?}",
        report.hint
    );
    report
}

#[test]
fn live() {
    let r = check(
        "healthy",
        |_| {},
        Verdict::Live,
        "serves b7c1e2f (the head of main)",
    );
    assert_eq!(r.live_sha, Some(sha(NEW)));
    assert_eq!(r.expected_sha, Some(sha(NEW)));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.checks.iter().all(|c| c.ok), "{:?}", r.checks);
    assert_eq!(
        r.ci.as_ref().and_then(|c| c.conclusion.as_deref()),
        Some("success")
    );
    check(
        "short live sha matches the full expected",
        |o| o.build_info = vec![probe("b7c1e2f")],
        Verdict::Live,
        "b7c1e2f",
    );
    check(
        "case-insensitive",
        |o| o.build_info = vec![probe(&NEW.to_uppercase())],
        Verdict::Live,
        "",
    );
}

#[test]
fn down() {
    check(
        "502",
        |o| o.build_info[0].http = http(502),
        Verdict::Down,
        "no healthy upstream",
    );
    check(
        "503 on health",
        |o| o.health = Some(HealthProbe::unread(http(503))),
        Verdict::Down,
        "no healthy upstream",
    );
    check(
        "500",
        |o| o.build_info[0].http = http(500),
        Verdict::Down,
        "answered 500",
    );
    check(
        "timeout",
        |o| o.build_info[0].http = failed(TransportFailure::Timeout { after_ms: 10_000 }),
        Verdict::Down,
        "no answer within 10 s",
    );
    check(
        "redirect loop",
        |o| o.build_info[0].http = failed(TransportFailure::TooManyRedirects { limit: 5 }),
        Verdict::Down,
        "more than 5 redirects",
    );
    // Down comes before unverifiable: one replica refuses, another has no fingerprint.
    check(
        "down before unverifiable",
        |o| {
            o.build_info = vec![probe(NEW), probe(NEW)];
            o.build_info[0].fingerprint = Err("`git_sha` is \"unknown\"".into());
            o.build_info[1].http = failed(TransportFailure::Connect {
                detail: "connection refused".into(),
            });
        },
        Verdict::Down,
        "1 of 2 requests",
    );
    check(
        "frontend 502",
        |o| {
            let mut f = frontend(Some(NEW), &[], "no-cache");
            f.http = http(502);
            o.frontend = Some(f);
        },
        Verdict::Down,
        "no healthy upstream",
    );
}

#[test]
fn unverifiable() {
    let r = check(
        "unknown sha",
        |o| o.build_info[0].fingerprint = Err("`git_sha` is \"unknown\"".into()),
        Verdict::Unverifiable,
        "bake the commit SHA into the image",
    );
    assert!(r.hint.contains("\"unknown\""), "{}", r.hint);
    assert_eq!(r.live_sha, None);
    check(
        "html error page with 200",
        |o| {
            o.build_info[0].http.outcome = HttpOutcome::Answered(Response {
                first_bytes: "<!DOCTYPE html><title>Error</title>".into(),
                ..ok_response(200, "text/html")
            });
            o.build_info[0].fingerprint = Err("an HTML page without a build-sha meta tag".into());
        },
        Verdict::Unverifiable,
        "received 200 text/html, 80 bytes, starting \"<!DOCTYPE html>",
    );
    check(
        "404",
        |o| {
            o.build_info[0].http = http(404);
            o.build_info[0].fingerprint = Err("not JSON".into());
        },
        Verdict::Unverifiable,
        "is the build_info_url right",
    );
    check(
        "GitHub rate limited",
        |o| {
            o.expected = Expected::Unknown {
                reason: "GitHub rate limit exhausted until 12:40:00 UTC".into(),
            }
        },
        Verdict::Unverifiable,
        "rate limit exhausted until 12:40:00 UTC",
    );
    check(
        "unverifiable before env_mismatch",
        |o| {
            o.policy.expect_environment = Some("staging".into());
            o.expected = Expected::Unknown {
                reason: "branch main not found in acme/shop".into(),
            };
        },
        Verdict::Unverifiable,
        "branch main not found",
    );
}

#[test]
fn env_mismatch() {
    check(
        "staging env file on production",
        |o| {
            o.policy.expect_environment = Some("production".into());
            o.build_info[0] = probe(NEW);
            if let Ok(fp) = &mut o.build_info[0].fingerprint {
                fp.environment = Some("staging".into());
            }
        },
        Verdict::EnvMismatch,
        "environment file was overwritten",
    );
    check(
        "matching case-insensitively is fine",
        |o| o.policy.expect_environment = Some("Production".into()),
        Verdict::Live,
        "",
    );
    let r = check(
        "no field to compare warns",
        |o| {
            o.policy.expect_environment = Some("production".into());
            if let Ok(fp) = &mut o.build_info[0].fingerprint {
                fp.environment = None;
            }
        },
        Verdict::Live,
        "",
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("no environment field")),
        "{:?}",
        r.warnings
    );
    check(
        "env_mismatch before mixed",
        |o| {
            o.policy.expect_environment = Some("production".into());
            o.build_info = vec![probe(NEW), probe(OLD)];
            if let Ok(fp) = &mut o.build_info[1].fingerprint {
                fp.environment = Some("staging".into());
            }
        },
        Verdict::EnvMismatch,
        "\"staging\"",
    );
}

#[test]
fn mixed() {
    let r = check(
        "one old replica after grace",
        |o| {
            o.policy.replicas = 3;
            o.build_info = vec![probe(NEW), probe(OLD), probe(NEW)];
        },
        Verdict::Mixed,
        "b7c1e2f (2 probes, the expected SHA), a3f9d1c (1 probe, the previous push)",
    );
    assert_eq!(r.seen.len(), 2);
    assert_eq!(r.live_sha, None);
    check(
        "within grace it is still deploying",
        |o| {
            o.build_info = vec![probe(NEW), probe(OLD), probe(NEW)];
            o.ci_runs = vec![run("CI", "completed", Some("success"), 6, Some(2))];
        },
        Verdict::Deploying,
        "rolling out b7c1e2f",
    );
    check(
        "two old versions, none expected",
        |o| o.build_info = vec![probe(OLD), probe(OLDER)],
        Verdict::Mixed,
        "a3f9d1c (1 probe, the previous push), 9e8d7c6 (1 probe)",
    );
}

#[test]
fn stale_frontend() {
    fn asset(u: &str) -> (&str, Result<u16, String>, bool) {
        (u, Ok(200), true)
    }
    check(
        "old page fingerprint",
        |o| {
            o.frontend = Some(frontend(
                Some(OLD),
                &[asset("/assets/app.3f9a1c2b.js")],
                "no-cache",
            ))
        },
        Verdict::StaleFrontend,
        "carries a3f9d1c",
    );
    check(
        "missing hashed asset",
        |o| {
            o.frontend = Some(frontend(
                Some(NEW),
                &[
                    asset("/assets/app.3f9a1c2b.js"),
                    ("/assets/app.77aa88bb.css", Ok(404), true),
                ],
                "no-cache",
            ))
        },
        Verdict::StaleFrontend,
        "/assets/app.77aa88bb.css → 404",
    );
    let r = check(
        "a fresh page is live, with warnings for caching and unhashed assets",
        |o| {
            o.frontend = Some(frontend(
                Some(NEW),
                &[("/app.js", Ok(200), false)],
                "public, max-age=3600",
            ))
        },
        Verdict::Live,
        "",
    );
    let want = [
        "frontend HTML is cacheable: Cache-Control: public, max-age=3600",
        "assets without a content hash in the name: /app.js",
    ];
    for w in want {
        assert!(
            r.warnings.iter().any(|x| x.contains(w)),
            "{w} missing from {:?}",
            r.warnings
        );
    }
    check(
        "stale frontend only matters when the backend is live",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.frontend = Some(frontend(Some(OLD), &[], "no-cache"));
        },
        Verdict::Phantom,
        "",
    );
}

#[test]
fn live_sha_differs() {
    let r = check(
        "ci failed",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![run("CI", "completed", Some("failure"), 20, Some(15))];
        },
        Verdict::CiFailed,
        "CI failure for b7c1e2f (CI)",
    );
    assert_eq!(r.ci.unwrap().conclusion.as_deref(), Some("failure"));
    for conclusion in ["cancelled", "timed_out", "startup_failure"] {
        check(
            conclusion,
            |o| {
                o.build_info = vec![probe(OLD)];
                o.ci_runs = vec![run("CI", "completed", Some(conclusion), 20, Some(15))];
            },
            Verdict::CiFailed,
            conclusion,
        );
    }
    check(
        "a failed workflow beats a pending one",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![
                run("CI", "in_progress", None, 5, None),
                run("Lint", "completed", Some("failure"), 5, Some(4)),
            ];
        },
        Verdict::CiFailed,
        "(Lint)",
    );
    check(
        "a re-run that passed supersedes the failure",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![
                run("CI", "completed", Some("failure"), 28, Some(26)),
                run("CI", "completed", Some("success"), 25, Some(20)),
            ];
        },
        Verdict::Phantom,
        "",
    );
    check(
        "ci missing after ci_timeout",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![];
        },
        Verdict::CiMissing,
        "no CI run for b7c1e2f 30 min after it was pushed",
    );
    check(
        "no run yet, push younger than ci_timeout",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Branch {
                    first_seen: mins_ago(3),
                    previous: Some(sha(OLD)),
                },
            };
        },
        Verdict::Deploying,
        "waiting for CI to start",
    );
    check(
        "ci queued",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![run("CI", "queued", None, 1, None)];
        },
        Verdict::Deploying,
        "CI is queued",
    );
    check(
        "ci in progress",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![run("CI", "in_progress", None, 1, None)];
        },
        Verdict::Deploying,
        "CI is in progress",
    );
    check(
        "ci passed within grace",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![run("CI", "completed", Some("success"), 8, Some(4))];
        },
        Verdict::Deploying,
        "within the 10 min grace period",
    );
    let missing = |o: &mut Observations| {
        o.build_info = vec![probe(OLD)];
        o.image = Some(ImageCheck {
            reference: format!("ghcr.io/acme/shop:{NEW}"),
            asked: format!("HEAD https://ghcr.io/v2/acme/shop/manifests/{NEW}"),
            answer: "HTTP 404 Not Found".into(),
            auth: "anonymous".into(),
            outcome: ImageOutcome::Missing,
        });
    };
    check(
        "image missing",
        missing,
        Verdict::ImageMissing,
        "although CI passed for b7c1e2f: the image was never pushed, or the push failed silently",
    );
    let r = check(
        "image missing with --expect: CI was not read, so the hint does not claim it passed",
        |o| {
            missing(o);
            o.ci_runs = vec![];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Cli {
                    deadline_passed: true,
                },
            };
        },
        Verdict::ImageMissing,
        "is not in the registry: the image was never pushed",
    );
    assert!(!r.hint.contains("CI passed"), "{}", r.hint);
    check(
        "image missing comes before deploying",
        |o| {
            missing(o);
            o.ci_runs = vec![run("CI", "completed", Some("success"), 3, Some(1))];
        },
        Verdict::ImageMissing,
        "",
    );
    check(
        "a registry error is not evidence of a missing image",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.image = Some(ImageCheck {
                reference: "r".into(),
                asked: "HEAD https://r/v2/r/manifests/latest".into(),
                answer: "HTTP 401 Unauthorized".into(),
                auth: "anonymous".into(),
                outcome: ImageOutcome::Unauthorized {
                    detail: "could not check: credentials needed for r".into(),
                },
            });
        },
        Verdict::Phantom,
        "",
    );
}

/// Assets answered with a type that cannot be what the page asks for are missing: the
/// single-page-app fallback answers a deleted bundle `200 text/html`.
#[test]
fn assets_must_be_what_the_page_asks_for() {
    fn with(
        kind: AssetKind,
        url: &str,
        status: Result<u16, String>,
        ct: Option<&str>,
    ) -> impl FnOnce(&mut Observations) {
        let asset = AssetProbe {
            url: url.into(),
            kind,
            status,
            content_type: ct.map(str::to_string),
            hashed: true,
        };
        move |o: &mut Observations| {
            let mut f = frontend(Some(NEW), &[], "no-cache");
            f.assets = vec![asset];
            o.frontend = Some(f);
        }
    }
    let r = check(
        "SPA fallback for a missing script",
        with(
            AssetKind::Script,
            "/assets/index-BdE8x9Qa.js",
            Ok(200),
            Some("text/html"),
        ),
        Verdict::StaleFrontend,
        "/assets/index-BdE8x9Qa.js → 200 text/html, not a script (an HTML page answered in its place",
    );
    let assets = r
        .checks
        .iter()
        .find(|c| c.name == "assets")
        .expect("assets check");
    assert!(
        !assets.ok && assets.detail.contains("1 of 1 assets fail"),
        "{assets:?}"
    );
    check(
        "SPA fallback for a missing stylesheet",
        with(
            AssetKind::Stylesheet,
            "/assets/index-Cq4n6dxZ.css",
            Ok(200),
            Some("text/html"),
        ),
        Verdict::StaleFrontend,
        "not a stylesheet",
    );
    check(
        "a JSON error answered 200 for a script",
        with(
            AssetKind::Script,
            "/app.3f9a1c2b.js",
            Ok(200),
            Some("application/json"),
        ),
        Verdict::StaleFrontend,
        "200 application/json, not a script",
    );
    check(
        "a stylesheet served as text/plain is refused by browsers",
        with(
            AssetKind::Stylesheet,
            "/app.3f9a1c2b.css",
            Ok(200),
            Some("text/plain"),
        ),
        Verdict::StaleFrontend,
        "200 text/plain, not a stylesheet",
    );
    for (kind, ct) in [
        (AssetKind::Script, Some("text/javascript")),
        (AssetKind::Script, Some("application/javascript")),
        (AssetKind::Script, Some("application/octet-stream")),
        (AssetKind::Script, None),
        (AssetKind::Stylesheet, Some("text/css")),
        (AssetKind::Stylesheet, None),
    ] {
        check(
            &format!("{kind:?} as {ct:?} can load"),
            with(kind, "/a.3f9a1c2b.x", Ok(200), ct),
            Verdict::Live,
            "",
        );
    }
    check(
        "a transport failure on an asset",
        with(
            AssetKind::Script,
            "/a.3f9a1c2b.js",
            Err("timed out after 10000 ms".into()),
            None,
        ),
        Verdict::StaleFrontend,
        "/a.3f9a1c2b.js → timed out",
    );
}

/// A build-info URL that answers the page (an SPA fallback catching `/api/build-info`) reads
/// the frontend's SHA: live, but the report says the SHA may say nothing about the backend.
#[test]
fn build_info_answered_by_an_html_page_is_flagged() {
    let html_probe = |live: &str| {
        let mut p = probe(live);
        if let Ok(fp) = &mut p.fingerprint {
            fp.source = "HTML <meta name=\"build-sha\">".into();
        }
        p
    };
    let r = check(
        "build-info is an HTML page while a frontend is configured",
        |o| {
            o.build_info = vec![html_probe(NEW)];
            o.frontend = Some(frontend(Some(NEW), &[], "no-cache"));
        },
        Verdict::Live,
        "",
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("answered an HTML page")
                && w.contains("says nothing about the backend")),
        "{:?}",
        r.warnings
    );
    let r = check(
        "a JSON build-info beside the same frontend is not flagged",
        |o| o.frontend = Some(frontend(Some(NEW), &[], "no-cache")),
        Verdict::Live,
        "",
    );
    assert!(
        !r.warnings.iter().any(|w| w.contains("HTML page")),
        "{:?}",
        r.warnings
    );
}

/// The cache-busting probe is an entry of the checklist, and when the origin behind a cache
/// fails while the cache keeps answering, the verdict is `down` with that cause.
#[test]
fn caches_in_front() {
    let cached = |sha: &str, header: &str, stale: bool| {
        let mut p = probe(sha);
        if let HttpOutcome::Answered(r) = &mut p.http.outcome {
            r.cache.hit_header = Some(header.into());
            r.cache.stale = stale;
            r.cache.age = Some(90);
        }
        p
    };
    let r = check(
        "the origin crashed and nginx serves its stale copy",
        |o| {
            o.build_info = vec![cached(OLD, "X-Cache-Status: STALE", true)];
            o.cache_bust = Some(BuildInfoProbe {
                http: http(502),
                fingerprint: Err("answered HTTP 502 Bad Gateway".into()),
                address: None,
            });
        },
        Verdict::Down,
        "still answers a3f9d1c from a cache (Age: 90, X-Cache-Status: STALE; a stale copy), but a request that bypasses caches answered 502: the origin behind the cache is failing",
    );
    assert!(!r.hint.contains("image tag"), "{}", r.hint);
    let bust = r
        .checks
        .iter()
        .find(|c| c.name == "cache_bust")
        .expect("cache_bust check");
    assert!(!bust.ok && bust.detail.starts_with("502"), "{bust:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w
                .contains("build-info was served from a cache (Age: 90, X-Cache-Status: STALE")),
        "{:?}",
        r.warnings
    );
    check(
        "a stale copy of the new build hides the crash of the origin: not live",
        |o| {
            o.build_info = vec![cached(NEW, "X-Cache-Status: STALE", true)];
            o.cache_bust = Some(BuildInfoProbe {
                http: http(502),
                fingerprint: Err("answered HTTP 502 Bad Gateway".into()),
                address: None,
            });
        },
        Verdict::Down,
        "still answers b7c1e2f from a cache",
    );
    let r = check(
        "a cached copy that agrees with the origin is live",
        |o| {
            o.build_info = vec![cached(NEW, "X-Cache: HIT", false)];
            o.cache_bust = Some(probe(NEW));
        },
        Verdict::Live,
        "",
    );
    let bust = r
        .checks
        .iter()
        .find(|c| c.name == "cache_bust")
        .expect("cache_bust check");
    assert!(bust.ok, "{bust:?}");
    check(
        "the busted request cannot connect either",
        |o| {
            o.build_info = vec![cached(OLD, "X-Cache: HIT", false)];
            o.cache_bust = Some(BuildInfoProbe {
                http: failed(TransportFailure::Timeout { after_ms: 10_000 }),
                fingerprint: Err("no answer".into()),
                address: None,
            });
        },
        Verdict::Down,
        "bypasses caches no answer within 10 s: the origin behind the cache is failing",
    );
    let r = check(
        "Varnish holds the old answer; bypassing it gives the new one",
        |o| {
            o.build_info = vec![cached(OLD, "X-Varnish: 32770 3", false)];
            o.cache_bust = Some(probe(NEW));
        },
        Verdict::Phantom,
        "a cache layer serves the old answer",
    );
    let bust = r
        .checks
        .iter()
        .find(|c| c.name == "cache_bust")
        .expect("cache_bust check");
    assert!(
        !bust.ok
            && bust
                .detail
                .contains("b7c1e2f while the ordinary request got a3f9d1c"),
        "{bust:?}"
    );
    let r = check(
        "no cache: the busted request sees the same old SHA",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.cache_bust = Some(probe(OLD));
        },
        Verdict::Phantom,
        "the old container is still serving",
    );
    let bust = r
        .checks
        .iter()
        .find(|c| c.name == "cache_bust")
        .expect("cache_bust check");
    assert!(
        bust.ok && bust.detail.contains("no cache in the way"),
        "{bust:?}"
    );
}

#[test]
fn phantom() {
    let r = check(
        "previous push still live",
        |o| o.build_info = vec![probe(OLD)],
        Verdict::Phantom,
        "production still serves a3f9d1c (the previous push) 25 min after CI passed for b7c1e2f: the old container is still serving",
    );
    assert!(r.hint.contains("docker compose up -d --force-recreate"));
    assert_eq!(r.live_sha, Some(sha(OLD)));
    check(
        "an older build, not the previous push",
        |o| o.build_info = vec![probe(OLDER)],
        Verdict::Phantom,
        "the deploy did not replace the running build",
    );
    check(
        "cache layer: a cache-busting probe sees the new SHA",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.cache_bust = Some(probe(NEW));
        },
        Verdict::Phantom,
        "a cache layer serves the old answer",
    );
    check(
        "build date older than the CI run: the tag points to an old build",
        |o| {
            let mut p = probe(OLDER);
            if let Ok(fp) = &mut p.fingerprint {
                fp.build_date = Some(mins_ago(300));
            }
            o.build_info = vec![p];
        },
        Verdict::Phantom,
        "the image tag still points to an old build",
    );
    check(
        "follows deployments",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Deployment {
                    success_at: mins_ago(20),
                },
            };
        },
        Verdict::Phantom,
        "GitHub reports the deployment of b7c1e2f successful 20 min ago",
    );
    check(
        "follows deployments, within grace",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Deployment {
                    success_at: mins_ago(2),
                },
            };
        },
        Verdict::Deploying,
        "",
    );
    check(
        "--expect after --wait ran out",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Cli {
                    deadline_passed: true,
                },
            };
        },
        Verdict::Phantom,
        "still serves a3f9d1c instead of b7c1e2f",
    );
    check(
        "--expect while still waiting",
        |o| {
            o.build_info = vec![probe(OLD)];
            o.ci_runs = vec![];
            o.expected = Expected::Known {
                sha: sha(NEW),
                basis: ExpectedBasis::Cli {
                    deadline_passed: false,
                },
            };
        },
        Verdict::Deploying,
        "waiting for production to serve b7c1e2f",
    );
}

#[test]
fn warnings_do_not_change_the_verdict() {
    let r = check(
        "deployed by hand although CI failed",
        |o| o.ci_runs = vec![run("CI", "completed", Some("failure"), 20, Some(15))],
        Verdict::Live,
        "",
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("deployed by hand")),
        "{:?}",
        r.warnings
    );
    let r = check(
        "served from a cache",
        |o| {
            if let HttpOutcome::Answered(resp) = &mut o.build_info[0].http.outcome {
                resp.cache.age = Some(120);
            }
        },
        Verdict::Live,
        "",
    );
    assert_eq!(
        r.warnings,
        ["build-info was served from a cache (Age: 120)"]
    );
    let r = check(
        "build date older than the CI run for the live SHA",
        |o| {
            if let Ok(fp) = &mut o.build_info[0].fingerprint {
                fp.build_date = Some(mins_ago(300));
            }
        },
        Verdict::Live,
        "",
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("older than the CI run")),
        "{:?}",
        r.warnings
    );
    let r = check(
        "notes pass through",
        |o| o.notes = vec!["GitHub is read without a token".into()],
        Verdict::Live,
        "",
    );
    assert_eq!(r.warnings, ["GitHub is read without a token"]);
}

#[test]
fn verdict_names_and_alerts() {
    for v in Verdict::ALL {
        assert_eq!(Verdict::parse(v.as_str()), Some(v));
        assert_eq!(
            v.is_alert(),
            !matches!(v, Verdict::Live | Verdict::Deploying)
        );
    }
    assert_eq!(Verdict::parse("phantom_deploy"), None);
}

#[test]
fn human_durations() {
    let cases = [
        (0, "0 s"),
        (45, "45 s"),
        (14 * 60 + 5, "14 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
    ];
    for (secs, want) in cases {
        assert_eq!(human(Duration::from_secs(secs)), want);
    }
    assert_eq!(human(Duration::from_millis(500)), "500 ms");
}

/// A build-info probe sent to one address of the host (`each_address`).
fn probe_at(live: &str, address: &str) -> BuildInfoProbe {
    BuildInfoProbe {
        address: Some(address.into()),
        ..probe(live)
    }
}

#[test]
fn every_address_behind_a_name() {
    let r = check(
        "the IPv6 address still serves the old build",
        |o| o.build_info = vec![probe_at(NEW, "127.0.0.1"), probe_at(OLD, "::1")],
        Verdict::Mixed,
        "b7c1e2f at 127.0.0.1 (1 probe, the expected SHA), a3f9d1c at ::1 (1 probe, the \
         previous push)",
    );
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.starts_with(&["build_info[127.0.0.1]", "build_info[::1]"]),
        "{names:?}"
    );
    assert_eq!(r.seen[0].addresses, ["127.0.0.1"]);
    assert_eq!(r.seen[1].addresses, ["::1"]);
    let replicas = r.checks.iter().find(|c| c.name == "replicas").unwrap();
    assert!(!replicas.ok);
    assert!(replicas.detail.contains("a3f9d1c at ::1"), "{replicas:?}");

    check(
        "several addresses per version, most-seen first",
        |o| {
            o.build_info = vec![
                probe_at(OLD, "10.0.0.1"),
                probe_at(NEW, "10.0.0.2"),
                probe_at(OLD, "10.0.0.3"),
                probe_at(OLDER, "2001:db8::7"),
                probe_at(OLD, "10.0.0.4"),
            ]
        },
        Verdict::Mixed,
        "a3f9d1c at 10.0.0.1, 10.0.0.3 and 10.0.0.4 (3 probes, the previous push), b7c1e2f at \
         10.0.0.2 (1 probe, the expected SHA), 9e8d7c6 at 2001:db8::7 (1 probe)",
    );

    let r = check(
        "every address serves the expected SHA",
        |o| o.build_info = vec![probe_at(NEW, "127.0.0.1"), probe_at(NEW, "::1")],
        Verdict::Live,
        "serves b7c1e2f",
    );
    assert_eq!(r.seen.len(), 1);
    assert_eq!(r.seen[0].addresses, ["127.0.0.1", "::1"]);
    assert_eq!(r.seen[0].probes, 2);
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.starts_with(&["build_info[127.0.0.1]", "build_info[::1]"]),
        "{names:?}"
    );

    let r = check(
        "one address is named even when it is the only one",
        |o| o.build_info = vec![probe_at(NEW, "192.0.2.10")],
        Verdict::Live,
        "serves b7c1e2f",
    );
    assert_eq!(r.checks[0].name, "build_info[192.0.2.10]");

    check(
        "one address refusing connections is down, and named",
        |o| {
            o.build_info = vec![probe_at(NEW, "127.0.0.1"), probe_at(NEW, "::1")];
            o.build_info[1].http = failed(TransportFailure::Connect {
                detail: "connection refused".into(),
            });
        },
        Verdict::Down,
        "1 of 2 requests",
    );

    // Without addresses the counts-only wording is unchanged.
    let r = check(
        "replicas without addresses",
        |o| o.build_info = vec![probe(NEW), probe(OLD)],
        Verdict::Mixed,
        "b7c1e2f (1 probe, the expected SHA), a3f9d1c (1 probe, the previous push)",
    );
    assert!(r.seen.iter().all(|s| s.addresses.is_empty()));
    assert_eq!(r.checks[0].name, "build_info[1]");
}

// ----- Detailed health and the disk ---------------------------------------------------------

fn health_probe(
    status: u16,
    overall: Option<(&str, HealthStatus)>,
    components: &[(&str, &str, Option<HealthStatus>, Option<&str>)],
    disk: Option<DiskUsage>,
) -> HealthProbe {
    HealthProbe {
        http: HttpEvidence {
            url: "http://shop.test/actuator/health".into(),
            outcome: HttpOutcome::Answered(ok_response(status, "application/json")),
        },
        status: overall.map(|(_, s)| s),
        reported: overall.map(|(w, _)| w.to_string()),
        components: components
            .iter()
            .map(|(name, word, status, detail)| HealthComponent {
                name: (*name).into(),
                status: *status,
                reported: (*word).into(),
                detail: detail.map(Into::into),
            })
            .collect(),
        disk,
    }
}

fn data_disk(free_gb: f64, threshold: u64) -> DiskUsage {
    let total = 100_000_000_000u64;
    let free = (free_gb * 1e9) as u64;
    DiskUsage {
        name: "/data".into(),
        free_bytes: Some(free),
        total_bytes: Some(total),
        threshold_bytes: Some(threshold),
        used_percent: Some((total - free) as f64 * 100.0 / total as f64),
        status: Some(HealthStatus::Up),
    }
}

fn check_named<'a>(r: &'a Report, name: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check: {:?}", r.checks))
}

const UP: Option<HealthStatus> = Some(HealthStatus::Up);
const WARN: Option<HealthStatus> = Some(HealthStatus::Warn);
const DOWN: Option<HealthStatus> = Some(HealthStatus::Down);

#[test]
fn a_service_that_says_it_is_down_is_down_whatever_its_http_status() {
    // Spring Boot answers 503 for DOWN: the hint is the service's own words, not "no healthy
    // upstream" (the proxy is fine; the app answered).
    let spring = health_probe(
        503,
        Some(("DOWN", HealthStatus::Down)),
        &[
            ("db", "DOWN", DOWN, Some("Connection refused")),
            ("diskSpace", "UP", UP, None),
        ],
        None,
    );
    let r = check(
        "Spring DOWN with 503",
        |o| o.health = Some(spring),
        Verdict::Down,
        "production reports itself DOWN: db DOWN (Connection refused)",
    );
    assert!(!r.hint.contains("no healthy upstream"), "{}", r.hint);
    let h = check_named(&r, "health");
    assert!(!h.ok);
    assert_eq!(
        h.detail,
        "503 application/json in 41 ms: DOWN — db DOWN (Connection refused), diskSpace UP"
    );

    // The IETF format may say `fail` with 200.
    let ietf = health_probe(
        200,
        Some(("fail", HealthStatus::Down)),
        &[("cassandra:connections", "fail", DOWN, Some("timeout"))],
        None,
    );
    check(
        "IETF fail with 200",
        |o| o.health = Some(ietf),
        Verdict::Down,
        "answered 200: production reports itself fail: cassandra:connections fail (timeout)",
    );

    let oos = health_probe(503, Some(("OUT_OF_SERVICE", HealthStatus::Down)), &[], None);
    let r = check(
        "OUT_OF_SERVICE",
        |o| o.health = Some(oos),
        Verdict::Down,
        "reports itself OUT_OF_SERVICE",
    );
    assert!(!r.hint.contains("no healthy upstream"), "{}", r.hint);

    // A build-info that cannot be reached still comes first.
    let r = check(
        "build-info down and health DOWN",
        |o| {
            o.build_info[0].http = http(502);
            o.health = Some(health_probe(
                503,
                Some(("DOWN", HealthStatus::Down)),
                &[],
                None,
            ));
        },
        Verdict::Down,
        "no healthy upstream",
    );
    assert!(
        r.hint.starts_with("http://shop.test/api/build-info"),
        "{}",
        r.hint
    );
}

#[test]
fn a_failing_component_of_a_degraded_service_is_a_warning() {
    let degraded = health_probe(
        200,
        Some(("degraded", HealthStatus::Warn)),
        &[
            ("cache", "ok", UP, None),
            ("database", "down", DOWN, Some("connection refused")),
        ],
        None,
    );
    let r = check("degraded", |o| o.health = Some(degraded), Verdict::Live, "");
    assert_eq!(
        r.warnings,
        ["the health of production says degraded but reports database down (connection refused)"]
    );
    let h = check_named(&r, "health");
    assert!(!h.ok, "{h:?}");
    assert_eq!(
        h.detail,
        "200 application/json in 41 ms: degraded — database down (connection refused), cache ok"
    );

    // Degraded with nothing named: still said.
    let r = check(
        "degraded alone",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("Degraded", HealthStatus::Warn)),
                &[],
                None,
            ))
        },
        Verdict::Live,
        "",
    );
    assert_eq!(r.warnings, ["the health of production says Degraded"]);

    // UP overall with a warning component (the IETF draft's own example).
    let r = check(
        "pass with warn",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("pass", HealthStatus::Up)),
                &[
                    ("cpu:utilization", "warn", WARN, None),
                    ("uptime", "pass", UP, None),
                ],
                None,
            ))
        },
        Verdict::Live,
        "",
    );
    assert_eq!(
        r.warnings,
        ["the health of production says pass but reports cpu:utilization warn"]
    );
}

#[test]
fn a_healthy_health_body_is_an_ok_check_without_warnings() {
    let up = health_probe(
        200,
        Some(("UP", HealthStatus::Up)),
        &[
            ("db", "UP", UP, None),
            ("ping", "UP", UP, None),
            ("x", "UNKNOWN", None, None),
        ],
        None,
    );
    let r = check("all up", |o| o.health = Some(up), Verdict::Live, "");
    let h = check_named(&r, "health");
    assert!(h.ok, "{h:?}");
    assert_eq!(
        h.detail,
        "200 application/json in 41 ms: UP — x UNKNOWN, db UP, ping UP"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.checks.iter().all(|c| c.name != "disk"));

    // A body that says nothing readable: the HTTP answer is the evidence, as before.
    let r = check(
        "unread",
        |o| o.health = Some(HealthProbe::unread(http(200))),
        Verdict::Live,
        "",
    );
    let h = check_named(&r, "health");
    assert!(h.ok);
    assert_eq!(h.detail, "200 application/json in 41 ms");

    // Many components: the failing ones are named first, the rest counted.
    let many: Vec<(String, Option<HealthStatus>)> = (0..12)
        .map(|i| (format!("c{i}"), if i == 11 { DOWN } else { UP }))
        .collect();
    let comps: Vec<(&str, &str, Option<HealthStatus>, Option<&str>)> = many
        .iter()
        .map(|(n, s)| (n.as_str(), if s == &DOWN { "DOWN" } else { "UP" }, *s, None))
        .collect();
    let r = check(
        "many",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("UP", HealthStatus::Up)),
                &comps,
                None,
            ))
        },
        Verdict::Live,
        "",
    );
    let h = check_named(&r, "health");
    assert!(h.detail.contains(": UP — c11 DOWN, c0 UP"), "{}", h.detail);
    assert!(h.detail.ends_with("c6 UP, and 4 more"), "{}", h.detail);
}

#[test]
fn a_disk_running_out_is_a_warning_naming_it_and_its_figures() {
    let r = check(
        "disk above 90 %",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("UP", HealthStatus::Up)),
                &[("diskSpace", "UP", UP, None)],
                Some(data_disk(6.1, 10_485_760)),
            ))
        },
        Verdict::Live,
        "",
    );
    assert_eq!(
        r.warnings,
        [
            "disk almost full on production: /data 94 % used (6.1 GB free of 100 GB) — more than \
          90 % used; deploys and writes will fail once it is full"
        ]
    );
    let disk = check_named(&r, "disk");
    assert!(!disk.ok);
    assert_eq!(
        disk.detail,
        "/data 94 % used (6.1 GB free of 100 GB) — more than 90 % used"
    );
    // The health check itself passed: the service says UP.
    assert!(check_named(&r, "health").ok);

    // Below the service's own threshold, whatever the percentage.
    let r = check(
        "below threshold",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("UP", HealthStatus::Up)),
                &[],
                Some(data_disk(40.0, 50_000_000_000)),
            ))
        },
        Verdict::Live,
        "",
    );
    assert!(
        r.warnings.iter().any(|w| w.contains(
            "/data 60 % used (40 GB free of 100 GB) — below the service's own threshold of 50 GB"
        )),
        "{:?}",
        r.warnings
    );

    // Plenty of room: an ok disk entry with the figures, no warning.
    let r = check(
        "disk fine",
        |o| {
            o.health = Some(health_probe(
                200,
                Some(("UP", HealthStatus::Up)),
                &[],
                Some(data_disk(60.0, 10_485_760)),
            ))
        },
        Verdict::Live,
        "",
    );
    let disk = check_named(&r, "disk");
    assert!(disk.ok);
    assert_eq!(disk.detail, "/data 40 % used (60 GB free of 100 GB)");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // Just above the limit is shown with a decimal, so it does not read "90 %".
    let r = check(
        "90.4 %",
        |o| {
            o.health = Some(health_probe(
                200,
                None,
                &[],
                Some(data_disk(9.6, 10_485_760)),
            ))
        },
        Verdict::Live,
        "",
    );
    assert_eq!(
        check_named(&r, "disk").detail,
        "/data 90.4 % used (9.6 GB free of 100 GB) — more than 90 % used"
    );
}
