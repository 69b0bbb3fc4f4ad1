//! GitHub requests per repository of the real `deploywatch watch` (issue 13, BENCHMARKS.md):
//! requests per repository per hour, authenticated and not, idle and during a deploy.
//!
//! **Method.** GitHub is a `FakeHub` on loopback: it records every request and charges its
//! quota like GitHub (every answer costs one, except a `304` to a request with an
//! `Authorization` header, and `/rate_limit`). Each repository `acme/sN` (branch `main`) has
//! one environment, `production`, a `SimEnv` of its own serving the branch head; every head has
//! a completed, successful CI run. The binary runs as `deploywatch --config CFG --db DB watch
//! --no-notify` in a clean environment (only `PATH`, `HOME` and the XDG directories in a
//! temporary directory, `NO_COLOR=1`, `DEPLOYWATCH_LOG=warn`; authenticated cases add
//! `GITHUB_TOKEN=ghp_bench` and the fake requires that token), and is stopped with `SIGTERM`.
//!
//! **Scaled time.** The default idle interval is 5 minutes: 12 polls an hour when nothing
//! changes. The bench sets `idle_interval` and `fast_interval` to 1 s (`DW_BUDGET_IDLE`), so
//! one second stands for one idle poll, and reports requests per repository per interval and
//! that × 12 as "per repository-hour at the 5-min default". That hourly figure is **derived**
//! (requests per poll × 12 polls per hour), not measured over a wall-clock hour.
//!
//! Cases (N = `DW_BUDGET_REPOS` repositories, default 100). The first four give the fake a
//! quota of 1,000,000 so that it never binds: they measure demand, the cost of a poll.
//!
//! 1. authenticated, idle: after a 3 s warm-up (first reads, ETags learnt) the recorded
//!    requests are cleared and counted for `DW_BUDGET_SECS` (default 24 s = 24 intervals).
//! 2. unauthenticated, idle: the same without a token (every `304` costs quota).
//! 3. authenticated, during a deploy: after the warm-up every repository's `main` moves to a
//!    new SHA with a `queued` run; at +3 s the runs are `in_progress`, at +6 s `completed` /
//!    `success`, at +9 s every environment serves the new SHA; requests are counted over the
//!    12 s from the push, per repository, split into branch reads (`/branches/`) and
//!    workflow-run reads (`/actions/runs`), and by phase.
//! 4. unauthenticated, during a deploy: the same without a token.
//! 5. unauthenticated with GitHub's real quota (60 an hour) and 40 repositories, counted from
//!    the start for `DW_BUDGET_SECS`: total requests (at most 57 keep 3 for the user) and
//!    answers `403`/`429` (should be 0). Printed, not asserted.
//!
//! "Quota spent" counts the requests the fake charged: all but `304`s to authorised requests
//! and `/rate_limit`. Nothing is asserted; timing is only measured and printed.
//!
//! Run with
//! `cargo build --release -p deploywatch-cli && cargo bench -p deploywatch-cli --bench github_budget`.
//! The binary measured is `DW_BIN`, else `$CARGO_TARGET_DIR/release/deploywatch`, else the
//! `release/deploywatch` next to this bench's own directory — so build the release binary
//! first (the line above does). `DW_BUDGET_CASES=1,3` runs some cases only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use deploywatch_fakehub::{FakeHub, RequestRecord};
use deploywatch_fleet::SimEnv;

const TOKEN: &str = "ghp_bench";
/// Time for the first poll of every repository (full reads, ETags learnt) before counting.
const WARM_UP: Duration = Duration::from_secs(3);
/// The deploy: runs `in_progress`, `completed`, environments live, end of the count.
const DEPLOY_PHASES: [u64; 4] = [3, 6, 9, 12];
/// Idle polls per hour at the default 5-minute idle interval.
const POLLS_PER_HOUR: f64 = 12.0;
/// Repositories and the quota of case 5 (the e2e test `budget.rs` uses the same).
const REAL_QUOTA_REPOS: usize = 40;
const REAL_QUOTA: u32 = 60;
/// What the engine may spend of 60: it keeps 3 for the user.
const REAL_QUOTA_ALLOWED: usize = 57;
const DEMAND_QUOTA: u32 = 1_000_000;

/// A git SHA that looks real and is unique per name (FNV-1a, as tests/e2e/harness.rs).
fn sha(name: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u8..3 {
        for b in name.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("DW_BIN") {
        return PathBuf::from(bin);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("release").join("deploywatch");
    }
    // This bench runs from `<target>/release/deps/`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("deploywatch")))
        .unwrap_or_else(|| PathBuf::from("target/release/deploywatch"))
}

fn git_head() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(dir)
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{rev} (working tree modified)")
    } else {
        rev
    }
}

