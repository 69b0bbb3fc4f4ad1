//! Incident actions: the commands of `on_open`, `on_cause` and `on_resolve` (config), run on
//! this computer when an incident event is announced — at most once per event, as its
//! notification, because they run exactly when the notification is claimed.
//!
//! A command runs without a shell, in the config file's directory, with its standard input
//! closed. What the incident is about reaches it only as `DEPLOYWATCH_*` environment variables
//! and a JSON file of the report: values read from the network (SHAs, hints, a hostile
//! endpoint's text) are never words of a command line. The GitHub token is taken out of the
//! environment it inherits. It may run for `action_timeout`; then it is terminated with every
//! process it started (its process group, on Unix, killed after [`KILL_GRACE`]; its job
//! object, on Windows). The last
//! [`OUTPUT_TAIL`] bytes of what it printed are kept with its exit status and duration.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use deploywatch_core::{Report, Sha, Verdict};
use deploywatch_store::{ActionEvent, ActionOutcome, ActionRun};
use tokio::io::AsyncReadExt;

/// How much of a command's output is kept: the end, where the error usually is.
pub const OUTPUT_TAIL: usize = 8 * 1024;
/// After the timeout, how long a command has to exit on SIGTERM before it is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// After the command exits, how long output is still read from what it left running (a
/// daemon it started keeps the pipes open; its output is not waited for).
const DRAIN: Duration = Duration::from_secs(1);

/// Inherited variables an action never sees: GitHub tokens (the watcher's own token comes from
/// the keyring or `GITHUB_TOKEN`; a repair script has no business with it).
const SECRET_VARS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// What one run is given.
#[derive(Clone, Debug)]
pub struct ActionRequest {
    pub event: ActionEvent,
    /// The words, as the config has them (never empty).
    pub command: Vec<String>,
    pub timeout: Duration,
    /// The check whose verdict caused the event.
    pub report: Report,
    /// The incident's cause (for a resolve, its last cause).
    pub verdict: Verdict,
    /// For a cause change, the cause before it.
    pub previous: Option<Verdict>,
    /// The SHA the incident is about.
    pub expected_sha: Option<Sha>,
    pub incident_id: Option<i64>,
    /// `owner/name`.
    pub repo: String,
    pub build_info_url: String,
    /// The config file: the command runs in its directory, and finds it in
    /// `DEPLOYWATCH_CONFIG` (to call `deploywatch verify` itself, say).
    pub config_path: PathBuf,
}

impl ActionRequest {
    /// The `DEPLOYWATCH_*` variables the command gets (`DEPLOYWATCH_REPORT_JSON` is added
    /// when the file is written). Absent facts are absent variables, not empty ones.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let r = &self.report;
        let mut vars = vec![
            ("DEPLOYWATCH_EVENT", self.event.as_str().to_owned()),
            ("DEPLOYWATCH_PROJECT", r.project.clone()),
            ("DEPLOYWATCH_ENVIRONMENT", r.environment.clone()),
            ("DEPLOYWATCH_REPO", self.repo.clone()),
            ("DEPLOYWATCH_BUILD_INFO_URL", self.build_info_url.clone()),
            ("DEPLOYWATCH_VERDICT", self.verdict.as_str().to_owned()),
            ("DEPLOYWATCH_CHECK_VERDICT", r.verdict.as_str().to_owned()),
            ("DEPLOYWATCH_HINT", r.hint.clone()),
            ("DEPLOYWATCH_CHECKED_AT", r.checked_at.to_rfc3339()),
            (
                "DEPLOYWATCH_TIMEOUT_SECONDS",
                self.timeout.as_secs().to_string(),
            ),
            ("DEPLOYWATCH_CONFIG", absolute(&self.config_path)),
        ];
        let optional = [
            (
                "DEPLOYWATCH_PREVIOUS_VERDICT",
                self.previous.map(|v| v.as_str().to_owned()),
            ),
            (
                "DEPLOYWATCH_EXPECTED_SHA",
                self.expected_sha.as_ref().map(|s| s.as_str().to_owned()),
            ),
            (
                "DEPLOYWATCH_LIVE_SHA",
                r.live_sha.as_ref().map(|s| s.as_str().to_owned()),
            ),
            (
                "DEPLOYWATCH_INCIDENT_ID",
                self.incident_id.map(|i| i.to_string()),
            ),
        ];
        vars.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        // A NUL cannot travel in an environment variable; a hostile endpoint's hint may hold
        // one. It becomes U+FFFD rather than failing the run.
        for (_, v) in &mut vars {
            if v.contains('\0') {
                *v = v.replace('\0', "\u{fffd}");
            }
        }
        vars
    }
}

