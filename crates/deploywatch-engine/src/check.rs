//! One check of one environment: gather every observation (GitHub, probes, registry), decide,
//! and record what was seen in the store.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use deploywatch_config::{Config, Environment, Follows, Project};
use deploywatch_core::{
    BuildInfoProbe, Expected, ExpectedBasis, HttpOutcome, IncidentState, Observations, Policy,
    Report, Sha, Verdict, decide,
};
use deploywatch_github::GitHub;
use deploywatch_probe::{Locator, ProbeSettings, Prober, RegistryAuth, expand_image};
use deploywatch_store::{EnvState, LagStage, Store};

use crate::repo::{Head, RepoSnapshot};

/// Which environments a command acts on (`--project`, `--env`).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub project: Option<String>,
    pub environment: Option<String>,
}

impl Selection {
    pub fn includes(&self, project: &str, environment: &str) -> bool {
        self.project.as_deref().is_none_or(|p| p == project)
            && self.environment.as_deref().is_none_or(|e| e == environment)
    }
}

/// `--expect SHA`: the expected SHA comes from the command line instead of GitHub.
#[derive(Clone, Debug)]
pub struct CliExpect {
    pub sha: Sha,
    /// `--wait` has run out (or was not given): a mismatch is now `phantom`.
    pub deadline_passed: bool,
}

/// How the engine talks to the outside world.
pub struct EngineOptions {
    pub config: Config,
    pub github: GitHub,
    /// Absent when the database cannot be opened and the command can do without it
    /// (`verify` in a pipeline with a read-only home directory).
    pub store: Option<Store>,
}

/// The engine: configuration plus the handles every check needs. Cheap to share (`Arc`).
pub struct Engine {
    pub config: Config,
    pub github: GitHub,
    store: Option<StoreSlot>,
    /// One set of HTTP clients (pooled, fresh-connection, per-address) for every environment;
    /// each check applies its environment's settings per request ([`Engine::prober`]).
    prober: Prober,
    /// At most this many checks at once, and this many per host (`[limits]`).
    pub(crate) limits: crate::limit::Limits,
    /// Where the image check finds registry credentials (never printed: secrets are masked).
    registry: RegistryAuth,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Arc<Engine> {
        let prober = Prober::new(ProbeSettings::default());
        let limits = crate::limit::Limits::from_config(&opts.config.limits);
        let store = opts.store.map(|s| Arc::new(Mutex::new(Some(s))));
        let registry = crate::registry::registry_auth(&opts.github);
        // ETags live in the database too, so a restarted watcher's first polls are 304s.
        let github = match &store {
            Some(s) => opts.github.with_etag_cache(Arc::new(StoreEtags(s.clone()))),
            None => opts.github,
        };
        Arc::new(Engine {
            config: opts.config,
            github,
            store,
            prober,
            limits,
            registry,
        })
    }

