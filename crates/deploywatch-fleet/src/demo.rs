//! The demo fleet: nine projects on a fake GitHub, their environments and a registry, and a
//! scripted timeline in which every verdict of SPEC §3 shows up within about a minute and
//! several of them resolve again.
//!
//! The timeline (in demo seconds, divided by `speed`):
//!
//! | t     | what happens                                                                  |
//! |-------|-------------------------------------------------------------------------------|
//! | 0     | all environments live on the previous push, CI green, images in the registry  |
//! | 4–8   | a new commit is pushed to every project; CI runs are queued (none for search) |
//! | 10    | CI runs start                                                                 |
//! | 20    | CI finishes: green everywhere but billing; images pushed except worker's      |
//! | 23    | deploys: see [`Scenario`] for each environment                                |
//! | 60–84 | shop/production, api/staging, web, auth and landing recover one by one        |
//! | 90    | a fix is pushed to billing; CI green at 102, deployed at 105                  |
//! | 150…  | every 45 s, a routine push to shop rolls out to staging and production        |

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deploywatch_fakehub::FakeHub;

use crate::config::{EnvironmentToml, ProjectToml, Timings, render_config};
use crate::env::{Format, SimEnv};
use crate::registry::SimRegistry;
use crate::sha::fake_sha;

/// The SHA of revision `n` of `repo` in the demo (1 = the commit live at the start, 2 = the
/// commit pushed by the script, 3 = billing's fix, 3+ = shop's routine pushes).
pub fn demo_sha(repo: &str, n: u32) -> String {
    fake_sha(&format!("{repo}#{n}"))
}

/// What one demo environment demonstrates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub project: &'static str,
    pub environment: &'static str,
    /// The verdict the environment shows once the deploys of the timeline have landed
    /// (`"live"` for the control group).
    pub shows: &'static str,
    /// The verdict at the end of the script.
    pub ends: &'static str,
    /// What happens to it, in words for the person watching.
    pub story: &'static str,
}

/// What CI does with a project's new commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ci {
    Passes,
    Fails,
    /// No run ever starts (a `paths` filter skipped it).
    Never,
}

/// What happens to an environment at deploy time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Story {
    /// Deploys promptly and stays live.
    Healthy,
    /// Two of three replicas get the new build; the third only later.
    HalfRollout,
    /// GitHub reports the deployment successful; the old container keeps serving.
    PhantomDeployment,
    /// The proxy loses its upstream (502) during the deploy; back later.
    ProxyDown,
    /// The backend is new; the frontend volume still has the old page whose script is gone.
    StaleFrontend,
    /// Nothing to deploy: CI failed, then a fix lands.
    CiFailed,
    /// Nothing to deploy: CI never ran.
    CiMissing,
    /// Nothing to deploy: CI passed but the image push failed.
    ImageMissing,
    /// Deploys, but a staging `.env` was copied onto production; fixed later.
    EnvFileOverwritten,
    /// Deploys, but its image never had `GIT_SHA` baked in.
    NoFingerprint,
    /// Deploys, but a cache in front keeps serving the old build-info; purged later.
    StaleCache,
}

struct EnvDef {
    name: &'static str,
    story: Story,
    frontend: bool,
    replicas: u32,
    expect_environment: bool,
    follows_deployments: bool,
}

struct ProjectDef {
    name: &'static str,
    workflow: &'static str,
    image: bool,
    ci: Ci,
    format: Format,
    /// (author, message) of revision 1 and revision 2.
    commits: [(&'static str, &'static str); 2],
    envs: Vec<EnvDef>,
}

impl ProjectDef {
    fn repo(&self) -> String {
        format!("acme/{}", self.name)
    }
}

fn env(name: &'static str, story: Story) -> EnvDef {
    EnvDef {
        name,
        story,
        frontend: false,
        replicas: 1,
        expect_environment: false,
        follows_deployments: false,
    }
}

