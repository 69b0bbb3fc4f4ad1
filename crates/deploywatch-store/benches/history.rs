//! Benchmark of the store at scale: fills a temporary database with 1,000,000 stored checks
//! across 10 environments (2 projects × 5), then times `record_check` and `history` paging.
//!
//! Run: `cargo bench -p deploywatch-store --bench history` (release build; about a minute on
//! two cores). `DW_BENCH_CHECKS=100000` runs a smaller fill. Figures go to stdout.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use deploywatch_core::{Check, Report, Sha, Verdict};
use deploywatch_store::{HistoryCursor, HistoryFilter, PushRecord, Store};

const PROJECTS: [&str; 2] = ["shop", "blog"];
const ENVS: [&str; 5] = ["production", "staging", "preview-1", "preview-2", "canary"];
/// A new push reaches each environment every this many checks.
const DEPLOY_EVERY: u64 = 10;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

fn sha_of(n: u64) -> Sha {
    Sha::parse(&format!("{n:040x}")).unwrap()
}

/// Check `i` of an environment: the deploy of push `i / DEPLOY_EVERY` is `deploying` for two
/// checks, then `live`.
fn report(project: &str, env: &str, i: u64) -> Report {
    let deploy = i / DEPLOY_EVERY;
    let phase = i % DEPLOY_EVERY;
    let verdict = if phase < 2 {
        Verdict::Deploying
    } else {
        Verdict::Live
    };
    let live = if phase < 2 && deploy > 0 {
        deploy - 1
    } else {
        deploy
    };
    Report {
        project: project.into(),
        environment: env.into(),
        verdict,
        expected_sha: Some(sha_of(deploy)),
        live_sha: Some(sha_of(live)),
        ci: None,
        checks: vec![Check {
            name: "build_info".into(),
            ok: true,
            detail: "200 application/json in 41 ms".into(),
        }],
        warnings: vec![],
        hint: format!("{env} serves {}", sha_of(live).short()),
        checked_at: base() + TimeDelta::seconds(30 * i as i64),
        seen: vec![],
    }
}

/// Runs `f` `n` times; returns (median, max).
fn time<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    samples.sort();
    (samples[n / 2], samples[n - 1])
}

