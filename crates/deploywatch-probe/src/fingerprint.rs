//! Finding a build's fingerprint (its git SHA, build date, image tag, environment) in one
//! HTTP answer, following SPEC §2. Pure: no I/O, so every format and every hostile body is
//! tested here directly.
//!
//! Detection reads every part of the answer — JSON keys at any depth, response headers, the
//! Prometheus text format, HTML meta tags and Next.js page data, a bare SHA — and collects
//! *candidates*: a SHA with what its name says (`keys`), where it was (`rank::Origin`), how
//! deep, and the configuration that would pin it. Names are read as words, so relatives of
//! SPEC §2's conventions are understood without a list (`keys`); SHAs are found inside
//! versions wherever they sit, and lookalikes are refused by shape (`tokens`). Then one
//! candidate is chosen (`rank`): a commit Deploywatch already knows first, then a name that
//! says commit, then a version, then a guess — and a tie of two different SHAs is a guess.

mod json;
mod keys;
mod prom;
mod rank;
mod tokens;

use chrono::{DateTime, NaiveDateTime, Utc};
use deploywatch_core::{Confidence, Fingerprint, Pin, Sha};
use http::HeaderMap;
use serde_json::Value;

use crate::Locator;
use crate::html::{self, Page};
use keys::KeyClass;
use rank::{Candidate, Origin};
use tokens::{Known, Rule};

/// SPEC §2's JSON fields, named in an error when none of them (nor any relative) is there.
const SPEC_FIELDS: &str = "git_sha, sha, commit, commit_sha, git_commit, revision, gitCommit, \
                           commitSha, git.commit.id, build.git_sha, version";

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

/// Finds the fingerprint in an answer (SPEC §2): the locator's override when set (and then
/// nothing else); otherwise the best candidate of the whole answer (see the module docs).
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
    let known = Known::new(&locator.known_commits);
    let configured = locator.sha_pointer.is_some() || locator.sha_header.is_some();
    let (sha, source, confidence, pin) = if configured {
        let (sha, source) = configured_sha(headers, &body, locator, &known)?;
        (sha, source, Confidence::Configured, None)
    } else {
        detected_sha(headers, &body, &known)?
    };
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
        confidence,
        pin,
    })
}

/// The SHA of an HTML page from its meta tags and page data alone (the frontend's own
/// fingerprint).
pub(crate) fn meta_fingerprint(page: &Page) -> Option<Fingerprint> {
    let mut found = Findings::default();
    html_candidates(page, &Known::default(), &mut found);
    // Two page fingerprints that disagree say nothing usable about the page's build.
    let rank::Choice::Chosen(best, confidence) = rank::choose(found.candidates) else {
        return None;
    };
    Some(Fingerprint {
        sha: best.sha,
        source: best.source,
        build_date: None,
        image_tag: None,
        environment: None,
        confidence,
        pin: None,
    })
}

/// What searching an answer turned up: candidates, and what to say when none is usable.
#[derive(Default)]
pub(crate) struct Findings {
    pub candidates: Vec<Candidate>,
    /// A field that names a commit held something that is not a SHA: the most useful thing
    /// to report.
    pub faults: Vec<String>,
    /// A version without a SHA in it and the like: worth mentioning, not a fault.
    pub notes: Vec<String>,
    /// SHA-shaped values refused as another component's commit, an id or a content hash.
    pub refusals: Vec<String>,
    /// The JSON had more values than are searched.
    pub cut_short: bool,
}

impl Findings {
    /// The error when nothing usable was found: faults first, then what the body was, then
    /// notes and what was refused.
    fn failure(self, body: &Body) -> String {
        let mut parts = self.faults;
        if parts.is_empty() {
            parts.push(summarize(body));
        }
        parts.extend(self.notes);
        parts.extend(self.refusals);
        if self.cut_short {
            parts.push(format!(
                "the JSON has more than {} values; only the first (shallowest) were searched",
                json::MAX_NODES
            ));
        }
        parts.join("; ")
    }
}

