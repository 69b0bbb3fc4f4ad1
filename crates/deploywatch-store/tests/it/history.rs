//! History: filters, keyset paging, JSON shape.

use deploywatch_core::{CiRun, Verdict::*};
use deploywatch_store::{HistoryCursor, HistoryEvent, HistoryFilter, HistoryKind, Store};
use expect_test::expect;

use crate::{push, report, sha, t, temp_store};

/// A store with a little of everything in two projects and two environments.
fn fixture() -> (tempfile::TempDir, Store) {
    let (dir, mut s) = temp_store();
    s.record_push(&push("shop", "main", "a0", 0)).unwrap();
    s.record_check(
        &report("shop", "production", Live, Some("a0"), Some("a0"), 10),
        true,
    )
    .unwrap();
    s.record_check(
        &report("shop", "staging", Live, Some("a0"), Some("a0"), 10),
        true,
    )
    .unwrap();
    s.record_push(&push("shop", "main", "a1", 100)).unwrap();
    let run = CiRun {
        id: 1,
        workflow: "CI".into(),
        head_sha: sha("a1"),
        status: "completed".into(),
        conclusion: Some("success".into()),
        url: "https://github.com/acme/shop/actions/runs/1".into(),
        created_at: t(100),
        completed_at: Some(t(200)),
    };
    s.record_ci_run("shop", &run, t(200)).unwrap();
    s.record_check(
        &report("shop", "production", Phantom, Some("a1"), Some("a0"), 900),
        true,
    )
    .unwrap();
    s.record_check(
        &report("shop", "staging", Live, Some("a1"), Some("a1"), 900),
        true,
    )
    .unwrap();
    let id = s
        .open_incident("shop", "production", Phantom, Some(&sha("a1")), t(910))
        .unwrap();
    s.record_check(
        &report("shop", "production", Live, Some("a1"), Some("a1"), 1000),
        true,
    )
    .unwrap();
    s.resolve_incident(id, t(1000)).unwrap();
    s.record_push(&push("blog", "main", "b0", 50)).unwrap();
    s.record_check(
        &report("blog", "production", Down, Some("b0"), None, 60),
        true,
    )
    .unwrap();
    (dir, s)
}

fn render(events: &[HistoryEvent]) -> String {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}\n",
                e.at.format("%H:%M:%S"),
                e.project,
                e.environment.as_deref().unwrap_or("-"),
                e.kind
            )
        })
        .collect()
}

fn check(filter: HistoryFilter, want: expect_test::Expect) {
    let (_dir, store) = fixture();
    want.assert_eq(&render(&store.history(&filter).unwrap()));
}

#[test]
fn filters() {
    let f = HistoryFilter::default;
    check(
        HistoryFilter {
            project: Some("shop".into()),
            environment: Some("production".into()),
            ..f()
        },
        expect![[r#"
            10:16:40 shop production incident_resolved
            10:16:40 shop production verdict_changed
            10:16:40 shop production live_changed
            10:15:10 shop production incident_opened
            10:15:00 shop production verdict_changed
            10:03:20 shop - ci_run
            10:01:40 shop - push
            10:00:10 shop production verdict_changed
            10:00:10 shop production live_changed
            10:00:00 shop - push
        "#]],
    );
    check(
        HistoryFilter {
            project: Some("shop".into()),
            environment: Some("production".into()),
            include_project_events: false,
            since: Some(t(900)),
            ..f()
        },
        expect![[r#"
            10:16:40 shop production incident_resolved
            10:16:40 shop production verdict_changed
            10:16:40 shop production live_changed
            10:15:10 shop production incident_opened
            10:15:00 shop production verdict_changed
        "#]],
    );
    check(
        HistoryFilter {
            verdict: Some(Phantom),
            ..f()
        },
        expect![[r#"
            10:16:40 shop production incident_resolved
            10:15:10 shop production incident_opened
            10:15:00 shop production verdict_changed
        "#]],
    );
    check(
        HistoryFilter {
            project: Some("blog".into()),
            ..f()
        },
        expect![[r#"
            10:01:00 blog production verdict_changed
            10:00:50 blog - push
        "#]],
    );
    // An environment without a project: that environment in every project.
    check(
        HistoryFilter {
            environment: Some("staging".into()),
            include_project_events: false,
            ..f()
        },
        expect![[r#"
            10:15:00 shop staging live_changed
            10:00:10 shop staging verdict_changed
            10:00:10 shop staging live_changed
        "#]],
    );
    check(
        HistoryFilter {
            project: Some("nope".into()),
            ..f()
        },
        expect![""],
    );
}

#[test]
fn keyset_pages_cover_everything_once_for_every_filter() {
    let (_dir, store) = fixture();
    let filters = [
        HistoryFilter::default(),
        HistoryFilter {
            project: Some("shop".into()),
            ..Default::default()
        },
        HistoryFilter {
            project: Some("shop".into()),
            environment: Some("production".into()),
            ..Default::default()
        },
        HistoryFilter {
            environment: Some("production".into()),
            ..Default::default()
        },
    ];
    for filter in filters {
        let all = store.history(&filter).unwrap();
        for page_size in [1, 2, 3, 7] {
            let mut paged = Vec::new();
            let mut f = HistoryFilter {
                limit: page_size,
                ..filter.clone()
            };
            loop {
                let page = store.history(&f).unwrap();
                assert!(page.len() <= page_size);
                let Some(last) = page.last() else { break };
                f.before = Some(last.cursor());
                paged.extend(page);
            }
            assert_eq!(paged, all, "page size {page_size}, {filter:?}");
        }
    }
}

#[test]
fn json_uses_snake_case_kinds_and_cursors_round_trip() {
    let (_dir, store) = fixture();
    let events = store
        .history(&HistoryFilter {
            project: Some("shop".into()),
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    let json = serde_json::to_string_pretty(&events[2]).unwrap();
    expect![[r#"
        {
          "id": 11,
          "at": "2026-11-21T10:16:40Z",
          "kind": "live_changed",
          "project": "shop",
          "environment": "production",
          "sha": "a100000000000000000000000000000000000000",
          "verdict": "live",
          "detail": "production now serves a100000 (was a000000)",
          "check_id": 5
        }"#]]
    .assert_eq(&json);
    let back: HistoryEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(back, events[2]);

    let kinds: Vec<String> = HistoryKind::ALL
        .iter()
        .map(|k| serde_json::to_string(k).unwrap())
        .collect();
    assert_eq!(
        kinds.join(" "),
        r#""push" "ci_run" "live_changed" "verdict_changed" "incident_opened" "incident_cause_changed" "incident_resolved" "action_ran" "webhook_delivery""#
    );

    let cursor = events[2].cursor();
    let text = cursor.to_string();
    assert_eq!(text.parse::<HistoryCursor>().unwrap(), cursor);
    for bad in ["", "12", "x-1", "1-x", "99999999999999999999-1"] {
        assert!(bad.parse::<HistoryCursor>().is_err(), "{bad:?}");
    }
}

#[test]
fn a_verdict_change_links_to_the_report_that_made_it() {
    let (_dir, store) = fixture();
    let f = HistoryFilter {
        verdict: Some(Phantom),
        ..Default::default()
    };
    let changed = store
        .history(&f)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == HistoryKind::VerdictChanged)
        .unwrap();
    let r = store
        .check_report(changed.check_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!((r.verdict, r.checked_at), (Phantom, t(900)));
}
