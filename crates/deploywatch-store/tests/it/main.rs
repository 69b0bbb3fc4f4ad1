//! Integration tests of the store against real SQLite files in temporary directories.

mod checks;
mod ci;
mod crash;
mod disk;
mod history;
mod incidents;
mod lag_etag;
mod open;
mod pushes;

use chrono::{DateTime, TimeZone, Utc};
use deploywatch_core::{Report, Sha, Verdict};
use deploywatch_store::{PushRecord, Store};

/// A SHA from a short seed: `sha("a1")` is `a1` padded with zeros to 40 hex characters.
pub fn sha(seed: &str) -> Sha {
    Sha::parse(&format!("{seed:0<40}")).expect("test SHA seeds are hex")
}

/// A fixed instant plus `secs` seconds, so times are readable in assertions.
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
}

/// A minimal report of `project`/`env` at `t(secs)`.
pub fn report(
    project: &str,
    env: &str,
    verdict: Verdict,
    expected: Option<&str>,
    live: Option<&str>,
    secs: i64,
) -> Report {
    Report {
        project: project.into(),
        environment: env.into(),
        verdict,
        expected_sha: expected.map(sha),
        live_sha: live.map(sha),
        ci: None,
        checks: vec![],
        warnings: vec![],
        hint: String::new(),
        checked_at: t(secs),
        seen: vec![],
    }
}

pub fn push(project: &str, branch: &str, seed: &str, secs: i64) -> PushRecord {
    PushRecord {
        project: project.into(),
        branch: branch.into(),
        sha: sha(seed),
        author: Some("alice".into()),
        message: Some(format!("commit {seed}\n\nbody")),
        seen_at: t(secs),
    }
}

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("dw.db")).unwrap();
    (dir, store)
}
