//! One bounded HTTP request turned into evidence: the whole request under the timeout, the
//! body streamed and cut off at the cap, failures classified as [`TransportFailure`].

use std::time::Instant;

use deploywatch_core::{CacheSignals, HttpEvidence, HttpOutcome, Response, TransportFailure};
use http::HeaderMap;
use reqwest::RequestBuilder;
use url::Url;

use crate::ProbeSettings;

/// How many characters of the body are kept for people to read (`Response::first_bytes`).
const FIRST_CHARS: usize = 120;

/// What an answered request yielded beyond the evidence: what parsers need.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    /// At most `body_cap` bytes.
    pub body: Vec<u8>,
    /// Where the answer came from after redirects; relative links resolve against it.
    pub final_url: Url,
}

/// Sends the request built by `build` for `url` and reads its body up to the cap, all within
/// the timeout. Returns the evidence and, when answered, the headers and body.
pub(crate) async fn get(
    settings: &ProbeSettings,
    url: &str,
    build: impl FnOnce(&Url) -> RequestBuilder,
) -> (HttpEvidence, Option<Answer>) {
    let evidence = |outcome| HttpEvidence {
        url: url.to_string(),
        outcome,
    };
    let parsed = match parse_url(url) {
        Ok(u) => u,
        Err(f) => return (evidence(HttpOutcome::Failed(f)), None),
    };
    let started = Instant::now();
    let work = async {
        // The timeout is per request: clients are shared by environments with different ones.
        let mut response = build(&parsed)
            .timeout(settings.timeout)
            .send()
            .await
            .map_err(|e| classify(e, settings))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let final_url = response.url().clone();
        let (body, truncated) = read_capped(&mut response, settings.body_cap)
            .await
            .map_err(|e| classify(e, settings))?;
        Ok::<_, TransportFailure>((status, headers, final_url, body, truncated))
    };
    // reqwest's own timeout covers the body too; this outer one is the guarantee, whatever
    // the server does between chunks.
    let result = match tokio::time::timeout(settings.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(timeout(settings)),
    };
    match result {
        Ok((status, headers, final_url, body, truncated)) => {
            let response = Response {
                status,
                content_type: header_text(&headers, http::header::CONTENT_TYPE),
                elapsed_ms: millis(started.elapsed()),
                body_len: body.len() as u64,
                truncated,
                first_bytes: first_bytes(&body),
                cache: cache_signals(&headers),
            };
            let answer = Answer {
                headers,
                body,
                final_url,
            };
            (evidence(HttpOutcome::Answered(response)), Some(answer))
        }
        Err(failure) => (evidence(HttpOutcome::Failed(failure)), None),
    }
}

/// Sends the request and returns the status and headers without reading the body (asset
/// checks, registry `HEAD`s), within the timeout.
pub(crate) async fn status_only(
    settings: &ProbeSettings,
    url: &Url,
    build: impl FnOnce(&Url) -> RequestBuilder,
) -> Result<(u16, HeaderMap), TransportFailure> {
    let work = async {
        let response = build(url)
            .timeout(settings.timeout)
            .send()
            .await
            .map_err(|e| classify(e, settings))?;
        // Dropping the response unread closes (or frees) the connection; the body is not
        // wanted and could be large.
        Ok((response.status().as_u16(), response.headers().clone()))
    };
    match tokio::time::timeout(settings.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(timeout(settings)),
    }
}

/// Parses an absolute http(s) URL, or says why it is not one.
pub(crate) fn parse_url(url: &str) -> Result<Url, TransportFailure> {
    let parsed = Url::parse(url.trim()).map_err(|e| TransportFailure::Other {
        detail: format!("invalid URL {url:?}: {e}"),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(TransportFailure::Other {
            detail: format!("unsupported URL scheme `{other}` in {url:?}: only http and https"),
        }),
    }
}

/// Reads the body chunk by chunk and stops once it exceeds `cap`: never more than `cap` bytes
/// are kept, and never more than one chunk beyond it is received. Returns `(body, truncated)`.
async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let hint = response.content_length().unwrap_or(0);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(cap).min(cap));
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

fn timeout(settings: &ProbeSettings) -> TransportFailure {
    TransportFailure::Timeout {
        after_ms: millis(settings.timeout),
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Sorts a reqwest error into the failure kinds decisions branch on.
pub(crate) fn classify(error: reqwest::Error, settings: &ProbeSettings) -> TransportFailure {
    if error.is_timeout() {
        timeout(settings)
    } else if error.is_redirect() {
        TransportFailure::TooManyRedirects {
            limit: u32::try_from(settings.redirect_limit).unwrap_or(u32::MAX),
        }
    } else if error.is_connect() {
        TransportFailure::Connect {
            detail: error_chain(&error.without_url()),
        }
    } else {
        TransportFailure::Other {
            detail: error_chain(&error.without_url()),
        }
    }
}

/// The error and its causes in one line, `outer: inner: root`, skipping repeats and the
/// generic wrappers reqwest and hyper add (`error sending request`, `client error (Connect)`),
/// so what remains is the cause: `tcp connect error: Connection refused (os error 111)`.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut all: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !all.iter().any(|p| p.contains(&text)) {
            all.push(text);
        }
        next = e.source();
    }
    let generic =
        |p: &String| p.starts_with("error sending request") || p.starts_with("client error (");
    let specific: Vec<&String> = all.iter().filter(|p| !generic(p)).collect();
    if specific.is_empty() {
        all.join(": ")
    } else {
        specific
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(": ")
    }
}

