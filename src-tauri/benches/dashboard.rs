//! How long the window takes to render the dashboard over a large fleet, measured in the page
//! itself (`performance.now()`, read through WebDriver) in the release app.
//!
//! The fleet is the GUI tests' (`tests/it/big_fleet.rs`): `n` environments in projects of 15
//! over a fake GitHub, verdicts of every standing. Once every environment shows its verdict:
//!
//! - **full render**, `DEPLOYWATCH_DASHBOARD_RUNS` times (default 10): from another page, a
//!   click on *Dashboard* builds the whole dashboard from the data in memory (no backend
//!   call): *built* is when the page's tasks are done (every row in the document, read in
//!   the first task after the click), *laid out* after a forced layout, *painted* in the
//!   first task after the next frame;
//! - **filter**: a query typed into the search box as one `input` event (`proj-03 env-1`,
//!   5 rows shown) and cleared again (every row back): built, laid out and painted as above.
//!
//! Needs what the GUI tests need (an X display, a D-Bus session bus, the release app,
//! tauri-driver and WebKitWebDriver): `bash scripts/app.sh dashboard-bench` provides them.
//! `DEPLOYWATCH_DASHBOARD_ENVS` sets the fleet sizes (default `300`; comma-separated for
//! several, e.g. `300,500`).

// The test support is shared with the GUI tests; not every helper is used here.
#[allow(dead_code)]
#[path = "../tests/it/desktop.rs"]
mod desktop;

#[allow(dead_code)]
#[path = "../tests/it/big_fleet.rs"]
mod big_fleet;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// tauri-driver and what it started, ended as a process group however the bench ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One render, in ms after its start.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct Timing {
    built: f64,
    laid_out: f64,
    painted: f64,
    rows: usize,
}

/// Clicks *Dashboard* (from another page) and times the render.
const FULL_RENDER_JS: &str = r#"
const done = arguments[arguments.length - 1];
const t0 = performance.now();
document.querySelector('[data-testid=nav-dashboard]').click();
setTimeout(() => {
  const built = performance.now() - t0;
  document.body.offsetHeight;
  const laid_out = performance.now() - t0;
  const rows = document.querySelectorAll('[data-testid=env-row]').length;
  requestAnimationFrame(() => setTimeout(() => done({
    built, laid_out, painted: performance.now() - t0, rows,
  }), 0));
}, 0);
"#;

/// Types `arguments[0]` into the search box as one input event and times the render.
const FILTER_JS: &str = r#"
const done = arguments[arguments.length - 1];
const input = document.querySelector('[data-testid=search]');
const t0 = performance.now();
input.value = arguments[0];
input.dispatchEvent(new Event('input', { bubbles: true }));
setTimeout(() => {
  const built = performance.now() - t0;
  document.body.offsetHeight;
  const laid_out = performance.now() - t0;
  const rows = [...document.querySelectorAll(
    '[data-testid=project-group]:not([hidden]) > [data-testid=env-row]:not([hidden])')].length;
  requestAnimationFrame(() => setTimeout(() => done({
    built, laid_out, painted: performance.now() - t0, rows,
  }), 0));
}, 0);
"#;

async fn wait_port(port: u16) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn session() -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": desktop::app_binary() }),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect("http://127.0.0.1:4444")
        .await
        .expect("WebDriver session")
}

/// Runs `script` (with `arg`) in the page and returns its timing.
async fn time(c: &Client, script: &str, arg: serde_json::Value) -> Timing {
    let v = c
        .execute_async(script, vec![arg])
        .await
        .expect("timing script");
    serde_json::from_value(v).expect("a timing")
}

/// Leaves the dashboard for Settings and waits until it is gone.
async fn leave(c: &Client) {
    c.find(Locator::Css("[data-testid=nav-settings]"))
        .await
        .expect("nav")
        .click()
        .await
        .expect("click");
    let start = Instant::now();
    while c
        .find(Locator::Css("[data-testid=dashboard]"))
        .await
        .is_ok()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still on the dashboard"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the settings page's own loading finish, so it is not measured with the render.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn stats(what: impl Fn(&Timing) -> f64, runs: &[Timing]) -> String {
    let mut v: Vec<f64> = runs.iter().map(what).collect();
    v.sort_by(f64::total_cmp);
    format!(
        "{:.0} ms ({:.0}–{:.0})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

fn row(what: &str, n: usize, runs: &[Timing]) {
    println!(
        "| {n} | {what} | {} | {} | {} | {} | {} |",
        runs.len(),
        runs[0].rows,
        stats(|t| t.built, runs),
        stats(|t| t.laid_out, runs),
        stats(|t| t.painted, runs),
    );
}

async fn bench(n: usize, runs: usize) {
    let fleet = big_fleet::BigFleet::start(n).await;
    let places = big_fleet::places(n);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &fleet.config).expect("config");
    use std::os::unix::process::CommandExt;
    let _driver = Driver(
        Command::new("tauri-driver")
            .args(["--port", "4444", "--native-port", "4445"])
            .env("DEPLOYWATCH_CONFIG", &config)
            .env("DEPLOYWATCH_DB", dir.path().join("deploywatch.db"))
            .env("DEPLOYWATCH_SOCKET", dir.path().join("run/resident.sock"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("xdg-config"))
            .env_remove("GITHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("tauri-driver on PATH (scripts/app.sh installs it)"),
    );
    wait_port(4444).await;
    let c = session().await;
    // Every environment checked and showing its planned verdict: the fleet as it stays.
    let start = Instant::now();
    loop {
        let shown = c
            .execute(
                "return [...document.querySelectorAll('[data-testid=env-row]')].map(r => \
                 r.dataset.project + '/' + r.dataset.environment + '=' + \
                 r.querySelector('[data-testid=verdict]').dataset.verdict)",
                vec![],
            )
            .await
            .expect("rows");
        let shown: Vec<String> = serde_json::from_value(shown).unwrap_or_default();
        if shown.len() == n
            && places
                .iter()
                .all(|(p, e, v)| shown.contains(&format!("{p}/{e}={v}")))
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the fleet of {n} never showed its verdicts"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Quiet: checks done, the next dashboards carry only times.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut full = Vec::new();
    for _ in 0..runs {
        leave(&c).await;
        let t = time(&c, FULL_RENDER_JS, json!(null)).await;
        assert_eq!(t.rows, n, "the render did not show every row: {t:?}");
        full.push(t);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    row("full render (Settings → Dashboard)", n, &full);

    let (mut narrow, mut widen) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = time(&c, FILTER_JS, json!("proj-03 env-1")).await;
        assert_eq!(t.rows, 5.min(n), "{t:?}");
        narrow.push(t);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = time(&c, FILTER_JS, json!("")).await;
        assert_eq!(t.rows, n, "{t:?}");
        widen.push(t);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    row("filter typed (5 rows left)", n, &narrow);
    row("filter cleared (all rows back)", n, &widen);
    let _ = c.close().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects nothing here.
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!(
            "dashboard: needs an X display and a D-Bus session bus; run `bash scripts/app.sh dashboard-bench`"
        );
        std::process::exit(2);
    }
    let runs = std::env::var("DEPLOYWATCH_DASHBOARD_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10usize)
        .max(1);
    let sizes: Vec<usize> = std::env::var("DEPLOYWATCH_DASHBOARD_ENVS")
        .unwrap_or_else(|_| "300".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    println!(
        "| environments | render | runs | rows shown | built: median (min–max) | laid out | painted |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        tauri::async_runtime::block_on(bench(n, runs));
    }
}
