//! The app's state: where the config and database are, the engine and its watcher running in
//! the background, pause, the demo fleet and a pending sign-in. Every command is a method here;
//! `commands.rs` only delegates, so tests can drive the same code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deploywatch_config::Config;
use deploywatch_core::Verdict;
use deploywatch_engine::{
    Command, Condition, ConditionKind, Engine, EngineOptions, Notice, Notifier, OpenReportHook,
    WatchEvent, Watcher,
};
use deploywatch_fleet::Fleet;
use deploywatch_github::{DeviceCodes, GitHub, TokenSource};
use deploywatch_ipc::{
    Dashboard, DeviceCode, EnvRow, EnvironmentForm, HistoryPage, HistoryQuery, LagRow, OpenReport,
    Overall, ReportView, Settings, TestResult, WatcherCondition,
};
use deploywatch_store::{HistoryCursor, HistoryFilter, Store};
use tokio::sync::{Mutex, broadcast, mpsc};

use crate::convert;
use crate::error::AppError;
use crate::form;

/// How long "Pause for 1 h" pauses.
pub const PAUSE: Duration = Duration::from_secs(3600);

/// Something the window and the tray should show anew.
#[derive(Clone, Debug)]
pub enum Changed {
    /// A check finished, or pause/resume/restart changed what the dashboard shows.
    Dashboard,
    /// An incident was announced (or suppressed as a repeat).
    Incident(Notice),
}

/// Where things live. Tests point all three into a temporary directory.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The user's configuration file (`DEPLOYWATCH_CONFIG`, else the platform default).
    pub config: PathBuf,
    /// The history database (`DEPLOYWATCH_DB`, else the platform default).
    pub db: PathBuf,
    /// Where the demo fleet's own config and database go, apart from the user's.
    pub demo_dir: PathBuf,
}

impl Paths {
    /// The same defaults as the CLI: `DEPLOYWATCH_CONFIG` / `DEPLOYWATCH_DB`, else the
    /// platform config and data directories; the demo lives next to the database.
    ///
    /// # Errors
    /// [`AppError::Io`] when the system has no home directory to put them in.
    pub fn from_env() -> Result<Paths, AppError> {
        let config = deploywatch_config::config_path(None).ok_or_else(|| {
            AppError::Io("no configuration directory on this system: set DEPLOYWATCH_CONFIG".into())
        })?;
        let db = deploywatch_config::db_path(None).ok_or_else(|| {
            AppError::Io("no data directory on this system: set DEPLOYWATCH_DB".into())
        })?;
        let demo_dir = db
            .parent()
            .map(|p| p.join("demo"))
            .unwrap_or_else(|| PathBuf::from("demo"));
        Ok(Paths {
            config,
            db,
            demo_dir,
        })
    }
}

/// Turns start-at-login on or off and reads it back (the autostart plugin in the real app;
/// absent in tests, where it reads as off).
pub trait Autostart: Send + Sync {
    fn set(&self, on: bool) -> Result<(), String>;
    fn get(&self) -> bool;
}

/// The watched configuration and the watcher running over it.
#[derive(Default)]
struct Running {
    engine: Option<Arc<Engine>>,
    commands: Option<mpsc::Sender<Command>>,
    /// Why there is no engine although a config file exists (it is invalid).
    config_error: Option<String>,
    paused_until: Option<DateTime<Utc>>,
    demo: Option<Demo>,
    /// The user's config file as the running watcher read it (`None`: there was none), to
    /// notice edits made outside the app (an editor, the CLI).
    loaded: Option<Vec<u8>>,
    /// Why the file's latest outside edit was not applied (it is invalid); the watcher keeps
    /// running the previous configuration meanwhile.
    edit_error: Option<String>,
    /// The running watcher's conditions that hold now; a new one for each watcher, so a
    /// stopped watcher's last events cannot reach its successor's.
    conditions: Arc<StdMutex<ActiveConditions>>,
}

/// The conditions of one watcher that hold now, at most one per kind, most important first
/// (offline, then GitHub unreadable, then GitHub's quota short).
#[derive(Debug, Default)]
struct ActiveConditions(Vec<Condition>);

