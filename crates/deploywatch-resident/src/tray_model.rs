//! What the tray shows, whichever tray draws it: the summary line ("3 live, 1 phantom",
//! muted environments counted apart), the colour (the dashboard's [`Overall`], which leaves
//! muted environments out), and the menu's content — Open, Check now, Pause for 1 h /
//! Resume, the alerting environments that are not muted, Quit.

use std::collections::BTreeMap;

use deploywatch_ipc::Dashboard;

/// "3 live, 1 phantom" (verdicts counted, worst first is not needed: people read the words).
pub fn summary(d: &Dashboard) -> String {
    if d.empty {
        return "Deploywatch: nothing configured".into();
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut muted = 0;
    for r in &d.environments {
        if r.muted {
            muted += 1;
            continue;
        }
        *counts
            .entry(r.verdict.as_deref().unwrap_or("not checked"))
            .or_default() += 1;
    }
    let mut parts: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    // `live` first, then the rest alphabetically: the good news leads.
    parts.sort_by_key(|p| !p.ends_with(" live"));
    // Muted ones last, whatever they show: the person asked not to hear about them.
    if muted > 0 {
        parts.push(format!("{muted} muted"));
    }
    let mut text = format!("Deploywatch: {}", parts.join(", "));
    if let Some(until) = &d.paused_until {
        // The local clock time people read on their panel, not the RFC 3339 instant.
        let until = chrono::DateTime::parse_from_rfc3339(until)
            .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
            .unwrap_or_else(|_| until.clone());
        text.push_str(&format!(" (paused until {until})"));
    }
    text
}

/// What the menu shows besides its fixed entries. A tray rebuilds its menu only when this
/// changes: rebuilding it on every check would close it under a user's pointer (and replace
/// the item ids a panel is about to click).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MenuContent {
    /// The summary, also the menu's first (inert) line: on Linux, AppIndicator has no
    /// tooltips, so the menu is where the panel shows it.
    pub summary: String,
    pub paused: bool,
    /// (project, environment, verdict) of each alerting environment that is not muted.
    pub alerting: Vec<(String, String, String)>,
}

impl MenuContent {
    pub fn of(d: &Dashboard) -> MenuContent {
        MenuContent {
            summary: summary(d),
            paused: d.paused_until.is_some(),
            alerting: d
                .environments
                .iter()
                .filter(|r| !r.muted)
                .filter_map(|r| {
                    let v = r.verdict.as_deref()?;
                    deploywatch_core::Verdict::parse(v)
                        .is_some_and(deploywatch_core::Verdict::is_alert)
                        .then(|| (r.project.clone(), r.environment.clone(), v.to_string()))
                })
                .collect(),
        }
    }
}

/// What a click in the tray's menu asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrayAction {
    Open,
    CheckNow,
    Pause,
    Resume,
    /// One alerting environment's report.
    OpenReport {
        project: String,
        environment: String,
    },
    Quit,
}
