//! Rate-limit bookkeeping (SPEC §4): what GitHub last said about the quota, and the gate that
//! refuses to send a request while the quota is in reserve or GitHub asked us to wait.

use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, StatusCode};

/// The quota as last reported by `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateState {
    pub limit: u64,
    pub remaining: u64,
    /// When the quota refills.
    pub reset: DateTime<Utc>,
}

impl RateState {
    /// The requests held back for the user's own use of GitHub: 5 % of the limit, at least 2.
    /// Deploywatch stops once only the reserve is left rather than running the quota to zero.
    pub fn reserve(&self) -> u64 {
        (self.limit / 20).max(2)
    }

    /// Reads the three headers; `None` unless all are present and numeric.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateState> {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let reset = DateTime::from_timestamp(i64::try_from(num("x-ratelimit-reset")?).ok()?, 0)?;
        Some(RateState {
            limit: num("x-ratelimit-limit")?,
            remaining: num("x-ratelimit-remaining")?,
            reset,
        })
    }
}

/// How long to hold off after a secondary rate limit that says nothing about when to retry
/// (GitHub's documentation: "wait at least one minute").
const SECONDARY_LIMIT_WAIT: TimeDelta = TimeDelta::seconds(60);

/// Why a request may not be sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Nothing may be sent before this instant (the quota is down to its reserve, or GitHub
    /// asked us to wait).
    Until(DateTime<Utc>),
    /// The quota is not known (no answer yet, or the window has reset) and a request that will
    /// learn it is on its way: wait for its answer instead of sending blind.
    Learning,
}

/// Decides before each request whether it may be sent, and learns from each answer.
///
/// The budget is accounted *before* a request goes out: each request sent holds one unit of
/// the quota until its answer brings GitHub's own count (`in_flight`), so however many polls
/// start at once, no more are sent than the quota GitHub last reported leaves above the
/// reserve. While the quota is unknown, one request at a time is sent.
#[derive(Debug, Default)]
pub(crate) struct RateGate {
    last: Option<RateState>,
    /// Set by a rate-limit rejection (`403`/`429`): nothing is sent before this instant.
    blocked_until: Option<DateTime<Utc>>,
    /// Requests sent whose answer has not arrived; each may cost one unit of the quota.
    in_flight: u64,
}

impl RateGate {
    pub(crate) fn last(&self) -> Option<RateState> {
        self.last
    }

    /// The quota as last reported, less what the requests now in flight may spend.
    pub(crate) fn estimate(&self) -> Option<RateState> {
        self.last.map(|s| RateState {
            remaining: s.remaining.saturating_sub(self.in_flight),
            ..s
        })
    }

    /// Takes one unit of the quota for a request about to be sent at `now`, or says why not.
    /// Every `Ok` must be followed by exactly one [`RateGate::observe`] or
    /// [`RateGate::abandon`].
    pub(crate) fn acquire(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if let Some(until) = self.blocked_until.filter(|until| *until > now) {
            return Err(Refusal::Until(until));
        }
        // A reset time in the past means the quota has refilled (or the clocks disagree):
        // the numbers are unknown again until the next answer.
        if self.last.is_some_and(|s| s.reset <= now) {
            self.last = None;
        }
        match self.last {
            None if self.in_flight > 0 => return Err(Refusal::Learning),
            Some(state) if state.remaining.saturating_sub(self.in_flight) <= state.reserve() => {
                return Err(Refusal::Until(state.reset));
            }
            None | Some(_) => {}
        }
        self.in_flight += 1;
        Ok(())
    }

