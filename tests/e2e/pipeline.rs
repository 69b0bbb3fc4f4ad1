//! The pipeline step: `verify --url` without a config, `--stable` against a flapping load
//! balancer, `verify` as a GitHub Actions step (job summary, annotations, the runner's command
//! processing), and the action's own script (`scripts/action.sh`, what `action.yml` runs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use deploywatch_fleet::{Balance, Format};

use crate::harness::{Dw, Run, Scenario};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary with a clean environment and no `--config`/`--db`: the config-free form.
fn bare(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deploywatch"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .env("NO_COLOR", "1")
        .env("DEPLOYWATCH_LOG", "warn");
    cmd
}

async fn run(cmd: Command) -> Run {
    let started = Instant::now();
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .expect("run");
    Run::new(out, started.elapsed())
}

/// Every file below `dir`, for "nothing was written".
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_url_and_a_sha_are_enough_and_leave_no_history_behind() {
    let s = Scenario::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = s.env.build_info_url();
    let live = run(bare(
        dir.path(),
        &["verify", "--url", &url, "--expect", &s.old, "--json"],
    ))
    .await;
    assert_eq!(live.code, 0, "{live:?}");
    let r = live.report();
    assert_eq!(r["verdict"], "live", "{live:?}");
    assert_eq!(r["environment"], "default");
    let host = url.trim_start_matches("http://").split('/').next().unwrap();
    assert_eq!(r["project"], host, "named after the URL's host and port");
    assert!(
        files_below(dir.path()).is_empty(),
        "no database or config written: {:?}",
        files_below(dir.path())
    );

    // The old build still serves: phantom once the wait runs out, named as asked.
    let phantom = run(bare(
        dir.path(),
        &[
            "verify",
            "--url",
            &url,
            "--expect",
            &s.new,
            "--wait",
            "600ms",
            "--interval",
            "200ms",
            "--project",
            "shop",
            "--env",
            "production",
        ],
    ))
    .await;
    assert_eq!(phantom.code, 1, "{phantom:?}");
    assert!(
        phantom.stdout.contains("shop / production  phantom"),
        "{phantom:?}"
    );
    assert!(s.env.requests() >= 3, "checked while waiting");

    // With --db, the check is history like any other.
    let db = dir.path().join("pipeline.db");
    let recorded = run(bare(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "verify",
            "--url",
            &url,
            "--expect",
            &s.old,
        ],
    ))
    .await;
    assert_eq!(recorded.code, 0, "{recorded:?}");
    assert!(db.exists(), "recorded where asked");
}

#[tokio::test]
async fn a_url_form_without_what_it_needs_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sha = crate::harness::sha("x");
    for (args, says) in [
        (vec!["verify", "--url", "http://127.0.0.1:1/v"], "--expect"),
        (
            vec!["verify", "--url", "ftp://example.com/v", "--expect", &sha],
            "the scheme must be http or https",
        ),
        (
            vec![
                "verify",
                "--url",
                "http://127.0.0.1:1/v",
                "--expect",
                &sha,
                "--stable",
                "3",
            ],
            "--wait",
        ),
        (
            vec![
                "verify",
                "--url",
                "http://127.0.0.1:1/v",
                "--expect",
                &sha,
                "--wait",
                "1s",
                "--interval",
                "0s",
            ],
            "greater than zero",
        ),
    ] {
        let r = run(bare(dir.path(), &args)).await;
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(says),
            "{args:?} should mention {says}: {r:?}"
        );
    }
}

/// The report's check called `name`.
fn check_named(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("a {name} check: {report:#}"))
}

