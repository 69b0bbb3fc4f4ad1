//! Deploywatch's desktop UI: a Leptos (CSR) app compiled to wasm and shown by the Tauri app.
//!
//! [`bridge`] owns every call into Tauri; the views (`app`, `dashboard`, `report`, `history`,
//! `settings`) render what it returns; `format`, `verdict`, `glance`, `filter` and `lag_chart` are pure
//! functions with native tests. Values from the network are always rendered as text nodes.

pub mod app;
pub mod bridge;
pub mod dashboard;
pub mod filter;
pub mod format;
pub mod glance;
pub mod history;
pub mod lag_chart;
pub mod report;
pub mod settings;
pub mod verdict;

/// Mounts the app into the page, replacing the static "Loading" placeholder of index.html.
pub fn start() {
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
