//! The resident process answering the window over `deploywatch-link`: every request of the
//! protocol mapped onto [`AppState`], and the one window the process keeps track of (to send
//! it events, to bring it to the front instead of opening a second one, and to start one when
//! there is none).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deploywatch_ipc::proto::{Attach, Event, Outcome, Request};
use deploywatch_ipc::{IpcError, OpenReport};
use deploywatch_link::{Handler, Peer};
use serde::Serialize;

use crate::{AppError, AppState};

/// How long a started window process has to attach before Open starts another one.
const WINDOW_START_GRACE: Duration = Duration::from_secs(10);

/// What the resident process answers with.
pub struct Resident {
    pub state: Arc<AppState>,
    windows: Windows,
    /// Asked for by a `Quit` request (the window's or a test's): the process ends.
    quit: tokio::sync::Notify,
}

/// The window process, as the resident process knows it.
pub struct Windows {
    /// The attached window, if one is.
    attached: Mutex<Option<Peer>>,
    /// When a window process was last started and has not attached yet.
    starting: Mutex<Option<Instant>>,
    /// How to start one: the program and the socket it should connect to. `None`: this
    /// process cannot open windows (tests of the protocol alone).
    launcher: Option<(PathBuf, PathBuf)>,
}

impl Windows {
    /// `launcher`: the window's executable and the socket it is to connect to.
    pub fn new(launcher: Option<(PathBuf, PathBuf)>) -> Windows {
        Windows {
            attached: Mutex::new(None),
            starting: Mutex::new(None),
            launcher,
        }
    }

    /// Sends `event` to the window; `false` when there is none.
    pub fn send(&self, event: Event) -> bool {
        let attached = self.attached.lock().unwrap_or_else(|p| p.into_inner());
        attached.as_ref().is_some_and(|w| w.send(event))
    }

    /// Whether a window is attached.
    pub fn open(&self) -> bool {
        self.attached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Brings the window to the front, or starts one (once per [`WINDOW_START_GRACE`]).
    pub fn show(&self) {
        if self.send(Event::Show) {
            return;
        }
        let Some((program, socket)) = &self.launcher else {
            tracing::info!("no window can be opened by this process");
            return;
        };
        let mut starting = self.starting.lock().unwrap_or_else(|p| p.into_inner());
        if starting.is_some_and(|at| at.elapsed() < WINDOW_START_GRACE) {
            return;
        }
        match std::process::Command::new(program)
            .env(deploywatch_link::SOCKET_ENV, socket)
            .stdin(std::process::Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                *starting = Some(Instant::now());
                // Reap it when it exits, so no zombie is left while the tray lives on.
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
            }
            Err(e) => tracing::error!("cannot start the window ({}): {e}", program.display()),
        }
    }

    fn attach(&self, peer: &Peer) -> Attach {
        let mut attached = self.attached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = attached.as_ref()
            && w.id() != peer.id()
            && w.send(Event::Show)
        {
            return Attach::AlreadyOpen;
        }
        *attached = Some(peer.clone());
        *self.starting.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Attach::Attached
    }

    fn gone(&self, peer: &Peer) {
        let mut attached = self.attached.lock().unwrap_or_else(|p| p.into_inner());
        if attached.as_ref().is_some_and(|w| w.id() == peer.id()) {
            *attached = None;
        }
    }
}

impl Resident {
    pub fn new(state: Arc<AppState>, windows: Windows) -> Arc<Resident> {
        Arc::new(Resident {
            state,
            windows,
            quit: tokio::sync::Notify::new(),
        })
    }

    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// Shows one environment's report: in the window if one is open, else in a new window
    /// that takes it when its page has loaded.
    pub fn open_report(&self, project: String, environment: String) {
        let report = OpenReport {
            project,
            environment,
        };
        self.state.set_pending_report(report.clone());
        if self.windows.send(Event::OpenReport(report)) {
            self.windows.send(Event::Show);
        } else {
            self.windows.show();
        }
    }

    /// Resolves when a `Quit` request arrived.
    pub async fn quit_requested(&self) {
        self.quit.notified().await;
    }