impl ActionRequest {
    /// The run as it is when it starts ([`ActionOutcome::Running`], nothing printed yet).
    pub fn started(&self, started_at: chrono::DateTime<Utc>) -> ActionRun {
        ActionRun {
            id: None,
            incident_id: self.incident_id,
            project: self.report.project.clone(),
            environment: self.report.environment.clone(),
            event: self.event,
            verdict: self.verdict,
            expected_sha: self.expected_sha.clone(),
            command: self.command.clone(),
            started_at,
            duration: Duration::ZERO,
            outcome: ActionOutcome::Running,
            output: String::new(),
            output_truncated: false,
        }
    }

    /// Who runs it, for the store: this process, and the latest it can still be running
    /// (its timeout, the grace to kill it, the time to read its last output, and a margin for
    /// a slow machine).
    pub fn runner(&self, started_at: chrono::DateTime<Utc>) -> deploywatch_store::Runner {
        let most = self.timeout + KILL_GRACE + DRAIN + Duration::from_secs(30);
        deploywatch_store::Runner {
            pid: std::process::id(),
            deadline: started_at
                + chrono::Duration::from_std(most).unwrap_or(chrono::Duration::MAX),
        }
    }
}

/// Whether the process `pid` may still run a started action (Unix: it exists; elsewhere this
/// is not looked at and only the run's deadline counts).
pub fn runner_liveness(pid: u32) -> deploywatch_store::RunnerLiveness {
    use deploywatch_store::RunnerLiveness::MayRun;
    if pid == std::process::id() {
        return MayRun;
    }
    #[cfg(unix)]
    {
        use deploywatch_store::RunnerLiveness::Gone;
        let Ok(raw) = i32::try_from(pid) else {
            return Gone;
        };
        match rustix::process::Pid::from_raw(raw).map(rustix::process::test_kill_process) {
            // It exists (EPERM: it exists and is someone else's).
            Some(Ok(())) | Some(Err(rustix::io::Errno::PERM)) => MayRun,
            _ => Gone,
        }
    }
    #[cfg(not(unix))]
    MayRun
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The directory a command runs in: the config file's.
fn working_dir(config: &Path) -> PathBuf {
    match std::path::absolute(config)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        Some(dir) if dir.is_dir() => dir,
        _ => PathBuf::from("."),
    }
}

/// The program to start: a bare name is looked up in `PATH` by the OS; a relative path
/// (`./fix.sh`, `scripts/fix`) is relative to the config file's directory, not to wherever the
/// watcher was started.
fn program(word: &str, dir: &Path) -> PathBuf {
    let p = Path::new(word);
    if p.is_relative() && p.components().count() > 1 {
        dir.join(p)
    } else {
        p.to_path_buf()
    }
}

/// The last bytes of the output, across stdout and stderr as they arrive.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > OUTPUT_TAIL {
            let cut = self.bytes.len() - OUTPUT_TAIL;
            self.bytes.drain(..cut);
            self.truncated = true;
        }
    }

    /// As text: a character cut by the truncation, or output that is not UTF-8, becomes
    /// U+FFFD.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Runs the command to its end (or its timeout) and says how it went. Never fails: a command
