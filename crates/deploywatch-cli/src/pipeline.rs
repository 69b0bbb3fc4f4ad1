//! `verify` inside GitHub Actions (`GITHUB_ACTIONS=true`): a Markdown job summary appended to
//! `GITHUB_STEP_SUMMARY`, one annotation per environment that is not live (`::error` for an
//! alert, `::warning` while deploying; `::notice` when live), and the report printed with
//! the runner's command processing stopped around it.
//!
//! Everything a report says about an endpoint came from the network, so nothing of it is
//! trusted here: annotation text is escaped as the runner unescapes it (no line break can end
//! the command early), the human output is wrapped in `::stop-commands::` with a token no
//! endpoint can know (so a body line such as `::add-mask::` or `##[error]` is only text), JSON
//! output has `##[` written as `#\u0023[` (the same JSON string; the runner's legacy parser
//! matches `##[` anywhere in a line), and Markdown text has every ASCII punctuation character
//! backslash-escaped (rendered literally: no links, images, HTML or table breaks).

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;

use deploywatch_core::{Report, Verdict};

/// What GitHub Actions gave this step.
pub struct Actions {
    summary: Option<PathBuf>,
}

impl Actions {
    /// `Some` when running as a GitHub Actions step.
    pub fn detect() -> Option<Actions> {
        (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| Actions {
            summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        })
    }

    /// `text` between `::stop-commands::TOKEN` and `::TOKEN::`, the token random per run.
    pub fn quoted(&self, text: &str) -> String {
        let token = format!(
            "deploywatch-{:016x}",
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        );
        let newline = if text.ends_with('\n') { "" } else { "\n" };
        format!("::stop-commands::{token}\n{text}{newline}::{token}::\n")
    }

    /// One workflow command per report: `::error` for an alert, `::warning` while deploying,
    /// `::notice` when live; each report's warnings as `::warning` too.
    pub fn annotations(&self, reports: &[Report]) -> String {
        let mut out = String::new();
        for r in reports {
            let level = match r.verdict {
                Verdict::Live => "notice",
                Verdict::Deploying => "warning",
                _ => "error",
            };
            let title = format!("{} / {}: {}", r.project, r.environment, r.verdict.as_str());
            let message = if r.verdict == Verdict::Live {
                format!(
                    "{} is live in {} / {}",
                    r.live_sha.as_ref().map_or("-", |s| s.short()),
                    r.project,
                    r.environment
                )
            } else {
                r.hint.clone()
            };
            let _ = writeln!(
                out,
                "::{level} title={}::{}",
                escape_property(&title),
                escape_data(&message)
            );
            for w in &r.warnings {
                let _ = writeln!(
                    out,
                    "::warning title={}::{}",
                    escape_property(&format!("{} / {}", r.project, r.environment)),
                    escape_data(w)
                );
            }
        }
        out
    }

    /// Appends the job summary, if the runner named a file for it.
    pub fn write_summary(&self, reports: &[Report]) -> std::io::Result<()> {
        let Some(path) = &self.summary else {
            return Ok(());
        };
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(summary(reports).as_bytes())
    }
}

/// The job summary: a headline, a table of every environment, and per environment that is
/// not live its hint, warnings and checks.
pub fn summary(reports: &[Report]) -> String {
    let live = reports
        .iter()
        .filter(|r| r.verdict == Verdict::Live)
        .count();
    let mut out = format!(
        "### Deploywatch: {live} of {} environments live\n\n",
        reports.len()
    );
    out.push_str("| | environment | verdict | expected | live | CI |\n|---|---|---|---|---|---|\n");
    for r in reports {
        let sha = |s: Option<&deploywatch_core::Sha>| {
            s.map_or_else(|| "-".to_string(), |s| format!("`{}`", s.short()))
        };
        let _ = writeln!(
            out,
            "| {} | {} / {} | **{}** | {} | {} | {} |",
            mark(r.verdict),
            markdown_text(&r.project),
            markdown_text(&r.environment),
            r.verdict.as_str(),
            sha(r.expected_sha.as_ref()),
            sha(r.live_sha.as_ref()),
            r.ci.as_ref().map_or_else(
                || "-".to_string(),
                |c| markdown_text(c.conclusion.as_deref().unwrap_or(&c.status))
            ),
        );
    }
    for r in reports {
        let _ = write!(
            out,
            "\n<details{}><summary>{} {} / {}: {}</summary>\n\n{}\n\n",
            if r.verdict == Verdict::Live {
                ""
            } else {
                " open"
            },
            mark(r.verdict),
            html_text(&r.project),
            html_text(&r.environment),
            r.verdict.as_str(),
            markdown_text(&r.hint)
        );
        for w in &r.warnings {
            let _ = writeln!(out, "- ⚠️ {}", markdown_text(w));
        }
        for c in &r.checks {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                if c.ok { "✅" } else { "❌" },
                markdown_text(&c.name),
                markdown_text(&c.detail)
            );
        }
        out.push_str("\n</details>\n");
    }
    out.push('\n');
    out
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Live => "✅",
        Verdict::Deploying => "⏳",
        _ => "❌",
    }
}