    async fn answer(&self, peer: &Peer, request: Request) -> Result<serde_json::Value, AppError> {
        let s = &self.state;
        match request {
            Request::Dashboard => json(s.dashboard().await?),
            Request::Report {
                project,
                environment,
            } => json(s.report(&project, &environment).await?),
            Request::ReportMarkdown {
                project,
                environment,
            } => json(s.report_markdown(&project, &environment).await?),
            Request::CheckNow => {
                s.check_now().await;
                json(())
            }
            Request::Pause => {
                s.pause().await;
                json(())
            }
            Request::Resume => {
                s.resume().await;
                json(())
            }
            Request::History { query } => json(s.history(&query).await?),
            Request::DeployLags {
                project,
                environment,
            } => json(s.deploy_lags(&project, environment.as_deref()).await?),
            Request::Settings => json(s.settings().await?),
            Request::SaveSettings { settings } => json(s.save_settings(&settings).await?),
            Request::SetMute {
                project,
                environment,
                mute,
            } => json(s.set_mute(&project, environment.as_deref(), mute).await?),
            Request::TestEnvironment { environment } => {
                json(s.test_environment(&environment).await)
            }
            Request::SignInStart => json(s.sign_in_start().await?),
            Request::SignInWait => json(s.sign_in_wait().await?),
            Request::SignInToken { token } => json(s.sign_in_token(&token).await?),
            Request::SignOut => json(s.sign_out().await?),
            Request::StartDemo => json(s.start_demo().await?),
            Request::TakeOpenReport => json(s.take_pending_report()),
            Request::AttachWindow => json(self.windows.attach(peer)),
            Request::Show => {
                self.windows.show();
                json(())
            }
            Request::Quit => {
                self.quit.notify_one();
                json(())
            }
        }
    }
}

/// How often the config file is compared with what the watcher runs. The file is shared with
/// the CLI and editors: a read of a small file every 2 s (compared byte for byte) works the
/// same whether an editor rewrites the file in place or replaces it, which file-system
/// notifications make delicate.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// The most often a new dashboard goes to the window and the tray.
const PUSH_EVERY: Duration = Duration::from_secs(1);

/// The most often the window gets a dashboard in which only times moved (an unchanged check
/// moves its environment's `checked_at` and `next_check_at`): the page shows them to the
/// minute, and a window that redraws its rows after every quiet check is never idle.
const TIMES_EVERY: Duration = Duration::from_secs(30);

/// Whether `a` and `b` differ at most in the times of their environments' checks.
fn same_but_times(a: &deploywatch_ipc::Dashboard, b: &deploywatch_ipc::Dashboard) -> bool {
    let untimed = |d: &deploywatch_ipc::Dashboard| {
        let mut d = d.clone();
        for row in &mut d.environments {
            row.checked_at = None;
            row.next_check_at = None;
        }
        d
    };
    untimed(a) == untimed(b)
}

/// Starts the watcher, the config file's watch, and the task that shows every new dashboard
/// (after each check, pause and resume) to the window and through `show` (the tray).
pub async fn start<F, Fut>(resident: &Arc<Resident>, show: F)
where
    F: Fn(deploywatch_ipc::Dashboard) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let state = resident.state.clone();
    let mut changes = state.subscribe();
    state.start().await;
    {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CONFIG_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                state.reload_if_changed().await;
            }
        });
    }
    let resident = resident.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        let mut window = WindowPushes::default();
        if let Ok(d) = resident.state.dashboard().await {
            window.offer(&resident.windows, &d);
            show(d).await;
        }
        let mut last_push = tokio::time::Instant::now();
        loop {
            let deferred = window.deferred_until();
            tokio::select! {
                r = changes.recv() => match r {
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                // A window kept waiting for times gets them.
                () = sleep_until_or_never(deferred) => {}
            }
            // Checks of a large fleet end one after another: at most one dashboard per
            // PUSH_EVERY, carrying every change since the last (the page re-renders what
            // changed, the tray what differs; a push per check kept the window's page busy).
            tokio::time::sleep_until(last_push + PUSH_EVERY).await;
            while changes.try_recv().is_ok() {}
            last_push = tokio::time::Instant::now();
            match resident.state.dashboard().await {
                Ok(d) => {
                    window.offer(&resident.windows, &d);
                    show(d).await;
                }
                Err(e) => tracing::warn!("cannot build the dashboard: {e}"),
            }
        }
    });
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the window was last sent, so that a dashboard in which only times moved waits up to
/// [`TIMES_EVERY`] (and goes then, with whatever else changed meanwhile).
#[derive(Default)]
struct WindowPushes {
    sent: Option<(deploywatch_ipc::Dashboard, tokio::time::Instant)>,
    /// A newer dashboard is being held back.
    waiting: bool,
}

