//! A large fleet for the window's tests and the dashboard bench (`benches/dashboard.rs`):
//! `n` environments in projects of 15 (`proj-00/env-00` …), answered by three simulated
//! servers — one serving the new build, one the old, one answering 503 — over a fake GitHub
//! on which every project moved from OLD to NEW. Each environment's verdict follows from its
//! place ([`planned`]), so a test knows what each row must say without asking the app.

use deploywatch_fakehub::FakeHub;
use deploywatch_fleet::SimEnv;

/// Environments per project.
pub const PER_PROJECT: usize = 15;

/// What one place of the fleet is served and shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serve {
    New,
    Old,
    Down,
}

/// Project `k`'s name.
pub fn project(k: usize) -> String {
    format!("proj-{k:02}")
}

/// Environment `j`'s name.
pub fn environment(j: usize) -> String {
    format!("env-{j:02}")
}

/// Whether project `k`'s CI is still running for NEW (its environments on OLD are deploying).
fn ci_running(k: usize) -> bool {
    k % 4 == 3 && !all_live(k)
}

/// Whether every environment of project `k` serves NEW.
fn all_live(k: usize) -> bool {
    k % 6 == 5
}

/// What environment `j` of project `k` is served, and the verdict it must show: most are
/// live; every fifth serves the old build (phantom, or deploying while CI runs); every
/// thirteenth is down; some projects are all live, some only deploying.
pub fn planned(k: usize, j: usize) -> (Serve, &'static str) {
    if all_live(k) {
        (Serve::New, "live")
    } else if j % 13 == 7 && !ci_running(k) {
        (Serve::Down, "down")
    } else if j % 5 == 2 {
        (
            Serve::Old,
            if ci_running(k) {
                "deploying"
            } else {
                "phantom"
            },
        )
    } else {
        (Serve::New, "live")
    }
}

/// Every place of a fleet of `n`, in config order: (project, environment, verdict).
pub fn places(n: usize) -> Vec<(String, String, &'static str)> {
    (0..n)
        .map(|i| {
            let (k, j) = (i / PER_PROJECT, i % PER_PROJECT);
            (project(k), environment(j), planned(k, j).1)
        })
        .collect()
}

/// The running fakes and the config text that watches them.
pub struct BigFleet {
    _hub: FakeHub,
    _servers: [SimEnv; 3],
    pub config: String,
}

impl BigFleet {
    pub async fn start(n: usize) -> BigFleet {
        let hub = FakeHub::start().await.expect("fake GitHub");
        let (old, new) = (
            deploywatch_fleet::fake_sha("old"),
            deploywatch_fleet::fake_sha("new"),
        );
        let serve_new = SimEnv::start("new").await.expect("simulated server");
        serve_new.set_live(&new);
        let serve_old = SimEnv::start("old").await.expect("simulated server");
        serve_old.set_live(&old);
        let serve_down = SimEnv::start("down").await.expect("simulated server");
        serve_down.set_down(Some(503));
        let mut config = format!(
            "[github]\napi_url = \"{}\"\n\n[defaults]\ngrace = \"0s\"\nci_timeout = \"10m\"\n\
             fast_interval = \"10s\"\nidle_interval = \"1m\"\ntimeout = \"2s\"\nconfirm = 2\n\n\
             [notifications]\ndesktop = false\n",
            hub.api_url()
        );
        for k in 0..n.div_ceil(PER_PROJECT) {
            let repo = format!("acme/{}", project(k));
            hub.push(&repo, "main", &old, "alice", "Add checkout");
            hub.push(&repo, "main", &new, "bob", "Fix rounding in totals");
            if ci_running(k) {
                hub.add_run(&repo, &new, "CI", "in_progress", None);
            } else {
                hub.add_run(&repo, &new, "CI", "completed", Some("success"));
            }
            config.push_str(&format!(
                "\n[[project]]\nname = \"{}\"\nrepo = \"{repo}\"\nbranch = \"main\"\n",
                project(k)
            ));
            for j in 0..PER_PROJECT.min(n - k * PER_PROJECT) {
                let url = match planned(k, j).0 {
                    Serve::New => serve_new.build_info_url(),
                    Serve::Old => serve_old.build_info_url(),
                    Serve::Down => serve_down.build_info_url(),
                };
                config.push_str(&format!(
                    "\n[[project.environment]]\nname = \"{}\"\nbuild_info_url = \"{url}\"\n",
                    environment(j)
                ));
            }
        }
        BigFleet {
            _hub: hub,
            _servers: [serve_new, serve_old, serve_down],
            config,
        }
    }
}