/// that cannot start is a run with [`ActionOutcome::NotStarted`].
pub async fn run(req: &ActionRequest) -> ActionRun {
    let mut run = req.started(Utc::now());
    let clock = tokio::time::Instant::now();
    let tail = Arc::new(Mutex::new(Tail::default()));
    run.outcome = match spawn_and_wait(req, &tail).await {
        Ok(outcome) => outcome,
        Err(error) => ActionOutcome::NotStarted { error },
    };
    let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
    run.duration = clock.elapsed();
    run.output = tail.text();
    run.output_truncated = tail.truncated;
    run
}

async fn spawn_and_wait(
    req: &ActionRequest,
    tail: &Arc<Mutex<Tail>>,
) -> Result<ActionOutcome, String> {
    let Some((first, args)) = req.command.split_first() else {
        return Err("the command is empty".into());
    };
    let dir = working_dir(&req.config_path);
    let program = program(first, &dir);
    // The check's report as the store keeps it (the fields of `verify --json`, with
    // `checked_at` and `seen`): private to this user (tempfile creates it 0600), removed when
    // the run ends.
    let report = tempfile::Builder::new()
        .prefix("deploywatch-report-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| format!("cannot write the report file: {e}"))?;
    serde_json::to_writer_pretty(report.as_file(), &req.report)
        .map_err(|e| format!("cannot write the report file: {e}"))?;

    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if SECRET_VARS.contains(&key_text.as_ref()) || key_text.starts_with("DEPLOYWATCH_") {
            cmd.env_remove(&key);
        }
    }
    cmd.envs(req.variables());
    cmd.env("DEPLOYWATCH_REPORT_JSON", report.path());
    // Its own process group, so a timeout ends what it started too.
    #[cfg(unix)]
    cmd.process_group(0);
    // No console window flashing up from a windowless resident process.
    #[cfg(windows)]
    cmd.creation_flags(0x0800_0000); // CREATE_NO_WINDOW

    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(read_into(out, tail.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(read_into(err, tail.clone())));
    }

    #[cfg(windows)]
    let tree = Tree::of(&child);
    let waited = tokio::time::timeout(req.timeout, child.wait()).await;
    #[cfg(windows)]
    match waited {
        Err(_) => tree.kill(),
        Ok(_) => tree.release(),
    }
    let outcome = match waited {
        Ok(Ok(status)) => ended(status),
        Ok(Err(e)) => ActionOutcome::Killed {
            signal: format!("an error waiting for it ({e})"),
        },
        Err(_) => {
            terminate(&mut child).await;
            ActionOutcome::TimedOut
        }
    };
    // What it printed until now; a process it left behind does not hold the run open.
    let drained = tokio::time::timeout(DRAIN, async {
        for r in &mut readers {
            let _ = r.await;
        }
    })
    .await;
    if drained.is_err() {
        readers.iter().for_each(tokio::task::JoinHandle::abort);
    }
    drop(report);
    Ok(outcome)
}

async fn read_into(mut from: impl tokio::io::AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(&buf[..n]),
        }
    }
}

/// On Windows, the command and every process it starts, in a job object that ends them all
/// when it is closed (the process group's part on Unix). If the job cannot be made, only the
/// command itself is ended on a timeout.
#[cfg(windows)]
struct Tree(Option<win32job::Job>);

#[cfg(windows)]
impl Tree {
    fn of(child: &tokio::process::Child) -> Tree {
        let job = (|| {
            let mut info = win32job::ExtendedLimitInfo::new();
            info.limit_kill_on_job_close();
            let job = win32job::Job::create_with_limit_info(&info).ok()?;
            job.assign_process(child.raw_handle()? as isize).ok()?;
            Some(job)
        })();
        if job.is_none() {
            tracing::warn!(
                "no job object for the action: past its limit, only the command itself is ended"
            );
        }
        Tree(job)
    }

