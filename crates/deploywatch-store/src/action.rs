//! Runs of the incident actions (`on_open`, `on_cause`, `on_resolve` in the config): each is
//! kept with how it ended and the tail of its output, and appears in the history as an
//! `action_ran` event of its incident.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deploywatch_core::{Sha, Verdict};
use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};

use crate::events::{EventRow, HistoryKind};
use crate::value::{from_ms, limit_i64, sha_opt, to_ms, verdict};
use crate::{Store, StoreError};

/// Which incident event a command ran for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionEvent {
    Open,
    Cause,
    Resolve,
}

impl ActionEvent {
    /// `open`, `cause` or `resolve`: the value of `DEPLOYWATCH_EVENT` and of the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionEvent::Open => "open",
            ActionEvent::Cause => "cause",
            ActionEvent::Resolve => "resolve",
        }
    }

    /// The config key the command came from.
    pub fn key(self) -> &'static str {
        match self {
            ActionEvent::Open => "on_open",
            ActionEvent::Cause => "on_cause",
            ActionEvent::Resolve => "on_resolve",
        }
    }

    fn parse(s: &str) -> Option<ActionEvent> {
        [ActionEvent::Open, ActionEvent::Cause, ActionEvent::Resolve]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ActionOutcome {
    /// It exited by itself with this status (0 is success).
    Exited { code: i32 },
    /// It ran past `action_timeout` and was killed, with everything it started.
    TimedOut,
    /// Something else ended it (a signal, on Unix): `signal` says which.
    Killed { signal: String },
    /// It could not be started: `error` says why (no such program, not executable, …).
    NotStarted { error: String },
    /// It has started and not ended yet (what the row says until its runner records the end).
    Running,
    /// Its watcher ended while it ran (a crash, a kill, the computer shut down): how the
    /// command ended is unknown. `reason` says how that was found.
    Interrupted { reason: String },
}

impl ActionOutcome {
    /// Whether the command did what it was asked (exited 0).
    pub fn succeeded(&self) -> bool {
        matches!(self, ActionOutcome::Exited { code: 0 })
    }

    fn column(&self) -> (&'static str, Option<i32>, String) {
        match self {
            ActionOutcome::Exited { code } => ("exited", Some(*code), String::new()),
            ActionOutcome::TimedOut => ("timed_out", None, String::new()),
            ActionOutcome::Killed { signal } => ("killed", None, signal.clone()),
            ActionOutcome::NotStarted { error } => ("not_started", None, error.clone()),
            ActionOutcome::Running => ("running", None, String::new()),
            ActionOutcome::Interrupted { reason } => ("interrupted", None, reason.clone()),
        }
    }

    fn from_column(outcome: &str, code: Option<i32>, detail: String) -> Option<ActionOutcome> {
        Some(match (outcome, code) {
            ("exited", Some(code)) => ActionOutcome::Exited { code },
            ("timed_out", _) => ActionOutcome::TimedOut,
            ("killed", _) => ActionOutcome::Killed { signal: detail },
            ("not_started", _) => ActionOutcome::NotStarted { error: detail },
            ("running", _) => ActionOutcome::Running,
            ("interrupted", _) => ActionOutcome::Interrupted { reason: detail },
            _ => return None,
        })
    }
}

/// One run of an incident action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionRun {
    /// Set once stored.
    pub id: Option<i64>,
    pub incident_id: Option<i64>,
    pub project: String,
    pub environment: String,
    pub event: ActionEvent,
    /// The incident's cause at the event (for a resolve: its last cause).
    pub verdict: Verdict,
    pub expected_sha: Option<Sha>,
    /// The words run, as the config gives them.
    pub command: Vec<String>,
    pub started_at: DateTime<Utc>,
    #[serde(with = "millis")]
    pub duration: Duration,
    #[serde(flatten)]
    pub outcome: ActionOutcome,
    /// The last bytes of what it printed (stdout and stderr together), as text.
    pub output: String,
    /// Whether earlier output was dropped to keep only the tail.
    pub output_truncated: bool,
}

impl ActionRun {
    /// One line: "on_open ./recreate.sh exited 0 after 3.2 s".
    pub fn summary(&self) -> String {
        format!("{} {} {self}", self.event.key(), self.program())
    }

    /// The program as written (the command's first word).
    pub fn program(&self) -> &str {
        self.command.first().map_or("", String::as_str)
    }
}

