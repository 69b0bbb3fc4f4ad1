//! The history timeline: pushes, CI status changes, live SHA changes, verdict changes and
//! incidents, appended by the writes that cause them and read newest first with keyset paging.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use deploywatch_core::{Sha, Verdict};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use crate::value::{from_ms, limit_i64, sha_opt, to_ms, verdict_opt};
use crate::{Store, StoreError};

/// What a history event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// The head of the watched branch changed.
    Push,
    /// A CI run was first seen or changed status or conclusion.
    CiRun,
    /// The environment started serving another SHA.
    LiveChanged,
    /// The environment's verdict changed.
    VerdictChanged,
    IncidentOpened,
    IncidentCauseChanged,
    IncidentResolved,
    /// A command from the config ran for an incident event (see [`crate::ActionRun`]).
    ActionRan,
    /// A webhook delivery that needed retries or failed (see [`Store::record_delivery`]).
    WebhookDelivery,
}

impl HistoryKind {
    pub const ALL: [HistoryKind; 9] = [
        HistoryKind::Push,
        HistoryKind::CiRun,
        HistoryKind::LiveChanged,
        HistoryKind::VerdictChanged,
        HistoryKind::IncidentOpened,
        HistoryKind::IncidentCauseChanged,
        HistoryKind::IncidentResolved,
        HistoryKind::ActionRan,
        HistoryKind::WebhookDelivery,
    ];

