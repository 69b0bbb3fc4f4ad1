//! Checks and the current state of each environment: every state change is stored, unchanged
//! checks only as a bounded sample, and the latest report of each environment is kept for
//! `deploywatch status`.

use chrono::{DateTime, Utc};
use deploywatch_core::{IncidentState, Report, Sha, Verdict};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::events::{EventRow, HistoryKind};
use crate::push::truncate;
use crate::value::{from_ms, from_ms_opt, limit_i64, sha_opt, to_ms, verdict};
use crate::{Store, StoreError};

/// The current state of one environment, as `deploywatch status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvState {
    pub project: String,
    pub environment: String,
    /// The latest report; its `checked_at` is the time of the last check.
    pub report: Report,
    pub next_check_at: Option<DateTime<Utc>>,
    /// The incident policy's state, so a restarted watcher does not announce an open incident
    /// again.
    pub incident: IncidentState,
}

/// One stored check, for browsing an environment's checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCheck {
    pub id: i64,
    pub checked_at: DateTime<Utc>,
    pub verdict: Verdict,
    pub expected_sha: Option<Sha>,
    pub live_sha: Option<Sha>,
    /// True for a state change (kept for ever), false for an unchanged sample (pruned).
    pub changed: bool,
}

impl StoredCheck {
    /// The cursor that continues the listing after this check.
    pub fn cursor(&self) -> CheckCursor {
        CheckCursor {
            checked_at: self.checked_at,
            id: self.id,
        }
    }
}

/// A position in an environment's checks: those strictly older, in (checked_at, id) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCursor {
    pub checked_at: DateTime<Utc>,
    pub id: i64,
}

/// The previous stored check of an environment, as far as change detection needs it.
struct Previous {
    checked_at: i64,
    verdict: String,
    expected: Option<String>,
    live: Option<String>,
}

/// Two optional SHAs denote the same commit (a short and a full form of one SHA match).
fn same_sha(a: Option<&Sha>, b: Option<&Sha>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.matches(b),
        (None, None) => true,
        _ => false,
    }
}

fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(what, e))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

