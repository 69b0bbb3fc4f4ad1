//! The dashboard: every project and environment with its verdict, SHAs, CI state and check
//! times; the first-run welcome when nothing is configured. Updated by backend events.

use deploywatch_ipc::{Dashboard, EnvRow, IpcError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppState, ErrorNotice, Loading, Route, use_app};
use crate::bridge;
use crate::format::{absolute, ci_label, commit_url, relative, short_sha};
use crate::verdict::{overall_view, verdict_class, verdict_label};

/// What the dashboard page shows as a whole; it changes rarely, so a new dashboard pushed by
/// the backend (after every few checks) does not rebuild the page, only what changed in it.
#[derive(Clone, PartialEq)]
enum Phase {
    Loading,
    Failed(IpcError),
    Welcome,
    Fleet,
}

#[component]
pub fn DashboardView() -> impl IntoView {
    let state = use_app();
    let phase = Memo::new(move |_| {
        state.dashboard.with(|d| match d {
            None => Phase::Loading,
            Some(Err(e)) => Phase::Failed(e.clone()),
            Some(Ok(d)) if d.empty => Phase::Welcome,
            Some(Ok(_)) => Phase::Fleet,
        })
    });
    view! {
        <section data-testid="dashboard" aria-labelledby="dash-title">
            {move || match phase.get() {
                Phase::Loading => view! { <Loading/> }.into_any(),
                Phase::Failed(e) => view! {
                    <h2 id="dash-title">"Dashboard"</h2>
                    <ErrorNotice error=e/>
                }.into_any(),
                Phase::Welcome => view! { <Welcome/> }.into_any(),
                Phase::Fleet => view! { <Fleet/> }.into_any(),
            }}
        </section>
    }
}

/// The parts of the dashboard above the table, compared as a whole: the toolbar and notices
/// are rebuilt only when one of them changes.
#[derive(Clone, PartialEq)]
struct Head {
    overall: deploywatch_ipc::Overall,
    paused_until: Option<String>,
    demo: bool,
    config_error: Option<String>,
    conditions: Vec<deploywatch_ipc::WatcherCondition>,
}

impl Head {
    fn of(d: &Dashboard) -> Head {
        Head {
            overall: d.overall,
            paused_until: d.paused_until.clone(),
            demo: d.demo,
            config_error: d.config_error.clone(),
            conditions: d.conditions.clone(),
        }
    }
}

/// Runs a backend action from a button, showing its error (if any) in `error`.
fn act(
    state: AppState,
    error: RwSignal<Option<IpcError>>,
    action: impl std::future::Future<Output = Result<(), IpcError>> + 'static,
) {
    spawn_local(async move {
        match action.await {
            Ok(()) => {
                error.set(None);
                state.reload_dashboard();
            }
            Err(e) => error.set(Some(e)),
        }
    });
}

