//! The report view of one environment: verdict, hint, checklist with evidence, warnings and
//! the commits waiting to go live; "Check now" and "Copy as Markdown".

use deploywatch_ipc::{IpcError, ReportView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ErrorNotice, Loading, Route, use_app};
use crate::bridge;
use crate::dashboard::Sha;
use crate::format::{absolute, ci_label, relative, short_sha};
use crate::verdict::{verdict_class, verdict_label};

#[component]
pub fn ReportPage(project: String, environment: String) -> impl IntoView {
    let state = use_app();
    let (p, e) = (project.clone(), environment.clone());
    // Refetched whenever the backend reports a new dashboard (a check finished).
    let report = LocalResource::new(move || {
        state.revision.track();
        let (p, e) = (p.clone(), e.clone());
        async move { bridge::report(&p, &e).await }
    });
    let status = RwSignal::new(None::<String>);
    // Shown for manual copying when the webview refuses clipboard access.
    let markdown = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<IpcError>);
    let check_now = move |_| {
        spawn_local(async move {
            match bridge::check_now().await {
                Ok(()) => status.set(Some("Check started.".into())),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let copy = {
        let (p, e) = (project.clone(), environment.clone());
        move |_| {
            let (p, e) = (p.clone(), e.clone());
            spawn_local(async move {
                match bridge::report_markdown(&p, &e).await {
                    Ok(md) => match bridge::copy_to_clipboard(&md).await {
                        Ok(()) => {
                            markdown.set(None);
                            status.set(Some("Copied as Markdown.".into()));
                        }
                        Err(msg) => {
                            status.set(Some(format!("{msg}: select the text below and copy it.")));
                            markdown.set(Some(md));
                        }
                    },
                    Err(e) => error.set(Some(e)),
                }
            })
        }
    };
    view! {
        <section data-testid="report" aria-labelledby="report-title">
            <div class="toolbar">
                <button type="button" class="ghost" on:click=move |_| state.route.set(Route::Dashboard)>"← Dashboard"</button>
                <h2 id="report-title">{project.clone()}" / "{environment.clone()}</h2>
                <span class="spacer"></span>
                <button type="button" class="primary" data-testid="report-check-now" on:click=check_now>"Check now"</button>
                <button type="button" data-testid="copy-markdown" on:click=copy>"Copy as Markdown"</button>
            </div>
            <p class="muted" aria-live="polite" data-testid="report-status">{move || status.get()}</p>
            {move || markdown.get().map(|md| view! {
                <label class="field">
                    <span>"Report as Markdown"</span>
                    <textarea class="markdown" readonly rows="10" data-testid="report-markdown" prop:value=md></textarea>
                </label>
            })}
            {move || error.get().map(|e| view! { <ErrorNotice error=e/> })}
            <Transition fallback=|| view! { <Loading/> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! { <ReportBody report=r/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ReportBody(report: ReportView) -> impl IntoView {
    let state = use_app();
    let verdict = report.verdict.clone();
    let checked = report.checked_at.clone();
    let checked_title = absolute(&checked);
    view! {
        <div class="report-head">
            <span class=format!("badge big {}", verdict_class(Some(&verdict)))
                data-testid="verdict" data-verdict=verdict.clone()>{verdict_label(Some(&verdict))}</span>
            <dl class="facts">
                <dt>"Expected"</dt>
                <dd><Sha sha=report.expected_sha.clone() base=report.commit_url_base.clone() testid="expected-sha"/></dd>
                <dt>"Live"</dt>
                <dd><Sha sha=report.live_sha.clone() base=report.commit_url_base.clone() testid="live-sha"/></dd>
                <dt>"CI"</dt>
                <dd title=report.ci_url.clone().unwrap_or_default()>
                    {ci_label(report.ci_status.as_deref(), report.ci_conclusion.as_deref())}
                </dd>
                <dt>"Checked"</dt>
                <dd title=checked_title>{move || relative(&checked, state.now.get())}</dd>
            </dl>
        </div>
        <div class=format!("hint {}", verdict_class(Some(&verdict))) data-testid="report-hint">
            <h3>"Likely cause"</h3>
            <p>{report.hint.clone()}</p>
        </div>
        <h3>"Checks"</h3>
        <ul class="checks">
            {report.checks.into_iter().map(|c| {
                let mark = if c.ok { "✓" } else { "✗" };
                let class = if c.ok { "check ok" } else { "check fail" };
                let name = c.name.clone();
                view! {
                    <li class=class data-testid="report-check" data-ok=c.ok.to_string() data-name=name>
                        <span class="mark" aria-hidden="true">{mark}</span>
                        <span class="sr-only">{if c.ok { "passed: " } else { "failed: " }}</span>
                        <span class="check-name">{c.name}</span>
                        <span class="check-detail">{c.detail}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!report.warnings.is_empty()).then(|| view! {
            <h3>"Warnings"</h3>
            <ul class="warnings">
                {report.warnings.into_iter().map(|w| view! { <li data-testid="report-warning">{w}</li> }).collect_view()}
            </ul>
        })}
        <h3>"Waiting to go live"</h3>
        {report.waiting_error.map(|e| view! { <p class="notice" data-testid="waiting-error">{e}</p> })}
        {if report.waiting.is_empty() {
            view! { <p class="muted">"No commits waiting."</p> }.into_any()
        } else {
            view! {
                <ol class="commits">
                    {report.waiting.into_iter().map(|c| {
                        let first_line = c.message.lines().next().unwrap_or_default().to_string();
                        view! {
                            <li data-testid="waiting-commit">
                                <code class="sha" title=c.url>{short_sha(&c.sha)}</code>
                                <span class="msg">{first_line}</span>
                                <span class="muted">{c.author.unwrap_or_default()}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }.into_any()
        }}
    }
}
