//! Deploywatch's desktop app: the engine's watcher running in the background (same config
//! file and SQLite database as the CLI), a tray icon showing the worst state, native
//! notifications, and the Leptos UI in a window that is created on demand and destroyed when
//! closed.
//!
//! [`builder`] assembles the app on any [`tauri::Builder`], so tests pass
//! `tauri::test::mock_builder()` and drive the same commands; [`run`] is the real app.
//! The GitHub token never crosses into the webview: commands only say whether one is set.

mod commands;
mod tray;
mod window;

use std::process::ExitCode;

use deploywatch_ipc::event;
use tauri::{Emitter, Manager, RunEvent, Runtime};

pub use deploywatch_resident::{
    AppError, AppState, Autostart, Changed, PAUSE, Paths, overall, report_markdown, summary,
};

/// Which shell the app runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    /// The real desktop: tray icon, main window at launch, start at login.
    Desktop {
        /// Start in the tray without opening the window (the start-at-login launch).
        hidden: bool,
    },
    /// Commands and background watcher only (tests with the mock runtime).
    Headless,
}

/// The app on `builder`: the state, every command, and a background task that pushes a new
/// dashboard to the window (`event::DASHBOARD`) and the tray after every check, pause and
/// resume. The watcher starts in `setup`, inside Tauri's Tokio runtime.
pub fn builder<R: Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
    shell: Shell,
) -> tauri::Builder<R> {
    builder
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::dashboard,
            commands::report,
            commands::report_markdown,
            commands::check_now,
            commands::pause,
            commands::resume,
            commands::history,
            commands::deploy_lags,
            commands::settings,
            commands::save_settings,
            commands::test_environment,
            commands::sign_in_start,
            commands::sign_in_wait,
            commands::sign_in_token,
            commands::sign_out,
            commands::start_demo,
            commands::take_open_report,
        ])
        .setup(move |app| {
            let handle = app.handle().clone();
            if let Shell::Desktop { hidden } = shell {
                if let Err(e) = tray::create(&handle) {
                    // No tray host is not fatal: the window and notifications still work.
                    tracing::warn!("no tray icon: {e}");
                }
                app.state::<AppState>()
                    .set_autostart(Box::new(AutostartPlugin(handle.clone())));
                let opener = handle.clone();
                app.state::<AppState>()
                    .set_open_report_hook(std::sync::Arc::new(move |project, environment| {
                        window::open_report(&opener, project, environment);
                    }));
                if !hidden {
                    window::show(&handle);
                }
            }
            start(&handle);
            Ok(())
        })
}

/// Starts the watcher over the config and a task that pushes a new dashboard to the window
/// (`event::DASHBOARD`) and the tray after every check, pause and resume. Called by the app's
/// `setup`; tests on the mock runtime (whose event loop never runs `setup`) call it themselves.
pub fn start<R: Runtime>(handle: &tauri::AppHandle<R>) {
    let mut changes = handle.state::<AppState>().subscribe();
    tauri::async_runtime::block_on(handle.state::<AppState>().start());
    // The config file is shared with the CLI and editors: notice their edits. A read of a
    // small file every 2 s (compared byte for byte) works the same whether an editor rewrites
    // the file in place or replaces it, which file-system notifications make delicate.
    let watcher = handle.clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(CONFIG_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            watcher.state::<AppState>().reload_if_changed().await;
        }
    });
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match changes.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
            // A round of checks sends one change per environment: show them at once.
            while changes.try_recv().is_ok() {}
            let state = handle.state::<AppState>();
            if let Ok(d) = state.dashboard().await {
                let _ = handle.emit(event::DASHBOARD, &d);
                tray::update(&handle, &d);
            }
        }
    });
}

struct AutostartPlugin<R: Runtime>(tauri::AppHandle<R>);

impl<R: Runtime> Autostart for AutostartPlugin<R> {
    fn set(&self, on: bool) -> Result<(), String> {
        use tauri_plugin_autostart::ManagerExt;
        let l = self.0.autolaunch();
        if on { l.enable() } else { l.disable() }.map_err(|e| e.to_string())
    }

    fn get(&self) -> bool {
        use tauri_plugin_autostart::ManagerExt;
        self.0.autolaunch().is_enabled().unwrap_or(false)
    }
}

/// How often the config file is compared with what the watcher runs.
const CONFIG_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Flag passed by the start-at-login entry: start in the tray.
const HIDDEN: &str = "--hidden";

/// Runs the desktop app until Quit. Closing the window destroys it (and its WebKit process);
/// the app stays in the tray (`prevent_exit`). A second launch focuses the first instance.
pub fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOYWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("deploywatch-app: {e}");
            return ExitCode::from(2);
        }
    };
    let hidden = std::env::args().any(|a| a == HIDDEN);
    let app = builder(
        tauri::Builder::default(),
        AppState::new(paths),
        Shell::Desktop { hidden },
    )
    .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
        window::show(app);
    }))
    .plugin(tauri_plugin_autostart::init(
        tauri_plugin_autostart::MacosLauncher::LaunchAgent,
        Some(vec![HIDDEN]),
    ))
    .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("deploywatch-app: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // Tests driving the window through WebDriver end the app by closing its window.
    let exit_on_close = std::env::var_os("DEPLOYWATCH_EXIT_ON_CLOSE").is_some();
    app.run(move |_app, event| {
        // The last window closing is not Quit: keep watching from the tray. `exit(0)` from the
        // tray's Quit comes with a code and is let through.
        if let RunEvent::ExitRequested { api, code, .. } = event
            && code.is_none()
            && !exit_on_close
        {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}
