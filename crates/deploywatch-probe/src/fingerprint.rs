//! Finding a build's fingerprint (its git SHA, build date, image tag, environment) in one
//! HTTP answer, following SPEC §2. Pure: no I/O, so every format and every hostile body is
//! tested here directly.

use chrono::{DateTime, NaiveDateTime, Utc};
use deploywatch_core::{Fingerprint, Sha};
use http::HeaderMap;
use serde_json::Value;

use crate::Locator;
use crate::html::{self, Page};

/// JSON fields that may hold the SHA, in the order SPEC §2 tries them.
const JSON_FIELDS: &[(&str, Rule)] = &[
    ("/git_sha", Rule::Exact),
    ("/sha", Rule::Exact),
    ("/commit", Rule::Exact),
    ("/commit_sha", Rule::Exact),
    ("/git_commit", Rule::Exact),
    ("/revision", Rule::Exact),
    ("/gitCommit", Rule::Exact),
    ("/commitSha", Rule::Exact),
    ("/git/commit/id", Rule::SpringId),
    ("/build/git_sha", Rule::Exact),
    ("/version", Rule::VersionSuffix),
];

/// Response headers that may hold the SHA, in order.
const HEADERS: &[(&str, Rule)] = &[
    ("X-Git-Sha", Rule::Exact),
    ("X-Commit-Sha", Rule::Exact),
    ("X-Release", Rule::VersionSuffix),
    ("X-Version", Rule::VersionSuffix),
];

/// `<meta name=...>` tags that may hold the SHA, in order.
const META_NAMES: &[(&str, Rule)] = &[
    ("build-sha", Rule::Exact),
    ("git-sha", Rule::Exact),
    ("release", Rule::VersionSuffix),
    ("version", Rule::VersionSuffix),
];

const BUILD_DATE_FIELDS: &[&str] = &[
    "/build_date",
    "/built_at",
    "/buildDate",
    "/git/commit/time",
    // Spring Boot's `build.time` (from build-info.properties).
    "/build/time",
];
const ENVIRONMENT_FIELDS: &[&str] = &["/environment", "/env"];

/// Untrusted strings kept in a fingerprint are cut to this many characters.
const MAX_EXTRA_CHARS: usize = 200;

/// How a value must look to count as a SHA.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// 7–64 hex characters.
    Exact,
    /// A version that ends in a SHA (`1.4.2-abc1234`); a version without one is no SHA, and not
    /// a fault either.
    VersionSuffix,
    /// Spring Boot's `git.commit.id`: a SHA (simple form) or `{"full": .., "abbrev": ..}`.
    SpringId,
    /// Where the configuration points explicitly: a SHA or a version ending in one.
    Configured,
}

/// Finds the fingerprint in an answer (SPEC §2): the locator's override when set (and then
/// nothing else); otherwise JSON fields, then headers, then HTML meta tags, then a body that is
/// nothing but a SHA. The first usable SHA wins, even when an earlier source held garbage.
///
/// # Errors
/// When no usable SHA is found: a sentence saying exactly what was there instead, e.g.
/// ``JSON field `git_sha` is "unknown", not a git SHA`` or `got an HTML page (title "502 Bad
/// Gateway"), not JSON, …`. Never panics, whatever the body.
pub fn parse_fingerprint(
    headers: &HeaderMap,
    content_type: Option<&str>,
    body: &[u8],
    truncated: bool,
    locator: &Locator,
) -> Result<Fingerprint, String> {
    let body = Body::classify(content_type, body, truncated);
    let configured = locator.sha_pointer.is_some() || locator.sha_header.is_some();
    let found = if configured {
        configured_sha(headers, &body, locator)
    } else {
        detected_sha(headers, &body)
    };
    let (sha, source) = found?;
    let json = match &body {
        Body::Json(v) => Some(v),
        _ => None,
    };
    Ok(Fingerprint {
        sha,
        source,
        build_date: json.and_then(build_date),
        image_tag: json.and_then(|v| string_at(v, &["/image_tag"])),
        environment: json.and_then(|v| string_at(v, ENVIRONMENT_FIELDS)),
    })
}

