//! Running the real binary with a config of the test's own, in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A git SHA that looks real and is unique per name.
pub fn sha(name: &str) -> String {
    // FNV-1a over the name, stretched to 40 hex characters; only uniqueness matters here.
    let mut out = String::new();
    let mut h: u64 = 0xcbf29ce484222325;
    for round in 0u8..3 {
        for b in name.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

/// A scratch directory holding one config and one database, and a way to run the binary
/// against them with a clean environment (no token, no colour, no user config).
pub struct Dw {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db: PathBuf,
}

impl Dw {
    pub fn new(config_text: &str) -> Dw {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        let db = dir.path().join("deploywatch.db");
        std::fs::write(&config, config_text).expect("write config");
        Dw { dir, config, db }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deploywatch"));
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--db")
            .arg(&self.db)
            .args(args);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .env("NO_COLOR", "1")
            .env("DEPLOYWATCH_LOG", "warn");
        cmd
    }

    /// Starts the binary without waiting (for `watch` and `verify --wait`).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn deploywatch")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn new(out: Output, elapsed: Duration) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The single report of a `verify --json` run.
    pub fn report(&self) -> Value {
        let doc = self.json();
        let arr = doc
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {doc}"));
        assert_eq!(arr.len(), 1, "{doc:#}");
        arr[0].clone()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// A config for one project with one environment; `env_extra` and `defaults` are extra TOML
/// lines for `[[project.environment]]` and `[defaults]`.
pub fn config(
    api_url: &str,
    project_extra: &str,
    env_url: &str,
    env_extra: &str,
    defaults: &str,
) -> String {
    format!(
        r#"[github]
api_url = "{api_url}"

[defaults]
grace = "0s"
ci_timeout = "10m"
fast_interval = "200ms"
idle_interval = "1s"
timeout = "2s"
{defaults}

[notifications]
desktop = false

[[project]]
name = "shop"
repo = "acme/shop"
branch = "main"
{project_extra}

[[project.environment]]
name = "production"
build_info_url = "{env_url}"
{env_extra}
"#
    )
}

impl Dw {
    /// Runs the binary without blocking the async runtime that serves the fakes.
    pub async fn run_async(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let mut cmd = tokio::process::Command::from(self.command(args));
        let out = cmd.output().await.expect("run deploywatch");
        Run::new(out, started.elapsed())
    }
}

/// The fakes one scenario needs: GitHub with `acme/shop`, whose `main` moved from OLD to NEW,
/// and one environment still serving OLD.
pub struct Scenario {
    pub hub: deploywatch_fakehub::FakeHub,
    pub env: deploywatch_fleet::SimEnv,
    pub old: String,
    pub new: String,
}

impl Scenario {
    pub async fn start() -> Scenario {
        let hub = deploywatch_fakehub::FakeHub::start()
            .await
            .expect("fake GitHub");
        let env = deploywatch_fleet::SimEnv::start("production")
            .await
            .expect("simulated environment");
        let (old, new) = (sha("old"), sha("new"));
        hub.push("acme/shop", "main", &old, "Alice", "Add checkout");
        hub.push("acme/shop", "main", &new, "Bob", "Fix rounding in totals");
        env.set_live(&old);
        Scenario { hub, env, old, new }
    }

    /// A config for this scenario with extra TOML lines.
    pub fn config(&self, project_extra: &str, env_extra: &str, defaults: &str) -> String {
        config(
            &self.hub.api_url(),
            project_extra,
            &self.env.build_info_url(),
            env_extra,
            defaults,
        )
    }
}

/// A config of many projects `name` (repository `acme/name`, branch `main`), each with one
/// environment `production` at its build-info URL; `defaults` is the `[defaults]` body (the
/// schedule) and `notifications` the `[notifications]` body.
pub fn fleet_config(
    api_url: &str,
    defaults: &str,
    notifications: &str,
    projects: impl IntoIterator<Item = (String, String)>,
) -> String {
    let mut toml = format!(
        "[github]\napi_url = \"{api_url}\"\n\n[defaults]\n{defaults}\n\n[notifications]\n\
         {notifications}\n"
    );
    for (name, url) in projects {
        toml.push_str(&format!(
            "\n[[project]]\nname = \"{name}\"\nrepo = \"acme/{name}\"\nbranch = \"main\"\n\n\
             [[project.environment]]\nname = \"production\"\nbuild_info_url = \"{url}\"\n"
        ));
    }
    toml
}

/// The fast schedule of the fleet tests: 200 ms → 1 s, no grace.
pub const FAST: &str = "grace = \"0s\"\nci_timeout = \"10m\"\nfast_interval = \"200ms\"\n\
                        idle_interval = \"1s\"\ntimeout = \"2s\"";

impl Dw {
    /// The verdicts the database holds (`status --json`), one per environment.
    pub async fn verdicts(&self) -> Vec<(String, String)> {
        let status = self.run_async(&["status", "--json"]).await;
        status
            .json()
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| {
                (
                    s["project"].as_str().unwrap_or_default().to_owned(),
                    s["verdict"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Asserts that the database holds `n` environments, all `live`.
    pub async fn assert_all_live(&self, n: usize) {
        let verdicts = self.verdicts().await;
        assert_eq!(verdicts.len(), n, "{verdicts:?}");
        let not_live: Vec<_> = verdicts.iter().filter(|(_, v)| v != "live").collect();
        assert!(not_live.is_empty(), "not live: {not_live:?}");
    }
}
