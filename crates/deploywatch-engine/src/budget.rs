//! Spending GitHub's quota where it matters (issue 13): polls spread over the rate-limit window
//! instead of spending the quota at start, first reads and new heads before refreshes, and one
//! message with numbers when the fleet needs more than GitHub allows.
//!
//! The hard limit (never past the quota, never into the reserve) is the GitHub client's gate;
//! this module only paces *refreshes* below it, with a ramp: by a point in the window, at most
//! a head start plus the elapsed share of the usable quota may have been spent. With a token
//! GitHub's unchanged answers (`304`) are free, so the count barely moves and the ramp never
//! holds anything back; without one every poll costs a request and the ramp spreads them.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use deploywatch_github::RateState;

/// GitHub's primary rate-limit window (the same on Enterprise Server).
pub(crate) const WINDOW: TimeDelta = TimeDelta::hours(1);

/// The share of the usable quota that may be spent at once at the start of a window (a quarter):
/// enough to read a small fleet at once, not so much that one burst leaves the hour empty.
const HEAD_START_DIVISOR: u64 = 4;

/// Whether a refresh costing `cost` requests fits under the ramp at `now`; otherwise the
/// instant it will. `rate` is the client's estimate (last answer less requests in flight).
pub(crate) fn ramp(rate: &RateState, now: DateTime<Utc>, cost: u64) -> Result<(), DateTime<Utc>> {
    let usable = rate.limit.saturating_sub(rate.reserve());
    let head = usable / HEAD_START_DIVISOR;
    let spent = rate.limit.saturating_sub(rate.remaining);
    let left = (rate.reset - now).clamp(TimeDelta::zero(), WINDOW);
    let window_ms = u64::try_from(WINDOW.num_milliseconds()).unwrap_or(1).max(1);
    let elapsed_ms = u64::try_from((WINDOW - left).num_milliseconds()).unwrap_or(0);
    let allowed = head + (usable - head).saturating_mul(elapsed_ms) / window_ms;
    if spent + cost <= allowed {
        return Ok(());
    }
    let growth = usable - head;
    let need = (spent + cost).saturating_sub(head);
    if growth == 0 || need > growth {
        return Err(rate.reset);
    }
    // The ramp reaches `spent + cost` this far into the window (rounded up).
    let at_ms = (need * window_ms).div_ceil(growth);
    let start = rate.reset - WINDOW;
    Err(start + TimeDelta::milliseconds(i64::try_from(at_ms).unwrap_or(i64::MAX / 2)))
}

/// What the fleet asks of GitHub at its schedule: per repository, its idle interval and what
/// one poll costs (the branch, and the deployments of environments that follow them; the
/// workflow runs are read only when the head moved or a run is pending).
pub(crate) fn hourly_need(polls: &[(Duration, u64)]) -> u64 {
    polls
        .iter()
        .map(|(interval, cost)| 3600 / interval.as_secs().max(1) * cost)
        .sum()
}

/// The one message for a fleet that needs more than GitHub allows, with numbers; `None`
/// while the quota covers the schedule.
pub(crate) fn shortfall_message(
    rate: &RateState,
    authenticated: bool,
    repos: usize,
    need: u64,
) -> Option<String> {
    let usable = rate.limit.saturating_sub(rate.reserve());
    // With a token, unchanged answers are free: only a quota below the need in answers that
    // do cost (one per poll, at worst) is worth a word, and then only when it is really short.
    if need <= usable {
        return None;
    }
    let repositories = if repos == 1 {
        "this repository needs".to_owned()
    } else {
        format!("these {repos} repositories need")
    };
    let spread = 3600 * repos as u64 / usable.max(1);
    let every = deploywatch_core::human_duration(Duration::from_secs(spread));
    Some(if authenticated {
        format!(
            "GitHub allows {} requests per hour for this token; {repositories} up to {need} per \
             hour at this schedule, so polls are spread out: each repository is read about \
             every {every}, and checks compare with the head as last read, saying how old it is",
            rate.limit
        )
    } else {
        // github.com gives a signed-in user 5,000 an hour; an Enterprise server its own.
        let more = if rate.limit < 5000 {
            ", 5,000 per hour"
        } else {
            ""
        };
        format!(
            "GitHub allows {} requests per hour without signing in; {repositories} about {need} \
             per hour at this schedule: sign in (`deploywatch auth login`{more}) or watch \
             fewer. Until then each repository is read about every {every}, and checks \
             compare with the head as last read, saying how old it is",
            rate.limit
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("in range")
    }

    fn rate(limit: u64, remaining: u64, reset: DateTime<Utc>) -> RateState {
        RateState {
            limit,
            remaining,
            reset,
        }
    }

    #[test]
    fn the_ramp_spreads_the_usable_quota_over_the_window() {
        // 60 an hour, reserve 3: 57 usable, 14 at once, then one more every ~84 s.
        let start = at(0);
        let reset = start + WINDOW;
        assert_eq!(ramp(&rate(60, 60, reset), start, 1), Ok(()));
        assert_eq!(
            ramp(&rate(60, 47, reset), start, 1),
            Ok(()),
            "13 spent, the 14th"
        );
        let next = ramp(&rate(60, 46, reset), start, 1).expect_err("14 spent");
        // 15 = 14 + 43 × t / 3600 s → t = 83.7 s.
        assert_eq!(next, start + TimeDelta::milliseconds(83_721));
        assert_eq!(ramp(&rate(60, 46, reset), next, 1), Ok(()));
        assert!(ramp(&rate(60, 45, reset), next, 1).is_err());
        // Half way through the window, about half the quota.
        let half = start + TimeDelta::minutes(30);
        assert_eq!(ramp(&rate(60, 60 - 34, reset), half, 1), Ok(()));
        assert!(ramp(&rate(60, 60 - 35, reset), half, 1).is_err());
        // Nothing left above the reserve: the reset.
        assert_eq!(ramp(&rate(60, 3, reset), half, 1), Err(reset));
        // With a token and free 304s the count hardly moves: never held back.
        assert_eq!(ramp(&rate(5000, 4990, reset), start, 1), Ok(()));
    }

    #[test]
    fn need_and_message() {
        let idle = vec![(Duration::from_secs(300), 1); 40];
        assert_eq!(hourly_need(&idle), 480);
        assert_eq!(hourly_need(&[(Duration::from_secs(60), 3)]), 180);
        let unauth = rate(60, 60, at(3600));
        let text = shortfall_message(&unauth, false, 40, 480).expect("short");
        assert!(
            text.starts_with(
                "GitHub allows 60 requests per hour without signing in; these 40 repositories \
                 need about 480 per hour at this schedule: sign in"
            ),
            "{text}"
        );
        assert!(text.contains("read about every 42 min"), "{text}");
        let token = rate(5000, 5000, at(3600));
        assert_eq!(shortfall_message(&token, true, 40, 480), None);
        assert!(shortfall_message(&token, true, 500, 6000).is_some());
        assert_eq!(shortfall_message(&unauth, false, 4, 48), None);
    }
}
