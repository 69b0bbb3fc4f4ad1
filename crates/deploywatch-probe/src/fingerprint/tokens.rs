//! Hex tokens inside text: a bare SHA, `git describe`'s `v1.2-3-g<hex>`, `1.4.2+<hex>`,
//! Envoy's `<hex>/1.28.0/Clean/RELEASE/BoringSSL`, Airflow's `.release:<hex>`, Forgejo's
//! `10.0.0-dev-123-<hex>+gitea-1.22.0` — wherever the SHA sits — and the lookalikes that are
//! not commits: UUIDs, `sha256:` digests, content hashes in asset names, numbers.

use std::collections::HashMap;

use deploywatch_core::Sha;

/// How sure a token's shape alone makes it a SHA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Shape {
    /// After `-g` (`git describe`), or hex with both digits and letters: a SHA.
    Clear,
    /// Only the letters a–f (`deadbeef`): a SHA or a word.
    Letters,
    /// Only digits (`1234567`, `20240101`): far more likely a build number or a date.
    Digits,
}

/// One hex run in a text that may be a SHA.
#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub hex: &'a str,
    pub shape: Shape,
    /// The token is the whole (trimmed) text.
    pub whole: bool,
}

/// How a value must look to yield a SHA, by what its name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// The name names a commit. `digits`: the name says commit or SHA outright, so an
    /// all-digit value (Grafana's `"commit": "087143285"`) is a SHA too.
    Commit { digits: bool },
    /// A version or release: a SHA somewhere inside, of a clear shape.
    Version,
    /// A build-ish name: only a bare SHA of clear shape, or a `-g<hex>`.
    Weak,
    /// Where the configuration points: any SHA inside but an all-digit one that is not the
    /// whole value.
    Configured,
}

/// The length of an MD5 digest and of a UUID without its dashes. Git abbreviates a commit to
/// as few characters as keep it unique (7 to 12 in practice) or writes it whole (40 for SHA-1,
/// 64 for SHA-256), never to 32; a 32-hex run inside a value is a hash of something else
/// (Mattermost's `X-Version-Id: 5.30.0.5.30.1.<md5 of the client config>.false`).
const DIGEST_LENGTH: usize = 32;

impl Rule {
    fn allows(self, t: &Token<'_>) -> bool {
        // Only a whole value under a name that says commit (or where the configuration points)
        // may be 32 hex digits long.
        if t.hex.len() == DIGEST_LENGTH
            && !(t.whole && matches!(self, Rule::Commit { .. } | Rule::Configured))
        {
            return false;
        }
        match (self, t.whole) {
            (Rule::Commit { digits }, true) => t.shape != Shape::Digits || digits,
            (Rule::Commit { .. }, false) => t.shape != Shape::Digits,
            (Rule::Version, true) => t.shape != Shape::Digits,
            (Rule::Version, false) => t.shape == Shape::Clear,
            (Rule::Weak, _) => t.shape == Shape::Clear,
            (Rule::Configured, true) => true,
            (Rule::Configured, false) => t.shape != Shape::Digits,
        }
    }
}

/// The best SHA in `text` that `rule` allows: clearest shape first, then longest, then first.
/// The order makes a looser rule pick what a stricter one picked whenever the stricter one
/// picks anything, so a pin re-applied as configuration reads the same SHA.
pub(crate) fn find(text: &str, rule: Rule) -> Option<Sha> {
    best(tokens(text).into_iter().filter(|t| rule.allows(t)))
}

/// The best token that is one of the known commits.
pub(crate) fn find_known(text: &str, known: &Known) -> Option<Sha> {
    if known.is_empty() {
        return None;
    }
    best(tokens(text).into_iter().filter(|t| known.contains(t.hex)))
}

fn best<'a>(tokens: impl Iterator<Item = Token<'a>>) -> Option<Sha> {
    let mut best: Option<Token<'a>> = None;
    for t in tokens {
        let better = match &best {
            None => true,
            Some(b) => {
                (t.shape, std::cmp::Reverse(t.hex.len()))
                    < (b.shape, std::cmp::Reverse(b.hex.len()))
            }
        };
        if better {
            best = Some(t);
        }
    }
    best.and_then(|t| Sha::parse(t.hex))
}

/// Digest algorithm names: `sha256:<hex>` is an image or content digest, never a commit.
const DIGEST_NAMES: &[&str] = &[
    "sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b", "blake3", "xxh64",
];
/// File extensions of assets whose names carry content hashes (`main.3f9a1c2b.js`).
const ASSET_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "css", "map", "json", "html", "htm", "png", "jpg", "jpeg", "gif", "svg",
    "webp", "avif", "ico", "woff", "woff2", "ttf", "otf", "eot", "wasm", "gz", "br", "zip", "tar",
    "tgz", "txt", "xml",
];
/// Path segments after which a hex segment of a URL is a commit.
const COMMIT_PATHS: &[&str] = &["commit", "commits", "tree", "rev", "revision"];
/// Texts longer than this are only searched in their first this-many bytes.
const MAX_SCAN: usize = 64 * 1024;

