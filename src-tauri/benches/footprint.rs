//! What the desktop app costs a machine: resident memory of the whole process tree (the app
//! plus its WebKit processes) and idle CPU, with the window open and after it was closed the
//! way a window manager closes it, while it watches a small fleet; and launch to window shown.
//!
//! Needs what the GUI tests need (an X display, a D-Bus session bus, the release app):
//! `bash scripts/app.sh footprint` provides them. `DEPLOYWATCH_FOOTPRINT_RUNS` (default 3)
//! launches; `DEPLOYWATCH_FOOTPRINT_IDLE` seconds of idle CPU sampling (default 60).

// The test support is shared with the GUI tests; not every helper is used here.
#[allow(dead_code)]
#[path = "../tests/it/desktop.rs"]
mod desktop;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of `pid` and its descendants, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    desktop::tree(pid)
        .iter()
        .filter_map(|(p, _)| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            // Fields after the command: state is [0]; utime and stime are [11] and [12].
            Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

fn mb(kb: u64) -> u64 {
    (kb + 512) / 1024
}

/// "app 163/89, WebKitNetworkProcess 60/28, …" (RSS/PSS MB per process, same names summed).
fn breakdown(pid: u32) -> String {
    let mut by: Vec<(String, u64, u64)> = Vec::new();
    for (comm, rss, pss) in desktop::memory_by_process(pid) {
        let name = if comm.starts_with("WebKit") {
            comm
        } else {
            "app".into()
        };
        match by.iter_mut().find(|(n, ..)| *n == name) {
            Some(e) => {
                e.1 += rss;
                e.2 += pss;
            }
            None => by.push((name, rss, pss)),
        }
    }
    by.iter()
        .map(|(n, r, p)| format!("{n} {}/{}", mb(*r), mb(*p)))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Sample {
    launch_to_window: Duration,
    open: (u64, u64),
    open_detail: String,
    open_cpu_ms: u64,
    closed: (u64, u64),
    closed_detail: String,
    closed_cpu_ms: u64,
}

fn idle_cpu_ms(pid: u32, idle: Duration) -> u64 {
    let tick_ms = 1000 / ticks_per_second();
    let before = cpu_ticks(pid);
    std::thread::sleep(idle);
    (cpu_ticks(pid).saturating_sub(before)) * tick_ms
}

fn run_once(
    x: &desktop::Display,
    config: &std::path::Path,
    dir: &std::path::Path,
    idle: Duration,
) -> Sample {
    let started = Instant::now();
    let mut app = Command::new(desktop::app_binary())
        .env("DEPLOYWATCH_CONFIG", config)
        .env("DEPLOYWATCH_DB", dir.join("deploywatch.db"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("launch the release app (bash scripts/app.sh build)");
    let pid = app.id();
    let window = x.wait_windows(pid, 1, Duration::from_secs(30))[0];
    let launch_to_window = started.elapsed();

    // Settled: the page has loaded and the first checks are done.
    std::thread::sleep(Duration::from_secs(15));
    let open = desktop::memory_kb(pid);
    let open_detail = breakdown(pid);
    let open_cpu_ms = idle_cpu_ms(pid, idle);

    x.close(window);
    x.wait_windows(pid, 0, Duration::from_secs(10));
    let start = Instant::now();
    while desktop::web_processes(pid) > 0 && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(15));
    assert!(desktop::alive(pid), "closing the window ended the app");
    let closed = desktop::memory_kb(pid);
    let closed_detail = breakdown(pid);
    let closed_cpu_ms = idle_cpu_ms(pid, idle);

    let _ = app.kill();
    let _ = app.wait();
    Sample {
        launch_to_window,
        open,
        open_detail,
        open_cpu_ms,
        closed,
        closed_detail,
        closed_cpu_ms,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects nothing here.
    if std::env::var_os("DISPLAY").is_none()
        || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
    {
        eprintln!(
            "footprint: needs an X display and a D-Bus session bus; run `bash scripts/app.sh footprint`"
        );
        std::process::exit(2);
    }
    let runs = env_number("DEPLOYWATCH_FOOTPRINT_RUNS", 3);
    let idle = Duration::from_secs(env_number("DEPLOYWATCH_FOOTPRINT_IDLE", 60));

    // A fleet to watch, as a user would have it: GitHub (the fake), one project with a
    // phantom production and a live staging, the default schedule.
    let (hub, prod, staging, _tray) = tauri::async_runtime::block_on(async {
        let hub = deploywatch_fakehub::FakeHub::start()
            .await
            .expect("fake GitHub");
        let (old, new) = (
            deploywatch_fleet::fake_sha("old"),
            deploywatch_fleet::fake_sha("new"),
        );
        hub.push("acme/shop", "main", &old, "alice", "Add checkout");
        hub.push("acme/shop", "main", &new, "bob", "Fix rounding");
        hub.add_run("acme/shop", &new, "CI", "completed", Some("success"));
        let prod = deploywatch_fleet::SimEnv::start("production")
            .await
            .expect("production");
        prod.set_live(&old);
        let staging = deploywatch_fleet::SimEnv::start("staging")
            .await
            .expect("staging");
        staging.set_live(&new);
        // A panel's tray host, so the tray icon registers as on a desktop.
        (hub, prod, staging, desktop::TrayHost::start())
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[github]\napi_url = \"{}\"\n\n[notifications]\ndesktop = false\n\n\
             [[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\nbranch = \"main\"\n\n\
             [[project.environment]]\nname = \"production\"\nbuild_info_url = \"{}\"\n\n\
             [[project.environment]]\nname = \"staging\"\nbuild_info_url = \"{}\"\n",
            hub.api_url(),
            prod.build_info_url(),
            staging.build_info_url()
        ),
    )
    .expect("config");

    println!(
        "| run | launch → window shown | window open: RSS / PSS | idle CPU over {} s | window closed: RSS / PSS | idle CPU over {} s |",
        idle.as_secs(),
        idle.as_secs()
    );
    println!("|---|---|---|---|---|---|");
    // One connection for the whole bench: Xvfb resets when its last client leaves, and a
    // connection made during the reset is refused.
    let x = desktop::Display::open();
    let mut details = Vec::new();
    for run in 1..=runs {
        let s = run_once(&x, &config, dir.path(), idle);
        println!(
            "| {run} | {:.2} s | {} MB / {} MB | {} ms | {} MB / {} MB | {} ms |",
            s.launch_to_window.as_secs_f64(),
            mb(s.open.0),
            mb(s.open.1),
            s.open_cpu_ms,
            mb(s.closed.0),
            mb(s.closed.1),
            s.closed_cpu_ms
        );
        details.push(format!(
            "run {run}: open [{}]; closed [{}] (RSS/PSS MB)",
            s.open_detail, s.closed_detail
        ));
    }
    println!();
    for d in details {
        println!("{d}");
    }
}
