//! Telling people: native desktop notifications (`notify-rust`, over D-Bus on Linux) and an
//! optional webhook (Slack-compatible, generic JSON, Microsoft Teams or Discord), delivered in
//! order off the watcher's loop and retried with backoff. Failures are logged (and, through
//! the watcher, recorded) and never stop the watcher: a machine without a notification service
//! (`ServiceUnknown`) still watches, a dead webhook delays nothing but itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deploywatch_config::WebhookFormat;
use deploywatch_core::{IncidentEvent, Report, Verdict};
use serde::Serialize;
use tokio::sync::mpsc;

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
    /// (see [`crate::DISK_LOW_KIND`]); `live` for a deploy verified live.
    pub kind: &'static str,
    /// The report of each environment it is about (several for a grouped notice), for the
    /// JSON webhook.
    pub reports: Vec<Report>,
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
            reports: vec![report.clone()],
        }
    }

    /// "b7c1e2f is live in production, 4 min after the push (CI 2 min)": a deploy verified
    /// live; `push_to_live` and `push_to_ci` when the store observed them.
    pub fn verified_live(
        report: &Report,
        push_to_live: Option<Duration>,
        push_to_ci: Option<Duration>,
    ) -> Notice {
        let sha = report.live_sha.as_ref().map_or("?", |s| s.short());
        let mut body = format!("{sha} is live in {}", report.environment);
        if let Some(lag) = push_to_live {
            body.push_str(&format!(
                ", {} after the push",
                deploywatch_core::human_duration(lag)
            ));
            if let Some(ci) = push_to_ci {
                body.push_str(&format!(" (CI {})", deploywatch_core::human_duration(ci)));
            }
        }
        body.push('.');
        Notice {
            summary: format!("Live: {} / {}", report.project, report.environment),
            body,
            project: report.project.clone(),
            environment: report.environment.clone(),
            verdict: report.verdict,
            kind: "live",
            reports: vec![report.clone()],
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
            reports: std::iter::once(first)
                .chain(others)
                .flat_map(|n| n.reports.iter().cloned())
                .collect(),
            ..first.clone()
        }
    }
}

/// Called with (project, environment) when someone picks "Open report" on a notification.
pub type OpenReportHook = Arc<dyn Fn(String, String) + Send + Sync>;

/// Where a webhook goes and in which format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub format: WebhookFormat,
}

impl Webhook {
    /// The configured webhook, if any.
    pub fn from_config(n: &deploywatch_config::Notifications) -> Option<Webhook> {
        n.webhook.as_ref().map(|url| Webhook {
            url: url.clone(),
            format: n.webhook_format,
        })
    }
}

/// How one webhook delivery went, after its retries.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub format: WebhookFormat,
    /// Attempts made (1 when the first one was answered 2xx).
    pub attempts: u32,
    pub delivered: bool,
    /// What each failed attempt got, in order ("503 Service Unavailable", "connection
    /// refused").
    pub failures: Vec<String>,
}

impl Delivery {
    /// One line for the history: "slack webhook delivered at attempt 3 (503 Service
    /// Unavailable, 503 Service Unavailable)" or "… not delivered after 5 attempts: …".
    pub fn summary(&self) -> String {
        let format = self.format.as_str();
        let failures = self.failures.join(", ");
        if self.delivered {
            format!(
                "{format} webhook delivered at attempt {} ({failures})",
                self.attempts
            )
        } else {
            let attempts = match self.attempts {
                1 => "1 attempt".to_string(),
                n => format!("{n} attempts"),
            };
            format!(
                "{format} webhook not delivered after {attempts} ({failures}); the event is in \
                 this history"
            )
        }
    }
}

/// Told of every webhook delivery that needed a retry or failed (the watcher records it).
pub type DeliveryRecorder = Arc<dyn Fn(&Notice, &Delivery) + Send + Sync>;

/// The waits before each retry of a webhook delivery: 5 attempts over about 1.5 minutes. A
/// `Retry-After` the receiver sends is honoured instead, up to [`MAX_RETRY_AFTER`].
pub const RETRY_DELAYS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(16),
    Duration::from_secs(60),
];
/// The longest `Retry-After` waited for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Notices waiting for a slow or dead webhook at most; more are dropped (and logged): they
/// are in the history anyway.
const QUEUE: usize = 256;

/// Where notices go.
#[derive(Clone)]
pub struct Notifier {
    desktop: bool,
    webhook: Option<Arc<Outbox>>,
    open_report: Option<OpenReportHook>,
}