/// The SHA of an HTML page from its meta tags alone (the frontend's own fingerprint).
pub(crate) fn meta_fingerprint(page: &Page) -> Option<Fingerprint> {
    let mut search = Search::default();
    let (sha, source) = search.meta(page)?;
    Some(Fingerprint {
        sha,
        source,
        build_date: None,
        image_tag: None,
        environment: None,
    })
}

/// What the body turned out to be.
enum Body {
    Empty,
    Json(Value),
    /// It looked like JSON but could not be read; the reason in words.
    BrokenJson(String),
    Html(Page),
    Text(String),
    /// Not text at all; the reason in words.
    Binary(String),
}

impl Body {
    fn classify(content_type: Option<&str>, body: &[u8], truncated: bool) -> Body {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let Some(first) = body.iter().copied().find(|b| !b.is_ascii_whitespace()) else {
            return Body::Empty;
        };
        let content_type = content_type.unwrap_or("").to_ascii_lowercase();
        // The body is sniffed before the content type is believed: servers label error pages
        // `application/json` and JSON `text/html` alike.
        if first == b'<' || (content_type.contains("html") && first != b'{' && first != b'[') {
            // Meta tags are ASCII, so a page in another encoding is still searched.
            return Body::Html(html::scan(&String::from_utf8_lossy(body)));
        }
        if first == b'{' || first == b'[' || content_type.contains("json") {
            if let Err(e) = std::str::from_utf8(body) {
                return Body::BrokenJson(format!(
                    "the body is not UTF-8 text (invalid byte at offset {}), so it is not JSON",
                    e.valid_up_to()
                ));
            }
            // serde_json stops at 128 levels of nesting with an error, so a hostile body
            // cannot exhaust the stack.
            return match serde_json::from_slice::<Value>(body) {
                Ok(v) => Body::Json(v),
                Err(_) if truncated => Body::BrokenJson(format!(
                    "the body is larger than the body cap and was cut off after {} bytes, \
                     so it is not complete JSON",
                    body.len()
                )),
                Err(e) if e.to_string().contains("recursion limit") => Body::BrokenJson(
                    "the JSON is nested too deeply to read (more than 128 levels)".to_string(),
                ),
                Err(e) => Body::BrokenJson(format!("the body is not valid JSON: {e}")),
            };
        }
        match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_string()),
            Err(e) => Body::Binary(format!(
                "the body is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )),
        }
    }
}

/// Problems met while searching, kept to explain a failure.
#[derive(Default)]
struct Search {
    /// A SHA field held something that is not a SHA: the most useful thing to report.
    faults: Vec<String>,
    /// A version without a SHA in it and the like: worth mentioning, not a fault.
    notes: Vec<String>,
}

impl Search {
    fn json(&mut self, value: &Value) -> Option<(Sha, String)> {
        for (pointer, rule) in JSON_FIELDS {
            let Some(found) = value.pointer(pointer) else {
                continue;
            };
            let what = format!("JSON field `{}`", field_name(pointer));
            if let Some(sha) = self.value(&what, found, *rule) {
                let source = match rule {
                    Rule::SpringId => format!("JSON {pointer} (Spring Boot)"),
                    _ => format!("JSON {pointer}"),
                };
                return Some((sha, source));
            }
        }
        None
    }

    fn headers(&mut self, headers: &HeaderMap) -> Option<(Sha, String)> {
        for (name, rule) in HEADERS {
            if let Some(value) = headers.get(*name) {
                let text = String::from_utf8_lossy(value.as_bytes());
                if let Some(sha) = self.text(&format!("header {name}"), &text, *rule) {
                    return Some((sha, format!("header {name}")));
                }
            }
        }
        None
    }