/// One repository per environment, each head green; returns the environments and the config.
async fn fleet(hub: &FakeHub, repos: usize, interval: &str) -> (Vec<SimEnv>, String) {
    let mut toml = format!(
        "[github]\napi_url = \"{}\"\n\n[defaults]\ngrace = \"0s\"\nci_timeout = \"10m\"\n\
         fast_interval = \"{interval}\"\nidle_interval = \"{interval}\"\ntimeout = \"2s\"\n\n\
         [notifications]\ndesktop = false\n",
        hub.api_url()
    );
    let mut envs = Vec::with_capacity(repos);
    for i in 0..repos {
        let repo = format!("acme/s{i}");
        let head = sha(&format!("s{i}"));
        hub.push(&repo, "main", &head, "Alice", "Ship it");
        hub.add_run(&repo, &head, "CI", "completed", Some("success"));
        let env = SimEnv::start("production").await.expect("start a SimEnv");
        env.set_live(&head);
        toml.push_str(&format!(
            "\n[[project]]\nname = \"s{i}\"\nrepo = \"{repo}\"\nbranch = \"main\"\n\n\
             [[project.environment]]\nname = \"production\"\nbuild_info_url = \"{}\"\n",
            env.build_info_url()
        ));
        envs.push(env);
    }
    (envs, toml)
}

/// `deploywatch watch` with its own scratch directory; output goes to files there.
struct Watch {
    child: Child,
    dir: tempfile::TempDir,
}