fn detected_sha(
    headers: &HeaderMap,
    body: &Body,
    known: &Known<'_>,
) -> Result<(Sha, String, Confidence, Option<Pin>), String> {
    let mut found = Findings::default();
    match body {
        Body::Json(v) => json::scan(v, known, &mut found),
        Body::Html(page) => html_candidates(page, known, &mut found),
        Body::Text(text) => text_candidates(text, known, &mut found),
        _ => {}
    }
    header_candidates(headers, known, &mut found);
    match rank::choose(std::mem::take(&mut found.candidates)) {
        rank::Choice::Chosen(best, confidence) => Ok((best.sha, best.source, confidence, best.pin)),
        rank::Choice::None => Err(found.failure(body)),
        rank::Choice::Ambiguous(a, b) => {
            let pin = |c: &Candidate| {
                c.pin
                    .as_ref()
                    .map(|p| format!(" (`{p}`)"))
                    .unwrap_or_default()
            };
            Err(format!(
                "two fields name different commits with equal weight: {} at {}{} and {} at {}{}; \
                 Deploywatch does not guess between them — pin the one that is this service's \
                 build",
                a.sha.short(),
                a.source,
                pin(&a),
                b.sha.short(),
                b.source,
                pin(&b)
            ))
        }
    }
}

/// A plain-text body: a bare SHA (a `REVISION` file), a Prometheus exposition, or text with
/// a known commit in it.
fn text_candidates(text: &str, known: &Known<'_>, found: &mut Findings) {
    let plain = |sha, known| Candidate {
        sha,
        class: KeyClass::Commit,
        known,
        origin: Origin::Body,
        depth: 0,
        specificity: 0,
        source: "plain-text body".to_string(),
        pin: None,
        guess: false,
    };
    if let Some(sha) = Sha::parse(text) {
        let is_known = known.contains(sha.as_str());
        found.candidates.push(plain(sha, is_known));
        return;
    }
    if prom::looks_like_metrics(text) {
        prom::scan(text, known, found);
        if found.candidates.is_empty() {
            found.notes.push(
                "the metrics have no *_build_info series with a revision, commit or \
                 version label that holds a git SHA"
                    .to_string(),
            );
        }
    } else if let Some(sha) = tokens::find_known(text, known)
        && !is_prose(text)
    {
        found.candidates.push(plain(sha, true));
    }
}

/// Text with words in it (`deploying b7c1e2f`, `changes since b7c1e2f`): a commit it mentions
/// is not, by that alone, the build's own. Version strings (`1.4.2+b7c1e2f`,
/// `b7c1e2f/1.28.0/Clean/RELEASE`) have no spaces.
pub(crate) fn is_prose(text: &str) -> bool {
    text.trim().contains(char::is_whitespace)
}

/// Response headers, read by their names: SPEC §2's `X-Git-Sha`, `X-Commit-Sha`,
/// `X-Release`, `X-Version` and their relatives (`X-Revision`, `X-Build-Commit`,
/// `X-App-Version`).
fn header_candidates(headers: &HeaderMap, known: &Known<'_>, found: &mut Findings) {
    for (name, value) in headers.iter().take(200) {
        let keys::HeaderClass {
            class,
            specificity,
            outright,
        } = keys::header_class(name.as_str());
        let text = String::from_utf8_lossy(value.as_bytes());
        let display = || title_case(name.as_str());
        let what = || format!("header {}", display());
        let candidate = |sha, known| Candidate {
            sha,
            class,
            known,
            origin: Origin::Header,
            depth: 0,
            specificity,
            source: what(),
            pin: Some(Pin::Header(display())),
            guess: false,
        };
        let mention = !matches!(class, KeyClass::Commit | KeyClass::Version) && is_prose(&text);
        if class != KeyClass::NotThisBuild
            && !mention
            && let Some(sha) = tokens::find_known(&text, known)
        {
            found.candidates.push(candidate(sha, true));
            continue;
        }
        match class {
            KeyClass::Commit => match tokens::find(&text, Rule::Commit { digits: outright }) {
                Some(sha) => found.candidates.push(candidate(sha, false)),
                None => found
                    .faults
                    .push(format!("{} is {}, not a git SHA", what(), quote(&text))),
            },
            KeyClass::Version => match tokens::find(&text, Rule::Version) {
                Some(sha) => found.candidates.push(candidate(sha, false)),
                None => found.notes.push(format!(
                    "{} is {}, which contains no git SHA",
                    what(),
                    quote(&text)
                )),
            },
            KeyClass::Weak => {
                if let Some(sha) = tokens::find(&text, Rule::Weak) {
                    found.candidates.push(candidate(sha, false));
                }
            }
            _ => {}
        }
    }
}

