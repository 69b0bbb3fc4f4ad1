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
        }),
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
        }),
        assets: assets
            .iter()
            .map(|(u, s, h)| AssetProbe {
                url: (*u).into(),
                status: s.clone(),
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
        |o| o.health = Some(http(503)),
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
            outcome: ImageOutcome::Missing,
        });
    };
    check(
        "image missing",
        missing,
        Verdict::ImageMissing,
        "image push failed silently",
    );
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
                outcome: ImageOutcome::Error("401".into()),
            });
        },
        Verdict::Phantom,
        "",
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
