//! The `deploywatch-app` binary: the desktop app (see the library for everything it does).

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    deploywatch_app::run()
}
