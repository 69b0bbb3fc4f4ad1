//! `deploywatch actions`: the incident actions that ran (`on_open`, `on_cause`, `on_resolve`),
//! newest first, each with how it ended and the tail of its output as recorded — from the
//! database alone. The history has one line per run; this is where its output is read.

use deploywatch_store::{ActionOutcome, ActionRun};
use serde::Serialize;

use crate::Failure;
use crate::dto::rfc3339;
use crate::human::Style;
use crate::setup::Paths;

/// One run in `actions --json`.
#[derive(Serialize)]
pub struct ActionJson {
    pub id: Option<i64>,
    pub incident_id: Option<i64>,
    pub project: String,
    pub environment: String,
    /// `open`, `cause` or `resolve`.
    pub event: &'static str,
    /// The incident's cause at the event.
    pub verdict: &'static str,
    pub expected_sha: Option<String>,
    pub command: Vec<String>,
    pub started_at: String,
    pub duration_ms: u64,
    /// `exited`, `timed_out`, `killed`, `not_started`, `running` or `interrupted`.
    pub outcome: &'static str,
    /// For `exited`.
    pub exit_code: Option<i32>,
    /// One line: the signal, why it did not start, or why it is taken for interrupted.
    pub detail: Option<String>,
    /// "on_open ./recreate.sh exited 0 after 3.2 s".
    pub summary: String,
    /// The last bytes it printed (stdout and stderr together), as recorded.
    pub output: String,
    pub output_truncated: bool,
}

impl From<&ActionRun> for ActionJson {
    fn from(run: &ActionRun) -> Self {
        let (outcome, exit_code, detail) = match &run.outcome {
            ActionOutcome::Exited { code } => ("exited", Some(*code), None),
            ActionOutcome::TimedOut => ("timed_out", None, None),
            ActionOutcome::Killed { signal } => ("killed", None, Some(signal.clone())),
            ActionOutcome::NotStarted { error } => ("not_started", None, Some(error.clone())),
            ActionOutcome::Running => ("running", None, None),
            ActionOutcome::Interrupted { reason } => ("interrupted", None, Some(reason.clone())),
        };
        ActionJson {
            id: run.id,
            incident_id: run.incident_id,
            project: run.project.clone(),
            environment: run.environment.clone(),
            event: run.event.as_str(),
            verdict: run.verdict.as_str(),
            expected_sha: run.expected_sha.as_ref().map(|s| s.as_str().to_owned()),
            command: run.command.clone(),
            started_at: rfc3339(run.started_at),
            duration_ms: u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
            outcome,
            exit_code,
            detail,
            summary: run.summary(),
            output: run.output.clone(),
            output_truncated: run.output_truncated,
        }
    }
}

pub fn run(
    paths: &Paths,
    project: Option<String>,
    environment: Option<String>,
    limit: usize,
    json: bool,
) -> Result<u8, Failure> {
    let store = paths.open_store()?;
    let runs = store
        .action_runs(project.as_deref(), environment.as_deref(), limit)
        .map_err(|e| Failure::usage(format!("cannot read the database: {e}")))?;
    if json {
        let docs: Vec<ActionJson> = runs.iter().map(ActionJson::from).collect();
        println!("{}", crate::dto::json_text(&docs));
        return Ok(0);
    }
    if runs.is_empty() {
        println!(
            "no incident action has run: they are set with on_open, on_cause and on_resolve in the config"
        );
    }
    print!("{}", render(&runs, Style::detect()));
    Ok(0)
}

/// The runs for a terminal: a line each, then its command and its output, indented.
pub fn render(runs: &[ActionRun], style: Style) -> String {
    let mut out = String::new();
    for run in runs {
        let incident = run
            .incident_id
            .map(|i| format!(" · incident {i}"))
            .unwrap_or_default();
        let sha = run
            .expected_sha
            .as_ref()
            .map(|s| format!(" · {}", s.short()))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}  {}/{}  {}\n",
            style.dim(&rfc3339(run.started_at)),
            run.project,
            run.environment,
            style.bold(&run.summary()),
        ));
        out.push_str(&format!(
            "    {}\n",
            style.dim(&format!(
                "{} · {}{sha}{incident}",
                shell_words(&run.command),
                run.verdict
            ))
        ));
        let lines = printable_lines(&run.output);
        if lines.is_empty() {
            out.push_str(&format!("    {}\n", style.dim("(no output)")));
            continue;
        }
        if run.output_truncated {
            out.push_str(&format!(
                "    {}\n",
                style.dim("… (earlier output dropped: the last 8 KB are kept)")
            ));
        }
        for line in lines {
            out.push_str("    │ ");
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The command as one would type it (words with spaces or quotes quoted), for reading only:
/// it ran without a shell.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .map(|w| printable(&w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The output's lines as a terminal may show them: control characters (a terminal escape a
/// script printed, a carriage return) become U+FFFD, tabs stay, blank lines at the end go.
fn printable_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output.lines().map(printable).collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reaches_the_terminal_without_its_escapes() {
        let lines = printable_lines("ok\x1b]0;owned\x07\r\n\tindented\n\n\n");
        assert_eq!(lines, ["ok\u{fffd}]0;owned\u{fffd}", "\tindented"]);
        assert!(printable_lines("\n \n").is_empty());
    }

    #[test]
    fn words_that_need_it_are_quoted_for_reading() {
        let words = ["docker", "compose", "up", "-d", "it's here", ""].map(String::from);
        assert_eq!(
            shell_words(&words),
            r"docker compose up -d 'it'\''s here' ''"
        );
    }
}
