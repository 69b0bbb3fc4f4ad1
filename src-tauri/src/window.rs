//! The main window: created on demand and destroyed when closed, so that a watcher left in
//! the tray does not keep a WebKit web process (most of the memory) alive.

use deploywatch_ipc::{OpenReport, event};
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindowBuilder};

use deploywatch_resident::AppState;

pub const MAIN: &str = "main";

/// Shows the main window, creating it (and its webview) if it was closed.
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN) else {
        tracing::error!("tauri.conf.json has no window labelled {MAIN:?}");
        return;
    };
    match WebviewWindowBuilder::from_config(app, config).and_then(|b| b.build()) {
        Ok(w) => {
            let _ = w.set_focus();
        }
        Err(e) => tracing::error!("cannot open the window: {e}"),
    }
}

/// Shows the window and asks it to open one environment's report. The request waits in the
/// state and is also sent as an event: a page that is still loading (a window just created)
/// takes it when it starts; a running page gets the event and takes it too, so it is not
/// left for the next window.
pub fn open_report<R: Runtime>(app: &AppHandle<R>, project: String, environment: String) {
    let payload = OpenReport {
        project,
        environment,
    };
    app.state::<AppState>().set_pending_report(payload.clone());
    show(app);
    let _ = app.emit_to(MAIN, event::OPEN_REPORT, &payload);
}
