//! The dashboard: every project and environment on one line each — verdict, SHAs, CI state,
//! age of the last check, the hint cut to the line — grouped by project (each group folds),
//! most urgent first, with a search box and keyboard moves; the first-run welcome when nothing
//! is configured. Updated by backend events. The order, groups, words and matching are
//! [`crate::glance`]'s.

use deploywatch_ipc::{Dashboard, EnvRow, IpcError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppState, ErrorNotice, Loading, Route, use_app};
use crate::bridge;
use crate::format::{absolute, ago, ci_label, commit_url, relative, short_sha};
use crate::glance::{self, Counts, Group, Query, Standing, step};
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

/// The search box's query, shared with every row.
#[derive(Clone, Copy)]
struct Filter(Memo<Query>);

/// The rows that the arrow keys move between: those shown (not filtered out, not folded).
const VISIBLE_ROWS: &str =
    "[data-testid=project-group]:not([hidden]) > [data-testid=env-row]:not([hidden])";

/// Moves the focus from `from` (a row, or `None` from outside the rows) one visible row down
/// or up, or to the first or last one.
fn move_focus(from: Option<web_sys::EventTarget>, to: Move) {
    use wasm_bindgen::JsCast;
    let Ok(list) = document().query_selector_all(VISIBLE_ROWS) else {
        return;
    };
    let rows: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let at = from.and_then(|f| {
        let f: &wasm_bindgen::JsValue = f.as_ref();
        rows.iter().position(|r| {
            let r: &wasm_bindgen::JsValue = r.as_ref();
            r == f
        })
    });
    let target = match to {
        Move::Down => step(rows.len(), at, true),
        Move::Up => step(rows.len(), at, false),
        Move::First => step(rows.len(), None, true),
        Move::Last => step(rows.len(), None, false),
    };
    if let Some(row) = target.and_then(|i| rows.get(i)) {
        let _ = row.focus();
    }
}

#[derive(Clone, Copy)]
enum Move {
    Down,
    Up,
    First,
    Last,
}

