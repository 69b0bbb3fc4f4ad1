//! Deploy lag (first value of each stage kept) and the ETag cache.

use chrono::TimeDelta;
use deploywatch_store::{LagStage::*, Store};

use crate::{sha, t, temp_store};

#[test]
fn mark_lag_keeps_the_first_time_of_each_stage() {
    let (_dir, mut store) = temp_store();
    let marks = [
        ("a1", Pushed, 0),
        ("a1", Pushed, 50), // seen pushed again by a later poll: ignored
        ("a1", CiGreen, 240),
        ("a1", FirstLive, 300),
        ("a1", FirstLive, 310),
        ("a1", AllReplicasLive, 420),
        ("b1", Pushed, 1000),
    ];
    for (seed, stage, secs) in marks {
        store
            .mark_lag("shop", "production", &sha(seed), stage, t(secs))
            .unwrap();
    }
    store
        .mark_lag("shop", "staging", &sha("a1"), FirstLive, t(30))
        .unwrap();

    let lags = store
        .deploy_lags(Some("shop"), Some("production"), 10)
        .unwrap();
    let shas: Vec<_> = lags.iter().map(|l| l.sha.short().to_string()).collect();
    assert_eq!(shas, ["b100000", "a100000"], "newest first");
    let a1 = &lags[1];
    assert_eq!(
        (
            a1.pushed_at,
            a1.ci_green_at,
            a1.first_live_at,
            a1.all_replicas_live_at
        ),
        (Some(t(0)), Some(t(240)), Some(t(300)), Some(t(420)))
    );
    assert_eq!(a1.push_to_live(), Some(TimeDelta::seconds(300)));
    assert_eq!(a1.ci_to_live(), Some(TimeDelta::seconds(60)));
    assert_eq!(lags[0].push_to_live(), None, "not live yet");

    assert_eq!(store.deploy_lags(Some("shop"), None, 10).unwrap().len(), 3);
    assert_eq!(
        store.deploy_lags(None, Some("staging"), 10).unwrap().len(),
        1
    );
    assert_eq!(store.deploy_lags(None, None, 1).unwrap().len(), 1, "limit");
}

#[test]
fn etags_survive_a_restart_and_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dw.db");
    let key = "https://api.github.com/repos/acme/shop/branches/main";
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.etag_get(key).unwrap(), None);
        store.etag_put(key, "W/\"1\"", b"{\"old\":1}").unwrap();
        store.etag_put(key, "W/\"2\"", &[0, 159, 255]).unwrap(); // bodies are bytes, not text
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.etag_get(key).unwrap(),
        Some(("W/\"2\"".into(), vec![0, 159, 255]))
    );
    assert_eq!(store.etag_get("other").unwrap(), None);
}

#[test]
fn deploy_lags_since_keeps_deploys_first_recorded_at_or_after_it() {
    let (_dir, mut store) = temp_store();
    // (seed, env, first stage at): b1's push was first seen at 100, so it is in from 100 on.
    for (seed, env, secs) in [
        ("a1", "production", 0),
        ("b1", "production", 100),
        ("c1", "production", 200),
        ("c1", "staging", 150),
    ] {
        store
            .mark_lag("shop", env, &sha(seed), Pushed, t(secs))
            .unwrap();
    }
    // A later stage does not move a deploy into a newer window.
    store
        .mark_lag("shop", "production", &sha("a1"), FirstLive, t(500))
        .unwrap();
    store
        .mark_lag("api", "production", &sha("d1"), CiGreen, t(300))
        .unwrap();

    let seeds = |lags: Vec<deploywatch_store::DeployLag>| -> Vec<String> {
        lags.iter()
            .map(|l| format!("{}/{}/{}", l.project, l.environment, &l.sha.as_str()[..2]))
            .collect()
    };
    assert_eq!(
        seeds(
            store
                .deploy_lags_since(None, None, Some(t(100)), 100)
                .unwrap()
        ),
        [
            "api/production/d1",
            "shop/production/c1",
            "shop/staging/c1",
            "shop/production/b1"
        ],
        "newest first, the boundary included"
    );
    assert_eq!(
        seeds(
            store
                .deploy_lags_since(Some("shop"), Some("production"), Some(t(101)), 100)
                .unwrap()
        ),
        ["shop/production/c1"]
    );
    assert_eq!(
        seeds(
            store
                .deploy_lags_since(None, Some("staging"), Some(t(0)), 100)
                .unwrap()
        ),
        ["shop/staging/c1"]
    );
    assert_eq!(
        store
            .deploy_lags_since(Some("shop"), None, None, 100)
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store
            .deploy_lags_since(None, None, Some(t(1000)), 100)
            .unwrap(),
        []
    );
    assert_eq!(
        store.deploy_lags_since(None, None, None, 2).unwrap().len(),
        2,
        "limit"
    );
}
