//! Candidates for "this build's commit" from every part of an answer, and how the best one is
//! chosen: a known commit of the watched repository first, then names that say commit, then
//! versions, then guesses; the body before headers before HTML; shallow before deep; specific
//! before vague. Two different SHAs that tie are reported as a guess.

use deploywatch_core::{Confidence, Pin, Sha};

use super::keys::KeyClass;

/// Where in the answer a candidate was found, in the order SPEC §2 reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Origin {
    /// The JSON body, a Prometheus exposition, a plain-text body.
    Body,
    Header,
    Html,
}

#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub sha: Sha,
    /// What the name it was found under says.
    pub class: KeyClass,
    /// It is one of the commits of the watched repository Deploywatch knows.
    pub known: bool,
    pub origin: Origin,
    /// Nesting depth (JSON levels, array levels count twice).
    pub depth: usize,
    /// How many of the name's words say commit or build.
    pub specificity: usize,
    /// Where, for people: `JSON /data/revision`, `header X-Revision`.
    pub source: String,
    /// The configuration that pins it, when one can.
    pub pin: Option<Pin>,
    /// A Next.js build id or similar that is a guess whatever its name says.
    pub guess: bool,
}

impl Candidate {
    /// Where the candidate stands by what the answer itself says: its name, where it is, how
    /// deep, how specific. Smaller is better.
    fn standing(&self) -> (u8, Origin, usize, std::cmp::Reverse<usize>) {
        (
            class_rank(self.class),
            self.origin,
            self.depth,
            std::cmp::Reverse(self.specificity),
        )
    }

    /// Smaller is better. What the answer says comes first and being a known commit only
    /// breaks ties: a body whose `git_sha` names an unknown (old) build and that mentions the
    /// expected SHA elsewhere (a changelog, a queued deploy) must not read as live.
    fn rank(&self) -> ((u8, Origin, usize, std::cmp::Reverse<usize>), u8, u8) {
        (self.standing(), u8::from(!self.known), u8::from(self.guess))
    }
}

fn class_rank(class: KeyClass) -> u8 {
    match class {
        KeyClass::Commit => 0,
        KeyClass::Version => 1,
        KeyClass::Weak => 2,
        KeyClass::Neutral => 3,
        KeyClass::Lookalike => 4,
        KeyClass::Foreign => 5,
        KeyClass::NotThisBuild => 6,
    }
}

/// The most candidates kept from one answer; the rest are dropped (they come after the
/// shallow ones, which are searched first).
pub(crate) const MAX_CANDIDATES: usize = 256;

/// What the candidates of one answer come to.
pub(crate) enum Choice {
    /// No candidate at all.
    None,
    /// The best candidate and how sure the choice is.
    Chosen(Candidate, Confidence),
    /// Two candidates that stand equally by what the answer says name different commits: no
    /// choice between them is safe (a wrong one could read as live).
    Ambiguous(Candidate, Candidate),
}

/// Chooses the candidate that most clearly names this build's commit.
pub(crate) fn choose(mut candidates: Vec<Candidate>) -> Choice {
    candidates.retain(|c| c.class != KeyClass::NotThisBuild);
    // Deterministic whatever order the JSON map iterates in: rank, then the longer SHA (a
    // full SHA beside its abbreviation), then the source text.
    candidates.sort_by(|a, b| {
        a.rank()
            .cmp(&b.rank())
            .then_with(|| b.sha.as_str().len().cmp(&a.sha.as_str().len()))
            .then_with(|| a.source.cmp(&b.source))
    });
    let Some(best) = candidates.first().cloned() else {
        return Choice::None;
    };
    if let Some(rival) = candidates
        .iter()
        .skip(1)
        .take_while(|c| c.standing() == best.standing())
        .find(|c| !c.sha.matches(&best.sha))
    {
        return Choice::Ambiguous(best, rival.clone());
    }
    let confidence = if best.known {
        Confidence::KnownCommit
    } else if best.guess || best.class != KeyClass::Commit && best.class != KeyClass::Version {
        Confidence::Guess
    } else {
        Confidence::Convention
    };
    Choice::Chosen(best, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(sha: &str, class: KeyClass, known: bool, depth: usize, source: &str) -> Candidate {
        Candidate {
            sha: Sha::parse(sha).unwrap(),
            class,
            known,
            origin: Origin::Body,
            depth,
            specificity: 1,
            source: source.into(),
            pin: None,
            guess: false,
        }
    }

    #[test]
    fn ranking() {
        use KeyClass::*;
        let pick = |list: Vec<Candidate>| match choose(list) {
            Choice::Chosen(c, conf) => Some((c.sha.to_string(), c.source, conf)),
            Choice::Ambiguous(a, b) => Some((
                format!("{} or {}", a.sha, b.sha),
                String::new(),
                Confidence::Guess,
            )),
            Choice::None => None,
        };
        // What the answer says beats being known: a `git_sha` of an unknown build wins over
        // a known commit mentioned under a vaguer name (a false live otherwise).
        assert_eq!(
            pick(vec![
                c("aaaaaaa", Commit, false, 0, "a"),
                c("bbbbbbb", Neutral, true, 3, "b"),
            ]),
            Some(("aaaaaaa".into(), "a".into(), Confidence::Convention))
        );
        assert_eq!(
            pick(vec![
                c("aaaaaaa", Commit, false, 0, "top"),
                c("bbbbbbb", Commit, true, 2, "changelog"),
            ])
            .unwrap()
            .1,
            "top"
        );
        // Known alone lifts a vague name; known breaks a tie of equal standing only when
        // both name the same commit.
        assert_eq!(
            pick(vec![c("bbbbbbb", Neutral, true, 3, "b")]),
            Some(("bbbbbbb".into(), "b".into(), Confidence::KnownCommit))
        );
        assert!(matches!(
            choose(vec![
                c("aaaaaaa", Commit, false, 1, "app"),
                c("bbbbbbb", Commit, true, 1, "config_repo"),
            ]),
            Choice::Ambiguous(..)
        ));
        // Shallow beats deep; a tie of different SHAs is a guess; a tie of matching SHAs
        // (a full SHA and its abbreviation) is not, and the full one is kept.
        assert_eq!(
            pick(vec![
                c("aaaaaaa", Commit, false, 1, "deep"),
                c("bbbbbbb", Commit, false, 0, "top"),
            ])
            .unwrap()
            .1,
            "top"
        );
        assert!(matches!(
            choose(vec![
                c("aaaaaaa", Commit, false, 0, "x"),
                c("bbbbbbb", Commit, false, 0, "y"),
            ]),
            Choice::Ambiguous(..)
        ));
        assert_eq!(
            pick(vec![
                c("abcdef1", Commit, false, 0, "abbrev"),
                c("abcdef1234", Commit, false, 0, "full"),
            ]),
            Some(("abcdef1234".into(), "full".into(), Confidence::Convention))
        );
        assert_eq!(
            pick(vec![c("aaaaaaa", NotThisBuild, true, 0, "prev")]),
            None
        );
        assert_eq!(
            pick(vec![c("aaaaaaa", Weak, false, 0, "w")]).unwrap().2,
            Confidence::Guess
        );
    }
}
