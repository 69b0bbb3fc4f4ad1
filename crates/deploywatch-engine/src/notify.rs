//! Telling people: native desktop notifications (`notify-rust`, over D-Bus on Linux) and an
//! optional Slack-compatible webhook. Failures are logged and never stop the watcher: a
//! machine without a notification service (`ServiceUnknown`) still watches.

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
    /// `open`, `cause` or `resolve`.
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
}

/// Where notices go.
#[derive(Clone)]
pub struct Notifier {
    desktop: bool,
    webhook: Option<String>,
    http: reqwest::Client,
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
        }
    }

    /// Sends the notice everywhere configured; returns what failed, in words.
    pub async fn send(&self, notice: &Notice) -> Vec<String> {
        let mut failures = Vec::new();
        if self.desktop {
            let (summary, body) = (notice.summary.clone(), notice.body.clone());
            let shown = tokio::task::spawn_blocking(move || {
                notify_rust::Notification::new()
                    .appname("Deploywatch")
                    .summary(&summary)
                    .body(&body)
                    .show()
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .await;
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