impl ActiveConditions {
    /// A condition began (`active`: it replaces one of its kind) or ended (it is removed).
    fn apply(&mut self, condition: Condition, active: bool) {
        self.0.retain(|c| c.kind != condition.kind);
        if active {
            self.0.push(condition);
            self.0.sort_by_key(|c| rank(c.kind));
        }
    }

    fn to_ipc(&self) -> Vec<WatcherCondition> {
        self.0.iter().map(convert::condition).collect()
    }
}

/// Which condition the dashboard says first: the one that explains the others.
fn rank(kind: ConditionKind) -> u8 {
    match kind {
        ConditionKind::Offline => 0,
        ConditionKind::GitHubUnavailable => 1,
        ConditionKind::GitHubBudget => 2,
    }
}

struct Demo {
    _fleet: Arc<Fleet>,
    script: tokio::task::JoinHandle<()>,
    config: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.script.abort();
    }
}

/// Everything the commands share. Managed by Tauri (`app.manage`).
pub struct AppState {
    paths: Paths,
    running: Mutex<Running>,
    changed: broadcast::Sender<Changed>,
    sign_in: Mutex<Option<DeviceCodes>>,
    autostart: StdMutex<Option<Box<dyn Autostart>>>,
    /// Desktop notifications may be turned off for the whole process (tests of the window
    /// that must not depend on a notification service); the config's choice applies otherwise.
    desktop_notifications: bool,
    /// What "Open report" on a desktop notification does (set by the desktop shell).
    open_report_hook: StdMutex<Option<OpenReportHook>>,
    /// The report a window that is still loading should open first (tray or notification
    /// asked for it while there was no window to tell).
    pending_report: StdMutex<Option<OpenReport>>,
}

