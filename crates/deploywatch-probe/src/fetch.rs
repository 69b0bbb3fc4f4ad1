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
        let mut response = build(&parsed)
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
        let response = build(url).send().await.map_err(|e| classify(e, settings))?;
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

/// Caching evidence: `Cache-Control`, `Age`, and the first header saying the answer came out
/// of a cache (`X-Cache: HIT…`, `CF-Cache-Status: HIT`, nginx's `X-Cache-Status: HIT`).
pub(crate) fn cache_signals(headers: &HeaderMap) -> CacheSignals {
    let hit_header = [
        ("X-Cache", &["HIT"][..]),
        ("X-Cache-Status", &["HIT", "STALE", "UPDATING"][..]),
        // Cloudflare's STALE and UPDATING answers are also old copies out of its cache.
        ("CF-Cache-Status", &["HIT", "STALE", "UPDATING"][..]),
    ]
    .iter()
    .find_map(|(name, markers)| {
        let value = header_text(headers, *name)?;
        let upper = value.to_ascii_uppercase();
        markers
            .iter()
            .any(|m| upper.contains(m))
            .then(|| format!("{name}: {value}"))
    });
    CacheSignals {
        cache_control: header_text(headers, http::header::CACHE_CONTROL),
        age: header_text(headers, http::header::AGE).and_then(|a| a.parse().ok()),
        hit_header,
    }
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
                hit_header: None,
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
    }
}
