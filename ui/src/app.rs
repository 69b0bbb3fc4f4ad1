//! The app shell: shared state (context), the in-app router and the navigation bar.

use deploywatch_ipc::{Dashboard, IpcError, OpenReport};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::bridge;
use crate::dashboard::DashboardView;
use crate::history::HistoryView;
use crate::report::ReportPage;
use crate::settings::SettingsView;

/// Which page is shown. No URLs: the webview never navigates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Dashboard,
    Report {
        project: String,
        environment: String,
    },
    /// `None` picks the first project.
    History {
        project: Option<String>,
    },
    Settings,
}

/// The page to start on, from the URL fragment the backend may open the window with (so a
/// report requested from the tray needs no event that could arrive before the page listens):
/// `#report/{project}/{environment}`, `#history/{project}`, `#history`, `#settings`; segments
/// are percent-encoded. Anything else starts on the dashboard.
pub fn route_from_fragment(fragment: &str) -> Route {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let parts: Vec<String> = fragment
        .trim_start_matches('#')
        .split('/')
        .map(decode)
        .collect();
    match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["report", p, e] if !p.is_empty() && !e.is_empty() => Route::Report {
            project: p.to_string(),
            environment: e.to_string(),
        },
        ["history", p] if !p.is_empty() => Route::History {
            project: Some(p.to_string()),
        },
        ["history"] => Route::History { project: None },
        ["settings"] => Route::Settings,
        _ => Route::Dashboard,
    }
}

/// The current URL fragment (empty outside a browser).
fn fragment() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        window().location().hash().unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        String::new()
    }
}

/// State shared by every view through context.
#[derive(Clone, Copy)]
pub struct AppState {
    pub route: RwSignal<Route>,
    /// The latest dashboard, or why it could not be read; `None` while loading.
    pub dashboard: RwSignal<Option<Result<Dashboard, IpcError>>>,
    /// Bumped on every `dashboard-changed` event so open views refetch their data.
    pub revision: RwSignal<u64>,
    /// The clock that relative times are shown against, ticking every few seconds.
    pub now: RwSignal<chrono::DateTime<chrono::Utc>>,
    /// The dashboard's folded projects and search text: kept while the page lives, so a
    /// report opened and closed finds the dashboard as it was left.
    pub folded: RwSignal<std::collections::BTreeSet<String>>,
    pub search: RwSignal<String>,
}

impl AppState {
    /// Project names on the dashboard, in order, without duplicates.
    pub fn projects(&self) -> Vec<String> {
        self.dashboard.with(|d| match d {
            Some(Ok(d)) => {
                let mut names: Vec<String> = Vec::new();
                for row in &d.environments {
                    if !names.contains(&row.project) {
                        names.push(row.project.clone());
                    }
                }
                names
            }
            _ => Vec::new(),
        })
    }

    /// Re-reads the dashboard (after an action whose event might not come, e.g. outside Tauri).
    pub fn reload_dashboard(self) {
        spawn_local(async move {
            let result = bridge::dashboard().await;
            self.dashboard.set(Some(result));
        });
    }
}

/// Reads the shared state.
pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