/// Every hex run of 7–64 characters in `text` that its surroundings do not rule out as a
/// commit.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut cut = text.len().min(MAX_SCAN);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let trimmed = text.trim();
    let mut out = Vec::new();
    for word in text[..cut].split(|c: char| c.is_whitespace() || "\"'()<>[]{},;=`".contains(c)) {
        if word.is_empty() {
            continue;
        }
        word_tokens(word, trimmed, &mut out);
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// A maximal run of ASCII letters and digits inside a word, with the byte before it.
struct Run<'a> {
    text: &'a str,
    sep_before: Option<u8>,
    sep_after: Option<u8>,
}

fn runs(word: &str) -> Vec<Run<'_>> {
    let bytes = word.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        out.push(Run {
            text: &word[start..i],
            sep_before: start.checked_sub(1).map(|j| bytes[j]),
            sep_after: bytes.get(i).copied(),
        });
    }
    out
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn word_tokens<'a>(word: &'a str, trimmed: &str, out: &mut Vec<Token<'a>>) {
    let runs = runs(word);
    let url = word.contains("://");
    let uuid = uuid_runs(&runs);
    for (i, run) in runs.iter().enumerate() {
        if uuid.contains(&i) {
            continue;
        }
        let prev = i.checked_sub(1).map(|j| runs[j].text.to_ascii_lowercase());
        // `sha256:<hex>`, `sha512-<base64>` (subresource integrity): digests.
        if prev.as_deref().is_some_and(|p| {
            DIGEST_NAMES.contains(&p) && matches!(run.sep_before, Some(b':' | b'-' | b'='))
        }) {
            continue;
        }
        // In a URL only `/commit/<hex>` and its relatives name a commit.
        if url
            && !(run.sep_before == Some(b'/')
                && prev.as_deref().is_some_and(|p| COMMIT_PATHS.contains(&p)))
        {
            continue;
        }
        // `main.3f9a1c2b.js`, `chunk-3f9a1c2b.css`: a content hash in an asset name.
        if run.sep_after == Some(b'.')
            && runs.get(i + 1).is_some_and(|next| {
                ASSET_EXTENSIONS.contains(&next.text.to_ascii_lowercase().as_str())
            })
        {
            continue;
        }
        let (hex, described) = match run.text.strip_prefix('g') {
            Some(rest) if run.sep_before == Some(b'-') && is_hex(rest) && !rest.is_empty() => {
                (rest, true)
            }
            _ => (run.text, false),
        };
        if !(Sha::MIN_LEN..=Sha::MAX_LEN).contains(&hex.len()) || !is_hex(hex) {
            continue;
        }
        let digits = hex.bytes().any(|b| b.is_ascii_digit());
        let letters = hex.bytes().any(|b| b.is_ascii_alphabetic());
        let shape = if described || (digits && letters) {
            Shape::Clear
        } else if letters {
            Shape::Letters
        } else {
            Shape::Digits
        };
        out.push(Token {
            hex,
            shape,
            whole: hex.len() == trimmed.len() && trimmed.eq_ignore_ascii_case(hex),
        });
    }
}

/// Indices of runs that form a UUID (8-4-4-4-12 hex separated by `-`).
fn uuid_runs(runs: &[Run<'_>]) -> Vec<usize> {
    const LENGTHS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut out = Vec::new();
    if runs.len() < 5 {
        return out;
    }
    for start in 0..=runs.len() - 5 {
        let fits = (0..5).all(|k| {
            let r = &runs[start + k];
            r.text.len() == LENGTHS[k] && is_hex(r.text) && (k == 0 || r.sep_before == Some(b'-'))
        });
        if fits {
            out.extend(start..start + 5);
        }
    }
    out
}

/// True when a whole value is a UUID written without dashes would be guessed wrongly: a
/// 32-hex value. Callers use it with names that say id.
pub(crate) fn is_uuid_shaped(text: &str) -> bool {
    let t = text.trim();
    let r = runs(t);
    (t.len() == 32 && is_hex(t)) || (t.len() == 36 && uuid_runs(&r).len() == 5)
}

/// The commits of the watched repository Deploywatch knows, indexed by their first seven
/// characters so that every token costs one lookup.
#[derive(Default)]
pub(crate) struct Known<'a> {
    by_prefix: HashMap<&'a str, Vec<&'a Sha>>,
}

