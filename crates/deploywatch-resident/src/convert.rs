//! Hand-written conversions from domain types (engine, store, config) to the transport types
//! of `deploywatch-ipc`, so the UI's contract stays put whatever the engine's types become.

use chrono::{DateTime, SecondsFormat, Utc};
use deploywatch_config::Project;
use deploywatch_core::{Report, Sha};
use deploywatch_engine::{Condition, ConditionKind};
use deploywatch_github::CommitSummary;
use deploywatch_ipc::{
    CheckRow, CommitRow, EnvRow, HistoryRow, LagRow, ReportView, WatcherCondition,
};
use deploywatch_store::{DeployLag, EnvState, HistoryEvent};

/// RFC 3339 in UTC with seconds, as every time in `deploywatch-ipc`.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A condition of the watcher, with its kind's stable name.
pub fn condition(c: &Condition) -> WatcherCondition {
    WatcherCondition {
        kind: match c.kind {
            ConditionKind::Offline => "offline",
            ConditionKind::GitHubUnavailable => "github_unavailable",
            ConditionKind::GitHubBudget => "github_budget",
        }
        .to_string(),
        message: c.message.clone(),
        since: time(c.since),
    }
}

fn sha(s: Option<&Sha>) -> Option<String> {
    s.map(|s| s.as_str().to_ascii_lowercase())
}

/// The prefix of a commit's web page: append the full SHA (`https://github.com/acme/shop/commit/`).
pub fn commit_url_base(api_url: &str, project: &Project) -> String {
    format!(
        "{}/{}/{}/commit/",
        deploywatch_github::web_url_for(api_url).trim_end_matches('/'),
        project.repo.owner,
        project.repo.name
    )
}

pub fn repo(project: &Project) -> String {
    format!("{}/{}", project.repo.owner, project.repo.name)
}

/// One dashboard row: from the stored state when the environment was checked, else empty.
pub fn env_row(
    api_url: &str,
    project: &Project,
    environment: &str,
    state: Option<&EnvState>,
    incident_open: bool,
) -> EnvRow {
    let report = state.map(|s| &s.report);
    let ci = report.and_then(|r| r.ci.as_ref());
    EnvRow {
        project: project.name.clone(),
        environment: environment.to_string(),
        repo: repo(project),
        commit_url_base: commit_url_base(api_url, project),
        verdict: report.map(|r| r.verdict.as_str().to_string()),
        expected_sha: sha(report.and_then(|r| r.expected_sha.as_ref())),
        live_sha: sha(report.and_then(|r| r.live_sha.as_ref())),
        ci_status: ci.map(|c| c.status.clone()),
        ci_conclusion: ci.and_then(|c| c.conclusion.clone()),
        ci_url: ci.map(|c| c.url.clone()).filter(|u| !u.is_empty()),
        checked_at: report.map(|r| time(r.checked_at)),
        next_check_at: state.and_then(|s| s.next_check_at).map(time),
        hint: report.map(|r| r.hint.clone()).filter(|h| !h.is_empty()),
        incident_open,
        muted: muted(project, environment),
    }
}

/// Whether notifications about `project`'s environment of that name are muted (the project's
/// `mute` for a name it does not have).
fn muted(project: &Project, environment: &str) -> bool {
    project
        .environment(environment)
        .map_or(project.mute, |e| project.muted(e))
}

