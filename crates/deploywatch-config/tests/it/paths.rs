//! `config_path` and `db_path` read the real process environment.
//!
//! Changing the environment of this process would race with other tests (and needs `unsafe`,
//! which the workspace forbids), so the test runs this same test binary again as a child with
//! the variables set, and the child checks what it sees.

use std::path::{Path, PathBuf};
use std::process::Command;

use deploywatch_config::{CONFIG_ENV, DB_ENV, config_path, db_path};

/// Set only in the child, to tell it what to expect.
const EXPECT_CONFIG: &str = "DEPLOYWATCH_TEST_EXPECT_CONFIG";
const EXPECT_DB: &str = "DEPLOYWATCH_TEST_EXPECT_DB";

#[test]
fn flags_win_over_everything() {
    let flag = Path::new("/from/flag.toml");
    assert_eq!(config_path(Some(flag)), Some(flag.to_path_buf()));
    assert_eq!(
        db_path(Some(Path::new("x.db"))),
        Some(PathBuf::from("x.db"))
    );
}

/// Runs `child_sees_the_expected_paths` in a fresh process with `env` set.
#[track_caller]
fn run_child(env: &[(&str, &str)], remove: &[&str]) {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "paths::child_sees_the_expected_paths",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in remove {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn environment_variables_win_over_platform_dirs() {
    run_child(
        &[
            (CONFIG_ENV, "/env/config.toml"),
            (DB_ENV, "/env/history.db"),
            (EXPECT_CONFIG, "/env/config.toml"),
            (EXPECT_DB, "/env/history.db"),
        ],
        &[],
    );
}

#[test]
fn platform_dirs_are_used_when_nothing_else_is_set() {
    // XDG variables make the platform directories predictable on Linux; elsewhere the
    // child only checks the file names.
    run_child(
        &[
            ("HOME", "/home/tester"),
            ("XDG_CONFIG_HOME", "/xdg/config"),
            ("XDG_DATA_HOME", "/xdg/data"),
            (CONFIG_ENV, ""),
            (EXPECT_CONFIG, "/xdg/config/deploywatch/config.toml"),
            (EXPECT_DB, "/xdg/data/deploywatch/deploywatch.db"),
        ],
        &[DB_ENV],
    );
}

/// The child half of the tests above. Run normally (without the `EXPECT` variables) it
/// checks the fallback shape only.
#[test]
fn child_sees_the_expected_paths() {
    let config = config_path(None).expect("a config path");
    let db = db_path(None).expect("a database path");
    match (std::env::var(EXPECT_CONFIG), std::env::var(EXPECT_DB)) {
        (Ok(c), Ok(d)) if cfg!(target_os = "linux") || c.starts_with("/env/") => {
            assert_eq!(config, PathBuf::from(c));
            assert_eq!(db, PathBuf::from(d));
        }
        _ => {
            if std::env::var_os(CONFIG_ENV).is_none_or(|v| v.is_empty()) {
                assert!(config.ends_with("deploywatch/config.toml"), "{config:?}");
            }
            if std::env::var_os(DB_ENV).is_none_or(|v| v.is_empty()) {
                assert!(db.ends_with("deploywatch/deploywatch.db"), "{db:?}");
            }
        }
    }
}
