//! Disk conditions: an environment's disk running out, announced once when it starts and once
//! when it ends. The row is the claim: inserting it claims the start notification (a second
//! insert for the same environment while one is open does nothing), and ending it claims the
//! end notification (a second end does nothing), so restarts and concurrent watchers never
//! repeat either.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::value::{from_ms, from_ms_opt, limit_i64, to_ms};
use crate::{Store, StoreError};

/// A period during which an environment's disk was running out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskCondition {
    pub id: i64,
    pub project: String,
    pub environment: String,
    /// The disk and its figures when it started: `/data 94 % used (6.1 GB free of 100 GB) — …`.
    pub detail: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The disk and its figures when it ended.
    pub end_detail: Option<String>,
}

const COLUMNS: &str = "id, project, environment, detail, started_at, ended_at, end_detail";

fn from_row(r: &Row<'_>) -> Result<DiskCondition, StoreError> {
    Ok(DiskCondition {
        id: r.get(0)?,
        project: r.get(1)?,
        environment: r.get(2)?,
        detail: r.get(3)?,
        started_at: from_ms("disk_conditions.started_at", r.get(4)?)?,
        ended_at: from_ms_opt("disk_conditions.ended_at", r.get(5)?)?,
        end_detail: r.get(6)?,
    })
}

impl Store {
    /// Starts a disk condition for an environment, unless one is open. Returns its id and
    /// whether this call started it: only then is its notification to be sent.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn start_disk_condition(
        &mut self,
        project: &str,
        environment: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO disk_conditions (project, environment, detail, started_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (project, environment) WHERE ended_at IS NULL DO NOTHING",
                )?
                .execute(params![project, environment, detail, to_ms(at)])?;
            let id: i64 = tx
                .prepare_cached(
                    "SELECT id FROM disk_conditions
                     WHERE project = ?1 AND environment = ?2 AND ended_at IS NULL",
                )?
                .query_row(params![project, environment], |r| r.get(0))?;
            Ok((id, inserted == 1))
        })
    }

    /// Ends an open disk condition. Returns whether this call ended it (false when it had
    /// already ended or does not exist): only then is the recovery to be announced.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn end_disk_condition(
        &mut self,
        id: i64,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE disk_conditions SET ended_at = ?2, end_detail = ?3
                     WHERE id = ?1 AND ended_at IS NULL",
                )?
                .execute(params![id, to_ms(at), detail])?
                == 1)
        })
    }

    /// The open disk condition of an environment, if any.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn open_disk_condition(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<Option<DiskCondition>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM disk_conditions
                 WHERE project = ?1 AND environment = ?2 AND ended_at IS NULL"
            ))?
            .query_row(params![project, environment], |r| Ok(from_row(r)))
            .optional()?
            .transpose()
    }

    /// Disk conditions, newest first, optionally of one project and environment.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn disk_conditions(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DiskCondition>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM disk_conditions
             WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR environment = ?2)
             ORDER BY started_at DESC, id DESC LIMIT ?3"
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
}
