//! Reading what Deploywatch needs from an HTML page (meta tags, title, `<base>`, scripts,
//! stylesheets) with html5ever's spec-compliant tokenizer, in time linear in the page.
//!
//! Why not a DOM (`scraper`, html5ever's tree builder): building the tree costs time
//! proportional to the nesting depth for every tag, so a hostile 1 MiB page of `<div>`s
//! (200 000 levels) keeps a CPU busy for many minutes. Nothing here needs the tree: every
//! value read is an attribute of a start tag, or the text of the first `<title>`. The
//! tokenizer is switched into raw-text states exactly as the tree builder would, so the inside
//! of `<script>`, `<style>`, `<noscript>` or `<textarea>` is never mistaken for tags.

use std::cell::RefCell;

use deploywatch_core::AssetKind;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Bounds on what one page can make us keep, whatever its size.
const MAX_METAS: usize = 200;
const MAX_REFERENCES: usize = 1000;
const MAX_TITLE_CHARS: usize = 200;
/// The text of a Next.js `<script id="__NEXT_DATA__">` kept, at most.
const MAX_NEXT_DATA_BYTES: usize = 1024 * 1024;

/// What a page says, in document order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    /// `(name lowercased and trimmed, content)` of each `<meta name=..>`.
    pub metas: Vec<(String, String)>,
    /// The text of the first `<title>`, whitespace collapsed.
    pub title: Option<String>,
    /// The `href` of the first `<base>`.
    pub base: Option<String>,
    /// `src` of each executable `<script>`, `href` of each `<link rel=stylesheet|modulepreload>`
    /// and `<link rel=preload as=script|style>`, as written (not resolved), with what the page
    /// asks for there.
    pub references: Vec<(AssetKind, String)>,
    /// The text of the first `<script id="__NEXT_DATA__">` (Next.js page data, JSON whose
    /// `buildId` may be the git SHA), cut at 1 MiB.
    pub next_data: Option<String>,
}

impl Page {
    /// The content of the first meta tag with this (lowercase) name.
    #[cfg(test)]
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metas
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, content)| content.as_str())
    }
}

/// Scans `text` as an HTML document. Never fails: malformed HTML is read the way browsers
/// read it.
pub(crate) fn scan(text: &str) -> Page {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(text));
    // `feed` pauses only when the sink asks it to run a script; this sink never does, but
    // looping keeps the scan complete whatever the tokenizer decides.
    while !matches!(tokenizer.feed(&queue), html5ever::TokenizerResult::Done) {}
    tokenizer.end();
    let mut page = tokenizer.sink.page.take();
    page.title = page
        .title
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
    page
}

/// What a `<link>` with this `rel` (and `as`) makes the browser load, if it is a script or a
/// stylesheet the page needs.
fn link_kind(rel: &str, as_: Option<&str>) -> Option<AssetKind> {
    let has = |name: &str| {
        rel.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(name))
    };
    if has("stylesheet") {
        // `rel="alternate stylesheet"` is not applied until the user picks it.
        return (!has("alternate")).then_some(AssetKind::Stylesheet);
    }
    // A module preload is a Vite chunk the page imports: missing, it breaks the app just as a
    // missing script does.
    if has("modulepreload") {
        return Some(AssetKind::Script);
    }
    if has("preload") {
        return match as_.map(|a| a.trim().to_ascii_lowercase()).as_deref() {
            Some("script") => Some(AssetKind::Script),
            Some("style") => Some(AssetKind::Stylesheet),
            _ => None,
        };
    }
    None
}

/// A `<script type>` browsers execute: JavaScript MIME types (HTML's list: `text/javascript`,
/// `application/javascript`, `application/ecmascript`, …) and `module`. Data blocks
/// (`application/json`, `application/ld+json`, templates) are not fetched as scripts.
fn is_script_type(type_: &str) -> bool {
    let t = type_.trim().to_ascii_lowercase();
    let essence = t.split(';').next().unwrap_or("").trim();
    essence.is_empty()
        || essence == "module"
        || matches!(
            essence,
            "text/javascript"
                | "application/javascript"
                | "application/ecmascript"
                | "application/x-javascript"
                | "application/x-ecmascript"
                | "text/ecmascript"
                | "text/jscript"
                | "text/livescript"
                | "text/x-javascript"
                | "text/x-ecmascript"
                | "text/javascript1.0"
                | "text/javascript1.1"
                | "text/javascript1.2"
                | "text/javascript1.3"
                | "text/javascript1.4"
                | "text/javascript1.5"
        )
}

#[derive(Default)]
struct Sink {
    page: RefCell<Page>,
    in_title: RefCell<bool>,
    in_next_data: RefCell<bool>,
}