fn project_defs() -> Vec<ProjectDef> {
    let p = |name, workflow, image, ci, format, commits, envs| ProjectDef {
        name,
        workflow,
        image,
        ci,
        format,
        commits,
        envs,
    };
    vec![
        p(
            "shop",
            "CI",
            true,
            Ci::Passes,
            Format::GitSha,
            [
                (
                    "Maya Chen",
                    "Add gift-card balance to the checkout summary (#482)",
                ),
                ("Jonas Weber", "Fix rounding of cart totals in EUR (#487)"),
            ],
            vec![
                EnvDef {
                    frontend: true,
                    replicas: 3,
                    expect_environment: true,
                    ..env("production", Story::HalfRollout)
                },
                EnvDef {
                    frontend: true,
                    expect_environment: true,
                    ..env("staging", Story::Healthy)
                },
            ],
        ),
        p(
            "api",
            "build-and-push",
            true,
            Ci::Passes,
            Format::Dockerflow,
            [
                (
                    "Priya Raman",
                    "Paginate /v1/orders with cursor tokens (#1093)",
                ),
                (
                    "Tomás Herrera",
                    "Bump tokio to 1.47 and axum to 0.8 (#1101)",
                ),
            ],
            vec![
                EnvDef {
                    follows_deployments: true,
                    ..env("production", Story::PhantomDeployment)
                },
                env("staging", Story::ProxyDown),
            ],
        ),
        p(
            "web",
            "CI",
            false,
            Ci::Passes,
            Format::JsonField {
                sha: "/sha",
                date: Some("/built_at"),
            },
            [
                ("Lena Fischer", "Redesign product cards (#233)"),
                (
                    "Ahmed Khalil",
                    "Lazy-load hero images below the fold (#241)",
                ),
            ],
            vec![EnvDef {
                frontend: true,
                ..env("production", Story::StaleFrontend)
            }],
        ),
        p(
            "billing",
            "test",
            false,
            Ci::Fails,
            Format::SpringActuator { full: true },
            [
                ("Sofia Rossi", "Apply VAT by billing country (#318)"),
                (
                    "Daniel Kim",
                    "Render invoice PDFs with the new template engine (#322)",
                ),
            ],
            vec![env("production", Story::CiFailed)],
        ),
        p(
            "search",
            "CI",
            false,
            Ci::Never,
            Format::VersionSuffix,
            [
                ("Oliver Smith", "Tune BM25 weights for product titles (#77)"),
                (
                    "Hana Suzuki",
                    "Add size synonyms to config/synonyms.txt (#81)",
                ),
            ],
            vec![env("production", Story::CiMissing)],
        ),
        p(
            "worker",
            "release",
            true,
            Ci::Passes,
            Format::Header,
            [
                (
                    "Marcus Johnson",
                    "Retry webhook deliveries with jitter (#140)",
                ),
                ("Aisha Bello", "Process refunds in batches of 100 (#146)"),
            ],
            vec![env("production", Story::ImageMissing)],
        ),
        p(
            "auth",
            "CI",
            false,
            Ci::Passes,
            Format::VersionBuildMetadata,
            [
                ("Elena Petrova", "Rotate session keys every 24 h (#59)"),
                ("Lucas Martin", "Add WebAuthn sign-in (#64)"),
            ],
            vec![EnvDef {
                expect_environment: true,
                ..env("production", Story::EnvFileOverwritten)
            }],
        ),
        p(
            "docs",
            "deploy",
            false,
            Ci::Passes,
            Format::Unknown,
            [
                ("Chris Taylor", "Document the refunds API (#12)"),
                ("Chris Taylor", "Fix broken links in the quickstart (#15)"),
            ],
            vec![env("production", Story::NoFingerprint)],
        ),
        p(
            "landing",
            "CI",
            false,
            Ci::Passes,
            Format::HtmlMeta,
            [
                ("Nina Larsen", "New pricing page copy (#28)"),
                ("Nina Larsen", "Black Friday banner (#31)"),
            ],
            vec![env("production", Story::StaleCache)],
        ),
    ]
}