    /// A request acquired whose answer never came (connection refused, timed out): its unit
    /// is released. Had GitHub counted it after all, the next answer's headers say so.
    pub(crate) fn abandon(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Records the answer to an acquired request. Returns `Some(reset)` when the answer was a
    /// rate-limit rejection: `403`/`429` with `Retry-After`, with `X-RateLimit-Remaining: 0`,
    /// a `429` without either, or a `403` whose message (`body_says_rate_limit`) speaks of a
    /// rate limit.
    pub(crate) fn observe(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body_says_rate_limit: bool,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let state = RateState::from_headers(headers).filter(|_| counts_core(headers));
        if let Some(new) = state {
            self.last = Some(match self.last {
                // Answers to concurrent requests arrive in any order: within one window the
                // lowest count is the newest; an answer from an older window is stale.
                Some(old) if old.reset == new.reset => RateState {
                    remaining: old.remaining.min(new.remaining),
                    ..new
                },
                Some(old) if old.reset > new.reset => old,
                _ => new,
            });
        }
        if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let until = if let Some(wait) = retry_after(headers, now) {
            wait
        } else if let Some(state) = state.filter(|s| s.remaining == 0) {
            // A reset already past would let us hammer GitHub; wait a second at least.
            state.reset.max(now + TimeDelta::seconds(1))
        } else if status == StatusCode::TOO_MANY_REQUESTS || body_says_rate_limit {
            now + SECONDARY_LIMIT_WAIT
        } else {
            return None;
        };
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
        Some(until)
    }
}

/// Whether the answer's quota is the REST API's (`X-RateLimit-Resource: core`, or no resource
/// named, as older Enterprise servers send): search and GraphQL have quotas of their own.
fn counts_core(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-resource")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|r| r.trim().eq_ignore_ascii_case("core"))
}

/// `Retry-After` as an instant: delay-seconds, or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u32>() {
        return Some(now + TimeDelta::seconds(i64::from(secs)));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| at.with_timezone(&Utc).max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("in range")
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn quota(limit: u64, remaining: u64, reset: DateTime<Utc>) -> HeaderMap {
        headers(&[
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset.timestamp().to_string()),
        ])
    }

    #[test]
    fn reserve_is_five_percent_at_least_two() {
        let check = |limit, want| {
            let s = RateState {
                limit,
                remaining: 0,
                reset: at(0),
            };
            assert_eq!(s.reserve(), want, "limit {limit}");
        };
        check(5000, 250);
        check(60, 3);
        check(20, 2);
        check(1, 2);
    }

    #[test]
    fn gate_decisions() {
        // (status, headers, answer is a rejection until, then check at `now` gives)
        let now = at(0);
        let check = |status: u16,
                     h: HeaderMap,
                     rate_msg: bool,
                     rejected: Option<i64>,
                     gate: Result<(), i64>| {
            let mut g = RateGate::default();
            let status = StatusCode::from_u16(status).expect("status");
            g.acquire(now).expect("the first request learns the quota");
            assert_eq!(
                g.observe(status, &h, rate_msg, now),
                rejected.map(at),
                "{status} {h:?}"
            );
            assert_eq!(
                g.acquire(now),
                gate.map_err(|t| Refusal::Until(at(t))),
                "{status} {h:?}"
            );
        };
        check(200, quota(5000, 4999, at(3600)), false, None, Ok(()));
        check(200, quota(5000, 251, at(3600)), false, None, Ok(()));
        check(200, quota(5000, 250, at(3600)), false, None, Err(3600));
        check(304, quota(60, 3, at(900)), false, None, Err(900));
        // The reserve ends with the reset.
        check(200, quota(60, 0, at(-5)), false, None, Ok(()));
        check(403, quota(60, 0, at(900)), false, Some(900), Err(900));
        check(
            429,
            headers(&[("retry-after", "30".into())]),
            false,
            Some(30),
            Err(30),
        );
        check(
            403,
            headers(&[("retry-after", "120".into())]),
            true,
            Some(120),
            Err(120),
        );
        check(429, HeaderMap::new(), false, Some(60), Err(60));
        check(403, HeaderMap::new(), true, Some(60), Err(60));
        // A plain 403 (missing scope, SSO) is not a rate limit.
        check(403, quota(5000, 4000, at(3600)), false, None, Ok(()));
        check(404, quota(5000, 4000, at(3600)), false, None, Ok(()));
    }

    #[test]
    fn blocked_until_expires() {
        let mut g = RateGate::default();
        let h = headers(&[("retry-after", "10".into())]);
        assert_eq!(
            g.observe(StatusCode::TOO_MANY_REQUESTS, &h, false, at(0)),
            Some(at(10))
        );
        assert_eq!(g.acquire(at(9)), Err(Refusal::Until(at(10))));
        assert_eq!(g.acquire(at(10)), Ok(()));
    }

    #[test]
    fn requests_in_flight_hold_their_unit_of_the_quota() {
        // 60 an hour, 10 left, reserve 3: only 7 may be on their way at once, whatever the
        // number of polls that start together.
        let mut g = RateGate::default();
        g.acquire(at(0)).expect("first");
        g.observe(StatusCode::OK, &quota(60, 10, at(900)), false, at(0));
        let sent = (0..40).filter(|_| g.acquire(at(1)).is_ok()).count();
        assert_eq!(sent, 7);
        assert_eq!(g.acquire(at(1)), Err(Refusal::Until(at(900))));
        // Their answers arrive out of order; the lowest count in the window stands.
        for remaining in [5u64, 3, 9, 4, 6, 8, 7] {
            g.observe(StatusCode::OK, &quota(60, remaining, at(900)), false, at(2));
        }
        assert_eq!(g.last().map(|s| s.remaining), Some(3));
        assert_eq!(g.acquire(at(2)), Err(Refusal::Until(at(900))));
        // Authorised 304s are free: GitHub's own count says so and the gate follows it.
        let mut g = RateGate::default();
        g.acquire(at(0)).expect("first");
        g.observe(StatusCode::OK, &quota(5000, 300, at(900)), false, at(0));
        for _ in 0..100 {
            g.acquire(at(1)).expect("within the quota");
            g.observe(
                StatusCode::NOT_MODIFIED,
                &quota(5000, 300, at(900)),
                false,
                at(1),
            );
        }
        assert_eq!(g.estimate().map(|s| s.remaining), Some(300));
    }

    #[test]
    fn an_unknown_quota_is_learned_by_one_request_at_a_time() {
        let mut g = RateGate::default();
        assert_eq!(g.acquire(at(0)), Ok(()));
        assert_eq!(g.acquire(at(0)), Err(Refusal::Learning));
        g.abandon();
        assert_eq!(g.acquire(at(0)), Ok(()));
        g.observe(StatusCode::OK, &quota(60, 59, at(100)), false, at(0));
        assert_eq!(g.acquire(at(1)), Ok(()));
        assert_eq!(g.acquire(at(1)), Ok(()));
        // After the reset the numbers are unknown again.
        g.abandon();
        g.abandon();
        assert_eq!(g.acquire(at(100)), Ok(()));
        assert_eq!(g.acquire(at(100)), Err(Refusal::Learning));
        // A late answer from the old window does not bring its low count back.
        g.observe(StatusCode::OK, &quota(60, 60, at(3700)), false, at(101));
        g.observe(StatusCode::OK, &quota(60, 1, at(100)), false, at(101));
        assert_eq!(g.last().map(|s| s.remaining), Some(60));
        // Another resource's quota (search, GraphQL) is not the REST API's.
        let mut h = quota(30, 0, at(3700));
        h.insert("x-ratelimit-resource", "search".parse().expect("value"));
        g.observe(StatusCode::OK, &h, false, at(102));
        assert_eq!(g.last().map(|s| s.remaining), Some(60));
    }

    #[test]
    fn retry_after_http_date() {
        let h = headers(&[("retry-after", "Tue, 14 Nov 2023 22:15:00 GMT".into())]);
        assert_eq!(retry_after(&h, at(0)), Some(at(100)));
        let garbage = headers(&[("retry-after", "soon".into())]);
        assert_eq!(retry_after(&garbage, at(0)), None);
    }

    #[test]
    fn partial_or_garbage_headers_are_ignored() {
        let h = headers(&[
            ("x-ratelimit-limit", "60".into()),
            ("x-ratelimit-remaining", "x".into()),
        ]);
        assert_eq!(RateState::from_headers(&h), None);
    }
}