/// Up to 120 characters of the body as text: invalid UTF-8 replaced, control characters
/// escaped (`\n`, `\u{1b}`), so it can be shown on one line without surprises.
pub(crate) fn first_bytes(body: &[u8]) -> String {
    // 4 bytes per character at most: enough bytes for 120 characters.
    let head = &body[..body.len().min(FIRST_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for c in text.chars().take(FIRST_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A header's value as text, if present and readable.
pub(crate) fn header_text(
    headers: &HeaderMap,
    name: impl http::header::AsHeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// Caching evidence: `Cache-Control`, `Age`, `Via`, and every header saying the answer came
/// out of a cache. Caches name their status header differently (`X-Cache`, nginx's
/// `X-Cache-Status`, `CF-Cache-Status`, `X-Vercel-Cache`, `X-Proxy-Cache`, LiteSpeed's
/// `X-LiteSpeed-Cache`, …), so any header whose name contains `cache` is read for a hit or stale
/// word (`HIT`, `TCP_MEM_HIT`, `STALE`, `UPDATING`); Varnish's `X-Varnish` carries two request
/// ids on a hit; RFC 9211 `Cache-Status` carries a `hit` parameter.
pub(crate) fn cache_signals(headers: &HeaderMap) -> CacheSignals {
    let mut hits: Vec<String> = Vec::new();
    let mut stale = false;
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let value = value.trim();
        let lower = name.as_str();
        let shown = || format!("{}: {value}", display_name(lower));
        match lower {
            "cache-control" | "age" | "via" => {}
            // `X-Varnish: 32770` on a miss, `X-Varnish: 32770 3` (this request, the one that
            // stored the object) on a hit.
            "x-varnish" if varnish_hit(value) => hits.push(shown()),
            "cache-status" => {
                let (hit, old) = rfc9211(value);
                if hit {
                    hits.push(shown());
                    stale |= old;
                }
            }
            _ if lower.contains("cache") && !NOT_STATUS.contains(&lower) => {
                let (hit, old) = cache_words(value);
                if hit {
                    hits.push(shown());
                    stale |= old;
                }
            }
            _ => {}
        }
        if hits.len() == 4 {
            break;
        }
    }
    CacheSignals {
        cache_control: header_text(headers, http::header::CACHE_CONTROL),
        age: header_text(headers, http::header::AGE).and_then(|a| a.parse().ok()),
        hit_header: (!hits.is_empty()).then(|| hits.join(", ")),
        stale,
        via: header_text(headers, http::header::VIA).map(|v| v.chars().take(120).collect()),
    }
}

/// Varnish's `X-Varnish` names this request's id, and on a hit also the id of the request that
/// stored the object.
fn varnish_hit(value: &str) -> bool {
    value
        .split_ascii_whitespace()
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .count()
        >= 2
}

/// Headers with `cache` in their name that are not a cache's verdict on this answer.
const NOT_STATUS: &[&str] = &[
    "x-cache-lookup",
    "x-cache-key",
    "x-cache-tags",
    "cache-tag",
    "x-cache-hits",
    "x-cache-age",
    "surrogate-control",
    "x-cacheable",
];

/// `(hit, stale)` from a cache status value such as `HIT`, `Hit from cloudfront`,
/// `TCP_MEM_HIT from a23-1.deploy.akamaitechnologies.com`, `MISS, HIT`, `STALE`. A
/// `RefreshHit` was revalidated with the origin, so it is current, not a cached copy.
fn cache_words(value: &str) -> (bool, bool) {
    let mut hit = false;
    let mut stale = false;
    for word in value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let w = word.to_ascii_uppercase();
        if w.contains("REFRESH") || w.contains("REVALIDATED") {
            continue;
        }
        if w == "STALE" || w == "UPDATING" || (w.ends_with("_HIT") && w.contains("STALE")) {
            hit = true;
            stale = true;
        } else if w == "HIT" || w.ends_with("_HIT") {
            hit = true;
        }
    }
    (hit, stale)
}

/// `(hit, stale)` from RFC 9211 `Cache-Status: name; hit; ttl=-12, other; fwd=miss`: a hit
/// with a negative `ttl` was served stale.
fn rfc9211(value: &str) -> (bool, bool) {
    let mut hit = false;
    let mut stale = false;
    for entry in value.split(',') {
        let params: Vec<&str> = entry.split(';').skip(1).map(str::trim).collect();
        if params.iter().any(|p| p.eq_ignore_ascii_case("hit")) {
            hit = true;
            stale |= params.iter().any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("ttl") && v.trim().starts_with('-')
                })
            });
        }
    }
    (hit, stale)
}

