//! Pushes: the head of each watched branch, one row each time it changes.

use chrono::{DateTime, Utc};
use deploywatch_core::Sha;
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::events::{EventRow, HistoryKind};
use crate::value::{from_ms, sha, to_ms};
use crate::{Store, StoreError};

/// A branch head as polled from GitHub.
#[derive(Clone, Debug, PartialEq)]
pub struct PushRecord {
    pub project: String,
    pub branch: String,
    pub sha: Sha,
    pub author: Option<String>,
    /// The commit message (only its first line is shown in history).
    pub message: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// A branch head as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredPush {
    pub project: String,
    pub branch: String,
    pub sha: Sha,
    pub author: Option<String>,
    pub message: Option<String>,
    /// The first time this SHA was seen on the branch (kept across later sightings, and when
    /// the branch returns to it after another head).
    pub first_seen: DateTime<Utc>,
    /// When it (last) became the head.
    pub head_at: DateTime<Utc>,
    /// The latest poll that saw it as the head.
    pub last_seen: DateTime<Utc>,
}

const COLUMNS: &str = "project, branch, sha, author, message, first_seen, head_at, last_seen";

fn from_row(r: &Row<'_>) -> Result<StoredPush, StoreError> {
    Ok(StoredPush {
        project: r.get(0)?,
        branch: r.get(1)?,
        sha: sha("pushes.sha", &r.get::<_, String>(2)?)?,
        author: r.get(3)?,
        message: r.get(4)?,
        first_seen: from_ms("pushes.first_seen", r.get(5)?)?,
        head_at: from_ms("pushes.head_at", r.get(6)?)?,
        last_seen: from_ms("pushes.last_seen", r.get(7)?)?,
    })
}

impl Store {
    /// Records the head of a watched branch. Seeing the current head again only refreshes
    /// `last_seen` (and fills author or message if they were missing); a different SHA becomes
    /// the new head and a `push` history event.
    ///
    /// Returns true when the head changed: a SHA not seen before, or one the branch returned to
    /// (a force-push back). The first time a SHA was ever seen is kept in `first_seen`.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn record_push(&mut self, p: &PushRecord) -> Result<bool, StoreError> {
        self.write(|tx| {
            let seen = to_ms(p.seen_at);
            let head: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT id, sha FROM pushes WHERE project = ?1 AND branch = ?2
                     ORDER BY id DESC LIMIT 1",
                )?
                .query_row(params![p.project, p.branch], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((id, _)) = head.filter(|(_, s)| s == p.sha.as_str()) {
                tx.prepare_cached(
                    "UPDATE pushes SET last_seen = max(last_seen, ?2),
                         author = coalesce(author, ?3), message = coalesce(message, ?4)
                     WHERE id = ?1",
                )?
                .execute(params![id, seen, p.author, p.message])?;
                return Ok(false);
            }
            let first_seen: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(min(first_seen), ?4) FROM pushes
                     WHERE project = ?1 AND branch = ?2 AND sha = ?3",
                )?
                .query_row(params![p.project, p.branch, p.sha.as_str(), seen], |r| {
                    r.get(0)
                })?;
            tx.prepare_cached(
                "INSERT INTO pushes (project, branch, sha, author, message, first_seen, head_at,
                     last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![
                p.project,
                p.branch,
                p.sha.as_str(),
                p.author,
                p.message,
                first_seen,
                seen
            ])?;
            let mut detail = format!("{} is the head of {}", p.sha.short(), p.branch);
            if let Some(author) = &p.author {
                detail.push_str(&format!(" (by {author})"));
            }
            if let Some(line) = p.message.as_deref().and_then(|m| m.lines().next()) {
                detail.push_str(": ");
                detail.push_str(&truncate(line, 200));
            }
            EventRow {
                at: seen,
                kind: HistoryKind::Push,
                project: &p.project,
                environment: None,
                sha: Some(&p.sha),
                verdict: None,
                detail: &detail,
                check_id: None,
                incident_id: None,
            }
            .insert(tx)?;
            Ok(true)
        })
    }

    /// The current head of a branch, if any push was recorded.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn latest_push(
        &self,
        project: &str,
        branch: &str,
    ) -> Result<Option<StoredPush>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pushes WHERE project = ?1 AND branch = ?2
             ORDER BY id DESC LIMIT 1"
        );
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![project, branch], |r| Ok(from_row(r)))
            .optional()?
            .transpose()
    }

    /// The SHAs most recently seen at the head of a branch, newest first, at most `limit`:
    /// commits of the watched repository, which fingerprint detection takes as strong evidence.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn recent_push_shas(
        &self,
        project: &str,
        branch: &str,
        limit: usize,
    ) -> Result<Vec<Sha>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha FROM pushes WHERE project = ?1 AND branch = ?2
             GROUP BY sha ORDER BY max(id) DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![project, branch, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| r.get::<_, String>(0),
        )?;
        let mut shas = Vec::new();
        for row in rows {
            let text = row?;
            let sha = Sha::parse(&text).ok_or_else(|| {
                StoreError::corrupt("pushes.sha", format!("{text:?} is not a SHA"))
            })?;
            shas.push(sha);
        }
        Ok(shas)
    }

    /// The head before `before_sha` last became the head: the usual suspect when the old SHA is
    /// still live. `None` when `before_sha` was never the head or was the first one recorded.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn previous_push(
        &self,
        project: &str,
        branch: &str,
        before_sha: &Sha,
    ) -> Result<Option<StoredPush>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pushes
             WHERE project = ?1 AND branch = ?2 AND sha <> ?3 AND id < (
                 SELECT max(id) FROM pushes WHERE project = ?1 AND branch = ?2 AND sha = ?3)
             ORDER BY id DESC LIMIT 1"
        );
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![project, branch, before_sha.as_str()], |r| {
                Ok(from_row(r))
            })
            .optional()?
            .transpose()
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
