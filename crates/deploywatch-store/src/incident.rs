//! Incidents (open, change cause, resolve) and the notifications claimed for them, so that each
//! alert is sent at most once even across restarts.

use chrono::{DateTime, Utc};
use deploywatch_core::{Sha, Verdict};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::events::{EventRow, HistoryKind};
use crate::value::{from_ms, from_ms_opt, limit_i64, sha_opt, to_ms, verdict};
use crate::{Store, StoreError};

/// A period during which an environment's verdict was an alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub project: String,
    pub environment: String,
    /// The current cause (the last one, once resolved).
    pub verdict: Verdict,
    /// The cause it opened with.
    pub opened_verdict: Verdict,
    pub expected_sha: Option<Sha>,
    pub opened_at: DateTime<Utc>,
    pub cause_changed_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which announcement a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Open,
    Cause,
    Resolve,
    /// A deploy verified live (`[notifications] verified_live`): once per environment and SHA.
    Live,
}

impl NotificationKind {
    fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Open => "open",
            NotificationKind::Cause => "cause",
            NotificationKind::Resolve => "resolve",
            NotificationKind::Live => "live",
        }
    }
}

/// What a notification is about, for at-most-once sending.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NotificationKey {
    pub project: String,
    pub environment: String,
    pub expected_sha: Option<Sha>,
    /// The alert verdict (for `Resolve`: the incident's last cause).
    pub verdict: Verdict,
    pub kind: NotificationKind,
}

impl NotificationKey {
    /// The uniqueness key. An alert (`Open` or `Cause`) is sent at most once per (project,
    /// environment, expected SHA, verdict), whichever way the verdict was reached, as SPEC §4
    /// says. A resolve is sent at most once per incident, so every incident that announced
    /// itself also announces its end, even when an earlier incident had the same key.
    fn dedupe(&self, incident_id: Option<i64>) -> String {
        let sha = self.expected_sha.as_ref().map_or("", Sha::as_str);
        // Fields are joined with the unit separator (U+001F), which no project name,
        // environment name or SHA contains in practice, so distinct keys stay distinct.
        match (self.kind, incident_id) {
            (NotificationKind::Resolve, Some(id)) => format!("resolve\u{1f}{id}"),
            (NotificationKind::Resolve, None) => format!(
                "resolve\u{1f}\u{1f}{}\u{1f}{}\u{1f}{sha}\u{1f}{}",
                self.project, self.environment, self.verdict
            ),
            (NotificationKind::Live, _) => format!(
                "live\u{1f}{}\u{1f}{}\u{1f}{sha}",
                self.project, self.environment
            ),
            (NotificationKind::Open | NotificationKind::Cause, _) => format!(
                "alert\u{1f}{}\u{1f}{}\u{1f}{sha}\u{1f}{}",
                self.project, self.environment, self.verdict
            ),
        }
    }
}

const COLUMNS: &str = "id, project, environment, verdict, opened_verdict, expected_sha, opened_at,
    cause_changed_at, resolved_at";

fn from_row(r: &Row<'_>) -> Result<Incident, StoreError> {
    Ok(Incident {
        id: r.get(0)?,
        project: r.get(1)?,
        environment: r.get(2)?,
        verdict: verdict("incidents.verdict", &r.get::<_, String>(3)?)?,
        opened_verdict: verdict("incidents.opened_verdict", &r.get::<_, String>(4)?)?,
        expected_sha: sha_opt("incidents.expected_sha", r.get(5)?)?,
        opened_at: from_ms("incidents.opened_at", r.get(6)?)?,
        cause_changed_at: from_ms_opt("incidents.cause_changed_at", r.get(7)?)?,
        resolved_at: from_ms_opt("incidents.resolved_at", r.get(8)?)?,
    })
}

