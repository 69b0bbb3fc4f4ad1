//! Settings, all without a terminal: GitHub sign-in (device flow or pasted token), the API
//! URL, projects and environments (with a "Test" button each), schedule and notifications.
//! The backend validates and writes the config file atomically; its errors show by the form.

use deploywatch_ipc::{DeviceCode, EnvironmentForm, IpcError, ProjectForm, Settings, TestResult};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{ErrorNotice, Loading};
use crate::bridge;

/// `None` for an empty field, so optional config keys are left out rather than set to "".
fn opt(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

/// Splits a comma-separated list (`CI, Release`), dropping empty items.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A new environment with the config defaults filled in.
pub fn new_environment() -> EnvironmentForm {
    EnvironmentForm {
        replicas: 1,
        follows: "branch".into(),
        ..EnvironmentForm::default()
    }
}

/// A new project with the config defaults filled in.
pub fn new_project() -> ProjectForm {
    ProjectForm {
        branch: "main".into(),
        ..ProjectForm::default()
    }
}

#[component]
pub fn SettingsView() -> impl IntoView {
    let form = RwSignal::new(None::<Settings>);
    let load_error = RwSignal::new(None::<IpcError>);
    spawn_local(async move {
        match bridge::settings().await {
            Ok(s) => form.set(Some(s)),
            Err(e) => load_error.set(Some(e)),
        }
    });
    let loaded = Memo::new(move |_| form.with(Option::is_some));
    let failed = Memo::new(move |_| load_error.with(Option::is_some));
    view! {
        <section data-testid="settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            {move || load_error.get().map(|e| view! { <ErrorNotice error=e/> })}
            {move || {
                // Memos, not `form` itself: this branch must re-run only when loading ends.
                // Tracking `form` here rebuilt the whole form on every keystroke (the input
                // lost focus) and on save (the new form's "Saved." flag started out false).
                match (loaded.get(), failed.get()) {
                    (true, _) => view! { <SettingsForm form/> }.into_any(),
                    (false, false) => view! { <Loading/> }.into_any(),
                    (false, true) => ().into_any(),
                }
            }}
        </section>
    }
}

/// A text input bound to one field of the loaded settings.
fn text_field(
    form: RwSignal<Option<Settings>>,
    label: &'static str,
    name: &'static str,
    get: impl Fn(&Settings) -> String + Copy + Send + Sync + 'static,
    set: impl Fn(&mut Settings, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="text" name=name autocomplete="off" spellcheck="false"
                prop:value=move || form.with(|s| s.as_ref().map(get).unwrap_or_default())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    form.update(|s| if let Some(s) = s { set(s, v) });
                }/>
        </label>
    }
}

/// A command as one word per line, bound to a list of the loaded settings.
fn words_field(
    form: RwSignal<Option<Settings>>,
    label: &'static str,
    name: &'static str,
    get: impl Fn(&Settings) -> &Vec<String> + Copy + Send + Sync + 'static,
    set: impl Fn(&mut Settings, Vec<String>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <textarea name=name rows="3" autocomplete="off" spellcheck="false"
                placeholder="e.g.\n./recreate.sh\nweb"
                prop:value=move || form.with(|s| s.as_ref().map(|s| get(s).join("\n")).unwrap_or_default())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    // Kept as typed (blank lines too, or the caret would jump); the resident
                    // trims the words and drops blank ones when it writes the file.
                    let lines = v.split('\n').map(String::from).collect();
                    form.update(|s| if let Some(s) = s { set(s, lines) });
                }></textarea>
        </label>
    }
}

/// A checkbox bound to one flag of the loaded settings.
fn check_field(
    form: RwSignal<Option<Settings>>,
    label: &'static str,
    name: &'static str,
    get: impl Fn(&Settings) -> bool + Copy + Send + Sync + 'static,
    set: impl Fn(&mut Settings, bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="check-field">
            <input type="checkbox" name=name
                prop:checked=move || form.with(|s| s.as_ref().is_some_and(get))
                on:change=move |ev| {
                    let v = event_target_checked(&ev);
                    form.update(|s| if let Some(s) = s { set(s, v) });
                }/>
            <span>{label}</span>
        </label>
    }
}

