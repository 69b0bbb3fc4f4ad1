//! End to end in the real app window: the release binary under Xvfb, driven through
//! `tauri-driver` and WebKitWebDriver, against a fake GitHub and simulated environments; and
//! its native notifications captured on the D-Bus session bus.
//!
//! Gated by `DEPLOYWATCH_GUI_TESTS=1` (set by `scripts/app.sh`'s `gui_test`, which also builds
//! the app, provides the display and a private session bus). Without it the test says that it
//! did not run and why, and passes: nothing is skipped silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::big_fleet;
use crate::desktop;
use crate::harness::Scenario;

const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1;document.title='pwned'">"#;

pub(crate) fn enabled(test: &str) -> bool {
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
pub(crate) struct Proc(pub(crate) Child);

impl Proc {
    pub(crate) fn spawn(cmd: &mut Command, what: &str) -> Proc {
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

/// Clicks the element matching the CSS selector, once it is there.
async fn click(c: &Client, css: &str) {
    find(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css:?}: {e}"));
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = docs_dir();
    std::fs::create_dir_all(&dir).expect("docs dir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
}

/// A WebDriver session on tauri-driver (port 4444), which launches the app.
async fn session() -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": desktop::app_binary() }),
    );
    // Several TLS backends are linked in; WebDriver on loopback needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect("http://127.0.0.1:4444")
        .await
        .expect("WebDriver session")
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

    // The desktop's notification service on this session bus: records every Notify call
    // and clicks notifications.
    let notifications = desktop::NotificationServer::start();

    let _driver = Proc::spawn(
        Command::new("tauri-driver")
            .args(["--port", "4444", "--native-port", "4445"])
            .env("DEPLOYWATCH_CONFIG", &config)
            .env("DEPLOYWATCH_DB", dir.path().join("deploywatch.db"))
            .env("DEPLOYWATCH_SOCKET", dir.path().join("run/resident.sock"))
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

    let started = Instant::now();
    let c = session().await;
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
    // (docs/dashboard.png is the demo fleet's: the_demo_fleet_fits_the_default_window_….)

    // Report: the hint.
    // A click on the row (here on its name) opens its report.
    click(&c, &format!("{prod} .c-env")).await;
    let hint = find(&c, "[data-testid=report-hint]").await;
    let hint_text = hint.text().await.expect("hint");
    assert!(hint_text.contains(&s.old[..7]), "hint: {hint_text}");
    find(&c, "[data-testid=waiting-commit]").await;
    screenshot(&c, "report.png").await;

    // A hostile build-info value is text: shown literally, never an element, never run.
    click(&c, "[data-testid=nav-dashboard]").await;
    click(&c, "[data-testid=env-row][data-environment=staging] .c-env").await;
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
    click(&c, "[data-testid=nav-history]").await;
    find(&c, "[data-testid=history-event][data-kind=push]").await;
    find(&c, "[data-testid=history-event][data-kind=incident_opened]").await;
    screenshot(&c, "history.png").await;

    // Settings: adding an environment writes the config file.
    click(&c, "[data-testid=nav-settings]").await;
    click(
        &c,
        "[data-testid=project-form] [data-testid=add-environment]",
    )
    .await;
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
    click(&c, "[data-testid=save-settings]").await;
    // "Saved." appears once the backend has written the file.
    find(&c, "[data-testid=settings-saved]").await;
    let written = std::fs::read_to_string(&config).expect("config");
    let parsed = deploywatch_config::parse(&written, &config).expect("valid config written");
    let canary = parsed.projects[0]
        .environment("canary")
        .expect("canary in the file");
    assert_eq!(canary.build_info_url, s.env.build_info_url());

    // Notifications: one alert for production's incident, offering "Open report".
    // A notice names its environment in the summary, or, sent as one with others that failed
    // or recovered at the same moment ("Resolved: 2 environments on HOST"), in its body's first
    // line.
    let place = |n: &desktop::Notified, env: &str| {
        let name = format!("shop / {env}");
        n.summary.ends_with(&format!(": {name}"))
            || (n.summary.contains(" environments on ")
                && n.body.lines().next().is_some_and(|names| {
                    names.trim_end_matches('.').split(", ").any(|p| p == name)
                }))
    };
    let start = Instant::now();
    let alert = loop {
        if let Some(n) = notifications
            .seen()
            .into_iter()
            .find(|n| place(n, "production"))
        {
            break n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no notification for production: {:?}",
            notifications.seen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(alert.summary.starts_with("Phantom deploy"), "{alert:?}");
    assert_eq!(alert.app_name, "Deploywatch");
    assert!(
        alert.body.contains(&s.old[..7]),
        "the hint is the body: {alert:?}"
    );
    assert_eq!(alert.actions, ["default", "Open report"], "{alert:?}");
    // The service reads markup: the hostile value in staging's hint arrives escaped.
    let staging_alert = notifications
        .seen()
        .into_iter()
        .find(|n| place(n, "staging"))
        .expect("staging's environment mismatch is announced");
    assert!(
        staging_alert.body.contains("&lt;img") && !staging_alert.body.contains("<img"),
        "markup in a notification body: {staging_alert:?}"
    );

    // Clicking the notification opens production's report in the window.
    click(&c, "[data-testid=nav-dashboard]").await;
    find(&c, "[data-testid=dashboard]").await;
    notifications.invoke(alert.id, "default");
    let start = Instant::now();
    loop {
        let title = match c
            .find(Locator::Css("[data-testid=report] #report-title"))
            .await
        {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if title == "shop / production" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "clicking the notification did not open production's report (title {title:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Then exactly one resolve, and nothing repeated by later checks.
    s.env.set_live(&s.new);
    let start = Instant::now();
    while !notifications
        .seen()
        .iter()
        .any(|n| place(n, "production") && n.summary.starts_with("Resolved"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no resolve: {:?}",
            notifications.seen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen: Vec<String> = notifications
        .seen()
        .into_iter()
        .filter(|n| place(n, "production"))
        .map(|n| n.summary)
        .collect();
    let alerts: Vec<_> = seen.iter().filter(|t| !t.starts_with("Resolved")).collect();
    let resolves: Vec<_> = seen.iter().filter(|t| t.starts_with("Resolved")).collect();
    assert_eq!(alerts.len(), 1, "alerts: {seen:?}");
    assert_eq!(resolves.len(), 1, "resolves: {seen:?}");

    // An editor breaks the config file: the dashboard says where, and keeps watching.
    click(&c, "[data-testid=nav-dashboard]").await;
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, good.replacen("[[project]]", "[[projcet]]", 1)).expect("break");
    let banner = find(&c, "[data-testid=config-edit-error]").await;
    let text = banner.text().await.expect("text");
    assert!(
        text.contains("config.toml:") && text.contains("projcet"),
        "the banner names file, line and key: {text}"
    );
    find(&c, "[data-testid=env-row][data-environment=production]").await;
    std::fs::write(&config, good).expect("fix");
    let start = Instant::now();
    while c
        .find(Locator::Css("[data-testid=config-edit-error]"))
        .await
        .is_ok()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the banner stayed after the fix"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let _ = c.close().await;
}

#[test]
fn closing_the_window_leaves_the_watcher_in_the_tray_which_brings_it_back() {
    if !enabled(
        "two processes: window close, tray menu, one of each and start at login (Xvfb, D-Bus)",
    ) {
        return;
    }
    let s = Scenario::start();
    tauri::async_runtime::block_on(lifecycle(s));
}

/// Waits until `done` holds, or fails with `what` after `within`.
async fn until(within: Duration, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app as a desktop sees it: the window process launched (by WebDriver, as the desktop
/// menu launches it) starts the resident process, which owns the tray on the session bus; the
/// window closed the way a window manager closes it ends the window process only; the tray
/// menu clicked over dbusmenu; a second launch; Quit.
async fn lifecycle(s: Scenario) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, s.config("")).expect("config");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let log_path = std::env::temp_dir().join("deploywatch-gui-lifecycle.log");
    let env: Vec<(&str, std::ffi::OsString)> = vec![
        ("DEPLOYWATCH_CONFIG", config.clone().into()),
        ("DEPLOYWATCH_DB", dir.path().join("deploywatch.db").into()),
        (
            "DEPLOYWATCH_SOCKET",
            dir.path().join("run/resident.sock").into(),
        ),
        ("DEPLOYWATCH_LOG", "info".into()),
        ("XDG_DATA_HOME", dir.path().join("data").into()),
        ("XDG_CONFIG_HOME", dir.path().join("xdg-config").into()),
        // The start-at-login entry goes to $HOME/.config/autostart.
        ("HOME", home.clone().into()),
    ];
    // The panel's side of the tray, before the app starts so its item registers here.
    let tray = desktop::TrayHost::start();

    let mut driver = Command::new("tauri-driver");
    driver
        .args(["--port", "4444", "--native-port", "4445"])
        .envs(env.iter().cloned())
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("app log"));
    let _driver = Proc::spawn(
        &mut driver,
        "tauri-driver on PATH (scripts/app.sh installs it)",
    );
    wait_port(4444).await;
    let c = session().await;
    find(
        &c,
        "[data-testid=env-row][data-environment=production] [data-testid=verdict][data-verdict=phantom]",
    )
    .await;

    let app = desktop::app_binary();
    let resident = desktop::resident_binary();
    let window_pid = desktop::pid_of(&app).expect("the window process");
    let resident_pid = desktop::pid_of(&resident).expect("the resident process the window started");
    let x = desktop::Display::open();
    let window = x.wait_windows(window_pid, 1, Duration::from_secs(10))[0];
    assert!(
        desktop::web_processes(window_pid) >= 1,
        "an open window has a WebKit web process: {:?}",
        desktop::tree(window_pid)
    );
    // The resident process has neither GTK nor WebKit loaded; the window process has both.
    for lib in ["libgtk-3", "libwebkit2gtk", "libjavascriptcoregtk"] {
        assert!(
            !desktop::maps_library(resident_pid, lib),
            "the resident process loaded {lib}"
        );
    }
    assert!(desktop::maps_library(window_pid, "libwebkit2gtk"));

    // The tray menu: the fixed entries and the alerting environment.
    for label in ["Open Deploywatch", "Check now", "Pause for 1 h", "Quit"] {
        tray.wait_entry(label, Duration::from_secs(15));
    }
    tray.wait_entry("shop / production: phantom", Duration::from_secs(15));
    // The summary heads the menu (AppIndicator has no tooltips).
    assert_eq!(
        tray.menu().first().map(|e| e.label.clone()).as_deref(),
        Some("Deploywatch: 1 phantom")
    );
    wait_icon(&tray, "alert").await;

    // Start at login: the toggle writes the XDG autostart entry, which starts the resident
    // process (in the tray), and clears it again.
    let entry = home.join(".config/autostart/Deploywatch.desktop");
    for on in [true, false] {
        click(&c, "[data-testid=nav-settings]").await;
        let toggle = find(&c, "input[name=start_at_login]").await;
        let checked = toggle.prop("checked").await.expect("checked").as_deref() == Some("true");
        assert_eq!(checked, !on, "the toggle shows the entry's state");
        toggle.click().await.expect("toggle");
        click(&c, "[data-testid=save-settings]").await;
        find(&c, "[data-testid=settings-saved]").await;
        if on {
            let text = std::fs::read_to_string(&entry).expect("an autostart entry after saving");
            let exec = text
                .lines()
                .find_map(|l| l.strip_prefix("Exec="))
                .expect("Exec= line");
            assert!(
                exec.ends_with(" --hidden"),
                "start at login starts in the tray: {exec}"
            );
            let exe = exec.trim_end_matches(" --hidden").trim_matches('"');
            assert_eq!(
                Path::new(exe).canonicalize().ok(),
                resident.canonicalize().ok(),
                "the entry starts the resident process"
            );
        } else {
            assert!(!entry.exists(), "the entry is removed when turned off");
        }
    }

    // Closing the window (what clicking × does) ends the window process and its WebKit
    // processes; the resident process keeps watching from the tray.
    let window_mem = desktop::memory_kb(window_pid);
    let resident_open = desktop::memory_kb(resident_pid);
    x.close(window);
    until(
        Duration::from_secs(15),
        "the window process outlived its closed window",
        || !desktop::alive(window_pid),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        desktop::webkit_processes(),
        0,
        "a WebKit process outlived the closed window by 2 s"
    );
    assert!(
        desktop::alive(resident_pid),
        "closing the window ended the resident process"
    );
    let resident_closed = desktop::memory_kb(resident_pid);
    eprintln!(
        "window process tree {} MB RSS / {} MB PSS; resident process {} MB RSS / {} MB PSS \
         with the window open, {} MB RSS / {} MB PSS after it closed",
        window_mem.0 / 1024,
        window_mem.1 / 1024,
        resident_open.0 / 1024,
        resident_open.1 / 1024,
        resident_closed.0 / 1024,
        resident_closed.1 / 1024
    );

    // Pause and resume from the tray: the menu follows the state.
    tray.click("Pause for 1 h");
    tray.wait_entry("Resume", Duration::from_secs(10));
    tray.wait_entry(
        "Deploywatch: 1 phantom (paused until ",
        Duration::from_secs(10),
    );
    wait_icon(&tray, "idle").await;
    tray.click("Resume");
    tray.wait_entry("Pause for 1 h", Duration::from_secs(10));
    wait_icon(&tray, "alert").await;

    // An alerting environment in the tray starts a window process on its report.
    tray.click("shop / production: phantom");
    let start = Instant::now();
    let reopened = loop {
        if let Some(p) = desktop::pid_of(&app) {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the tray's alerting entry opened no window"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    x.wait_windows(reopened, 1, Duration::from_secs(15));
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("the page takes the report of shop / production") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the new window did not open production's report (log: {})",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // One window at a time: a second launch brings the open one to the front and exits.
    let mut second = Command::new(&app);
    second
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut second = second.spawn().expect("second launch");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = second.kill();
            panic!("a second launch kept running beside the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "second launch: {status}");
    assert_eq!(desktop::pids_of(&app), vec![reopened], "one window process");
    // And one resident process: a second one refuses to start.
    let status = Command::new(&resident)
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("second resident");
    assert!(status.success(), "a second resident process: {status}");
    assert_eq!(
        desktop::pids_of(&resident),
        vec![resident_pid],
        "one resident process"
    );

    // Quit from the tray ends both processes.
    tray.click_to_exit("Quit");
    until(
        Duration::from_secs(15),
        "Quit did not end both processes",
        || !desktop::alive(resident_pid) && !desktop::alive(reopened),
    )
    .await;
}

/// Waits until the tray shows `icons/tray-<state>.png` (pixels compared: the resident process
/// hands the panel the decoded image as an ARGB32 pixmap).
async fn wait_icon(tray: &desktop::TrayHost, state: &str) {
    let want = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../icons/tray-{state}.png")),
    )
    .expect("icon file");
    let want = tauri::image::Image::from_bytes(&want).expect("png");
    let argb: Vec<u8> = want
        .rgba()
        .chunks_exact(4)
        .flat_map(|p| [p[3], p[0], p[1], p[2]])
        .collect();
    let start = Instant::now();
    loop {
        if tray.icon_pixmap().is_some_and(|(w, h, data)| {
            u32::try_from(w).ok() == Some(want.width())
                && u32::try_from(h).ok() == Some(want.height())
                && data == argb
        }) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the tray does not show the {state} icon"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// tauri-driver (which launches the app) over `config` with everything else in `dir`, and a
/// WebDriver session on it; the app's log goes to `log` in the temporary directory.
async fn launch(dir: &Path, config: &Path, log: &str) -> (Proc, Client) {
    let driver = Proc::spawn(
        Command::new("tauri-driver")
            .args(["--port", "4444", "--native-port", "4445"])
            .env("DEPLOYWATCH_CONFIG", config)
            .env("DEPLOYWATCH_DB", dir.join("deploywatch.db"))
            .env("DEPLOYWATCH_SOCKET", dir.join("run/resident.sock"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
            .env_remove("GITHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(std::env::temp_dir().join(log)).expect("app log")),
        "tauri-driver on PATH (scripts/app.sh installs it)",
    );
    wait_port(4444).await;
    (driver, session().await)
}

/// The dashboard as the page shows it, read in one script (so between two renders, never
/// half of one): the groups in page order with their rows, the header, the window.
#[derive(Debug, serde::Deserialize)]
struct Shown {
    overall: String,
    groups: Vec<ShownGroup>,
    inner_width: f64,
    inner_height: f64,
    scroll_height: f64,
    filter_count: Option<String>,
    /// `project/environment` of the focused row, `search` for the search box.
    active: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct ShownGroup {
    project: String,
    hidden: bool,
    summary: String,
    expanded: String,
    rows: Vec<ShownRow>,
}

#[derive(Debug, serde::Deserialize)]
struct ShownRow {
    project: String,
    environment: String,
    verdict: String,
    standing: String,
    hidden: bool,
    top: f64,
    bottom: f64,
    hint: String,
    hint_title: String,
    hint_clipped: bool,
    hint_white_space: String,
}

impl Shown {
    fn rows(&self) -> impl Iterator<Item = &ShownRow> {
        self.groups.iter().flat_map(|g| g.rows.iter())
    }

    /// The rows a person sees (not filtered out, not folded), in page order.
    fn visible(&self) -> Vec<&ShownRow> {
        self.groups
            .iter()
            .filter(|g| !g.hidden)
            .flat_map(|g| g.rows.iter())
            .filter(|r| !r.hidden)
            .collect()
    }

    fn group(&self, project: &str) -> &ShownGroup {
        self.groups
            .iter()
            .find(|g| g.project == project)
            .unwrap_or_else(|| panic!("no group {project}: {self:?}"))
    }
}

const SHOWN_JS: &str = r#"
const rect = e => e.getBoundingClientRect();
const groups = [...document.querySelectorAll('[data-testid=project-group]')].map(g => ({
  project: g.dataset.project,
  hidden: g.hidden,
  summary: g.querySelector('[data-testid=group-summary]').textContent,
  expanded: g.querySelector('[data-testid=group-toggle]').getAttribute('aria-expanded'),
  rows: [...g.querySelectorAll('[data-testid=env-row]')].map(r => {
    const hint = r.querySelector('[data-testid=hint]');
    return {
      project: r.dataset.project,
      environment: r.dataset.environment,
      verdict: r.querySelector('[data-testid=verdict]').dataset.verdict,
      standing: r.dataset.standing,
      hidden: r.hidden,
      top: rect(r).top,
      bottom: rect(r).bottom,
      hint: hint.textContent,
      hint_title: hint.getAttribute('title') || '',
      hint_clipped: hint.scrollWidth > hint.clientWidth,
      hint_white_space: getComputedStyle(hint).whiteSpace,
    };
  }),
}));
const a = document.activeElement;
const count = document.querySelector('[data-testid=filter-count]');
return {
  overall: document.querySelector('[data-testid=overall]').textContent,
  groups,
  inner_width: window.innerWidth,
  inner_height: window.innerHeight,
  scroll_height: document.scrollingElement.scrollHeight,
  filter_count: count ? count.textContent : null,
  active: a && a.dataset && a.dataset.testid === 'env-row'
    ? a.dataset.project + '/' + a.dataset.environment
    : (a && a.dataset ? a.dataset.testid || null : null),
};
"#;

async fn shown(c: &Client) -> Shown {
    let v = c
        .execute(SHOWN_JS, vec![])
        .await
        .expect("read the dashboard");
    serde_json::from_value(v).expect("the dashboard as read")
}

/// Reads the dashboard until `done` holds, or fails with the last reading after `within`.
async fn shown_until(
    c: &Client,
    within: Duration,
    what: &str,
    done: impl Fn(&Shown) -> bool,
) -> Shown {
    let start = Instant::now();
    loop {
        if c.find(Locator::Css("[data-testid=overall]")).await.is_ok() {
            let s = shown(c).await;
            if done(&s) {
                return s;
            }
            if start.elapsed() > within {
                panic!("{what}: not after {within:?}; the dashboard shows {s:#?}");
            }
        } else if start.elapsed() > within {
            panic!("{what}: no dashboard after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The standing of a verdict by the SPEC's rule (every verdict but live and deploying is an
/// alert), as a rank: the order the dashboard must show.
fn rank(verdict: &str) -> u8 {
    match verdict {
        "" => 3,
        "live" => 2,
        "deploying" => 1,
        _ => 0,
    }
}

/// The counts in words, most urgent first: "2 need attention · 1 deploying · 8 live".
fn words<'a>(verdicts: impl IntoIterator<Item = &'a str>) -> String {
    let mut n = [0usize; 4];
    for v in verdicts {
        n[rank(v) as usize] += 1;
    }
    let mut parts = Vec::new();
    match n[0] {
        0 => {}
        1 => parts.push("1 needs attention".to_string()),
        k => parts.push(format!("{k} need attention")),
    }
    for (k, word) in [
        (n[1], "deploying"),
        (n[2], "live"),
        (n[3], "not checked yet"),
    ] {
        if k > 0 {
            parts.push(format!("{k} {word}"));
        }
    }
    parts.join(" · ")
}

/// What the dashboard must hold whatever the fleet: every environment once, grouped by
/// project; groups in order of their most urgent environment, rows by urgency, ties in
/// config order (`config`: (project, environment) as configured); each group's line and the
/// header say the counts in words; each row's standing is its verdict's.
fn assert_grouped_and_ordered(s: &Shown, config: &[(String, String)]) {
    let place = |r: &ShownRow| {
        config
            .iter()
            .position(|(p, e)| *p == r.project && *e == r.environment)
            .unwrap_or_else(|| panic!("{}/{} is not configured", r.project, r.environment))
    };
    let mut seen: Vec<usize> = s.rows().map(place).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..config.len()).collect::<Vec<_>>(),
        "every environment once"
    );
    let mut last_group: Option<(u8, usize)> = None;
    for g in &s.groups {
        assert!(!g.rows.is_empty(), "an empty group: {g:?}");
        let mut last_row: Option<(u8, usize)> = None;
        for r in &g.rows {
            assert_eq!(r.project, g.project, "{r:?} in group {}", g.project);
            let want = ["attention", "deploying", "live", "unchecked"][rank(&r.verdict) as usize];
            assert_eq!(r.standing, want, "{r:?}");
            let key = (rank(&r.verdict), place(r));
            assert!(
                last_row.is_none_or(|l| l < key),
                "{}/{} ({}) is out of order in its group: {:?}",
                r.project,
                r.environment,
                r.verdict,
                g.rows
                    .iter()
                    .map(|r| (&r.environment, &r.verdict))
                    .collect::<Vec<_>>()
            );
            last_row = Some(key);
        }
        let worst = g.rows.iter().map(|r| rank(&r.verdict)).min().expect("rows");
        let key = (worst, place(&g.rows[0]));
        assert!(
            last_group.is_none_or(|l| l < key),
            "group {} is out of order: {:?}",
            g.project,
            s.groups.iter().map(|g| &g.summary).collect::<Vec<_>>()
        );
        last_group = Some(key);
        assert_eq!(
            g.summary,
            format!(
                "{} — {}",
                g.project,
                words(g.rows.iter().map(|r| r.verdict.as_str()))
            )
        );
    }
    assert_eq!(s.overall, words(s.rows().map(|r| r.verdict.as_str())));
}

/// Presses and releases one key, on whatever has the focus.
async fn press(c: &Client, key: impl Into<char>) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let value = key.into();
    c.perform_actions(
        KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value }),
    )
    .await
    .unwrap_or_else(|e| panic!("pressing {value:?}: {e}"));
}

/// Types `text` into whatever has the focus.
async fn type_text(c: &Client, text: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut keys = KeyActions::new("keyboard".into());
    for value in text.chars() {
        keys = keys
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
    }
    c.perform_actions(keys).await.expect("typing");
}

/// The title of the report page shown, once there is one.
async fn report_title(c: &Client) -> String {
    find(c, "[data-testid=report] #report-title")
        .await
        .text()
        .await
        .expect("title")
}

#[test]
fn the_demo_fleet_fits_the_default_window_alerts_first_grouped_by_project() {
    if !enabled("the dashboard over the demo fleet in the real window (WebDriver)") {
        return;
    }
    tauri::async_runtime::block_on(demo_dashboard());
}

async fn demo_dashboard() {
    // The demo's environments as its config lists them (the dashboard's config order).
    let config: Vec<(String, String)> = {
        let fleet = deploywatch_fleet::Fleet::start_demo()
            .await
            .expect("a demo fleet");
        fleet
            .scenarios()
            .iter()
            .map(|s| (s.project.to_string(), s.environment.to_string()))
            .collect()
    };
    assert_eq!(
        config.len(),
        11,
        "the demo fleet's size changed: {config:?}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    // No config file: the first run, which offers the demo.
    let (_driver, c) = launch(
        dir.path(),
        &dir.path().join("config.toml"),
        "deploywatch-gui-demo.log",
    )
    .await;
    click(&c, "[data-testid=try-demo]").await;
    // The script's deploys land about 25 s in; its alerts follow within a minute.
    let alerts = |s: &Shown| s.rows().filter(|r| rank(&r.verdict) == 0).count();
    let s = shown_until(&c, Duration::from_secs(120), "most demo alerts", |s| {
        s.rows().count() == 11 && alerts(s) >= 6
    })
    .await;
    // For the picture, the demo at its worst if it gets there within half a minute (all of
    // its alerts but the last ones to appear); the checks below hold either way.
    let start = Instant::now();
    let mut s = s;
    while alerts(&s) < 8 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        s = shown(&c).await;
    }
    screenshot(&c, "dashboard.png").await;
    let s = shown(&c).await;

    // The default window, and all of the fleet in it without scrolling.
    assert_eq!(
        (s.inner_width, s.inner_height),
        (1100.0, 760.0),
        "not the default window size (tauri.conf.json)"
    );
    assert!(
        s.scroll_height <= s.inner_height,
        "the page scrolls: {} px of content in a {} px window",
        s.scroll_height,
        s.inner_height
    );
    for r in s.rows() {
        assert!(
            !r.hidden && r.bottom <= s.inner_height,
            "{}/{} is below the window (bottom {} px of {})",
            r.project,
            r.environment,
            r.bottom,
            s.inner_height
        );
        assert!(
            r.bottom - r.top <= 36.0,
            "{}/{} takes more than one line: {} px",
            r.project,
            r.environment,
            r.bottom - r.top
        );
    }
    // Alerts first, then deploying, then live; grouped by project, the lines in words.
    assert_grouped_and_ordered(&s, &config);
    assert_eq!(s.groups.len(), 9, "{s:#?}");
    assert_eq!(
        rank(&s.groups[0].rows[0].verdict),
        0,
        "an alert comes first"
    );

    // Each hint is one line cut with an ellipsis; the tooltip has all of it; so does the
    // report.
    for r in s.rows().filter(|r| !r.hint.is_empty()) {
        assert_eq!(r.hint, r.hint_title, "the tooltip is the whole hint: {r:?}");
        assert_eq!(r.hint_white_space, "nowrap", "{r:?}");
    }
    // A cut one whose verdict the demo keeps to its end and whose hint names no time, so the
    // report read next says the same.
    let long = ["unverifiable", "ci_missing", "image_missing"]
        .iter()
        .find_map(|v| s.rows().find(|r| r.hint_clipped && r.verdict == *v))
        .unwrap_or_else(|| panic!("no hint too long for its line, cut: {s:#?}"));
    let (project, environment, hint) = (
        long.project.clone(),
        long.environment.clone(),
        long.hint_title.clone(),
    );
    // With the focus, the row shows its whole hint.
    let css =
        format!("[data-testid=env-row][data-project={project}][data-environment={environment}]");
    c.execute(&format!("document.querySelector('{css}').focus()"), vec![])
        .await
        .expect("focus");
    let ws = c
        .execute(
            &format!("return getComputedStyle(document.querySelector('{css} [data-testid=hint]')).whiteSpace"),
            vec![],
        )
        .await
        .expect("style");
    assert_eq!(ws, "pre-wrap", "the focused row shows its whole hint");
    click(&c, &format!("{css} [data-testid=hint]")).await;
    assert_eq!(report_title(&c).await, format!("{project} / {environment}"));
    let report_hint = find(&c, "[data-testid=report-hint] p")
        .await
        .text()
        .await
        .expect("hint");
    let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        flat(&report_hint),
        flat(&hint),
        "the report has the whole hint"
    );

    // A project folds to its line and unfolds; folded it stays so while the page lives.
    click(&c, "[data-testid=nav-dashboard]").await;
    let toggle = "[data-testid=project-group][data-project=shop] [data-testid=group-toggle]";
    click(&c, toggle).await;
    let folded = |s: &Shown| {
        let g = s.group("shop");
        g.expanded == "false" && g.rows.iter().all(|r| r.hidden) && !g.hidden
    };
    let s = shown_until(&c, Duration::from_secs(5), "shop folded", folded).await;
    assert!(s.group("shop").summary.starts_with("shop — "), "{s:#?}");
    click(&c, "[data-testid=env-row][data-project=web] .c-env").await;
    report_title(&c).await;
    click(&c, "[data-testid=nav-dashboard]").await;
    shown_until(&c, Duration::from_secs(5), "shop still folded", folded).await;
    // The fold is a button: the keyboard unfolds it too.
    find(&c, toggle)
        .await
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .expect("Enter");
    shown_until(&c, Duration::from_secs(5), "shop unfolded", |s| {
        let g = s.group("shop");
        g.expanded == "true" && g.rows.iter().all(|r| !r.hidden)
    })
    .await;
    let _ = c.close().await;
}

#[test]
fn a_fleet_of_300_is_ordered_searched_folded_and_walked_by_keyboard() {
    if !enabled("the dashboard over 300 environments in the real window (WebDriver)") {
        return;
    }
    tauri::async_runtime::block_on(big_dashboard(300));
}

async fn big_dashboard(n: usize) {
    use fantoccini::key::Key;
    let fleet = big_fleet::BigFleet::start(n).await;
    let places = big_fleet::places(n);
    let config_order: Vec<(String, String)> = places
        .iter()
        .map(|(p, e, _)| (p.clone(), e.clone()))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &fleet.config).expect("config");
    let (_driver, c) = launch(dir.path(), &config, "deploywatch-gui-300.log").await;

    // Every environment shows the verdict its place plans.
    let planned = |s: &Shown| {
        s.rows().count() == n
            && s.rows().all(|r| {
                places
                    .iter()
                    .any(|(p, e, v)| *p == r.project && *e == r.environment && *v == r.verdict)
            })
    };
    let s = shown_until(
        &c,
        Duration::from_secs(120),
        "the planned verdicts",
        planned,
    )
    .await;
    screenshot(&c, "dashboard-300.png").await;
    assert_grouped_and_ordered(&s, &config_order);
    let projects: Vec<&str> = s.groups.iter().map(|g| g.project.as_str()).collect();
    // Projects with alerts (config order), then those only deploying, then the all-live.
    let mut want: Vec<String> = (0..n / big_fleet::PER_PROJECT)
        .filter(|k| k % 4 != 3 && k % 6 != 5)
        .chain((0..n / big_fleet::PER_PROJECT).filter(|k| k % 4 == 3 && k % 6 != 5))
        .chain((0..n / big_fleet::PER_PROJECT).filter(|k| k % 6 == 5))
        .map(big_fleet::project)
        .collect();
    assert_eq!(
        projects,
        want.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let count = |v: &str| places.iter().filter(|p| p.2 == v).count();
    assert_eq!(
        s.overall,
        format!(
            "{} need attention · {} deploying · {} live",
            count("phantom") + count("down"),
            count("deploying"),
            count("live")
        )
    );
    want.clear();

    // `/` goes to the search box (from the page, nothing focused).
    c.execute(
        "document.activeElement && document.activeElement.blur()",
        vec![],
    )
    .await
    .expect("blur");
    press(&c, '/').await;
    let s = shown(&c).await;
    assert_eq!(
        s.active.as_deref(),
        Some("search"),
        "`/` focuses the search box"
    );
    // Names, in any order of words; a `/` typed in the box is text, not a jump.
    type_text(&c, "env-1 proj-03/").await;
    let only = |s: &Shown, want: &[(String, String)]| {
        let got: Vec<(String, String)> = s
            .visible()
            .iter()
            .map(|r| (r.project.clone(), r.environment.clone()))
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want = want.to_vec();
        want.sort();
        got_sorted == want
    };
    let proj03: Vec<(String, String)> = (10..15)
        .map(|j| ("proj-03".to_string(), big_fleet::environment(j)))
        .collect();
    let s = shown_until(&c, Duration::from_secs(5), "proj-03's env-1x only", |s| {
        only(s, &proj03)
    })
    .await;
    assert_eq!(s.active.as_deref(), Some("search"));
    assert_eq!(
        s.filter_count.as_deref(),
        Some(format!("5 of {n} shown").as_str())
    );
    assert_eq!(
        s.groups.iter().filter(|g| !g.hidden).count(),
        1,
        "only proj-03's group is shown"
    );
    // Escape shows everything again.
    press(&c, Key::Escape).await;
    shown_until(&c, Duration::from_secs(5), "all again", |s| {
        s.visible().len() == n && s.filter_count.is_none()
    })
    .await;
    // Verdict words: a verdict's name, and the standing "attention".
    for (query, verdicts) in [
        ("phantom", &["phantom"][..]),
        ("attention", &["phantom", "down"]),
    ] {
        type_text(&c, query).await;
        let want: Vec<(String, String)> = places
            .iter()
            .filter(|p| verdicts.contains(&p.2))
            .map(|(p, e, _)| (p.clone(), e.clone()))
            .collect();
        shown_until(&c, Duration::from_secs(5), query, |s| only(s, &want)).await;
        press(&c, Key::Escape).await;
    }
    shown_until(&c, Duration::from_secs(5), "all again", |s| {
        s.visible().len() == n
    })
    .await;

    // Down from the search box goes into the rows; the arrows walk them; Enter opens one.
    press(&c, Key::Down).await;
    let s = shown(&c).await;
    let visible: Vec<String> = s
        .visible()
        .iter()
        .map(|r| format!("{}/{}", r.project, r.environment))
        .collect();
    assert_eq!(
        s.active.as_ref(),
        Some(&visible[0]),
        "Down from the search box"
    );
    press(&c, Key::Down).await;
    press(&c, Key::Down).await;
    press(&c, Key::Up).await;
    let s = shown(&c).await;
    assert_eq!(
        s.active.as_ref(),
        Some(&visible[1]),
        "down, down, up: the second row"
    );
    press(&c, Key::Up).await;
    press(&c, Key::Up).await;
    assert_eq!(
        shown(&c).await.active.as_ref(),
        Some(&visible[0]),
        "Up stops at the first row"
    );
    press(&c, Key::Down).await;
    press(&c, Key::Enter).await;
    assert_eq!(report_title(&c).await, visible[1].replace('/', " / "));

    // A folded project is passed over by the arrows, and stays folded across a report.
    click(&c, "[data-testid=nav-dashboard]").await;
    let s = shown_until(&c, Duration::from_secs(10), "the dashboard again", |s| {
        s.rows().count() == n
    })
    .await;
    let (first, second, third) = (
        s.groups[0].project.clone(),
        s.groups[1].project.clone(),
        s.groups[2].project.clone(),
    );
    click(
        &c,
        &format!("[data-testid=project-group][data-project={second}] [data-testid=group-toggle]"),
    )
    .await;
    shown_until(
        &c,
        Duration::from_secs(5),
        "the second project folded",
        |s| s.group(&second).rows.iter().all(|r| r.hidden),
    )
    .await;
    let last_of_first = s
        .group(&first)
        .rows
        .last()
        .expect("rows")
        .environment
        .clone();
    c.execute(
        &format!(
            "document.querySelector('[data-testid=env-row][data-project={first}][data-environment={last_of_first}]').focus()"
        ),
        vec![],
    )
    .await
    .expect("focus");
    press(&c, Key::Down).await;
    let s = shown(&c).await;
    let first_of_third = format!("{third}/{}", s.group(&third).rows[0].environment);
    assert_eq!(
        s.active.as_ref(),
        Some(&first_of_third),
        "Down past a folded project"
    );
    press(&c, Key::Enter).await;
    assert_eq!(report_title(&c).await, first_of_third.replace('/', " / "));
    click(&c, "[data-testid=nav-dashboard]").await;
    let s = shown_until(&c, Duration::from_secs(10), "the dashboard again", |s| {
        s.rows().count() == n
    })
    .await;
    let g = s.group(&second);
    assert!(
        g.expanded == "false" && g.rows.iter().all(|r| r.hidden),
        "the fold was kept: {g:?}"
    );
    let _ = c.close().await;
}