/// HTML: `<meta name=..>` tags read by their names (SPEC §2's `build-sha`, `git-sha`,
/// `release`, `version` and relatives; `generator`, as Discourse's `… version <sha>`), and
/// the `buildId` of Next.js page data when it is a git SHA.
fn html_candidates(page: &Page, known: &Known<'_>, found: &mut Findings) {
    for (name, content) in &page.metas {
        let words = keys::words(name);
        let (class, specificity) = keys::classify(&words, &[]);
        let what = format!("HTML <meta name=\"{}\">", visible(name));
        let outright = words.iter().any(|w| w == "commit" || w == "sha");
        let candidate = |sha, known| Candidate {
            sha,
            class,
            known,
            origin: Origin::Html,
            depth: 0,
            specificity,
            source: what.clone(),
            pin: None,
            guess: false,
        };
        // `generator` is read by its own rule below (`… version <sha>`); other prose is a
        // mention.
        let mention = !matches!(class, KeyClass::Commit | KeyClass::Version)
            && name != "generator"
            && is_prose(content);
        if class != KeyClass::NotThisBuild
            && !mention
            && let Some(sha) = tokens::find_known(content, known)
        {
            found.candidates.push(candidate(sha, true));
            continue;
        }
        let rule = match class {
            KeyClass::Commit => Rule::Commit { digits: outright },
            KeyClass::Version => Rule::Version,
            KeyClass::Weak => Rule::Weak,
            _ => continue,
        };
        match tokens::find(content, rule) {
            Some(sha) => found.candidates.push(candidate(sha, false)),
            None if class == KeyClass::Commit => found
                .faults
                .push(format!("{what} is {}, not a git SHA", quote(content))),
            None if class == KeyClass::Version => found.notes.push(format!(
                "{what} is {}, which contains no git SHA",
                quote(content)
            )),
            None => {}
        }
        if found.candidates.len() >= rank::MAX_CANDIDATES {
            return;
        }
    }
    if let Some(build_id) = page.next_data.as_deref().and_then(next_build_id) {
        let what = "HTML __NEXT_DATA__ buildId".to_string();
        let is_known = known.contains(&build_id);
        // Next.js's default build id is a random 21-character nanoid; a git SHA is hex of
        // commit length (and not all digits, which would be a timestamp).
        let sha = Sha::parse(&build_id)
            .filter(|_| is_known || build_id.bytes().any(|b| b.is_ascii_alphabetic()));
        match sha {
            Some(sha) => {
                let full = matches!(sha.as_str().len(), 40 | 64);
                found.candidates.push(Candidate {
                    sha,
                    class: KeyClass::Version,
                    known: is_known,
                    origin: Origin::Html,
                    depth: 0,
                    specificity: 0,
                    source: what,
                    pin: None,
                    guess: !full,
                });
            }
            None => found.notes.push(format!(
                "{what} is {}, Next.js's random build id, not a git SHA (return the SHA \
                 from generateBuildId in next.config.js, or add <meta name=\"git-sha\">)",
                quote(&build_id)
            )),
        }
    }
}