impl Watch {
    fn start(bin: &Path, config: &str, authenticated: bool) -> Watch {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, config).expect("write config");
        let stdout = std::fs::File::create(dir.path().join("stdout")).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(&cfg)
            .arg("--db")
            .arg(dir.path().join("deploywatch.db"))
            .args(["watch", "--no-notify"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", dir.path().join("xdg-data"))
            .env("NO_COLOR", "1")
            .env("DEPLOYWATCH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if authenticated {
            cmd.env("GITHUB_TOKEN", TOKEN);
        }
        let child = cmd.spawn().expect("start deploywatch watch");
        Watch { child, dir }
    }

    /// SIGTERM, then waits (up to 15 s; then SIGKILL); returns the status and output notes.
    async fn stop(mut self) -> (Option<ExitStatus>, Vec<String>) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        // What the binary said about GitHub (its budget, its token), once per distinct line.
        let mut seen = BTreeSet::new();
        let mut notes = Vec::new();
        for file in ["stdout", "stderr"] {
            let text = std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
            for line in text.lines() {
                let line = line.trim();
                let about_github = line.contains("GitHub") || line.contains("rate limit");
                if about_github && seen.insert(line.to_string()) && notes.len() < 4 {
                    let short: String = line.chars().take(220).collect();
                    notes.push(format!("{file}: {short}"));
                }
            }
            let incidents = text.lines().filter(|l| l.contains('▶')).count();
            if incidents > 0 {
                notes.push(format!(
                    "{file}: {incidents} lines announcing an incident (▶)"
                ));
            }
        }
        (status, notes)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Idle,
    Deploy,
    RealQuota,
}

struct Case {
    number: usize,
    label: &'static str,
    authenticated: bool,
    kind: Kind,
}

struct Outcome {
    label: String,
    repos: usize,
    secs: f64,
    requests: usize,
    quota: usize,
    branch: usize,
    runs: usize,
    other: usize,
    refused: usize,
    per_interval: String,
    per_hour: String,
    notes: Vec<String>,
}

fn charged(r: &RequestRecord) -> bool {
    let rate_limit = r
        .path_and_query
        .split('?')
        .next()
        .unwrap_or("")
        .ends_with("/rate_limit");
    // GitHub charges neither `/rate_limit` nor a 304 to an authorised request.
    !(rate_limit || (r.status == 304 && r.authorization))
}

fn is_branch(r: &RequestRecord) -> bool {
    r.path_and_query.contains("/branches/")
}

fn is_runs(r: &RequestRecord) -> bool {
    r.path_and_query.contains("/actions/runs")
}

async fn run_case(
    case: &Case,
    bin: &Path,
    repos: usize,
    secs: u64,
    interval: (&str, f64),
) -> Outcome {
    let (interval_text, interval_secs) = interval;
    let hub = FakeHub::start().await.expect("start the fake GitHub");
    let repos = if case.kind == Kind::RealQuota {
        REAL_QUOTA_REPOS
    } else {
        repos
    };
    let quota = if case.kind == Kind::RealQuota {
        REAL_QUOTA
    } else {
        DEMAND_QUOTA
    };
    hub.set_rate_limit(quota, quota, Utc::now() + chrono::Duration::hours(1));
    if case.authenticated {
        hub.require_token(Some(TOKEN));
    }
    let (envs, config) = fleet(&hub, repos, interval_text).await;
    let watch = Watch::start(bin, &config, case.authenticated);

    let mut notes = Vec::new();
    let (records, window) = match case.kind {
        Kind::Idle => {
            tokio::time::sleep(WARM_UP).await;
            hub.clear_requests();
            let from = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let until = Instant::now();
            let records: Vec<_> = hub
                .requests()
                .into_iter()
                .filter(|r| r.at >= from && r.at <= until)
                .collect();
            (records, until - from)
        }
        Kind::RealQuota => {
            let from = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let until = Instant::now();
            (hub.requests(), until - from)
        }
        Kind::Deploy => {
            tokio::time::sleep(WARM_UP).await;
            hub.clear_requests();
            let t0 = Instant::now();
            let news: Vec<String> = (0..repos).map(|i| sha(&format!("s{i}-deploy"))).collect();
            let mut ids = Vec::with_capacity(repos);
            for (i, new) in news.iter().enumerate() {
                let repo = format!("acme/s{i}");
                hub.push(&repo, "main", new, "Bob", "Deploy");
                ids.push(hub.add_run(&repo, new, "CI", "queued", None));
            }
            let at = |s: u64| tokio::time::Instant::from_std(t0 + Duration::from_secs(s));
            tokio::time::sleep_until(at(DEPLOY_PHASES[0])).await;
            for (i, id) in ids.iter().enumerate() {
                hub.update_run(&format!("acme/s{i}"), *id, "in_progress", None);
            }
            tokio::time::sleep_until(at(DEPLOY_PHASES[1])).await;
            for (i, id) in ids.iter().enumerate() {
                hub.update_run(&format!("acme/s{i}"), *id, "completed", Some("success"));
            }
            tokio::time::sleep_until(at(DEPLOY_PHASES[2])).await;
            for (env, new) in envs.iter().zip(&news) {
                env.set_live(new);
            }
            tokio::time::sleep_until(at(DEPLOY_PHASES[3])).await;
            let until = Instant::now();
            let records: Vec<_> = hub
                .requests()
                .into_iter()
                .filter(|r| r.at >= t0 && r.at <= until)
                .collect();
            // Requests by phase, per repository.
            let mut bounds = vec![t0];
            bounds.extend(DEPLOY_PHASES.iter().map(|s| t0 + Duration::from_secs(*s)));
            let names = ["queued", "in_progress", "completed", "live"];
            let phases: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(p, name)| {
                    let (lo, hi) = (bounds[p], bounds[p + 1]);
                    let n = records.iter().filter(|r| r.at >= lo && r.at < hi).count();
                    format!("{name} {:.2}", n as f64 / repos as f64)
                })
                .collect();
            notes.push(format!(
                "per repository by phase (3 s each): {}",
                phases.join(", ")
            ));
            (records, until - t0)
        }
    };
    let (status, said) = watch.stop().await;
    drop(envs);
    match status {
        Some(s) if s.success() => {}
        Some(s) => notes.push(format!("watch exited with {s}")),
        None => notes.push("watch did not stop within 15 s of SIGTERM; killed".into()),
    }
    notes.extend(said);

    let requests = records.len();
    let quota_spent = records.iter().filter(|r| charged(r)).count();
    let branch = records.iter().filter(|r| is_branch(r)).count();
    let runs = records.iter().filter(|r| is_runs(r)).count();
    let refused = records
        .iter()
        .filter(|r| r.status == 403 || r.status == 429)
        .count();
    let others: BTreeSet<String> = records
        .iter()
        .filter(|r| !is_branch(r) && !is_runs(r))
        .map(|r| r.path_and_query.split('?').next().unwrap_or("").to_string())
        .collect();
    if !others.is_empty() {
        let list: Vec<String> = others.into_iter().take(4).collect();
        notes.push(format!("other paths: {}", list.join(", ")));
    }
    let statuses: BTreeSet<u16> = records.iter().map(|r| r.status).collect();
    let by_status: Vec<String> = statuses
        .iter()
        .map(|s| format!("{s}×{}", records.iter().filter(|r| r.status == *s).count()))
        .collect();
    notes.push(format!("answers: {}", by_status.join(", ")));

