//! What the desktop app costs a machine, both processes: the window process (with its WebKit
//! processes) and the resident process (watcher, tray, notifications). Memory and idle CPU
//! with the window open — per process: the window, each WebKit process, the resident — and of
//! the resident process alone after the window was closed the way a window manager closes it,
//! while it watches a fleet; launch to window shown (cold: the window starts the resident
//! process); and tray Open → window mapped and → painted, five times.
//!
//! *Painted* is read off the screen: the window's pixels (X `GetImage`, RGB) are read every
//! 50 ms plus the time a reading takes (about 150 ms for 1100×760 here) for 3 s, and the
//! time is that of the first reading equal to every later one — the page as it stays, not a
//! blank or half-built frame. So it is late by up to one reading's time, never early.
//!
//! Needs what the GUI tests need (an X display, a D-Bus session bus, the release app and
//! `deploywatch-tray` beside it): `bash scripts/app.sh footprint` provides them.
//! `DEPLOYWATCH_FOOTPRINT_RUNS` (default 3) launches; `DEPLOYWATCH_FOOTPRINT_IDLE` seconds of
//! idle CPU sampling (default 60); `DEPLOYWATCH_FOOTPRINT_ENVS` environments watched (default
//! 11, the demo fleet's size; comma-separated for several fleets, e.g. `11,200`), half of them
//! a phantom deploy (on the fast schedule) unless `DEPLOYWATCH_FOOTPRINT_QUIET=1` makes them all
//! live (nothing changing: the idle schedule). `DEPLOYWATCH_FOOTPRINT_DEBUG=1` prints when
//! the window's pixels changed after each Open and writes each changed reading to
//! `/tmp/painted-<ms>.bgra` (`convert -size 1100x760 -depth 8 bgra:F -alpha off F.png`).

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

/// CPU time (user + system) of each of `procs` (`pid` and its descendants), in clock ticks,
/// by command name ("WebKitWebProcess", …; `pid` itself as `own`).
fn cpu_ticks(pid: u32, own: &str, procs: &[(u32, String)]) -> Vec<(String, u64)> {
    let mut by: Vec<(String, u64)> = Vec::new();
    for (p, comm) in procs.iter().cloned() {
        let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(rest) = s
            .rsplit_once(')')
            .map(|r| r.1.split_whitespace().collect::<Vec<_>>())
        else {
            continue;
        };
        // Fields after the command: state is [0]; utime and stime are [11] and [12].
        let ticks = rest
            .get(11)
            .and_then(|u| u.parse::<u64>().ok())
            .unwrap_or(0)
            + rest
                .get(12)
                .and_then(|u| u.parse::<u64>().ok())
                .unwrap_or(0);
        let name = if p == pid { own.to_string() } else { comm };
        match by.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += ticks,
            None => by.push((name, ticks)),
        }
    }
    by
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

/// "app 163/89, WebKitNetworkProcess 60/28, …" (RSS/PSS MB per process, same names summed):
/// the window process and its WebKit processes, not the resident process it started.
fn breakdown(pid: u32, resident: u32) -> String {
    let mut by: Vec<(String, u64, u64)> = Vec::new();
    for (comm, rss, pss) in desktop::memory_of(&tree_without(pid, resident)) {
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
    open_cpu: Vec<(String, u64)>,
    closed: (u64, u64),
    closed_cpu: Vec<(String, u64)>,
    tray_open: Vec<Duration>,
    tray_painted: Vec<Option<Duration>>,
    web_left: usize,
}

/// The processes of `pid`'s tree outside `other`'s: the window process started the resident
/// process, which is its child but measured on its own.
fn tree_without(pid: u32, other: u32) -> Vec<(u32, String)> {
    let skip: Vec<u32> = desktop::tree(other).iter().map(|(p, _)| *p).collect();
    desktop::tree(pid)
        .into_iter()
        .filter(|(p, _)| !skip.contains(p))
        .collect()
}

/// CPU time spent over `idle` by each process of the trees of `pids` (labelled; a tree
/// without the other labelled pids' trees), in ms.
fn idle_cpu_ms(pids: &[(u32, &str)], idle: Duration) -> Vec<(String, u64)> {
    let tick_ms = 1000 / ticks_per_second();
    let read = || -> Vec<(String, u64)> {
        pids.iter()
            .flat_map(|(p, own)| {
                let mut procs = desktop::tree(*p);
                // Another measured process below this one is measured on its own.
                for (other, _) in pids.iter().filter(|(o, _)| o != p) {
                    if procs.iter().any(|(q, _)| q == other) {
                        procs = tree_without(*p, *other);
                    }
                }
                cpu_ticks(*p, own, &procs)
            })
            .collect()
    };
    let before = read();
    std::thread::sleep(idle);
    read()
        .into_iter()
        .map(|(name, after)| {
            let was = before
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, t)| *t);
            (name, after.saturating_sub(was) * tick_ms)
        })
        .collect()
}

