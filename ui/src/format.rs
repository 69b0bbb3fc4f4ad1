//! Pure formatting for people: short SHAs, durations, relative times, CI state, commit links.

use chrono::{DateTime, Utc};

/// How many hex digits of a SHA the UI shows (git's default abbreviation).
pub const SHORT_SHA: usize = 7;

/// The first seven characters of a SHA (the whole value when shorter).
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(SHORT_SHA).collect()
}

/// Parses an RFC 3339 time from the backend; `None` for anything else.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A duration in seconds for people, with at most two units: `45 s`, `3 min`, `1 h 5 min`,
/// `2 d 3 h`. Negative durations are shown as their magnitude.
pub fn format_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{m} min"),
        3_600..86_400 if m == 0 => format!("{h} h"),
        3_600..86_400 => format!("{h} h {m} min"),
        _ if h == 0 => format!("{d} d"),
        _ => format!("{d} d {h} h"),
    }
}

/// `at` relative to `now`, to the minute: `just now`, `3 min ago`, `in under a minute`,
/// `in 5 min`. Minutes are what the page's clock ticks by ([`CLOCK_TICK`]), so the text is
/// never more precise than it stays true. Text that is not a time is returned unchanged
/// (better shown raw than hidden).
pub fn relative(at: &str, now: DateTime<Utc>) -> String {
    let Some(t) = parse_time(at) else {
        return at.to_string();
    };
    let secs = (now - t).num_seconds();
    match secs {
        0..60 => "just now".into(),
        // A moment in the future by clocks a little apart is still now.
        -4..0 => "just now".into(),
        -59..-4 => "in under a minute".into(),
        s if s > 0 => format!("{} ago", format_duration(s)),
        s => format!("in {}", format_duration(s)),
    }
}

/// A moment that has passed (a check's time), relative to `now`: as [`relative`], but a time
/// a little ahead of the page's clock — which ticks every [`CLOCK_TICK`], so it is up to that
/// much behind — is `just now`, never `in under a minute`.
pub fn ago(at: &str, now: DateTime<Utc>) -> String {
    match parse_time(at) {
        Some(t) if t > now => "just now".into(),
        _ => relative(at, now),
    }
}

/// How often the page's clock ticks: relative times are shown to the minute, so a tick
/// twice a minute keeps them at most half a minute late, and an open window idle.
pub const CLOCK_TICK: std::time::Duration = std::time::Duration::from_secs(30);

/// An absolute time for tooltips and the history list: `2026-11-21 10:02:11 UTC`.
pub fn absolute(at: &str) -> String {
    parse_time(at)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| at.to_string())
}

/// The web page of a commit: `commit_url_base` (`https://github.com/acme/shop/commit`) plus
/// the SHA, whether or not the base ends with a slash.
pub fn commit_url(commit_url_base: &str, sha: &str) -> String {
    format!("{}/{}", commit_url_base.trim_end_matches('/'), sha)
}

/// CI state in a word: the conclusion once completed, else the status; `—` when unknown.
pub fn ci_label(status: Option<&str>, conclusion: Option<&str>) -> String {
    match (status, conclusion) {
        (_, Some(c)) if !c.is_empty() => c.replace('_', " "),
        (Some(s), _) if !s.is_empty() => s.replace('_', " "),
        _ => "—".into(),
    }
}

/// A history event kind for people (`ci_run` → `CI run`); unknown kinds shown raw.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "push" => "Push".into(),
        "ci_run" => "CI run".into(),
        "live_changed" => "Live change".into(),
        "verdict_changed" => "Verdict change".into(),
        "incident_opened" => "Incident opened".into(),
        "incident_cause_changed" => "Incident cause changed".into(),
        "incident_resolved" => "Incident resolved".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_time("2026-11-21T10:00:00Z").expect("valid time")
    }

    #[test]
    fn durations_use_at_most_two_units() {
        let check = |secs, expected: &str| assert_eq!(format_duration(secs), expected, "{secs}");
        check(0, "0 s");
        check(59, "59 s");
        check(60, "1 min");
        check(14 * 60 + 59, "14 min");
        check(3_600, "1 h");
        check(3_900, "1 h 5 min");
        check(86_400, "1 d");
        check(2 * 86_400 + 3 * 3_600 + 59, "2 d 3 h");
        check(-90, "1 min");
    }

    #[test]
    fn relative_times_read_past_and_future() {
        let check = |at, expected: &str| assert_eq!(relative(at, now()), expected, "{at}");
        check("2026-11-21T10:00:02Z", "just now");
        check("2026-11-21T09:59:01Z", "just now");
        check("2026-11-21T09:59:00Z", "1 min ago");
        check("2026-11-21T09:46:00Z", "14 min ago");
        check("2026-11-21T10:00:40Z", "in under a minute");
        check("2026-11-21T10:01:00Z", "in 1 min");
        check("2026-11-21T11:00:00+01:00", "just now");
        check("not a time", "not a time");
    }

    #[test]
    fn a_past_moment_ahead_of_the_clock_is_just_now() {
        let check = |at, expected: &str| assert_eq!(ago(at, now()), expected, "{at}");
        check("2026-11-21T10:00:25Z", "just now");
        check("2026-11-21T10:00:59Z", "just now");
        check("2026-11-21T09:59:30Z", "just now");
        check("2026-11-21T09:46:00Z", "14 min ago");
        check("not a time", "not a time");
    }

    #[test]
    fn short_shas_and_commit_links() {
        assert_eq!(short_sha("b7c1a2d3e4f5"), "b7c1a2d");
        assert_eq!(short_sha("abc"), "abc");
        let url = "https://github.com/acme/shop/commit/b7c1";
        assert_eq!(
            commit_url("https://github.com/acme/shop/commit", "b7c1"),
            url
        );
        assert_eq!(
            commit_url("https://github.com/acme/shop/commit/", "b7c1"),
            url
        );
        assert_eq!(absolute("2026-11-21T10:02:11Z"), "2026-11-21 10:02:11 UTC");
    }

    #[test]
    fn ci_state_prefers_the_conclusion() {
        let check = |s, c, expected: &str| assert_eq!(ci_label(s, c), expected);
        check(Some("completed"), Some("success"), "success");
        check(Some("completed"), Some("timed_out"), "timed out");
        check(Some("in_progress"), None, "in progress");
        check(None, None, "—");
        assert_eq!(kind_label("ci_run"), "CI run");
        assert_eq!(kind_label("future_kind"), "future_kind");
    }
}