    /// Ends every process in the job (closing it, with kill-on-close set).
    fn kill(self) {
        drop(self.0);
    }

    /// The command ended by itself: what it left running stays, as on Unix.
    fn release(self) {
        if let Some(job) = self.0 {
            let mut info = win32job::ExtendedLimitInfo::new();
            info.clear_limits();
            let _ = job.set_extended_limit_info(&info);
        }
    }
}

/// After the timeout: SIGTERM to its process group, [`KILL_GRACE`] to exit, then SIGKILL to
/// the group either way (what it started may outlive it). On Windows the job object has ended
/// them all already ([`Tree::kill`]); the command itself is killed last everywhere.
async fn terminate(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        use rustix::process::{Signal, kill_process_group};
        let _ = kill_process_group(pid, Signal::TERM);
        let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
        let _ = kill_process_group(pid, Signal::KILL);
    }
    let _ = child.kill().await;
}

fn ended(status: std::process::ExitStatus) -> ActionOutcome {
    if let Some(code) = status.code() {
        return ActionOutcome::Exited { code };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(n) = status.signal() {
            return ActionOutcome::Killed {
                signal: signal_name(n),
            };
        }
    }
    ActionOutcome::Killed {
        signal: status.to_string(),
    }
}

/// "SIGKILL" for 9 and the other common ones; "signal 42" otherwise.
#[cfg(unix)]
fn signal_name(n: i32) -> String {
    let name = match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {n}"),
    };
    name.to_owned()
}

/// The report's check about the incident's latest action: "on_open ./recreate.sh exited 0
/// after 3.2 s at 10:04:05 UTC — last output: recreated web-1".
pub fn check_of(run: &ActionRun) -> deploywatch_core::Check {
    let at = (run.started_at + chrono::Duration::from_std(run.duration).unwrap_or_default())
        .format("%H:%M:%S UTC");
    let last = last_line(&run.output)
        .map(|l| format!(" — last output: {l}"))
        .unwrap_or_default();
    deploywatch_core::Check {
        name: "action".into(),
        ok: run.outcome.succeeded(),
        detail: format!("{} at {at}{last}", run.summary()),
    }
}

/// The last line of a command's output with something on it, at most 200 characters and
/// without control characters (a terminal escape in it must not reach a log or a report).
pub fn last_line(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().filter(|c| !c.is_control()).take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_and_says_it_dropped_some() {
        let mut t = Tail::default();
        t.push(b"first\n");
        assert_eq!((t.text().as_str(), t.truncated), ("first\n", false));
        t.push(&vec![b'x'; OUTPUT_TAIL]);
        t.push(b"end\n");
        assert_eq!(t.bytes.len(), OUTPUT_TAIL);
        assert!(t.truncated && t.text().ends_with("xend\n"));
        // A character cut in two by the truncation is shown as one replacement character.
        let mut t = Tail::default();
        let mut bytes = "é".as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'a', OUTPUT_TAIL - 1));
        t.push(&bytes);
        let text = t.text();
        assert!(text.starts_with('\u{fffd}'), "{:?}", &text[..8]);
        assert_eq!(text.chars().filter(|c| *c == 'a').count(), OUTPUT_TAIL - 1);
    }

    #[test]
    fn relative_programs_are_found_beside_the_config_and_bare_names_in_path() {
        let dir = Path::new("/etc/deploywatch");
        assert_eq!(
            program("./fix.sh", dir),
            Path::new("/etc/deploywatch/./fix.sh")
        );
        assert_eq!(
            program("scripts/fix", dir),
            Path::new("/etc/deploywatch/scripts/fix")
        );
        assert_eq!(program("systemctl", dir), Path::new("systemctl"));
        assert_eq!(program("/usr/bin/env", dir), Path::new("/usr/bin/env"));
    }
}