/// The webhook's queue and its one worker: notices are delivered in order, each with its
/// retries, off the watcher's loop — a dead webhook delays only other webhook deliveries.
/// The worker holds only [`Courier`], not the queue's sender: when the last `Notifier` clone
/// is gone (a config reload makes a new one) the worker delivers what waits and ends.
struct Outbox {
    queue: std::sync::OnceLock<mpsc::Sender<Notice>>,
    courier: Arc<Courier>,
}

/// What delivering takes, shared by the outbox and its worker.
struct Courier {
    webhook: Webhook,
    http: reqwest::Client,
    /// Notices queued or being delivered, and a wake-up when that reaches zero.
    pending: AtomicUsize,
    settled: tokio::sync::Notify,
    recorder: std::sync::Mutex<Option<DeliveryRecorder>>,
}

impl Notifier {
    pub fn new(desktop: bool, webhook: Option<Webhook>) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(deploywatch_probe::user_agent())
            .build()
            .unwrap_or_default();
        Notifier {
            desktop,
            webhook: webhook.map(|webhook| {
                Arc::new(Outbox {
                    queue: std::sync::OnceLock::new(),
                    courier: Arc::new(Courier {
                        webhook,
                        http,
                        pending: AtomicUsize::new(0),
                        settled: tokio::sync::Notify::new(),
                        recorder: std::sync::Mutex::new(None),
                    }),
                })
            }),
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

    /// Tells `recorder` of each webhook delivery that needed a retry or failed.
    pub fn set_delivery_recorder(&self, recorder: DeliveryRecorder) {
        if let Some(outbox) = &self.webhook {
            *outbox
                .courier
                .recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(recorder);
        }
    }

    /// Shows the desktop notification and queues the webhook delivery (which retries on its
    /// own, see [`RETRY_DELAYS`]); returns what failed now, in words.
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
        if let Some(outbox) = &self.webhook
            && let Err(e) = outbox.queue(notice.clone())
        {
            failures.push(e);
        }
        for f in &failures {
            tracing::warn!("{f}");
        }
        failures
    }

    /// Waits until every queued webhook delivery has ended (delivered or given up).
    pub async fn settled(&self) {
        let Some(outbox) = &self.webhook else {
            return;
        };
        let courier = &outbox.courier;
        loop {
            let woken = courier.settled.notified();
            if courier.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            woken.await;
        }
    }
}

impl Outbox {
    fn queue(&self, notice: Notice) -> Result<(), String> {
        let tx = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(Arc::clone(&self.courier).work(rx));
            tx
        });
        self.courier.pending.fetch_add(1, Ordering::SeqCst);
        tx.try_send(notice).map_err(|e| {
            self.courier.done();
            format!("webhook: {QUEUE} notices already wait for it; this one is dropped ({e})")
        })
    }
}

impl Courier {
    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.settled.notify_waiters();
        }
    }

    async fn work(self: Arc<Self>, mut rx: mpsc::Receiver<Notice>) {
        while let Some(notice) = rx.recv().await {
            let delivery = self.deliver(&notice).await;
            if !delivery.delivered {
                tracing::warn!("{}: {}", notice.summary, delivery.summary());
            }
            if delivery.attempts > 1 || !delivery.delivered {
                let recorder = self
                    .recorder
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if let Some(record) = recorder {
                    record(&notice, &delivery);
                }
            }
            self.done();
        }
    }

    /// Posts the notice, retrying what may pass later (no answer, 5xx, 408, 429) and giving
    /// up at once on what will not (any other 4xx: a wrong URL stays wrong).
    async fn deliver(&self, notice: &Notice) -> Delivery {
        let body = webhook_body(self.webhook.format, notice);
        let mut failures = Vec::new();
        let mut delays = RETRY_DELAYS.iter();
        loop {
            let attempt = self.http.post(&self.webhook.url).json(&body).send().await;
            let (failure, retry_after) = match attempt {
                Ok(r) if r.status().is_success() => {
                    return Delivery {
                        format: self.webhook.format,
                        attempts: failures.len() as u32 + 1,
                        delivered: true,
                        failures,
                    };
                }
                Ok(r) => {
                    let status = r.status();
                    let retry_after = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let retry = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
                    (status.to_string(), retry.then_some(retry_after))
                }
                // No answer (refused, reset, timed out): the receiver may come back.
                Err(e) => (error_chain(&e), Some(None)),
            };
            failures.push(failure);
            let next = match retry_after {
                Some(after) => delays.next().map(|d| after.unwrap_or(*d)),
                None => None,
            };
            let Some(wait) = next else {
                return Delivery {
                    format: self.webhook.format,
                    attempts: failures.len() as u32,
                    delivered: false,
                    failures,
                };
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// An error with its causes ("error sending request: connection refused"), without the URL:
/// a webhook URL is a secret of its own (whoever has it can post to the channel).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = String::from(if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "no answer"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// What the webhook is posted, in its format. Text from the network (the hint quotes what
/// endpoints said) is made inert where the format gives it power: Slack's `<!channel>` and
/// links, Discord's mentions.
pub fn webhook_body(format: WebhookFormat, notice: &Notice) -> serde_json::Value {
    use serde_json::json;
    match format {
        WebhookFormat::Slack => json!({
            "text": format!("*{}*\n{}", slack_escape(&notice.summary), slack_escape(&notice.body)),
        }),
        WebhookFormat::Discord => {
            // Discord refuses content over 2,000 characters.
            let mut content = format!("**{}**\n{}", notice.summary, notice.body);
            if content.chars().count() > 2000 {
                content = content.chars().take(1999).collect::<String>() + "…";
            }
            json!({
                "content": content,
                "username": "Deploywatch",
                "allowed_mentions": { "parse": [] },
            })
        }
        WebhookFormat::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": notice.summary,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": true,
                        },
                        { "type": "TextBlock", "text": notice.body, "wrap": true },
                    ],
                },
            }],
        }),
        WebhookFormat::Json => json!({
            "source": "deploywatch",
            "kind": notice.kind,
            "summary": notice.summary,
            "body": notice.body,
            "project": notice.project,
            "environment": notice.environment,
            "verdict": notice.verdict,
            "reports": notice.reports,
        }),
    }
}

