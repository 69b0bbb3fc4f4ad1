//! A watcher killed with SIGKILL in the middle of writing loses nothing it had committed.
//!
//! The parent test runs this very test binary again as a child, selecting only
//! [`crash_writer`] and handing it a database path in `DW_STORE_CHILD_DB`. The child writes
//! without pause and prints a line after each commit; the parent kills it at an arbitrary
//! point, reopens the database and checks that every reported commit is there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use deploywatch_core::Verdict;
use deploywatch_store::{HistoryFilter, Store};
use rusqlite::Connection;

use crate::{push, report};

const CHILD_DB: &str = "DW_STORE_CHILD_DB";
const CHILD_START: &str = "DW_STORE_CHILD_START";
/// Printed before each commit report, so the parent finds it amid the test harness's output.
const MARK: &str = "DWCOMMIT";
/// The environment the writer checks; each round of the parent uses the next index range.
const ENV: &str = "crash";

/// A SHA for write number `i`.
fn sha_of(i: u64) -> String {
    format!("{:x}", 0x1000_0000_u64 + i)
}

/// The write number a SHA made by [`sha_of`] stands for.
fn index_of(sha: &deploywatch_core::Sha) -> u64 {
    u64::from_str_radix(&sha.as_str()[..8], 16).expect("hex") - 0x1000_0000
}

/// One write of the loop; returns what was committed, as the line the child prints.
fn write_one(store: &mut Store, i: u64) -> String {
    let seed = sha_of(i);
    let verdict = if i.is_multiple_of(2) {
        Verdict::Live
    } else {
        Verdict::Deploying
    };
    let mut r = report("shop", ENV, verdict, Some(&seed), Some(&seed), i as i64);
    // A bigger report now and then, so some commits span several pages of the WAL.
    if i.is_multiple_of(25) {
        r.hint = "x".repeat(64 * 1024);
    }
    store.record_check(&r, true).expect("record_check");
    if i.is_multiple_of(3) {
        store
            .record_push(&push("shop", "main", &seed, i as i64))
            .expect("record_push");
        if i.is_multiple_of(30) {
            store
                .etag_put(&format!("key{i}"), &seed, &vec![i as u8; 100_000])
                .expect("etag_put");
        }
    }
    format!("{MARK} {i}")
}

/// Writes checks `start..start + count` (plus a push every third and an ETag every thirtieth),
/// printing a line to `out` after each commit. Returns the number of writes.
fn write_loop(path: &Path, start: u64, count: u64, deadline: Duration, out: &mut dyn Write) -> u64 {
    let mut store = Store::open(path).expect("open");
    let started = Instant::now();
    let mut n = 0;
    while n < count && started.elapsed() < deadline {
        let line = write_one(&mut store, start + n);
        // Straight to the process's stdout (not the harness's capture), flushed, so the
        // parent knows of the commit before the next write starts.
        writeln!(out, "{line}").expect("stdout");
        out.flush().expect("stdout");
        n += 1;
    }
    n
}

/// Checks that every reported write is in the database at `path`, and that the file passes
/// SQLite's integrity check. `reported` lists the write numbers whose commit line was read.
fn verify(path: &Path, reported: &[u64]) {
    let conn = Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);

    let store = Store::open(path).unwrap();
    let mut stored = std::collections::BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = store.checks("shop", ENV, cursor, 10_000).unwrap();
        let Some(c) = page.last() else { break };
        cursor = Some(c.cursor());
        stored.extend(page.iter().map(|c| index_of(c.live_sha.as_ref().unwrap())));
    }
    let missing: Vec<u64> = reported
        .iter()
        .copied()
        .filter(|i| !stored.contains(i))
        .collect();
    assert!(
        missing.is_empty(),
        "committed checks missing after the kill: {missing:?}"
    );

    // The newest reported push is the head, or a later one that also committed.
    let last_push = reported
        .iter()
        .copied()
        .filter(|i| i % 3 == 0)
        .max()
        .unwrap();
    let head_i = index_of(&store.latest_push("shop", "main").unwrap().unwrap().sha);
    assert!(
        head_i >= last_push,
        "head {head_i} older than committed push {last_push}"
    );
    for &i in reported.iter().filter(|i| *i % 30 == 0) {
        let (etag, body) = store
            .etag_get(&format!("key{i}"))
            .unwrap()
            .expect("committed etag");
        assert_eq!((etag, body.len()), (sha_of(i), 100_000));
    }
    // Each check flipped the verdict, so each committed one is in the history too.
    let f = HistoryFilter {
        environment: Some(ENV.into()),
        include_project_events: false,
        limit: 10_000,
        ..Default::default()
    };
    let changes: std::collections::BTreeSet<u64> = store
        .history(&f)
        .unwrap()
        .iter()
        .filter(|e| e.kind == deploywatch_store::HistoryKind::VerdictChanged)
        .map(|e| index_of(e.sha.as_ref().unwrap()))
        .collect();
    assert!(reported.iter().all(|i| changes.contains(i)));
}

/// In the parent run: writes 120 commits in-process and checks they are all readable. When
/// started by [`sigkill_mid_write_loses_nothing_committed`] (with `DW_STORE_CHILD_DB` set):
/// the child that writes until it is killed.
#[test]
fn crash_writer() {
    match std::env::var_os(CHILD_DB) {
        Some(path) => {
            let start = std::env::var(CHILD_START)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            // Bounded, so an orphaned child stops by itself.
            let mut out = std::io::stdout().lock();
            write_loop(
                Path::new(&path),
                start,
                1_000_000,
                Duration::from_secs(30),
                &mut out,
            );
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("writer.db");
            let n = write_loop(&path, 0, 120, Duration::from_secs(30), &mut std::io::sink());
            assert_eq!(n, 120);
            verify(&path, &(0..120).collect::<Vec<_>>());
        }
    }
}

#[test]
fn sigkill_mid_write_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut next = 0u64;
    let mut reported_all = Vec::new();
    // Three kills at different points, each on the database the previous kill left behind.
    for stop_after in [300, 500, 400] {
        let mut child = Command::new(&exe)
            .args([
                "crash::crash_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &path)
            .env(CHILD_START, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parsed = line.split(MARK).nth(1).map(|s| s.trim().parse::<u64>());
                let Some(Ok(i)) = parsed else { continue };
                if tx.send(i).is_err() {
                    break;
                }
            }
        });
        let mut reported = Vec::new();
        while reported.len() < stop_after {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(i) => reported.push(i),
                Err(e) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "child stopped reporting ({e}): {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no rollback, no checkpoint
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed, not finished");
        reader.join().unwrap();
        // Lines read after the kill decision were committed too; count them.
        reported.extend(rx.try_iter());
        reported_all.extend(reported);
        verify(&path, &reported_all);
        // The child may have committed writes beyond the last line it printed before it died
        // (a check without its push); the next child starts past them.
        let store = Store::open(&path).unwrap();
        let newest = &store.checks("shop", ENV, None, 1).unwrap()[0];
        next = index_of(newest.live_sha.as_ref().unwrap()) + 1;
    }
}
