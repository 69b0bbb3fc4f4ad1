//! Opening databases: creation, migration from an older schema, refusing a newer one,
//! read-only readers beside a writer, lock contention.

use std::path::Path;
use std::time::{Duration, Instant};

use deploywatch_core::Verdict::*;
use deploywatch_store::{HistoryFilter, HistoryKind, LagStage, Store, StoreError, schema};
use rusqlite::Connection;

use crate::{push, report, sha, t};

fn pragma(path: &Path, name: &str) -> String {
    let conn = Connection::open(path).unwrap();
    conn.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(s) => s,
            other => format!("{other:?}"),
        })
        .unwrap()
}

#[test]
fn open_creates_the_directory_and_a_wal_database_at_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/dw.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST_VERSION);
    assert_eq!(schema::LATEST_VERSION, 5);
    drop(store);
    assert_eq!(pragma(&path, "journal_mode"), "wal");
    // Reopening an up-to-date database changes nothing.
    assert_eq!(Store::open(&path).unwrap().schema_version().unwrap(), 5);

    // An existing empty file (touched by an installer, say) becomes a database too.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let mut store = Store::open(&empty).unwrap();
    assert_eq!(store.schema_version().unwrap(), 5);
    assert!(store.record_push(&push("shop", "main", "a1", 0)).unwrap());
}

#[test]
fn open_migrates_a_version_1_database_in_place_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The database as the release with only the first migration left it.
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        let a1 = sha("a1");
        let report = serde_json::to_string(&report(
            "shop",
            "production",
            Phantom,
            Some("a1"),
            Some("a0"),
            60,
        ))
        .unwrap();
        let incident = r#"{"open":"phantom","expected":null,"alert_streak":2,"last":"phantom","last_streak":2}"#;
        conn.execute_batch(&format!(
            "INSERT INTO pushes (project, branch, sha, author, message, first_seen, head_at, last_seen)
             VALUES ('shop', 'main', '{a1}', 'bob', 'old row', {ms}, {ms}, {ms});
             INSERT INTO checks (project, environment, checked_at, verdict, expected_sha, live_sha, changed, report)
             VALUES ('shop', 'production', {ms2}, 'phantom', '{a1}', '{a0}', 1, '{report}');
             INSERT INTO env_state (project, environment, verdict, checked_at, next_check_at, report, incident)
             VALUES ('shop', 'production', 'phantom', {ms2}, NULL, '{report}', '{incident}');
             INSERT INTO incidents (project, environment, verdict, opened_verdict, expected_sha, opened_at)
             VALUES ('shop', 'production', 'phantom', 'phantom', '{a1}', {ms2});
             INSERT INTO events (at, kind, project, environment, sha, verdict, detail, check_id, incident_id)
             VALUES ({ms2}, 'incident_opened', 'shop', 'production', '{a1}', 'phantom', 'Phantom deploy', NULL, 1);",
            ms = t(0).timestamp_millis(),
            ms2 = t(60).timestamp_millis(),
            a0 = sha("a0"),
        ))
        .unwrap();
        assert_eq!(
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
                .unwrap(),
            1
        );
    }

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 5);
    let head = store.latest_push("shop", "main").unwrap().unwrap();
    assert_eq!(
        (head.sha, head.author.as_deref(), head.first_seen),
        (sha("a1"), Some("bob"), t(0))
    );
    let state = store.env_state("shop", "production").unwrap().unwrap();
    assert_eq!(
        (state.report.verdict, state.incident.open),
        (Phantom, Some(Phantom))
    );
    let incident = store
        .open_incident_for("shop", "production")
        .unwrap()
        .unwrap();
    assert_eq!(incident.opened_at, t(60));
    let events = store.history(&HistoryFilter::default()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, HistoryKind::IncidentOpened);
    assert_eq!(
        store.checks("shop", "production", None, 10).unwrap().len(),
        1
    );

    // The tables version 2 added work, and old and new rows live together.
    store
        .mark_lag("shop", "production", &sha("a1"), LagStage::Pushed, t(0))
        .unwrap();
    store.etag_put("k", "e", b"body").unwrap();
    assert_eq!(store.deploy_lags(None, None, 10).unwrap().len(), 1);
    let next = report("shop", "production", Live, Some("a1"), Some("a1"), 120);
    assert!(
        store.record_check(&next, false).unwrap(),
        "live changed from the v1 row's a0"
    );
    store.resolve_incident(incident.id, t(120)).unwrap();
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.record_push(&push("shop", "main", "a1", 0)).unwrap();
    }
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        // Fold the WAL into the main file so its bytes are the whole database.
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("newer than this Deploywatch knows") && message.contains("untouched"),
        "{message}"
    );
    let err = Store::open_read_only(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );

    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is byte for byte the same"
    );
    // Once a Deploywatch that knows version 99 would open it, the data is all there.
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", schema::LATEST_VERSION)
        .unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.latest_push("shop", "main").unwrap().unwrap().sha,
        sha("a1")
    );
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let text =
        "this is not SQLite, just some text that is long enough to fill a header.....\n".repeat(20);
    std::fs::write(&path, &text).unwrap();
    for err in [
        Store::open(&path).unwrap_err(),
        Store::open_read_only(&path).unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "left untouched"
    );
}

