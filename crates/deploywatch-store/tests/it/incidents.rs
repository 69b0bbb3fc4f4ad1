//! Incidents and at-most-once notifications.

use deploywatch_core::Verdict::{self, *};
use deploywatch_store::{HistoryFilter, NotificationKey, NotificationKind, StoreError};

use crate::{sha, t, temp_store};

#[test]
fn an_incident_opens_changes_cause_and_resolves_once() {
    let (_dir, mut store) = temp_store();
    let a1 = sha("a1");
    let id = store
        .open_incident("shop", "production", Down, Some(&a1), t(0))
        .unwrap();
    let err = store
        .open_incident("shop", "production", Phantom, None, t(5))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IncidentAlreadyOpen { id: open, .. } if open == id),
        "{err}"
    );
    // Another environment has its own.
    store
        .open_incident("shop", "staging", Mixed, None, t(0))
        .unwrap();

    store.change_incident_cause(id, Phantom, t(60)).unwrap();
    store.change_incident_cause(id, Phantom, t(70)).unwrap(); // same cause: no event
    let open = store
        .open_incident_for("shop", "production")
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            open.id,
            open.verdict,
            open.opened_verdict,
            open.expected_sha,
            open.cause_changed_at
        ),
        (id, Phantom, Down, Some(a1), Some(t(60)))
    );

    store.resolve_incident(id, t(600)).unwrap();
    assert!(matches!(
        store.resolve_incident(id, t(601)),
        Err(StoreError::IncidentResolved { .. })
    ));
    assert!(matches!(
        store.change_incident_cause(id, Down, t(602)),
        Err(StoreError::IncidentResolved { .. })
    ));
    assert!(matches!(
        store.resolve_incident(999, t(0)),
        Err(StoreError::IncidentNotFound { id: 999 })
    ));
    assert_eq!(store.open_incident_for("shop", "production").unwrap(), None);
    // A new incident may open once the old one resolved.
    let again = store
        .open_incident("shop", "production", CiFailed, None, t(700))
        .unwrap();
    assert_ne!(again, id);

    let listed: Vec<(i64, Option<_>)> = store
        .incidents(Some("shop"), Some("production"), 10)
        .unwrap()
        .iter()
        .map(|i| (i.id, i.resolved_at))
        .collect();
    assert_eq!(listed, [(again, None), (id, Some(t(600)))]);

    let f = HistoryFilter {
        environment: Some("production".into()),
        ..Default::default()
    };
    let details: Vec<String> = store
        .history(&f)
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e.kind, e.detail))
        .collect();
    assert_eq!(
        details,
        [
            "incident_opened: CI failed",
            "incident_resolved: resolved after 10 min (was Phantom deploy)",
            "incident_cause_changed: Down → Phantom deploy",
            "incident_opened: Down (expected a100000)",
        ]
    );
}

fn key(verdict: Verdict, expected: Option<&str>, kind: NotificationKind) -> NotificationKey {
    NotificationKey {
        project: "shop".into(),
        environment: "production".into(),
        expected_sha: expected.map(sha),
        verdict,
        kind,
    }
}

#[test]
fn each_alert_is_claimed_once_per_environment_sha_and_verdict() {
    use NotificationKind::*;
    let (_dir, mut store) = temp_store();
    // (key, incident id, first time?)
    let cases: &[(NotificationKey, Option<i64>, bool)] = &[
        (key(Phantom, Some("a1"), Open), Some(1), true),
        (key(Phantom, Some("a1"), Open), Some(1), false), // the next poll
        (key(Phantom, Some("a1"), Open), Some(2), false), // a later incident, same alert
        (key(Phantom, Some("a1"), Cause), Some(3), false), // reached by a cause change
        (key(Phantom, Some("b1"), Open), Some(4), true),  // a new expected SHA
        (key(Down, Some("a1"), Open), Some(5), true),     // another verdict
        (key(Down, None, Open), Some(6), true),           // SHA unknown
        (key(Down, None, Open), Some(7), false),
        (key(Phantom, Some("a1"), Resolve), Some(1), true), // one resolve per incident
        (key(Phantom, Some("a1"), Resolve), Some(1), false),
        (key(Phantom, Some("a1"), Resolve), Some(2), true),
        (key(Phantom, Some("a1"), Resolve), None, true),
        (key(Phantom, Some("a1"), Resolve), None, false),
    ];
    // Incidents 1..=7 exist, as notifications reference them (foreign key).
    for n in 1..=7 {
        let id = store
            .open_incident("shop", &format!("env{n}"), Down, None, t(0))
            .unwrap();
        assert_eq!(id, n);
    }
    for (i, (k, incident, want)) in cases.iter().enumerate() {
        let got = store.claim_notification(k, *incident, t(i as i64)).unwrap();
        assert_eq!(got, *want, "case {i}: {k:?} incident {incident:?}");
    }
}