fn total(cpu: &[(String, u64)]) -> u64 {
    cpu.iter().map(|(_, ms)| ms).sum()
}

fn split(cpu: &[(String, u64)]) -> String {
    cpu.iter()
        .map(|(n, ms)| format!("{n} {ms}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long after `start` the window showed what it then kept showing: its pixels are read
/// every 50 ms for `settle`, and the time is that of the first reading equal to every later
/// one. `None` if the window showed one colour throughout (nothing painted).
fn painted(
    x: &desktop::Display,
    window: u32,
    start: Instant,
    settle: Duration,
) -> Option<Duration> {
    use std::hash::{Hash, Hasher};
    let until = Instant::now() + settle;
    let mut seen: Vec<(Duration, u64)> = Vec::new();
    let mut blank = true;
    while Instant::now() < until {
        if let Some(pixels) = x.pixels(window) {
            let at = start.elapsed();
            // 32 bits a pixel: blue, green, red and a pad byte that means nothing.
            let rgb = |p: &[u8]| [p[0], p[1], p[2]];
            let first = pixels.get(..4).map(rgb);
            blank &= pixels.chunks_exact(4).all(|p| Some(rgb(p)) == first);
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for p in pixels.chunks_exact(4) {
                rgb(p).hash(&mut h);
            }
            let hash = h.finish();
            if std::env::var_os("DEPLOYWATCH_FOOTPRINT_DEBUG").is_some()
                && seen.last().is_none_or(|(_, last)| *last != hash)
            {
                let _ = std::fs::write(format!("/tmp/painted-{}.bgra", at.as_millis()), &pixels);
            }
            seen.push((at, hash));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let last = seen.last()?.1;
    if std::env::var_os("DEPLOYWATCH_FOOTPRINT_DEBUG").is_some() {
        let changes: Vec<String> = seen
            .windows(2)
            .filter(|w| w[0].1 != w[1].1)
            .map(|w| format!("{:.2}", w[1].0.as_secs_f64()))
            .collect();
        eprintln!("painted: {} readings, changes at {changes:?}", seen.len());
    }
    if blank {
        return None;
    }
    let from = seen
        .iter()
        .rposition(|(_, h)| *h != last)
        .map_or(0, |i| i + 1);
    Some(seen[from].0)
}

fn wait_gone(pid: u32, within: Duration) {
    let start = Instant::now();
    while desktop::alive(pid) {
        assert!(start.elapsed() < within, "process {pid} did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_once(
    x: &desktop::Display,
    tray: &desktop::TrayHost,
    config: &std::path::Path,
    dir: &std::path::Path,
    idle: Duration,
) -> Sample {
    let socket = dir.join("run/resident.sock");
    let started = Instant::now();
    let mut app = Command::new(desktop::app_binary())
        .env("DEPLOYWATCH_CONFIG", config)
        .env("DEPLOYWATCH_DB", dir.join("deploywatch.db"))
        .env("DEPLOYWATCH_SOCKET", &socket)
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
    let resident = desktop::pid_of(&desktop::resident_binary())
        .expect("the resident process the window started");

    // Settled: the page has loaded and the first checks are done.
    std::thread::sleep(Duration::from_secs(15));
    let w = desktop::memory_of(&tree_without(pid, resident))
        .iter()
        .fold((0, 0), |(r, p), (_, rss, pss)| (r + rss, p + pss));
    let r = desktop::memory_kb(resident);
    let open = (w.0 + r.0, w.1 + r.1);
    let open_detail = format!(
        "window {} (resident {}/{})",
        breakdown(pid, resident),
        mb(r.0),
        mb(r.1)
    );
    let open_cpu = idle_cpu_ms(&[(pid, "window"), (resident, "resident")], idle);

    x.close(window);
    wait_gone(pid, Duration::from_secs(15));
    let _ = app.wait();
    std::thread::sleep(Duration::from_secs(2));
    let web_left = desktop::webkit_processes();
    std::thread::sleep(Duration::from_secs(13));
    let closed = desktop::memory_kb(resident);
    let closed_cpu = idle_cpu_ms(&[(resident, "resident")], idle);

    // Tray Open → window shown, and → painted (the pixels it settles on), the resident
    // process running (the window process is cold).
    let mut tray_open = Vec::new();
    let mut tray_painted = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        tray.click("Open Deploywatch");
        let window_pid = loop {
            if let Some(p) = desktop::pid_of(&desktop::app_binary()) {
                break p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Open started no window"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let w = x.wait_windows(window_pid, 1, Duration::from_secs(30))[0];
        tray_open.push(start.elapsed());
        tray_painted.push(painted(x, w, start, Duration::from_secs(3)));
        x.close(w);
        wait_gone(window_pid, Duration::from_secs(15));
    }
    tray.click_to_exit("Quit");
    wait_gone(resident, Duration::from_secs(15));
    Sample {
        launch_to_window,
        open,
        open_detail,
        open_cpu,
        closed,
        closed_cpu,
        tray_open,
        tray_painted,
        web_left,
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
    let (hub, prod, staging, tray) = tauri::async_runtime::block_on(async {
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
    // Every environment live: nothing changes, so the idle schedule applies throughout.
    let quiet = std::env::var_os("DEPLOYWATCH_FOOTPRINT_QUIET").is_some();
    let sizes: Vec<usize> = std::env::var("DEPLOYWATCH_FOOTPRINT_ENVS")
        .unwrap_or_else(|_| "11".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    println!(
        "| environments | run | launch → window (cold) | window open, both processes: RSS / PSS | idle CPU over {} s | window closed, resident: RSS / PSS | idle CPU over {} s | tray Open → window mapped, median of 5 (min–max) | → painted, median of 5 (min–max) | WebKit processes 2 s after close |",
        idle.as_secs(),
        idle.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // One connection for the whole bench: Xvfb resets when its last client leaves, and a
    // connection made during the reset is refused.
    let x = desktop::Display::open();
    let mut details = Vec::new();
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        // n environments of one project, alternately served by production (phantom) and
        // staging (live): two simulated servers are enough to answer them all.
        let mut text = format!(
            "[github]\napi_url = \"{}\"\n\n[notifications]\ndesktop = false\n\n\
             [[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\nbranch = \"main\"\n",
            hub.api_url()
        );
        for i in 0..n {
            let url = if i % 2 == 0 && !quiet {
                prod.build_info_url()
            } else {
                staging.build_info_url()
            };
            text.push_str(&format!(
                "\n[[project.environment]]\nname = \"env-{i}\"\nbuild_info_url = \"{url}\"\n"
            ));
        }
        std::fs::write(&config, text).expect("config");
        for run in 1..=runs {
            let s = run_once(&x, &tray, &config, dir.path(), idle);
            let mut t = s.tray_open.clone();
            t.sort();
            let unpainted = s.tray_painted.iter().filter(|p| p.is_none()).count();
            let mut p: Vec<Duration> = s.tray_painted.iter().flatten().copied().collect();
            p.sort();
            let painted = if p.is_empty() {
                "never".to_string()
            } else {
                format!(
                    "{:.2} s ({:.2}–{:.2}){}",
                    p[p.len() / 2].as_secs_f64(),
                    p[0].as_secs_f64(),
                    p[p.len() - 1].as_secs_f64(),
                    if unpainted > 0 {
                        format!(", {unpainted} blank")
                    } else {
                        String::new()
                    }
                )
            };
            println!(
                "| {n} | {run} | {:.2} s | {} MB / {} MB | {} ms | {} MB / {} MB | {} ms | {:.2} s ({:.2}–{:.2}) | {painted} | {} |",
                s.launch_to_window.as_secs_f64(),
                mb(s.open.0),
                mb(s.open.1),
                total(&s.open_cpu),
                mb(s.closed.0),
                mb(s.closed.1),
                total(&s.closed_cpu),
                t[t.len() / 2].as_secs_f64(),
                t[0].as_secs_f64(),
                t[t.len() - 1].as_secs_f64(),
                s.web_left
            );
            details.push(format!(
                "{n} environments, run {run}: open [{}] (RSS/PSS MB); idle CPU open [{}], closed [{}] (ms)",
                s.open_detail,
                split(&s.open_cpu),
                split(&s.closed_cpu)
            ));
        }
    }
    println!();
    for d in details {
        println!("{d}");
    }
}