    /// Runs `f` on the store, if there is one. A poisoned lock (a panic while writing) is
    /// recovered: SQLite's transaction rolled back, so the connection is consistent. While
    /// the store is lent out ([`Engine::lend_store`]) there is none: `f` is not run, and a
    /// warning says so.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> Option<T> {
        let slot = self.store.as_ref()?;
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(store) => Some(f(store)),
            None => {
                tracing::warn!(
                    "the store is busy recording a round of checks; a read or write skipped"
                );
                None
            }
        }
    }

    /// The store itself, for a thread of its own to write a round in one transaction (see
    /// `verify`) without holding a lock that a check could wait on forever: until the loan is
    /// dropped (also on a panic) the engine has no store, as if it had been opened without
    /// one.
    pub(crate) fn lend_store(&self) -> Option<StoreLoan> {
        let slot = self.store.as_ref()?;
        let store = slot.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(StoreLoan {
            slot: Arc::clone(slot),
            store: Some(store),
        })
    }

    /// Every (project, environment) pair the selection names, in config order.
    pub fn selected<'a>(&'a self, sel: &Selection) -> Vec<(&'a Project, &'a Environment)> {
        self.config
            .projects
            .iter()
            .flat_map(|p| p.environments.iter().map(move |e| (p, e)))
            .filter(|(p, e)| sel.includes(&p.name, &e.name))
            .collect()
    }

    /// One check of one environment. `snapshot` is the project's latest repository poll (not
    /// needed with `--expect` or `follows = "deployments"`).
    pub async fn check(
        &self,
        project: &Project,
        env: &Environment,
        snapshot: Option<&RepoSnapshot>,
        cli: Option<&CliExpect>,
    ) -> Report {
        self.check_reach(project, env, snapshot, cli).await.0
    }

    /// [`Engine::check`], and whether the environment's host answered at all: the watcher
    /// tells its own network failing from the fleet's by it (`crate::calm`).
    pub(crate) async fn check_reach(
        &self,
        project: &Project,
        env: &Environment,
        snapshot: Option<&RepoSnapshot>,
        cli: Option<&CliExpect>,
    ) -> (Report, Reach) {
        let now = Utc::now();
        let mut notes = Vec::new();
        let mut ci_runs = Vec::new();
        let expected = match (cli, &env.follows) {
            (Some(c), _) => Expected::Known {
                sha: c.sha.clone(),
                basis: ExpectedBasis::Cli {
                    deadline_passed: c.deadline_passed,
                },
            },
            (None, Follows::Deployments) => {
                self.note_auth(&mut notes);
                // The watcher's repository poll reads it within GitHub's budget; `verify`
                // asks here.
                let read = match snapshot.and_then(|s| s.deployment(&env.name)) {
                    Some(read) => {
                        if let Some(reason) = &read.transient
                            && read.found.is_ok()
                        {
                            let ago = deploywatch_core::human_duration(
                                (now - read.read_at).to_std().unwrap_or_default(),
                            );
                            notes.push(format!(
                                "{reason}; the expected SHA is the latest successful deployment \
                                 to {} as of {ago} ago (read at {} UTC)",
                                env.name,
                                read.read_at.format("%Y-%m-%d %H:%M:%S")
                            ));
                        }
                        read.found.clone().map_err(DeploymentError::Said)
                    }
                    None => self
                        .github
                        .latest_successful_deployment(&repo_ref(project), &env.name)
                        .await
                        .map_err(DeploymentError::GitHub),
                };
                match read {
                    Ok(Some(d)) => Expected::Known {
                        sha: d.sha,
                        basis: ExpectedBasis::Deployment {
                            success_at: d.success_at,
                        },
                    },
                    Ok(None) => Expected::Unknown {
                        reason: format!(
                            "GitHub has no successful deployment for environment {:?} of {}",
                            env.name,
                            repo_ref(project)
                        ),
                    },
                    Err(e) => Expected::Unknown {
                        reason: e.to_string(),
                    },
                }
            }
            (None, Follows::Branch) => {
                self.note_auth(&mut notes);
                match snapshot.map(|s| (&s.head, s)) {
                    Some((Ok(head), s)) => {
                        ci_runs = s.runs.clone();
                        if let Some(err) = &s.runs_error {
                            notes.push(format!("CI runs could not be read: {err}"));
                        }
                        if let Some(note) = s.age_note(&project.branch, now) {
                            notes.push(note);
                        }
                        Expected::Known {
                            sha: head.sha.clone(),
                            basis: ExpectedBasis::Branch {
                                first_seen: head.first_seen,
                                previous: head.previous.clone(),
                            },
                        }
                    }
                    Some((Err(reason), _)) => Expected::Unknown {
                        reason: reason.clone(),
                    },
                    None => Expected::Unknown {
                        reason: "the repository was not polled".into(),
                    },
                }
            }
        };

        let prober = self.prober(env);
        let locator = Locator {
            sha_pointer: env.sha_pointer.clone(),
            sha_header: env.sha_header.clone(),
            known_commits: self.known_commits(&expected, snapshot),
        };
        let (build_info, health, frontend) = tokio::join!(
            async {
                // `each_address` probes every address of the host once; `replicas` then
                // does not apply (see the README's configuration section).
                if env.settings.each_address {
                    prober.each_address(&env.build_info_url, &locator).await
                } else if env.replicas > 1 {
                    prober
                        .replicas(&env.build_info_url, &locator, env.replicas)
                        .await
                } else {
                    vec![prober.build_info(&env.build_info_url, &locator).await]
                }
            },
            async {
                match &env.health_url {
                    Some(url) => Some(prober.health(url).await),
                    None => None,
                }
            },
            async {
                match &env.frontend_url {
                    Some(url) => Some(prober.frontend(url).await),
                    None => None,
                }
            },
        );

        let mut obs = Observations {
            project: project.name.clone(),
            environment: env.name.clone(),
            now,
            policy: Policy {
                grace: env.settings.grace,
                ci_timeout: env.settings.ci_timeout,
                expect_environment: env.expect_environment.clone(),
                replicas: env.replicas,
                branch: project.branch.clone(),
            },
            expected,
            build_info,
            health,
            frontend,
            cache_bust: None,
            ci_runs,
            ci_runs_live: Vec::new(),
            image: None,
            notes,
        };

        // An answer out of a cache may hide an origin that fails now (a stale copy served on
        // error): whatever SHA it shows, ask once more past the caches.
        let from_cache = obs.build_info.iter().any(|p| match &p.http.outcome {
            HttpOutcome::Answered(r) => {
                r.cache.hit_header.is_some() || r.cache.age.is_some_and(|a| a > 0)
            }
            HttpOutcome::Failed(_) => false,
        });
        // Evidence that only matters when the live SHA is not the expected one: is a cache
        // serving the old answer, and is the new image in the registry at all?
        let stale_sha = match (single_live(&obs.build_info), &obs.expected) {
            (Some(live), Expected::Known { sha: expected, .. }) => !live.matches(expected),
            _ => false,
        };
        if from_cache || stale_sha {
            obs.cache_bust = Some(prober.cache_bust(&env.build_info_url, &locator).await);
        }
        if let (Some(live), Expected::Known { sha: expected, .. }) =
            (single_live(&obs.build_info), &obs.expected)
            && !live.matches(expected)
        {
            // The registry is asked only when a missing image could be the verdict: CI passed
            // for the pushed SHA, or CI does not decide (deployments, --expect).
            let ci_decides = matches!(
                &obs.expected,
                Expected::Known {
                    basis: ExpectedBasis::Branch { .. },
                    ..
                }
            );
            let ci_passed = obs.ci_runs.iter().any(|r| r.is_success());
            if let Some(template) = &project.image
                && (ci_passed || !ci_decides)
            {
                obs.image = Some(
                    prober
                        .image(&expand_image(template, expected), &self.registry)
                        .await,
                );
            }
        }
        let reach = Reach::of(&obs);
        (decide(&obs), reach)
    }

    /// Stores a report: the check (if it changed, or as a bounded sample), the environment's
    /// current state, and the deploy-lag milestones it reveals.
    pub fn record(
        &self,
        report: &Report,
        changed: bool,
        incident: &IncidentState,
        next_check_at: Option<DateTime<Utc>>,
    ) {
        self.with_store(|s| record_into(s, report, changed, incident, next_check_at));
    }

    /// Records when a pushed SHA was first seen, for the deploy-lag figures of each
    /// environment that follows the branch.
    pub fn record_push_lag(&self, project: &Project, head: &Head) {
        self.with_store(|s| {
            for env in project
                .environments
                .iter()
                .filter(|e| e.follows == Follows::Branch)
            {
                let _ = s.mark_lag(
                    &project.name,
                    &env.name,
                    &head.sha,
                    LagStage::Pushed,
                    head.first_seen,
                );
            }
        });
    }

    /// The engine's prober with this environment's settings: the shared clients, the
    /// environment's own timeout applied to each of its requests.
    fn prober(&self, env: &Environment) -> Prober {
        self.prober.with_settings(ProbeSettings {
            timeout: env.settings.timeout,
            ..ProbeSettings::default()
        })
    }

    /// Commits of the project's repository this engine knows: the expected SHA, the previous
    /// head, the heads of the CI runs read and the recent heads the repository poll read from
    /// the store. Fingerprint detection uses them to break ties and to lift a value nobody
    /// named; they never outrank a field that names the build's commit.
    fn known_commits(&self, expected: &Expected, snapshot: Option<&RepoSnapshot>) -> Vec<Sha> {
        let mut known: Vec<Sha> = Vec::new();
        let mut add = |sha: &Sha| {
            if !known.iter().any(|k| k.matches(sha)) {
                known.push(sha.clone());
            }
        };
        if let Expected::Known { sha, basis } = expected {
            add(sha);
            if let ExpectedBasis::Branch {
                previous: Some(prev),
                ..
            } = basis
            {
                add(prev);
            }
        }
        if let Some(snap) = snapshot {
            snap.runs.iter().for_each(|r| add(&r.head_sha));
        }
        if let Some(snap) = snapshot {
            snap.recent_heads.iter().for_each(&mut add);
        }
        known
    }

    fn note_auth(&self, notes: &mut Vec<String>) {
        if !self.github.is_authenticated() {
            notes.push(format!(
                "{NO_TOKEN_WARNING} (60 requests per hour, public repositories only): \
                 run `deploywatch auth login` or set GITHUB_TOKEN"
            ));
        }
    }
}