fn show(name: &str, (median, max): (Duration, Duration)) {
    println!(
        "{name:<58} median {:>9.1} µs   max {:>9.1} µs",
        us(median),
        us(max)
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = std::env::var("DW_BENCH_CHECKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let per_env = total / (PROJECTS.len() * ENVS.len()) as u64;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let mut store = Store::open(&path)?;

    // Fill: every check is a state change (`changed = true`), so every one is stored.
    println!(
        "filling {} checks ({per_env} per environment) into {}",
        per_env * 10,
        path.display()
    );
    let started = Instant::now();
    let mut lap = Instant::now();
    for i in 0..per_env {
        for project in PROJECTS {
            if i % DEPLOY_EVERY == 0 {
                store.record_push(&PushRecord {
                    project: project.into(),
                    branch: "main".into(),
                    sha: sha_of(i / DEPLOY_EVERY),
                    author: Some("bench".into()),
                    message: Some("a commit".into()),
                    seen_at: base() + TimeDelta::seconds(30 * i as i64),
                })?;
            }
            for env in ENVS {
                store.record_check(&report(project, env, i), true)?;
            }
        }
        if (i + 1) % (per_env / 5).max(1) == 0 {
            let n = (per_env / 5).max(1) * 10;
            println!(
                "  {:>8} checks stored, last {n} at {:>8.0} checks/s",
                (i + 1) * 10,
                n as f64 / lap.elapsed().as_secs_f64()
            );
            lap = Instant::now();
        }
    }
    let fill = started.elapsed();
    println!(
        "fill: {} checks in {:.1} s = {:.0} record_check/s (one transaction each, WAL, synchronous=NORMAL)",
        per_env * 10,
        fill.as_secs_f64(),
        (per_env * 10) as f64 / fill.as_secs_f64()
    );
    println!(
        "database size: {:.0} MiB",
        dir_size(dir.path()) as f64 / 1048576.0
    );

    let page = 50;
    let everything = HistoryFilter {
        limit: page,
        ..Default::default()
    };
    let first = store.history(&everything)?;
    // 3 events per deploy per environment (verdict to deploying, live change, verdict to
    // live) plus one push per deploy per project.
    println!("history events: {}", per_env / DEPLOY_EVERY * 32);
    assert_eq!(first.len(), page);

    // A cursor half way back in time: as deep as paging ever gets.
    let middle = HistoryCursor {
        at: base() + TimeDelta::seconds(30 * (per_env / 2) as i64),
        id: i64::MAX,
    };
    let shop = || Some("shop".to_string());
    let filters: Vec<(&str, HistoryFilter)> = vec![
        ("all", everything.clone()),
        (
            "project",
            HistoryFilter {
                project: shop(),
                ..everything.clone()
            },
        ),
        (
            "project + environment (+ pushes)",
            HistoryFilter {
                project: shop(),
                environment: Some("staging".into()),
                ..everything.clone()
            },
        ),
        (
            "environment only",
            HistoryFilter {
                environment: Some("staging".into()),
                include_project_events: false,
                ..everything.clone()
            },
        ),
        (
            "verdict = deploying",
            HistoryFilter {
                verdict: Some(Verdict::Deploying),
                ..everything.clone()
            },
        ),
        (
            "project + environment + verdict",
            HistoryFilter {
                project: shop(),
                environment: Some("canary".into()),
                verdict: Some(Verdict::Live),
                ..everything.clone()
            },
        ),
    ];
    println!("\nhistory, pages of {page} events:");
    for (name, f) in &filters {
        show(
            &format!("first page, {name}"),
            time(200, || store.history(f).unwrap()),
        );
        let deep = HistoryFilter {
            before: Some(middle),
            ..f.clone()
        };
        assert_eq!(store.history(&deep)?.len(), page);
        show(
            &format!("deep page (half way back), {name}"),
            time(200, || store.history(&deep).unwrap()),
        );
    }
    // Walking 100 consecutive pages from the middle, as a user scrolling would.
    let mut f = HistoryFilter {
        before: Some(middle),
        ..everything.clone()
    };
    let t = Instant::now();
    for _ in 0..100 {
        let events = store.history(&f)?;
        f.before = events.last().map(|e| e.cursor());
    }
    println!(
        "{:<58} {:>16.1} µs per page",
        "100 consecutive deep pages, all",
        us(t.elapsed()) / 100.0
    );

    println!("\nchecks of one environment, pages of {page}:");
    show(
        "first page",
        time(200, || store.checks("shop", "staging", None, page).unwrap()),
    );
    let deep_checks = store.checks("shop", "staging", None, 1)?[0].cursor();
    let deep_checks = deploywatch_store::CheckCursor {
        checked_at: deep_checks.checked_at - TimeDelta::seconds(30 * (per_env / 2) as i64),
        id: i64::MAX,
    };
    show(
        "deep page (half way back)",
        time(200, || {
            store
                .checks("shop", "staging", Some(deep_checks), page)
                .unwrap()
        }),
    );

    println!("\nrecord_check on the full database:");
    let mut i = per_env;
    show(
        "stored change (new verdict or SHA)",
        time(2000, || {
            i += 1;
            store
                .record_check(&report("shop", "production", i), true)
                .unwrap()
        }),
    );
    // Unchanged checks within the sample period only refresh the environment's state.
    let steady = report("shop", "production", i);
    let mut n = 0;
    show(
        "unchanged, not stored (env state refresh only)",
        time(2000, || {
            n += 1;
            let mut r = steady.clone();
            r.checked_at += TimeDelta::milliseconds(n);
            store.record_check(&r, false).unwrap()
        }),
    );
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
