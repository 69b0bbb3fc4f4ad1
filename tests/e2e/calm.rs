//! Alerts about the fleet, not about the watcher (issue 14), through the real binary: the
//! network going away (GitHub and every environment behind one real nginx that is stopped and
//! started again) and GitHub going away alone.

use std::time::Duration;

use deploywatch_fakehub::FakeHub;

use crate::harness::{Dw, FAST, fleet_config, sha};
use crate::infra::Nginx;
use crate::reports::build_info;

const ENVS: usize = 12;

/// The fleet's config: `ENVS` repositories with one environment each, every build-info a
/// static file of `nginx` port 1; GitHub at `api_url`.
fn config(api_url: &str, nginx: &Nginx) -> String {
    fleet_config(
        api_url,
        &FAST.replace("timeout = \"2s\"", "timeout = \"1s\""),
        "desktop = false",
        (0..ENVS).map(|i| (format!("s{i}"), nginx.url(1, &format!("/s{i}.json")))),
    )
}

/// Every repository's head with CI green, and every environment serving it.
fn fleet(hub: &FakeHub, nginx: &Nginx) {
    for i in 0..ENVS {
        let repo = format!("acme/s{i}");
        let head = sha(&format!("calm-s{i}"));
        hub.push(&repo, "main", &head, "Alice", "Ship it");
        hub.add_run(&repo, &head, "CI", "completed", Some("success"));
        nginx.write(&format!("s{i}.json"), &build_info(&head));
    }
}

/// nginx in front of everything: port 0 proxies to the fake GitHub, port 1 serves the
/// build-info files, and `/s3.json` answers 503 while `{root}/s3.down` exists.
fn network(hub_port: u16) -> Nginx {
    Nginx::start(&format!(
        "
server {{
    listen 127.0.0.1:{{port0}};
    location / {{ proxy_pass http://127.0.0.1:{hub_port}; }}
}}
server {{
    listen 127.0.0.1:{{port1}};
    root {{root}};
    default_type application/json;
    location = /s3.json {{
        if (-f {{root}}/s3.down) {{ return 503; }}
    }}
}}"
    ))
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("a port")
}

fn lines<'a>(stdout: &'a str, needle: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.contains(needle)).collect()
}