impl AppState {
    pub fn new(paths: Paths) -> AppState {
        let (changed, _) = broadcast::channel(64);
        AppState {
            paths,
            running: Mutex::new(Running::default()),
            changed,
            sign_in: Mutex::new(None),
            autostart: StdMutex::new(None),
            desktop_notifications: std::env::var_os("DEPLOYWATCH_NO_NOTIFY").is_none(),
            open_report_hook: StdMutex::new(None),
            pending_report: StdMutex::new(None),
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Listen for what the window and tray should show anew.
    pub fn subscribe(&self) -> broadcast::Receiver<Changed> {
        self.changed.subscribe()
    }

    pub fn set_autostart(&self, hook: Box<dyn Autostart>) {
        *self.autostart.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Notifications started after this offer "Open report", which calls `hook`.
    pub fn set_open_report_hook(&self, hook: OpenReportHook) {
        *self
            .open_report_hook
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Remembers the report a window being created should show once its page has loaded.
    pub fn set_pending_report(&self, report: OpenReport) {
        *self
            .pending_report
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(report);
    }

    /// The report a newly loaded window should show, once: the page asks for it at start.
    pub fn take_pending_report(&self) -> Option<OpenReport> {
        self.pending_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn autostart_on(&self) -> bool {
        self.autostart
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|a| a.get())
    }

    fn notify(&self, what: Changed) {
        // No listener (no window, in tests) is fine.
        let _ = self.changed.send(what);
    }

    /// Loads the user's config, if there is one, and starts watching it. A missing file is
    /// the first run (the dashboard offers the demo); an invalid one is kept as an error the
    /// dashboard reports, and nothing is watched until it is fixed.
    pub async fn start(&self) {
        let mut run = self.running.lock().await;
        self.restart(&mut run, None).await;
    }

    /// Stops the watcher in `run` and starts one over `config_path` (the user's config when
    /// `None`). Must be called inside the Tokio runtime.
    async fn restart(&self, run: &mut Running, demo: Option<Demo>) {
        if let Some(tx) = run.commands.take() {
            let _ = tx.send(Command::Stop).await;
        }
        tracing::debug!("restart: stopped the old watcher");
        run.engine = None;
        run.config_error = None;
        run.edit_error = None;
        run.paused_until = None;
        run.conditions = Arc::default();
        run.demo = demo;
        let (config_path, db_path) = match &run.demo {
            Some(d) => (d.config.clone(), self.paths.demo_dir.join("deploywatch.db")),
            None => (self.paths.config.clone(), self.paths.db.clone()),
        };
        // Read before the engine reads it: an edit in between is seen by the next comparison.
        run.loaded = std::fs::read(&self.paths.config).ok();
        if !config_path.exists() {
            self.notify(Changed::Dashboard);
            return;
        }
        // Config, keyring (D-Bus) and SQLite are blocking calls: keep them off the async workers.
        let opened = tokio::task::spawn_blocking(move || open_engine(&config_path, &db_path))
            .await
            .unwrap_or_else(|e| Err(AppError::Io(format!("opening the engine failed: {e}"))));
        match opened {
            Ok(engine) => {
                let mut notifier = Notifier::new(
                    self.desktop_notifications
                        && engine.config.notifications.desktop
                        && run.demo.is_none(),
                    deploywatch_engine::Webhook::from_config(&engine.config.notifications),
                );
                let hook = self
                    .open_report_hook
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if let Some(hook) = hook {
                    notifier = notifier.with_open_report(hook);
                }
                let (watcher, tx, events) = Watcher::new(engine.clone(), notifier);
                let mut rx = events.subscribe();
                drop(events);
                let changed = self.changed.clone();
                let conditions = run.conditions.clone();
                tokio::spawn(async move {
                    loop {
                        match rx.recv().await {
                            Ok(WatchEvent::Incident { notice, .. }) => {
                                let _ = changed.send(Changed::Incident(notice));
                                let _ = changed.send(Changed::Dashboard);
                            }
                            Ok(WatchEvent::Condition { condition, active }) => {
                                conditions
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .apply(condition, active);
                                let _ = changed.send(Changed::Dashboard);
                            }
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                                let _ = changed.send(Changed::Dashboard);
                            }
                            Err(broadcast::error::RecvError::Closed) => break,
                        }
                    }
                });
                tokio::spawn(watcher.run());
                run.engine = Some(engine);
                run.commands = Some(tx);
            }
            Err(e) => run.config_error = Some(e.to_string()),
        }
        self.notify(Changed::Dashboard);
    }

    /// Restarts the watcher when the user's config file changed outside the app (an editor,
    /// `deploywatch` commands): created, edited or removed. An invalid edit leaves the running
    /// configuration in place and shows on the dashboard (file, line, key) until it is fixed;
    /// with nothing running, the error itself is what the dashboard shows. While the demo
    /// fleet runs, the user's file is not watched. Returns whether it restarted.
    pub async fn reload_if_changed(&self) -> bool {
        let mut run = self.running.lock().await;
        if run.demo.is_some() {
            return false;
        }
        let path = self.paths.config.clone();
        let now = tokio::task::spawn_blocking(move || std::fs::read(path).ok())
            .await
            .unwrap_or(None);
        if now == run.loaded {
            return false;
        }
        // Changed: parse it once here to decide between restarting and keeping what runs.
        let path = self.paths.config.clone();
        let parsed = match &now {
            Some(_) => tokio::task::spawn_blocking(move || deploywatch_config::load(&path))
                .await
                .ok(),
            None => None,
        };
        if let (Some(_), Some(Err(e))) = (&run.engine, parsed) {
            tracing::warn!("{e}: still watching the previous configuration");
            run.loaded = now;
            run.edit_error = Some(e.to_string());
            self.notify(Changed::Dashboard);
            return false;
        }
        tracing::info!("{} changed: reloading", self.paths.config.display());
        self.restart(&mut run, None).await;
        true
    }

    async fn engine(&self) -> Result<Arc<Engine>, AppError> {
        let run = self.running.lock().await;
        match (&run.engine, &run.config_error) {
            (Some(e), _) => Ok(e.clone()),
            (None, Some(err)) => Err(AppError::ConfigInvalid(err.clone())),
            (None, None) => Err(AppError::NotFound(
                "nothing is configured yet: add a project in Settings, or try the demo fleet"
                    .into(),
            )),
        }
    }

    async fn command(&self, cmd: Command) {
        let run = self.running.lock().await;
        if let Some(tx) = &run.commands {
            let _ = tx.send(cmd).await;
        }
    }

    /// Every environment with its latest verdict, and the worst state for the tray.
    ///
    /// # Errors
    /// [`AppError::ConfigInvalid`] when the config file exists but is invalid.
    pub async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let run = self.running.lock().await;
        let paused_until = run.paused_until.filter(|t| *t > Utc::now());
        let demo = run.demo.is_some();
        let config_error = run.edit_error.clone();
        let conditions = run
            .conditions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_ipc();
        let Some(engine) = run.engine.clone() else {
            if let Some(err) = &run.config_error {
                return Err(AppError::ConfigInvalid(err.clone()));
            }
            return Ok(Dashboard {
                overall: Overall::Idle,
                paused_until: paused_until.map(convert::time),
                empty: true,
                demo,
                environments: Vec::new(),
                config_error: None,
                conditions: Vec::new(),
            });
        };
        drop(run);
        let api = engine.config.github.api_url.clone();
        let mut rows: Vec<EnvRow> = Vec::new();
        for p in &engine.config.projects {
            for e in &p.environments {
                let (state, open) = engine
                    .with_store(|s| {
                        (
                            s.env_state(&p.name, &e.name).ok().flatten(),
                            s.open_incident_for(&p.name, &e.name)
                                .ok()
                                .flatten()
                                .is_some(),
                        )
                    })
                    .unwrap_or((None, false));
                rows.push(convert::env_row(&api, p, &e.name, state.as_ref(), open));
            }
        }
        Ok(Dashboard {
            overall: overall(&rows, paused_until.is_some()),
            paused_until: paused_until.map(convert::time),
            empty: engine.config.projects.is_empty(),
            demo,
            environments: rows,
            config_error,
            conditions,
        })
    }

    /// The latest report of one environment, with the commits waiting to go live.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown or never-checked environment.
    pub async fn report(&self, project: &str, environment: &str) -> Result<ReportView, AppError> {
        let engine = self.engine().await?;
        let p = engine
            .config
            .project(project)
            .ok_or_else(|| AppError::NotFound(format!("no project named {project:?}")))?;
        if p.environment(environment).is_none() {
            return Err(AppError::NotFound(format!(
                "project {project:?} has no environment {environment:?}"
            )));
        }
        let state = engine
            .with_store(|s| s.env_state(project, environment))
            .transpose()?
            .flatten()
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "{project} / {environment} has not been checked yet"
                ))
            })?;
        let report = state.report;
        let waiting = match (&report.live_sha, &report.expected_sha) {
            (Some(live), Some(expected)) if !live.matches(expected) => {
                let repo = deploywatch_github::RepoRef::new(&p.repo.owner, &p.repo.name);
                engine
                    .github
                    .compare(&repo, live, expected)
                    .await
                    .map_err(|e| format!("GitHub could not list the commits in between: {e}"))
            }
            _ => Ok(Vec::new()),
        };
        Ok(convert::report_view(
            &engine.config.github.api_url,
            p,
            &report,
            waiting,
        ))
    }

    /// The report as Markdown (the UI copies it to the clipboard).
    ///
    /// # Errors
    /// As [`AppState::report`].
    pub async fn report_markdown(
        &self,
        project: &str,
        environment: &str,
    ) -> Result<String, AppError> {
        Ok(convert::report_markdown(
            &self.report(project, environment).await?,
        ))
    }

    /// Checks every environment now (and ends a pause).
    pub async fn check_now(&self) {
        self.running.lock().await.paused_until = None;
        self.command(Command::CheckNow).await;
    }

    /// No checks for [`PAUSE`]; the dashboard and tray show it.
    pub async fn pause(&self) {
        self.running.lock().await.paused_until =
            Some(Utc::now() + chrono::Duration::from_std(PAUSE).unwrap_or_default());
        self.command(Command::Pause(PAUSE)).await;
        // The watcher announces it too, but without a watcher (nothing configured) nobody would.
        self.notify(Changed::Dashboard);
    }

    pub async fn resume(&self) {
        self.running.lock().await.paused_until = None;
        self.command(Command::Resume).await;
        self.notify(Changed::Dashboard);
    }

    /// One page of history, newest first.
    ///
    /// # Errors
    /// [`AppError::ConfigInvalid`] for a filter that does not parse (verdict, time, cursor).
    pub async fn history(&self, q: &HistoryQuery) -> Result<HistoryPage, AppError> {
        let engine = self.engine().await?;
        let bad = |what: &str, v: &str| AppError::ConfigInvalid(format!("{what}: {v:?}"));
        let parse_time =
            |what: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>, AppError> {
                v.as_deref()
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        DateTime::parse_from_rfc3339(s)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| bad(what, s))
                    })
                    .transpose()
            };
        let verdict = match q.verdict.as_deref().filter(|s| !s.is_empty()) {
            Some(v) => Some(Verdict::parse(v).ok_or_else(|| bad("unknown verdict", v))?),
            None => None,
        };
        let mut before: Option<HistoryCursor> = match q.before.as_deref() {
            Some(c) if !c.is_empty() => Some(c.parse().map_err(|_| bad("bad cursor", c))?),
            _ => None,
        };
        // `until` is inclusive: everything strictly before (until + 1 ms, id 0).
        if let Some(until) = parse_time("bad until time", &q.until)? {
            let cut = HistoryCursor {
                at: until + chrono::Duration::milliseconds(1),
                id: 0,
            };
            before = Some(match before {
                Some(b) if (b.at, b.id) < (cut.at, cut.id) => b,
                _ => cut,
            });
        }
        let limit = (q.limit.clamp(1, 1000)) as usize;
        let filter = HistoryFilter {
            project: q.project.clone().filter(|s| !s.is_empty()),
            environment: q.environment.clone().filter(|s| !s.is_empty()),
            include_project_events: true,
            since: parse_time("bad since time", &q.since)?,
            verdict,
            // One more than asked tells whether there is a next page.
            limit: limit + 1,
            before,
        };
        let mut events = engine
            .with_store(|s| s.history(&filter))
            .transpose()?
            .unwrap_or_default();
        let more = events.len() > limit;
        events.truncate(limit);
        Ok(HistoryPage {
            next: if more {
                events.last().map(|e| e.cursor().to_string())
            } else {
                None
            },
            events: events.iter().map(convert::history_row).collect(),
        })
    }

    /// Push → live timings of a project's deploys, newest first.
    ///
    /// # Errors
    /// As the store's.
    pub async fn deploy_lags(
        &self,
        project: &str,
        environment: Option<&str>,
    ) -> Result<Vec<LagRow>, AppError> {
        let engine = self.engine().await?;
        let lags = engine
            .with_store(|s| s.deploy_lags(Some(project), environment, 500))
            .transpose()?
            .unwrap_or_default();
        Ok(lags.iter().map(convert::lag_row).collect())
    }

    /// The settings form: the user's config (an empty form when there is none yet), whether
    /// and how GitHub is signed in (never the token), and start at login.
    ///
    /// # Errors
    /// [`AppError::ConfigInvalid`] when the file exists but is invalid.
    pub async fn settings(&self) -> Result<Settings, AppError> {
        let path = &self.paths.config;
        let mut form = if path.exists() {
            form::to_form(&deploywatch_config::load(path)?, path)
        } else {
            let empty = deploywatch_config::parse("", path)?;
            form::to_form(&empty, path)
        };
        let api = form.api_url.clone();
        let token = tokio::task::spawn_blocking(move || {
            deploywatch_github::token_from_env_or_keyring(&api).map(|(_, source)| source)
        })
        .await
        .ok()
        .flatten();
        form.signed_in = token.is_some();
        form.token_source = token.map(|s| {
            match s {
                TokenSource::Env => "env",
                TokenSource::Keyring => "keyring",
            }
            .to_string()
        });
        tracing::debug!("settings: token read");
        form.start_at_login = self.autostart_on();
        Ok(form)
    }

    /// Validates the form, writes the user's config atomically (an invalid one is refused and
    /// the old file kept), applies start at login, and restarts the watcher over the new
    /// config (leaving the demo, if it was running).
    ///
    /// # Errors
    /// [`AppError::ConfigInvalid`] naming the key; [`AppError::Io`] when the file cannot be
    /// written.
    pub async fn save_settings(&self, form: &Settings) -> Result<Settings, AppError> {
        let path = &self.paths.config;
        let previous = if path.exists() {
            deploywatch_config::load(path).ok()
        } else {
            None
        };
        let text = form::to_toml(form, previous.as_ref())?;
        deploywatch_config::write_atomic(path, &text)?;
        tracing::debug!("save_settings: written");
        if form.start_at_login != self.autostart_on() {
            let guard = self.autostart.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(a) = guard.as_ref() {
                a.set(form.start_at_login)
                    .map_err(|e| AppError::Io(format!("start at login: {e}")))?;
            }
        }
        {
            tracing::debug!("save_settings: autostart done");
            let mut run = self.running.lock().await;
            tracing::debug!("save_settings: locked");
            self.restart(&mut run, None).await;
            tracing::debug!("save_settings: restarted");
        }
        let out = self.settings().await;
        tracing::debug!("save_settings: answered ok={}", out.is_ok());
        out
    }

    /// Mutes or unmutes notifications about `project`'s `environment` (or the whole project)
    /// in the user's config file, edited in place so its comments stay, and restarts the
    /// watcher over it. Returns the dashboard after it.
    ///
    /// While the demo fleet runs, its own config file is edited (the demo's mute lasts as long
    /// as the demo).
    ///
    /// # Errors
    /// [`AppError::ConfigInvalid`] for an unknown name or a file that is invalid as it is (left
    /// as it was); [`AppError::Io`] when it cannot be written.
    pub async fn set_mute(
        &self,
        project: &str,
        environment: Option<&str>,
        mute: bool,
    ) -> Result<Dashboard, AppError> {
        let mut run = self.running.lock().await;
        let path = match &run.demo {
            // The demo fleet's file is the app's own, rewritten at each start: muting there
            // lasts while the demo runs.
            Some(demo) => demo.config.clone(),
            None => self.paths.config.clone(),
        };
        let (p, e) = (project.to_owned(), environment.map(str::to_owned));
        tokio::task::spawn_blocking(move || {
            deploywatch_config::set_mute(&path, &p, e.as_deref(), mute)
        })
        .await
        .map_err(|e| AppError::Io(format!("muting: {e}")))??;
        // The watcher starts over the edited file; a pause the person asked for stays.
        let paused = run.paused_until.filter(|t| *t > Utc::now());
        let demo = run.demo.take();
        self.restart(&mut run, demo).await;
        if let Some(until) = paused {
            run.paused_until = Some(until);
            if let (Some(tx), Ok(left)) = (&run.commands, (until - Utc::now()).to_std()) {
                let _ = tx.send(Command::Pause(left)).await;
            }
        }
        drop(run);
        self.dashboard().await
    }

    /// Probes a build-info URL as a check would and says what it found.
    pub async fn test_environment(&self, e: &EnvironmentForm) -> TestResult {
        let prober = deploywatch_probe::Prober::new(deploywatch_probe::ProbeSettings {
            timeout: Duration::from_secs(10),
            ..Default::default()
        });
        let locator = deploywatch_probe::Locator {
            sha_pointer: e.sha_pointer.clone().filter(|s| !s.trim().is_empty()),
            sha_header: e.sha_header.clone().filter(|s| !s.trim().is_empty()),
            ..deploywatch_probe::Locator::default()
        };
        let probe = prober.build_info(e.build_info_url.trim(), &locator).await;
        convert::probe_result(&probe)
    }

    fn client_id(&self, api_url: &str) -> Result<(String, String), AppError> {
        let config = if self.paths.config.exists() {
            Some(deploywatch_config::load(&self.paths.config)?)
        } else {
            None
        };
        let id = std::env::var("DEPLOYWATCH_GITHUB_CLIENT_ID")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| config.and_then(|c| c.github.client_id))
            .ok_or_else(|| {
                AppError::GitHub(
                    "sign-in with GitHub needs the client id of a GitHub OAuth app with device flow \
                     enabled (`client_id` under [github] in the config, or \
                     DEPLOYWATCH_GITHUB_CLIENT_ID); or paste a personal access token instead"
                        .into(),
                )
            })?;
        Ok((id, deploywatch_github::web_url_for(api_url)))
    }

    async fn api_url(&self) -> String {
        match &self.paths.config {
            p if p.exists() => deploywatch_config::load(p)
                .map(|c| c.github.api_url)
                .unwrap_or_else(|_| deploywatch_config::DEFAULT_API_URL.into()),
            _ => deploywatch_config::DEFAULT_API_URL.into(),
        }
    }

    /// Starts GitHub's device flow: the code to show and where to enter it.
    ///
    /// # Errors
    /// [`AppError::GitHub`] without a client id or when GitHub refuses.
    pub async fn sign_in_start(&self) -> Result<DeviceCode, AppError> {
        let api = self.api_url().await;
        let (client_id, web) = self.client_id(&api)?;
        let codes = deploywatch_github::device_start(&web, &client_id, "repo")
            .await
            .map_err(|e| AppError::GitHub(format!("cannot start the sign-in: {e}")))?;
        let shown = DeviceCode {
            user_code: codes.user_code.clone(),
            verification_uri: codes.verification_uri.clone(),
            expires_in: codes.expires_in,
        };
        *self.sign_in.lock().await = Some(codes);
        Ok(shown)
    }

    /// Waits until the person approves the code (honouring `interval` and `slow_down`),
    /// stores the token in the OS keyring and restarts the watcher with it.
    ///
    /// # Errors
    /// [`AppError::Busy`] without a started sign-in; [`AppError::GitHub`] when it expires or
    /// is denied; [`AppError::Keyring`] when the token cannot be stored.
    pub async fn sign_in_wait(&self) -> Result<Settings, AppError> {
        let codes = self
            .sign_in
            .lock()
            .await
            .take()
            .ok_or_else(|| AppError::Busy("no sign-in was started".into()))?;
        let api = self.api_url().await;
        let (client_id, web) = self.client_id(&api)?;
        let token = deploywatch_github::device_poll(&web, &client_id, &codes)
            .await
            .map_err(|e| AppError::GitHub(format!("sign-in failed: {e}")))?;
        deploywatch_github::store_token(&api, &token)
            .map_err(|e| AppError::Keyring(format!("cannot store the token: {e}")))?;
        self.reload().await;
        self.settings().await
    }

    /// Stores a pasted token in the OS keyring.
    ///
    /// # Errors
    /// [`AppError::GitHub`] for an empty token; [`AppError::Keyring`] when it cannot be stored.
    pub async fn sign_in_token(&self, token: &str) -> Result<Settings, AppError> {
        let token = deploywatch_github::Token::new(token.trim())
            .ok_or_else(|| AppError::GitHub("the token is empty".into()))?;
        let api = self.api_url().await;
        deploywatch_github::store_token(&api, &token)
            .map_err(|e| AppError::Keyring(format!("cannot store the token: {e}")))?;
        self.reload().await;
        self.settings().await
    }

    /// Removes the token from the OS keyring.
    ///
    /// # Errors
    /// [`AppError::Keyring`] when the keyring cannot be reached.
    pub async fn sign_out(&self) -> Result<Settings, AppError> {
        let api = self.api_url().await;
        deploywatch_github::delete_token(&api)
            .map_err(|e| AppError::Keyring(format!("cannot remove the token: {e}")))?;
        self.reload().await;
        self.settings().await
    }

    /// Restarts the watcher over what it watches now (a new token applies to new requests).
    async fn reload(&self) {
        let mut run = self.running.lock().await;
        let demo = run.demo.take();
        self.restart(&mut run, demo).await;
    }

    /// Starts the built-in demo fleet on loopback, writes its config to the demo directory
    /// (the user's config is not touched) and watches it.
    ///
    /// # Errors
    /// [`AppError::Demo`] when the fleet cannot start or its config cannot be written.
    pub async fn start_demo(&self) -> Result<Dashboard, AppError> {
        {
            let mut run = self.running.lock().await;
            if run.demo.is_none() {
                let fleet = Fleet::start_demo()
                    .await
                    .map_err(|e| AppError::Demo(format!("cannot start the demo fleet: {e}")))?;
                let config = self.paths.demo_dir.join("config.toml");
                deploywatch_config::write_atomic(&config, &fleet.demo_config())
                    .map_err(|e| AppError::Demo(format!("cannot write the demo config: {e}")))?;
                let fleet = Arc::new(fleet);
                let script = {
                    let fleet = fleet.clone();
                    tokio::spawn(async move { fleet.run_demo(1.0).await })
                };
                let demo = Demo {
                    _fleet: fleet,
                    script,
                    config,
                };
                self.restart(&mut run, Some(demo)).await;
            }
        }
        self.dashboard().await
    }

    /// Stops the watcher (on quit), so it finishes the round it is in.
    pub async fn stop(&self) {
        let mut run = self.running.lock().await;
        if let Some(tx) = run.commands.take() {
            let _ = tx.send(Command::Stop).await;
        }
        run.conditions = Arc::default();
        run.demo = None;
    }
}