#[component]
pub fn App() -> impl IntoView {
    let state = AppState {
        route: RwSignal::new(route_from_fragment(&fragment())),
        dashboard: RwSignal::new(None),
        revision: RwSignal::new(0),
        now: RwSignal::new(bridge::now()),
        folded: RwSignal::new(Default::default()),
        search: RwSignal::new(String::new()),
    };
    provide_context(state);
    state.reload_dashboard();
    bridge::on_dashboard_changed(move |d| {
        state.dashboard.set(Some(Ok(d)));
        state.revision.update(|r| *r += 1);
    });
    let open = move |r: OpenReport| {
        state.route.set(Route::Report {
            project: r.project,
            environment: r.environment,
        });
    };
    // The tray or a notification asks for a report by an event and leaves the request in the
    // backend for a page that is still loading; a running page takes it too, so the next
    // window does not open it again.
    bridge::on_open_report(move |r| {
        open(r);
        spawn_local(async move {
            let _ = bridge::take_open_report().await;
        });
    });
    // A window opened by the tray or a notification starts on the report it was opened for.
    spawn_local(async move {
        if let Ok(Some(r)) = bridge::take_open_report().await {
            open(r);
        }
    });
    // Only the clock ticks here: data arrives by events, never by polling. Relative times
    // are shown to the minute, so the clock ticks twice a minute, not every few seconds: an
    // open window is idle between ticks.
    set_interval(
        move || state.now.set(bridge::now()),
        crate::format::CLOCK_TICK,
    );

    let available = bridge::backend_available();
    view! {
        <header class="topbar">
            <h1 class="brand">"Deploywatch"</h1>
            <Nav/>
        </header>
        <Show when=move || !available>
            <div class="banner banner-error" role="alert" data-testid="backend-unavailable">
                <strong>"Backend not available. "</strong>
                "This page runs outside the Deploywatch desktop app, so there is nothing to show. "
                "Start the app (deploywatch-app) to watch your deploys."
            </div>
        </Show>
        <main id="main" class="content">
            {move || match state.route.get() {
                Route::Dashboard => view! { <DashboardView/> }.into_any(),
                Route::Report { project, environment } => {
                    view! { <ReportPage project environment/> }.into_any()
                }
                Route::History { project } => view! { <HistoryView project/> }.into_any(),
                Route::Settings => view! { <SettingsView/> }.into_any(),
            }}
        </main>
    }
}

/// The navigation bar; the current page's button carries `aria-current`.
#[component]
fn Nav() -> impl IntoView {
    let state = use_app();
    let current = move |want: &'static str| {
        let on = match state.route.get() {
            Route::Dashboard | Route::Report { .. } => "dashboard",
            Route::History { .. } => "history",
            Route::Settings => "settings",
        } == want;
        on.then_some("page")
    };
    view! {
        <nav class="nav" aria-label="Main">
            <button type="button" data-testid="nav-dashboard" aria-current=move || current("dashboard")
                on:click=move |_| state.route.set(Route::Dashboard)>"Dashboard"</button>
            <button type="button" data-testid="nav-history" aria-current=move || current("history")
                on:click=move |_| state.route.set(Route::History { project: None })>"History"</button>
            <button type="button" data-testid="nav-settings" aria-current=move || current("settings")
                on:click=move |_| state.route.set(Route::Settings)>"Settings"</button>
        </nav>
    }
}

/// An error from the backend, shown calmly where the data would be.
#[component]
pub fn ErrorNotice(error: IpcError) -> impl IntoView {
    let unavailable = error.code == bridge::BACKEND_UNAVAILABLE;
    view! {
        <div class="notice notice-error" role="alert" data-testid="error" data-code=error.code.clone()>
            {if unavailable { "Backend not available: " } else { "Could not load: " }}
            {error.message}
        </div>
    }
}

/// A loading line for `Transition` fallbacks.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" aria-live="polite">"Loading…"</p> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_open_the_page_they_name() {
        let check = |f, expected: Route| assert_eq!(route_from_fragment(f), expected, "{f}");
        let report = |p: &str, e: &str| Route::Report {
            project: p.into(),
            environment: e.into(),
        };
        check("#report/shop/production", report("shop", "production"));
        check("#report/my%20shop/prod%2Feu", report("my shop", "prod/eu"));
        check(
            "#history/shop",
            Route::History {
                project: Some("shop".into()),
            },
        );
        check("#history", Route::History { project: None });
        check("#settings", Route::Settings);
        check("", Route::Dashboard);
        check("#report/shop", Route::Dashboard);
        check("#report//production", Route::Dashboard);
        check("#%ff%fe/x", Route::Dashboard);
    }
}