#[component]
fn SettingsForm(form: RwSignal<Option<Settings>>) -> impl IntoView {
    let save_error = RwSignal::new(None::<IpcError>);
    // The settings as last saved: "Saved." shows while the form still equals them, so it
    // stays after a save and goes away with the next edit.
    let saved = RwSignal::new(None::<Settings>);
    let saving = RwSignal::new(false);
    let project_count =
        Memo::new(move |_| form.with(|s| s.as_ref().map_or(0, |s| s.projects.len())));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = form.get_untracked() else {
            return;
        };
        saving.set(true);
        saved.set(None);
        spawn_local(async move {
            match bridge::save_settings(&current).await {
                Ok(s) => {
                    saved.set(Some(s.clone()));
                    form.set(Some(s));
                    save_error.set(None);
                }
                Err(e) => save_error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    view! {
        <SignIn form/>
        <form class="settings-form" on:submit=save aria-describedby="settings-error">
            <fieldset>
                <legend>"GitHub"</legend>
                {text_field(form, "API URL (GitHub Enterprise: https://HOST/api/v3)", "api_url",
                    |s| s.api_url.clone(), |s, v| s.api_url = v)}
            </fieldset>
            <fieldset>
                <legend>"Projects"</legend>
                {move || (0..project_count.get()).map(|i| view! { <ProjectEditor form index=i/> }).collect_view()}
                <button type="button" data-testid="add-project"
                    on:click=move |_| form.update(|s| if let Some(s) = s { s.projects.push(new_project()) })>
                    "Add project"
                </button>
            </fieldset>
            <fieldset>
                <legend>"Schedule"</legend>
                <p class="muted">"Durations like 500ms, 10s, 5m, 1h."</p>
                <div class="grid">
                    {text_field(form, "Grace after CI", "grace", |s| s.grace.clone(), |s, v| s.grace = v)}
                    {text_field(form, "CI timeout", "ci_timeout", |s| s.ci_timeout.clone(), |s, v| s.ci_timeout = v)}
                    {text_field(form, "Fast interval", "fast_interval", |s| s.fast_interval.clone(), |s, v| s.fast_interval = v)}
                    {text_field(form, "Idle interval", "idle_interval", |s| s.idle_interval.clone(), |s, v| s.idle_interval = v)}
                    {text_field(form, "Request timeout", "timeout", |s| s.timeout.clone(), |s, v| s.timeout = v)}
                    <label class="field">
                        <span>"Checks before alerting"</span>
                        <input type="number" name="confirm" min="1"
                            prop:value=move || form.with(|s| s.as_ref().map_or(0, |s| s.confirm)).to_string()
                            on:change=move |ev| {
                                if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                                    form.update(|s| if let Some(s) = s { s.confirm = v });
                                }
                            }/>
                    </label>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Actions on incidents"</legend>
                <p class="notice notice-warning" role="note" data-testid="actions-warning">
                    <strong>"These commands run on this computer, as you"</strong>
                    ", whenever an incident opens, changes cause or resolves — with no shell and no \
                     prompt. Only enter commands you would run yourself. One word per line; what \
                     happened reaches the command as DEPLOYWATCH_* variables."
                </p>
                <div class="grid">
                    {words_field(form, "When an incident opens", "on_open", |s| &s.on_open, |s, v| s.on_open = v)}
                    {words_field(form, "When its cause changes", "on_cause", |s| &s.on_cause, |s, v| s.on_cause = v)}
                    {words_field(form, "When it resolves", "on_resolve", |s| &s.on_resolve, |s, v| s.on_resolve = v)}
                    {text_field(form, "Time limit", "action_timeout", |s| s.action_timeout.clone(), |s, v| s.action_timeout = v)}
                </div>
            </fieldset>
            <fieldset>
                <legend>"Notifications and startup"</legend>
                {check_field(form, "Desktop notifications", "desktop_notifications",
                    |s| s.desktop_notifications, |s, v| s.desktop_notifications = v)}
                {text_field(form, "Webhook URL (optional)", "webhook",
                    |s| s.webhook.clone().unwrap_or_default(), |s, v| s.webhook = opt(v))}
                <label class="field">
                    <span>"Webhook format"</span>
                    <select name="webhook_format" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        form.update(|s| if let Some(s) = s { s.webhook_format = v });
                    }>
                        {[("slack", "Slack-compatible"), ("teams", "Microsoft Teams"), ("discord", "Discord"), ("json", "JSON with the whole report")]
                            .into_iter().map(|(f, label)| {
                                let selected = move || form.with(|s| s.as_ref().is_some_and(|s| s.webhook_format == f));
                                view! { <option value=f selected=selected>{label}</option> }
                            }).collect_view()}
                    </select>
                </label>
                {check_field(form, "Tell me when a deploy is verified live", "verified_live",
                    |s| s.verified_live, |s, v| s.verified_live = v)}
                {check_field(form, "Start at login", "start_at_login",
                    |s| s.start_at_login, |s, v| s.start_at_login = v)}
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="primary" data-testid="save-settings"
                    disabled=move || saving.get()>"Save"</button>
                <span class="muted">{move || form.with(|s| s.as_ref().map(|s| format!("Writes {}", s.config_path)))}</span>
                {move || saved.with(|saved| saved.is_some() && form.with(|f| f == saved)).then(|| view! { <span class="ok-text" role="status" data-testid="settings-saved">"Saved."</span> })}
            </div>
            <div id="settings-error" aria-live="assertive">
                {move || save_error.get().map(|e| view! {
                    <div class="notice notice-error" role="alert" data-testid="settings-error" data-code=e.code.clone()>
                        <strong>"Not saved: "</strong>{e.message}" (the previous configuration is kept)"
                    </div>
                })}
            </div>
        </form>
    }
}

#[component]
fn ProjectEditor(form: RwSignal<Option<Settings>>, index: usize) -> impl IntoView {
    let i = index;
    // Every accessor tolerates a stale index: the list re-renders right after a removal.
    fn project(s: &Settings, i: usize) -> Option<&ProjectForm> {
        s.projects.get(i)
    }
    let env_count = Memo::new(move |_| {
        form.with(|s| {
            s.as_ref()
                .and_then(|s| project(s, i))
                .map_or(0, |p| p.environments.len())
        })
    });
    let title = move || {
        form.with(|s| {
            s.as_ref()
                .and_then(|s| project(s, i))
                .map(|p| p.name.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <div class="project-card" data-testid="project-form">
            <div class="card-head">
                <h3>{move || { let t = title(); if t.is_empty() { "New project".to_string() } else { t } }}</h3>
                <button type="button" class="ghost danger" data-testid="remove-project"
                    on:click=move |_| form.update(|s| if let Some(s) = s && i < s.projects.len() { s.projects.remove(i); })>
                    "Remove project"
                </button>
            </div>
            <div class="grid">
                {text_field(form, "Name", "name",
                    move |s| project(s, i).map(|p| p.name.clone()).unwrap_or_default(),
                    move |s, v| if let Some(p) = s.projects.get_mut(i) { p.name = v })}
                {text_field(form, "Repository (owner/name)", "repo",
                    move |s| project(s, i).map(|p| p.repo.clone()).unwrap_or_default(),
                    move |s, v| if let Some(p) = s.projects.get_mut(i) { p.repo = v })}
                {text_field(form, "Branch", "branch",
                    move |s| project(s, i).map(|p| p.branch.clone()).unwrap_or_default(),
                    move |s, v| if let Some(p) = s.projects.get_mut(i) { p.branch = v })}
                <label class="field">
                    <span>"CI workflows (comma-separated; empty = any)"</span>
                    // Applied on change, not on every key, so typing ", " is not undone.
                    <input type="text" name="workflows" autocomplete="off"
                        prop:value=move || form.with(|s| s.as_ref().and_then(|s| project(s, i)).map(|p| p.workflows.join(", ")).unwrap_or_default())
                        on:change=move |ev| {
                            let v = split_list(&event_target_value(&ev));
                            form.update(|s| if let Some(p) = s.as_mut().and_then(|s| s.projects.get_mut(i)) { p.workflows = v });
                        }/>
                </label>
                {text_field(form, "Image (optional, {sha} expands)", "image",
                    move |s| project(s, i).and_then(|p| p.image.clone()).unwrap_or_default(),
                    move |s, v| if let Some(p) = s.projects.get_mut(i) { p.image = opt(v) })}
            </div>
            <h4>"Environments"</h4>
            {move || (0..env_count.get()).map(|j| view! { <EnvironmentEditor form project=i index=j/> }).collect_view()}
            <button type="button" data-testid="add-environment"
                on:click=move |_| form.update(|s| if let Some(p) = s.as_mut().and_then(|s| s.projects.get_mut(i)) { p.environments.push(new_environment()) })>
                "Add environment"
            </button>
        </div>
    }
}

#[component]
fn EnvironmentEditor(
    form: RwSignal<Option<Settings>>,
    project: usize,
    index: usize,
) -> impl IntoView {
    let (i, j) = (project, index);
    fn env(s: &Settings, i: usize, j: usize) -> Option<&EnvironmentForm> {
        s.projects.get(i)?.environments.get(j)
    }
    fn env_mut(s: &mut Settings, i: usize, j: usize) -> Option<&mut EnvironmentForm> {
        s.projects.get_mut(i)?.environments.get_mut(j)
    }
    let test = RwSignal::new(None::<Result<TestResult, IpcError>>);
    let testing = RwSignal::new(false);
    let run_test = move |_| {
        let Some(e) = form.with_untracked(|s| s.as_ref().and_then(|s| env(s, i, j)).cloned())
        else {
            return;
        };
        testing.set(true);
        spawn_local(async move {
            test.set(Some(bridge::test_environment(&e).await));
            testing.set(false);
        });
    };
    macro_rules! field {
        ($label:expr, $name:literal, $f:ident) => {
            text_field(
                form,
                $label,
                $name,
                move |s| env(s, i, j).map(|e| e.$f.clone()).unwrap_or_default(),
                move |s, v| {
                    if let Some(e) = env_mut(s, i, j) {
                        e.$f = v
                    }
                },
            )
        };
        (opt $label:expr, $name:literal, $f:ident) => {
            text_field(
                form,
                $label,
                $name,
                move |s| env(s, i, j).and_then(|e| e.$f.clone()).unwrap_or_default(),
                move |s, v| {
                    if let Some(e) = env_mut(s, i, j) {
                        e.$f = opt(v)
                    }
                },
            )
        };
    }
    view! {
        <div class="env-card" data-testid="environment-form">
            <div class="grid">
                {field!("Name", "name", name)}
                {field!("Build-info URL", "build_info_url", build_info_url)}
                {field!(opt "Frontend URL (optional)", "frontend_url", frontend_url)}
                {field!(opt "Health URL (optional)", "health_url", health_url)}
                {field!(opt "SHA JSON pointer (optional)", "sha_pointer", sha_pointer)}
                {field!(opt "SHA header (optional)", "sha_header", sha_header)}
                {field!(opt "Expected environment name (optional)", "expect_environment", expect_environment)}
                <label class="field">
                    <span>"Replicas"</span>
                    <input type="number" name="replicas" min="1"
                        prop:value=move || form.with(|s| s.as_ref().and_then(|s| env(s, i, j)).map_or(1, |e| e.replicas)).to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                                form.update(|s| if let Some(e) = s.as_mut().and_then(|s| env_mut(s, i, j)) { e.replicas = v });
                            }
                        }/>
                </label>
                <label class="field">
                    <span>"Expected SHA follows"</span>
                    <select name="follows" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        form.update(|s| if let Some(e) = s.as_mut().and_then(|s| env_mut(s, i, j)) { e.follows = v });
                    }>
                        {["branch", "deployments"].into_iter().map(|f| {
                            let selected = move || form.with(|s| s.as_ref().and_then(|s| env(s, i, j)).is_some_and(|e| e.follows == f));
                            view! { <option value=f selected=selected>{f}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="row">
                <button type="button" data-testid="test-environment" on:click=run_test
                    disabled=move || testing.get()>"Test"</button>
                <button type="button" class="ghost danger" data-testid="remove-environment"
                    on:click=move |_| form.update(|s| if let Some(p) = s.as_mut().and_then(|s| s.projects.get_mut(i))
                        && j < p.environments.len() { p.environments.remove(j); })>"Remove environment"</button>
                {move || testing.get().then(|| view! { <span class="muted">"Testing…"</span> })}
            </div>
            {move || test.get().map(|r| match r {
                Ok(t) => view! {
                    <div class=if t.ok { "notice notice-ok" } else { "notice notice-error" } data-testid="test-result" data-ok=t.ok.to_string()>
                        <div>{if t.ok { "Fingerprint found" } else { "No usable fingerprint" }}</div>
                        {t.source.map(|s| view! { <div>"Source: "<code>{s}</code></div> })}
                        {t.sha.map(|s| view! { <div>"SHA: "<code data-testid="test-sha">{s}</code></div> })}
                        {t.environment.map(|e| view! { <div>"Environment: "{e}</div> })}
                        {t.guessed.then(|| view! { <div data-testid="test-guessed">"Detected by a guess: check that this is the service's own commit."</div> })}
                        {t.pin.clone().map(|pin| {
                            let text = pin.text.clone();
                            view! {
                                <div>"To pin it: "<code data-testid="test-pin">{text}</code>" "
                                    <button type="button" class="ghost" data-testid="use-pin"
                                        on:click=move |_| form.update(|s| {
                                            if let Some(e) = s.as_mut().and_then(|s| env_mut(s, i, j)) {
                                                let value = Some(pin.value.clone());
                                                if pin.key == "sha_header" {
                                                    e.sha_header = value;
                                                    e.sha_pointer = None;
                                                } else {
                                                    e.sha_pointer = value;
                                                    e.sha_header = None;
                                                }
                                            }
                                        })>"Use this"</button>
                                </div>
                            }
                        })}
                        <div class="detail">{t.detail}</div>
                    </div>
                }.into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
        </div>
    }
}

/// GitHub sign-in: device flow (show the code, wait for approval) or a pasted token. The
/// token goes to the backend (OS keyring) and never comes back.
#[component]
fn SignIn(form: RwSignal<Option<Settings>>) -> impl IntoView {
    let code = RwSignal::new(None::<DeviceCode>);
    let error = RwSignal::new(None::<IpcError>);
    let token = RwSignal::new(String::new());
    let signed_in = move || form.with(|s| s.as_ref().is_some_and(|s| s.signed_in));
    let source = move || form.with(|s| s.as_ref().and_then(|s| s.token_source.clone()));
    // Only the sign-in fields change; edits elsewhere in the form are kept.
    let apply = move |s: Settings| {
        form.update(|f| {
            if let Some(f) = f {
                f.signed_in = s.signed_in;
                f.token_source = s.token_source;
            }
        })
    };
    let start = move |_| {
        error.set(None);
        spawn_local(async move {
            match bridge::sign_in_start().await {
                Ok(c) => {
                    code.set(Some(c));
                    match bridge::sign_in_wait().await {
                        Ok(s) => apply(s),
                        Err(e) => error.set(Some(e)),
                    }
                    code.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let paste = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = token.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        spawn_local(async move {
            match bridge::sign_in_token(t.trim()).await {
                Ok(s) => {
                    token.set(String::new());
                    error.set(None);
                    apply(s);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let sign_out = move |_| {
        spawn_local(async move {
            match bridge::sign_out().await {
                Ok(s) => apply(s),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    view! {
        <div class="card" data-testid="sign-in">
            <h3>"GitHub account"</h3>
            {move || if signed_in() {
                view! {
                    <p data-testid="signed-in">"Signed in"{source().map(|s| format!(" (token from {s})"))}"."</p>
                    <button type="button" on:click=sign_out>"Sign out"</button>
                }.into_any()
            } else {
                view! {
                    <p class="muted">"Without a token only public repositories can be read (60 requests per hour)."</p>
                    <button type="button" class="primary" data-testid="sign-in-start" on:click=start
                        disabled=move || code.with(Option::is_some)>"Sign in with GitHub"</button>
                }.into_any()
            }}
            {move || code.get().map(|c| view! {
                <div class="device-code" role="status">
                    <p>"Open "<code data-testid="verification-uri">{c.verification_uri}</code>" in your browser and enter:"</p>
                    <p class="user-code" data-testid="user-code">{c.user_code}</p>
                    <p class="muted">"Waiting for you to approve…"</p>
                </div>
            })}
            <form class="row" on:submit=paste>
                <label class="field">
                    <span>"Or paste a token"</span>
                    <input type="password" name="token" autocomplete="off"
                        prop:value=move || token.get()
                        on:input=move |ev| token.set(event_target_value(&ev))/>
                </label>
                <button type="submit" data-testid="sign-in-token">"Save token"</button>
            </form>
            {move || error.get().map(|e| view! { <ErrorNotice error=e/> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_new_forms_follow_the_config_defaults() {
        let check = |input, expected: &[&str]| assert_eq!(split_list(input), expected, "{input}");
        check("CI, Release", &["CI", "Release"]);
        check(" CI ,, ", &["CI"]);
        check("", &[]);
        assert_eq!(
            (
                new_environment().replicas,
                new_environment().follows.as_str()
            ),
            (1, "branch")
        );
        assert_eq!(new_project().branch, "main");
        assert_eq!(opt(String::new()), None);
        assert_eq!(opt("x".into()), Some("x".into()));
    }
}