/// `&`, `<` and `>` as Slack wants them escaped: then `<!channel>` or `<https://x|y>` in a hint
/// is text, not a mention or a link.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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

#[cfg(test)]
mod format_tests {
    use super::*;

    fn notice(body: &str) -> Notice {
        Notice {
            summary: "Phantom deploy: shop / production".into(),
            body: body.into(),
            project: "shop".into(),
            environment: "production".into(),
            verdict: Verdict::Phantom,
            kind: "open",
            reports: Vec::new(),
        }
    }

    #[test]
    fn each_format_carries_the_notice_and_network_text_stays_inert() {
        let hostile = "served <!channel> @everyone <https://evil.example|click> & more";
        let n = notice(hostile);
        let slack = webhook_body(WebhookFormat::Slack, &n);
        assert_eq!(
            slack["text"],
            "*Phantom deploy: shop / production*\nserved &lt;!channel&gt; @everyone \
             &lt;https://evil.example|click&gt; &amp; more"
        );
        let discord = webhook_body(WebhookFormat::Discord, &n);
        assert!(discord["content"].as_str().unwrap().contains("@everyone"));
        assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
        let teams = webhook_body(WebhookFormat::Teams, &n);
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][1]["text"], hostile);
        let json = webhook_body(WebhookFormat::Json, &n);
        assert_eq!(
            (&json["kind"], &json["verdict"], &json["environment"]),
            (
                &serde_json::json!("open"),
                &serde_json::json!("phantom"),
                &serde_json::json!("production")
            )
        );
    }

    /// A receiver that answers every request `404 Not Found` (a webhook given up at once).
    async fn refusing_receiver() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        url
    }

    #[tokio::test]
    async fn the_delivery_worker_ends_with_the_last_notifier_after_delivering_what_waits() {
        let url = refusing_receiver().await;
        let notifier = Notifier::new(
            false,
            Some(Webhook {
                url,
                format: WebhookFormat::Slack,
            }),
        );
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = got.clone();
        notifier.set_delivery_recorder(Arc::new(move |_, d: &Delivery| {
            seen.lock().unwrap().push(d.summary());
        }));
        let courier = Arc::downgrade(&notifier.webhook.as_ref().unwrap().courier);
        assert!(notifier.send(&notice("x")).await.is_empty());
        let clone = notifier.clone();
        drop(notifier);
        clone.settled().await;
        assert_eq!(
            got.lock().unwrap().as_slice(),
            [
                "slack webhook not delivered after 1 attempt (404 Not Found); the event is in this \
              history"
            ]
        );
        drop(clone);
        for _ in 0..100 {
            if courier.upgrade().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the delivery worker outlived every notifier");
    }

    #[test]
    fn discord_content_stays_within_its_2000_characters() {
        let long = "é".repeat(5000);
        let body = webhook_body(WebhookFormat::Discord, &notice(&long));
        let content = body["content"].as_str().unwrap();
        assert_eq!(content.chars().count(), 2000);
        assert!(content.ends_with('…'));
    }
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