async fn sleep(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_offline_and_back_is_one_condition_and_only_a_real_failure_alerts() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    let mut nginx = tokio::task::block_in_place(|| network(port_of(&hub.api_url())));
    fleet(&hub, &nginx);
    let dw = Dw::new(&config(&nginx.url(0, ""), &nginx));
    let child = dw.spawn(&["watch", "--no-notify"]);
    sleep(3).await;

    // The network goes away: nothing answers, GitHub included.
    tokio::task::block_in_place(|| nginx.stop());
    sleep(2).await;
    // While it is gone, one environment really breaks.
    nginx.write("s3.down", "");
    sleep(3).await;
    tokio::task::block_in_place(|| nginx.restart());
    sleep(5).await;
    let run = crate::incidents::terminate(child).await;
    let out = &run.stdout;

    assert_eq!(lines(out, "Offline since").len(), 1, "{out}");
    assert_eq!(lines(out, "Back online").len(), 1, "{out}");
    assert!(lines(out, "GitHub cannot be read").is_empty(), "{out}");
    // One incident: the environment that really fails, after the network came back.
    let incidents = lines(out, "▶");
    assert_eq!(incidents.len(), 1, "{out}");
    assert!(incidents[0].contains("s3 / production"), "{out}");
    let back = out.find("Back online").expect("said");
    assert!(out.find('▶').is_some_and(|i| i > back), "{out}");

    let status = dw.run_async(&["status", "--json"]).await;
    for state in status.json().as_array().cloned().unwrap_or_default() {
        let want = if state["project"] == "s3" {
            "down"
        } else {
            "live"
        };
        assert_eq!(state["verdict"], want, "{state:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_going_away_alone_is_one_message_and_verdicts_keep_the_last_heads() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    let nginx = tokio::task::block_in_place(|| network(port_of(&hub.api_url())));
    fleet(&hub, &nginx);
    // GitHub straight at the fake (no proxy): when it goes, connections are refused.
    let dw = Dw::new(&config(&hub.api_url(), &nginx));
    let child = dw.spawn(&["watch", "--no-notify"]);
    sleep(3).await;
    drop(hub);
    sleep(5).await;
    let run = crate::incidents::terminate(child).await;
    let out = &run.stdout;

    assert_eq!(lines(out, "GitHub cannot be read").len(), 1, "{out}");
    assert!(lines(out, "Offline").is_empty(), "{out}");
    assert!(lines(out, "▶").is_empty(), "{out}");
    dw.assert_all_live(ENVS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_environments_behind_one_dead_upstream_give_one_notice_and_one_resolve() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    // The apps: one upstream nginx serving every build-info; the proxy in front of them: a
    // second nginx. Stopping the upstream makes the proxy answer 502 for all five.
    let mut upstream = tokio::task::block_in_place(|| {
        Nginx::start(
            "server { listen 127.0.0.1:{port0}; root {root}; default_type application/json; }",
        )
    });
    let proxy = tokio::task::block_in_place(|| {
        Nginx::start(&format!(
            "server {{ listen 127.0.0.1:{{port0}}; location / {{ proxy_pass http://127.0.0.1:{}; }} }}",
            upstream.port(0)
        ))
    });
    let (hook, hook_url) = crate::incidents::Hook::start().await;
    for i in 0..5 {
        let head = sha(&format!("group-g{i}"));
        hub.push(&format!("acme/g{i}"), "main", &head, "Alice", "Ship it");
        hub.add_run(
            &format!("acme/g{i}"),
            &head,
            "CI",
            "completed",
            Some("success"),
        );
        upstream.write(&format!("g{i}.json"), &build_info(&head));
    }
    let toml = fleet_config(
        &hub.api_url(),
        FAST,
        &format!("desktop = true\nwebhook = \"{hook_url}\""),
        (0..5).map(|i| (format!("g{i}"), proxy.url(0, &format!("/g{i}.json")))),
    );
    let dw = Dw::new(&toml);
    let desktop = crate::notifications::Desktop::start(dw.path()).await;
    let mut cmd = dw.command(&["watch"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &desktop.address)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("watch");
    sleep(3).await;
    assert!(hook.texts().is_empty(), "{:?}", hook.texts());

    tokio::task::block_in_place(|| upstream.stop());
    let host = format!("127.0.0.1:{}", proxy.port(0));
    let seen = crate::notifications::wait_for(&desktop.log, 1, Duration::from_secs(15)).await;
    assert_eq!(
        seen,
        [format!("Down: 5 environments on {host}")],
        "{seen:?}"
    );
    let posts = hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(posts.len(), 1, "{posts:#?}");
    for i in 0..5 {
        assert!(
            posts[0].contains(&format!("g{i} / production")),
            "{posts:#?}"
        );
    }
    assert!(
        posts[0].contains("502"),
        "the proxy's answer is named: {posts:#?}"
    );

    tokio::task::block_in_place(|| upstream.restart());
    let seen = crate::notifications::wait_for(&desktop.log, 2, Duration::from_secs(15)).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1], format!("Resolved: 5 environments on {host}"));
    sleep(2).await;
    assert_eq!(hook.texts().len(), 2, "{:#?}", hook.texts());
    let run = crate::incidents::terminate(child).await;
    assert_eq!(run.code, 0, "{run:?}");

    // One incident per environment in history.
    let history = dw.run_async(&["history", "--json"]).await;
    let opened = history
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|e| e["kind"] == "incident_opened")
        .count();
    assert_eq!(opened, 5, "{history:?}");
}

/// libfaketime (Debian's `faketime`): the wall clock the binary sees is shifted by the offset
/// in a file the test writes, while its monotonic clock runs on — what a suspend looks like.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspend_with_the_network_coming_back_late_alerts_nothing() {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: scripts/lib.sh ensure_infra_packages installs faketime"
    );
    let hub = FakeHub::start().await.expect("fake GitHub");
    let mut nginx = tokio::task::block_in_place(|| network(port_of(&hub.api_url())));
    fleet(&hub, &nginx);
    let dw = Dw::new(&config(&nginx.url(0, ""), &nginx));
    let offset = dw.path().join("faketime");
    std::fs::write(&offset, "+0\n").expect("offset");
    let mut cmd = dw.command(&["watch", "--no-notify"]);
    cmd.env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("watch");
    sleep(3).await;

    // The lid closes for an hour: the wall clock jumps, the monotonic clock does not, and
    // the network is not back yet when the watcher wakes.
    std::fs::write(&offset, "+3600\n").expect("offset");
    tokio::task::block_in_place(|| nginx.stop());
    sleep(3).await;
    tokio::task::block_in_place(|| nginx.restart());
    sleep(3).await;
    let run = crate::incidents::terminate(child).await;
    let out = &run.stdout;

    // The same outage without a suspend before it reads as offline (the first test); after a
    // wake-up it is the network coming back: nothing to say.
    assert!(lines(out, "Offline").is_empty(), "{out}");
    assert!(lines(out, "▶").is_empty(), "{out}");
    dw.assert_all_live(ENVS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_that_follow_deployments_keep_the_last_deployment_when_github_goes() {
    let hub = FakeHub::start().await.expect("fake GitHub");
    let head = sha("deployed");
    hub.push("acme/shop", "main", &head, "Alice", "Ship it");
    let mut envs = Vec::new();
    let mut toml = format!(
        "[github]\napi_url = \"{}\"\n\n[defaults]\ngrace = \"0s\"\nfast_interval = \"200ms\"\n\
         idle_interval = \"1s\"\ntimeout = \"1s\"\n\n[notifications]\ndesktop = false\n\n\
         [[project]]\nname = \"shop\"\nrepo = \"acme/shop\"\n",
        hub.api_url()
    );
    for name in ["production", "staging"] {
        let id = hub.add_deployment("acme/shop", &head, name);
        hub.add_deployment_status("acme/shop", id, "success");
        let env = deploywatch_fleet::SimEnv::start(name).await.expect("env");
        env.set_live(&head);
        toml.push_str(&format!(
            "\n[[project.environment]]\nname = \"{name}\"\nfollows = \"deployments\"\n\
             build_info_url = \"{}\"\n",
            env.build_info_url()
        ));
        envs.push(env);
    }
    let dw = Dw::new(&toml);
    let child = dw.spawn(&["watch", "--no-notify"]);
    sleep(3).await;
    // The repository poll reads each environment's deployments: no branch read at all.
    let requests = hub.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path_and_query.contains("/deployments")),
        "{requests:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.path_and_query.contains("/branches/")),
        "{requests:#?}"
    );
    drop(hub);
    sleep(4).await;
    let run = crate::incidents::terminate(child).await;
    let out = &run.stdout;
    assert_eq!(lines(out, "GitHub cannot be read").len(), 1, "{out}");
    assert!(lines(out, "▶").is_empty(), "{out}");
    dw.assert_all_live(2).await;
}