fn incident_in(tx: &Connection, id: i64) -> Result<Incident, StoreError> {
    tx.prepare_cached(&format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"))?
        .query_row(params![id], |r| Ok(from_row(r)))
        .optional()?
        .transpose()?
        .ok_or(StoreError::IncidentNotFound { id })
}

impl Store {
    /// Opens an incident for an environment and appends an `incident_opened` event. Returns
    /// its id.
    ///
    /// # Errors
    /// [`StoreError::IncidentAlreadyOpen`] (with the open one's id) when the environment has
    /// one open; SQLite errors.
    pub fn open_incident(
        &mut self,
        project: &str,
        environment: &str,
        verdict: Verdict,
        expected: Option<&Sha>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            let open: Option<i64> = tx
                .prepare_cached(
                    "SELECT id FROM incidents
                     WHERE project = ?1 AND environment = ?2 AND resolved_at IS NULL",
                )?
                .query_row(params![project, environment], |r| r.get(0))
                .optional()?;
            if let Some(id) = open {
                return Err(StoreError::IncidentAlreadyOpen {
                    project: project.to_string(),
                    environment: environment.to_string(),
                    id,
                });
            }
            let at = to_ms(at);
            tx.prepare_cached(
                "INSERT INTO incidents (project, environment, verdict, opened_verdict,
                     expected_sha, opened_at)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
            )?
            .execute(params![
                project,
                environment,
                verdict.as_str(),
                expected.map(Sha::as_str),
                at
            ])?;
            let id = tx.last_insert_rowid();
            let detail = match expected {
                Some(sha) => format!("{} (expected {})", verdict.title(), sha.short()),
                None => verdict.title().to_string(),
            };
            EventRow {
                at,
                kind: HistoryKind::IncidentOpened,
                project,
                environment: Some(environment),
                sha: expected,
                verdict: Some(verdict),
                detail: &detail,
                check_id: None,
                incident_id: Some(id),
            }
            .insert(tx)?;
            Ok(id)
        })
    }

    /// Records that an open incident's cause changed, with an `incident_cause_changed` event.
    /// A change to the cause it already has is a no-op.
    ///
    /// # Errors
    /// [`StoreError::IncidentNotFound`], [`StoreError::IncidentResolved`]; SQLite errors.
    pub fn change_incident_cause(
        &mut self,
        id: i64,
        verdict: Verdict,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let inc = incident_in(tx, id)?;
            if inc.resolved_at.is_some() {
                return Err(StoreError::IncidentResolved { id });
            }
            if inc.verdict == verdict {
                return Ok(());
            }
            let at = to_ms(at);
            tx.prepare_cached(
                "UPDATE incidents SET verdict = ?2, cause_changed_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, verdict.as_str(), at])?;
            let detail = format!("{} → {}", inc.verdict.title(), verdict.title());
            EventRow {
                at,
                kind: HistoryKind::IncidentCauseChanged,
                project: &inc.project,
                environment: Some(&inc.environment),
                sha: inc.expected_sha.as_ref(),
                verdict: Some(verdict),
                detail: &detail,
                check_id: None,
                incident_id: Some(id),
            }
            .insert(tx)?;
            Ok(())
        })
    }

    /// Resolves an open incident, with an `incident_resolved` event.
    ///
    /// # Errors
    /// [`StoreError::IncidentNotFound`], [`StoreError::IncidentResolved`] (it resolves once);
    /// SQLite errors.
    pub fn resolve_incident(&mut self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|tx| {
            let inc = incident_in(tx, id)?;
            if inc.resolved_at.is_some() {
                return Err(StoreError::IncidentResolved { id });
            }
            let at_ms = to_ms(at);
            tx.prepare_cached("UPDATE incidents SET resolved_at = ?2 WHERE id = ?1")?
                .execute(params![id, at_ms])?;
            let minutes = (at - inc.opened_at).num_minutes().max(0);
            let detail = format!("resolved after {minutes} min (was {})", inc.verdict.title());
            EventRow {
                at: at_ms,
                kind: HistoryKind::IncidentResolved,
                project: &inc.project,
                environment: Some(&inc.environment),
                sha: inc.expected_sha.as_ref(),
                verdict: Some(inc.verdict),
                detail: &detail,
                check_id: None,
                incident_id: Some(id),
            }
            .insert(tx)?;
            Ok(())
        })
    }

    /// The open incident of an environment, if any.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn open_incident_for(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<Option<Incident>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM incidents
                 WHERE project = ?1 AND environment = ?2 AND resolved_at IS NULL"
            ))?
            .query_row(params![project, environment], |r| Ok(from_row(r)))
            .optional()?
            .transpose()
    }

    /// Incidents, newest first, optionally of one project and environment.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn incidents(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM incidents
             WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR environment = ?2)
             ORDER BY opened_at DESC, id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![project, environment, limit_i64(limit.clamp(1, 10_000))],
            |r| Ok(from_row(r)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    /// Claims a notification before sending it. Returns true the first time (send it), false
    /// when it was already claimed (do not send again): see [`NotificationKey`] for what counts
    /// as the same notification.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn claim_notification(
        &mut self,
        n: &NotificationKey,
        incident_id: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let dedupe = n.dedupe(incident_id);
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO notifications (dedupe, project, environment, expected_sha,
                         verdict, kind, incident_id, claimed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (dedupe) DO NOTHING",
                )?
                .execute(params![
                    dedupe,
                    n.project,
                    n.environment,
                    n.expected_sha.as_ref().map(Sha::as_str),
                    n.verdict.as_str(),
                    n.kind.as_str(),
                    incident_id,
                    to_ms(at),
                ])?;
            Ok(inserted == 1)
        })
    }

    /// Gives back a claim whose sending failed (webhook down), so a later attempt may send it.
    /// Returns whether a claim was released.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn release_notification(
        &mut self,
        n: &NotificationKey,
        incident_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let dedupe = n.dedupe(incident_id);
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM notifications WHERE dedupe = ?1")?
                .execute(params![dedupe])?
                == 1)
        })
    }
}
