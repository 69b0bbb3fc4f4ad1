//! Writing Deploywatch configuration text (SPEC §5) for simulated environments, so the demo and
//! tests get a valid file without string-pasting URLs into TOML by hand.

use std::fmt::Write as _;

use crate::env::SimEnv;

/// The `[defaults]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timings {
    pub grace: String,
    pub ci_timeout: String,
    pub fast_interval: String,
    pub idle_interval: String,
    pub timeout: String,
    pub confirm: u32,
}

impl Timings {
    /// The demo's pace: detections within a minute.
    pub fn demo() -> Timings {
        Timings {
            grace: "15s".into(),
            ci_timeout: "40s".into(),
            fast_interval: "2s".into(),
            idle_interval: "10s".into(),
            timeout: "5s".into(),
            confirm: 2,
        }
    }

    /// A pace for tests that run a watcher for a few seconds.
    pub fn fast_test() -> Timings {
        Timings {
            grace: "1s".into(),
            ci_timeout: "3s".into(),
            fast_interval: "200ms".into(),
            idle_interval: "1s".into(),
            timeout: "1s".into(),
            confirm: 2,
        }
    }
}

/// One `[[project]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectToml {
    /// A `#` comment written above the table (one line per `\n`).
    pub comment: Option<String>,
    pub name: String,
    pub repo: String,
    pub branch: String,
    pub workflows: Vec<String>,
    pub image: Option<String>,
    pub environments: Vec<EnvironmentToml>,
}

impl ProjectToml {
    /// A project watching `main` of `repo`, any workflow, no image.
    pub fn new(name: &str, repo: &str) -> ProjectToml {
        ProjectToml {
            name: name.into(),
            repo: repo.into(),
            branch: "main".into(),
            ..ProjectToml::default()
        }
    }
}

/// One `[[project.environment]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentToml {
    /// A `#` comment written above the table (one line per `\n`).
    pub comment: Option<String>,
    pub name: String,
    pub build_info_url: String,
    pub frontend_url: Option<String>,
    pub health_url: Option<String>,
    pub sha_pointer: Option<String>,
    pub sha_header: Option<String>,
    pub expect_environment: Option<String>,
    pub replicas: Option<u32>,
    /// `"branch"` or `"deployments"`; `None` leaves the default (`branch`).
    pub follows: Option<String>,
    /// Per-environment overrides written as `key = value` (values already TOML, e.g.
    /// `("grace", "\"1s\"")`).
    pub overrides: Vec<(String, String)>,
}

impl EnvironmentToml {
    /// Environment `name` with `env`'s build-info and health URLs (for its current format).
    pub fn new(name: &str, env: &SimEnv) -> EnvironmentToml {
        EnvironmentToml {
            name: name.into(),
            build_info_url: env.build_info_url(),
            health_url: Some(env.health_url()),
            ..EnvironmentToml::default()
        }
    }

    /// Also checks `env`'s frontend page.
    pub fn with_frontend(mut self, env: &SimEnv) -> EnvironmentToml {
        self.frontend_url = Some(env.frontend_url());
        self
    }
}

/// A TOML string literal for `text`, correctly escaped.
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A whole configuration file.
pub fn render_config(
    api_url: &str,
    timings: &Timings,
    desktop: bool,
    projects: &[ProjectToml],
) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(out, "[github]\napi_url = {}\n", toml_string(api_url));
    let _ = writeln!(
        out,
        "[defaults]\ngrace = {}\nci_timeout = {}\nfast_interval = {}\nidle_interval = {}\ntimeout = {}\nconfirm = {}\n",
        toml_string(&timings.grace),
        toml_string(&timings.ci_timeout),
        toml_string(&timings.fast_interval),
        toml_string(&timings.idle_interval),
        toml_string(&timings.timeout),
        timings.confirm
    );
    let _ = writeln!(out, "[notifications]\ndesktop = {desktop}\n");
    for p in projects {
        comment(&mut out, p.comment.as_deref());
        let _ = writeln!(out, "[[project]]");
        let _ = writeln!(out, "name = {}", toml_string(&p.name));
        let _ = writeln!(out, "repo = {}", toml_string(&p.repo));
        let _ = writeln!(out, "branch = {}", toml_string(&p.branch));
        if !p.workflows.is_empty() {
            let list: Vec<String> = p.workflows.iter().map(|w| toml_string(w)).collect();
            let _ = writeln!(out, "workflows = [{}]", list.join(", "));
        }
        if let Some(image) = &p.image {
            let _ = writeln!(out, "image = {}", toml_string(image));
        }
        out.push('\n');
        for e in &p.environments {
            comment(&mut out, e.comment.as_deref());
            let _ = writeln!(out, "[[project.environment]]");
            let _ = writeln!(out, "name = {}", toml_string(&e.name));
            let _ = writeln!(out, "build_info_url = {}", toml_string(&e.build_info_url));
            let optional = [
                ("frontend_url", &e.frontend_url),
                ("health_url", &e.health_url),
                ("sha_pointer", &e.sha_pointer),
                ("sha_header", &e.sha_header),
                ("expect_environment", &e.expect_environment),
                ("follows", &e.follows),
            ];
            for (key, value) in optional {
                if let Some(v) = value {
                    let _ = writeln!(out, "{key} = {}", toml_string(v));
                }
            }
            if let Some(n) = e.replicas {
                let _ = writeln!(out, "replicas = {n}");
            }
            for (key, value) in &e.overrides {
                let _ = writeln!(out, "{key} = {value}");
            }
            out.push('\n');
        }
    }
    out
}

fn comment(out: &mut String, text: Option<&str>) {
    for line in text.into_iter().flat_map(str::lines) {
        let _ = writeln!(out, "# {line}");
    }
}
