//! Tests of the desktop app: its commands through Tauri's IPC on the mock runtime (against a
//! temporary config and database and the fake GitHub and environments), and — gated by
//! `DEPLOYWATCH_GUI_TESTS=1` — the real app window driven by WebDriver and its notifications
//! on a real D-Bus session bus.

mod big_fleet;
mod commands;
mod desktop;
mod gui;
mod harness;
mod keyring;
