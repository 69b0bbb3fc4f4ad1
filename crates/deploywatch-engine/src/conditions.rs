//! The watcher's own conditions (issues 13, 14): what it says once when GitHub cannot be read,
//! when the fleet needs more of GitHub than its quota, and when the network goes and comes back
//! — never as an incident of each environment.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::repo::RepoSnapshot;
use crate::watch::{RepoSlot, WatchEvent, Watcher};

/// What a [`Condition`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionKind {
    /// The fleet needs more GitHub requests per hour than the quota allows: polls are spread
    /// out and checks compare with heads of a stated age.
    GitHubBudget,
    /// Every repository poll of a round failed transiently (GitHub unreachable, rate-limited,
    /// a 5xx): environments are compared with the last known heads, and an environment with
    /// none is not an incident of its own.
    GitHubUnavailable,
    /// Nothing answers: neither the environments nor GitHub (`crate::calm`). Nothing is
    /// judged until the network is back.
    Offline,
}

/// What the watcher knows of GitHub's availability.
#[derive(Debug, Default)]
pub(crate) struct GitHubWatch {
    /// Since when GitHub's unavailability has been said.
    pub(crate) down_since: Option<DateTime<Utc>>,
    /// GitHub did not answer at all since then, for this reason; said once an environment's
    /// answer shows the watcher's own network works.
    pub(crate) pending: Option<(DateTime<Utc>, String)>,
}

/// A state of the watcher, not of the fleet, in words for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub kind: ConditionKind,
    pub message: String,
    pub since: DateTime<Utc>,
}

impl Watcher {
    /// Follows GitHub's state after a round of polls: a round in which every poll failed
    /// transiently is said once (a rate limit or a 5xx at once; GitHub not answering at all
    /// only once an environment has answered since, so that the watcher's own network going
    /// down reads as offline, not as GitHub), and GitHub answering again once.
    pub(crate) fn follow_github(&self, polled: &[(usize, RepoSnapshot)], github: &mut GitHubWatch) {
        if polled.is_empty() {
            return;
        }
        let now = Utc::now();
        let failed: Option<Vec<&RepoSnapshot>> = polled
            .iter()
            .map(|(_, s)| s.transient_failure.as_ref().map(|_| s))
            .collect();
        match failed {
            None => {
                github.pending = None;
                if let Some(since) = github.down_since.take() {
                    self.say(
                        ConditionKind::GitHubUnavailable,
                        format!(
                            "GitHub answers again (it could not be read from {} to {} UTC)",
                            since.format("%H:%M:%S"),
                            now.format("%H:%M:%S")
                        ),
                        since,
                        false,
                    );
                }
            }
            Some(snaps) if github.down_since.is_none() => {
                let reason = snaps
                    .first()
                    .and_then(|s| s.transient_failure.clone())
                    .unwrap_or_default();
                if snaps.iter().all(|s| s.unreachable) {
                    github.pending.get_or_insert((now, reason));
                } else {
                    self.say_github_down(github, now, &reason);
                }
            }
            Some(_) => {}
        }
    }

    /// After a round of checks: GitHub's silence is GitHub's once an environment answered
    /// (`network_works`); while the watcher is offline it is part of that.
    pub(crate) fn confirm_github(&self, github: &mut GitHubWatch, network_works: bool) {
        match github.pending.take() {
            Some((since, reason)) if network_works => self.say_github_down(github, since, &reason),
            Some(pending) if !network_works => {
                github.pending = Some(pending);
            }
            _ => {}
        }
    }

    fn say_github_down(&self, github: &mut GitHubWatch, since: DateTime<Utc>, reason: &str) {
        github.down_since = Some(since);
        let message = format!(
            "GitHub cannot be read since {} UTC ({reason}); environments are compared with the \
             last known heads",
            since.format("%H:%M:%S")
        );
        tracing::warn!("{message}");
        self.say(ConditionKind::GitHubUnavailable, message, since, true);
    }

    /// Says the watcher went offline, or came back.
    pub(crate) fn say_network(&self, change: crate::calm::Change) {
        let (message, since, active) = match change {
            crate::calm::Change::WentOffline { since } => (
                format!(
                    "Offline since {} UTC: neither the environments nor GitHub answer. Nothing \
                     is judged until the network is back; the verdicts shown are those of the \
                     last checks",
                    since.format("%H:%M:%S")
                ),
                since,
                true,
            ),
            crate::calm::Change::BackOnline { since, at } => (
                format!(
                    "Back online (offline from {} to {} UTC): checking every environment again",
                    since.format("%H:%M:%S"),
                    at.format("%H:%M:%S")
                ),
                since,
                false,
            ),
        };
        tracing::warn!("{message}");
        self.say(ConditionKind::Offline, message, since, active);
    }

    /// Says once, with numbers, when the fleet needs more of GitHub than its quota allows, and
    /// once when that ends (a token, fewer repositories).
    pub(crate) fn follow_budget(&self, repos: &[RepoSlot], said: &mut bool) {
        let engine = &*self.engine;
        let Some(rate) = engine.github.rate() else {
            return;
        };
        let authenticated = engine.github.is_authenticated();
        let polls: Vec<(Duration, u64)> = repos.iter().map(|r| (r.idle, r.cost())).collect();
        let need = crate::budget::hourly_need(&polls);
        let short = crate::budget::shortfall_message(&rate, authenticated, repos.len(), need);
        // With a token unchanged answers are free: short only when polls were really held.
        let held = repos.iter().any(|r| {
            r.snapshot
                .as_ref()
                .is_some_and(|s| s.deferred_until.is_some())
        });
        let condition = |message: String| Condition {
            kind: ConditionKind::GitHubBudget,
            message,
            since: Utc::now(),
        };
        match short {
            Some(message) if !*said && (held || !authenticated) => {
                tracing::warn!("{message}");
                *said = true;
                let _ = self.events.send(WatchEvent::Condition {
                    condition: condition(message),
                    active: true,
                });
            }
            None if *said => {
                *said = false;
                let _ = self.events.send(WatchEvent::Condition {
                    condition: condition(format!(
                        "GitHub's quota ({} requests per hour) covers the schedule again",
                        rate.limit
                    )),
                    active: false,
                });
            }
            _ => {}
        }
    }

    /// Sends one condition event (and nothing else: the callers decide when).
    fn say(&self, kind: ConditionKind, message: String, since: DateTime<Utc>, active: bool) {
        let _ = self.events.send(WatchEvent::Condition {
            condition: Condition {
                kind,
                message,
                since,
            },
            active,
        });
    }
}
