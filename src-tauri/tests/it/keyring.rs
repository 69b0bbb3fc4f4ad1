//! Signing in from Settings with a real OS keyring: GNOME Keyring's Secret Service on the
//! session bus (started here with a fresh, unlocked keyring in a temporary directory), the
//! device flow against the fake GitHub, and the watcher then reading GitHub with the stored
//! token. The token must never reach the window: no command's answer contains it.
//!
//! Gated like the window tests (`DEPLOYWATCH_GUI_TESTS=1`, which `scripts/app.sh` sets and
//! which comes with a private D-Bus session bus).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deploywatch_fakehub::DeviceStep;
use serde_json::json;

use crate::gui::{Proc, enabled};
use crate::harness::{Scenario, TestApp};

const CLIENT_ID: &str = "Iv1.deploywatchtest";
const TOKEN: &str = "gho_16C7e42F292c6912E7710c838347Ae178B4a";

/// GNOME Keyring's Secret Service with a new "login" keyring unlocked by a password on stdin,
/// its files in `dir`. Waits until `org.freedesktop.secrets` is on the bus.
fn secret_service(dir: &std::path::Path) -> Proc {
    let mut cmd = Command::new("gnome-keyring-daemon");
    cmd.args(["--foreground", "--components=secrets", "--unlock"])
        .env("XDG_DATA_HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut daemon = Proc::spawn(&mut cmd, "gnome-keyring-daemon (apt: gnome-keyring)");
    {
        let mut stdin = daemon.0.stdin.take().expect("stdin");
        stdin.write_all(b"deploywatch-test").expect("password");
    }
    let bus = zbus::blocking::Connection::session().expect("session bus");
    let dbus = zbus::blocking::fdo::DBusProxy::new(&bus).expect("bus proxy");
    let name = zbus::names::BusName::try_from("org.freedesktop.secrets").expect("name");
    let start = Instant::now();
    while !dbus.name_has_owner(name.clone()).unwrap_or(false) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the Secret Service never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

#[test]
fn signing_in_stores_the_token_in_the_keyring_and_the_watcher_uses_it() {
    if !enabled("sign-in into the OS keyring (GNOME Keyring on D-Bus)") {
        return;
    }
    let keyring_dir = tempfile::tempdir().expect("tempdir");
    let _keyring = secret_service(keyring_dir.path());

    let s = Scenario::start();
    // GitHub answers only with the token; before sign-in the verdict cannot be established.
    s.hub.require_token(Some(TOKEN));
    s.hub.set_device_interval(1);
    s.hub.set_device_flow(
        CLIENT_ID,
        vec![DeviceStep::Pending, DeviceStep::Token(TOKEN.into())],
    );
    let config = s.config("").replace(
        "[github]\n",
        &format!("[github]\nclient_id = \"{CLIENT_ID}\"\n"),
    );
    // The test's own environment must not hand the app a token.
    assert!(
        std::env::var_os("GITHUB_TOKEN").is_none(),
        "unset GITHUB_TOKEN to run this test"
    );
    let t = TestApp::start(Some(&config));
    let verdict = |d: &serde_json::Value| {
        d["environments"][0]["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let d = t.dashboard_until(Duration::from_secs(15), |d| verdict(d) == "unverifiable");
    assert_eq!(verdict(&d), "unverifiable", "without a token: {d:#}");

    // Settings → Sign in: the code and the page to enter it; the device code stays inside.
    let code = t.invoke("sign_in_start", json!({})).expect("sign_in_start");
    assert!(
        code["user_code"].as_str().is_some_and(|c| !c.is_empty()),
        "{code:#}"
    );
    assert!(
        code["verification_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/login/device")),
        "{code:#}"
    );
    assert!(code.get("device_code").is_none(), "{code:#}");

    // The person approves; the app stores the token in the keyring and says only that.
    let settings = t.invoke("sign_in_wait", json!({})).expect("sign_in_wait");
    assert_eq!(settings["signed_in"], true, "{settings:#}");
    assert_eq!(settings["token_source"], "keyring", "{settings:#}");
    assert!(
        !settings.to_string().contains(TOKEN),
        "the token reached the window"
    );

    // In the real keyring, under the API host.
    let api = s.hub.api_url();
    let stored = deploywatch_github::keyring_read(&api).expect("keyring readable");
    assert_eq!(stored.as_ref().map(|t| t.expose()), Some(TOKEN));

    // The watcher restarted with it: GitHub answers, the phantom deploy is seen.
    let d = t.dashboard_until(Duration::from_secs(15), |d| verdict(d) == "phantom");
    assert_eq!(verdict(&d), "phantom", "with the keyring token: {d:#}");
    for cmd in ["dashboard", "settings"] {
        let answer = t.invoke(cmd, json!({})).expect(cmd);
        assert!(
            !answer.to_string().contains(TOKEN),
            "{cmd} carries the token"
        );
    }

    // Sign out removes it from the keyring.
    let settings = t.invoke("sign_out", json!({})).expect("sign_out");
    assert_eq!(settings["signed_in"], false, "{settings:#}");
    assert_eq!(
        deploywatch_github::keyring_read(&api)
            .expect("keyring readable")
            .map(|t| t.expose().to_string()),
        None
    );
}