    fn meta(&mut self, page: &Page) -> Option<(Sha, String)> {
        for (name, rule) in META_NAMES {
            if let Some(content) = page.meta(name) {
                let what = format!("HTML <meta name=\"{name}\">");
                if let Some(sha) = self.text(&what, content, *rule) {
                    return Some((sha, what));
                }
            }
        }
        None
    }

    /// Reads a SHA out of a JSON value, recording why not.
    fn value(&mut self, what: &str, value: &Value, rule: Rule) -> Option<Sha> {
        match (value, rule) {
            (Value::String(s), _) => self.text(what, s, rule),
            (Value::Object(o), Rule::SpringId | Rule::Configured) => {
                // Spring Boot's full form: prefer the full SHA to the abbreviation.
                let Some(id) = ["full", "abbrev"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))
                else {
                    self.faults.push(format!(
                        "{what} is an object without a `full` or `abbrev` string"
                    ));
                    return None;
                };
                self.text(what, id, Rule::Exact)
            }
            (other, Rule::VersionSuffix) => {
                self.notes
                    .push(format!("{what} is {}, not a version", describe(other)));
                None
            }
            (other, _) => {
                self.faults
                    .push(format!("{what} is {}, not a git SHA", describe(other)));
                None
            }
        }
    }

    /// Reads a SHA out of text, recording why not.
    fn text(&mut self, what: &str, text: &str, rule: Rule) -> Option<Sha> {
        let sha = match rule {
            Rule::Exact | Rule::SpringId => Sha::parse(text),
            Rule::VersionSuffix => Sha::parse_version_suffix(text),
            Rule::Configured => Sha::parse(text).or_else(|| Sha::parse_version_suffix(text)),
        };
        if sha.is_none() {
            match rule {
                Rule::VersionSuffix => self.notes.push(format!(
                    "{what} is {}, which does not end in a git SHA",
                    quote(text)
                )),
                _ => self
                    .faults
                    .push(format!("{what} is {}, not a git SHA", quote(text))),
            }
        }
        sha
    }

    /// The error when nothing usable was found: faults first, then what the body was.
    fn failure(self, body: &Body) -> String {
        let mut parts = self.faults;
        if parts.is_empty() {
            parts.push(summarize(body));
        }
        parts.extend(self.notes);
        parts.join("; ")
    }
}

fn detected_sha(headers: &HeaderMap, body: &Body) -> Result<(Sha, String), String> {
    let mut search = Search::default();
    let in_json = match body {
        Body::Json(v) => search.json(v),
        _ => None,
    };
    if let Some(found) = in_json {
        return Ok(found);
    }
    if let Some(found) = search.headers(headers) {
        return Ok(found);
    }
    match body {
        Body::Html(page) => {
            if let Some(found) = search.meta(page) {
                return Ok(found);
            }
        }
        // Some servers expose a bare `REVISION` file: a body that is nothing but a SHA.
        Body::Text(text) => {
            if let Some(sha) = Sha::parse(text) {
                return Ok((sha, "plain-text body".to_string()));
            }
        }
        _ => {}
    }
    Err(search.failure(body))
}

fn configured_sha(
    headers: &HeaderMap,
    body: &Body,
    locator: &Locator,
) -> Result<(Sha, String), String> {
    let mut search = Search::default();
    if let Some(pointer) = &locator.sha_pointer {
        match body {
            Body::Json(v) => match v.pointer(pointer) {
                Some(found) => {
                    let what = format!("JSON field `{pointer}` (sha_pointer)");
                    if let Some(sha) = search.value(&what, found, Rule::Configured) {
                        return Ok((sha, format!("JSON {pointer} (sha_pointer)")));
                    }
                }
                None => search.faults.push(format!(
                    "sha_pointer `{pointer}` is not in the JSON body{}",
                    keys_suffix(v)
                )),
            },
            other => search.faults.push(format!(
                "sha_pointer `{pointer}` is set but {}",
                summarize(other)
            )),
        }
    }
    if let Some(name) = &locator.sha_header {
        let what = format!("header {name} (sha_header)");
        match headers.get(name.as_str()) {
            Some(value) => {
                let text = String::from_utf8_lossy(value.as_bytes());
                if let Some(sha) = search.text(&what, &text, Rule::Configured) {
                    return Ok((sha, what));
                }
            }
            None => search
                .faults
                .push(format!("the answer has no {name} header (sha_header)")),
        }
    }
    Err(search.failure(body))
}

