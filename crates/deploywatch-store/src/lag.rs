//! Deploy lag, observed rather than self-reported: when each SHA was first seen pushed, CI
//! green, live, and live on every replica, per environment.

use chrono::{DateTime, TimeDelta, Utc};
use deploywatch_core::Sha;
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use crate::value::{from_ms_opt, limit_i64, sha, to_ms};
use crate::{Store, StoreError};

/// A stage in the life of a pushed SHA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagStage {
    Pushed,
    CiGreen,
    FirstLive,
    AllReplicasLive,
}

impl LagStage {
    fn column(self) -> &'static str {
        match self {
            LagStage::Pushed => "pushed_at",
            LagStage::CiGreen => "ci_green_at",
            LagStage::FirstLive => "first_live_at",
            LagStage::AllReplicasLive => "all_replicas_live_at",
        }
    }
}

/// The observed stages of one SHA in one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployLag {
    pub project: String,
    pub environment: String,
    pub sha: Sha,
    pub pushed_at: Option<DateTime<Utc>>,
    pub ci_green_at: Option<DateTime<Utc>>,
    pub first_live_at: Option<DateTime<Utc>>,
    pub all_replicas_live_at: Option<DateTime<Utc>>,
}

impl DeployLag {
    /// From first seen pushed to first seen live, when both were observed.
    pub fn push_to_live(&self) -> Option<TimeDelta> {
        Some(self.first_live_at? - self.pushed_at?)
    }

    /// From CI green to first seen live, when both were observed.
    pub fn ci_to_live(&self) -> Option<TimeDelta> {
        Some(self.first_live_at? - self.ci_green_at?)
    }
}

fn from_row(r: &Row<'_>) -> Result<DeployLag, StoreError> {
    Ok(DeployLag {
        project: r.get(0)?,
        environment: r.get(1)?,
        sha: sha("deploy_lag.sha", &r.get::<_, String>(2)?)?,
        pushed_at: from_ms_opt("deploy_lag.pushed_at", r.get(3)?)?,
        ci_green_at: from_ms_opt("deploy_lag.ci_green_at", r.get(4)?)?,
        first_live_at: from_ms_opt("deploy_lag.first_live_at", r.get(5)?)?,
        all_replicas_live_at: from_ms_opt("deploy_lag.all_replicas_live_at", r.get(6)?)?,
    })
}

impl Store {
    /// Records that `sha` reached `stage` in an environment at `at`. Only the first time of
    /// each stage is kept; later marks of the same stage change nothing. Pass the pushed
    /// (full) SHA for every stage so the stages of one deploy land on one row.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn mark_lag(
        &mut self,
        project: &str,
        environment: &str,
        sha: &Sha,
        stage: LagStage,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = to_ms(at);
        // The column name comes from a closed enum, never from input.
        let sql = format!(
            "INSERT INTO deploy_lag (project, environment, sha, created_at, {col})
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (project, environment, sha) DO UPDATE SET
                 {col} = coalesce({col}, excluded.{col})",
            col = stage.column()
        );
        self.write(|tx| {
            tx.prepare_cached(&sql)?
                .execute(params![project, environment, sha.as_str(), at])?;
            Ok(())
        })
    }

    /// Deploy lags, newest first (by the first stage recorded), optionally of one project and
    /// environment.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn deploy_lags(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeployLag>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT project, environment, sha, pushed_at, ci_green_at, first_live_at,
                 all_replicas_live_at
             FROM deploy_lag
             WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR environment = ?2)
             ORDER BY created_at DESC, rowid DESC LIMIT ?3",
        )?;
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
