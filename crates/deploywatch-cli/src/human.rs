//! The everyday commands (`verify`, `watch`, `status`, `history`) and their human output:
//! one line per environment readable at a glance, details indented under it, colour only on
//! a terminal (and never with `NO_COLOR`).

use std::io::IsTerminal;
use std::time::Duration;

use chrono::Utc;
use deploywatch_core::{Report, Sha, Verdict};
use deploywatch_engine::{Command, Notifier, Selection, WatchEvent, Watcher};
use deploywatch_store::{HistoryEvent, HistoryFilter};

use crate::Failure;
use crate::dto::{HistoryJson, ReportJson, StatusJson, rfc3339};
use crate::setup::{self, Paths};

/// ANSI styling that switches itself off when stdout is not a terminal.
#[derive(Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    pub fn detect() -> Style {
        Style {
            on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    fn paint(self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn verdict(self, v: Verdict) -> String {
        let code = match v {
            Verdict::Live => "32",
            Verdict::Deploying => "34",
            _ => "31;1",
        };
        self.paint(code, v.as_str())
    }
    pub fn mark(self, ok: bool) -> String {
        if ok {
            self.paint("32", "✓")
        } else {
            self.paint("31", "✗")
        }
    }
}

fn short(sha: Option<&Sha>) -> String {
    sha.map_or_else(|| "-".to_string(), |s| s.short().to_string())
}

/// A report for people: a headline, the hint, warnings, and the checklist.
pub fn render_report(r: &Report, style: Style) -> String {
    let mut out = format!(
        "{} {}  {}  expected {}  live {}",
        style.mark(r.verdict == Verdict::Live),
        style.bold(&format!("{} / {}", r.project, r.environment)),
        style.verdict(r.verdict),
        short(r.expected_sha.as_ref()),
        short(r.live_sha.as_ref()),
    );
    if let Some(ci) = &r.ci {
        out.push_str(&format!(
            "  CI {}",
            ci.conclusion.as_deref().unwrap_or(&ci.status)
        ));
    }
    out.push('\n');
    out.push_str(&format!("    {}\n", r.hint));
    for w in &r.warnings {
        out.push_str(&format!("    ! {w}\n"));
    }
    for c in &r.checks {
        out.push_str(&format!(
            "    {} {:<12} {}\n",
            style.mark(c.ok),
            c.name,
            style.dim(&c.detail)
        ));
    }
    out
}

/// `deploywatch verify`'s arguments.
pub struct VerifyArgs {
    pub project: Option<String>,
    pub environment: Option<String>,
    pub expect: Option<String>,
    pub wait: Option<Duration>,
    /// Consecutive live checks required (1: the first live check verifies).
    pub stable: u32,
    /// Time between checks while waiting (default: the fast interval).
    pub interval: Option<Duration>,
    /// The config-free form: this build-info URL instead of the config's environments.
    pub url: Option<String>,
    pub json: bool,
}

pub async fn verify(paths: &Paths, args: VerifyArgs) -> Result<u8, Failure> {
    let expect = match &args.expect {
        Some(text) => Some(Sha::parse(text).ok_or_else(|| {
            Failure::usage(format!(
                "--expect {text:?} is not a git SHA (7 to 64 hex characters)"
            ))
        })?),
        None => None,
    };
    let (engine, selection) = match &args.url {
        Some(url) => {
            let config = deploywatch_config::Config::for_url(
                url,
                args.project.as_deref(),
                args.environment.as_deref(),
            )
            .map_err(|e| Failure::usage(format!("--url: {e}")))?;
            (setup::engine_for_url(paths, config)?, Selection::default())
        }
        None => {
            let config = paths.load_config()?;
            let selection = Selection {
                project: args.project.clone(),
                environment: args.environment.clone(),
            };
            check_selection(&config, &selection)?;
            (setup::engine(paths, config, false)?, selection)
        }
    };
    let with_github = expect.is_none();
    let options = deploywatch_engine::VerifyOptions {
        expect,
        wait: args.wait,
        stable: args.stable,
        interval: args.interval,
    };
    let reports = deploywatch_engine::verify(&engine, &selection, &options).await;
    let actions = crate::pipeline::Actions::detect();
    if args.json {
        let docs: Vec<ReportJson> = reports.iter().map(ReportJson::from).collect();
        println!(
            "{}",
            crate::pipeline::defuse_json(&crate::dto::json_text(&docs))
        );
        if let Some(a) = &actions {
            // stdout is the JSON document: the annotations go to stderr, which the runner
            // reads for workflow commands too.
            eprint!("{}", a.annotations(&reports));
        }
    } else {
        let style = Style::detect();
        let mut out = String::new();
        for r in &reports {
            out.push_str(&render_report(r, style));
            if with_github {
                out.push_str(&waiting_commits(&engine, r).await);
            }
        }
        let live = reports
            .iter()
            .filter(|r| r.verdict == Verdict::Live)
            .count();
        out.push_str(&format!("{live} of {} environments live\n", reports.len()));
        match &actions {
            // What came from the network is printed with the runner's command processing
            // off, so no answer can pose as a workflow command.
            Some(a) => print!("{}{}", a.quoted(&out), a.annotations(&reports)),
            None => print!("{out}"),
        }
    }
    if let Some(a) = &actions
        && let Err(e) = a.write_summary(&reports)
    {
        eprintln!("deploywatch: warning: cannot write the job summary: {e}");
    }
    Ok(if reports.iter().all(|r| r.verdict == Verdict::Live) {
        0
    } else {
        1
    })
}

/// The commits between the live and the expected SHA (GitHub's compare API), for a report
/// whose environment does not serve the expected SHA. Empty when there is nothing to say.
async fn waiting_commits(engine: &deploywatch_engine::Engine, r: &Report) -> String {
    let (Some(live), Some(expected)) = (&r.live_sha, &r.expected_sha) else {
        return String::new();
    };
    let Some(project) = engine.config.project(&r.project) else {
        return String::new();
    };
    if live.matches(expected) {
        return String::new();
    }
    let repo = deploywatch_github::RepoRef::new(&project.repo.owner, &project.repo.name);
    match engine.github.compare(&repo, live, expected).await {
        Ok(commits) if commits.is_empty() => String::new(),
        Ok(commits) => {
            let mut out = format!("    {} commit(s) waiting to go live:\n", commits.len());
            for c in commits.iter().take(10) {
                let by = c
                    .author
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default();
                out.push_str(&format!("      {} {}{by}\n", c.sha.short(), c.message));
            }
            if commits.len() > 10 {
                out.push_str(&format!("      … and {} more\n", commits.len() - 10));
            }
            out
        }
        Err(e) => format!("    (commits waiting to go live: {e})\n"),
    }
}

/// `--project`/`--env` must name something configured: a typo must not pass as "nothing to
/// check, all live".
fn check_selection(config: &deploywatch_config::Config, sel: &Selection) -> Result<(), Failure> {
    let known: Vec<String> = config
        .projects
        .iter()
        .flat_map(|p| {
            p.environments
                .iter()
                .map(move |e| format!("{}/{}", p.name, e.name))
        })
        .collect();
    if let Some(p) = &sel.project
        && config.project(p).is_none()
    {
        let names: Vec<&str> = config.projects.iter().map(|p| p.name.as_str()).collect();
        return Err(Failure::usage(format!(
            "no project {p:?} in the config (projects: {})",
            names.join(", ")
        )));
    }
    let any = config.projects.iter().any(|p| {
        p.environments
            .iter()
            .any(|e| sel.includes(&p.name, &e.name))
    });
    if !any {
        return Err(Failure::usage(match &sel.environment {
            Some(e) => format!(
                "no environment {e:?} matches (environments: {})",
                known.join(", ")
            ),
            None => "the config has no environments to check".to_string(),
        }));
    }
    Ok(())
}

/// Whether a D-Bus session bus is there to carry desktop notifications.
fn session_bus_available() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| std::path::Path::new(&d).join("bus").exists())
        .unwrap_or(false)
}

