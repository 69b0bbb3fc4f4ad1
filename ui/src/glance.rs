//! The dashboard at a glance, as pure functions with native tests: how much an environment
//! needs a person (its [`Standing`]), the order and grouping of the rows, the summaries in
//! words, the search box's matching and where the arrow keys move.
//!
//! Order: environments needing attention first (every verdict SPEC §3 calls an alert, i.e.
//! all but `live` and `deploying`, and verdicts of a newer backend), then deploying, then
//! live, then not checked yet; within each, the config's order (the sorts are stable).
//! Projects are grouped, a project as urgent as its most urgent environment.

use deploywatch_ipc::EnvRow;

use crate::verdict::verdict_label;

/// How much an environment needs a person, most first: the order of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// An alert verdict: everything but `live` and `deploying` (SPEC §3).
    Attention,
    Deploying,
    Live,
    /// No check yet.
    Unchecked,
}

impl Standing {
    pub fn of(verdict: Option<&str>) -> Standing {
        match verdict {
            None => Standing::Unchecked,
            Some("live") => Standing::Live,
            Some("deploying") => Standing::Deploying,
            Some(_) => Standing::Attention,
        }
    }

    pub fn of_row(row: &EnvRow) -> Standing {
        Standing::of(row.verdict.as_deref())
    }

    /// A word for CSS and tests: `attention`, `deploying`, `live`, `unchecked`.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Attention => "attention",
            Standing::Deploying => "deploying",
            Standing::Live => "live",
            Standing::Unchecked => "unchecked",
        }
    }

    /// `n` environments in this standing, in words: `1 needs attention`, `2 need attention`,
    /// `3 deploying`, `8 live`, `1 not checked yet`.
    fn count_words(self, n: usize) -> String {
        match self {
            Standing::Attention if n == 1 => "1 needs attention".into(),
            Standing::Attention => format!("{n} need attention"),
            Standing::Deploying => format!("{n} deploying"),
            Standing::Live => format!("{n} live"),
            Standing::Unchecked => format!("{n} not checked yet"),
        }
    }
}

/// How many environments are in each standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub attention: usize,
    pub deploying: usize,
    pub live: usize,
    pub unchecked: usize,
}

impl Counts {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a EnvRow>) -> Counts {
        let mut c = Counts::default();
        for row in rows {
            match Standing::of_row(row) {
                Standing::Attention => c.attention += 1,
                Standing::Deploying => c.deploying += 1,
                Standing::Live => c.live += 1,
                Standing::Unchecked => c.unchecked += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.attention + self.deploying + self.live + self.unchecked
    }

    /// The most urgent standing present (`Unchecked` when there is nothing).
    pub fn worst(&self) -> Standing {
        [
            (self.attention, Standing::Attention),
            (self.deploying, Standing::Deploying),
            (self.live, Standing::Live),
        ]
        .into_iter()
        .find(|(n, _)| *n > 0)
        .map_or(Standing::Unchecked, |(_, s)| s)
    }

    /// The state in words, most urgent first, leaving out what is zero:
    /// `2 need attention · 1 deploying · 8 live`; `no environments` when empty.
    pub fn words(&self) -> String {
        let parts: Vec<String> = [
            (Standing::Attention, self.attention),
            (Standing::Deploying, self.deploying),
            (Standing::Live, self.live),
            (Standing::Unchecked, self.unchecked),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| s.count_words(n))
        .collect();
        if parts.is_empty() {
            "no environments".into()
        } else {
            parts.join(" · ")
        }
    }
}

/// One project's environments on the dashboard, most urgent first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub project: String,
    pub rows: Vec<EnvRow>,
    pub counts: Counts,
}

impl Group {
    /// The project's line: `shop — 1 needs attention · 2 live`.
    pub fn summary(&self) -> String {
        summary(&self.project, &self.counts)
    }
}

/// A project's line: its name and its counts in words.
pub fn summary(project: &str, counts: &Counts) -> String {
    format!("{project} — {}", counts.words())
}

/// The rows grouped by project: projects in order of their most urgent environment, rows in
/// order of urgency; ties keep the order the rows came in (the config's).
pub fn group(rows: &[EnvRow]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    // Project name → index in `groups`: a fleet of hundreds is grouped in one pass.
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for row in rows {
        let i = *at.entry(row.project.as_str()).or_insert_with(|| {
            groups.push(Group {
                project: row.project.clone(),
                rows: Vec::new(),
                counts: Counts::default(),
            });
            groups.len() - 1
        });
        groups[i].rows.push(row.clone());
    }
    for g in &mut groups {
        g.rows.sort_by_key(Standing::of_row);
        g.counts = Counts::of(&g.rows);
    }
    groups.sort_by_key(|g| g.counts.worst());
    groups
}

/// What the search box asks for: words that must each appear (case-insensitive) in the
/// environment's project, name, `project/environment`, verdict (`stale_frontend`), its label
/// (`stale frontend`) or standing (`attention`, `alert`, `deploying`, `live`, `unchecked`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    terms: Vec<String>,
}

