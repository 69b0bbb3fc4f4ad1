//! Incident actions end to end: `deploywatch watch` runs the config's commands as real
//! processes — one that records what it was given, one that fails, one that hangs past its
//! limit with a child of its own — and the history, the report and a restart say what ran.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Dw, Scenario};
use crate::incidents::terminate;

/// A schedule slow enough that only the re-check after an action can look again soon.
const SLOW: &str = "confirm = 1";

fn slow_schedule(config: &str) -> String {
    config
        .replace("fast_interval = \"200ms\"", "fast_interval = \"20s\"")
        .replace("idle_interval = \"1s\"", "idle_interval = \"20s\"")
}

fn write_script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

async fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Lines `KEY=value` of a file written by `env` (values on one line).
fn vars(path: &Path) -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn history_of(dw: &Dw) -> Vec<serde_json::Value> {
    let history = dw.run_async(&["history", "--json"]).await;
    history.json().as_array().unwrap().clone()
}

fn details(history: &[serde_json::Value], kind: &str) -> Vec<String> {
    history
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_fix_that_works_resolves_the_incident_at_the_re_check_after_it() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let config = slow_schedule(&s.config("", "", &format!("{SLOW}\non_open = [\"./fix.sh\"]")));
    let dw = Dw::new(&config);
    // The "fix": it asks for the deploy (a file the test turns into the new SHA going live),
    // takes a moment, and succeeds.
    write_script(
        dw.path(),
        "fix.sh",
        "touch redeploy-requested\nsleep 0.3\necho redeployed\n",
    );
    let child = dw.spawn(&["watch", "--no-notify"]);
    let requested = dw.path().join("redeploy-requested");
    assert!(
        wait_for_file(&requested, Duration::from_secs(20)).await,
        "the action never ran"
    );
    s.env.set_live(&s.new);
    let fixed = Instant::now();

    // Resolved by the check right after the action, not 20 s later on the schedule.
    let start = Instant::now();
    let resolved = loop {
        let status = dw.run_async(&["status", "--json"]).await;
        if status.code == 0 && status.json()[0]["verdict"] == "live" {
            break Some(status.json()[0].clone());
        }
        if start.elapsed() > Duration::from_secs(10) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = fixed.elapsed();
    let run = terminate(child).await;
    let status = resolved.unwrap_or_else(|| panic!("not live within 10 s of the fix: {run:?}"));
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The report that resolved it shows the action that led there.
    let action = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "action")
        .unwrap_or_else(|| panic!("no action check in {status:#}"));
    assert_eq!(action["ok"], true, "{action}");
    let detail = action["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("on_open ./fix.sh exited 0 after")
            && detail.ends_with("last output: redeployed"),
        "{detail}"
    );
    let history = history_of(&dw).await;
    let ran = details(&history, "action_ran");
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(
        ran[0].starts_with("on_open ./fix.sh exited 0 after"),
        "{ran:?}"
    );
    assert_eq!(details(&history, "incident_resolved").len(), 1);
    eprintln!("incident → fix → resolved: resolved {took:?} after the fix went live");
}