impl<'a> Known<'a> {
    pub fn new(commits: &'a [Sha]) -> Known<'a> {
        let mut by_prefix: HashMap<&str, Vec<&Sha>> = HashMap::new();
        for sha in commits.iter().take(10_000) {
            by_prefix.entry(sha.short()).or_default().push(sha);
        }
        Known { by_prefix }
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }

    /// True when `hex` (7–64 hex characters, any case) matches a known commit by the prefix
    /// rule.
    pub fn contains(&self, hex: &str) -> bool {
        let Some(sha) = Sha::parse(hex) else {
            return false;
        };
        self.by_prefix
            .get(sha.short())
            .is_some_and(|list| list.iter().any(|k| k.matches(&sha)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Option<String> {
        find(text, Rule::Version).map(|s| s.to_string())
    }

    #[test]
    fn shas_inside_versions_anywhere() {
        let sha = "1b2c3d4e5f60718293a4b5c6d7e8f90112233445";
        for (text, want) in [
            ("1.4.2-abc1234", Some("abc1234")),
            ("1.4.2+abc1234", Some("abc1234")),
            ("v2.9.3+1b2c3d4", Some("1b2c3d4")),
            ("v1.2-3-gabc1234", Some("abc1234")),
            ("v1.1.5-0-gf19387a", Some("f19387a")),
            ("v1.2-3-g1234567", Some("1234567")),
            (&format!("{sha}/1.28.0/Clean/RELEASE/BoringSSL"), Some(sha)),
            (&format!(".release:{sha}"), Some(sha)),
            ("10.0.0-dev-123-9a8b7c6d+gitea-1.22.0", Some("9a8b7c6d")),
            ("shop@1.2.3+abc1234", Some("abc1234")),
            ("abc1234", Some("abc1234")),
            ("deadbeef", Some("deadbeef")),
            ("1.2.3", None),
            ("20240101", None),
            ("1.4.2+1234567", None),
            ("1.4.2-abc12", None),
            ("1.4.2-xabc1234", None),
            ("v0.0.0-20191109021931-daa7c04131f5", Some("daa7c04131f5")),
            ("https://github.com/discourse/discourse", None),
            (
                &format!("Discourse 3.2.0 - https://github.com/discourse/discourse version {sha}"),
                Some(sha),
            ),
            (
                "https://github.com/acme/shop/commit/abc1234def",
                Some("abc1234def"),
            ),
            ("https://ci.example.com/builds/abc1234def", None),
            ("/static/js/main.3f9a1c2b.js", None),
            ("chunk-3f9a1c2b.css", None),
            (
                "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                None,
            ),
            ("550e8400-e29b-41d4-a716-446655440000", None),
            // Mattermost's X-Version-Id: version, build number, an MD5 of the client config.
            ("4.7.1.dev.12799cd77e172e8a2eba0f9091ec1471.false", None),
            ("5.30.0.5.30.1.57fb31b889bf81d99d8af8176d4bbaaa.false", None),
            ("12799cd77e172e8a2eba0f9091ec1471", None),
        ] {
            assert_eq!(v(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn digits_only_when_the_name_says_commit() {
        assert_eq!(
            find("087143285", Rule::Commit { digits: true }).map(|s| s.to_string()),
            Some("087143285".into())
        );
        assert_eq!(find("087143285", Rule::Commit { digits: false }), None);
        assert_eq!(find("087143285", Rule::Version), None);
        assert_eq!(find("087143285", Rule::Weak), None);
        assert!(find("087143285", Rule::Configured).is_some());
        assert_eq!(find("ccccccc", Rule::Weak), None);
        assert!(find("v2-ccccccc", Rule::Configured).is_some());
    }

    #[test]
    fn digest_length_runs_are_not_commits_inside_values() {
        let md5 = "57fb31b889bf81d99d8af8176d4bbaaa";
        let inside = format!("5.30.1.{md5}.false");
        for rule in [
            Rule::Commit { digits: true },
            Rule::Version,
            Rule::Weak,
            Rule::Configured,
        ] {
            assert_eq!(find(&inside, rule), None, "{rule:?}");
        }
        // A whole value where a name says commit, or the configuration points, is taken.
        assert!(find(md5, Rule::Commit { digits: false }).is_some());
        assert!(find(md5, Rule::Configured).is_some());
        assert_eq!(find(md5, Rule::Weak), None);
        // Commit lengths around it are untouched.
        assert!(
            find(
                "5.30.1.57fb31b889bf81d99d8af8176d4bbaaa12.false",
                Rule::Version
            )
            .is_some()
        );
        assert!(find("5.30.1.57fb31b889bf.false", Rule::Version).is_some());
    }

    #[test]
    fn known_commits_by_prefix() {
        let commits = [Sha::parse("abc1234def5678abc1234def5678abc1234def56").unwrap()];
        let known = Known::new(&commits);
        assert!(known.contains("ABC1234"));
        assert!(known.contains("abc1234def5678"));
        assert!(!known.contains("abc1235"));
        assert_eq!(
            find_known("deployed abc1234def at noon", &known).map(|s| s.to_string()),
            Some("abc1234def".into())
        );
        assert!(is_uuid_shaped("550e8400e29b41d4a716446655440000"));
    }
}