impl Store {
    /// Records one check of an environment. Stores a row when `changed` is true, when the
    /// store itself sees a change from the environment's previous stored check (verdict,
    /// expected SHA or live SHA), for the first check of an environment, and otherwise as a
    /// sample: at most one unchanged check per environment per `sample_every` (default one
    /// hour; see [`Store::set_sample_every`]). A live SHA change and a verdict change each
    /// append a history event. The environment's state (see [`Store::env_state`]) is refreshed
    /// with the report either way, keeping its incident state and next check time.
    ///
    /// Returns whether a check row was inserted.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn record_check(&mut self, report: &Report, changed: bool) -> Result<bool, StoreError> {
        let json = to_json("report", report)?;
        let sample_every = self.sample_every_ms;
        self.write(|tx| {
            let at = to_ms(report.checked_at);
            let (project, env) = (report.project.as_str(), report.environment.as_str());
            let prev: Option<Previous> = tx
                .prepare_cached(
                    "SELECT checked_at, verdict, expected_sha, live_sha FROM checks
                     WHERE project = ?1 AND environment = ?2
                     ORDER BY checked_at DESC, id DESC LIMIT 1",
                )?
                .query_row(params![project, env], |r| {
                    Ok(Previous {
                        checked_at: r.get(0)?,
                        verdict: r.get(1)?,
                        expected: r.get(2)?,
                        live: r.get(3)?,
                    })
                })
                .optional()?;
            let verdict_changed = prev
                .as_ref()
                .is_none_or(|p| p.verdict != report.verdict.as_str());
            let expected_changed = prev.as_ref().is_none_or(|p| {
                let before = p.expected.as_deref().and_then(Sha::parse);
                !same_sha(before.as_ref(), report.expected_sha.as_ref())
            });
            // A live change is a new SHA being served. Going down and coming back with the same
            // SHA is not one, so compare with the last SHA that was seen at all.
            let live_before = match &report.live_sha {
                None => None,
                Some(_) => last_live_sha(tx, project, env, prev.as_ref())?,
            };
            let live_changed = match &report.live_sha {
                None => false,
                Some(now) => live_before.as_ref().is_none_or(|b| !b.matches(now)),
            };
            let is_change = changed || verdict_changed || expected_changed || live_changed;
            let sample_due = prev
                .as_ref()
                .is_none_or(|p| at.saturating_sub(p.checked_at) >= sample_every);
            let insert = is_change || sample_due;

            if insert {
                tx.prepare_cached(
                    "INSERT INTO checks (project, environment, checked_at, verdict, expected_sha,
                         live_sha, changed, report)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    project,
                    env,
                    at,
                    report.verdict.as_str(),
                    report.expected_sha.as_ref().map(Sha::as_str),
                    report.live_sha.as_ref().map(Sha::as_str),
                    is_change,
                    json,
                ])?;
                let check_id = tx.last_insert_rowid();
                if let (true, Some(live)) = (live_changed, &report.live_sha) {
                    let detail = match &live_before {
                        Some(b) => format!("{env} now serves {} (was {})", live.short(), b.short()),
                        None => format!("{env} serves {}", live.short()),
                    };
                    EventRow {
                        at,
                        kind: HistoryKind::LiveChanged,
                        project,
                        environment: Some(env),
                        sha: Some(live),
                        verdict: Some(report.verdict),
                        detail: &detail,
                        check_id: Some(check_id),
                        incident_id: None,
                    }
                    .insert(tx)?;
                }
                if verdict_changed {
                    let mut detail = match prev.as_ref().and_then(|p| Verdict::parse(&p.verdict)) {
                        Some(before) => format!("{} (was {before})", report.verdict),
                        None => report.verdict.to_string(),
                    };
                    if !report.hint.is_empty() {
                        detail.push_str(": ");
                        detail.push_str(&truncate(&report.hint, 300));
                    }
                    EventRow {
                        at,
                        kind: HistoryKind::VerdictChanged,
                        project,
                        environment: Some(env),
                        sha: report.expected_sha.as_ref(),
                        verdict: Some(report.verdict),
                        detail: &detail,
                        check_id: Some(check_id),
                        incident_id: None,
                    }
                    .insert(tx)?;
                }
            }

