//! End to end in the real app window: the release binary under Xvfb, driven through
//! `tauri-driver` and WebKitWebDriver, against a fake GitHub and simulated environments; and
//! its native notifications captured on the D-Bus session bus.
//!
//! Gated by `DEPLOYWATCH_GUI_TESTS=1` (set by `scripts/app.sh`'s `gui_test`, which also builds
//! the app, provides the display and a private session bus). Without it the test says that it
//! did not run and why, and passes: nothing is skipped silently.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::Scenario;

const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1;document.title='pwned'">"#;

fn enabled(test: &str) -> bool {
    if std::env::var("DEPLOYWATCH_GUI_TESTS").as_deref() == Ok("1") {
        return true;
    }
    // Straight to the process's stderr, past the test harness's capture, so it is seen.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN: {test}: set DEPLOYWATCH_GUI_TESTS=1 to run it (`bash scripts/app.sh test` does); \
         it needs the release app, a display (Xvfb), tauri-driver, WebKitWebDriver and a D-Bus session"
    );
    false
}

/// A child process started in its own process group, killed with the whole group (its id)
/// when the test ends, however it ends: tauri-driver's WebKitWebDriver and the app it launched
/// must not outlive a failed test.
struct Proc(Child);

impl Proc {
    fn spawn(cmd: &mut Command, what: &str) -> Proc {
        use std::os::unix::process::CommandExt;
        Proc(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("{what}: {e}")),
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app_binary() -> PathBuf {
    std::env::var_os("DEPLOYWATCH_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
            Path::new(&target).join("release/deploywatch-app")
        })
}

fn docs_dir() -> PathBuf {
    std::env::var_os("DEPLOYWATCH_DOCS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs"))
}

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

/// Waits for an element matching the CSS selector.
async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    let start = Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            return e;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let html = c.source().await.unwrap_or_default();
            let dump = std::env::temp_dir().join("deploywatch-gui-failure.html");
            let _ = std::fs::write(&dump, &html);
            panic!(
                "no element {css:?} after 30 s; the page is in {}",
                dump.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = docs_dir();
    std::fs::create_dir_all(&dir).expect("docs dir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
}

/// `Notify` calls seen by `dbus-monitor`: the summaries mentioning `place`.
fn summaries(log: &Path, place: &str) -> Vec<String> {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let suffix = format!(": {place}\"");
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("string \"") && l.ends_with(&suffix))
        .map(|l| {
            l.trim_start_matches("string \"")
                .trim_end_matches('"')
                .to_string()
        })
        .collect()
}

#[test]
fn the_real_window_shows_verdicts_history_report_settings_and_notifies_once() {
    if !enabled("the real app window (WebDriver) and notifications (D-Bus)") {
        return;
    }
    let s = Scenario::start();
    tauri::async_runtime::block_on(run(s));
}