/// The GitHub client for a config, with the token from GITHUB_TOKEN or the OS keyring.
fn github_for(config: &Config) -> Result<GitHub, AppError> {
    let token =
        deploywatch_github::token_from_env_or_keyring(&config.github.api_url).map(|(t, _)| t);
    GitHub::new(&config.github.api_url, token).map_err(|e| {
        AppError::ConfigInvalid(format!("GitHub API URL {}: {e}", config.github.api_url))
    })
}

/// The worst state of the environments not muted: any alert, else anything deploying, else
/// all live; idle when paused, empty, nothing checked yet or everything muted.
pub fn overall(rows: &[EnvRow], paused: bool) -> Overall {
    // Muted environments are left out: the tray does not nag about them.
    let verdicts: Vec<Option<Verdict>> = rows
        .iter()
        .filter(|r| !r.muted)
        .map(|r| r.verdict.as_deref().and_then(Verdict::parse))
        .collect();
    if paused || verdicts.is_empty() || verdicts.iter().all(Option::is_none) {
        Overall::Idle
    } else if verdicts.iter().flatten().any(|v| v.is_alert()) {
        Overall::Alert
    } else if verdicts.iter().any(|v| *v != Some(Verdict::Live)) {
        Overall::Deploying
    } else {
        Overall::Live
    }
}