#[tokio::test]
async fn stable_waits_for_consecutive_live_checks() {
    let s = Scenario::start().await;
    s.env.set_live(&s.new);
    let dw = Dw::new(&s.config("", "", ""));
    let r = dw
        .run_async(&[
            "verify",
            "--expect",
            &s.new,
            "--wait",
            "10s",
            "--interval",
            "100ms",
            "--stable",
            "3",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let report = r.report();
    assert_eq!(report["verdict"], "live");
    let stable = check_named(&report, "stable");
    assert_eq!(stable["ok"], true);
    assert!(
        stable["detail"]
            .as_str()
            .unwrap()
            .contains("last 3 consecutive checks of 3"),
        "{stable}"
    );
    assert_eq!(s.env.requests(), 3, "three checks, no more");
}

#[tokio::test]
async fn a_flapping_balancer_is_not_verified_however_often_it_answers_new() {
    let s = Scenario::start().await;
    // An L7 round-robin over a new and an old replica: every other request is old.
    s.env.set_replicas(&[&s.new, &s.old]);
    s.env.set_balance(Balance::PerRequest);
    let dw = Dw::new(&s.config("", "", ""));
    let r = dw
        .run_async(&[
            "verify",
            "--expect",
            &s.new,
            "--wait",
            "1500ms",
            "--interval",
            "100ms",
            "--stable",
            "3",
            "--json",
        ])
        .await;
    assert_eq!(r.code, 1, "{r:?}");
    let report = r.report();
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict == "mixed" || verdict == "phantom",
        "not verified: {report:#}"
    );
    let stable = check_named(&report, "stable");
    assert_eq!(stable["ok"], false, "{stable}");
    if verdict == "mixed" {
        let hint = report["hint"].as_str().unwrap();
        assert!(
            hint.contains(&s.new[..7]) && hint.contains(&s.old[..7]),
            "names both SHAs: {hint}"
        );
    }
}

/// The workflow commands a runner would act on in `out`: lines starting with `::` (after
/// leading spaces), except between `::stop-commands::TOKEN` and `::TOKEN::`.
fn commands_seen(out: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut stopped: Option<String> = None;
    for line in out.lines() {
        let line = line.trim_start();
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
            continue;
        }
        if line.starts_with("::") || line.contains("##[") {
            seen.push(line.to_string());
        }
    }
    assert!(stopped.is_none(), "command processing left stopped:\n{out}");
    seen
}

#[tokio::test]
async fn in_github_actions_verify_writes_a_summary_and_annotations_that_no_endpoint_can_forge() {
    let s = Scenario::start().await;
    // A hostile endpoint: its body poses as workflow commands and Markdown.
    s.env.set_format(Format::Raw {
        content_type: "text/plain".into(),
        body:
            "::add-mask::secret\n##[error]forged\n::error::owned\n<img src=x> | [link](http://evil)"
                .into(),
    });
    let dw = Dw::new(&s.config("", "", ""));
    let summary = dw.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let mut cmd = dw.command(&["verify", "--expect", &s.new]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("unverifiable"), "{r:?}");
    let commands = commands_seen(&r.stdout);
    assert_eq!(
        commands.len(),
        1,
        "only Deploywatch's own annotation: {commands:#?}"
    );
    assert!(
        commands[0].starts_with("::error title=shop / production%3A unverifiable::"),
        "{commands:?}"
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n"), "appended, not replaced");
    assert!(
        text.contains("### Deploywatch: 0 of 1 environments live"),
        "{text}"
    );
    assert!(
        text.contains("| ❌ | shop / production | **unverifiable** |"),
        "{text}"
    );
    // What the endpoint sent is there, but only as escaped text: no tag, link or command.
    assert!(text.contains("\\<img src\\=x"), "{text}");
    for raw in ["<img", "[link](", "##[", "::error::owned"] {
        let bare = text
            .match_indices(raw)
            .filter(|(i, _)| !text[..*i].ends_with('\\'))
            .count();
        assert_eq!(bare, 0, "{raw:?} reached the summary as markup:\n{text}");
    }

    // With --json stdout stays one document; the annotations go to stderr.
    let mut cmd = dw.command(&["verify", "--expect", &s.new, "--json"]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let r = run(cmd).await;
    let report = r.report();
    assert_eq!(report["verdict"], "unverifiable");
    assert!(!r.stdout.contains("##["), "{r:?}");
    assert!(
        r.stdout.contains("#\\u0023[error]forged") || !r.stdout.contains("forged"),
        "{r:?}"
    );
    assert_eq!(commands_seen(&r.stderr).len(), 1, "{r:?}");
}

/// `scripts/action.sh verify` as the action's step runs it: inputs as `DW_INPUT_*`, the
/// runner's variables set, the CLI given by `DW_BIN` (the install step's job).
fn action(dir: &Path, inputs: &[(&str, &str)], sha: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/action.sh"))
        .arg("verify")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .env("DW_BIN", env!("CARGO_BIN_EXE_deploywatch"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SHA", sha)
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"));
    for (k, v) in inputs {
        cmd.env(format!("DW_INPUT_{k}"), v);
    }
    cmd
}

#[tokio::test]
async fn the_action_verifies_the_workflow_commit_and_says_so_in_its_output() {
    let s = Scenario::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = s.env.build_info_url();
    let inputs = [
        ("URL", url.as_str()),
        ("WAIT", "400ms"),
        ("INTERVAL", "100ms"),
    ];

    // The workflow's commit is still not live: the step fails and says live=false.
    let r = run(action(dir.path(), &inputs, &s.new)).await;
    assert_eq!(r.code, 1, "{r:?}");
    let output = std::fs::read_to_string(dir.path().join("output")).unwrap();
    assert_eq!(output, "live=false\n");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("**phantom**"), "{summary}");

    // It is now: the step passes, and says live=true.
    s.env.set_live(&s.new);
    let stable = [
        ("URL", url.as_str()),
        ("WAIT", "5s"),
        ("INTERVAL", "100ms"),
        ("STABLE", "2"),
        ("PROJECT", "shop"),
        ("ENVIRONMENT", "production"),
    ];
    let r = run(action(dir.path(), &stable, &s.new)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("shop / production  live"), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "::notice title=shop / production%3A live::{} is live",
            &s.new[..7]
        )),
        "{r:?}"
    );
    let output = std::fs::read_to_string(dir.path().join("output")).unwrap();
    assert_eq!(output, "live=false\nlive=true\n");

    // Both or neither of url and config: refused before anything runs.
    let r = run(action(dir.path(), &[], &s.new)).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("::error title=Deploywatch::"), "{r:?}");
}

