//! History browser state: the filters a person sets and the page cursors, turned into the
//! backend's [`HistoryQuery`].

use chrono::{Days, NaiveDate};
use deploywatch_ipc::HistoryQuery;

/// Events per history page.
pub const PAGE_SIZE: u32 = 50;

/// The filters as the form holds them: empty strings mean "any". Dates are `YYYY-MM-DD`
/// (what `<input type="date">` gives), read as whole UTC days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub environment: String,
    pub verdict: String,
    pub from: String,
    pub to: String,
}

impl HistoryFilter {
    /// The query for one page of `project`'s history, starting after cursor `before`.
    /// `to` is inclusive, so the bound sent is the start of the next day. Dates that do not
    /// parse are ignored rather than sent (the date input only produces valid ones).
    pub fn to_query(&self, project: &str, before: Option<String>) -> HistoryQuery {
        let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let start = |d: NaiveDate| format!("{}T00:00:00Z", d.format("%Y-%m-%d"));
        HistoryQuery {
            project: Some(project.to_string()),
            environment: non_empty(&self.environment),
            verdict: non_empty(&self.verdict),
            since: day(&self.from).map(start),
            until: day(&self.to)
                .and_then(|d| d.checked_add_days(Days::new(1)))
                .map(start),
            before,
            limit: PAGE_SIZE,
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Cursors of the pages walked so far, newest first: "Older" pushes the page's `next`
/// cursor, "Newer" pops back. The first page has no cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pager {
    stack: Vec<String>,
}

impl Pager {
    /// The cursor of the page being shown (`None` for the newest page).
    pub fn current(&self) -> Option<String> {
        self.stack.last().cloned()
    }

    /// Moves to the older page that starts after `next`.
    pub fn older(&mut self, next: String) {
        self.stack.push(next);
    }

    /// Moves back one page towards the newest; false when already there.
    pub fn newer(&mut self) -> bool {
        self.stack.pop().is_some()
    }

    /// Whether a newer page exists.
    pub fn has_newer(&self) -> bool {
        !self.stack.is_empty()
    }

    /// 1-based number of the page shown.
    pub fn page_number(&self) -> usize {
        self.stack.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(filter: HistoryFilter, expected: HistoryQuery) {
        assert_eq!(filter.to_query("shop", None), expected);
    }

    fn base() -> HistoryQuery {
        HistoryQuery {
            project: Some("shop".into()),
            limit: PAGE_SIZE,
            ..HistoryQuery::default()
        }
    }

    #[test]
    fn empty_filters_ask_for_everything() {
        check(HistoryFilter::default(), base());
        check(
            HistoryFilter {
                environment: "  ".into(),
                ..Default::default()
            },
            base(),
        );
    }

    #[test]
    fn filters_become_query_fields() {
        check(
            HistoryFilter {
                environment: "production".into(),
                verdict: "phantom".into(),
                from: "2026-11-01".into(),
                to: "2026-11-21".into(),
            },
            HistoryQuery {
                environment: Some("production".into()),
                verdict: Some("phantom".into()),
                since: Some("2026-11-01T00:00:00Z".into()),
                until: Some("2026-11-22T00:00:00Z".into()),
                ..base()
            },
        );
        // The end date is inclusive, across a month end.
        check(
            HistoryFilter {
                to: "2026-11-30".into(),
                ..Default::default()
            },
            HistoryQuery {
                until: Some("2026-12-01T00:00:00Z".into()),
                ..base()
            },
        );
        check(
            HistoryFilter {
                from: "yesterday".into(),
                ..Default::default()
            },
            base(),
        );
    }

    #[test]
    fn paging_walks_older_and_back() {
        let mut pager = Pager::default();
        assert_eq!(
            (pager.current(), pager.has_newer(), pager.page_number()),
            (None, false, 1)
        );
        pager.older("c1".into());
        pager.older("c2".into());
        assert_eq!(
            (pager.current(), pager.page_number()),
            (Some("c2".into()), 3)
        );
        assert!(pager.newer());
        assert_eq!(pager.current(), Some("c1".into()));
        assert!(pager.newer());
        assert!(!pager.newer());
        assert_eq!(pager.current(), None);
        let q = HistoryFilter::default().to_query("shop", Some("c9".into()));
        assert_eq!(q.before.as_deref(), Some("c9"));
    }
}
