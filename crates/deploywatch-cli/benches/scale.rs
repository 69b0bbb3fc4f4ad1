//! `verify` at scale against a real nginx, side by side with `wrk` (issue 8, BENCHMARKS.md).
//!
//! For each N (100, 1,000, 10,000 by default) it writes N static build-info files, serves them
//! from one nginx (`worker_processes 1`, access log on, so every request it answered is
//! counted) listening on 8 loopback addresses (127.0.0.1–127.0.0.8, one port: the fleet spans
//! 8 hosts, as a real one spans several), and then runs on the same machine:
//!
//! - `wrk -t2 -c64` for 2 s over the same N paths (a Lua script cycles through them), once
//!   with keep-alive and once with `Connection: close`; its rate gives wrk's time for the N
//!   requests (`N / rate`);
//! - the real `deploywatch verify --expect SHA --json` over the N environments (100 projects
//!   of N/100 environments, all live on SHA), one warm-up run (creates the database) and then
//!   `DW_SCALE_RUNS` (default 5; 3 at 10,000) timed runs under GNU `time`: wall time, peak RSS
//!   (`%M`) and CPU (user + system);
//! - `deploywatch watch` over the same environments for `DW_SCALE_WATCH` seconds (default 20,
//!   0 skips), GitHub being a `FakeHub` where every project's head is SHA with CI green: RSS at
//!   the end, CPU, probes answered; and the RSS per additional environment between sizes.
//!
//! `DW_SCALE_IDLE=60s` sets both intervals of the schedule, so `watch` runs at its idle rate
//! from the start; it then also prints the fewest and most probes any environment received
//! and the GitHub requests per repository.
//!
//! Run with `cargo bench -p deploywatch-cli --bench scale`. `DW_SCALE_N=1000` (comma
//! separated) picks the sizes; `DW_BIN=/path/to/deploywatch` measures another binary (an older
//! build, for a before/after); `DW_SCALE_PERF=1` records `perf record -g` of one verify run at
//! each size into `perf-<N>.data` in the current directory. nginx and wrk come from
//! `scripts/lib.sh` (`ensure_infra_packages`); without them the bench says so and stops.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SHA: &str = "8f3c2a9d41b7e6f05c2d9a1b3e4f5a6b7c8d9e0f";
/// Loopback addresses the nginx listens on; environments are spread over them.
const HOSTS: u32 = 8;
const PROJECTS: usize = 100;