/// The report view of a stored report, with the commits waiting to go live (or why not).
pub fn report_view(
    api_url: &str,
    project: &Project,
    report: &Report,
    waiting: Result<Vec<CommitSummary>, String>,
) -> ReportView {
    let ci = report.ci.as_ref();
    let base = commit_url_base(api_url, project);
    let (waiting, waiting_error) = match waiting {
        Ok(commits) => (
            commits
                .into_iter()
                .map(|c| CommitRow {
                    url: if c.url.is_empty() {
                        format!("{base}{}", c.sha)
                    } else {
                        c.url
                    },
                    sha: c.sha.as_str().to_ascii_lowercase(),
                    author: c.author,
                    message: c.message,
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e)),
    };
    ReportView {
        project: report.project.clone(),
        environment: report.environment.clone(),
        repo: repo(project),
        commit_url_base: base,
        verdict: report.verdict.as_str().to_string(),
        expected_sha: sha(report.expected_sha.as_ref()),
        live_sha: sha(report.live_sha.as_ref()),
        ci_status: ci.map(|c| c.status.clone()),
        ci_conclusion: ci.and_then(|c| c.conclusion.clone()),
        ci_url: ci.map(|c| c.url.clone()).filter(|u| !u.is_empty()),
        checks: report
            .checks
            .iter()
            .map(|c| CheckRow {
                name: c.name.clone(),
                ok: c.ok,
                detail: c.detail.clone(),
            })
            .collect(),
        warnings: report.warnings.iter().map(|w| for_the_window(w)).collect(),
        hint: report.hint.clone(),
        checked_at: time(report.checked_at),
        waiting,
        waiting_error,
        muted: muted(project, &report.environment),
        project_muted: project.mute,
    }
}

pub fn history_row(e: &HistoryEvent) -> HistoryRow {
    HistoryRow {
        at: time(e.at),
        kind: e.kind.as_str().to_string(),
        project: e.project.clone(),
        environment: e.environment.clone(),
        sha: sha(e.sha.as_ref()),
        verdict: e.verdict.map(|v| v.as_str().to_string()),
        detail: e.detail.clone(),
    }
}

pub fn lag_row(l: &DeployLag) -> LagRow {
    LagRow {
        environment: l.environment.clone(),
        sha: l.sha.as_str().to_ascii_lowercase(),
        pushed_at: l.pushed_at.map(time),
        ci_green_at: l.ci_green_at.map(time),
        first_live_at: l.first_live_at.map(time),
        all_live_at: l.all_replicas_live_at.map(time),
    }
}

fn short(s: &Option<String>) -> String {
    s.as_deref()
        .map(|s| s.get(..7).unwrap_or(s).to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Markdown text of an untrusted value: backticks and line breaks cannot break out of the
/// inline code span it is put in.
fn code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("`` {} ``", flat.replace('`', "'"))
}

/// The report as Markdown, for pasting into a chat or an issue ("Copy as Markdown").
pub fn report_markdown(v: &ReportView) -> String {
    let mut out = format!("### {} / {}: `{}`\n\n", v.project, v.environment, v.verdict);
    out.push_str(&format!(
        "- Expected: `{}`  \n- Live: `{}`  \n",
        short(&v.expected_sha),
        short(&v.live_sha)
    ));
    if let Some(status) = &v.ci_status {
        let conclusion = v.ci_conclusion.as_deref().unwrap_or("-");
        match &v.ci_url {
            Some(url) => out.push_str(&format!("- CI: {status} / {conclusion} ({url})  \n")),
            None => out.push_str(&format!("- CI: {status} / {conclusion}  \n")),
        }
    }
    out.push_str(&format!("- Checked: {}\n\n", v.checked_at));
    if !v.hint.is_empty() {
        out.push_str(&format!("> {}\n\n", v.hint.replace('\n', "\n> ")));
    }
    out.push_str("| check | result | evidence |\n|---|---|---|\n");
    for c in &v.checks {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            c.name,
            if c.ok { "ok" } else { "**failed**" },
            code(&c.detail).replace('|', "\\|")
        ));
    }
    if !v.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in &v.warnings {
            out.push_str(&format!("- {}\n", code(w)));
        }
    }
    if !v.waiting.is_empty() {
        out.push_str("\n**Waiting to go live**\n\n");
        for c in &v.waiting {
            out.push_str(&format!(
                "- [`{}`]({}) {} ({})\n",
                c.sha.get(..7).unwrap_or(&c.sha),
                c.url,
                code(&c.message),
                c.author.as_deref().unwrap_or("unknown")
            ));
        }
    }
    out
}

/// What the settings page's "Test" button shows for a build-info probe.
pub fn probe_result(probe: &deploywatch_core::BuildInfoProbe) -> deploywatch_ipc::TestResult {
    use deploywatch_core::HttpOutcome;
    let received = match &probe.http.outcome {
        HttpOutcome::Answered(r) => format!(
            "{} {} in {} ms",
            r.status,
            r.content_type.as_deref().unwrap_or("(no content type)"),
            r.elapsed_ms
        ),
        HttpOutcome::Failed(f) => {
            return deploywatch_ipc::TestResult {
                ok: false,
                source: None,
                sha: None,
                environment: None,
                detail: format!("{} could not be reached: {}", probe.http.url, failure(f)),
                guessed: false,
                pin: None,
            };
        }
    };
    match &probe.fingerprint {
        Ok(f) => deploywatch_ipc::TestResult {
            ok: true,
            source: Some(f.source.clone()),
            sha: Some(f.sha.as_str().to_ascii_lowercase()),
            environment: f.environment.clone(),
            detail: format!(
                "{received}: SHA {} from {}{}",
                f.sha.short(),
                f.source,
                match f.confidence {
                    deploywatch_core::Confidence::Guess =>
                        " (a guess: check it is this service's commit)",
                    _ => "",
                }
            ),
            guessed: f.confidence == deploywatch_core::Confidence::Guess,
            pin: f.pin.as_ref().map(|p| deploywatch_ipc::PinSetting {
                key: p.key().to_string(),
                value: p.value().to_string(),
                text: p.to_string(),
            }),
        },
        Err(why) => {
            let first = match &probe.http.outcome {
                HttpOutcome::Answered(r) => format!("; received: {}", r.first_bytes),
                HttpOutcome::Failed(_) => String::new(),
            };
            deploywatch_ipc::TestResult {
                ok: false,
                source: None,
                sha: None,
                environment: None,
                detail: format!("{received}: {why}{first}"),
                guessed: false,
                pin: None,
            }
        }
    }
}

fn failure(f: &deploywatch_core::TransportFailure) -> String {
    use deploywatch_core::TransportFailure as F;
    match f {
        F::Timeout { after_ms } => format!("no answer within {after_ms} ms"),
        F::Connect { detail } => format!("cannot connect: {detail}"),
        F::TooManyRedirects { limit } => format!("more than {limit} redirects"),
        F::Other { detail } => detail.clone(),
    }
}

/// A warning worded for the window: the engine's advice names CLI commands, which people in
/// the app never type; the app has a Settings page for the same thing.
fn for_the_window(warning: &str) -> String {
    use deploywatch_engine::NO_TOKEN_WARNING;
    if warning.starts_with(NO_TOKEN_WARNING) {
        return format!(
            "{NO_TOKEN_WARNING} (60 requests per hour, public repositories only): sign in to GitHub in Settings"
        );
    }
    warning.to_string()
}