pub async fn watch(paths: &Paths, no_notify: bool, no_actions: bool) -> Result<u8, Failure> {
    let path = paths.config_path()?;
    // Read before it is parsed: an edit in between is seen by the first comparison.
    let mut loaded = std::fs::read(&path).ok();
    let mut config = paths.load_config()?;
    loop {
        let desktop = config.notifications.desktop && !no_notify && session_bus_available();
        if config.notifications.desktop && !no_notify && !desktop {
            eprintln!("deploywatch: no D-Bus session bus: desktop notifications are off");
        }
        if no_actions {
            let had = config.without_actions();
            if had > 0 {
                eprintln!(
                    "deploywatch: --no-actions: the incident actions of {had} environment{} will not run",
                    if had == 1 { "" } else { "s" }
                );
            }
        }
        let webhook = deploywatch_engine::Webhook::from_config(&config.notifications);
        let engine = setup::engine(paths, config, true)?;
        let reload = Reload {
            path: path.clone(),
            loaded: loaded.clone(),
        };
        match run_watcher(engine, Notifier::new(desktop, webhook), None, Some(reload)).await {
            Ended::Stopped => return Ok(0),
            Ended::Reload { config: new, bytes } => {
                eprintln!(
                    "deploywatch: {} changed: watching the new configuration",
                    path.display()
                );
                config = *new;
                loaded = bytes;
            }
        }
    }
}