#[test]
fn read_only_open_needs_an_existing_current_database_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    assert!(matches!(
        Store::open_read_only(&missing),
        Err(StoreError::NotFound { .. })
    ));
    assert!(!missing.exists(), "a read-only open creates nothing");

    let old = dir.path().join("v1.db");
    schema::migrate_to(&mut Connection::open(&old).unwrap(), 1).unwrap();
    let err = Store::open_read_only(&old).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaOutdated {
                found: 1,
                expected: 5,
                ..
            }
        ),
        "{err:?}"
    );

    let path = dir.path().join("dw.db");
    let writer = Store::open(&path).unwrap();
    let mut reader = Store::open_read_only(&path).unwrap();
    assert!(matches!(
        reader.record_push(&push("shop", "main", "a1", 0)),
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(reader.prune(t(0)), Err(StoreError::ReadOnly)));

    // With no writer running (the WAL files are gone) a reader still opens.
    drop((writer, reader));
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.latest_push("shop", "main").unwrap(), None);
    let mut writer = Store::open(&path).unwrap();

    // WAL: the reader sees each commit of the writer as it lands.
    assert_eq!(reader.latest_push("shop", "main").unwrap(), None);
    writer.record_push(&push("shop", "main", "a1", 0)).unwrap();
    assert_eq!(
        reader.latest_push("shop", "main").unwrap().unwrap().sha,
        sha("a1")
    );
    writer
        .record_check(
            &report("shop", "production", Live, Some("a1"), Some("a1"), 1),
            true,
        )
        .unwrap();
    assert_eq!(reader.env_states().unwrap().len(), 1);
}

#[test]
fn a_write_waits_for_another_writer_and_gives_up_with_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dw.db");
    let mut store = Store::open(&path).unwrap();
    store.set_busy_timeout(Duration::from_millis(30)).unwrap();

    // Another process holds the write lock briefly: the write retries and succeeds.
    let holder = std::thread::spawn({
        let path = path.clone();
        move || {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            std::thread::sleep(Duration::from_millis(80));
            conn.execute_batch("COMMIT").unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(20));
    store.record_push(&push("shop", "main", "a1", 0)).unwrap();
    holder.join().unwrap();

    // A lock held for longer than every attempt: a Busy error, not a hang or a panic.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let err = store
        .record_push(&push("shop", "main", "b1", 1))
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy { attempts: 4 }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    conn.execute_batch("ROLLBACK").unwrap();
    // Nothing of the failed write was kept, and the store still works.
    assert_eq!(
        store.latest_push("shop", "main").unwrap().unwrap().sha,
        sha("a1")
    );
    assert!(store.record_push(&push("shop", "main", "b1", 1)).unwrap());
}

/// The window, the resident watcher and the CLI may open a new database at the same moment on
/// a first run: every one of them gets a migrated database, none an error.
#[test]
fn processes_opening_a_new_database_at_once_all_get_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let path = dir.path().join(format!("race-{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&path).map(|s| s.schema_version())
                })
            })
            .collect();
        for o in openers {
            let version = o
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(version.unwrap(), schema::LATEST_VERSION);
        }
    }
}
