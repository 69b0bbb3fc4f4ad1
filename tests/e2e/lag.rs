//! `deploywatch lag`: deploy-lag figures per environment from a database scripted through the
//! store, human and JSON, with `--project`, `--env` and `--since`; no config needed.

use chrono::{DateTime, TimeDelta, Utc};
use deploywatch_core::Sha;
use deploywatch_store::{LagStage, Store};
use serde_json::{Value, json};

use crate::harness::{Dw, Run, sha};

/// A deploy to script: where, when its push was first seen (seconds before now), and its
/// later stages in seconds after the push.
struct Deploy {
    project: &'static str,
    env: &'static str,
    name: &'static str,
    pushed_ago: i64,
    ci_after: Option<i64>,
    live_after: Option<i64>,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn d(
    project: &'static str,
    env: &'static str,
    name: &'static str,
    pushed_ago: i64,
    ci_after: Option<i64>,
    live_after: Option<i64>,
) -> Deploy {
    Deploy {
        project,
        env,
        name,
        pushed_ago,
        ci_after,
        live_after,
    }
}

/// The scripted history:
/// - shop/production, last 30 days: push → CI 240, 180, 300, 600, 200 s; CI → live 60, 240,
///   3600 s and one deploy by hand, live 8 min before CI was green; push → live 300, 420,
///   3900, 120 s; one deploy (2 h ago) not live yet. One more 40 days ago.
/// - shop/staging: one deploy an hour ago, 4m 12s to CI, 8 s more to live.
/// - storefront-api/production: no CI workflow, live 90 s after the push, 5 days ago.
fn history() -> Vec<Deploy> {
    vec![
        d("shop", "production", "p1", DAY, Some(240), Some(300)),
        d("shop", "production", "p2", 2 * DAY, Some(180), Some(420)),
        d("shop", "production", "p3", 3 * DAY, Some(300), Some(3900)),
        d("shop", "production", "p4", 10 * DAY, Some(600), Some(120)),
        d("shop", "production", "p5", 2 * HOUR, Some(200), None),
        d("shop", "production", "old", 40 * DAY, Some(10), Some(20)),
        d("shop", "staging", "s1", HOUR, Some(252), Some(260)),
        d(
            "storefront-api",
            "production",
            "a1",
            5 * DAY,
            None,
            Some(90),
        ),
    ]
}

fn scripted(deploys: &[Deploy]) -> Dw {
    let dw = Dw::new("");
    // `lag` reads only the database: no config file at all.
    std::fs::remove_file(&dw.config).unwrap();
    let mut store = Store::open(&dw.db).expect("database");
    let now = Utc::now();
    let at = |secs_ago: i64, after: i64| -> DateTime<Utc> {
        now - TimeDelta::seconds(secs_ago) + TimeDelta::seconds(after)
    };
    for dep in deploys {
        let sha = Sha::parse(&sha(dep.name)).unwrap();
        let mut mark = |stage, t| {
            store
                .mark_lag(dep.project, dep.env, &sha, stage, t)
                .unwrap()
        };
        mark(LagStage::Pushed, at(dep.pushed_ago, 0));
        if let Some(after) = dep.ci_after {
            mark(LagStage::CiGreen, at(dep.pushed_ago, after));
        }
        if let Some(after) = dep.live_after {
            mark(LagStage::FirstLive, at(dep.pushed_ago, after));
            mark(LagStage::AllReplicasLive, at(dep.pushed_ago, after + 5));
        }
    }
    dw
}

/// The cells of a table line: columns are at least two spaces apart, durations hold one.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn row<'a>(run: &'a Run, place: &str) -> Vec<&'a str> {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{place} ")))
        .unwrap_or_else(|| panic!("no line for {place}: {run:?}"));
    cells(line)
}

