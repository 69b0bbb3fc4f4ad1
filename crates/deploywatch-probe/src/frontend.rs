//! The frontend page: its own fingerprint, the scripts and stylesheets it references, whether
//! each answers 200, and whether their names carry a content hash (SPEC §3 `stale_frontend`).

use deploywatch_core::{AssetKind, AssetProbe, Fingerprint, FrontendProbe, HttpOutcome};
use futures_util::StreamExt;
use http::header;
use reqwest::Client;
use url::Url;

use crate::{ProbeSettings, describe_failure, fetch, fingerprint, html};

/// The page is asked for as a browser would, so content negotiation serves the HTML users get.
const ACCEPT_PAGE: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";
/// Asset checks in flight at once: enough to be quick, few enough not to look like an attack.
const ASSET_CONCURRENCY: usize = 6;
/// A hostile or enormous page cannot make one check send thousands of requests.
const MAX_ASSETS: usize = 100;

pub(crate) async fn probe(client: &Client, settings: &ProbeSettings, url: &str) -> FrontendProbe {
    let (http, answer) = fetch::get(settings, url, |u| {
        client.get(u.clone()).header(header::ACCEPT, ACCEPT_PAGE)
    })
    .await;
    let success =
        matches!(&http.outcome, HttpOutcome::Answered(r) if (200..300).contains(&r.status));
    let Some(answer) = answer.filter(|_| success) else {
        return FrontendProbe {
            http,
            fingerprint: None,
            assets: Vec::new(),
        };
    };
    let (fingerprint, urls) = read_page(&answer.body, &answer.final_url);
    let assets = futures_util::stream::iter(urls)
        .map(|(kind, u)| check_asset(client, settings, kind, u))
        .buffered(ASSET_CONCURRENCY)
        .collect()
        .await;
    FrontendProbe {
        http,
        fingerprint,
        assets,
    }
}

/// The page's meta-tag fingerprint and the absolute URLs of the scripts, stylesheets and module
/// preloads it references (deduplicated, in document order, at most [`MAX_ASSETS`]), resolved
/// against `<base href>` or the page's own URL, each with what the page asks for there. Other
/// schemes (`data:`) are skipped.
pub(crate) fn read_page(
    body: &[u8],
    page_url: &Url,
) -> (Option<Fingerprint>, Vec<(AssetKind, Url)>) {
    let page = html::scan(&String::from_utf8_lossy(body));
    let fingerprint = fingerprint::meta_fingerprint(&page);
    let base = page
        .base
        .as_deref()
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut urls: Vec<(AssetKind, Url)> = Vec::new();
    for (kind, reference) in &page.references {
        let Ok(mut resolved) = base.join(reference.trim()) else {
            continue;
        };
        if !matches!(resolved.scheme(), "http" | "https") {
            continue;
        }
        resolved.set_fragment(None);
        if !urls.iter().any(|(_, u)| *u == resolved) {
            urls.push((*kind, resolved));
        }
        if urls.len() == MAX_ASSETS {
            break;
        }
    }
    (fingerprint, urls)
}

/// `HEAD`, or `GET` (body unread) when the server does not do `HEAD` (405, 501). The answer's
/// `Content-Type` is kept: a single-page-app fallback answers a missing bundle `200 text/html`.
async fn check_asset(
    client: &Client,
    settings: &ProbeSettings,
    kind: AssetKind,
    url: Url,
) -> AssetProbe {
    let accept = match kind {
        AssetKind::Script => "*/*",
        AssetKind::Stylesheet => "text/css,*/*;q=0.1",
    };
    let head = fetch::status_only(settings, &url, |u| {
        client.head(u.clone()).header(header::ACCEPT, accept)
    })
    .await;
    let answer = match head {
        Ok((405 | 501, _)) => {
            fetch::status_only(settings, &url, |u| {
                client.get(u.clone()).header(header::ACCEPT, accept)
            })
            .await
        }
        other => other,
    };
    let (status, content_type) = match answer {
        Ok((status, headers)) => (Ok(status), media_type(&headers)),
        Err(f) => (Err(describe_failure(&f)), None),
    };
    AssetProbe {
        hashed: is_hashed(&url),
        url: url.to_string(),
        kind,
        status,
        content_type,
    }
}

/// The media type of `Content-Type`, lowercased, without parameters (`text/html`).
fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = fetch::header_text(headers, header::CONTENT_TYPE)?;
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// True when the file name carries a content hash (`app.3f9a1c2b.js`, Vite's
/// `index-BdE8x9Qa.css`, esbuild's `chunk-HXXTLBGT.js`), or a query value does
/// (`app.js?id=3f9a1c2b4d5e`, as Laravel Mix and Rails write it): either way a new build gets a
/// new URL, so no cache can serve an old copy under the new page.
pub(crate) fn is_hashed(url: &Url) -> bool {
    let name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or("");
    let stem = name
        .rsplit_once('.')
        .map_or(name, |(stem, _extension)| stem);
    let in_name = stem
        .split('.')
        .any(|piece| piece.split(['-', '_']).any(is_hash_token) || vite_tail(piece));
    in_name || url.query_pairs().any(|(_, value)| is_hash_token(&value))
}