/// A workflow command's message, escaped as the runner unescapes it.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`title=`), escaped as the runner unescapes it.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text shown literally in Markdown, on one line: every ASCII punctuation character
/// backslash-escaped (CommonMark renders `\x` as `x` for any of them, so no emphasis, link,
/// image, HTML tag, code span or table cell break survives), line breaks and other control
/// characters as spaces.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Text inside an HTML element of the summary (`<summary>`), where Markdown is not read.
fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JSON text with `##[` written `#\u0023[`: the same document for any JSON reader, and no
/// line the runner's legacy command parser would take for a command.
pub fn defuse_json(text: &str) -> String {
    // `#` occurs only inside strings in JSON, where `\u0023` is its escape.
    text.replace("##[", "#\\u0023[")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The runner's unescaping of a command's message (ActionCommand.UnescapeData).
    fn unescape_data(s: &str) -> String {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%")
    }

    fn unescape_property(s: &str) -> String {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }

    proptest! {
        #[test]
        fn a_message_stays_on_its_line_and_reads_back_whole(s in "\\PC*|[%\r\n:,a-z]*") {
            let e = escape_data(&s);
            prop_assert!(!e.contains('\n') && !e.contains('\r'));
            prop_assert_eq!(unescape_data(&e), s);
        }

        #[test]
        fn a_title_cannot_end_its_property_and_reads_back_whole(s in "[%\r\n:,=a-z ]*") {
            let e = escape_property(&s);
            prop_assert!(!e.contains(':') && !e.contains(',') && !e.contains('\n'));
            prop_assert_eq!(unescape_property(&e), s);
        }

        #[test]
        fn markdown_text_has_no_unescaped_punctuation_or_line_break(s in "\\PC*|[|<>`*_\\[\\]()!\n\\\\a]*") {
            let m = markdown_text(&s);
            prop_assert!(!m.contains('\n'));
            let mut chars = m.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    let next = chars.next();
                    prop_assert!(next.is_some_and(|n| n.is_ascii_punctuation()), "{:?}", m);
                } else {
                    prop_assert!(!c.is_ascii_punctuation(), "{:?} in {:?}", c, m);
                }
            }
        }

        #[test]
        fn defused_json_is_the_same_document(s in "[#\\[a-z\"]*") {
            let text = serde_json::to_string(&vec![s.clone()]).expect("json");
            let defused = defuse_json(&text);
            prop_assert!(!defused.contains("##["));
            let back: Vec<String> = serde_json::from_str(&defused).expect("still JSON");
            prop_assert_eq!(back, vec![s]);
        }
    }

    #[test]
    fn quoted_output_stops_commands_with_a_token_no_one_can_guess() {
        let a = Actions { summary: None };
        let (one, two) = (a.quoted("::add-mask::x\n"), a.quoted("y"));
        let token = |q: &str| {
            q.lines()
                .next()
                .and_then(|l| l.strip_prefix("::stop-commands::"))
                .map(str::to_string)
                .expect("first line stops commands")
        };
        let t = token(&one);
        assert_ne!(t, token(&two), "a token per run");
        assert_eq!(
            one,
            format!("::stop-commands::{t}\n::add-mask::x\n::{t}::\n")
        );
    }
}
