//! Measurements of the real `deploywatch` binary against loopback fakes (BENCHMARKS.md):
//!
//! 1. `verify` over 100 environments: wall time and peak RSS of one run, repeated.
//! 2. A scripted idle hour of `watch`: GitHub requests counted by the fake GitHub, with the
//!    schedule scaled down 60× (10 s → 167 ms, 5 min → 5 s) so an hour takes a minute.
//!
//! Run with `cargo bench -p deploywatch-cli --bench fleet` (`DW_BENCH=verify` or `idle` for
//! one of them).

use std::process::Command;
use std::time::{Duration, Instant};

use deploywatch_fakehub::FakeHub;
use deploywatch_fleet::SimEnv;

const BIN: &str = env!("CARGO_BIN_EXE_deploywatch");

fn sha(n: u32) -> String {
    format!("{n:08x}").repeat(5)
}

fn config(api: &str, envs: &[SimEnv], defaults: &str) -> String {
    let mut text = format!(
        "[github]\napi_url = \"{api}\"\n\n[defaults]\ngrace = \"0s\"\n{defaults}\n\n[notifications]\ndesktop = false\n"
    );
    for (i, chunk) in envs.chunks(10).enumerate() {
        text.push_str(&format!(
            "\n[[project]]\nname = \"p{i}\"\nrepo = \"acme/p{i}\"\n"
        ));
        for (j, env) in chunk.iter().enumerate() {
            text.push_str(&format!(
                "\n[[project.environment]]\nname = \"e{j}\"\nbuild_info_url = \"{}\"\n",
                env.build_info_url()
            ));
        }
    }
    text
}

/// Peak RSS of a finished child in KiB, from `getrusage(RUSAGE_CHILDREN)` via /proc: read
/// `VmHWM` just before exit is racy, so use GNU time when present.
fn run_timed(args: &[&str], dir: &std::path::Path) -> (Duration, Option<u64>, i32) {
    let time = std::path::Path::new("/usr/bin/time");
    let started = Instant::now();
    let out = if time.exists() {
        Command::new(time)
            .arg("-f")
            .arg("%M")
            .arg(BIN)
            .args(args)
            .current_dir(dir)
            .output()
    } else {
        Command::new(BIN).args(args).current_dir(dir).output()
    }
    .expect("run deploywatch");
    let elapsed = started.elapsed();
    let rss = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok());
    (elapsed, rss, out.status.code().unwrap_or(-1))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn verify_100() {
    let hub = FakeHub::start().await.unwrap();
    let mut envs = Vec::new();
    for i in 0..100u32 {
        let env = SimEnv::start(&format!("e{i}")).await.unwrap();
        env.set_live(&sha(i / 10));
        envs.push(env);
    }
    for p in 0..10u32 {
        hub.push(&format!("acme/p{p}"), "main", &sha(p), "Alice", "Release");
        hub.add_run(
            &format!("acme/p{p}"),
            &sha(p),
            "CI",
            "completed",
            Some("success"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config(&hub.api_url(), &envs, "")).unwrap();
    let (c, d) = (
        cfg.to_str().unwrap().to_string(),
        dir.path().join("dw.db").to_str().unwrap().to_string(),
    );
    let args = ["--config", &c, "--db", &d, "verify", "--json"];
    // Warm-up: creates the database and fills the ETag cache.
    let dir_path = dir.path().to_path_buf();
    let (_, _, code) = tokio::task::spawn_blocking({
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let p = dir_path.clone();
        move || run_timed(&a.iter().map(String::as_str).collect::<Vec<_>>(), &p)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "all 100 environments should be live");
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..10 {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let p = dir_path.clone();
        let (t, r, code) = tokio::task::spawn_blocking(move || {
            run_timed(&a.iter().map(String::as_str).collect::<Vec<_>>(), &p)
        })
        .await
        .unwrap();
        assert_eq!(code, 0);
        times.push(t);
        rss.extend(r);
    }
    let min = times.iter().min().unwrap();
    let max = times.iter().max().unwrap();
    println!(
        "verify, 100 environments in 10 projects, all live: median {:?}, min {:?}, max {:?} over 10 runs; peak RSS {} KiB (median)",
        median(times.clone()),
        min,
        max,
        {
            rss.sort();
            rss.get(rss.len() / 2).copied().unwrap_or(0)
        }
    );
    let reqs = hub.requests();
    let per_run = reqs.len() as f64 / 11.0;
    let not_modified = reqs.iter().filter(|r| r.status == 304).count();
    println!(
        "  GitHub requests: {per_run:.1} per run (2 per project), {not_modified} of {} answered 304",
        reqs.len()
    );
}

async fn idle_hour() {
    let hub = FakeHub::start().await.unwrap();
    let mut envs = Vec::new();
    for i in 0..3 {
        let env = SimEnv::start(&format!("e{i}")).await.unwrap();
        env.set_live(&sha(0));
        envs.push(env);
    }
    hub.push("acme/p0", "main", &sha(0), "Alice", "Release");
    hub.add_run("acme/p0", &sha(0), "CI", "completed", Some("success"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    // The default schedule (fast 10 s, idle 5 min) scaled 60×.
    let defaults = "fast_interval = \"167ms\"\nidle_interval = \"5s\"";
    std::fs::write(&cfg, config(&hub.api_url(), &envs, defaults)).unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("dw.db"))
        .args(["watch", "--no-notify"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let reqs = hub.requests();
    let not_modified = reqs.iter().filter(|r| r.status == 304).count();
    let probes: u64 = envs.iter().map(SimEnv::requests).sum();
    println!(
        "idle hour (scaled 60×), 1 repository, 3 environments: {} GitHub requests, {} of them 304 (free of rate limit), {} counted against the limit; {} environment probes",
        reqs.len(),
        not_modified,
        reqs.len() - not_modified,
        probes
    );
}

fn main() {
    let which = std::env::var("DW_BENCH").unwrap_or_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    if which.is_empty() || which == "verify" {
        rt.block_on(verify_100());
    }
    if which.is_empty() || which == "idle" {
        rt.block_on(idle_hour());
    }
}