/// Vite's 8-character base64url hash may itself contain `-` or `_`, so it is also looked for as
/// the last 8 characters after a `-`.
fn vite_tail(piece: &str) -> bool {
    let Some(start) = piece.len().checked_sub(8) else {
        return false;
    };
    piece.is_char_boundary(start)
        && start > 0
        && piece[..start].ends_with('-')
        && looks_random(&piece[start..])
}

/// 8–64 characters of hex, or of base64url that look random rather than like a word.
fn is_hash_token(token: &str) -> bool {
    (8..=64).contains(&token.len())
        && (token.bytes().all(|b| b.is_ascii_hexdigit()) || looks_random(token))
}

fn looks_random(token: &str) -> bool {
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return false;
    }
    let upper = token.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = token.bytes().filter(u8::is_ascii_lowercase).count();
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    // Letters and digits interleaved (`BdE8x9Qa`), unlike a word with a number (`vendors2`).
    let switches = token
        .as_bytes()
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    (digits > 0 && upper + lower > 0 && switches >= 2)
        // esbuild's base32 hashes are uppercase.
        || (lower == 0 && upper >= 6)
        || (upper >= 3 && lower >= 2 && !is_camel_case(token))
}

/// `AppSettingsPage`: every capital starts a word of at least two lowercase letters.
fn is_camel_case(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        !b.is_ascii_uppercase()
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_lowercase))
    }) && bytes.iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_in_names() {
        let check = |path: &str, want: bool| {
            let url = Url::parse("https://shop.example.com/")
                .unwrap()
                .join(path)
                .unwrap();
            assert_eq!(is_hashed(&url), want, "{path}");
        };
        check("/assets/app.3f9a1c2b.js", true);
        check("/static/js/main.3f9a1c2b.chunk.js", true);
        check("/assets/main-BdE8x9Qa.css", true);
        check("/assets/index-CqZ4n6dx.js", true);
        check("/assets/index-B_x-8aQ1.js", true);
        check("/assets/index-kQpXzWva.js", true);
        check("/chunk-HXXTLBGT.js", true);
        check("/_next/static/chunks/webpack-59c5c889f52620d6.js", true);
        check("/app.js?id=3f9a1c2b4d5e6f70", true);
        check("/app.js", false);
        check("/js/vendor.js", false);
        check("/app.min.js", false);
        check("/chunk-vendors2.js", false);
        check("/bootstrap5.min.css", false);
        check("/AppSettingsPage.js", false);
        check("/MyWidget.js", false);
        check("/jquery-3.7.1.min.js", false);
        check("/app.js?v=2", false);
        check("/", false);
    }

    #[test]
    fn page_assets_resolve_and_dedupe() {
        let page = Url::parse("https://shop.example.com/app/index.html").unwrap();
        let html = br#"<html><head>
            <meta name="build-sha" content="abc1234">
            <link rel="stylesheet" href="/assets/main-BdE8x9Qa.css">
            <link rel="icon" href="/favicon.ico">
            <link rel="Preload StyleSheet" href="theme.css#x">
            <link rel="modulepreload" href="./chunk.js">
            <script src="https://cdn.example.net/lib.js"></script>
            <script>inline()</script>
            <script src="data:text/javascript,1"></script>
            <script src="/assets/main-BdE8x9Qa.css"></script>
            </head><body><script src="//cdn.example.net/late.js"></script></body></html>"#;
        let (fingerprint, urls) = read_page(html, &page);
        assert_eq!(
            fingerprint.map(|f| f.sha.to_string()),
            Some("abc1234".to_string())
        );
        let urls: Vec<String> = urls.iter().map(|(_, u)| u.to_string()).collect();
        assert_eq!(
            urls,
            [
                "https://shop.example.com/assets/main-BdE8x9Qa.css",
                "https://shop.example.com/app/theme.css",
                "https://shop.example.com/app/chunk.js",
                "https://cdn.example.net/lib.js",
                "https://cdn.example.net/late.js",
            ]
        );
    }

    #[test]
    fn base_href_and_asset_limit() {
        let page = Url::parse("https://shop.example.com/deep/page").unwrap();
        let html = r#"<base href="https://static.example.com/v2/"><script src="a.js"></script>"#;
        let (fingerprint, urls) = read_page(html.as_bytes(), &page);
        assert_eq!(fingerprint, None);
        assert_eq!(urls[0].1.as_str(), "https://static.example.com/v2/a.js");

        let many: String = (0..1000)
            .map(|i| format!("<script src=/s{i}.js></script>"))
            .collect();
        assert_eq!(read_page(many.as_bytes(), &page).1.len(), MAX_ASSETS);
    }
}