async fn run(s: Scenario) {
    let staging = deploywatch_fleet::SimEnv::start("staging")
        .await
        .expect("staging");
    staging.set_live(&s.new);
    staging.set_environment_field(Some(HOSTILE));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let text = s.config("").replace("desktop = false", "desktop = true")
        + &format!(
            "\n[[project.environment]]\nname = \"staging\"\nbuild_info_url = \"{}\"\nexpect_environment = \"staging\"\n",
            staging.build_info_url()
        );
    std::fs::write(&config, &text).expect("config");

    // A notification server and a capture of every Notify call on this session bus.
    let log = dir.path().join("notify.log");
    let _monitor = Proc(
        Command::new("dbus-monitor")
            .args([
                "--session",
                "interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (apt: dbus)"),
    );
    let _dunst = Proc(
        Command::new("dunst")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst (apt: dunst)"),
    );

    let _driver = Proc::spawn(
        Command::new("tauri-driver")
            .args(["--port", "4444", "--native-port", "4445"])
            .env("DEPLOYWATCH_CONFIG", &config)
            .env("DEPLOYWATCH_DB", dir.path().join("deploywatch.db"))
            .env("DEPLOYWATCH_EXIT_ON_CLOSE", "1")
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("xdg-config"))
            .env_remove("GITHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(std::env::temp_dir().join("deploywatch-gui-app.log"))
                    .expect("app log"),
            ),
        "tauri-driver on PATH (scripts/app.sh installs it)",
    );
    wait_port(4444).await;

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app_binary() }),
    );
    // Several TLS backends are linked in; WebDriver on loopback needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let c = ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect("http://127.0.0.1:4444")
        .await
        .expect("WebDriver session");
    find(&c, "[data-testid=dashboard]").await;
    eprintln!(
        "first paint (session start to dashboard shown): {:?}",
        started.elapsed()
    );

    // Dashboard: production is a phantom deploy, with the short SHAs.
    let prod = "[data-testid=env-row][data-environment=production]";
    find(
        &c,
        &format!("{prod} [data-testid=verdict][data-verdict=phantom]"),
    )
    .await;
    let expected = find(&c, &format!("{prod} [data-testid=expected-sha]")).await;
    let live = find(&c, &format!("{prod} [data-testid=live-sha]")).await;
    assert_eq!(expected.text().await.expect("text"), s.new[..7]);
    assert_eq!(live.text().await.expect("text"), s.old[..7]);
    assert_eq!(
        expected.attr("data-sha").await.expect("attr").as_deref(),
        Some(s.new.as_str())
    );
    find(&c, "[data-testid=env-row][data-environment=staging] [data-testid=verdict][data-verdict=env_mismatch]").await;
    screenshot(&c, "dashboard.png").await;

    // Report: the hint.
    find(&c, &format!("{prod} [data-testid=open-report]"))
        .await
        .click()
        .await
        .expect("click");
    let hint = find(&c, "[data-testid=report-hint]").await;
    let hint_text = hint.text().await.expect("hint");
    assert!(hint_text.contains(&s.old[..7]), "hint: {hint_text}");
    find(&c, "[data-testid=waiting-commit]").await;
    screenshot(&c, "report.png").await;

    // A hostile build-info value is text: shown literally, never an element, never run.
    find(&c, "[data-testid=nav-dashboard]")
        .await
        .click()
        .await
        .expect("click");
    find(
        &c,
        "[data-testid=env-row][data-environment=staging] [data-testid=open-report]",
    )
    .await
    .click()
    .await
    .expect("click");
    let start = Instant::now();
    let page = loop {
        let page = find(&c, "[data-testid=report]")
            .await
            .text()
            .await
            .unwrap_or_default();
        if page.contains("<img src=x") || start.elapsed() > Duration::from_secs(10) {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        page.contains("<img src=x"),
        "the hostile value is not shown as text:\n{page}"
    );
    let probe = c
        .execute(
            "return [document.querySelectorAll('img[src=\"x\"]').length, typeof window.__pwned, document.title]",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(probe[0], 0, "an <img> element was created: {probe}");
    assert_eq!(probe[1], "undefined", "the onerror handler ran: {probe}");
    assert_ne!(probe[2], "pwned", "{probe}");

    // History: the push and the incident.
    find(&c, "[data-testid=nav-history]")
        .await
        .click()
        .await
        .expect("click");
    find(&c, "[data-testid=history-event][data-kind=push]").await;
    find(&c, "[data-testid=history-event][data-kind=incident_opened]").await;
    screenshot(&c, "history.png").await;

    // Settings: adding an environment writes the config file.
    find(&c, "[data-testid=nav-settings]")
        .await
        .click()
        .await
        .expect("click");
    find(
        &c,
        "[data-testid=project-form] [data-testid=add-environment]",
    )
    .await
    .click()
    .await
    .expect("click");
    // The new (third) environment form; typing keeps it, so the whole value goes in at once.
    let start = Instant::now();
    while c
        .find_all(Locator::Css("[data-testid=environment-form]"))
        .await
        .map_or(0, |f| f.len())
        < 3
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no new environment form"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for (field, value) in [
        ("name", "canary".to_string()),
        ("build_info_url", s.env.build_info_url()),
    ] {
        let css = format!("[data-testid=environment-form] input[name={field}]");
        let input = c
            .find_all(Locator::Css(&css))
            .await
            .expect("inputs")
            .pop()
            .expect("an input in the new form");
        input.clear().await.expect("clear");
        input.send_keys(&value).await.expect("type");
        // The same element keeps the whole value: the form was not rebuilt under the typing.
        assert_eq!(
            input.prop("value").await.expect("value").as_deref(),
            Some(value.as_str()),
            "{field} lost keys while typing"
        );
    }
    find(&c, "[data-testid=save-settings]")
        .await
        .click()
        .await
        .expect("click");
    // "Saved." appears once the backend has written the file.
    find(&c, "[data-testid=settings-saved]").await;
    let written = std::fs::read_to_string(&config).expect("config");
    let parsed = deploywatch_config::parse(&written, &config).expect("valid config written");
    let canary = parsed.projects[0]
        .environment("canary")
        .expect("canary in the file");
    assert_eq!(canary.build_info_url, s.env.build_info_url());

    // Notifications: exactly one alert for production's incident, then one on resolve.
    let start = Instant::now();
    while summaries(&log, "shop / production").is_empty()
        && start.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.env.set_live(&s.new);
    let start = Instant::now();
    while !summaries(&log, "shop / production")
        .iter()
        .any(|t| t.starts_with("Resolved"))
        && start.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few more checks must not repeat anything.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = summaries(&log, "shop / production");
    let alerts: Vec<_> = seen.iter().filter(|t| !t.starts_with("Resolved")).collect();
    let resolves: Vec<_> = seen.iter().filter(|t| t.starts_with("Resolved")).collect();
    assert_eq!(alerts.len(), 1, "alerts: {seen:?}");
    assert!(alerts[0].starts_with("Phantom"), "{seen:?}");
    assert_eq!(resolves.len(), 1, "resolves: {seen:?}");

    let _ = c.close().await;
}