/// What the body was, for an error that explains why no SHA was found in it.
fn summarize(body: &Body) -> String {
    const NO_HEADER: &str =
        "and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header";
    match body {
        Body::Empty => format!("the body is empty {NO_HEADER}"),
        Body::Json(v @ Value::Object(_)) => {
            let fields: Vec<String> = JSON_FIELDS.iter().map(|(p, _)| field_name(p)).collect();
            format!(
                "no git SHA in the JSON fields {} {NO_HEADER}{}",
                fields.join(", "),
                keys_suffix(v)
            )
        }
        Body::Json(v) => format!(
            "the JSON is {}, not an object with a SHA field, {NO_HEADER}",
            describe(v)
        ),
        Body::BrokenJson(reason) | Body::Binary(reason) => reason.clone(),
        Body::Html(page) => {
            let title = page
                .title
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| format!(" (title {})", quote(t)))
                .unwrap_or_default();
            format!(
                "got an HTML page{title}, not JSON, with no <meta name=\"build-sha\">, \
                 \"git-sha\", \"release\" or \"version\" tag {NO_HEADER}"
            )
        }
        Body::Text(text) => format!(
            "the body is plain text, not JSON: {} {NO_HEADER}",
            quote(text)
        ),
    }
}

/// `, its keys are: "status", "uptime"` for an object, nothing otherwise.
fn keys_suffix(value: &Value) -> String {
    const SHOWN: usize = 12;
    match value {
        Value::Object(o) if !o.is_empty() => {
            let mut keys: Vec<String> = o.keys().take(SHOWN).map(|k| quote(k)).collect();
            if o.len() > SHOWN {
                keys.push(format!("and {} more", o.len() - SHOWN));
            }
            format!("; its keys are: {}", keys.join(", "))
        }
        Value::Object(_) => "; it is an empty object".to_string(),
        _ => String::new(),
    }
}

/// `/git/commit/id` → `git.commit.id`, as people write field names.
fn field_name(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// A JSON value described for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!(
            "the number {}",
            n.to_string().chars().take(40).collect::<String>()
        ),
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Untrusted text quoted for a message: at most 60 characters, escapes visible.
fn quote(text: &str) -> String {
    const MAX: usize = 60;
    let cut: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn string_at(value: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| {
        let s = value.pointer(p)?.as_str()?.trim();
        (!s.is_empty()).then(|| s.chars().take(MAX_EXTRA_CHARS).collect())
    })
}

fn build_date(value: &Value) -> Option<DateTime<Utc>> {
    BUILD_DATE_FIELDS
        .iter()
        .find_map(|p| value.pointer(p).and_then(parse_date))
}

/// A build date as builds write it: RFC 3339, `2026-11-21T10:02:11+0000`, a space instead of
/// the `T`, no zone (taken as UTC), or epoch seconds / milliseconds (number or digits).
fn parse_date(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => epoch(n.as_i64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                return Some(d.with_timezone(&Utc));
            }
            for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
                if let Ok(d) = DateTime::parse_from_str(s, format) {
                    return Some(d.with_timezone(&Utc));
                }
            }
            for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(d) = NaiveDateTime::parse_from_str(s, format) {
                    return Some(d.and_utc());
                }
            }
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return epoch(s.parse().ok()?);
            }
            None
        }
        _ => None,
    }
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds (after 5138).
fn epoch(n: i64) -> Option<DateTime<Utc>> {
    if n.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

#[cfg(test)]
mod tests;
