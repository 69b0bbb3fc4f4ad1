//! Reading `verify --json` reports in the end-to-end tests: check entries, warnings, the hint,
//! the verdict with its exit code.

use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::harness::Run;

pub(crate) fn build_info(sha: &str) -> String {
    format!("{{\"git_sha\": \"{sha}\", \"environment\": \"production\"}}\n")
}

/// Runs `cmd` to completion.
pub(crate) fn run_cmd(mut cmd: Command) -> Run {
    let started = Instant::now();
    let out = cmd.output().expect("run deploywatch");
    Run::new(out, started.elapsed())
}

/// `(name, ok, detail)` of every check entry.
pub(crate) fn checks(report: &Value) -> Vec<(String, bool, String)> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["ok"].as_bool().unwrap_or(false),
                        c["detail"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The check entry called `name`; fails when there is none.
#[track_caller]
pub(crate) fn check(report: &Value, name: &str) -> (bool, String) {
    checks(report)
        .into_iter()
        .find(|c| c.0 == name)
        .map(|c| (c.1, c.2))
        .unwrap_or_else(|| panic!("no {name:?} check entry:\n{report:#}"))
}

pub(crate) fn warnings(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn hint(report: &Value) -> String {
    report["hint"].as_str().unwrap_or_default().to_string()
}

#[track_caller]
pub(crate) fn assert_verdict(run: &Run, report: &Value, verdict: &str) {
    assert_eq!(report["verdict"], verdict, "{report:#}\n{run:?}");
    let code = if verdict == "live" { 0 } else { 1 };
    assert_eq!(run.code, code, "{run:?}");
}