impl WindowPushes {
    fn offer(&mut self, windows: &Windows, d: &deploywatch_ipc::Dashboard) {
        if self.should_send(windows.open(), d, tokio::time::Instant::now()) {
            windows.send(Event::Dashboard(d.clone()));
        }
    }

    /// Whether `d` goes to the window now (`open`: one is attached), remembering it if so.
    fn should_send(
        &mut self,
        open: bool,
        d: &deploywatch_ipc::Dashboard,
        now: tokio::time::Instant,
    ) -> bool {
        // A copy for the window only when there is one (the tray runs alone all day); a
        // window that opens reads the dashboard itself.
        if !open {
            self.sent = None;
            self.waiting = false;
            return false;
        }
        if let Some((sent, at)) = &self.sent
            && same_but_times(sent, d)
        {
            if sent == d {
                self.waiting = false;
                return false;
            }
            if now < *at + TIMES_EVERY {
                self.waiting = true;
                return false;
            }
        }
        self.sent = Some((d.clone(), now));
        self.waiting = false;
        true
    }

    fn deferred_until(&self) -> Option<tokio::time::Instant> {
        match (&self.sent, self.waiting) {
            (Some((_, at)), true) => Some(*at + TIMES_EVERY),
            _ => None,
        }
    }
}

fn json<T: Serialize>(v: T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Io(format!("a reply could not be encoded: {e}")))
}

impl Handler for Resident {
    fn handle(
        &self,
        peer: &Peer,
        request: Request,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>> {
        let peer = peer.clone();
        Box::pin(async move {
            match self.answer(&peer, request).await {
                Ok(v) => Outcome::Ok(v),
                Err(e) => Outcome::Error(IpcError::from(e)),
            }
        })
    }

    fn gone(&self, peer: &Peer) {
        self.windows.gone(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploywatch_ipc::{Dashboard, EnvRow};

    fn dashboard(verdict: &str, checked_at: &str) -> Dashboard {
        let mut d: Dashboard = serde_json::from_value(serde_json::json!({
            "overall": "live", "paused_until": null, "empty": false, "demo": false,
            "environments": []
        }))
        .expect("a dashboard");
        d.environments.push(EnvRow {
            project: "shop".into(),
            environment: "production".into(),
            repo: "acme/shop".into(),
            commit_url_base: "https://github.com/acme/shop/commit/".into(),
            verdict: Some(verdict.into()),
            expected_sha: None,
            live_sha: None,
            ci_status: None,
            ci_conclusion: None,
            ci_url: None,
            checked_at: Some(checked_at.into()),
            next_check_at: Some(checked_at.into()),
            hint: None,
            incident_open: false,
            muted: false,
        });
        d
    }

    #[test]
    fn the_window_gets_changes_at_once_and_moved_times_twice_a_minute() {
        let t0 = tokio::time::Instant::now();
        let mut w = WindowPushes::default();
        assert!(
            !w.should_send(false, &dashboard("live", "10:00"), t0),
            "no window"
        );
        assert!(
            w.should_send(true, &dashboard("live", "10:00"), t0),
            "the first"
        );
        assert!(
            !w.should_send(true, &dashboard("live", "10:00"), t0),
            "nothing new"
        );
        assert_eq!(w.deferred_until(), None);
        // A quiet check: only its times moved. Held back, and due at TIMES_EVERY.
        let s1 = t0 + Duration::from_secs(10);
        assert!(!w.should_send(true, &dashboard("live", "10:10"), s1));
        assert_eq!(w.deferred_until(), Some(t0 + TIMES_EVERY));
        // A verdict that changed goes at once, times and all.
        assert!(w.should_send(true, &dashboard("phantom", "10:20"), s1));
        assert_eq!(w.deferred_until(), None);
        // Times alone again: sent once TIMES_EVERY has passed since the last.
        let s2 = s1 + TIMES_EVERY;
        assert!(w.should_send(true, &dashboard("phantom", "10:50"), s2));
        // A window that closed and another that opened start afresh.
        assert!(!w.should_send(false, &dashboard("phantom", "10:55"), s2));
        assert!(w.should_send(true, &dashboard("phantom", "10:56"), s2));
    }
}
