//! The main window: created on demand and destroyed when closed, so that a watcher left in
//! the tray does not keep a WebKit web process (most of the memory) alive.

use deploywatch_ipc::{OpenReport, event};
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindowBuilder};

use crate::state::AppState;

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

/// Shows the window and asks it to open one environment's report. A window that already
/// exists is told by an event; one that is created now has no listener until its page has
/// started, so the request waits in the state and the page takes it when it starts.
pub fn open_report<R: Runtime>(app: &AppHandle<R>, project: String, environment: String) {
    let payload = OpenReport {
        project,
        environment,
    };
    if app.get_webview_window(MAIN).is_none() {
        app.state::<AppState>().set_pending_report(payload);
        show(app);
        return;
    }
    show(app);
    let _ = app.emit_to(MAIN, event::OPEN_REPORT, &payload);
}
