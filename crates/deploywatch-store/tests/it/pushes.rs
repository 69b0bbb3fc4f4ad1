//! Pushes: branch heads, first-seen times, the previous head.

use deploywatch_store::Store;

use crate::{push, sha, t, temp_store};

/// Feeds (seed, secs) heads in order; returns what `record_push` said for each.
fn feed(store: &mut Store, heads: &[(&str, i64)]) -> Vec<bool> {
    heads
        .iter()
        .map(|(seed, secs)| {
            store
                .record_push(&push("shop", "main", seed, *secs))
                .unwrap()
        })
        .collect()
}

#[test]
fn record_push_reports_head_changes_and_keeps_first_seen() {
    let (_dir, mut store) = temp_store();
    // b1 seen twice, then a force-push back to a1.
    let new = feed(
        &mut store,
        &[("a1", 0), ("a1", 10), ("b1", 20), ("b1", 30), ("a1", 40)],
    );
    assert_eq!(new, [true, false, true, false, true]);

    let head = store.latest_push("shop", "main").unwrap().unwrap();
    assert_eq!(head.sha, sha("a1"));
    assert_eq!(
        head.first_seen,
        t(0),
        "first seen survives the branch returning to it"
    );
    assert_eq!(head.head_at, t(40));
    assert_eq!(head.author.as_deref(), Some("alice"));

    let b1 = store
        .previous_push("shop", "main", &sha("a1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (b1.sha, b1.first_seen, b1.last_seen),
        (sha("b1"), t(20), t(30))
    );
    let before_b1 = store
        .previous_push("shop", "main", &sha("b1"))
        .unwrap()
        .unwrap();
    assert_eq!(before_b1.sha, sha("a1"));
}

#[test]
fn previous_push_and_latest_push_edges() {
    let (_dir, mut store) = temp_store();
    assert_eq!(store.latest_push("shop", "main").unwrap(), None);
    feed(&mut store, &[("a1", 0)]);
    assert_eq!(
        store.previous_push("shop", "main", &sha("a1")).unwrap(),
        None,
        "first head"
    );
    assert_eq!(
        store.previous_push("shop", "main", &sha("ff")).unwrap(),
        None,
        "never a head"
    );
    // Branches and projects are separate.
    assert_eq!(store.latest_push("shop", "dev").unwrap(), None);
    assert_eq!(store.latest_push("blog", "main").unwrap(), None);
}

#[test]
fn a_repeat_sighting_fills_missing_author_and_message() {
    let (_dir, mut store) = temp_store();
    let mut p = push("shop", "main", "a1", 0);
    p.author = None;
    p.message = None;
    assert!(store.record_push(&p).unwrap());
    assert!(!store.record_push(&push("shop", "main", "a1", 5)).unwrap());
    let head = store.latest_push("shop", "main").unwrap().unwrap();
    assert_eq!(head.author.as_deref(), Some("alice"));
    assert_eq!(head.message.as_deref(), Some("commit a1\n\nbody"));
    assert_eq!(head.last_seen, t(5));
}
