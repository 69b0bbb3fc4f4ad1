//! The Prometheus text exposition format (and OpenMetrics): a `*_build_info` gauge whose
//! labels name the build, e.g. `prometheus_build_info{branch="HEAD",revision="<sha>",
//! version="2.45.0"} 1` or Kubernetes' `kubernetes_build_info{git_commit="<sha>",…} 1`.

use super::keys::{self, KeyClass};
use super::rank::{Candidate, MAX_CANDIDATES, Origin};
use super::tokens::{self, Known, Rule};
use super::{Findings, quote, visible};

/// Labels read per series; a line with more is read up to here.
const MAX_LABELS: usize = 64;

/// True when the text looks like a metrics exposition at all.
pub(crate) fn looks_like_metrics(text: &str) -> bool {
    text.lines().take(200).any(|l| {
        let l = l.trim_start();
        l.starts_with("# TYPE ") || l.starts_with("# HELP ") || series(l).is_some()
    })
}

/// Searches every `*_info` series (`*_build_info`, `*_version_info`, …) for labels that name
/// the build's commit or carry it in a version.
pub(crate) fn scan(text: &str, known: &Known<'_>, found: &mut Findings) {
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        let Some((metric, labels)) = series(line) else {
            continue;
        };
        let build_info = metric.ends_with("build_info") || metric.ends_with("version_info");
        if !build_info && !metric.ends_with("_info") {
            continue;
        }
        for (label, value) in labels {
            if found.candidates.len() >= MAX_CANDIDATES {
                return;
            }
            let words = keys::words(label);
            let (class, specificity) = keys::classify(&words, &[]);
            let source = format!("Prometheus {}{{{}}}", visible(metric), visible(label));
            let known_sha = (class != KeyClass::NotThisBuild)
                .then(|| tokens::find_known(&value, known))
                .flatten();
            let rule = match class {
                KeyClass::Commit => Some(Rule::Commit {
                    digits: words.iter().any(|w| w == "commit" || w == "sha"),
                }),
                KeyClass::Version if build_info => Some(Rule::Version),
                _ => None,
            };
            let sha = known_sha
                .clone()
                .or_else(|| rule.and_then(|r| tokens::find(&value, r)));
            match sha {
                Some(sha) => found.candidates.push(Candidate {
                    sha,
                    class,
                    known: known_sha.is_some(),
                    origin: Origin::Body,
                    depth: 0,
                    specificity,
                    source,
                    pin: None,
                    guess: false,
                }),
                None if class == KeyClass::Commit && build_info && found.faults.len() < 4 => {
                    found
                        .faults
                        .push(format!("{source} is {}, not a git SHA", quote(&value)));
                }
                None => {}
            }
        }
    }
}

/// ` 1`, ` 1.5e3 1700000000`, ` NaN`: what follows a series' name and labels.
fn is_sample(rest: &str) -> bool {
    rest.starts_with([' ', '\t'])
        && rest
            .split_whitespace()
            .next()
            .is_some_and(|v| v.parse::<f64>().is_ok() || matches!(v, "NaN" | "+Inf" | "-Inf"))
}

/// `name{l1="v1",l2="v2"} 1` → the name and its labels (escapes `\"`, `\\`, `\n` undone).
/// `None` for anything else.
fn series(line: &str) -> Option<(&str, Vec<(&str, String)>)> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = &line[name_end..];
    let Some(mut rest) = rest.strip_prefix('{') else {
        // A series without labels has nothing to read, but is still a series.
        return is_sample(rest).then_some((name, Vec::new()));
    };
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(after) = rest.strip_prefix('}') {
            return is_sample(after).then_some((name, labels));
        }
        let eq = rest.find('=')?;
        let label = rest[..eq].trim();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        rest = &rest[end + 1..];
        if labels.len() < MAX_LABELS {
            labels.push((label, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_lines() {
        let (name, labels) =
            series(r#"prometheus_build_info{branch="HEAD",revision="abc1234",version="2.45.0",x="a\"b"} 1"#)
                .unwrap();
        assert_eq!(name, "prometheus_build_info");
        assert_eq!(labels[1], ("revision", "abc1234".to_string()));
        assert_eq!(labels[3], ("x", "a\"b".to_string()));
        assert!(series("up 1").is_some_and(|(_, l)| l.is_empty()));
        assert!(series("not a series").is_none());
        assert!(series(r#"x{a="unterminated} 1"#).is_none());
        assert!(series("").is_none());
    }
}