#[test]
fn every_action_input_reaches_the_script_through_the_environment_only() {
    let yml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let script = std::fs::read_to_string(repo_root().join("scripts/action.sh")).unwrap();
    // The input names: the keys indented by two spaces under `inputs:`.
    let inputs: Vec<&str> = yml
        .split("\ninputs:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim().trim_end_matches(':'))
        .collect();
    assert!(inputs.len() >= 8, "{inputs:?}");
    for input in &inputs {
        let var = format!("DW_INPUT_{}", input.to_uppercase().replace('-', "_"));
        assert!(
            yml.contains(&format!("{var}: ${{{{ inputs.{input} }}}}")),
            "action.yml passes {input} as {var}"
        );
        assert!(script.contains(&var), "scripts/action.sh reads {var}");
    }
    // No expression is spliced into a script: `run:` lines carry none.
    for line in yml.lines().filter(|l| l.trim_start().starts_with("run:")) {
        assert!(!line.contains("${{"), "an expression in a run line: {line}");
    }
}

/// A maintenance page where the build-info should be (real nginx, `text/html`, CRLF lines):
/// the evidence quotes its first bytes with each control character escaped once — `\r\n` in
/// the text a person reads and in the JSON string a script parses, never `\\r\\n`.
#[tokio::test]
async fn evidence_quotes_what_was_received_with_its_escapes_shown_once() {
    let nginx = crate::infra::Nginx::start(
        "server { listen 127.0.0.1:{port0}; root {root}; default_type text/html; }",
    );
    nginx.write(
        "build-info",
        "<html>\r\n<body>Down for maintenance</body>\r\n</html>\r\n",
    );
    let url = nginx.url(0, "/build-info");
    let dir = tempfile::tempdir().expect("tempdir");
    let sha = crate::harness::sha("maintenance");
    let json = run(bare(
        dir.path(),
        &["verify", "--url", &url, "--expect", &sha, "--json"],
    ))
    .await;
    let human = run(bare(
        dir.path(),
        &["verify", "--url", &url, "--expect", &sha],
    ))
    .await;
    assert_ne!(json.code, 0, "{json:?}");
    let r = json.report();
    assert_ne!(r["verdict"], "live", "{json:?}");
    let want = r#"starting "<html>\r\n<body>Down for maintenance"#;
    let texts: Vec<String> = std::iter::once(r["hint"].as_str().unwrap_or("").to_string())
        .chain(
            r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["detail"].as_str().unwrap_or("").to_string()),
        )
        .collect();
    assert!(
        texts.iter().any(|t| t.contains(want)),
        "no evidence with {want:?} in {texts:#?}"
    );
    assert!(
        texts.iter().all(|t| !t.contains(r"\\r")),
        "escaped twice: {texts:#?}"
    );
    assert!(human.stdout.contains(want), "{human:?}");
    assert!(!human.stdout.contains(r"\\r"), "{human:?}");
}