/// How the warning about reading GitHub without a token starts. Reports keep it in the
/// database; the desktop app recognises it by this prefix to word its advice for the window.
pub const NO_TOKEN_WARNING: &str = "GitHub is read without a token";

/// Where the engine keeps its store: empty while lent out.
type StoreSlot = Arc<Mutex<Option<Store>>>;

/// The store, lent by [`Engine::lend_store`]; given back when dropped.
pub(crate) struct StoreLoan {
    slot: StoreSlot,
    store: Option<Store>,
}

impl std::ops::Deref for StoreLoan {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for StoreLoan {
    fn deref_mut(&mut self) -> &mut Store {
        self.store.as_mut().expect("held until dropped")
    }
}

impl Drop for StoreLoan {
    fn drop(&mut self) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        *slot = self.store.take();
    }
}

/// The GitHub client's ETag cache, kept in the store (a miss while the store is lent out).
struct StoreEtags(StoreSlot);

impl deploywatch_github::EtagCache for StoreEtags {
    fn get(&self, key: &str) -> Option<(String, Vec<u8>)> {
        let store = self.0.lock().unwrap_or_else(|p| p.into_inner());
        store.as_ref()?.etag_get(key).ok().flatten()
    }
    fn put(&self, key: &str, etag: &str, body: &[u8]) {
        let mut store = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = store.as_mut()
            && let Err(e) = store.etag_put(key, etag, body)
        {
            tracing::warn!("could not store an ETag: {e}");
        }
    }
}