impl Sink {
    fn start_tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let attr = |name: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == name)
                .map(|a| a.value.to_string())
        };
        let mut page = self.page.borrow_mut();
        match &*tag.name {
            "meta" => {
                if let Some(name) = attr("name").filter(|_| page.metas.len() < MAX_METAS) {
                    let content = attr("content").unwrap_or_default();
                    page.metas.push((name.trim().to_ascii_lowercase(), content));
                }
            }
            "base" if page.base.is_none() => page.base = attr("href"),
            "link" => {
                let room = page.references.len() < MAX_REFERENCES;
                let kind = attr("rel").and_then(|rel| link_kind(&rel, attr("as").as_deref()));
                if let (Some(kind), Some(href)) = (kind, attr("href").filter(|_| room)) {
                    page.references.push((kind, href));
                }
            }
            "script" => {
                let room = page.references.len() < MAX_REFERENCES;
                let executable = attr("type").is_none_or(|t| is_script_type(&t));
                if let Some(src) = attr("src").filter(|_| room && executable) {
                    page.references.push((AssetKind::Script, src));
                }
                if page.next_data.is_none() && attr("id").as_deref() == Some("__NEXT_DATA__") {
                    page.next_data = Some(String::new());
                    *self.in_next_data.borrow_mut() = true;
                }
                return TokenSinkResult::RawData(RawKind::ScriptData);
            }
            "title" => {
                if page.title.is_none() {
                    page.title = Some(String::new());
                    *self.in_title.borrow_mut() = true;
                }
                return TokenSinkResult::RawData(RawKind::Rcdata);
            }
            "textarea" => return TokenSinkResult::RawData(RawKind::Rcdata),
            // `noscript` as a browser with scripting enabled reads it: as text.
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                return TokenSinkResult::RawData(RawKind::Rawtext);
            }
            "plaintext" => return TokenSinkResult::Plaintext,
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => return self.start_tag(&tag),
            Token::TagToken(_) => {
                *self.in_title.borrow_mut() = false;
                *self.in_next_data.borrow_mut() = false;
            }
            Token::CharacterTokens(text) if *self.in_next_data.borrow() => {
                if let Some(data) = self.page.borrow_mut().next_data.as_mut() {
                    let room = MAX_NEXT_DATA_BYTES.saturating_sub(data.len());
                    let mut cut = room.min(text.len());
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    data.push_str(&text[..cut]);
                }
            }
            Token::CharacterTokens(text) if *self.in_title.borrow() => {
                if let Some(title) = self.page.borrow_mut().title.as_mut() {
                    let room = MAX_TITLE_CHARS.saturating_sub(title.chars().count());
                    title.extend(text.chars().take(room));
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_browser_would() {
        let page = scan(
            r#"<!doctype html><html><head>
            <meta charset="utf-8"><meta NAME=" Build-SHA " content='abc1234'>
            <meta name="version" content="1.2.3-abc1234">
            <title>  Shop &amp;
               Co </title><title>second</title>
            <base href="/static/">
            <link rel="stylesheet" href="a.css"><link rel="icon" href="f.ico">
            <link rel="Preload StyleSheet" href=b.css>
            <script>var s = "<script src='fake.js'></script>"; if (a < b) {}</script>
            <script type="module" src="/c.js"></script>
            <style>/* <link rel=stylesheet href=fake.css> */</style>
            <noscript><link rel="stylesheet" href="noscript.css"></noscript>
            <textarea><script src="fake2.js"></script></textarea>
            </head><body><script src="d.js"></script><!-- <script src="e.js"> --></body></html>"#,
        );
        assert_eq!(
            page,
            Page {
                metas: vec![
                    ("build-sha".into(), "abc1234".into()),
                    ("version".into(), "1.2.3-abc1234".into()),
                ],
                title: Some("Shop & Co".into()),
                base: Some("/static/".into()),
                references: vec![
                    (AssetKind::Stylesheet, "a.css".into()),
                    (AssetKind::Stylesheet, "b.css".into()),
                    (AssetKind::Script, "/c.js".into()),
                    (AssetKind::Script, "d.js".into())
                ],
                next_data: None,
            }
        );
        assert_eq!(page.meta("version"), Some("1.2.3-abc1234"));
    }

    #[test]
    fn keeps_next_js_page_data() {
        let page = scan(
            r#"<script id="__NEXT_DATA__" type="application/json">{"buildId":"a<b","page":"/"}</script>
            <script id="__NEXT_DATA__" type="application/json">{"second":1}</script>"#,
        );
        assert_eq!(
            page.next_data.as_deref(),
            Some(r#"{"buildId":"a<b","page":"/"}"#)
        );
        let huge = format!(
            r#"<script id="__NEXT_DATA__">{}</script>"#,
            "é".repeat(MAX_NEXT_DATA_BYTES)
        );
        let kept = scan(&huge).next_data.unwrap();
        assert!(kept.len() <= MAX_NEXT_DATA_BYTES && kept.len() > MAX_NEXT_DATA_BYTES - 4);
    }

    #[test]
    fn hostile_pages_stay_bounded() {
        // 200 000 levels of nesting: linear time, no stack growth.
        let deep = "<div>".repeat(200_000) + r#"<meta name="build-sha" content="abc1234">"#;
        assert_eq!(scan(&deep).meta("build-sha"), Some("abc1234"));
        let many = r#"<script src="x.js"></script><meta name="m" content="">"#.repeat(5000);
        let page = scan(&many);
        assert_eq!(
            (page.references.len(), page.metas.len()),
            (MAX_REFERENCES, MAX_METAS)
        );
        let long_title = format!("<title>{}</title>", "t".repeat(10_000));
        assert_eq!(
            scan(&long_title).title.map(|t| t.len()),
            Some(MAX_TITLE_CHARS)
        );
        assert_eq!(
            scan("<title>unterminated"),
            Page {
                title: Some("unterminated".into()),
                ..Page::default()
            }
        );
        assert_eq!(scan(""), Page::default());
    }
}
