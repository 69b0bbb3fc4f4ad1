//! `deploywatch-tray`: Deploywatch's resident process — the watcher, the history database
//! (written by it, and by the CLI when that runs), the tray icon, desktop notifications and start at login, in a process
//! that links neither GTK nor WebKit. The window is another process (`deploywatch-app`),
//! started on demand, that talks to this one over the local socket (`deploywatch-link`).
//!
//! Usage: `deploywatch-tray [--hidden] [--open]`. Without `--open` nothing but the tray
//! appears (`--hidden`, what the start-at-login entry passes, is accepted for clarity). With
//! `--open` the window opens too. A second start finds the first one running: with `--open`
//! it asks that one to show its window, and exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use deploywatch_ipc::proto::{Event, Request};
use deploywatch_resident::tray::Tray;
use deploywatch_resident::{AppState, Autostart, Paths, Resident, TrayAction, Windows};

/// Flag passed by the start-at-login entry.
const HIDDEN: &str = "--hidden";
/// Open the window as well (the desktop menu's launch goes through the window's executable,
/// which starts this process when it is not running).
const OPEN: &str = "--open";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOYWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = args.iter().find(|a| *a != HIDDEN && *a != OPEN) {
        eprintln!("deploywatch-tray: unknown argument {unknown:?} (expected {HIDDEN} or {OPEN})");
        return ExitCode::from(2);
    }
    let open = args.iter().any(|a| a == OPEN);
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("deploywatch-tray: {e}");
            return ExitCode::from(2);
        }
    };
    // One thread: the resident process waits almost all the time, and every extra worker
    // is memory; what it does between waits (parsing an answer, a few SQLite writes) is short.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deploywatch-tray: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(paths, open))
}

async fn run(paths: Paths, open: bool) -> ExitCode {
    let socket = deploywatch_link::default_path();
    let listener = match deploywatch_link::bind(&socket) {
        Ok(l) => l,
        Err(deploywatch_link::BindError::AlreadyRunning(_)) => {
            if open {
                return show_running(&socket).await;
            }
            eprintln!("deploywatch-tray: Deploywatch is already running in the background");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("deploywatch-tray: {e}");
            return ExitCode::from(1);
        }
    };
    let state = Arc::new(AppState::new(paths));
    let windows = Windows::new(window_program().map(|p| (p, socket.clone())));
    let resident = Resident::new(state.clone(), windows);
    {
        let r = resident.clone();
        state.set_open_report_hook(Arc::new(move |project, environment| {
            r.open_report(project, environment);
        }));
    }
    match start_at_login() {
        Ok(a) => state.set_autostart(Box::new(a)),
        Err(e) => tracing::warn!("start at login is not available: {e}"),
    }
    let (actions_tx, mut actions) = tokio::sync::mpsc::unbounded_channel();
    let tray = match Tray::spawn(actions_tx).await {
        Ok(t) => Some(Arc::new(t)),
        Err(e) => {
            // Not fatal: notifications still come, and launching the app opens the window.
            tracing::warn!("no tray icon: {e}");
            None
        }
    };
    deploywatch_resident::serve::start(&resident, move |d| {
        let tray = tray.clone();
        async move {
            if let Some(t) = tray {
                t.show(&d).await;
            }
        }
    })
    .await;
    tokio::spawn(deploywatch_link::serve(listener, resident.clone()));
    if open {
        resident.windows().show();
    }
    loop {
        tokio::select! {
            action = actions.recv() => match action {
                Some(TrayAction::Quit) | None => break,
                Some(action) => act(&state, &resident, action).await,
            },
            () = resident.quit_requested() => break,
            () = terminated() => break,
        }
    }
    // Quit ends both processes: the window is told, the watcher finishes its round.
    resident.windows().send(Event::Quit);
    state.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ExitCode::SUCCESS
}

/// The tray's menu, acted on.
async fn act(state: &AppState, resident: &Resident, action: TrayAction) {
    match action {
        TrayAction::Open => resident.windows().show(),
        TrayAction::CheckNow => state.check_now().await,
        TrayAction::Pause => state.pause().await,
        TrayAction::Resume => state.resume().await,
        TrayAction::OpenReport {
            project,
            environment,
        } => resident.open_report(project, environment),
        TrayAction::Quit => {}
    }
}

/// Another resident process runs: ask it to open its window.
async fn show_running(socket: &std::path::Path) -> ExitCode {
    match deploywatch_link::connect(socket).await {
        Ok((client, _events)) => match client.call(Request::Show).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "deploywatch-tray: the running Deploywatch did not answer: {}",
                    e.message
                );
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("deploywatch-tray: cannot reach the running Deploywatch: {e}");
            ExitCode::from(1)
        }
    }
}

/// The window's executable, if it is there.
fn window_program() -> Option<PathBuf> {
    deploywatch_link::Program::Window
        .path()
        .filter(|p| p.exists())
}

/// Start at login: the OS's own mechanism (an XDG autostart entry on Linux, a launch agent on
/// macOS, the Run key on Windows) starting this executable with `--hidden`.
struct StartAtLogin(auto_launch::AutoLaunch);

fn start_at_login() -> Result<StartAtLogin, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    auto_launch::AutoLaunchBuilder::new()
        .set_app_name("Deploywatch")
        .set_app_path(&exe.to_string_lossy())
        .set_args(&[HIDDEN])
        .build()
        .map(StartAtLogin)
        .map_err(|e| e.to_string())
}

impl Autostart for StartAtLogin {
    fn set(&self, on: bool) -> Result<(), String> {
        if on {
            self.0.enable()
        } else {
            self.0.disable()
        }
        .map_err(|e| e.to_string())
    }

    fn get(&self) -> bool {
        self.0.is_enabled().unwrap_or(false)
    }
}

/// SIGTERM or Ctrl-C (a session ending, `kill`): leave as Quit does.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