    let secs_f = window.as_secs_f64();
    let intervals = secs_f / interval_secs;
    let per = |n: usize| n as f64 / repos as f64 / intervals;
    let per_interval = format!("{:.2} / {:.2}", per(requests), per(quota_spent));
    let per_hour = match case.kind {
        Kind::Idle => format!(
            "{:.1} / {:.1} per repo-hour",
            per(requests) * POLLS_PER_HOUR,
            per(quota_spent) * POLLS_PER_HOUR
        ),
        Kind::Deploy => format!(
            "{:.1} / {:.1} per repo over the deploy",
            requests as f64 / repos as f64,
            quota_spent as f64 / repos as f64
        ),
        Kind::RealQuota => format!(
            "{requests} requests (≤ {REAL_QUOTA_ALLOWED}: {}), {refused} × 403/429 (0: {})",
            if requests <= REAL_QUOTA_ALLOWED {
                "ok"
            } else {
                "EXCEEDED"
            },
            if refused == 0 { "ok" } else { "NOT OK" }
        ),
    };
    Outcome {
        label: format!("{}. {}", case.number, case.label),
        repos,
        secs: secs_f,
        requests,
        quota: quota_spent,
        branch,
        runs,
        other: requests - branch - runs,
        refused,
        per_interval,
        per_hour,
        notes,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let bin = binary();
    if !bin.exists() {
        println!(
            "github_budget bench: no binary at {} (build it with `cargo build --release -p \
             deploywatch-cli`, or set DW_BIN); skipped",
            bin.display()
        );
        return;
    }
    let repos: usize = env_or("DW_BUDGET_REPOS", 100);
    let secs: u64 = env_or("DW_BUDGET_SECS", 24);
    let interval_text = std::env::var("DW_BUDGET_IDLE").unwrap_or_else(|_| "1s".into());
    let interval = humantime::parse_duration(&interval_text)
        .expect("DW_BUDGET_IDLE: a duration such as 1s or 500ms")
        .as_secs_f64();
    let wanted: Option<Vec<usize>> = std::env::var("DW_BUDGET_CASES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect());
    let cases = [
        Case {
            number: 1,
            label: "authenticated, idle",
            authenticated: true,
            kind: Kind::Idle,
        },
        Case {
            number: 2,
            label: "unauthenticated, idle",
            authenticated: false,
            kind: Kind::Idle,
        },
        Case {
            number: 3,
            label: "authenticated, deploy",
            authenticated: true,
            kind: Kind::Deploy,
        },
        Case {
            number: 4,
            label: "unauthenticated, deploy",
            authenticated: false,
            kind: Kind::Deploy,
        },
        Case {
            number: 5,
            label: "unauthenticated, 60/h quota",
            authenticated: false,
            kind: Kind::RealQuota,
        },
    ];

    println!("binary: {}", bin.display());
    println!("commit: {}", git_head());
    println!(
        "schedule: fast_interval = idle_interval = {interval_text}; one interval stands for one \
         idle poll (5 min by default); warm-up {} s before counting idle and deploy cases",
        WARM_UP.as_secs()
    );
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut outcomes = Vec::new();
    for case in &cases {
        if wanted.as_ref().is_some_and(|w| !w.contains(&case.number)) {
            continue;
        }
        let secs = if case.kind == Kind::Deploy {
            DEPLOY_PHASES[3]
        } else {
            secs
        };
        println!("running case {}: {} …", case.number, case.label);
        let outcome = rt.block_on(run_case(
            case,
            &bin,
            repos,
            secs,
            (&interval_text, interval),
        ));
        outcomes.push(outcome);
    }

    println!();
    println!(
        "| case | repos | s | requests | quota spent | branch reads | run reads | other | \
         403/429 | per repo per interval (requests / quota) | per repo-hour at the 5-min \
         default, derived ×12 (idle) · per repo over the deploy (deploy) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.label,
            o.repos,
            o.secs,
            o.requests,
            o.quota,
            o.branch,
            o.runs,
            o.other,
            o.refused,
            o.per_interval,
            o.per_hour
        );
    }
    println!();
    println!(
        "The per repo-hour figures are derived: requests per idle poll × 12 polls an hour at the \
         default 5-min idle interval, not counted over a wall-clock hour."
    );
    for o in &outcomes {
        if !o.notes.is_empty() {
            println!("{}:", o.label);
            for n in &o.notes {
                println!("  {n}");
            }
        }
    }
}