impl Story {
    fn scenario(self, project: &'static str, environment: &'static str) -> Scenario {
        let (shows, ends, story) = match self {
            Story::Healthy => ("live", "live", "deploys promptly: the control group"),
            Story::HalfRollout => (
                "mixed",
                "live",
                "the rollout stops with 2 of 3 replicas on the new build; the third follows later",
            ),
            Story::PhantomDeployment => (
                "phantom",
                "phantom",
                "GitHub reports the deployment successful, but the old container keeps serving",
            ),
            Story::ProxyDown => (
                "down",
                "live",
                "the proxy answers 502 during the deploy; the new build comes up later",
            ),
            Story::StaleFrontend => (
                "stale_frontend",
                "live",
                "the backend is new but the page is the old one and its script is gone (404); \
                 the frontend is redeployed later",
            ),
            Story::CiFailed => (
                "ci_failed",
                "live",
                "CI fails for the new commit; a fix is pushed, passes and deploys",
            ),
            Story::CiMissing => (
                "ci_missing",
                "ci_missing",
                "no CI run ever starts for the new commit (a paths filter skipped it)",
            ),
            Story::ImageMissing => (
                "image_missing",
                "image_missing",
                "CI passes but the image never reaches the registry",
            ),
            Story::EnvFileOverwritten => (
                "env_mismatch",
                "live",
                "the new build reports environment \"staging\": a staging .env was copied onto \
                 production; fixed later",
            ),
            Story::NoFingerprint => (
                "unverifiable",
                "unverifiable",
                "the image was built without GIT_SHA: build-info says \"unknown\"",
            ),
            Story::StaleCache => (
                "phantom",
                "live",
                "deployed, but a cache in front keeps serving the old build-info until it is purged",
            ),
        };
        Scenario {
            project,
            environment,
            shows,
            ends,
            story,
        }
    }
}

struct DemoProject {
    def: ProjectDef,
    envs: Vec<SimEnv>,
}

