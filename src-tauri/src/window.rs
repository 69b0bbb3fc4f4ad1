//! The main window: created on demand and destroyed when closed, so that a watcher left in
//! the tray does not keep a WebKit web process (most of the memory) alive.

use std::time::Duration;

use deploywatch_ipc::{OpenReport, event};
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindowBuilder};

pub const MAIN: &str = "main";

/// Shows the main window, creating it (and its webview) if it was closed. Returns whether it
/// had to be created (its page is then still loading).
pub fn show<R: Runtime>(app: &AppHandle<R>) -> bool {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return false;
    }
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN) else {
        tracing::error!("tauri.conf.json has no window labelled {MAIN:?}");
        return false;
    };
    match WebviewWindowBuilder::from_config(app, config).and_then(|b| b.build()) {
        Ok(w) => {
            let _ = w.set_focus();
        }
        Err(e) => tracing::error!("cannot open the window: {e}"),
    }
    true
}

/// Shows the window and asks it to open one environment's report.
pub fn open_report<R: Runtime>(app: &AppHandle<R>, project: String, environment: String) {
    let created = show(app);
    let payload = OpenReport {
        project,
        environment,
    };
    if !created {
        let _ = app.emit_to(MAIN, event::OPEN_REPORT, &payload);
        return;
    }
    // A window that was just created has no listener until its wasm has started: repeat the
    // request while the page loads (opening the same report twice is harmless).
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        for delay in [800, 1200, 2000] {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let _ = app.emit_to(MAIN, event::OPEN_REPORT, &payload);
        }
    });
}
