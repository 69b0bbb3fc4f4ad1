//! CI runs seen on GitHub, upserted by run id, with a history event per status change.

use chrono::{DateTime, Utc};
use deploywatch_core::{CiRun, Sha};
use rusqlite::{OptionalExtension, Row, params};

use crate::events::{EventRow, HistoryKind};
use crate::value::{from_ms, from_ms_opt, sha, to_ms};
use crate::{Store, StoreError};

fn run_id(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::OutOfRange {
        what: "CI run id",
        value: id.to_string(),
    })
}

fn from_row(r: &Row<'_>) -> Result<CiRun, StoreError> {
    let id: i64 = r.get(0)?;
    Ok(CiRun {
        id: u64::try_from(id).map_err(|_| StoreError::corrupt("ci_runs.run_id", id))?,
        workflow: r.get(1)?,
        head_sha: sha("ci_runs.head_sha", &r.get::<_, String>(2)?)?,
        status: r.get(3)?,
        conclusion: r.get(4)?,
        url: r.get(5)?,
        created_at: from_ms("ci_runs.created_at", r.get(6)?)?,
        completed_at: from_ms_opt("ci_runs.completed_at", r.get(7)?)?,
    })
}

impl Store {
    /// Records a CI run as seen at `seen_at`: inserts it the first time, keeps its first-seen
    /// time, and stores the latest status, conclusion, URL and completion time.
    ///
    /// Returns true when the run is new or its status or conclusion changed (then a `ci_run`
    /// history event is appended).
    ///
    /// # Errors
    /// [`StoreError::OutOfRange`] for a run id above `i64::MAX`; SQLite errors.
    pub fn record_ci_run(
        &mut self,
        project: &str,
        run: &CiRun,
        seen_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = run_id(run.id)?;
        self.write(|tx| {
            let seen = to_ms(seen_at);
            let before: Option<(String, Option<String>)> = tx
                .prepare_cached(
                    "SELECT status, conclusion FROM ci_runs WHERE project = ?1 AND run_id = ?2",
                )?
                .query_row(params![project, id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let changed = before.as_ref().is_none_or(|(status, conclusion)| {
                *status != run.status || *conclusion != run.conclusion
            });
            tx.prepare_cached(
                "INSERT INTO ci_runs (project, run_id, workflow, head_sha, status, conclusion, url,
                     created_at, completed_at, first_seen, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT (project, run_id) DO UPDATE SET
                     workflow = excluded.workflow, status = excluded.status,
                     conclusion = excluded.conclusion, url = excluded.url,
                     completed_at = excluded.completed_at,
                     changed_at = CASE WHEN ?11 THEN excluded.changed_at ELSE changed_at END",
            )?
            .execute(params![
                project,
                id,
                run.workflow,
                run.head_sha.as_str(),
                run.status,
                run.conclusion,
                run.url,
                to_ms(run.created_at),
                run.completed_at.map(to_ms),
                seen,
                changed,
            ])?;
            if changed {
                let state = match &run.conclusion {
                    Some(c) => format!("{} ({c})", run.status),
                    None => run.status.clone(),
                };
                let detail = format!(
                    "CI {} run {} for {}: {state}",
                    run.workflow,
                    run.id,
                    run.head_sha.short()
                );
                EventRow {
                    at: seen,
                    kind: HistoryKind::CiRun,
                    project,
                    environment: None,
                    sha: Some(&run.head_sha),
                    verdict: None,
                    detail: &detail,
                    check_id: None,
                    incident_id: None,
                }
                .insert(tx)?;
            }
            Ok(changed)
        })
    }

    /// The CI runs recorded for a commit of a project, newest first, with their latest status.
    /// `sha` may be short: runs whose head SHA starts with it match.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn ci_runs_for(&self, project: &str, sha: &Sha) -> Result<Vec<CiRun>, StoreError> {
        // A prefix range on the (project, head_sha) index: every hex string that starts with
        // `sha` sorts between `sha` and `sha` followed by a character above 'f'.
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_id, workflow, head_sha, status, conclusion, url, created_at, completed_at
             FROM ci_runs WHERE project = ?1 AND head_sha >= ?2 AND head_sha < ?2 || 'g'
             ORDER BY created_at DESC, run_id DESC",
        )?;
        let rows = stmt.query_map(params![project, sha.as_str()], |r| Ok(from_row(r)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }
}