/// The demo: a fake GitHub, a registry and the simulated environments of nine projects.
pub struct Fleet {
    pub hub: FakeHub,
    pub registry: SimRegistry,
    projects: Vec<DemoProject>,
    finished: AtomicBool,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("hub", &self.hub)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Sleeps until demo time `t` (seconds since the clock started, divided by the speed).
struct Clock {
    start: tokio::time::Instant,
    speed: f64,
}

impl Clock {
    fn new(speed: f64) -> Clock {
        Clock {
            start: tokio::time::Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    async fn at(&self, t: f64) {
        let offset = Duration::try_from_secs_f64(t / self.speed).unwrap_or(Duration::ZERO);
        tokio::time::sleep_until(self.start + offset).await;
    }
}

/// Messages of the routine pushes to shop after the script, in turn.
const ROUTINE: &[(&str, &str)] = &[
    (
        "Maya Chen",
        "Show the delivery estimate on product pages (#491)",
    ),
    ("Jonas Weber", "Cache category trees for 5 minutes (#494)"),
    (
        "Priya Raman",
        "Log slow checkout queries with their plan (#497)",
    ),
    (
        "Lena Fischer",
        "Fix focus ring on the quantity stepper (#499)",
    ),
];

impl Fleet {
    /// Starts the demo fleet: the fake GitHub, the registry and every environment, all live on
    /// the previous push with green CI (see the module documentation for what follows).
    ///
    /// # Errors
    /// When a loopback server cannot be started.
    pub async fn start_demo() -> io::Result<Fleet> {
        let hub = FakeHub::start().await?;
        let registry = SimRegistry::start().await?;
        let mut projects = Vec::new();
        for def in project_defs() {
            let repo = def.repo();
            let old = demo_sha(&repo, 1);
            // The live commit was pushed a while ago: the history does not start at zero.
            let pushed = Utc::now() - TimeDelta::hours(3);
            let (author, message) = def.commits[0];
            hub.push_at(&repo, "main", &old, author, message, pushed);
            let run = hub.add_run_at(
                &repo,
                &old,
                def.workflow,
                "queued",
                None,
                pushed + TimeDelta::seconds(4),
            );
            hub.update_run_at(
                &repo,
                run,
                "completed",
                Some("success"),
                pushed + TimeDelta::minutes(4),
            );
            if def.image {
                registry.push_tag(&repo, &old);
            }
            let mut envs = Vec::new();
            for e in &def.envs {
                let sim = SimEnv::start(e.name).await?;
                sim.set_service(def.name);
                sim.set_format(def.format.clone());
                sim.set_live(&old);
                if e.follows_deployments {
                    let id = hub.add_deployment(&repo, &old, e.name);
                    hub.add_deployment_status(&repo, id, "success");
                }
                envs.push(sim);
            }
            projects.push(DemoProject { def, envs });
        }
        Ok(Fleet {
            hub,
            registry,
            projects,
            finished: AtomicBool::new(false),
        })
    }

    /// The simulated environment `environment` of `project`.
    ///
    /// # Panics
    /// When the demo has no such environment (see [`Fleet::scenarios`] for the names).
    pub fn env(&self, project: &str, environment: &str) -> &SimEnv {
        match self.get_env(project, environment) {
            Some(e) => e,
            None => panic!("the demo fleet has no environment {project}/{environment}"),
        }
    }

    /// The simulated environment `environment` of `project`, if the demo has it.
    pub fn get_env(&self, project: &str, environment: &str) -> Option<&SimEnv> {
        let p = self.projects.iter().find(|p| p.def.name == project)?;
        p.def
            .envs
            .iter()
            .zip(&p.envs)
            .find(|(d, _)| d.name == environment)
            .map(|(_, e)| e)
    }

    /// Every environment of the demo with what it demonstrates, in config order.
    pub fn scenarios(&self) -> Vec<Scenario> {
        self.projects
            .iter()
            .flat_map(|p| {
                p.def
                    .envs
                    .iter()
                    .map(|e| e.story.scenario(p.def.name, e.name))
            })
            .collect()
    }

    /// The `owner/name` GitHub repository of `project` (`acme/<project>`).
    pub fn repo(&self, project: &str) -> String {
        format!("acme/{project}")
    }

    /// Whether [`Fleet::run_script`] (or the script part of [`Fleet::run_demo`]) has reached
    /// its end state.
    pub fn script_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// The TOML configuration for this fleet (SPEC §5), with demo timings
    /// ([`Timings::demo`]) and a comment on each environment saying what it demonstrates.
    pub fn demo_config(&self) -> String {
        let projects: Vec<ProjectToml> = self
            .projects
            .iter()
            .map(|p| {
                let def = &p.def;
                let environments = def
                    .envs
                    .iter()
                    .zip(&p.envs)
                    .map(|(e, sim)| {
                        let scenario = e.story.scenario(def.name, e.name);
                        let mut t = EnvironmentToml::new(e.name, sim);
                        t.comment = Some(format!("{}: {}", scenario.shows, scenario.story));
                        if e.frontend {
                            t = t.with_frontend(sim);
                        }
                        if e.expect_environment {
                            t.expect_environment = Some(e.name.to_string());
                        }
                        if e.replicas > 1 {
                            t.replicas = Some(e.replicas);
                        }
                        if e.follows_deployments {
                            t.follows = Some("deployments".into());
                        }
                        t
                    })
                    .collect();
                ProjectToml {
                    workflows: vec![def.workflow.to_string()],
                    image: def
                        .image
                        .then(|| format!("{}/{}:{{sha}}", self.registry.host(), def.repo())),
                    environments,
                    ..ProjectToml::new(def.name, &def.repo())
                }
            })
            .collect();
        let header = "# Deploywatch demo fleet: every service below is simulated on this machine and \
                      GitHub is a fake one.\n# Timings are short so that everything happens within \
                      a minute.\n\n";
        format!(
            "{header}{}",
            render_config(&self.hub.api_url(), &Timings::demo(), true, &projects)
        )
    }

    /// Drives the timeline forever (until the future is dropped): the script
    /// ([`Fleet::run_script`]), then a routine push to shop every 45 demo seconds that rolls
    /// out cleanly. Times are divided by `speed` (1.0 = demo pace; not a positive number =
    /// 1.0).
    pub async fn run_demo(&self, speed: f64) {
        self.run_script(speed).await;
        let mut n = 3;
        loop {
            self.routine_push(speed, n).await;
            n += 1;
        }
    }

    /// Runs the scripted timeline once and returns in its end state (see [`Scenario::ends`]).
    /// Meant to run once per fleet.
    pub async fn run_script(&self, speed: f64) {
        let clock = Clock::new(speed);
        let mut runs: HashMap<&str, u64> = HashMap::new();

        // Pushes, with CI queued right away (GitHub queues runs within seconds of a push).
        for (i, p) in self.projects.iter().enumerate() {
            clock.at(4.0 + 0.5 * i as f64).await;
            let repo = p.def.repo();
            let sha = demo_sha(&repo, 2);
            let (author, message) = p.def.commits[1];
            self.hub.push(&repo, "main", &sha, author, message);
            if p.def.ci != Ci::Never {
                let id = self
                    .hub
                    .add_run(&repo, &sha, p.def.workflow, "queued", None);
                runs.insert(p.def.name, id);
            }
        }

        clock.at(10.0).await;
        for p in &self.projects {
            if let Some(&id) = runs.get(p.def.name) {
                self.hub.update_run(&p.def.repo(), id, "in_progress", None);
            }
        }

        clock.at(20.0).await;
        for p in &self.projects {
            let repo = p.def.repo();
            let Some(&id) = runs.get(p.def.name) else {
                continue;
            };
            let conclusion = if p.def.ci == Ci::Fails {
                "failure"
            } else {
                "success"
            };
            self.hub
                .update_run(&repo, id, "completed", Some(conclusion));
            let image_lost = p.def.envs.iter().any(|e| e.story == Story::ImageMissing);
            if p.def.image && p.def.ci == Ci::Passes && !image_lost {
                self.registry.push_tag(&repo, &demo_sha(&repo, 2));
            }
        }

        clock.at(23.0).await;
        for p in &self.projects {
            let repo = p.def.repo();
            let old = demo_sha(&repo, 1);
            let new = demo_sha(&repo, 2);
            for (e, sim) in p.def.envs.iter().zip(&p.envs) {
                match e.story {
                    Story::Healthy | Story::NoFingerprint => sim.set_live(&new),
                    Story::HalfRollout => sim.set_replicas(&[&new, &new, &old]),
                    Story::PhantomDeployment => {
                        let id = self.hub.add_deployment(&repo, &new, e.name);
                        self.hub.add_deployment_status(&repo, id, "in_progress");
                        self.hub.add_deployment_status(&repo, id, "success");
                    }
                    Story::ProxyDown => sim.set_down(Some(502)),
                    Story::StaleFrontend => {
                        sim.set_live(&new);
                        sim.set_frontend(&old, true, false);
                    }
                    Story::EnvFileOverwritten => {
                        sim.set_live(&new);
                        sim.set_environment_field(Some("staging"));
                    }
                    Story::StaleCache => {
                        sim.set_live(&new);
                        sim.set_cache(Some(&old));
                    }
                    Story::CiFailed | Story::CiMissing | Story::ImageMissing => {}
                }
            }
        }

        // Recoveries, one by one, so each resolve is its own event.
        let recover = [
            (60.0, Story::HalfRollout),
            (66.0, Story::ProxyDown),
            (72.0, Story::StaleFrontend),
            (78.0, Story::EnvFileOverwritten),
            (84.0, Story::StaleCache),
        ];
        for (t, story) in recover {
            clock.at(t).await;
            for (p, e, sim) in self.with_story(story) {
                let new = demo_sha(&p.repo(), 2);
                match story {
                    Story::HalfRollout => sim.set_live(&new),
                    Story::ProxyDown => {
                        sim.set_live(&new);
                        sim.set_down(None);
                    }
                    Story::StaleFrontend => sim.set_frontend_follows_live(),
                    Story::EnvFileOverwritten => sim.set_environment_field(Some(e.name)),
                    Story::StaleCache => sim.set_cache(None),
                    _ => {}
                }
            }
        }

        // Billing's fix: pushed, built, deployed.
        let fixes: Vec<_> = self.with_story(Story::CiFailed).collect();
        clock.at(90.0).await;
        let mut fix_runs = Vec::new();
        for (p, _, _) in &fixes {
            let repo = p.repo();
            let sha = demo_sha(&repo, 3);
            let author = p.commits[1].0;
            self.hub.push(
                &repo,
                "main",
                &sha,
                author,
                "Fix invoice total test for JPY rounding (#323)",
            );
            fix_runs.push(self.hub.add_run(&repo, &sha, p.workflow, "queued", None));
        }
        clock.at(94.0).await;
        for ((p, _, _), id) in fixes.iter().zip(&fix_runs) {
            self.hub.update_run(&p.repo(), *id, "in_progress", None);
        }
        clock.at(102.0).await;
        for ((p, _, _), id) in fixes.iter().zip(&fix_runs) {
            let repo = p.repo();
            self.hub
                .update_run(&repo, *id, "completed", Some("success"));
            if p.image {
                self.registry.push_tag(&repo, &demo_sha(&repo, 3));
            }
        }
        clock.at(105.0).await;
        for (p, _, sim) in &fixes {
            sim.set_live(&demo_sha(&p.repo(), 3));
        }
        self.finished.store(true, Ordering::Release);
    }

    fn with_story(&self, story: Story) -> impl Iterator<Item = (&ProjectDef, &EnvDef, &SimEnv)> {
        self.projects.iter().flat_map(move |p| {
            p.def
                .envs
                .iter()
                .zip(&p.envs)
                .filter(move |(e, _)| e.story == story)
                .map(move |(e, sim)| (&p.def, e, sim))
        })
    }

    /// One routine change to shop: pushed, built, rolled out replica by replica within the
    /// grace period (so it shows `deploying`, then `live`).
    async fn routine_push(&self, speed: f64, n: u32) {
        let Some(shop) = self.projects.iter().find(|p| p.def.name == "shop") else {
            // Without shop there is nothing routine to do; idle instead of spinning.
            std::future::pending::<()>().await;
            return;
        };
        let clock = Clock::new(speed);
        let repo = shop.def.repo();
        let sha = demo_sha(&repo, n);
        let old = shop
            .envs
            .first()
            .and_then(|e| e.snapshot().replicas.first().cloned())
            .unwrap_or_else(|| demo_sha(&repo, n - 1));
        let (author, message) = ROUTINE[(n as usize) % ROUTINE.len()];
        clock.at(45.0).await;
        self.hub.push(&repo, "main", &sha, author, message);
        let id = self
            .hub
            .add_run(&repo, &sha, shop.def.workflow, "queued", None);
        clock.at(48.0).await;
        self.hub.update_run(&repo, id, "in_progress", None);
        clock.at(58.0).await;
        self.hub.update_run(&repo, id, "completed", Some("success"));
        self.registry.push_tag(&repo, &sha);
        let rollout: [&[&str]; 3] = [&[&sha, &old, &old], &[&sha, &sha, &old], &[&sha]];
        for (step, shas) in rollout.iter().enumerate() {
            clock.at(61.0 + 2.0 * step as f64).await;
            for (e, sim) in shop.def.envs.iter().zip(&shop.envs) {
                if e.replicas > 1 {
                    sim.set_replicas(shas);
                } else {
                    sim.set_live(&sha);
                }
            }
        }
    }
}