/// How it ended and how long it took: "exited 0 after 3.2 s", "timed out after 2m",
/// "could not start: No such file or directory (os error 2)".
impl fmt::Display for ActionRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let took = seconds(self.duration);
        match &self.outcome {
            ActionOutcome::Exited { code } => write!(f, "exited {code} after {took}"),
            ActionOutcome::TimedOut => write!(f, "timed out after {took} and was killed"),
            ActionOutcome::Killed { signal } => write!(f, "was killed by {signal} after {took}"),
            ActionOutcome::NotStarted { error } => write!(f, "could not start: {error}"),
            ActionOutcome::Running => write!(f, "is running"),
            ActionOutcome::Interrupted { reason } => write!(f, "was interrupted: {reason}"),
        }
    }
}

/// "0.4 s", "3.2 s", "2 min 5 s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {} s", whole / 60, whole % 60)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

const COLUMNS: &str = "id, incident_id, project, environment, event, verdict, expected_sha,
    command, started_at, duration_ms, outcome, exit_code, detail, output, output_truncated";

fn from_row(r: &Row<'_>) -> Result<ActionRun, StoreError> {
    let event: String = r.get(4)?;
    let command: String = r.get(7)?;
    let outcome: String = r.get(10)?;
    Ok(ActionRun {
        id: Some(r.get(0)?),
        incident_id: r.get(1)?,
        project: r.get(2)?,
        environment: r.get(3)?,
        event: ActionEvent::parse(&event)
            .ok_or_else(|| StoreError::corrupt("action_runs.event", format!("{event:?}")))?,
        verdict: verdict("action_runs.verdict", &r.get::<_, String>(5)?)?,
        expected_sha: sha_opt("action_runs.expected_sha", r.get(6)?)?,
        command: serde_json::from_str(&command)
            .map_err(|e| StoreError::corrupt("action_runs.command", e.to_string()))?,
        started_at: from_ms("action_runs.started_at", r.get(8)?)?,
        duration: Duration::from_millis(r.get::<_, i64>(9)?.max(0).unsigned_abs()),
        outcome: ActionOutcome::from_column(&outcome, r.get(11)?, r.get(12)?)
            .ok_or_else(|| StoreError::corrupt("action_runs.outcome", format!("{outcome:?}")))?,
        output: r.get(13)?,
        output_truncated: r.get::<_, i64>(14)? != 0,
    })
}

/// Who runs a started action, so that another watcher can tell a run in progress from one whose
/// watcher ended: the runner's process and when the run must have ended at the latest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runner {
    pub pid: u32,
    /// Its start plus its timeout plus the time to kill it: past this, nobody runs it.
    pub deadline: DateTime<Utc>,
}

/// What [`Store::interrupt_action_runs`] says of a run left `running`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerLiveness {
    /// Its runner may still be running it: leave it.
    MayRun,
    /// Its runner's process is gone.
    Gone,
}

