//! CI runs: upsert by run id, change detection, lookup by SHA.

use deploywatch_core::CiRun;

use crate::{sha, t, temp_store};

fn run(id: u64, seed: &str, status: &str, conclusion: Option<&str>) -> CiRun {
    CiRun {
        id,
        workflow: "CI".into(),
        head_sha: sha(seed),
        status: status.into(),
        conclusion: conclusion.map(Into::into),
        url: format!("https://github.com/acme/shop/actions/runs/{id}"),
        created_at: t(0),
        completed_at: conclusion.map(|_| t(60)),
    }
}

#[test]
fn record_ci_run_reports_status_and_conclusion_changes() {
    let (_dir, mut store) = temp_store();
    // (status, conclusion, changed?)
    let cases: &[(&str, Option<&str>, bool)] = &[
        ("queued", None, true),
        ("queued", None, false),
        ("in_progress", None, true),
        ("in_progress", None, false),
        ("completed", Some("success"), true),
        ("completed", Some("success"), false),
        ("completed", Some("failure"), true), // a re-run that failed
    ];
    for (i, (status, conclusion, want)) in cases.iter().enumerate() {
        let got = store
            .record_ci_run("shop", &run(7, "a1", status, *conclusion), t(i as i64))
            .unwrap();
        assert_eq!(got, *want, "case {i}: {status} {conclusion:?}");
    }
    let runs = store.ci_runs_for("shop", &sha("a1")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0], run(7, "a1", "completed", Some("failure")));
    // One history event per change.
    let events = store.history(&Default::default()).unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0].detail,
        "CI CI run 7 for a100000: completed (failure)"
    );
}

#[test]
fn ci_runs_for_matches_short_shas_and_separates_projects() {
    let (_dir, mut store) = temp_store();
    store
        .record_ci_run(
            "shop",
            &run(1, "abc1234", "completed", Some("success")),
            t(0),
        )
        .unwrap();
    store
        .record_ci_run("shop", &run(2, "abc1235", "queued", None), t(0))
        .unwrap();
    store
        .record_ci_run("blog", &run(3, "abc1234", "queued", None), t(0))
        .unwrap();
    let short = deploywatch_core::Sha::parse("abc1234").unwrap();
    let ids: Vec<u64> = store
        .ci_runs_for("shop", &short)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [1]);
    assert!(store.ci_runs_for("shop", &sha("ffff")).unwrap().is_empty());
}

#[test]
fn a_run_id_beyond_i64_is_an_error_not_a_wrap() {
    let (_dir, mut store) = temp_store();
    let err = store
        .record_ci_run("shop", &run(u64::MAX, "a1", "queued", None), t(0))
        .unwrap_err();
    assert!(
        matches!(err, deploywatch_store::StoreError::OutOfRange { .. }),
        "{err}"
    );
}