#[tokio::test]
async fn an_action_gets_the_facts_as_variables_never_as_words_and_runs_once_per_event() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    // A word that a shell would run; the action must get it as one literal argument.
    let defaults = format!(
        "{SLOW}\non_open = [\"./record.sh\", \"$(touch pwned)\", \"two words\"]\n\
         on_resolve = [\"./record.sh\"]"
    );
    let config = s.config("", "", &defaults);
    let dw = Dw::new(&config);
    write_script(
        dw.path(),
        "record.sh",
        r#"n=$(ls runs 2>/dev/null | wc -l); mkdir -p runs/$n; cd runs/$n
env > env.txt
pwd > pwd.txt
for a in "$@"; do echo "$a"; done > args.txt
cp "$DEPLOYWATCH_REPORT_JSON" report.json
ls -l "$DEPLOYWATCH_REPORT_JSON" > report-mode.txt
echo "$DEPLOYWATCH_EVENT failing on purpose" >&2
exit 3
"#,
    );
    let start = |dw: &Dw| {
        let mut cmd = dw.command(&["watch", "--no-notify"]);
        // A token in the watcher's environment must not reach the action.
        cmd.env("GITHUB_TOKEN", "ghp_this_must_not_leak")
            .env("DEPLOYWATCH_STALE", "from the parent")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let child = start(&dw);
    let first = dw.path().join("runs/0/report-mode.txt");
    assert!(wait_for_file(&first, Duration::from_secs(20)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A restart with the incident still open runs nothing again.
    let run = terminate(child).await;
    assert_eq!(run.code, 0, "{run:?}");
    let child = start(&dw);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !dw.path().join("runs/1").exists(),
        "ran again after a restart"
    );

    // The deploy lands: the resolve runs once.
    s.env.set_live(&s.new);
    let second = dw.path().join("runs/1/report-mode.txt");
    assert!(wait_for_file(&second, Duration::from_secs(20)).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = terminate(child).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!dw.path().join("runs/2").exists(), "more than two runs");

    let open = vars(&dw.path().join("runs/0/env.txt"));
    let want = [
        ("DEPLOYWATCH_EVENT", "open"),
        ("DEPLOYWATCH_PROJECT", "shop"),
        ("DEPLOYWATCH_ENVIRONMENT", "production"),
        ("DEPLOYWATCH_REPO", "acme/shop"),
        ("DEPLOYWATCH_VERDICT", "phantom"),
        ("DEPLOYWATCH_CHECK_VERDICT", "phantom"),
        ("DEPLOYWATCH_EXPECTED_SHA", s.new.as_str()),
        ("DEPLOYWATCH_LIVE_SHA", s.old.as_str()),
        ("DEPLOYWATCH_BUILD_INFO_URL", &s.env.build_info_url()),
        ("DEPLOYWATCH_TIMEOUT_SECONDS", "120"),
    ];
    for (k, v) in want {
        assert_eq!(open.get(k).map(String::as_str), Some(v), "{k} in {open:#?}");
    }
    assert!(open["DEPLOYWATCH_HINT"].contains(&s.old[..7]), "{open:#?}");
    assert!(open.contains_key("DEPLOYWATCH_INCIDENT_ID"), "{open:#?}");
    assert_eq!(
        Path::new(&open["DEPLOYWATCH_CONFIG"]),
        std::path::absolute(&dw.config).unwrap()
    );
    assert!(!open.contains_key("GITHUB_TOKEN"), "the token leaked");
    assert!(!open.contains_key("DEPLOYWATCH_STALE"), "{open:#?}");
    assert!(!open.contains_key("DEPLOYWATCH_PREVIOUS_VERDICT"));
    // Its words, literally; it ran beside the config; the report file was private.
    let args = std::fs::read_to_string(dw.path().join("runs/0/args.txt")).unwrap();
    assert_eq!(args, "$(touch pwned)\ntwo words\n");
    assert!(!dw.path().join("runs/0/pwned").exists() && !dw.path().join("pwned").exists());
    let pwd = std::fs::read_to_string(dw.path().join("runs/0/pwd.txt")).unwrap();
    assert_eq!(
        std::fs::canonicalize(pwd.trim().trim_end_matches("/runs/0")).unwrap(),
        std::fs::canonicalize(dw.path()).unwrap()
    );
    let mode = std::fs::read_to_string(&first).unwrap();
    assert!(mode.starts_with("-rw-------"), "{mode}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dw.path().join("runs/0/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["verdict"], "phantom");
    assert_eq!(report["live_sha"], s.old.as_str());
    // The report file is gone after the run.
    let path = Path::new(open["DEPLOYWATCH_REPORT_JSON"].as_str());
    assert!(!path.exists(), "{path:?} left behind");

    let resolve = vars(&dw.path().join("runs/1/env.txt"));
    assert_eq!(resolve["DEPLOYWATCH_EVENT"], "resolve");
    assert_eq!(
        resolve["DEPLOYWATCH_VERDICT"], "phantom",
        "the incident's last cause"
    );
    assert_eq!(resolve["DEPLOYWATCH_CHECK_VERDICT"], "live");
    assert_eq!(resolve["DEPLOYWATCH_LIVE_SHA"], s.new);
    assert_eq!(
        resolve["DEPLOYWATCH_INCIDENT_ID"],
        open["DEPLOYWATCH_INCIDENT_ID"]
    );

    // Both runs are in the history, failing with their status; the failure did not re-check
    // in a loop or run again.
    let history = history_of(&dw).await;
    let ran = details(&history, "action_ran");
    assert_eq!(ran.len(), 2, "{ran:?}");
    assert!(
        ran[0].starts_with("on_resolve ./record.sh exited 3 after"),
        "{ran:?}"
    );
    assert!(
        ran[1].starts_with("on_open ./record.sh exited 3 after"),
        "{ran:?}"
    );
}

#[tokio::test]
async fn an_action_past_its_limit_is_killed_with_what_it_started_and_the_report_says_so() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let defaults = format!(
        "{SLOW}\non_open = [\"sh\", \"-c\", \"echo working; sleep 60 & echo $! > child.pid; \
         wait\"]\naction_timeout = \"1s\""
    );
    let dw = Dw::new(&s.config("", "", &defaults));
    let child = dw.spawn(&["watch", "--no-notify"]);
    let pid_file = dw.path().join("child.pid");
    assert!(wait_for_file(&pid_file, Duration::from_secs(20)).await);
    let started = Instant::now();
    // It is ended within its limit and the grace after SIGTERM, and recorded.
    let history = loop {
        let h = history_of(&dw).await;
        if !details(&h, "action_ran").is_empty() || started.elapsed() > Duration::from_secs(15) {
            break h;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ended = started.elapsed();
    let ran = details(&history, "action_ran");
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(
        ran[0].starts_with("on_open sh timed out after 1.") && ran[0].ends_with("and was killed"),
        "{ran:?}"
    );
    assert!(ended < Duration::from_secs(8), "{ended:?}");
    // The child it left running went with it (its process group).
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = Path::new("/proc").join(pid.trim());
    let gone = {
        let t = Instant::now();
        while proc_dir.exists() && t.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        !proc_dir.exists()
    };
    assert!(gone, "the action's child {pid} outlived it");

    // The next report of the open incident carries the failed action as evidence.
    let report = status_with_action_check(&dw, Duration::from_secs(30)).await;
    let run = terminate(child).await;
    let action = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "action")
        .unwrap_or_else(|| panic!("no action check: {report:#}\n{run:?}"))
        .clone();
    assert_eq!(action["ok"], false);
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .ends_with("last output: working"),
        "{action}"
    );
    assert_eq!(report["verdict"], "phantom");
}