    /// The stable name used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Push => "push",
            HistoryKind::CiRun => "ci_run",
            HistoryKind::LiveChanged => "live_changed",
            HistoryKind::VerdictChanged => "verdict_changed",
            HistoryKind::IncidentOpened => "incident_opened",
            HistoryKind::IncidentCauseChanged => "incident_cause_changed",
            HistoryKind::IncidentResolved => "incident_resolved",
            HistoryKind::ActionRan => "action_ran",
            HistoryKind::WebhookDelivery => "webhook_delivery",
        }
    }

    pub fn parse(s: &str) -> Option<HistoryKind> {
        HistoryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for HistoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the history, as `history --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Unique and increasing in insertion order; with `at`, the paging key.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: HistoryKind,
    pub project: String,
    /// `None` for project-wide events (pushes, CI runs).
    pub environment: Option<String>,
    pub sha: Option<Sha>,
    pub verdict: Option<Verdict>,
    /// One line for people ("abc1234 is the head of main (by alice): Fix login").
    pub detail: String,
    /// The stored check behind a live or verdict change; see [`Store::check_report`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<i64>,
}

impl HistoryEvent {
    /// The cursor that continues the listing after this event (pass it as `before`).
    pub fn cursor(&self) -> HistoryCursor {
        HistoryCursor {
            at: self.at,
            id: self.id,
        }
    }
}

/// A position in the history: events strictly older than it, in (at, id) order.
///
/// Displays as `<millis>-<id>` so it can travel through a URL or a CLI flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl fmt::Display for HistoryCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.at.timestamp_millis(), self.id)
    }
}

impl FromStr for HistoryCursor {
    type Err = String;
    /// Parses `<millis>-<id>` as [`HistoryCursor`]'s `Display` writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a history cursor: {s:?} (expected <millis>-<id>)");
        // Millis may be negative (before 1970), so split at the last '-'.
        let (ms, id) = s.rsplit_once('-').ok_or_else(bad)?;
        let ms: i64 = ms.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
        Ok(HistoryCursor { at, id })
    }
}

/// Which history to list. The default lists everything, 100 events at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryFilter {
    pub project: Option<String>,
    /// Only events of this environment, plus (with `include_project_events`) the project-wide
    /// events (pushes, CI runs) of the selected projects, which concern every environment.
    pub environment: Option<String>,
    /// With `environment` set: also list pushes and CI runs. Default true.
    pub include_project_events: bool,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events carrying this verdict (verdict changes, live changes and incidents).
    pub verdict: Option<Verdict>,
    /// Page size; clamped to 1..=10 000.
    pub limit: usize,
    /// Continue after this event (keyset paging): pass the last event's [`HistoryEvent::cursor`].
    pub before: Option<HistoryCursor>,
}

impl Default for HistoryFilter {
    fn default() -> Self {
        HistoryFilter {
            project: None,
            environment: None,
            include_project_events: true,
            since: None,
            verdict: None,
            limit: 100,
            before: None,
        }
    }
}

/// The largest page [`Store::history`] returns.
pub const MAX_HISTORY_PAGE: usize = 10_000;

/// An event about to be appended, borrowed from the write that causes it.
pub(crate) struct EventRow<'a> {
    pub at: i64,
    pub kind: HistoryKind,
    pub project: &'a str,
    pub environment: Option<&'a str>,
    pub sha: Option<&'a Sha>,
    pub verdict: Option<Verdict>,
    pub detail: &'a str,
    pub check_id: Option<i64>,
    pub incident_id: Option<i64>,
}

impl EventRow<'_> {
    pub(crate) fn insert(&self, tx: &Connection) -> Result<(), StoreError> {
        tx.prepare_cached(
            "INSERT INTO events (at, kind, project, environment, sha, verdict, detail, check_id,
                 incident_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            self.at,
            self.kind.as_str(),
            self.project,
            self.environment,
            self.sha.map(Sha::as_str),
            self.verdict.map(Verdict::as_str),
            self.detail,
            self.check_id,
            self.incident_id,
        ])?;
        Ok(())
    }
}

fn from_row(r: &Row<'_>) -> Result<HistoryEvent, StoreError> {
    let kind: String = r.get(2)?;
    Ok(HistoryEvent {
        id: r.get(0)?,
        at: from_ms("events.at", r.get(1)?)?,
        kind: HistoryKind::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("events.kind", format!("{kind:?}")))?,
        project: r.get(3)?,
        environment: r.get(4)?,
        sha: sha_opt("events.sha", r.get(5)?)?,
        verdict: verdict_opt("events.verdict", r.get(6)?)?,
        detail: r.get(7)?,
        check_id: r.get(8)?,
        incident_id: r.get(9)?,
    })
}

const COLUMNS: &str =
    "id, at, kind, project, environment, sha, verdict, detail, check_id, incident_id";

impl Store {
    /// Appends a `webhook_delivery` event: a notice about `project`/`environment` whose
    /// webhook delivery needed retries or failed; `detail` says how it went.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_delivery(
        &mut self,
        project: &str,
        environment: &str,
        at: DateTime<Utc>,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            EventRow {
                at: to_ms(at),
                kind: HistoryKind::WebhookDelivery,
                project,
                environment: Some(environment),
                sha: None,
                verdict: None,
                detail,
                check_id: None,
                incident_id: None,
            }
            .insert(tx)
        })
    }

    /// The history, newest first, one page of at most `f.limit` events.
    ///
    /// Paging is by keyset on (at, id), so a deep page costs the same as the first one: pass
    /// the last event's cursor as `before` to get the next page.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn history(&self, f: &HistoryFilter) -> Result<Vec<HistoryEvent>, StoreError> {
        let limit = limit_i64(f.limit.clamp(1, MAX_HISTORY_PAGE));
        // Conditions shared by every branch of the query.
        let mut common: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(since) = f.since {
            common.push("at >= ?");
            args.push(Value::Integer(to_ms(since)));
        }
        if let Some(c) = f.before {
            // `at <= ?` alone bounds the index range; the OR settles ties on `at` by id.
            common.push("at <= ? AND (at < ? OR id < ?)");
            let at = to_ms(c.at);
            args.extend([Value::Integer(at), Value::Integer(at), Value::Integer(c.id)]);
        }
        if let Some(v) = f.verdict {
            common.push("verdict = ?");
            args.push(Value::Text(v.as_str().to_string()));
        }
        if let Some(p) = &f.project {
            common.push("project = ?");
            args.push(Value::Text(p.clone()));
        }

        let branch = |env_cond: Option<&str>, args_out: &mut Vec<Value>, env: Option<&str>| {
            let mut conds = common.clone();
            if let Some(c) = env_cond {
                conds.push(c);
            }
            args_out.extend(args.iter().cloned());
            if let Some(e) = env {
                args_out.push(Value::Text(e.to_string()));
            }
            args_out.push(Value::Integer(limit));
            let wh = if conds.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conds.join(" AND "))
            };
            format!("SELECT {COLUMNS} FROM events {wh} ORDER BY at DESC, id DESC LIMIT ?")
        };

        let mut all_args = Vec::new();
        let sql = match &f.environment {
            None => branch(None, &mut all_args, None),
            Some(env) => {
                let own = branch(Some("environment = ?"), &mut all_args, Some(env));
                // Project-wide events carry no verdict, so a verdict filter excludes them.
                if f.include_project_events && f.verdict.is_none() {
                    let wide = branch(Some("environment IS NULL"), &mut all_args, None);
                    // Each branch walks its own index newest first and stops at `limit`; the
                    // merge then sorts at most 2 × limit rows.
                    all_args.push(Value::Integer(limit));
                    format!(
                        "SELECT * FROM ({own}) UNION ALL SELECT * FROM ({wide})
                         ORDER BY at DESC, id DESC LIMIT ?"
                    )
                } else {
                    own
                }
            }
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(all_args), |r| Ok(from_row(r)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }
}
