//! What `--json` prints: transport types converted by hand from the engine's domain types, so
//! the JSON stays exactly as SPEC §6 documents it whatever the engine's types become.

use chrono::{DateTime, Utc};
use deploywatch_core::Report;
use deploywatch_store::EnvState;
use serde::Serialize;

#[derive(Serialize)]
pub struct ReportJson {
    pub project: String,
    pub environment: String,
    pub verdict: &'static str,
    pub expected_sha: Option<String>,
    pub live_sha: Option<String>,
    pub ci: Option<CiJson>,
    pub checks: Vec<CheckJson>,
    pub warnings: Vec<String>,
    pub hint: String,
}

#[derive(Serialize)]
pub struct CiJson {
    pub status: String,
    pub conclusion: Option<String>,
    pub url: String,
    pub completed_at: Option<String>,
}

#[derive(Serialize)]
pub struct CheckJson {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl From<&deploywatch_core::Check> for CheckJson {
    fn from(c: &deploywatch_core::Check) -> CheckJson {
        CheckJson {
            name: c.name.clone(),
            ok: c.ok,
            detail: c.detail.clone(),
        }
    }
}

impl From<&Report> for ReportJson {
    fn from(r: &Report) -> ReportJson {
        ReportJson {
            project: r.project.clone(),
            environment: r.environment.clone(),
            verdict: r.verdict.as_str(),
            expected_sha: r.expected_sha.as_ref().map(|s| s.to_string()),
            live_sha: r.live_sha.as_ref().map(|s| s.to_string()),
            ci: r.ci.as_ref().map(|c| CiJson {
                status: c.status.clone(),
                conclusion: c.conclusion.clone(),
                url: c.url.clone(),
                completed_at: c.completed_at.map(rfc3339),
            }),
            checks: r.checks.iter().map(CheckJson::from).collect(),
            warnings: r.warnings.clone(),
            hint: r.hint.clone(),
        }
    }
}

/// One environment in `status --json`.
#[derive(Serialize)]
pub struct StatusJson {
    pub project: String,
    pub environment: String,
    /// `null` when the environment is configured but was never checked.
    pub verdict: Option<&'static str>,
    pub expected_sha: Option<String>,
    pub live_sha: Option<String>,
    pub checked_at: Option<String>,
    pub next_check_at: Option<String>,
    pub incident_open: bool,
    pub hint: Option<String>,
    /// The last check's evidence, as `verify --json` prints it (an extension of SPEC §6;
    /// empty when never checked). While an incident is open it includes the check `action`
    /// when an incident action ran for it.
    pub checks: Vec<CheckJson>,
}

impl StatusJson {
    pub fn from_state(s: &EnvState) -> StatusJson {
        StatusJson {
            project: s.project.clone(),
            environment: s.environment.clone(),
            verdict: Some(s.report.verdict.as_str()),
            expected_sha: s.report.expected_sha.as_ref().map(|x| x.to_string()),
            live_sha: s.report.live_sha.as_ref().map(|x| x.to_string()),
            checked_at: Some(rfc3339(s.report.checked_at)),
            next_check_at: s.next_check_at.map(rfc3339),
            incident_open: s.incident.open.is_some(),
            hint: Some(s.report.hint.clone()),
            checks: s.report.checks.iter().map(CheckJson::from).collect(),
        }
    }

    pub fn never_checked(project: &str, environment: &str) -> StatusJson {
        StatusJson {
            project: project.into(),
            environment: environment.into(),
            verdict: None,
            expected_sha: None,
            live_sha: None,
            checked_at: None,
            next_check_at: None,
            incident_open: false,
            hint: None,
            checks: Vec::new(),
        }
    }
}

/// A `--json` document as printed: pretty JSON, `[]` if it cannot be encoded.
pub fn json_text<T: Serialize>(docs: &[T]) -> String {
    serde_json::to_string_pretty(docs).unwrap_or_else(|_| "[]".into())
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One entry of `history --json`.
#[derive(Serialize)]
pub struct HistoryJson {
    pub at: String,
    /// `push`, `ci_run`, `live_changed`, `verdict_changed`, `incident_opened`,
    /// `incident_cause_changed`, `incident_resolved`.
    pub kind: &'static str,
    pub project: String,
    pub environment: Option<String>,
    pub sha: Option<String>,
    pub verdict: Option<&'static str>,
    pub detail: String,
}

impl From<&deploywatch_store::HistoryEvent> for HistoryJson {
    fn from(e: &deploywatch_store::HistoryEvent) -> HistoryJson {
        HistoryJson {
            at: rfc3339(e.at),
            kind: e.kind.as_str(),
            project: e.project.clone(),
            environment: e.environment.clone(),
            sha: e.sha.as_ref().map(|s| s.to_string()),
            verdict: e.verdict.map(|v| v.as_str()),
            detail: e.detail.clone(),
        }
    }
}
