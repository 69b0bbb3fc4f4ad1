//! Git commit SHAs as they appear in build-info endpoints and on GitHub.

use std::fmt;

/// A git commit SHA, short or full: lowercase hex, at least 7 characters.
///
/// Two SHAs *match* when the shorter is a prefix of the longer (SPEC §2), so a build that
/// reports `abc1234` matches the pushed `abc1234def…`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha(String);

impl Sha {
    /// The shortest SHA accepted; shorter hex strings are too ambiguous to compare.
    pub const MIN_LEN: usize = 7;
    /// SHA-256 object names are 64 hex characters; nothing longer is a commit id.
    pub const MAX_LEN: usize = 64;

    /// Parses a SHA, case-insensitively, ignoring surrounding whitespace. Returns `None` for
    /// anything that is not 7 to 64 hex characters (`"unknown"`, `""`, `"v1.2"`).
    pub fn parse(text: &str) -> Option<Sha> {
        let t = text.trim();
        if (Self::MIN_LEN..=Self::MAX_LEN).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Some(Sha(t.to_ascii_lowercase()))
        } else {
            None
        }
    }

    /// Finds a SHA at the end of a version string such as `1.4.2-abc1234` or `1.4.2+abc1234`
    /// (or a bare SHA). The SHA must be separated from what precedes it by `-`, `+`, `.`, `_`
    /// or `g` (as in `git describe`'s `v1.2-3-gabc1234`).
    pub fn parse_version_suffix(version: &str) -> Option<Sha> {
        let v = version.trim();
        if let Some(sha) = Sha::parse(v) {
            return Some(sha);
        }
        let start = v
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_hexdigit())
            .last()
            .map(|(i, _)| i)?;
        let (head, tail) = v.split_at(start);
        let sep_ok = head.ends_with(['-', '+', '.', '_']) || head.ends_with("-g");
        if !sep_ok {
            // `1.4.2-gabc1234`: the hex run swallowed nothing of the `g`, but `head` ends in
            // `g` preceded by `-`; any other letter before the hex run means it is a word.
            return None;
        }
        Sha::parse(tail)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as shown to people.
    pub fn short(&self) -> &str {
        &self.0[..Self::MIN_LEN]
    }

    /// True when the shorter of the two is a prefix of the longer.
    pub fn matches(&self, other: &Sha) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        if a.len() <= b.len() {
            b.starts_with(a)
        } else {
            a.starts_with(b)
        }
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({})", self.0)
    }
}

impl TryFrom<String> for Sha {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sha::parse(&s).ok_or_else(|| format!("not a git SHA: {s:?}"))
    }
}

impl From<Sha> for String {
    fn from(s: Sha) -> String {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let cases: &[(&str, Option<&str>)] = &[
            ("abc1234", Some("abc1234")),
            ("  ABC1234DEF\n", Some("abc1234def")),
            ("abc123", None),
            ("unknown", None),
            ("", None),
            ("xyz1234", None),
            (&"a".repeat(65), None),
        ];
        for (input, want) in cases {
            assert_eq!(
                Sha::parse(input).as_ref().map(Sha::as_str),
                *want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn version_suffixes() {
        let cases: &[(&str, Option<&str>)] = &[
            ("1.4.2-abc1234", Some("abc1234")),
            ("1.4.2+abc1234", Some("abc1234")),
            ("v1.2-3-gabc1234", Some("abc1234")),
            ("abc1234", Some("abc1234")),
            ("1.4.2", None),
            ("1.4.2-abc12", None),
            ("release-deadbeefcafe", Some("deadbeefcafe")),
            ("1.4.2-xabc1234", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                Sha::parse_version_suffix(input).as_ref().map(Sha::as_str),
                *want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn prefix_matching_is_symmetric() {
        let short = Sha::parse("abc1234").unwrap();
        let long = Sha::parse("abc1234def567").unwrap();
        let other = Sha::parse("abc1235def567").unwrap();
        assert!(short.matches(&long) && long.matches(&short));
        assert!(!short.matches(&other) && !other.matches(&short));
        assert_eq!(long.short(), "abc1234");
    }
}