fn find(program: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    for f in fallbacks {
        if Path::new(f).exists() {
            return Some(PathBuf::from(f));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Nginx {
    child: Child,
    log: PathBuf,
}

impl Nginx {
    fn start(nginx: &Path, dir: &Path, root: &Path, port: u16) -> Nginx {
        let log = dir.join("access.log");
        let listens: String = (1..=HOSTS)
            .map(|h| format!("    listen 127.0.0.{h}:{port};\n"))
            .collect();
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             worker_rlimit_nofile 65536;\n\
             events {{ worker_connections 16384; }}\n\
             http {{\n  access_log {} combined buffer=256k;\n  keepalive_requests 1000000;\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             types {{ application/json json; }}\n  server {{\n{listens}    root {};\n  }}\n}}\n",
            log.display(),
            root.display()
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.8", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, log }
    }

    /// Requests answered so far (access log lines; nginx flushes its buffer on USR1).
    fn requests(&self) -> usize {
        self.log_lines().len()
    }

    fn log_lines(&self) -> Vec<String> {
        let _ = Command::new("kill")
            .arg("-USR1")
            .arg(self.child.id().to_string())
            .status();
        std::thread::sleep(Duration::from_millis(200));
        std::fs::read_to_string(&self.log)
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Over the log lines after the first `skip`: the fewest and the most requests any of the
    /// `n` environments' paths received.
    fn per_environment(&self, skip: usize, n: usize) -> (usize, usize) {
        let mut counts = std::collections::HashMap::new();
        for line in self.log_lines().iter().skip(skip) {
            // combined format: … "GET /p1/e2/build-info.json?… HTTP/1.1" …
            if let Some(path) = line.split('"').nth(1).and_then(|r| r.split(' ').nth(1)) {
                let path = path.split('?').next().unwrap_or(path);
                *counts.entry(path.to_owned()).or_insert(0usize) += 1;
            }
        }
        let each: Vec<usize> = (0..n)
            .map(|i| counts.get(&env_path(i)).copied().unwrap_or(0))
            .collect();
        (
            each.iter().copied().min().unwrap_or(0),
            each.iter().copied().max().unwrap_or(0),
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A graceful stop (QUIT), so the master takes its worker with it.
        let _ = Command::new("kill")
            .arg("-QUIT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn env_path(i: usize) -> String {
    format!("/p{}/e{}/build-info.json", i % PROJECTS, i / PROJECTS)
}

fn host_of(i: usize) -> u32 {
    (i as u32 % HOSTS) + 1
}

/// wrk's rate over the N paths (`-t2 -c64`, 2 s, each connection cycling through them), and
/// from it the time wrk needs for N requests: `N / rate`. (wrk runs for a duration, not a
/// request count; a script stopping its threads early does not shorten the measured run.)
fn wrk(wrk: &Path, dir: &Path, n: usize, port: u16, close: bool) -> (f64, String) {
    let paths: String = (0..n).map(|i| format!("\"{}\",", env_path(i))).collect();
    let header = if close {
        "{[\"Connection\"] = \"close\"}"
    } else {
        "nil"
    };
    // Every request goes to 127.0.0.1 (wrk connects to one address); the path cycles.
    let script = format!(
        "local paths = {{{paths}}}\nlocal i = 0\n\
         function request() local p = paths[i + 1]; i = (i + 1) % {n}; \
         return wrk.format(\"GET\", p, {header}) end\n"
    );
    let path = dir.join(if close { "close.lua" } else { "keepalive.lua" });
    std::fs::write(&path, script).unwrap();
    let out = Command::new(wrk)
        .args(["-t2", "-c64", "-d2s", "-s"])
        .arg(&path)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rate: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no rate from wrk: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let summary = text
        .lines()
        .find(|l| l.contains("requests in"))
        .unwrap_or("")
        .trim()
        .to_string();
    (
        n as f64 / rate * 1000.0,
        format!("{summary}, {rate:.0} requests/s"),
    )
}

/// Runs the binary under GNU time: (wall, peak RSS KiB, CPU), exit code.
fn timed(bin: &Path, args: &[&str]) -> (Duration, u64, Duration, i32) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "DWTIME %M %U %S"])
        .arg(bin)
        .args(args)
        .output()
        .expect("run deploywatch under /usr/bin/time");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("DWTIME"))
        .unwrap_or_else(|| panic!("no time line in: {stderr}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    let rss: u64 = f[1].parse().unwrap();
    let cpu = f[2].parse::<f64>().unwrap() + f[3].parse::<f64>().unwrap();
    (
        wall,
        rss,
        Duration::from_secs_f64(cpu),
        out.status.code().unwrap_or(-1),
    )
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn measure(
    n: usize,
    bin: &Path,
    nginx_bin: &Path,
    wrk_bin: &Path,
    hub: &deploywatch_fakehub::FakeHub,
) -> Option<u64> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    // `verify --expect` does not ask GitHub; `watch` asks the fake one.
    // `DW_SCALE_IDLE=60s`: both intervals of the schedule, so `watch` is at its idle rate from
    // the start (default: the default schedule, 10 s → 5 min).
    let schedule = std::env::var("DW_SCALE_IDLE")
        .map(|i| format!("fast_interval = \"{i}\"\nidle_interval = \"{i}\"\n"))
        .unwrap_or_default();
    let mut config = format!(
        "[github]\napi_url = \"{}\"\n\n[defaults]\ngrace = \"0s\"\n{schedule}\n[notifications]\ndesktop = false\n",
        hub.api_url()
    );
    let port = free_port();
    for i in 0..n {
        let p = root.join(env_path(i).trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{{\"sha\": \"{SHA}\"}}\n")).unwrap();
    }
    for p in 0..PROJECTS.min(n) {
        config.push_str(&format!(
            "\n[[project]]\nname = \"p{p}\"\nrepo = \"acme/p{p}\"\n"
        ));
        for i in (p..n).step_by(PROJECTS) {
            config.push_str(&format!(
                "\n[[project.environment]]\nname = \"e{}\"\nbuild_info_url = \"http://127.0.0.{}:{port}{}\"\n",
                i / PROJECTS,
                host_of(i),
                env_path(i)
            ));
        }
    }
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap();
    let db = dir.path().join("dw.db");
    let nginx = Nginx::start(nginx_bin, dir.path(), &root, port);

    let (ka_ms, ka) = wrk(wrk_bin, dir.path(), n, port, false);
    let (cl_ms, cl) = wrk(wrk_bin, dir.path(), n, port, true);

    let (c, d) = (cfg.to_str().unwrap(), db.to_str().unwrap());
    let args = [
        "--config", c, "--db", d, "verify", "--expect", SHA, "--json",
    ];
    let (_, _, _, code) = timed(bin, &args);
    assert_eq!(code, 0, "warm-up: every environment should be live");
    let runs: usize = std::env::var("DW_SCALE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if n >= 10_000 { 3 } else { 5 });
    let before_verify = nginx.requests();
    let (mut walls, mut rsss, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (wall, rss, cpu, code) = timed(bin, &args);
        assert_eq!(code, 0, "every environment should be live");
        walls.push(wall);
        rsss.push(rss);
        cpus.push(cpu);
    }
    let seen = nginx.requests() - before_verify;
    if std::env::var_os("DW_SCALE_PERF").is_some() {
        let out = format!("perf-{n}.data");
        let freq = std::env::var("DW_SCALE_PERF_FREQ").unwrap_or_else(|_| "1000".into());
        let status = Command::new("perf")
            .args([
                "record",
                "--call-graph",
                "dwarf,16384",
                "-F",
                &freq,
                "-o",
                &out,
                "--",
            ])
            .arg(bin)
            .args(args)
            .stdout(Stdio::null())
            .status();
        println!("  perf record → {out}: {status:?}");
    }
    if let Some(secs) = std::env::var("DW_SCALE_HOLD")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        // For experiments by hand (strace, perf with other options): the fleet stays up.
        println!(
            "  holding nginx for {secs} s; verify is: {} {}",
            bin.display(),
            args.join(" ")
        );
        std::thread::sleep(Duration::from_secs(secs));
    }
    let (w, r, cpu) = (median(walls.clone()), median(rsss), median(cpus));
    println!("N = {n} environments ({PROJECTS} projects, {HOSTS} loopback hosts, one nginx)");
    println!("  wrk -t2 -c64 keep-alive:        {ka} → {n} requests in {ka_ms:.1} ms");
    println!("  wrk -t2 -c64 Connection: close: {cl} → {n} requests in {cl_ms:.1} ms");
    println!(
        "  verify --expect: median {:.1} ms wall (min {:.1}, max {:.1}) over {runs} runs, \
         peak RSS {:.1} MB, CPU {:.1} ms; nginx saw {} requests ({} per run)",
        ms(w),
        ms(*walls.iter().min().unwrap()),
        ms(*walls.iter().max().unwrap()),
        r as f64 / 1024.0,
        ms(cpu),
        seen,
        seen / runs
    );
    println!(
        "  ratio verify / wrk: {:.1}× keep-alive ({:.1} ms), {:.1}× Connection: close ({:.1} ms)",
        ms(w) / ka_ms,
        ka_ms,
        ms(w) / cl_ms,
        cl_ms
    );
    let _ = std::io::stdout().flush();
    watch(n, bin, &cfg, &db, &nginx, hub)
}

/// `deploywatch watch` over the same environments (default schedule, every project's head on
/// SHA with CI green at the fake GitHub) for `DW_SCALE_WATCH` seconds (default 20; 0 skips):
/// RSS at the end, CPU used, probes nginx answered. Returns the RSS in KiB.
fn watch(
    n: usize,
    bin: &Path,
    cfg: &Path,
    db: &Path,
    nginx: &Nginx,
    hub: &deploywatch_fakehub::FakeHub,
) -> Option<u64> {
    let secs: u64 = std::env::var("DW_SCALE_WATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    if secs == 0 {
        return None;
    }
    let before = nginx.requests();
    let github_before = hub.requests().len();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(cfg)
        .arg("--db")
        .arg(db)
        .args(["watch", "--no-notify"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start deploywatch watch");
    std::thread::sleep(Duration::from_secs(secs));
    let pid = child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (rss, hwm) = (kib("VmRSS:"), kib("VmHWM:"));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after the `(comm)`.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    let probes = nginx.requests() - before;
    let (fewest, most) = nginx.per_environment(before, n);
    let github = hub.requests().len() - github_before;
    println!(
        "  watch for {secs} s: RSS {:.1} MB (peak {:.1} MB), CPU {} ms ({:.1} % of one core), \
         {probes} probes ({:.1} per environment, fewest {fewest}, most {most}), {github} GitHub \
         requests ({:.1} per repository)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        ticks * 10,
        ticks as f64 * 10.0 / (secs as f64 * 10.0),
        probes as f64 / n as f64,
        github as f64 / PROJECTS.min(n) as f64
    );
    Some(rss)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let (Some(nginx), Some(wrk_bin)) = (
        find("nginx", &["/usr/sbin/nginx"]),
        find("wrk", &["/usr/bin/wrk"]),
    ) else {
        println!(
            "scale bench: needs nginx and wrk (scripts/lib.sh ensure_infra_packages); skipped"
        );
        return;
    };
    if !Path::new("/usr/bin/time").exists() {
        println!("scale bench: needs GNU time (/usr/bin/time, Debian package `time`); skipped");
        return;
    }
    let bin = std::env::var_os("DW_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_deploywatch")));
    let sizes: Vec<usize> = std::env::var("DW_SCALE_N")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("binary: {}", bin.display());
    // The fake GitHub for `watch`: every project's head is SHA, its CI green.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hub = rt.block_on(deploywatch_fakehub::FakeHub::start()).unwrap();
    for p in 0..PROJECTS {
        let repo = format!("acme/p{p}");
        hub.push(&repo, "main", SHA, "Alice", "Release");
        hub.add_run(&repo, SHA, "CI", "completed", Some("success"));
    }
    let mut watched: Vec<(usize, u64)> = Vec::new();
    for n in sizes {
        if let Some(rss) = measure(n, &bin, &nginx, &wrk_bin, &hub) {
            watched.push((n, rss));
        }
    }
    for pair in watched.windows(2) {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        println!(
            "watch: {:.1} KB more RSS per additional environment ({a} → {b})",
            (rb as f64 - ra as f64) / (b - a) as f64
        );
    }
}
