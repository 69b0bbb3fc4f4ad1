//! The history browser of one project: filters, a paged timeline and the deploy-lag chart.

use deploywatch_ipc::{HistoryRow, LagRow};
use leptos::prelude::*;

use crate::app::{ErrorNotice, Loading, Route, use_app};
use crate::bridge;
use crate::filter::{HistoryFilter, Pager};
use crate::format::{absolute, format_duration, kind_label, relative, short_sha};
use crate::lag_chart::{self, HEIGHT, LEFT, WIDTH};
use crate::verdict::{VERDICTS, verdict_class, verdict_label};

#[component]
pub fn HistoryView(project: Option<String>) -> impl IntoView {
    let state = use_app();
    let projects = Memo::new(move |_| state.projects());
    // The project shown: the one asked for, else the first on the dashboard.
    let chosen = Memo::new(move |_| project.clone().or_else(|| projects.get().first().cloned()));
    view! {
        <section data-testid="history" aria-labelledby="history-title">
            <div class="toolbar">
                <h2 id="history-title">"History"</h2>
                <label class="inline">
                    <span>"Project"</span>
                    <select name="project" on:change=move |ev| {
                        state.route.set(Route::History { project: Some(event_target_value(&ev)) })
                    }>
                        {move || projects.get().into_iter().map(|p| {
                            let selected = chosen.get().as_deref() == Some(p.as_str());
                            view! { <option value=p.clone() selected=selected>{p.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            {move || match chosen.get() {
                Some(p) => view! { <ProjectHistory project=p/> }.into_any(),
                None => view! {
                    <p class="muted">"No projects yet: history appears once a project is watched."</p>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ProjectHistory(project: String) -> impl IntoView {
    let state = use_app();
    let filter = RwSignal::new(HistoryFilter::default());
    let pager = RwSignal::new(Pager::default());
    let environments = {
        let project = project.clone();
        Memo::new(move |_| {
            state.dashboard.with(|d| match d {
                Some(Ok(d)) => d
                    .environments
                    .iter()
                    .filter(|r| r.project == project)
                    .map(|r| r.environment.clone())
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
        })
    };
    let page = {
        let project = project.clone();
        LocalResource::new(move || {
            state.revision.track();
            let query = filter.with(|f| f.to_query(&project, pager.with(Pager::current)));
            async move { bridge::history(&query).await }
        })
    };
    let lags = {
        let project = project.clone();
        LocalResource::new(move || {
            state.revision.track();
            let env = filter.with(|f| f.environment.clone());
            let project = project.clone();
            async move {
                let env = (!env.is_empty()).then_some(env);
                bridge::deploy_lags(&project, env.as_deref()).await
            }
        })
    };
    // Any filter change starts again from the newest page.
    let set_filter = move |f: &dyn Fn(&mut HistoryFilter)| {
        filter.update(|x| f(x));
        pager.set(Pager::default());
    };
    view! {
        <form class="filters" on:submit=|ev| ev.prevent_default() aria-label="History filters">
            <label>
                <span>"Environment"</span>
                <select name="environment" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_filter(&|f| f.environment = v.clone());
                }>
                    <option value="">"All"</option>
                    {move || environments.get().into_iter().map(|e| view! { <option value=e.clone()>{e.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                <span>"Verdict"</span>
                <select name="verdict" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_filter(&|f| f.verdict = v.clone());
                }>
                    <option value="">"All"</option>
                    {VERDICTS.iter().map(|v| view! { <option value=*v>{verdict_label(Some(v))}</option> }).collect_view()}
                </select>
            </label>
            <label>
                <span>"From"</span>
                <input type="date" name="since" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_filter(&|f| f.from = v.clone());
                }/>
            </label>
            <label>
                <span>"To"</span>
                <input type="date" name="until" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_filter(&|f| f.to = v.clone());
                }/>
            </label>
        </form>
        <h3>"Deploy lag (push → live)"</h3>
        <Transition fallback=|| view! { <Loading/> }>
            {move || lags.get().map(|r| match r {
                Ok(rows) => view! { <LagChart rows=rows.clone()/><LagFigures rows/> }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
        <h3>"Timeline"</h3>
        <Transition fallback=|| view! { <Loading/> }>
            {move || page.get().map(|r| match r {
                Ok(page) => {
                    let next = page.next.clone();
                    let empty = page.events.is_empty();
                    view! {
                        {empty.then(|| view! { <p class="muted" data-testid="history-empty">"No events match."</p> })}
                        <ol class="timeline">
                            {page.events.into_iter().map(|row| view! { <Event row/> }).collect_view()}
                        </ol>
                        <div class="pager">
                            <button type="button" data-testid="history-newer"
                                disabled=move || !pager.with(Pager::has_newer)
                                on:click=move |_| { pager.update(|p| { p.newer(); }); }>"← Newer"</button>
                            <span class="muted">{move || format!("Page {}", pager.with(Pager::page_number))}</span>
                            <button type="button" data-testid="history-older" disabled=next.is_none()
                                on:click=move |_| {
                                    if let Some(n) = next.clone() { pager.update(|p| p.older(n)); }
                                }>"Older →"</button>
                        </div>
                    }.into_any()
                }
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Event(row: HistoryRow) -> impl IntoView {
    let state = use_app();
    let at = row.at.clone();
    let title = absolute(&at);
    view! {
        <li class=format!("event kind-{}", row.kind) data-testid="history-event" data-kind=row.kind.clone()>
            <time title=title>{move || relative(&at, state.now.get())}</time>
            <span class="kind">{kind_label(&row.kind)}</span>
            {row.environment.map(|e| view! { <span class="env">{e}</span> })}
            {row.sha.map(|s| view! { <code class="sha" title=s.clone()>{short_sha(&s)}</code> })}
            {row.verdict.map(|v| view! {
                <span class=format!("badge {}", verdict_class(Some(&v)))>{verdict_label(Some(&v))}</span>
            })}
            <span class="detail">{row.detail}</span>
        </li>
    }
}

/// Under the chart: per environment, median, p90 and worst of push → live, push → CI green
/// and CI green → live, and over how many deploys (as `deploywatch lag` prints them).
#[component]
fn LagFigures(rows: Vec<LagRow>) -> impl IntoView {
    let figures = lag_chart::figures(&rows);
    if figures.is_empty() {
        return ().into_any();
    }
    let cell = |f: &Option<lag_chart::Figures>| match f {
        Some(f) => format!(
            "{} · {} · {} ({})",
            format_duration(f.median),
            format_duration(f.p90),
            format_duration(f.worst),
            f.count
        ),
        None => "–".to_string(),
    };
    view! {
        <table class="lag-figures" data-testid="lag-figures">
            <caption class="muted">"median · p90 · worst (deploys)"</caption>
            <thead><tr>
                <th scope="col">"Environment"</th>
                <th scope="col">"Push → live"</th>
                <th scope="col">"Push → CI green"</th>
                <th scope="col">"CI green → live"</th>
            </tr></thead>
            <tbody>
                {figures.into_iter().map(|f| view! {
                    <tr>
                        <th scope="row">{f.environment.clone()}</th>
                        <td>{cell(&f.push_to_live)}</td>
                        <td>{cell(&f.push_to_ci)}</td>
                        <td>{cell(&f.ci_to_live)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The deploy-lag chart as inline SVG (geometry from [`lag_chart::layout`]).
#[component]
fn LagChart(rows: Vec<LagRow>) -> impl IntoView {
    let chart = lag_chart::layout(&rows);
    if chart.bars.is_empty() {
        return view! { <p class="muted" data-testid="lag-empty">"No deploy has gone live yet."</p> }.into_any();
    }
    let summary = format!(
        "{} deploys; bar height is the time from push to first seen live",
        chart.bars.len()
    );
    view! {
        <svg class="lag-chart" data-testid="lag-chart" role="img" aria-label=summary
            viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="xMidYMid meet">
            {chart.ticks.into_iter().map(|t| view! {
                <line class="grid" x1=LEFT x2=WIDTH y1=t.y y2=t.y></line>
                <text class="axis" x=LEFT - 6.0 y=t.y + 4.0 text-anchor="end">{t.label}</text>
            }).collect_view()}
            {chart.bars.into_iter().map(|b| view! {
                <rect class="bar" data-testid="lag-bar" x=b.x y=b.y width=b.width height=b.height rx="2">
                    <title>{b.label}</title>
                </rect>
            }).collect_view()}
        </svg>
    }.into_any()
}