fn places(doc: &Value) -> Vec<String> {
    doc.as_array()
        .unwrap_or_else(|| panic!("not an array: {doc}"))
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["project"].as_str().unwrap(),
                e["environment"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn lag_summarises_each_environment_in_aligned_columns() {
    let dw = scripted(&history());
    let run = dw.run_async(&["lag"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert!(
        run.stdout
            .starts_with("Deploy lag over the last 30d (since "),
        "{run:?}"
    );

    // Sorted by project, then environment; the 40-day-old deploy is outside the default 30d.
    assert_eq!(
        row(&run, "shop/production"),
        [
            "shop/production",
            "5",
            // push → CI green: median, p90, worst, n
            "4m",
            "10m",
            "10m",
            "5",
            // CI green → live: the deploy by hand is left out
            "4m",
            "1h",
            "1h",
            "3",
            // push → live
            "5m",
            "1h 5m",
            "1h 5m",
            "4"
        ],
        "{run:?}"
    );
    assert_eq!(
        row(&run, "shop/staging"),
        [
            "shop/staging",
            "1",
            "4m 12s",
            "4m 12s",
            "4m 12s",
            "1",
            "8s",
            "8s",
            "8s",
            "1",
            "4m 20s",
            "4m 20s",
            "4m 20s",
            "1"
        ],
        "{run:?}"
    );
    assert_eq!(
        row(&run, "storefront-api/production"),
        [
            "storefront-api/production",
            "1",
            "-",
            "-",
            "-",
            "0",
            "-",
            "-",
            "-",
            "0",
            "1m 30s",
            "1m 30s",
            "1m 30s",
            "1"
        ],
        "{run:?}"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?}: {run:?}"))
    };
    let (header, first) = (at("environment "), at("shop/production "));
    assert!(
        header < first
            && first < at("shop/staging ")
            && at("shop/staging ") < at("storefront-api/"),
        "{run:?}"
    );
    assert!(
        lines[header - 1].contains("push → CI green")
            && lines[header - 1].contains("CI green → live")
            && lines[header - 1].contains("push → live"),
        "span titles over the columns: {run:?}"
    );
    assert_eq!(
        cells(lines[header]),
        [
            "environment",
            "deploys",
            "median",
            "p90",
            "worst",
            "n",
            "median",
            "p90",
            "worst",
            "n",
            "median",
            "p90",
            "worst",
            "n"
        ]
    );
    // Every cell is padded to its column: header and rows are the same width, and each
    // right-aligned column ends at the same place on every line.
    let table = &lines[header..header + 4];
    let width = |l: &str| l.chars().count();
    assert!(
        table.iter().all(|l| width(l) == width(table[0])),
        "columns wander:\n{}",
        table.join("\n")
    );
    let ends = |l: &str| -> Vec<usize> {
        let chars: Vec<char> = l.chars().collect();
        (1..=chars.len())
            .filter(|&i| {
                chars[i - 1] != ' '
                    && chars.get(i).is_none_or(|c| *c == ' ')
                    && chars.get(i + 1).is_none_or(|c| *c == ' ')
            })
            .collect()
    };
    let header_ends = ends(table[0]);
    for l in &table[1..] {
        let e = ends(l);
        // The place column is left-aligned; every other column ends where its title does.
        assert_eq!(
            e[1..],
            header_ends[1..],
            "columns wander:\n{}",
            table.join("\n")
        );
    }

    // The left-out span is said, not silently dropped.
    assert!(
        run.stdout.contains(
            "! shop/production: 1 deploy live before CI was green, left out of CI green → live"
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("nearest-rank"), "{run:?}");
    assert!(!run.stdout.contains('\x1b'), "colour on a pipe: {run:?}");
}

#[tokio::test]
async fn lag_json_has_the_documented_fields_with_seconds_and_nulls() {
    let dw = scripted(&history());
    let run = dw.run_async(&["lag", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(
        places(&doc),
        [
            "shop/production",
            "shop/staging",
            "storefront-api/production"
        ]
    );
    assert_eq!(
        doc[0],
        json!({
            "project": "shop",
            "environment": "production",
            "deploys": 5,
            "push_to_ci": {"count": 5, "median_s": 240, "p90_s": 600, "worst_s": 600, "out_of_order": 0},
            "ci_to_live": {"count": 3, "median_s": 240, "p90_s": 3600, "worst_s": 3600, "out_of_order": 1},
            "push_to_live": {"count": 4, "median_s": 300, "p90_s": 3900, "worst_s": 3900, "out_of_order": 0},
        }),
        "{doc:#}"
    );
    assert_eq!(
        doc[2]["push_to_ci"],
        json!({"count": 0, "median_s": null, "p90_s": null, "worst_s": null, "out_of_order": 0}),
        "no CI: null figures"
    );
    assert_eq!(doc[2]["push_to_live"]["median_s"], 90);
    assert_eq!(doc[1]["ci_to_live"]["worst_s"], 8);
}

#[tokio::test]
async fn lag_filters_by_project_environment_and_since() {
    let dw = scripted(&history());
    let json = |args: &'static [&'static str]| {
        let dw = &dw;
        async move {
            let mut all = vec!["lag", "--json"];
            all.extend_from_slice(args);
            let run = dw.run_async(&all).await;
            assert_eq!(run.code, 0, "{args:?}: {run:?}");
            run.json()
        }
    };

    let shop = json(&["--project", "shop"]).await;
    assert_eq!(places(&shop), ["shop/production", "shop/staging"]);
    let production = json(&["--env", "production"]).await;
    assert_eq!(
        places(&production),
        ["shop/production", "storefront-api/production"]
    );
    let staging = json(&["--project", "shop", "--env", "staging"]).await;
    assert_eq!(places(&staging), ["shop/staging"]);

    // A longer window takes in the 40-day-old deploy: 20 s to live, now the fastest.
    let long = json(&["--project", "shop", "--env", "production", "--since", "60d"]).await;
    assert_eq!(long[0]["deploys"], 6, "{long:#}");
    assert_eq!(long[0]["push_to_live"]["count"], 5);
    assert_eq!(long[0]["push_to_live"]["median_s"], 300); // of 20, 120, 300, 420, 3900

    // The last 3 hours: the staging deploy and the production one not live yet.
    let recent = json(&["--since", "3h"]).await;
    assert_eq!(places(&recent), ["shop/production", "shop/staging"]);
    assert_eq!(recent[0]["deploys"], 1);
    assert_eq!(recent[0]["push_to_ci"]["median_s"], 200);
    assert_eq!(recent[0]["push_to_live"]["count"], 0);
    assert_eq!(recent[0]["push_to_live"]["median_s"], Value::Null);

    // Nothing in the window or the selection: an empty array, and a line saying so.
    assert_eq!(json(&["--since", "30m"]).await, json!([]));
    assert_eq!(json(&["--project", "nope"]).await, json!([]));
    let human = dw.run_async(&["lag", "--since", "30m"]).await;
    assert_eq!(human.code, 0, "{human:?}");
    assert!(
        human
            .stdout
            .starts_with("no deploys first recorded in the last 30m (since "),
        "{human:?}"
    );
    let human = dw
        .run_async(&["lag", "--project", "nope", "--env", "qa"])
        .await;
    assert!(
        human
            .stdout
            .starts_with("no deploys of nope/qa first recorded in the last 30d"),
        "{human:?}"
    );
}

#[tokio::test]
async fn lag_without_history_says_so_and_errors_exit_2() {
    let dw = scripted(&[]);
    let run = dw.run_async(&["lag"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("no deploy lag recorded yet"),
        "{run:?}"
    );
    let run = dw.run_async(&["lag", "--json"]).await;
    assert_eq!((run.code, run.json()), (0, json!([])), "{run:?}");

    let run = dw.run_async(&["lag", "--since", "soon"]).await;
    assert_eq!(run.code, 2, "usage error: {run:?}");
    std::fs::write(
        &dw.db,
        "not a database, just text that is long enough to have a header",
    )
    .unwrap();
    for f in ["deploywatch.db-wal", "deploywatch.db-shm"] {
        let _ = std::fs::remove_file(dw.path().join(f));
    }
    let run = dw.run_async(&["lag"]).await;
    assert_eq!(run.code, 2, "database error: {run:?}");
    assert!(run.stderr.contains("cannot open the database"), "{run:?}");
}