            // The latest report always reaches `status`, stored or not.
            tx.prepare_cached(
                "INSERT INTO env_state (project, environment, verdict, checked_at, report,
                     incident)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (project, environment) DO UPDATE SET
                     verdict = excluded.verdict, checked_at = excluded.checked_at,
                     report = excluded.report",
            )?
            .execute(params![
                project,
                env,
                report.verdict.as_str(),
                at,
                json,
                to_json("incident state", &IncidentState::default())?,
            ])?;
            Ok(insert)
        })
    }

    /// Replaces the stored state of an environment (report, next check, incident state).
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn set_env_state(&mut self, s: &EnvState) -> Result<(), StoreError> {
        let report = to_json("report", &s.report)?;
        let incident = to_json("incident state", &s.incident)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO env_state (project, environment, verdict, checked_at, next_check_at,
                     report, incident)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (project, environment) DO UPDATE SET
                     verdict = excluded.verdict, checked_at = excluded.checked_at,
                     next_check_at = excluded.next_check_at, report = excluded.report,
                     incident = excluded.incident",
            )?
            .execute(params![
                s.project,
                s.environment,
                s.report.verdict.as_str(),
                to_ms(s.report.checked_at),
                s.next_check_at.map(to_ms),
                report,
                incident,
            ])?;
            Ok(())
        })
    }

    /// Forgets the state of an environment that is no longer configured (its history stays).
    /// Returns whether there was one.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn remove_env_state(
        &mut self,
        project: &str,
        environment: &str,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM env_state WHERE project = ?1 AND environment = ?2")?
                .execute(params![project, environment])?;
            Ok(n > 0)
        })
    }

    /// The state of every environment, ordered by project and environment.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] naming the environment whose stored JSON cannot
    /// be read.
    pub fn env_states(&self) -> Result<Vec<EnvState>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT project, environment, next_check_at, report, incident FROM env_state
             ORDER BY project, environment",
        )?;
        let rows = stmt.query_map([], |r| Ok(env_state_from_row(r)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    /// The state of one environment, if it was ever checked.
    ///
    /// # Errors
    /// As [`Store::env_states`].
    pub fn env_state(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<Option<EnvState>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT project, environment, next_check_at, report, incident FROM env_state
                 WHERE project = ?1 AND environment = ?2",
            )?
            .query_row(params![project, environment], |r| Ok(env_state_from_row(r)))
            .optional()?
            .transpose()
    }

    /// Stored checks of one environment, newest first, keyset-paged on (checked_at, id).
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn checks(
        &self,
        project: &str,
        environment: &str,
        before: Option<CheckCursor>,
        limit: usize,
    ) -> Result<Vec<StoredCheck>, StoreError> {
        let (at, id) = before.map_or((i64::MAX, i64::MAX), |c| (to_ms(c.checked_at), c.id));
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, checked_at, verdict, expected_sha, live_sha, changed FROM checks
             WHERE project = ?1 AND environment = ?2
               AND checked_at <= ?3 AND (checked_at < ?3 OR id < ?4)
             ORDER BY checked_at DESC, id DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![
                project,
                environment,
                at,
                id,
                limit_i64(limit.clamp(1, 10_000))
            ],
            |r| Ok(check_from_row(r)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    /// The full report of a stored check (as linked from history events by `check_id`).
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] when the stored JSON cannot be read.
    pub fn check_report(&self, check_id: i64) -> Result<Option<Report>, StoreError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT report FROM checks WHERE id = ?1")?
            .query_row(params![check_id], |r| r.get(0))
            .optional()?;
        json.map(|j| from_json(&format!("report of check {check_id}"), &j))
            .transpose()
    }

    /// Deletes unchanged sample checks older than `older_than`; every state change, and the
    /// history, is kept. Returns how many checks were deleted.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn prune(&mut self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = to_ms(older_than);
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM checks WHERE changed = 0 AND checked_at < ?1")?
                .execute(params![cutoff])?)
        })
    }
}

/// The live SHA of the latest stored check that had one. `prev` is the latest stored check,
/// which usually answers without a second query.
fn last_live_sha(
    tx: &Connection,
    project: &str,
    env: &str,
    prev: Option<&Previous>,
) -> Result<Option<Sha>, StoreError> {
    let Some(prev) = prev else { return Ok(None) };
    if let Some(live) = &prev.live {
        return sha_opt("checks.live_sha", Some(live.clone()));
    }
    let live: Option<String> = tx
        .prepare_cached(
            "SELECT live_sha FROM checks
             WHERE project = ?1 AND environment = ?2 AND live_sha IS NOT NULL
             ORDER BY checked_at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![project, env], |r| r.get(0))
        .optional()?;
    sha_opt("checks.live_sha", live)
}

fn check_from_row(r: &Row<'_>) -> Result<StoredCheck, StoreError> {
    Ok(StoredCheck {
        id: r.get(0)?,
        checked_at: from_ms("checks.checked_at", r.get(1)?)?,
        verdict: verdict("checks.verdict", &r.get::<_, String>(2)?)?,
        expected_sha: sha_opt("checks.expected_sha", r.get(3)?)?,
        live_sha: sha_opt("checks.live_sha", r.get(4)?)?,
        changed: r.get(5)?,
    })
}

fn env_state_from_row(r: &Row<'_>) -> Result<EnvState, StoreError> {
    let project: String = r.get(0)?;
    let environment: String = r.get(1)?;
    let report: String = r.get(3)?;
    let incident: String = r.get(4)?;
    let what = |field: &str| format!("{field} of {project} / {environment}");
    Ok(EnvState {
        next_check_at: from_ms_opt(&what("next check time"), r.get(2)?)?,
        report: from_json(&what("report"), &report)?,
        incident: from_json(&what("incident state"), &incident)?,
        project,
        environment,
    })
}
