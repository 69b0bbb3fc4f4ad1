//! Telling people: native desktop notifications (`notify-rust`, over D-Bus on Linux) and an
//! optional Slack-compatible webhook. Failures are logged and never stop the watcher: a
//! machine without a notification service (`ServiceUnknown`) still watches.

use std::sync::Arc;
use std::time::Duration;

use deploywatch_core::{IncidentEvent, Report, Verdict};
use serde::Serialize;

/// What one announcement says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// "Phantom deploy: shop / production"
    pub summary: String,
    /// The hint, e.g. "production still serves a3f9d1c (the previous push) 14 min after CI
    /// passed for b7c1e2f: the old container is still serving. …"
    pub body: String,
    pub project: String,
    pub environment: String,
    pub verdict: Verdict,
    /// `open`, `cause` or `resolve` for incidents; `disk_low` or `disk_recovered` for a disk
    /// (see [`crate::DISK_LOW_KIND`]).
    pub kind: &'static str,
}

impl Notice {
    pub fn new(event: &IncidentEvent, report: &Report) -> Notice {
        let place = format!("{} / {}", report.project, report.environment);
        let (summary, kind) = match event {
            IncidentEvent::Opened { verdict } => (format!("{}: {place}", verdict.title()), "open"),
            IncidentEvent::CauseChanged { to, .. } => (format!("{}: {place}", to.title()), "cause"),
            IncidentEvent::Resolved { last } => (
                format!("Resolved ({}): {place}", last.title().to_lowercase()),
                "resolve",
            ),
        };
        Notice {
            summary,
            body: report.hint.clone(),
            project: report.project.clone(),
            environment: report.environment.clone(),
            verdict: report.verdict,
            kind,
        }
    }

    /// One notice for several environments on one host with the same event and verdict:
    /// "Down: 5 environments on shop.example.com", naming them all, with the first one's
    /// hint. Clicking it opens the first environment's report.
    pub fn grouped(first: &Notice, others: &[Notice], host: &str) -> Notice {
        let n = others.len() + 1;
        let summary = match first.kind {
            "resolve" => format!("Resolved: {n} environments on {host}"),
            _ => format!("{}: {n} environments on {host}", first.verdict.title()),
        };
        let names: Vec<String> = std::iter::once(first)
            .chain(others)
            .map(|n| format!("{} / {}", n.project, n.environment))
            .collect();
        Notice {
            summary,
            body: format!("{}.\n{}", names.join(", "), first.body),
            ..first.clone()
        }
    }
}

/// Called with (project, environment) when someone picks "Open report" on a notification.
pub type OpenReportHook = Arc<dyn Fn(String, String) + Send + Sync>;

/// Where notices go.
#[derive(Clone)]
pub struct Notifier {
    desktop: bool,
    webhook: Option<String>,
    http: reqwest::Client,
    open_report: Option<OpenReportHook>,
}

impl Notifier {
    pub fn new(desktop: bool, webhook: Option<String>) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(deploywatch_probe::user_agent())
            .build()
            .unwrap_or_default();
        Notifier {
            desktop,
            webhook,
            http,
            open_report: None,
        }
    }

    /// Desktop notifications offer "Open report" where the notification service supports
    /// actions; picking it (or clicking the notification) calls `hook`. The CLI's watcher has
    /// no window to open and leaves this unset.
    #[must_use]
    pub fn with_open_report(mut self, hook: OpenReportHook) -> Notifier {
        self.open_report = Some(hook);
        self
    }

    /// Sends the notice everywhere configured; returns what failed, in words.
    pub async fn send(&self, notice: &Notice) -> Vec<String> {
        let mut failures = Vec::new();
        if self.desktop {
            let notice = notice.clone();
            let hook = self.open_report.clone();
            let shown = tokio::task::spawn_blocking(move || desktop(&notice, hook)).await;
            match shown {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("desktop notification: {e}")),
                Err(e) => failures.push(format!("desktop notification: {e}")),
            }
        }
        if let Some(url) = &self.webhook {
            let text = format!("*{}*\n{}", notice.summary, notice.body);
            match self
                .http
                .post(url)
                .json(&serde_json::json!({ "text": text }))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => failures.push(format!("webhook answered {}", r.status())),
                Err(e) => failures.push(format!("webhook: {e}")),
            }
        }
        for f in &failures {
            tracing::warn!("{f}");
        }
        failures
    }
}

/// Shows one desktop notification (a blocking D-Bus call). With `hook` and a service that
/// supports actions, the notification carries "Open report" as its default action, and a
/// thread waits for it until the notification is closed (servers close them on timeout or
/// dismissal; one short-lived thread per incident notification).
#[cfg(all(unix, not(target_os = "macos")))]
fn desktop(notice: &Notice, hook: Option<OpenReportHook>) -> Result<(), String> {
    // A service that cannot say what it supports gets the plainest notification.
    let caps = notify_rust::get_capabilities().unwrap_or_default();
    let has = |c: &str| caps.iter().any(|x| x == c);
    // The body is our hint, which quotes values read from the network: a service that reads
    // markup must see them as text.
    let body = if has("body-markup") {
        escape_markup(&notice.body)
    } else {
        notice.body.clone()
    };
    let mut n = notify_rust::Notification::new();
    n.appname("Deploywatch")
        .summary(&notice.summary)
        .body(&body);
    let hook = hook.filter(|_| has("actions"));
    if hook.is_some() {
        n.action(DEFAULT_ACTION, "Open report");
    }
    let handle = n.show().map_err(|e| e.to_string())?;
    if let Some(hook) = hook {
        let (project, environment) = (notice.project.clone(), notice.environment.clone());
        wait_for_action(handle, move || hook(project, environment));
    }
    Ok(())
}

/// macOS and Windows: the platform's notification with summary and body (no freedesktop
/// capabilities to ask, no markup, and no "Open report" action through notify-rust there).
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn desktop(notice: &Notice, _hook: Option<OpenReportHook>) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("Deploywatch")
        .summary(&notice.summary)
        .body(&notice.body)
        .show()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The freedesktop action invoked by clicking the notification itself.
#[cfg(all(unix, not(target_os = "macos")))]
const DEFAULT_ACTION: &str = "default";

#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_action(handle: notify_rust::NotificationHandle, open: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("notification-action".into())
        .spawn(move || {
            handle.wait_for_action(|action| {
                if action == DEFAULT_ACTION {
                    open();
                }
            });
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot wait for the notification's action: {e}");
    }
}

/// `&`, `<` and `>` as entities: the freedesktop body markup is a small XML subset.
#[cfg(all(unix, not(target_os = "macos")))]
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::escape_markup;

    #[test]
    fn markup_in_a_hint_reaches_the_notification_as_text() {
        assert_eq!(
            escape_markup("env <img src=x> & \"prod\""),
            "env &lt;img src=x&gt; &amp; \"prod\""
        );
    }
}
