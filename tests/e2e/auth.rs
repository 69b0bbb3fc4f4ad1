//! `deploywatch auth login|status|logout` through the real binary: the device flow against the
//! fake GitHub, the token stored in a real OS keyring — GNOME Keyring's Secret Service on a
//! private session bus, with a fresh keyring unlocked for the test — and `verify` then reading
//! GitHub with it. The token never appears in any output.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deploywatch_fakehub::DeviceStep;

use crate::harness::{Dw, Scenario};
use crate::notifications::{Guard, session_bus};

const CLIENT_ID: &str = "Iv1.deploywatche2e";
const TOKEN: &str = "gho_e2eE42F292c6912E7710c838347Ae178B4a";

/// GNOME Keyring's Secret Service on the bus at `address`, with a new "login" keyring in
/// `dir` unlocked by a password on stdin. Returns once `org.freedesktop.secrets` is owned.
fn secret_service(address: &str, dir: &std::path::Path) -> Guard {
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--components=secrets", "--unlock"])
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon (apt package gnome-keyring; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"deploywatch-test")
        .expect("password");
    let guard = Guard(child);
    let start = Instant::now();
    loop {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={address}"))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .expect("dbus-send (apt package dbus-bin)");
        if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
            return guard;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the Secret Service never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn auth_login_keeps_the_token_in_the_keyring_where_verify_finds_it() {
    let s = Scenario::start().await;
    s.hub
        .add_run("acme/shop", &s.new, "CI", "completed", Some("success"));
    // This GitHub answers only with the token.
    s.hub.require_token(Some(TOKEN));
    s.hub.set_device_interval(1);
    s.hub.set_device_flow(
        CLIENT_ID,
        vec![DeviceStep::Pending, DeviceStep::Token(TOKEN.into())],
    );
    let dw = Dw::new(&s.config("", "", ""));
    let (_bus, address) = session_bus(dw.path());
    let _keyring = secret_service(&address, &dw.path().join("keyring"));
    let run = |args: &'static [&'static str]| {
        let mut cmd = tokio::process::Command::from(dw.command(args));
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("DEPLOYWATCH_GITHUB_CLIENT_ID", CLIENT_ID);
        async move {
            let out = cmd.output().await.expect("run deploywatch");
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(!text.contains(TOKEN), "the token was printed: {text}");
            (out.status.code().unwrap_or(-1), text)
        }
    };

    let (code, out) = run(&["auth", "status"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Not signed in"), "{out}");
    let (_, out) = run(&["verify", "--json"]).await;
    assert!(out.contains("\"unverifiable\""), "without a token: {out}");

    let (code, out) = run(&["auth", "login"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("/login/device") && out.contains("enter the code"),
        "{out}"
    );
    assert!(out.contains("the token is in the OS keyring"), "{out}");

    let (code, out) = run(&["auth", "status"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("with a token from the OS keyring"), "{out}");

    // verify reads GitHub with the keyring's token: CI passed, production serves the old SHA.
    let (code, out) = run(&["verify", "--json"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"phantom\""), "with the keyring token: {out}");

    let (code, out) = run(&["auth", "logout"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("removed from the OS keyring"), "{out}");
    let (code, out) = run(&["auth", "status"]).await;
    assert_eq!(code, 1, "signed out: {out}");

    // Neither the config, the database nor any output holds the token.
    let config = std::fs::read_to_string(&dw.config).expect("config");
    let db = std::fs::read(&dw.db).unwrap_or_default();
    assert!(!config.contains(TOKEN));
    assert!(!db.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
}