/// The config file a watcher follows, and its bytes as the running configuration was read.
pub struct Reload {
    pub path: std::path::PathBuf,
    pub loaded: Option<Vec<u8>>,
}

/// Why [`run_watcher`] returned.
pub enum Ended {
    /// Ctrl-C, SIGTERM or the time limit.
    Stopped,
    /// The config file changed into a valid configuration (the watcher was stopped).
    Reload {
        config: Box<deploywatch_config::Config>,
        bytes: Option<Vec<u8>>,
    },
}

/// How often a watcher compares its config file with what it runs.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Resolves when the config file holds a new, valid configuration. An invalid edit is
/// reported (file, line, key) once and the current configuration keeps running.
async fn config_changed(reload: Option<Reload>) -> (deploywatch_config::Config, Option<Vec<u8>>) {
    let Some(Reload { path, mut loaded }) = reload else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(CONFIG_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = std::fs::read(&path).ok();
        if now == loaded {
            continue;
        }
        loaded = now.clone();
        match deploywatch_config::load(&path) {
            Ok(config) => return (config, now),
            Err(e) => eprintln!("deploywatch: {e}; still watching the previous configuration"),
        }
    }
}

/// What was last printed for an environment: verdict, expected and live SHA.
type Shown = (Verdict, Option<Sha>, Option<Sha>);

