//! Disk conditions: started once, ended once, across reopenings and two connections.

use deploywatch_store::Store;

use crate::{t, temp_store};

const LOW: &str = "/data 94 % used (6.1 GB free of 100 GB) — more than 90 % used";
const FINE: &str = "/data 40 % used (60 GB free of 100 GB)";

#[test]
fn a_disk_condition_starts_once_and_ends_once() {
    let (dir, mut store) = temp_store();
    let (id, started) = store
        .start_disk_condition("shop", "production", LOW, t(0))
        .unwrap();
    assert!(started, "the first start claims the notification");
    let (again, started) = store
        .start_disk_condition("shop", "production", "other figures", t(10))
        .unwrap();
    assert_eq!(
        (again, started),
        (id, false),
        "while open, a start is no start"
    );
    // Another environment has its own.
    let (other, started) = store
        .start_disk_condition("shop", "staging", LOW, t(10))
        .unwrap();
    assert!(started && other != id);

    // A second connection (another watcher, a restart) sees it open and cannot start it.
    let mut second = Store::open(&dir.path().join("dw.db")).unwrap();
    let open = second
        .open_disk_condition("shop", "production")
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            open.id,
            open.detail.as_str(),
            open.started_at,
            open.ended_at
        ),
        (id, LOW, t(0), None)
    );
    assert!(
        !second
            .start_disk_condition("shop", "production", LOW, t(20))
            .unwrap()
            .1
    );

    assert!(
        store.end_disk_condition(id, FINE, t(600)).unwrap(),
        "the first end claims"
    );
    assert!(
        !second.end_disk_condition(id, FINE, t(601)).unwrap(),
        "it ends once"
    );
    assert!(!store.end_disk_condition(9999, FINE, t(601)).unwrap());
    assert_eq!(
        store.open_disk_condition("shop", "production").unwrap(),
        None
    );

    // A later episode is a new condition, announced again.
    let (next, started) = store
        .start_disk_condition("shop", "production", LOW, t(3600))
        .unwrap();
    assert!(started && next != id);

    let all = store
        .disk_conditions(Some("shop"), Some("production"), 10)
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, next);
    assert_eq!(
        (all[1].ended_at, all[1].end_detail.as_deref()),
        (Some(t(600)), Some(FINE))
    );
    assert_eq!(store.disk_conditions(None, None, 10).unwrap().len(), 3);
}