#[test]
fn a_released_claim_can_be_claimed_again() {
    let (_dir, mut store) = temp_store();
    let k = key(Phantom, Some("a1"), NotificationKind::Open);
    assert!(store.claim_notification(&k, None, t(0)).unwrap());
    assert!(store.release_notification(&k, None).unwrap());
    assert!(!store.release_notification(&k, None).unwrap());
    assert!(store.claim_notification(&k, None, t(1)).unwrap());
    assert!(!store.claim_notification(&k, None, t(2)).unwrap());
}

#[test]
fn a_claim_naming_a_missing_incident_is_refused() {
    let (_dir, mut store) = temp_store();
    let k = key(Phantom, Some("a1"), NotificationKind::Open);
    let err = store.claim_notification(&k, Some(42), t(0)).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    // The refused claim left nothing behind.
    assert!(store.claim_notification(&k, None, t(0)).unwrap());
}

#[test]
fn action_runs_are_kept_with_their_ending_and_appear_in_the_history_of_their_incident() {
    use deploywatch_store::{ActionEvent, ActionOutcome, ActionRun};
    let (dir, mut store) = temp_store();
    let a1 = sha("a1");
    let id = store
        .open_incident("shop", "production", Phantom, Some(&a1), t(0))
        .unwrap();
    let run = |event, outcome, secs, output: &str| ActionRun {
        id: None,
        incident_id: Some(id),
        project: "shop".into(),
        environment: "production".into(),
        event,
        verdict: Phantom,
        expected_sha: Some(a1.clone()),
        command: vec!["./recreate.sh".into(), "--hard".into()],
        started_at: t(secs),
        duration: std::time::Duration::from_millis(3_240),
        outcome,
        output: output.into(),
        output_truncated: false,
    };
    let outcomes = [
        (ActionEvent::Open, ActionOutcome::TimedOut, 1, "waiting…\n"),
        (
            ActionEvent::Cause,
            ActionOutcome::NotStarted {
                error: "No such file or directory (os error 2)".into(),
            },
            2,
            "",
        ),
        (
            ActionEvent::Cause,
            ActionOutcome::Killed {
                signal: "SIGSEGV".into(),
            },
            3,
            "",
        ),
        (
            ActionEvent::Open,
            ActionOutcome::Exited { code: 0 },
            4,
            "recreated\n",
        ),
    ];
    for (event, outcome, secs, output) in outcomes.clone() {
        store
            .record_action_run(&run(event, outcome, secs, output))
            .unwrap();
    }
    drop(store);
    // What a restarted process reads back, newest first.
    let store = deploywatch_store::Store::open(&dir.path().join("dw.db")).unwrap();
    let runs = store
        .action_runs(Some("shop"), Some("production"), 10)
        .unwrap();
    assert_eq!(runs.len(), 4);
    for (got, (event, outcome, secs, output)) in runs.iter().zip(outcomes.iter().rev()) {
        let mut want = run(*event, outcome.clone(), *secs, output);
        want.id = got.id;
        assert_eq!(got, &want);
    }
    assert!(runs[0].outcome.succeeded() && !runs[1].outcome.succeeded());
    assert!(
        store
            .action_runs(Some("shop"), Some("staging"), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.action_runs(None, None, 2).unwrap().len(), 2);
    let history = store.history(&HistoryFilter::default()).unwrap();
    let details: Vec<&str> = history
        .iter()
        .filter(|e| e.kind == deploywatch_store::HistoryKind::ActionRan)
        .map(|e| {
            assert_eq!(e.incident_id, Some(id));
            e.detail.as_str()
        })
        .collect();
    assert_eq!(
        details,
        [
            "on_open ./recreate.sh exited 0 after 3.2 s",
            "on_cause ./recreate.sh was killed by SIGSEGV after 3.2 s",
            "on_cause ./recreate.sh could not start: No such file or directory (os error 2)",
            "on_open ./recreate.sh timed out after 3.2 s and was killed",
        ]
    );
}

#[test]
fn a_run_whose_watcher_ended_is_recorded_interrupted_by_the_next_watcher() {
    use deploywatch_store::{ActionEvent, ActionOutcome, ActionRun, Runner, RunnerLiveness};
    let (dir, mut store) = temp_store();
    let a1 = sha("a1");
    let id = store
        .open_incident("shop", "production", Phantom, Some(&a1), t(0))
        .unwrap();
    let run = |environment: &str| ActionRun {
        id: None,
        incident_id: Some(id),
        project: "shop".into(),
        environment: environment.into(),
        event: ActionEvent::Open,
        verdict: Phantom,
        expected_sha: Some(a1.clone()),
        command: vec!["./recreate.sh".into()],
        started_at: t(10),
        duration: std::time::Duration::ZERO,
        outcome: ActionOutcome::Exited { code: 0 },
        output: String::new(),
        output_truncated: false,
    };
    let runner = |pid, deadline| Runner {
        pid,
        deadline: t(deadline),
    };
    // Three runs start: one whose runner died, one whose runner lives, one past its deadline
    // whose pid (reused by now, say) looks alive.
    let dead = store
        .begin_action_run(&run("production"), runner(101, 200))
        .unwrap();
    let alive = store
        .begin_action_run(&run("staging"), runner(102, 200))
        .unwrap();
    let late = store
        .begin_action_run(&run("canary"), runner(102, 50))
        .unwrap();
    // Started runs are in the table, running, without a history event yet.
    let runs = store.action_runs(Some("shop"), None, 10).unwrap();
    assert!(
        runs.iter().all(|r| r.outcome == ActionOutcome::Running),
        "{runs:?}"
    );
    let ran = |store: &deploywatch_store::Store| {
        store
            .history(&HistoryFilter::default())
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == deploywatch_store::HistoryKind::ActionRan)
            .map(|e| (e.environment.unwrap_or_default(), e.detail))
            .collect::<Vec<_>>()
    };
    assert!(ran(&store).is_empty());
    drop(store);

    // The next watcher (a new process, a reopened database) looks at t(100).
    let mut store = deploywatch_store::Store::open(&dir.path().join("dw.db")).unwrap();
    let liveness = |pid| {
        if pid == 101 {
            RunnerLiveness::Gone
        } else {
            RunnerLiveness::MayRun
        }
    };
    let found = store.interrupt_action_runs(t(100), liveness).unwrap();
    let mut ids: Vec<i64> = found.iter().filter_map(|r| r.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [dead, late]);
    assert!(found.iter().all(|r| matches!(
        &r.outcome,
        ActionOutcome::Interrupted { reason } if reason.contains("how it ended is unknown")
    )));
    // Once is enough: a second look finds nothing new.
    assert!(
        store
            .interrupt_action_runs(t(101), liveness)
            .unwrap()
            .is_empty()
    );
    let mut history = ran(&store);
    history.sort();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|(_, d)| d.starts_with("on_open ./recreate.sh was interrupted: its watcher ended")));
    assert_eq!(
        history.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
        ["canary", "production"]
    );

    // The living runner finishes its run: the row says how, and the history says so once.
    let mut done = run("staging");
    done.duration = std::time::Duration::from_millis(1_500);
    done.output = "recreated\n".into();
    store.finish_action_run(alive, &done).unwrap();
    let staging = store.action_runs(Some("shop"), Some("staging"), 1).unwrap();
    assert_eq!(
        (
            staging[0].id,
            &staging[0].outcome,
            staging[0].output.as_str()
        ),
        (
            Some(alive),
            &ActionOutcome::Exited { code: 0 },
            "recreated\n"
        )
    );
    assert!(
        ran(&store)
            .iter()
            .any(|(e, d)| e == "staging" && d == "on_open ./recreate.sh exited 0 after 1.5 s")
    );
    assert!(
        store
            .interrupt_action_runs(t(300), liveness)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.finish_action_run(9_999, &done),
        Err(StoreError::Corrupt { .. })
    ));
}