/// [`Engine::record`] on a store the caller holds (e.g. inside a [`Store::batch`]).
pub(crate) fn record_into(
    s: &mut Store,
    report: &Report,
    changed: bool,
    incident: &IncidentState,
    next_check_at: Option<DateTime<Utc>>,
) {
    if let Err(e) = s.record_check(report, changed) {
        tracing::warn!(
            "could not record the check of {}/{}: {e}",
            report.project,
            report.environment
        );
    }
    let state = EnvState {
        project: report.project.clone(),
        environment: report.environment.clone(),
        report: report.clone(),
        next_check_at,
        incident: incident.clone(),
    };
    if let Err(e) = s.set_env_state(&state) {
        tracing::warn!(
            "could not record the state of {}/{}: {e}",
            report.project,
            report.environment
        );
    }
    if let Some(expected) = &report.expected_sha {
        let (p, e) = (&report.project, &report.environment);
        if let Some(ci) = &report.ci
            && ci.conclusion.as_deref() == Some("success")
        {
            let _ = s.mark_lag(
                p,
                e,
                expected,
                LagStage::CiGreen,
                ci.completed_at.unwrap_or(report.checked_at),
            );
        }
        let seen_live = report.seen.iter().any(|seen| seen.sha.matches(expected));
        if seen_live {
            let _ = s.mark_lag(p, e, expected, LagStage::FirstLive, report.checked_at);
        }
        if report.verdict == Verdict::Live || report.verdict == Verdict::StaleFrontend {
            let _ = s.mark_lag(p, e, expected, LagStage::AllReplicasLive, report.checked_at);
        }
    }
}

/// Why a deployment could not be read: in words from the repository poll, or GitHub's error.
enum DeploymentError {
    Said(String),
    GitHub(deploywatch_github::GitHubError),
}

impl std::fmt::Display for DeploymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeploymentError::Said(reason) => f.write_str(reason),
            DeploymentError::GitHub(e) => e.fmt(f),
        }
    }
}

/// Whether a check reached its environment over the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Something answered over HTTP (whatever the status or body): the network works.
    Answered,
    /// Nothing answered: every request failed to connect (refused, unreachable, no route, DNS)
    /// or timed out. The environment may be down — or the watcher's own network may be.
    Unreachable,
    /// A failure that proves a network path (a TLS error, too many redirects).
    Other,
}

impl Reach {
    fn of(obs: &Observations) -> Reach {
        use deploywatch_core::TransportFailure;
        let outcomes = obs
            .build_info
            .iter()
            .map(|p| &p.http.outcome)
            .chain(obs.health.iter().map(|h| &h.http.outcome))
            .chain(obs.frontend.iter().map(|f| &f.http.outcome))
            .chain(obs.cache_bust.iter().map(|c| &c.http.outcome));
        let mut reach = Reach::Unreachable;
        for outcome in outcomes {
            match outcome {
                HttpOutcome::Answered(_) => return Reach::Answered,
                HttpOutcome::Failed(
                    TransportFailure::Connect { .. } | TransportFailure::Timeout { .. },
                ) => {}
                HttpOutcome::Failed(_) => reach = Reach::Other,
            }
        }
        reach
    }
}

/// The one SHA every replica reports, if they agree and all had one.
fn single_live(probes: &[BuildInfoProbe]) -> Option<Sha> {
    let mut shas = probes
        .iter()
        .map(|p| p.fingerprint.as_ref().ok().map(|f| f.sha.clone()));
    let first = shas.next()??;
    shas.all(|s| s.is_some_and(|s| s.matches(&first)))
        .then_some(first)
}

pub(crate) fn repo_ref(project: &Project) -> deploywatch_github::RepoRef {
    deploywatch_github::RepoRef {
        owner: project.repo.owner.clone(),
        name: project.repo.name.clone(),
    }
}
