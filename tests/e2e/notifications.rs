//! Desktop notifications on a real D-Bus session bus: a private `dbus-daemon`, `dbus-monitor`
//! capturing every `org.freedesktop.Notifications.Notify` call, and `deploywatch watch`
//! sending through notify-rust. One notification when the incident opens, one on resolve.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Dw, Scenario};

/// A child process killed when the test ends, whatever happens.
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a private session bus; returns it and its address.
pub(crate) fn session_bus(dir: &std::path::Path) -> (Guard, String) {
    let socket = dir.join("bus");
    let mut child = Command::new("dbus-daemon")
        // The test bus config: no service activation, so nothing installed on the machine
        // (a keyring daemon, a notification daemon) joins uninvited.
        .arg(concat!(
            "--config-file=",
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/dbus-test-session.conf"
        ))
        .args(["--nofork", "--print-address=1"])
        .arg(format!("--address=unix:path={}", socket.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "dbus-daemon (apt package dbus-daemon) must be installed: scripts/test.sh installs it",
        );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Guard(child), line.trim().to_string())
}

/// A private session bus with `dbus-monitor` logging every Notify call to a file.
pub(crate) struct Desktop {
    _bus: Guard,
    _monitor: Guard,
    pub(crate) address: String,
    pub(crate) log: std::path::PathBuf,
}

impl Desktop {
    pub(crate) async fn start(dir: &std::path::Path) -> Desktop {
        let (bus, address) = session_bus(dir);
        let log = dir.join("monitor.txt");
        let monitor = Guard(
            Command::new("dbus-monitor")
                .arg("--address")
                .arg(&address)
                .arg("interface=org.freedesktop.Notifications,member=Notify")
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .expect("dbus-monitor (apt package dbus-bin)"),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        Desktop {
            _bus: bus,
            _monitor: monitor,
            address,
            log,
        }
    }
}

/// The summaries of every Notify call seen so far (the 4th string argument).
pub(crate) fn summaries(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("method call") && l.contains("member=Notify") {
            // app_name, replaces_id, app_icon, summary
            let args: Vec<&str> = lines.by_ref().take(4).collect();
            if let Some(summary) = args.get(3) {
                out.push(
                    summary
                        .trim()
                        .trim_start_matches("string ")
                        .trim_matches('"')
                        .to_string(),
                );
            }
        }
    }
    out
}

pub(crate) async fn wait_for(log: &std::path::Path, n: usize, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    while summaries(log).len() < n && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    summaries(log)
}

#[tokio::test]
async fn one_desktop_notification_per_incident_open_and_resolve() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    let dw = Dw::new(
        &s.config("", "", "confirm = 2")
            .replace("desktop = false", "desktop = true"),
    );
    let desktop = Desktop::start(dw.path()).await;
    let (address, log) = (&desktop.address, &desktop.log);

    let mut cmd = dw.command(&["watch"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", address)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _watch = Guard(cmd.spawn().unwrap());

    let seen = wait_for(log, 1, Duration::from_secs(15)).await;
    assert_eq!(seen, ["Phantom deploy: shop / production"], "{seen:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(summaries(log).len(), 1, "repeated: {:?}", summaries(log));

    s.env.set_live(&s.new);
    let seen = wait_for(log, 2, Duration::from_secs(15)).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1], "Resolved (phantom deploy): shop / production");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(summaries(log).len(), 2, "{:?}", summaries(log));
}