#[component]
fn Fleet() -> impl IntoView {
    let state = use_app();
    let error = RwSignal::new(None::<IpcError>);
    let head = Memo::new(move |_| {
        state.dashboard.with(|d| match d {
            Some(Ok(d)) => Some(Head::of(d)),
            _ => None,
        })
    });
    // Each row is keyed by its content but for the times of its checks: a row whose
    // environment did not change keeps its elements, one that changed is rebuilt alone, and a
    // quiet check (only its times moved) rebuilds nothing — its time cells read the times
    // from `times` and change their text alone, when the minute they show changes.
    let rows = Memo::new(move |_| {
        state.dashboard.with(|d| match d {
            Some(Ok(d)) => d.environments.iter().map(untimed).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let times = Memo::new(move |_| {
        state.dashboard.with(|d| match d {
            Some(Ok(d)) => d
                .environments
                .iter()
                .map(|r| {
                    (
                        (r.project.clone(), r.environment.clone()),
                        (r.checked_at.clone(), r.next_check_at.clone()),
                    )
                })
                .collect::<std::collections::HashMap<_, _>>(),
            _ => Default::default(),
        })
    });
    provide_context(Times(times));
    let toolbar = move || {
        let head = head.get()?;
        let paused = head.paused_until.clone();
        let (class, sentence) = overall_view(head.overall, paused.is_some());
        let pause_button = match paused.clone() {
            Some(_) => view! {
                <button type="button" data-testid="resume"
                    on:click=move |_| act(state, error, bridge::resume())>"Resume"</button>
            }
            .into_any(),
            None => view! {
                <button type="button" data-testid="pause"
                    on:click=move |_| act(state, error, bridge::pause())>"Pause 1 h"</button>
            }
            .into_any(),
        };
        Some(view! {
            <div class="toolbar">
                <h2 id="dash-title">"Dashboard"</h2>
                <span class=format!("badge big {class}") data-testid="overall">{sentence}</span>
                {head.demo.then(|| view! { <span class="chip">"Demo fleet"</span> })}
                {paused.map(|until| {
                    let until = until.clone();
                    view! { <span class="muted">{move || format!("until {}", relative(&until, state.now.get()))}</span> }
                })}
                <span class="spacer"></span>
                <button type="button" class="primary" data-testid="check-now"
                    on:click=move |_| act(state, error, bridge::check_now())>"Check now"</button>
                {pause_button}
            </div>
            {head.config_error.map(|message| view! {
                <div class="notice notice-error" role="alert" data-testid="config-edit-error">
                    <strong>"The config file has an error; still watching the previous configuration. "</strong>
                    <span>{message}</span>
                </div>
            })}
            {head.conditions.into_iter().map(|c| {
                let class = if c.kind == "offline" { "notice notice-idle" } else { "notice notice-info" };
                view! {
                    <div class=class role="status" data-testid="watcher-condition" data-kind=c.kind
                        title=absolute(&c.since)>{c.message}</div>
                }
            }).collect_view()}
        })
    };
    view! {
        {toolbar}
        {move || error.get().map(|e| view! { <ErrorNotice error=e/> })}
        <div class="table-wrap">
            <table class="fleet">
                <thead>
                    <tr>
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Verdict"</th>
                        <th scope="col">"Expected"</th>
                        <th scope="col">"Live"</th>
                        <th scope="col">"CI"</th>
                        <th scope="col">"Last check"</th>
                        <th scope="col">"Next check"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get() key=|row| row.clone() let:row>
                        <Row row/>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

/// A SHA cell: short text with the full SHA and commit URL as a tooltip. Plain text, not a
/// link, because the webview must never navigate away from the app.
#[component]
pub fn Sha(sha: Option<String>, base: String, testid: &'static str) -> impl IntoView {
    match sha {
        Some(sha) => {
            let title = commit_url(&base, &sha);
            view! {
                <code class="sha" data-testid=testid data-sha=sha.clone() title=title>{short_sha(&sha)}</code>
            }
            .into_any()
        }
        None => view! { <span class="muted" data-testid=testid>"—"</span> }.into_any(),
    }
}

/// A row without the times of its checks: what a row is keyed by.
fn untimed(row: &EnvRow) -> EnvRow {
    EnvRow {
        checked_at: None,
        next_check_at: None,
        ..row.clone()
    }
}

/// (project, environment) → (checked at, next check at).
type TimesByEnv = std::collections::HashMap<(String, String), (Option<String>, Option<String>)>;

/// The times of each environment's last and next check, by (project, environment).
#[derive(Clone, Copy)]
struct Times(Memo<TimesByEnv>);

#[component]
fn Row(row: EnvRow) -> impl IntoView {
    let state = use_app();
    let EnvRow {
        project,
        environment,
        ..
    } = row.clone();
    let verdict = row.verdict.clone();
    let Times(times) = expect_context::<Times>();
    let place = (project.clone(), environment.clone());
    let time_of = move |next: bool| {
        let place = place.clone();
        move || {
            times.with(|t| {
                t.get(&place)
                    .and_then(|(c, n)| if next { n.clone() } else { c.clone() })
            })
        }
    };
    let (checked, next) = (time_of(false), time_of(true));
    let open_report = {
        let (p, e) = (project.clone(), environment.clone());
        move |_| {
            state.route.set(Route::Report {
                project: p.clone(),
                environment: e.clone(),
            })
        }
    };
    let open_history = {
        let p = project.clone();
        move |_| {
            state.route.set(Route::History {
                project: Some(p.clone()),
            })
        }
    };
    // A time cell: its text and title follow the time (the row is kept when only that moves).
    let when = move |t: Box<dyn Fn() -> Option<String> + Send + Sync>| {
        let t = std::sync::Arc::new(t);
        let (for_title, for_class, for_text) = (t.clone(), t.clone(), t);
        view! {
            <span title=move || for_title().map(|t| absolute(&t)).unwrap_or_default()
                class=move || if for_class().is_none() { "muted" } else { "" }>
                {move || for_text().map_or_else(|| "—".to_string(), |t| relative(&t, state.now.get()))}
            </span>
        }
    };
    view! {
        <tr data-testid="env-row" data-project=project.clone() data-environment=environment.clone()>
            <th scope="row">
                <span class="project">{project.clone()}</span>
                " / "
                <span class="env">{environment.clone()}</span>
                {row.hint.clone().map(|h| view! { <div class="hint-line">{h}</div> })}
            </th>
            <td>
                <span class=format!("badge {}", verdict_class(verdict.as_deref()))
                    data-testid="verdict" data-verdict=verdict.clone().unwrap_or_default()>
                    {verdict_label(verdict.as_deref())}
                </span>
                {row.incident_open.then(|| view! { <span class="chip alert">"incident"</span> })}
            </td>
            <td><Sha sha=row.expected_sha.clone() base=row.commit_url_base.clone() testid="expected-sha"/></td>
            <td><Sha sha=row.live_sha.clone() base=row.commit_url_base.clone() testid="live-sha"/></td>
            <td data-testid="ci" title=row.ci_url.clone().unwrap_or_default()>
                {ci_label(row.ci_status.as_deref(), row.ci_conclusion.as_deref())}
            </td>
            <td data-testid="checked-at">{when(Box::new(checked))}</td>
            <td data-testid="next-check-at">{when(Box::new(next))}</td>
            <td class="actions">
                <button type="button" data-testid="open-report" on:click=open_report
                    aria-label=format!("Report for {project} / {environment}")>"Report"</button>
                <button type="button" class="ghost" data-testid="open-history" on:click=open_history>"History"</button>
            </td>
        </tr>
    }
}

/// First run: nothing configured yet.
#[component]
fn Welcome() -> impl IntoView {
    let state = use_app();
    let error = RwSignal::new(None::<IpcError>);
    let busy = RwSignal::new(false);
    let try_demo = move |_| {
        busy.set(true);
        spawn_local(async move {
            match bridge::start_demo().await {
                Ok(d) => state.dashboard.set(Some(Ok(d))),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="welcome" data-testid="welcome">
            <h2 id="dash-title">"Welcome to Deploywatch"</h2>
            <p>"Deploywatch tells you whether the code you pushed is what is actually live: it reads "
               "the commit each running build reports, compares it with GitHub, and names the cause "
               "when a deploy did not land."</p>
            <p>"Nothing is configured yet. See it work in a minute with a simulated fleet, "
               "or add your own project."</p>
            <div class="row">
                <button type="button" class="primary" data-testid="try-demo" on:click=try_demo
                    disabled=move || busy.get()>"Try the demo fleet"</button>
                <button type="button" on:click=move |_| state.route.set(Route::Settings)>"Add a project"</button>
            </div>
            {move || error.get().map(|e| view! { <ErrorNotice error=e/> })}
        </div>
    }
}
