//! Checks: every state change stored, unchanged checks sampled, env state, pruning.

use std::time::Duration;

use deploywatch_core::{IncidentState, Sha, Verdict::*};
use deploywatch_store::{EnvState, HistoryFilter, Store};

use crate::{report, t, temp_store};

/// One check: verdict, expected seed, live seed, the caller's `changed`, seconds.
type Step = (
    deploywatch_core::Verdict,
    &'static str,
    Option<&'static str>,
    bool,
    i64,
);

/// Records each step in `production` and returns what `record_check` said for each.
fn run(store: &mut Store, steps: &[Step]) -> Vec<bool> {
    steps
        .iter()
        .map(|(v, exp, live, changed, secs)| {
            let r = report("shop", "production", *v, Some(exp), *live, *secs);
            store.record_check(&r, *changed).unwrap()
        })
        .collect()
}

/// The history of production, oldest first, as "kind sha verdict" lines.
fn timeline(store: &Store) -> Vec<String> {
    let f = HistoryFilter {
        environment: Some("production".into()),
        ..Default::default()
    };
    let mut lines: Vec<String> = store
        .history(&f)
        .unwrap()
        .iter()
        .map(|e| {
            let sha = e.sha.as_ref().map_or("-", Sha::short);
            let verdict = e.verdict.map_or("-", |v| v.as_str());
            format!("{} {sha} {verdict}", e.kind)
        })
        .collect();
    lines.reverse();
    lines
}

const STEPS: &[Step] = &[
    (Deploying, "a1", Some("a0"), false, 0), // first check: stored
    (Deploying, "a1", Some("a0"), false, 10), // unchanged within the hour: not stored
    (Deploying, "a1", Some("a0"), true, 20), // the caller saw a change (CI status): stored
    (Phantom, "a1", Some("a0"), false, 30),  // verdict changed, whatever the caller says
    (Phantom, "a1", Some("a0"), false, 3000), // unchanged, 49.5 min after the last stored
    (Phantom, "a1", Some("a0"), false, 3630), // unchanged, an hour after it: the sample
    (Phantom, "a1", Some("a0"), false, 3700), // unchanged: not stored
    (Down, "a1", None, false, 3710),         // verdict changed
    (Phantom, "a1", Some("a0"), false, 3720), // back up on the same SHA: no live change
    (Live, "a1", Some("a1"), false, 3730),   // live and verdict changed
    (Live, "b1", Some("a1"), false, 3740),   // a new push: the expected SHA changed
];

#[test]
fn record_check_stores_changes_and_one_sample_per_hour() {
    let (_dir, mut store) = temp_store();
    let stored = run(&mut store, STEPS);
    assert_eq!(
        stored,
        [
            true, false, true, true, false, true, false, true, true, true, true
        ]
    );
    assert_eq!(
        timeline(&store),
        [
            "live_changed a000000 deploying",
            "verdict_changed a100000 deploying",
            "verdict_changed a100000 phantom",
            "verdict_changed a100000 down",
            "verdict_changed a100000 phantom",
            "live_changed a100000 live",
            "verdict_changed a100000 live",
        ]
    );
}

#[test]
fn prune_removes_only_old_unchanged_samples() {
    let (_dir, mut store) = temp_store();
    run(&mut store, STEPS);
    let all = |s: &Store| s.checks("shop", "production", None, 100).unwrap();
    let before = all(&store);
    assert_eq!(
        before.iter().filter(|c| !c.changed).count(),
        1,
        "one sample"
    );
    assert_eq!(
        store.prune(t(3630)).unwrap(),
        0,
        "the sample is not older than the cutoff"
    );
    assert_eq!(store.prune(t(3631)).unwrap(), 1);
    let after = all(&store);
    assert_eq!(after.len(), before.len() - 1);
    assert!(after.iter().all(|c| c.changed), "every change is kept");
    // The history does not depend on samples.
    assert_eq!(timeline(&store).len(), 7);
}

#[test]
fn a_short_and_a_full_form_of_one_sha_are_not_a_live_change() {
    let (_dir, mut store) = temp_store();
    let full = report("shop", "production", Live, Some("a1"), Some("a1"), 0);
    assert!(store.record_check(&full, false).unwrap());
    let mut short = report("shop", "production", Live, Some("a1"), None, 10);
    short.live_sha = Sha::parse("a100000");
    assert!(!store.record_check(&short, false).unwrap());
}

#[test]
fn sample_spacing_is_configurable_and_per_environment() {
    let (_dir, mut store) = temp_store();
    store.set_sample_every(Duration::from_secs(10));
    let mut stored = [0, 0];
    for secs in 0..100 {
        for (i, env) in ["production", "staging"].iter().enumerate() {
            let r = report("shop", env, Live, Some("a1"), Some("a1"), secs);
            stored[i] += usize::from(store.record_check(&r, false).unwrap());
        }
    }
    // The first check, then one every 10 s: 0, 10, ..., 90.
    assert_eq!(stored, [10, 10]);
}