async fn actions_json(dw: &Dw) -> Vec<serde_json::Value> {
    let run = dw.run_async(&["actions", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    run.json().as_array().unwrap().clone()
}

/// Kills the process group the action left behind — only when `pgid` names a live process
/// that leads its own group and is not in ours (a wrong number must never take the test, or
/// whatever started it, down with it).
fn kill_group_it_leads(pgid: &str) {
    let Ok(pid) = pgid.parse::<u32>() else {
        return;
    };
    let leads = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            fields.get(2)?.parse::<u32>().ok()
        })
        == Some(pid);
    let ours = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            fields.get(2)?.parse::<u32>().ok()
        });
    if pid > 1 && leads && ours != Some(pid) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &format!("-{pid}")])
            .status();
    }
}

/// The first environment's row of `status --json` once its report carries the check `action`
/// (or `limit` has passed).
async fn status_with_action_check(dw: &Dw, limit: Duration) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let status = dw.run_async(&["status", "--json"]).await;
        let row = status.json()[0].clone();
        let has = row["checks"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["name"] == "action"));
        if has || start.elapsed() > limit {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `actions --json` once the newest run has ended (or `limit` has passed).
async fn runs_once_ended(dw: &Dw, limit: Duration) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let runs = actions_json(dw).await;
        if runs.first().is_some_and(|r| r["outcome"] != "running") || start.elapsed() > limit {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_run_cut_short_by_its_watcher_dying_is_recorded_interrupted_by_the_next_one() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    // The action is its process group's leader ($$ is its pgid too); it outlives a killed watcher.
    let defaults = format!(
        "{SLOW}\non_open = [\"sh\", \"-c\", \"echo $$ > action.pid; echo repairing; sleep 60\"]"
    );
    let dw = Dw::new(&s.config("", "", &defaults));
    let mut watcher = dw.spawn(&["watch", "--no-notify"]);
    let pid_file = dw.path().join("action.pid");
    assert!(wait_for_file(&pid_file, Duration::from_secs(20)).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pgid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    // While it runs, the run is there already, as running.
    let runs = actions_json(&dw).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["outcome"], "running", "{:#}", runs[0]);

    // The watcher dies without a word (a crash, an OOM kill, a power cut).
    watcher.kill().unwrap();
    let _ = watcher.wait();
    let child = dw.spawn(&["watch", "--no-notify"]);
    let runs = runs_once_ended(&dw, Duration::from_secs(10)).await;
    // The report of the still open incident shows it too.
    let status = status_with_action_check(&dw, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let run = terminate(child).await;
    kill_group_it_leads(&pgid);
    assert_eq!(runs.len(), 1, "the action ran again: {runs:#?}");
    assert_eq!(runs[0]["outcome"], "interrupted", "{:#}", runs[0]);
    assert!(
        runs[0]["detail"]
            .as_str()
            .unwrap()
            .contains("its watcher ended while it ran"),
        "{:#}",
        runs[0]
    );
    let ran = details(&history_of(&dw).await, "action_ran");
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(ran[0].starts_with("on_open sh was interrupted"), "{ran:?}");
    assert!(
        run.stdout.contains("on_open sh was interrupted"),
        "the watcher did not say so: {run:?}"
    );
    let action = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "action")
        .unwrap_or_else(|| panic!("no action check: {status:#}"));
    assert_eq!(action["ok"], false, "{action}");
    assert_eq!(status["verdict"], "phantom");
}

#[tokio::test]
async fn watch_no_actions_announces_the_incident_and_runs_nothing() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config(
        "",
        "",
        &format!("{SLOW}\non_open = [\"touch\", \"ran\"]\non_resolve = [\"touch\", \"ran\"]"),
    ));
    let child = dw.spawn(&["watch", "--no-notify", "--no-actions"]);
    let start = Instant::now();
    let opened = loop {
        let h = history_of(&dw).await;
        if !details(&h, "incident_opened").is_empty() || start.elapsed() > Duration::from_secs(20) {
            break details(&h, "incident_opened");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let run = terminate(child).await;
    assert_eq!(opened.len(), 1, "{run:?}");
    assert!(!dw.path().join("ran").exists(), "an action ran");
    assert!(actions_json(&dw).await.is_empty());
    assert!(
        run.stderr
            .contains("--no-actions: the incident actions of 1 environment will not run"),
        "{run:?}"
    );
}

#[tokio::test]
async fn deploywatch_actions_shows_each_run_with_its_output_for_a_terminal() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(&s.config(
        "",
        "",
        &format!("{SLOW}\non_open = [\"./fix.sh\", \"--hard\"]"),
    ));
    // Several lines, one on stderr, one with a terminal escape that must not reach the terminal.
    write_script(
        dw.path(),
        "fix.sh",
        "echo 'stopping web-1'\necho 'web-1 would not stop' >&2\nprintf 'title\\033]0;owned\\007\\n'\nexit 4\n",
    );
    let child = dw.spawn(&["watch", "--no-notify"]);
    let runs = runs_once_ended(&dw, Duration::from_secs(20)).await;
    let human = dw.run_async(&["actions"]).await;
    terminate(child).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let r = &runs[0];
    assert_eq!(
        (&r["outcome"], &r["exit_code"], &r["event"], &r["verdict"]),
        (
            &serde_json::json!("exited"),
            &serde_json::json!(4),
            &serde_json::json!("open"),
            &serde_json::json!("phantom")
        )
    );
    assert_eq!(r["command"], serde_json::json!(["./fix.sh", "--hard"]));
    assert_eq!(r["expected_sha"], s.new.as_str());
    let output = r["output"].as_str().unwrap();
    for line in [
        "stopping web-1",
        "web-1 would not stop",
        "title\u{1b}]0;owned\u{7}",
    ] {
        assert!(output.contains(line), "{line:?} not in {output:?}");
    }
    assert_eq!(human.code, 0, "{human:?}");
    let text = &human.stdout;
    assert!(
        text.contains("shop/production  on_open ./fix.sh exited 4 after"),
        "{text}"
    );
    assert!(text.contains("./fix.sh --hard · phantom"), "{text}");
    for line in [
        "│ stopping web-1",
        "│ web-1 would not stop",
        "│ title\u{fffd}]0;owned\u{fffd}",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert!(
        !text.contains('\u{1b}'),
        "an escape reached the terminal: {text:?}"
    );
}