impl Store {
    /// Records a run that ended (or never started) in one go, and appends its `action_ran`
    /// event (the detail is [`ActionRun::summary`]). Returns its id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_action_run(&mut self, run: &ActionRun) -> Result<i64, StoreError> {
        self.insert_action_run(run, None)
    }

    /// Records that a run has started (outcome [`ActionOutcome::Running`], no history event
    /// yet), with its runner; [`Store::finish_action_run`] records its end. A run whose
    /// watcher ends first is found by [`Store::interrupt_action_runs`]. Returns its id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn begin_action_run(&mut self, run: &ActionRun, runner: Runner) -> Result<i64, StoreError> {
        let mut started = run.clone();
        started.outcome = ActionOutcome::Running;
        self.insert_action_run(&started, Some(runner))
    }

    /// Inserts the row; a run that has ended gets its history event in the same transaction.
    fn insert_action_run(
        &mut self,
        run: &ActionRun,
        runner: Option<Runner>,
    ) -> Result<i64, StoreError> {
        let command = serde_json::to_string(&run.command)
            .map_err(|e| StoreError::corrupt("action_runs.command", e.to_string()))?;
        self.write(|tx| {
            let (outcome, code, detail) = run.outcome.column();
            tx.prepare_cached(
                "INSERT INTO action_runs (incident_id, project, environment, event, verdict,
                     expected_sha, command, started_at, duration_ms, outcome, exit_code, detail,
                     output, output_truncated, runner_pid, deadline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                run.incident_id,
                run.project,
                run.environment,
                run.event.as_str(),
                run.verdict.as_str(),
                run.expected_sha.as_ref().map(Sha::as_str),
                command,
                to_ms(run.started_at),
                millis_i64(run.duration),
                outcome,
                code,
                detail,
                run.output,
                i64::from(run.output_truncated),
                runner.map(|r| r.pid),
                runner.map(|r| to_ms(r.deadline)),
            ])?;
            let id = tx.last_insert_rowid();
            if run.outcome != ActionOutcome::Running {
                ran_event(tx, run)?;
            }
            Ok(id)
        })
    }

    /// Records how the run `id` ended (its outcome, duration, output) and appends its
    /// `action_ran` event — also when another watcher had already taken it for interrupted:
    /// the runner knows better, and the history then has both.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] when there is no run `id`.
    pub fn finish_action_run(&mut self, id: i64, run: &ActionRun) -> Result<(), StoreError> {
        self.write(|tx| {
            let (outcome, code, detail) = run.outcome.column();
            let changed = tx
                .prepare_cached(
                    "UPDATE action_runs SET started_at = ?2, duration_ms = ?3, outcome = ?4,
                         exit_code = ?5, detail = ?6, output = ?7, output_truncated = ?8
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    to_ms(run.started_at),
                    millis_i64(run.duration),
                    outcome,
                    code,
                    detail,
                    run.output,
                    i64::from(run.output_truncated),
                ])?;
            if changed == 0 {
                return Err(StoreError::corrupt("action_runs.id", id.to_string()));
            }
            ran_event(tx, run)
        })
    }

    /// Finds the runs left `running` whose runner is gone — its deadline passed, or
    /// `liveness(pid)` says its process is — records each as
    /// [`ActionOutcome::Interrupted`] with its `action_ran` event, and returns them, oldest
    /// first. A watcher calls this when it starts: a run cut short by the previous one ending
    /// is then in the history, not lost.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn interrupt_action_runs(
        &mut self,
        now: DateTime<Utc>,
        liveness: impl Fn(u32) -> RunnerLiveness,
    ) -> Result<Vec<ActionRun>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, runner_pid, deadline FROM action_runs
             WHERE outcome = 'running' ORDER BY started_at, id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                from_row(r),
                r.get::<_, Option<u32>>(15)?,
                r.get::<_, Option<i64>>(16)?,
            ))
        })?;
        let mut gone = Vec::new();
        for row in rows {
            let (run, pid, deadline) = row?;
            let run = run?;
            let reason = if deadline.is_none_or(|d| d < to_ms(now)) {
                "its watcher ended while it ran (it is past its time limit); how it ended is unknown"
            } else if pid.is_none_or(|pid| liveness(pid) == RunnerLiveness::Gone) {
                "its watcher ended while it ran; how it ended is unknown"
            } else {
                continue;
            };
            gone.push((run, reason));
        }
        drop(stmt);
        let mut interrupted = Vec::with_capacity(gone.len());
        for (mut run, reason) in gone {
            run.outcome = ActionOutcome::Interrupted {
                reason: reason.to_owned(),
            };
            let id = run.id.unwrap_or_default();
            // Only if it is still `running`: a runner finishing meanwhile wins.
            let still = self.write(|tx| {
                let n = tx
                    .prepare_cached(
                        "UPDATE action_runs SET outcome = 'interrupted', detail = ?2
                         WHERE id = ?1 AND outcome = 'running'",
                    )?
                    .execute(params![id, reason])?;
                if n == 1 {
                    ran_event(tx, &run)?;
                }
                Ok(n == 1)
            })?;
            if still {
                interrupted.push(run);
            }
        }
        Ok(interrupted)
    }

    /// The runs of an environment's actions (or of every environment of `project`, or of
    /// all), newest first, at most `limit`.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Corrupt`] for unreadable rows.
    pub fn action_runs(
        &self,
        project: Option<&str>,
        environment: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActionRun>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM action_runs
             WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR environment = ?2)
             ORDER BY started_at DESC, id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![project, environment, limit_i64(limit)], |r| {
            Ok(from_row(r))
        })?;
        rows.map(|r| r?).collect()
    }
}

/// The run's `action_ran` history event, at its end.
fn ran_event(tx: &rusqlite::Connection, run: &ActionRun) -> Result<(), StoreError> {
    EventRow {
        at: to_ms(run.started_at + run.duration),
        kind: HistoryKind::ActionRan,
        project: &run.project,
        environment: Some(&run.environment),
        sha: run.expected_sha.as_ref(),
        verdict: Some(run.verdict),
        detail: &run.summary(),
        check_id: None,
        incident_id: run.incident_id,
    }
    .insert(tx)?;
    Ok(())
}

fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