/// Runs the watcher, printing each check and incident as a line, until Ctrl-C, SIGTERM or the
/// optional time limit.
pub async fn run_watcher(
    engine: std::sync::Arc<deploywatch_engine::Engine>,
    notifier: Notifier,
    limit: Option<Duration>,
    reload: Option<Reload>,
) -> Ended {
    let style = Style::detect();
    let count = engine
        .config
        .projects
        .iter()
        .map(|p| p.environments.len())
        .sum::<usize>();
    eprintln!("deploywatch: watching {count} environments; Ctrl-C to stop");
    // Every line's `project/environment` padded to the longest, so the columns after it line up.
    let width = engine
        .config
        .projects
        .iter()
        .flat_map(|p| {
            p.environments
                .iter()
                .map(move |e| p.name.chars().count() + 1 + e.name.chars().count())
        })
        .max()
        .unwrap_or(0);
    // Muted environments' notices are printed, marked as such: nothing was sent for them.
    let muted: std::collections::HashSet<(String, String)> = engine
        .config
        .projects
        .iter()
        .flat_map(|p| {
            p.environments
                .iter()
                .filter(|e| p.muted(e))
                .map(|e| (p.name.clone(), e.name.clone()))
        })
        .collect();
    if !muted.is_empty() {
        eprintln!(
            "deploywatch: {} muted (mute = true): their incidents are recorded, not notified",
            match muted.len() {
                1 => "1 environment is".to_string(),
                n => format!("{n} environments are"),
            }
        );
    }
    let (watcher, commands, events) = Watcher::new(engine, notifier);
    let mut rx = events.subscribe();
    let printer = tokio::spawn(async move {
        // Only changes are printed: an unchanged check every few seconds is noise.
        let mut shown: std::collections::HashMap<(String, String), Shown> =
            std::collections::HashMap::new();
        loop {
            match rx.recv().await {
                Ok(WatchEvent::Checked { report, .. }) => {
                    let key = (report.project.clone(), report.environment.clone());
                    let now = (
                        report.verdict,
                        report.expected_sha.clone(),
                        report.live_sha.clone(),
                    );
                    if shown.get(&key) == Some(&now) {
                        continue;
                    }
                    shown.insert(key, now);
                    println!(
                        "{} {} {:<14} expected {} live {}  {}",
                        style.dim(&Utc::now().format("%H:%M:%S").to_string()),
                        style.bold(&format!(
                            "{:<width$}",
                            format!("{}/{}", report.project, report.environment)
                        )),
                        style.verdict(report.verdict),
                        short(report.expected_sha.as_ref()),
                        short(report.live_sha.as_ref()),
                        style.dim(&report.hint),
                    );
                }
                Ok(WatchEvent::Incident { notice, delivered }) => println!(
                    "{} {} {}{}\n           {}",
                    style.dim(&Utc::now().format("%H:%M:%S").to_string()),
                    style.bold("▶"),
                    style.bold(&notice.summary),
                    if delivered {
                        ""
                    } else if muted.contains(&(notice.project.clone(), notice.environment.clone()))
                    {
                        " (muted)"
                    } else {
                        " (not notified)"
                    },
                    notice.body
                ),
                Ok(WatchEvent::Condition { condition, active }) => println!(
                    "{} {} {}",
                    style.dim(&Utc::now().format("%H:%M:%S").to_string()),
                    style.bold(if active { "⚠" } else { "✓" }),
                    condition.message
                ),
                Ok(WatchEvent::Action { run }) => println!(
                    "{} {} {}/{}: {}{}",
                    style.dim(&Utc::now().format("%H:%M:%S").to_string()),
                    style.bold(if run.outcome.succeeded() {
                        "⚙"
                    } else {
                        "✗"
                    }),
                    run.project,
                    run.environment,
                    run.summary(),
                    deploywatch_engine::action::last_line(&run.output)
                        .map(|l| format!("\n           {}", style.dim(&l)))
                        .unwrap_or_default()
                ),
                Ok(WatchEvent::Paused { .. }) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let mut task = tokio::spawn(watcher.run());
    let stop = async {
        let deadline = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate() => {}
            _ = deadline => {}
        }
    };
    let ended = tokio::select! {
        _ = stop => Ended::Stopped,
        (config, bytes) = config_changed(reload) => Ended::Reload { config: Box::new(config), bytes },
        _ = &mut task => Ended::Stopped,
    };
    if !task.is_finished() {
        let _ = commands.send(Command::Stop).await;
        // A round in progress finishes (its writes are transactions); give it a bound.
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut task).await;
    }
    drop(events);
    printer.abort();
    ended
}

async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

pub fn status(paths: &Paths, json: bool) -> Result<u8, Failure> {
    let config = paths.load_config()?;
    let store = paths.open_store()?;
    let states = store
        .env_states()
        .map_err(|e| Failure::usage(format!("cannot read the database: {e}")))?;
    let mut rows = Vec::new();
    for p in &config.projects {
        for e in &p.environments {
            match states
                .iter()
                .find(|s| s.project == p.name && s.environment == e.name)
            {
                Some(s) => rows.push((StatusJson::from_state(s), Some(s))),
                None => rows.push((StatusJson::never_checked(&p.name, &e.name), None)),
            }
        }
    }
    if json {
        let docs: Vec<&StatusJson> = rows.iter().map(|(j, _)| j).collect();
        println!("{}", crate::dto::json_text(&docs));
        return Ok(0);
    }
    let style = Style::detect();
    if rows.is_empty() {
        println!(
            "nothing configured: add a [[project]] to {}",
            paths.config_path()?.display()
        );
    }
    for (row, state) in &rows {
        let place = style.bold(&format!("{} / {}", row.project, row.environment));
        match state {
            None => println!("  {place}  {}", style.dim("never checked")),
            Some(s) => {
                let ago = Utc::now() - s.report.checked_at;
                println!(
                    "{} {place}  {}  expected {}  live {}  {}",
                    style.mark(s.report.verdict == Verdict::Live),
                    style.verdict(s.report.verdict),
                    short(s.report.expected_sha.as_ref()),
                    short(s.report.live_sha.as_ref()),
                    style.dim(&format!("checked {} ago", human_ago(ago))),
                );
                if s.report.verdict != Verdict::Live {
                    println!("    {}", s.report.hint);
                }
            }
        }
    }
    Ok(0)
}

fn human_ago(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    }
}

pub fn history(
    paths: &Paths,
    project: Option<String>,
    environment: Option<String>,
    since: Option<Duration>,
    limit: usize,
    json: bool,
) -> Result<u8, Failure> {
    let store = paths.open_store()?;
    let filter = HistoryFilter {
        project,
        environment,
        since: since.map(|d| Utc::now() - chrono::Duration::from_std(d).unwrap_or_default()),
        limit,
        ..HistoryFilter::default()
    };
    let events: Vec<HistoryEvent> = store
        .history(&filter)
        .map_err(|e| Failure::usage(format!("cannot read the database: {e}")))?;
    if json {
        let docs: Vec<HistoryJson> = events.iter().map(HistoryJson::from).collect();
        println!("{}", crate::dto::json_text(&docs));
        return Ok(0);
    }
    let style = Style::detect();
    if events.is_empty() {
        println!("no history yet: run `deploywatch verify` or `deploywatch watch`");
    }
    for ev in &events {
        let place = match &ev.environment {
            Some(e) => format!("{}/{}", ev.project, e),
            None => ev.project.clone(),
        };
        println!(
            "{}  {:<22} {:<24} {:<8} {}",
            style.dim(&rfc3339(ev.at)),
            place,
            ev.kind.as_str(),
            short(ev.sha.as_ref()),
            ev.detail
        );
    }
    Ok(0)
}