/// Whether a key pressed on `target` is typing (an input, a text area, a select, editable
/// text), which `/` must not interrupt.
fn typing(target: Option<web_sys::EventTarget>) -> bool {
    use wasm_bindgen::JsCast;
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(
        el.tag_name().to_ascii_uppercase().as_str(),
        "INPUT" | "TEXTAREA" | "SELECT"
    ) || el.is_content_editable()
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
    // quiet check (only its times moved) rebuilds nothing — its time cell reads the times
    // from `times` and changes its text alone, when the minute it shows changes.
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
    // Grouped by project, most urgent first; the groups are keyed by project, so a change in
    // one environment rebuilds its row alone and moves its group only if its rank changed.
    let groups = Memo::new(move |_| rows.with(|r| glance::group(r)));
    let order = Memo::new(move |_| {
        groups.with(|gs| gs.iter().map(|g| g.project.clone()).collect::<Vec<_>>())
    });
    let counts = Memo::new(move |_| rows.with(|r| Counts::of(r)));
    // Filtered in memory, on every key: each row shows or hides itself (no row is rebuilt).
    let query = Memo::new(move |_| state.search.with(|s| Query::parse(s)));
    provide_context(Filter(query));
    let shown = Memo::new(move |_| {
        query.with(|q| {
            (!q.is_empty()).then(|| rows.with(|rs| rs.iter().filter(|r| q.matches(r)).count()))
        })
    });
    let search = NodeRef::<leptos::html::Input>::new();
    // `/` goes to the search box from anywhere on the dashboard but a field being typed in.
    let slash = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "/"
            && !(ev.ctrl_key() || ev.meta_key() || ev.alt_key())
            && !typing(ev.target())
            && let Some(input) = search.get_untracked()
        {
            ev.prevent_default();
            let _ = input.focus();
            input.select();
        }
    });
    on_cleanup(move || slash.remove());
    let search_keys = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => state.search.set(String::new()),
        "ArrowDown" => {
            ev.prevent_default();
            move_focus(None, Move::First);
        }
        _ => {}
    };
    // The toolbar stays while the page shows the fleet (the search box keeps its focus and
    // caret whatever arrives); only its parts that depend on the state change.
    let paused = Memo::new(move |_| head.with(|h| h.as_ref().and_then(|h| h.paused_until.clone())));
    let overall = move || {
        let (class, sentence) = head.with(|h| {
            h.as_ref().map_or(("v-idle", ""), |h| {
                overall_view(h.overall, h.paused_until.is_some())
            })
        });
        let words = counts.with(Counts::words);
        let text = if paused.with(Option::is_some) {
            format!("Paused · {words}")
        } else {
            words
        };
        view! {
            // The state in words; the colour is the tray's.
            <span class=format!("badge big {class}") data-testid="overall" title=sentence>{text}</span>
        }
    };
    let pause_button = move || {
        match paused.get() {
        Some(until) => view! {
            <span class="muted">{move || format!("paused until {}", relative(&until, state.now.get()))}</span>
            <button type="button" data-testid="resume"
                on:click=move |_| act(state, error, bridge::resume())>"Resume"</button>
        }
        .into_any(),
        None => view! {
            <button type="button" data-testid="pause"
                on:click=move |_| act(state, error, bridge::pause())>"Pause 1 h"</button>
        }
        .into_any(),
    }
    };
    let notices = move || {
        let head = head.get()?;
        Some(view! {
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
    let demo = move || head.with(|h| h.as_ref().is_some_and(|h| h.demo));
    let toolbar = view! {
        <div class="toolbar">
            <h2 id="dash-title">"Dashboard"</h2>
            {overall}
            {move || demo().then(|| view! { <span class="chip">"Demo fleet"</span> })}
            <span class="spacer"></span>
            {move || shown.get().map(|n| view! {
                <span class="muted" data-testid="filter-count" aria-live="polite">
                    {format!("{n} of {} shown", counts.with(Counts::total))}
                </span>
            })}
            <input type="search" class="search" data-testid="search" node_ref=search
                placeholder="Filter: name or verdict   /"
                aria-label="Filter environments by project, environment or verdict"
                aria-keyshortcuts="/"
                prop:value=move || state.search.get()
                on:input=move |ev| state.search.set(event_target_value(&ev))
                on:keydown=search_keys/>
            <button type="button" class="primary" data-testid="check-now"
                on:click=move |_| act(state, error, bridge::check_now())>"Check now"</button>
            {pause_button}
        </div>
        {notices}
    };
    view! {
        {toolbar}
        {move || error.get().map(|e| view! { <ErrorNotice error=e/> })}
        // A table for assistive technology, laid out as a grid of rows: each project's group
        // is rendered only while it is on screen (`content-visibility`), which a <table>'s
        // row groups cannot do, so a fleet of hundreds costs what a screenful costs.
        <div class="fleet" role="table" aria-label="Environments">
            <div class="fleet-head" role="row">
                <span role="columnheader">"Verdict"</span>
                <span role="columnheader">"Environment"</span>
                <span role="columnheader">"Expected → live"</span>
                <span role="columnheader">"CI"</span>
                <span role="columnheader">"Checked"</span>
                <span role="columnheader">"Hint"</span>
            </div>
            <For each=move || order.get() key=|project| project.clone() let:project>
                <ProjectGroup project groups/>
            </For>
        </div>
        {move || (shown.get() == Some(0)).then(|| view! {
            <p class="muted" data-testid="no-match">"No environment matches the filter. "
                <button type="button" class="ghost" on:click=move |_| state.search.set(String::new())>"Show all"</button>
            </p>
        })}
    }
}

/// One project: its line (the summary, folding its rows, its history) and its rows. Hidden
/// whole while the search matches none of its environments.
#[component]
fn ProjectGroup(project: String, groups: Memo<Vec<Group>>) -> impl IntoView {
    let state = use_app();
    let Filter(query) = expect_context::<Filter>();
    let group = {
        let p = project.clone();
        Memo::new(move |_| groups.with(|gs| gs.iter().find(|g| g.project == p).cloned()))
    };
    let rows =
        Memo::new(move |_| group.with(|g| g.as_ref().map(|g| g.rows.clone()).unwrap_or_default()));
    let line = Memo::new(move |_| {
        group.with(|g| {
            g.as_ref()
                .map(|g| (g.summary(), g.counts.worst()))
                .unwrap_or_else(|| (String::new(), Standing::Unchecked))
        })
    });
    let folded = {
        let p = project.clone();
        Memo::new(move |_| state.folded.with(|f| f.contains(&p)))
    };
    // The group's height before it was first rendered (after that the browser remembers
    // it): its line and rows of 30 px, while folded its line alone.
    let estimate = move || {
        let rows = if folded.get() { 0 } else { rows.with(Vec::len) };
        format!("auto {}px", 28 + 30 * rows)
    };
    let none_match =
        move || query.with(|q| !q.is_empty() && rows.with(|rs| !rs.iter().any(|r| q.matches(r))));
    let toggle = {
        let p = project.clone();
        move |_| {
            state.folded.update(|f| {
                if !f.remove(&p) {
                    f.insert(p.clone());
                }
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
    view! {
        <div class="group" role="rowgroup" data-testid="project-group" data-project=project.clone()
            hidden=none_match style:contain-intrinsic-block-size=estimate>
            <div class="group-head" role="row">
                <div role="rowheader" class="group-line">
                        <button type="button" class="group-toggle" data-testid="group-toggle"
                            aria-expanded=move || if folded.get() { "false" } else { "true" }
                            on:click=toggle>
                            <span class="caret" aria-hidden="true">{move || if folded.get() { "▸" } else { "▾" }}</span>
                            <span data-testid="group-summary"
                                class=move || format!("summary s-{}", line.get().1.name())>
                                {move || line.get().0}
                            </span>
                        </button>
                        <button type="button" class="ghost small" data-testid="open-history"
                            aria-label=format!("History of {project}") on:click=open_history>"History"</button>
                </div>
            </div>
            <For each=move || rows.get() key=|row| row.clone() let:row>
                <Row row folded/>
            </For>
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

/// One environment on one line. The row is the control: a click or Enter opens its report,
/// the arrow keys move to the next or previous shown row. The hint is cut to the line; all
/// of it is in the tooltip, in the row while it has the focus, and in the report.
#[component]
fn Row(row: EnvRow, folded: Memo<bool>) -> impl IntoView {
    let state = use_app();
    let Filter(query) = expect_context::<Filter>();
    let EnvRow {
        project,
        environment,
        ..
    } = row.clone();
    let verdict = row.verdict.clone();
    let standing = Standing::of_row(&row);
    let haystack = glance::haystack(&row);
    let hidden = move || folded.get() || !query.with(|q| q.matches_text(&haystack));
    let Times(times) = expect_context::<Times>();
    let place = (project.clone(), environment.clone());
    let checked = {
        let place = place.clone();
        move || times.with(|t| t.get(&place).and_then(|(c, _)| c.clone()))
    };
    let when_title = move || {
        times.with(|t| {
            let (c, n) = t.get(&place).cloned().unwrap_or_default();
            let mut parts = Vec::new();
            if let Some(c) = c {
                parts.push(format!("Last check {}", absolute(&c)));
            }
            if let Some(n) = n {
                parts.push(format!("next check {}", absolute(&n)));
            }
            parts.join("; ")
        })
    };
    let open = {
        let (p, e) = (project.clone(), environment.clone());
        move || {
            state.route.set(Route::Report {
                project: p.clone(),
                environment: e.clone(),
            })
        }
    };
    let on_click = {
        let open = open.clone();
        move |_| open()
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let to = match ev.key().as_str() {
            "Enter" => {
                ev.prevent_default();
                open();
                return;
            }
            "ArrowDown" => Move::Down,
            "ArrowUp" => Move::Up,
            "Home" => Move::First,
            "End" => Move::Last,
            _ => return,
        };
        ev.prevent_default();
        move_focus(ev.current_target(), to);
    };
    let hint = row.hint.clone().unwrap_or_default();
    let checked_text = {
        let checked = checked.clone();
        move || checked().map_or_else(|| "—".to_string(), |t| ago(&t, state.now.get()))
    };
    view! {
        <div role="row" data-testid="env-row" class="env-row" tabindex="0" data-project=project.clone()
            data-environment=environment.clone() data-standing=standing.name()
            hidden=hidden on:click=on_click on:keydown=on_key>
            <span role="cell" class="c-verdict">
                <span class=format!("badge {}", verdict_class(verdict.as_deref()))
                    data-testid="verdict" data-verdict=verdict.clone().unwrap_or_default()>
                    {verdict_label(verdict.as_deref())}
                </span>
                {row.incident_open.then(|| view! {
                    <span class="chip alert" data-testid="incident" title="An incident is open">
                        "!"<span class="sr-only">" incident open"</span>
                    </span>
                })}
            </span>
            <span role="rowheader" class="c-env" title=format!("{project} / {environment}")>
                <span class="project">{project.clone()}</span>
                " / "
                <span class="env">{environment.clone()}</span>
            </span>
            <span role="cell" class="c-sha">
                <Sha sha=row.expected_sha.clone() base=row.commit_url_base.clone() testid="expected-sha"/>
                <span class="arrow" aria-hidden="true">" → "</span>
                <Sha sha=row.live_sha.clone() base=row.commit_url_base.clone() testid="live-sha"/>
            </span>
            <span role="cell" class="c-ci" data-testid="ci" title=row.ci_url.clone().unwrap_or_default()>
                {ci_label(row.ci_status.as_deref(), row.ci_conclusion.as_deref())}
            </span>
            <span role="cell" class="c-when" data-testid="checked-at" title=when_title
                class:muted=move || checked().is_none()>{checked_text}</span>
            <span role="cell" class="c-hint" data-testid="hint" title=hint.clone()>{hint.clone()}</span>
        </div>
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