/// The `buildId` string of Next.js page data (read as JSON; a cut-off document is searched
/// for the key instead).
fn next_build_id(data: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(data) {
        return v
            .get("buildId")?
            .as_str()
            .map(|s| s.chars().take(100).collect());
    }
    let at = data.find("\"buildId\"")? + "\"buildId\"".len();
    let rest = data[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].chars().take(100).collect())
}

fn configured_sha(
    headers: &HeaderMap,
    body: &Body,
    locator: &Locator,
    known: &Known<'_>,
) -> Result<(Sha, String), String> {
    let mut found = Findings::default();
    let text_sha = |found: &mut Findings, what: &str, text: &str| {
        let sha = tokens::find_known(text, known).or_else(|| tokens::find(text, Rule::Configured));
        if sha.is_none() {
            found
                .faults
                .push(format!("{what} is {}, not a git SHA", quote(text)));
        }
        sha
    };
    if let Some(pointer) = &locator.sha_pointer {
        match body {
            Body::Json(v) => match v.pointer(pointer) {
                Some(value) => {
                    let what = format!("JSON field `{}` (sha_pointer)", visible(pointer));
                    let sha = match value {
                        Value::String(s) => text_sha(&mut found, &what, s),
                        // Spring Boot's full form: prefer the full SHA to the abbreviation.
                        Value::Object(o) => match ["full", "abbrev"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str))
                        {
                            Some(id) => text_sha(&mut found, &what, id),
                            None => {
                                found.faults.push(format!(
                                    "{what} is an object without a `full` or `abbrev` string"
                                ));
                                None
                            }
                        },
                        other => {
                            found
                                .faults
                                .push(format!("{what} is {}, not a git SHA", describe(other)));
                            None
                        }
                    };
                    if let Some(sha) = sha {
                        return Ok((sha, format!("JSON {} (sha_pointer)", visible(pointer))));
                    }
                }
                None => found.faults.push(format!(
                    "sha_pointer `{}` is not in the JSON body{}",
                    visible(pointer),
                    keys_suffix(v)
                )),
            },
            other => found.faults.push(format!(
                "sha_pointer `{}` is set but {}",
                visible(pointer),
                summarize(other)
            )),
        }
    }
    if let Some(name) = &locator.sha_header {
        let what = format!("header {name} (sha_header)");
        match headers.get(name.as_str()) {
            Some(value) => {
                let text = String::from_utf8_lossy(value.as_bytes());
                if let Some(sha) = text_sha(&mut found, &what, &text) {
                    return Ok((sha, what));
                }
            }
            None => found
                .faults
                .push(format!("the answer has no {name} header (sha_header)")),
        }
    }
    Err(found.failure(body))
}

/// `x-git-sha` → `X-Git-Sha`, as people write header names.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = true;
    for c in name.chars() {
        out.push(if up { c.to_ascii_uppercase() } else { c });
        up = c == '-';
    }
    out
}

/// Untrusted text shown in a source or message: at most 100 characters, control characters
/// escaped.
pub(crate) fn visible(s: &str) -> String {
    s.chars()
        .take(100)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
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

/// What the body was, for an error that explains why no SHA was found in it.
fn summarize(body: &Body) -> String {
    const NO_HEADER: &str =
        "and no SHA in an X-Git-Sha, X-Commit-Sha, X-Release or X-Version header";
    match body {
        Body::Empty => format!("the body is empty {NO_HEADER}"),
        Body::Json(v @ Value::Object(_)) => {
            format!(
                "no git SHA in the JSON fields {SPEC_FIELDS} {NO_HEADER}{}",
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

/// A JSON value described for an error message.
pub(crate) fn describe(value: &Value) -> String {
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
pub(crate) fn quote(text: &str) -> String {
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