impl Query {
    pub fn parse(text: &str) -> Query {
        Query {
            terms: text.split_whitespace().map(str::to_lowercase).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `row` is shown; an empty query shows everything.
    pub fn matches(&self, row: &EnvRow) -> bool {
        self.is_empty() || self.matches_text(&haystack(row))
    }

    /// Whether a [`haystack`] holds every word.
    pub fn matches_text(&self, haystack: &str) -> bool {
        self.terms.iter().all(|t| haystack.contains(t.as_str()))
    }
}

/// What the search box matches a row against, lower case (built once per row).
pub fn haystack(row: &EnvRow) -> String {
    let verdict = row.verdict.as_deref();
    let standing = match Standing::of(verdict) {
        Standing::Attention => "needs attention alert",
        Standing::Deploying => "deploying",
        Standing::Live => "live",
        Standing::Unchecked => "unchecked",
    };
    format!(
        "{p}\n{e}\n{p}/{e}\n{v}\n{label}\n{standing}",
        p = row.project,
        e = row.environment,
        v = verdict.unwrap_or(""),
        label = verdict_label(verdict),
    )
    .to_lowercase()
}

/// Where a move of the arrow keys goes among `len` visible rows from row `at` (`None`: from
/// outside the rows, e.g. the search box): one down or up, stopping at the ends; `None` when
/// there is no row to go to.
pub fn step(len: usize, at: Option<usize>, down: bool) -> Option<usize> {
    if len == 0 {
        return None;
    }
    Some(match (at, down) {
        (None, true) => 0,
        (None, false) => len - 1,
        (Some(i), true) => (i + 1).min(len - 1),
        (Some(i), false) => i.saturating_sub(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(project: &str, environment: &str, verdict: Option<&str>) -> EnvRow {
        EnvRow {
            project: project.into(),
            environment: environment.into(),
            repo: format!("acme/{project}"),
            commit_url_base: format!("https://github.com/acme/{project}/commit/"),
            verdict: verdict.map(Into::into),
            expected_sha: None,
            live_sha: None,
            ci_status: None,
            ci_conclusion: None,
            ci_url: None,
            checked_at: None,
            next_check_at: None,
            hint: None,
            incident_open: false,
            muted: false,
        }
    }

    fn names(groups: &[Group]) -> Vec<String> {
        groups
            .iter()
            .flat_map(|g| g.rows.iter())
            .map(|r| format!("{}/{}", r.project, r.environment))
            .collect()
    }

    #[test]
    fn every_alert_needs_attention_and_only_live_and_deploying_do_not() {
        for v in crate::verdict::VERDICTS {
            let want = match v {
                "live" => Standing::Live,
                "deploying" => Standing::Deploying,
                _ => Standing::Attention,
            };
            assert_eq!(Standing::of(Some(v)), want, "{v}");
        }
        // A verdict of a newer backend is shown among the alerts, not hidden among the live.
        assert_eq!(Standing::of(Some("brand_new")), Standing::Attention);
        assert_eq!(Standing::of(None), Standing::Unchecked);
        assert!(Standing::Attention < Standing::Deploying);
        assert!(Standing::Deploying < Standing::Live);
        assert!(Standing::Live < Standing::Unchecked);
    }

    #[test]
    fn alerts_come_first_then_deploying_then_live_in_config_order_within_each() {
        let rows = vec![
            row("shop", "production", Some("live")),
            row("shop", "staging", Some("deploying")),
            row("shop", "canary", Some("phantom")),
            row("shop", "eu", Some("live")),
            row("shop", "us", Some("down")),
            row("shop", "preview", None),
        ];
        let groups = group(&rows);
        assert_eq!(groups.len(), 1);
        assert_eq!(
            names(&groups),
            [
                "shop/canary",
                "shop/us",
                "shop/staging",
                "shop/production",
                "shop/eu",
                "shop/preview"
            ]
        );
    }

    #[test]
    fn projects_are_grouped_and_ordered_by_their_most_urgent_environment() {
        let rows = vec![
            row("docs", "production", Some("live")),
            row("shop", "production", Some("live")),
            row("api", "production", Some("deploying")),
            row("shop", "staging", Some("stale_frontend")),
            row("web", "production", Some("mixed")),
            row("api", "staging", Some("live")),
            row("blog", "production", None),
        ];
        let groups = group(&rows);
        let projects: Vec<&str> = groups.iter().map(|g| g.project.as_str()).collect();
        // shop and web need attention (config order between them), api is deploying, docs
        // is live, blog was never checked.
        assert_eq!(projects, ["shop", "web", "api", "docs", "blog"]);
        assert_eq!(
            names(&groups),
            [
                "shop/staging",
                "shop/production",
                "web/production",
                "api/production",
                "api/staging",
                "docs/production",
                "blog/production"
            ]
        );
        // Interleaved rows of one project end up together, none lost.
        assert_eq!(
            groups.iter().map(|g| g.rows.len()).sum::<usize>(),
            rows.len()
        );
        assert_eq!(
            groups[0].counts,
            Counts {
                attention: 1,
                live: 1,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn summaries_say_the_state_in_words() {
        let rows = vec![
            row("shop", "production", Some("phantom")),
            row("shop", "staging", Some("live")),
            row("shop", "eu", Some("live")),
        ];
        let groups = group(&rows);
        assert_eq!(groups[0].summary(), "shop — 1 needs attention · 2 live");
        let counts = |attention, deploying, live, unchecked| Counts {
            attention,
            deploying,
            live,
            unchecked,
        };
        assert_eq!(
            counts(2, 1, 8, 0).words(),
            "2 need attention · 1 deploying · 8 live"
        );
        assert_eq!(counts(0, 0, 11, 0).words(), "11 live");
        assert_eq!(
            counts(0, 1, 0, 2).words(),
            "1 deploying · 2 not checked yet"
        );
        assert_eq!(counts(0, 0, 0, 0).words(), "no environments");
        assert_eq!(counts(0, 0, 0, 0).worst(), Standing::Unchecked);
        assert_eq!(counts(0, 3, 4, 0).worst(), Standing::Deploying);
        assert_eq!(counts(1, 3, 4, 0).worst(), Standing::Attention);
        assert_eq!(counts(1, 3, 4, 2).total(), 10);
        let all = [
            row("a", "x", Some("ci_failed")),
            row("b", "x", Some("unverifiable")),
            row("b", "y", Some("deploying")),
            row("c", "x", None),
        ];
        assert_eq!(Counts::of(&all), counts(2, 1, 0, 1));
    }

    #[test]
    fn the_search_matches_names_and_verdict_words() {
        let shop = row("shop", "production", Some("stale_frontend"));
        let api = row("api", "staging", Some("live"));
        let docs = row("docs", "preview", Some("deploying"));
        let new = row("auth", "production", None);
        let shown = |q: &str| -> Vec<String> {
            let q = Query::parse(q);
            [&shop, &api, &docs, &new]
                .into_iter()
                .filter(|r| q.matches(r))
                .map(|r| format!("{}/{}", r.project, r.environment))
                .collect()
        };
        assert_eq!(shown("").len(), 4);
        assert_eq!(shown("   ").len(), 4);
        assert_eq!(shown("shop"), ["shop/production"]);
        assert_eq!(shown("PROD"), ["shop/production", "auth/production"]);
        // Every word must match, in any of the fields.
        assert_eq!(shown("shop prod"), ["shop/production"]);
        assert_eq!(shown("shop staging"), Vec::<String>::new());
        assert_eq!(shown("api/stag"), ["api/staging"]);
        // Verdicts by their name and their label; standings by their word.
        assert_eq!(shown("stale_frontend"), ["shop/production"]);
        assert_eq!(shown("stale frontend"), ["shop/production"]);
        assert_eq!(shown("attention"), ["shop/production"]);
        assert_eq!(shown("alert"), ["shop/production"]);
        assert_eq!(shown("live"), ["api/staging"]);
        assert_eq!(shown("deploying"), ["docs/preview"]);
        assert_eq!(shown("unchecked"), ["auth/production"]);
        assert_eq!(shown("not checked"), ["auth/production"]);
        assert_eq!(shown("phantom"), Vec::<String>::new());
        assert!(Query::parse("").is_empty());
        assert!(!Query::parse("x").is_empty());
    }

    #[test]
    fn the_search_keeps_up_with_a_large_fleet() {
        // 500 environments, filtered in memory: the matching itself is a few string searches
        // per row (what the search box runs on every key).
        let rows: Vec<EnvRow> = (0..500)
            .map(|i| {
                row(
                    &format!("proj-{:02}", i / 25),
                    &format!("env-{:02}", i % 25),
                    Some(if i % 7 == 0 { "phantom" } else { "live" }),
                )
            })
            .collect();
        let q = Query::parse("proj-03 env-1");
        assert_eq!(rows.iter().filter(|r| q.matches(r)).count(), 10);
        let q = Query::parse("phantom");
        assert_eq!(rows.iter().filter(|r| q.matches(r)).count(), 72);
        let groups = group(&rows);
        assert_eq!(groups.len(), 20);
        assert_eq!(groups[0].rows[0].verdict.as_deref(), Some("phantom"));
    }

    #[test]
    fn arrows_move_one_row_and_stop_at_the_ends() {
        assert_eq!(step(0, None, true), None);
        assert_eq!(step(0, Some(0), false), None);
        assert_eq!(step(3, None, true), Some(0));
        assert_eq!(step(3, None, false), Some(2));
        assert_eq!(step(3, Some(0), true), Some(1));
        assert_eq!(step(3, Some(2), true), Some(2));
        assert_eq!(step(3, Some(2), false), Some(1));
        assert_eq!(step(3, Some(0), false), Some(0));
    }
}
