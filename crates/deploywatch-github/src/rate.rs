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

/// Decides before each request whether it may be sent, and learns from each answer.
#[derive(Debug, Default)]
pub(crate) struct RateGate {
    last: Option<RateState>,
    /// Set by a rate-limit rejection (`403`/`429`): nothing is sent before this instant.
    blocked_until: Option<DateTime<Utc>>,
}

impl RateGate {
    pub(crate) fn last(&self) -> Option<RateState> {
        self.last
    }

    /// `Err(reset)` when no request may be sent at `now`.
    pub(crate) fn check(&self, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        if let Some(until) = self.blocked_until.filter(|until| *until > now) {
            return Err(until);
        }
        if let Some(state) = self.last {
            // A reset time in the past means the quota has refilled (or the clocks disagree);
            // either way, the next answer brings fresh numbers.
            if state.remaining <= state.reserve() && state.reset > now {
                return Err(state.reset);
            }
        }
        Ok(())
    }

    /// Records an answer. Returns `Some(reset)` when the answer was a rate-limit rejection:
    /// `403`/`429` with `Retry-After`, with `X-RateLimit-Remaining: 0`, a `429` without either,
    /// or a `403` whose message (`body_says_rate_limit`) speaks of a rate limit.
    pub(crate) fn observe(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body_says_rate_limit: bool,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let state = RateState::from_headers(headers);
        if state.is_some() {
            self.last = state;
        }
        if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let until = if let Some(wait) = retry_after(headers, now) {
            wait
        } else if let Some(state) = state.filter(|s| s.remaining == 0) {
            // A reset already past would let us hammer GitHub; wait a minute at least.
            state.reset.max(now + TimeDelta::seconds(1))
        } else if status == StatusCode::TOO_MANY_REQUESTS || body_says_rate_limit {
            now + SECONDARY_LIMIT_WAIT
        } else {
            return None;
        };
        self.blocked_until = Some(until);
        Some(until)
    }
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
            assert_eq!(
                g.observe(status, &h, rate_msg, now),
                rejected.map(at),
                "{status} {h:?}"
            );
            assert_eq!(g.check(now), gate.map_err(at), "{status} {h:?}");
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
        assert_eq!(g.check(at(9)), Err(at(10)));
        assert_eq!(g.check(at(10)), Ok(()));
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