#[test]
fn env_state_follows_checks_and_keeps_incident_and_schedule() {
    let (_dir, mut store) = temp_store();
    assert_eq!(store.env_state("shop", "production").unwrap(), None);
    let first = report("shop", "production", Phantom, Some("a1"), Some("a0"), 0);
    store.record_check(&first, true).unwrap();
    let s = store.env_state("shop", "production").unwrap().unwrap();
    assert_eq!(
        (s.report, s.next_check_at, s.incident),
        (first.clone(), None, IncidentState::default())
    );

    let incident = IncidentState {
        open: Some(Phantom),
        expected: first.expected_sha.clone(),
        alert_streak: 2,
        last: Some(Phantom),
        last_streak: 2,
    };
    store
        .set_env_state(&EnvState {
            project: "shop".into(),
            environment: "production".into(),
            report: first.clone(),
            next_check_at: Some(t(10)),
            incident: incident.clone(),
        })
        .unwrap();
    // An unchanged check that is not stored still refreshes the report, and keeps the rest.
    let second = report("shop", "production", Phantom, Some("a1"), Some("a0"), 5);
    assert!(!store.record_check(&second, false).unwrap());
    let s = store.env_state("shop", "production").unwrap().unwrap();
    assert_eq!(
        (s.report, s.next_check_at, s.incident),
        (second, Some(t(10)), incident)
    );

    store
        .record_check(&report("shop", "staging", Live, None, Some("a1"), 0), true)
        .unwrap();
    store
        .record_check(&report("blog", "production", Down, None, None, 0), true)
        .unwrap();
    let names: Vec<String> = store
        .env_states()
        .unwrap()
        .iter()
        .map(|s| format!("{}/{} {}", s.project, s.environment, s.report.verdict))
        .collect();
    assert_eq!(
        names,
        [
            "blog/production down",
            "shop/production phantom",
            "shop/staging live"
        ]
    );

    assert!(store.remove_env_state("shop", "staging").unwrap());
    assert!(!store.remove_env_state("shop", "staging").unwrap());
    assert_eq!(store.env_states().unwrap().len(), 2);
}

#[test]
fn checks_page_by_keyset_and_link_to_their_reports() {
    let (_dir, mut store) = temp_store();
    // Pairs of checks share a timestamp, so paging must break ties by id.
    let mut reports = Vec::new();
    for i in 0..21 {
        let v = if i % 2 == 0 { Live } else { Deploying };
        let r = report("shop", "production", v, Some("a1"), Some("a1"), i / 2);
        store.record_check(&r, true).unwrap();
        reports.push(r);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.checks("shop", "production", cursor, 4).unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.cursor());
        seen.extend(page);
    }
    let ids: Vec<i64> = seen.iter().map(|c| c.id).collect();
    let mut want = ids.clone();
    want.sort_unstable_by(|a, b| b.cmp(a));
    want.dedup();
    assert_eq!(ids, want, "newest first, no repeats");
    assert_eq!(ids.len(), 21);
    // The newest check's full report comes back as recorded.
    assert_eq!(
        store.check_report(ids[0]).unwrap(),
        Some(reports[20].clone())
    );
    assert_eq!(store.check_report(-1).unwrap(), None);
}

#[test]
fn a_batch_is_one_transaction_whose_failed_writes_are_undone_alone() {
    let (dir, mut store) = temp_store();
    let db = dir.path().join("dw.db");
    let outcome = store
        .batch(|s| {
            for i in 0..3 {
                let r = report("shop", &format!("e{i}"), Live, Some("a"), Some("a"), i);
                s.record_check(&r, true).expect("record");
            }
            // A reader on another connection sees nothing before the commit.
            let other = Store::open_read_only(&db).expect("reader");
            let before = other.history(&HistoryFilter::default()).expect("history");
            // A write that fails inside the batch (an incident opened twice) is undone alone.
            s.open_incident("shop", "e0", Down, None, t(10))
                .expect("first");
            let again = s.open_incident("shop", "e0", Down, None, t(11));
            (before.len(), again.is_err())
        })
        .expect("batch commits");
    assert_eq!(outcome, (0, true));
    let after = store.history(&HistoryFilter::default()).expect("history");
    // Each check's first verdict and live SHA, and one incident (the refused second absent).
    assert_eq!(after.len(), 3 * 2 + 1, "{after:#?}");

    // A panic inside a batch rolls all of it back, and the store works afterwards.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.batch(|s| {
            let r = report("shop", "e9", Down, Some("a"), None, 20);
            s.record_check(&r, true).expect("record");
            panic!("in the middle of a batch");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(
        store
            .history(&HistoryFilter::default())
            .expect("history")
            .len(),
        7
    );
    let r = report("shop", "e9", Down, Some("a"), None, 30);
    store
        .record_check(&r, true)
        .expect("a write after the rolled-back batch");
    assert!(
        store
            .history(&HistoryFilter::default())
            .expect("history")
            .len()
            > 7
    );
}