/// `x-cache-status` → `X-Cache-Status`, `cf-cache-status` → `CF-Cache-Status`, as people write
/// header names.
fn display_name(lower: &str) -> String {
    lower
        .split('-')
        .map(|part| match part {
            "cf" => "CF".to_string(),
            _ => {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_escapes_and_cuts() {
        let check = |input: &[u8], want: &str| assert_eq!(first_bytes(input), want, "{input:?}");
        check(b"{\"git_sha\": \"abc\"}\n", "{\"git_sha\": \"abc\"}\\n");
        check(b"\x1b[31mred\r\n\t", "\\u{1b}[31mred\\r\\n\\t");
        check(b"ok \xff\xfe end", "ok \u{fffd}\u{fffd} end");
        check(b"", "");
        check("é".repeat(200).as_bytes(), &"é".repeat(120));
        check(&[b'a'; 1000], &"a".repeat(120));
    }

    #[test]
    fn cache_signals_from_headers() {
        let check = |pairs: &[(&str, &str)], want: CacheSignals| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            assert_eq!(cache_signals(&headers), want, "{pairs:?}");
        };
        let hit = |h: &str| Some(h.to_string());
        check(&[], CacheSignals::default());
        check(
            &[("cache-control", "public, max-age=3600"), ("age", "42")],
            CacheSignals {
                cache_control: hit("public, max-age=3600"),
                age: Some(42),
                ..Default::default()
            },
        );
        check(
            &[("x-cache", "Hit from cloudfront")],
            CacheSignals {
                hit_header: hit("X-Cache: Hit from cloudfront"),
                ..Default::default()
            },
        );
        check(&[("x-cache", "MISS")], CacheSignals::default());
        check(
            &[("cf-cache-status", "HIT")],
            CacheSignals {
                hit_header: hit("CF-Cache-Status: HIT"),
                ..Default::default()
            },
        );
        check(&[("cf-cache-status", "DYNAMIC")], CacheSignals::default());
        check(&[("age", "not a number")], CacheSignals::default());
        let stale = |h: &str| CacheSignals {
            hit_header: hit(h),
            stale: true,
            ..Default::default()
        };
        let served = |h: &str| CacheSignals {
            hit_header: hit(h),
            ..Default::default()
        };
        // nginx `add_header X-Cache-Status $upstream_cache_status` with proxy_cache_use_stale.
        check(
            &[("x-cache-status", "STALE")],
            stale("X-Cache-Status: STALE"),
        );
        check(
            &[("x-cache-status", "UPDATING")],
            stale("X-Cache-Status: UPDATING"),
        );
        check(
            &[("x-cache-status", "REVALIDATED")],
            CacheSignals::default(),
        );
        check(&[("x-cache-status", "EXPIRED")], CacheSignals::default());
        check(&[("x-cache-status", "BYPASS")], CacheSignals::default());
        // Varnish: two ids on a hit, one on a miss; Via says only that it is in the path.
        check(
            &[
                ("x-varnish", "32770 3"),
                ("via", "1.1 varnish (Varnish/7.1)"),
            ],
            CacheSignals {
                hit_header: hit("X-Varnish: 32770 3"),
                via: hit("1.1 varnish (Varnish/7.1)"),
                ..Default::default()
            },
        );
        check(&[("x-varnish", "32770")], CacheSignals::default());
        // CloudFront, Akamai, Fastly (shield, edge), Vercel, LiteSpeed.
        check(
            &[("x-cache", "RefreshHit from cloudfront")],
            CacheSignals::default(),
        );
        check(
            &[(
                "x-cache",
                "TCP_MEM_HIT from a23-1-2-3.deploy.akamaitechnologies.com",
            )],
            served("X-Cache: TCP_MEM_HIT from a23-1-2-3.deploy.akamaitechnologies.com"),
        );
        check(&[("x-cache", "MISS, HIT")], served("X-Cache: MISS, HIT"));
        check(&[("x-cache", "MISS, MISS")], CacheSignals::default());
        check(
            &[("x-vercel-cache", "STALE")],
            stale("X-Vercel-Cache: STALE"),
        );
        check(
            &[("x-litespeed-cache", "hit")],
            served("X-Litespeed-Cache: hit"),
        );
        check(&[("x-cache-hits", "0, 3")], CacheSignals::default());
        check(
            &[("x-cache-lookup", "HIT from squid:3128")],
            CacheSignals::default(),
        );
        // RFC 9211.
        check(
            &[("cache-status", "ExampleCache; hit; ttl=376")],
            served("Cache-Status: ExampleCache; hit; ttl=376"),
        );
        check(
            &[("cache-status", "Nginx; hit; ttl=-30")],
            stale("Cache-Status: Nginx; hit; ttl=-30"),
        );
        check(
            &[("cache-status", "\"Netlify Edge\"; fwd=miss")],
            CacheSignals::default(),
        );
    }
}
