//! How domain values are stored: times as integer milliseconds since the Unix epoch (UTC),
//! SHAs as lowercase hex, verdicts by their stable names, and their way back.

use chrono::{DateTime, Utc};
use deploywatch_core::{Sha, Verdict};

use crate::StoreError;

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Reads a stored time back; `what` names the column for the error.
pub(crate) fn from_ms(what: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(what, format!("time {ms} ms")))
}

pub(crate) fn from_ms_opt(
    what: &str,
    ms: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|v| from_ms(what, v)).transpose()
}

pub(crate) fn sha(what: &str, text: &str) -> Result<Sha, StoreError> {
    Sha::parse(text).ok_or_else(|| StoreError::corrupt(what, format!("not a SHA: {text:?}")))
}

pub(crate) fn sha_opt(what: &str, text: Option<String>) -> Result<Option<Sha>, StoreError> {
    text.map(|t| sha(what, &t)).transpose()
}

pub(crate) fn verdict(what: &str, text: &str) -> Result<Verdict, StoreError> {
    Verdict::parse(text)
        .ok_or_else(|| StoreError::corrupt(what, format!("unknown verdict {text:?}")))
}

pub(crate) fn verdict_opt(what: &str, text: Option<String>) -> Result<Option<Verdict>, StoreError> {
    text.map(|t| verdict(what, &t)).transpose()
}

/// A row count for SQL `LIMIT`, saturating.
pub(crate) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
