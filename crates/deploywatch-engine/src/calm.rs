//! Telling the watcher's own trouble from the fleet's (issue 14): going offline, sleeping and
//! waking are conditions of the watcher, said once, never incidents of every environment.
//!
//! **The offline rule.** A round of checks in which nothing answered over HTTP — every request
//! of every check failed to connect (refused, unreachable, no route, DNS) or timed out — is not
//! judged on its own: the watcher asks GitHub's `/rate_limit` (free of quota) whether its
//! network works. Any HTTP answer from anywhere (an environment, GitHub) proves the network,
//! and the round is judged as it is: those environments are down. No answer from GitHub either
//! means the watcher is *offline*: one condition ("Offline since 14:05"), the round's checks
//! are neither recorded nor judged (the previous verdicts stand, with their time), and they are
//! retried on the environments' backoff. The first round with an answer ends it, and every
//! environment is checked again at once: only what is really wrong alerts, after its usual
//! `confirm` checks.
//!
//! **Sleep and wake.** Tokio's clock is the monotonic clock, which stands still while the
//! machine is suspended; the wall clock does not. A jump of the wall clock ahead of the
//! monotonic one by more than [`SUSPEND_JUMP`] between two turns of the loop is a wake-up:
//! every environment and repository is due at once, and for [`WAKE_QUIET`] the checks that
//! cannot connect are held back silently (no offline message for a network still coming up).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// How far the wall clock must run ahead of the monotonic clock between two turns of the
/// watcher's loop to count as a suspend (NTP corrections are far smaller).
pub(crate) const SUSPEND_JUMP: Duration = Duration::from_secs(30);

/// After a wake-up, how long checks that cannot connect are held back without a word.
pub(crate) const WAKE_QUIET: Duration = Duration::from_secs(30);

/// How long the network test (GitHub's `/rate_limit`) may take.
pub(crate) const NETWORK_TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the time between two turns of the loop included a suspend: the wall clock moved
/// `wall`, the monotonic clock `mono`.
pub(crate) fn suspended(mono: Duration, wall: TimeDelta) -> bool {
    let mono = TimeDelta::from_std(mono).unwrap_or(TimeDelta::MAX);
    let jump = TimeDelta::from_std(SUSPEND_JUMP).unwrap_or(TimeDelta::MAX);
    wall - mono > jump
}

/// What the watcher makes of a round of checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// Judge every check as it is.
    Judge,
    /// Hold back the checks that could not connect (offline, or waking up).
    Hold,
}

/// The watcher's own network, as it has seen it.
#[derive(Debug)]
pub(crate) struct Network {
    offline_since: Option<DateTime<Utc>>,
    quiet_until: Option<Instant>,
    last_turn: (Instant, DateTime<Utc>),
}

/// A change of the watcher's network state, to be said once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    WentOffline {
        since: DateTime<Utc>,
    },
    BackOnline {
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

impl Network {
    pub(crate) fn new() -> Network {
        Network {
            offline_since: None,
            quiet_until: None,
            last_turn: (Instant::now(), Utc::now()),
        }
    }

    pub(crate) fn is_offline(&self) -> bool {
        self.offline_since.is_some()
    }

    /// Called on every turn of the loop; `true` when the machine slept since the last one.
    pub(crate) fn turn(&mut self) -> bool {
        let now = (Instant::now(), Utc::now());
        let slept = suspended(now.0 - self.last_turn.0, now.1 - self.last_turn.1);
        self.last_turn = now;
        if slept {
            self.quiet_until = Some(now.0 + WAKE_QUIET);
        }
        slept
    }

    /// Decides about a round in which `answered` says whether anything answered over HTTP and
    /// `unreachable` whether some check could not connect. `test` is the network test, run
    /// only when needed (nothing answered, something could not connect).
    pub(crate) async fn judge(
        &mut self,
        answered: bool,
        unreachable: bool,
        test: impl std::future::Future<Output = bool>,
    ) -> (Judgement, Option<Change>) {
        let now = Utc::now();
        let online = answered || !unreachable || test.await;
        if online {
            let change = self
                .offline_since
                .take()
                .map(|since| Change::BackOnline { since, at: now });
            return (Judgement::Judge, change);
        }
        if self.quiet_until.is_some_and(|q| Instant::now() < q) {
            return (Judgement::Hold, None);
        }
        self.quiet_until = None;
        if self.offline_since.is_some() {
            return (Judgement::Hold, None);
        }
        self.offline_since = Some(now);
        (Judgement::Hold, Some(Change::WentOffline { since: now }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspend_is_the_wall_clock_running_ahead() {
        let s =
            |mono: u64, wall: i64| suspended(Duration::from_secs(mono), TimeDelta::seconds(wall));
        assert!(!s(10, 10));
        assert!(!s(10, 12), "an NTP step");
        assert!(!s(0, 30));
        assert!(s(0, 31), "a suspend between two turns");
        assert!(s(5, 3600), "a night");
        assert!(!s(3600, 0), "a wall clock set back is not a suspend");
    }

    #[tokio::test]
    async fn offline_is_said_once_and_its_end_once() {
        let mut n = Network::new();
        let yes = || async { true };
        let no = || async { false };
        assert_eq!(n.judge(true, true, no()).await, (Judgement::Judge, None));
        // Nothing answered but GitHub does: the environments are really down.
        assert_eq!(n.judge(false, true, yes()).await, (Judgement::Judge, None));
        let (j, change) = n.judge(false, true, no()).await;
        assert_eq!(j, Judgement::Hold);
        assert!(matches!(change, Some(Change::WentOffline { .. })));
        assert_eq!(n.judge(false, true, no()).await, (Judgement::Hold, None));
        assert!(n.is_offline());
        let (j, change) = n.judge(true, false, no()).await;
        assert_eq!(j, Judgement::Judge);
        assert!(matches!(change, Some(Change::BackOnline { .. })));
        assert!(!n.is_offline());
    }

    #[tokio::test]
    async fn after_a_wake_up_nothing_is_said_while_the_network_comes_back() {
        let mut n = Network::new();
        n.quiet_until = Some(Instant::now() + WAKE_QUIET);
        assert_eq!(
            n.judge(false, true, async { false }).await,
            (Judgement::Hold, None)
        );
        assert!(!n.is_offline());
    }
}
