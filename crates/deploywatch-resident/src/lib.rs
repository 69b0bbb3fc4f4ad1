//! The desktop's resident side: what runs all day in the background and links neither GTK
//! nor WebKit. [`AppState`] holds the watcher over the config (the same file and SQLite
//! database as the CLI), pause, settings and their outside edits, sign-in into the keyring,
//! the demo fleet, and answers every request of the window; [`tray_model`] is what a tray
//! shows of a [`deploywatch_ipc::Dashboard`], and [`tray::Tray`] the resident process's own
//! tray icon (Linux: StatusNotifierItem over D-Bus). The GitHub token stays here: requests
//! only say whether one is set.

mod convert;
mod error;
mod form;
pub mod serve;
mod state;
pub mod tray;
pub mod tray_model;

pub use error::AppError;
pub use serve::{Resident, Windows};
pub use state::{AppState, Autostart, Changed, Paths, overall};
pub use tray_model::{MenuContent, TrayAction, summary};