fn open_engine(config_path: &Path, db_path: &Path) -> Result<Arc<Engine>, AppError> {
    let config = deploywatch_config::load(config_path)?;
    let github = github_for(&config)?;
    let store = Store::open(db_path).map_err(|e| {
        AppError::Io(format!(
            "cannot open the history database {}: {e}",
            db_path.display()
        ))
    })?;
    Ok(Engine::new(EngineOptions {
        config,
        github,
        store: Some(store),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(kind: ConditionKind, message: &str) -> Condition {
        Condition {
            kind,
            message: message.into(),
            since: DateTime::parse_from_rfc3339("2026-11-22T10:30:00Z")
                .expect("time")
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn conditions_begin_replace_end_and_come_most_important_first() {
        let mut active = ActiveConditions::default();
        active.apply(condition(ConditionKind::GitHubBudget, "short"), true);
        active.apply(condition(ConditionKind::Offline, "offline"), true);
        active.apply(condition(ConditionKind::GitHubUnavailable, "down"), true);
        let kinds = |a: &ActiveConditions| -> Vec<String> {
            a.to_ipc().into_iter().map(|c| c.kind).collect()
        };
        assert_eq!(
            kinds(&active),
            ["offline", "github_unavailable", "github_budget"]
        );
        // Said again: replaced, not repeated.
        active.apply(condition(ConditionKind::GitHubBudget, "shorter"), true);
        let shown = active.to_ipc();
        assert_eq!(shown.len(), 3);
        assert_eq!(shown[2].message, "shorter");
        assert_eq!(shown[2].since, "2026-11-22T10:30:00Z");
        // Ended: gone, whatever its closing message says.
        active.apply(condition(ConditionKind::Offline, "Back online"), false);
        assert_eq!(kinds(&active), ["github_unavailable", "github_budget"]);
        // An end without a beginning changes nothing.
        active.apply(condition(ConditionKind::Offline, "Back online"), false);
        assert_eq!(kinds(&active), ["github_unavailable", "github_budget"]);
    }

    #[test]
    fn dashboard_conditions_round_trip_and_default_to_none() {
        let d = Dashboard {
            overall: Overall::Idle,
            paused_until: None,
            empty: false,
            demo: false,
            environments: Vec::new(),
            config_error: None,
            conditions: vec![convert::condition(&condition(
                ConditionKind::Offline,
                "offline",
            ))],
        };
        let json = serde_json::to_value(&d).expect("serialise");
        assert_eq!(json["conditions"][0]["kind"], "offline");
        let back: Dashboard = serde_json::from_value(json.clone()).expect("deserialise");
        assert_eq!(back, d);
        // From a backend that predates conditions: none.
        let mut old = json;
        old.as_object_mut().expect("object").remove("conditions");
        let back: Dashboard = serde_json::from_value(old).expect("deserialise");
        assert!(back.conditions.is_empty());
    }
}
