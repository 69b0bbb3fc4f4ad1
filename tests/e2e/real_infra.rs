//! Verdicts through the real binary with real nginx and Varnish between Deploywatch and the app
//! (issue 7): a static build-info, a dead upstream, round-robin upstreams, a cache hiding an
//! outage, a cache hiding a release, an SPA fallback answering missing assets with the index
//! page, and every address behind one name.
//!
//! Origins are static files the test writes; a new release is a rewritten file, a crashed one
//! a stopped origin. `--expect` supplies the pushed SHA, so GitHub is not involved.

use std::net::ToSocketAddrs;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Dw, Run, config, sha};
use crate::infra::{Nginx, Varnish, free_port, get, has_ipv6_loopback};
use crate::reports::{assert_verdict, build_info, checks, hint, run_cmd, warnings};

/// GitHub is never asked with `--expect`; this address refuses connections anyway.
const NO_GITHUB: &str = "http://127.0.0.1:9";

/// `deploywatch verify --expect SHA --json` for one environment at `url` with extra
/// `[[project.environment]]` lines.
fn verify(url: &str, env_extra: &str, expect: &str) -> (Run, Value) {
    let dw = Dw::new(&config(NO_GITHUB, "", url, env_extra, ""));
    verify_with(dw.command(&["verify", "--expect", expect, "--json"]))
}

fn verify_with(cmd: Command) -> (Run, Value) {
    let run = run_cmd(cmd);
    let report = run.report();
    (run, report)
}

/// Polls `port` at `path` until `ok(head)` holds (a cache entry expiring, an origin stopping):
/// the shortest wait that works, bounded.
fn wait_for(port: u16, path: &str, what: &str, ok: impl Fn(u16, &str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok((status, head, _)) = get(port, path)
            && ok(status, &head)
        {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A static build-info file: `/api/build-info` as `application/json`.
const STATIC_SITE: &str = "
server {
    listen 127.0.0.1:{port0};
    root {root};
    location = /api/build-info { default_type application/json; }
}";

#[test]
fn nginx_static_build_info_with_the_expected_sha_is_live() {
    let nginx = Nginx::start(STATIC_SITE);
    let new = sha("infra-static-new");
    nginx.write("api/build-info", &build_info(&new));
    let (run, report) = verify(&nginx.url(0, "/api/build-info"), "", &new);
    assert_verdict(&run, &report, "live");
    assert_eq!(report["live_sha"], new.as_str());
    let (name, ok, detail) = &checks(&report)[0];
    assert_eq!(name, "build_info");
    assert!(ok, "{detail}");
    assert!(detail.starts_with("200 application/json"), "{detail}");
}

#[test]
fn nginx_in_front_of_a_dead_upstream_is_down_with_no_healthy_upstream() {
    let dead = free_port();
    let nginx = Nginx::start(&format!(
        "
server {{
    listen 127.0.0.1:{{port0}};
    location / {{ proxy_pass http://127.0.0.1:{dead}; }}
}}"
    ));
    let (run, report) = verify(&nginx.url(0, "/api/build-info"), "", &sha("infra-dead-new"));
    assert_verdict(&run, &report, "down");
    let h = hint(&report);
    assert!(h.contains("answered 502"), "{h}");
    assert!(h.contains("no healthy upstream"), "{h}");
    let (name, ok, detail) = &checks(&report)[0];
    assert_eq!((name.as_str(), *ok), ("build_info", false));
    assert!(detail.starts_with("502 text/html"), "{detail}");
}

#[test]
fn nginx_round_robin_over_two_versions_is_mixed_naming_both() {
    let nginx = Nginx::start(
        "
upstream app { server 127.0.0.1:{port1}; server 127.0.0.1:{port2}; }
server {
    listen 127.0.0.1:{port0};
    location / { proxy_pass http://app; }
}
server { listen 127.0.0.1:{port1}; root {root}/a; default_type application/json; }
server { listen 127.0.0.1:{port2}; root {root}/b; default_type application/json; }",
    );
    let (new, old) = (sha("infra-rr-new"), sha("infra-rr-old"));
    nginx.write("a/api/build-info", &build_info(&new));
    nginx.write("b/api/build-info", &build_info(&old));
    let (run, report) = verify(&nginx.url(0, "/api/build-info"), "replicas = 4", &new);
    assert_verdict(&run, &report, "mixed");
    let h = hint(&report);
    assert!(h.contains(&new[..7]) && h.contains(&old[..7]), "{h}");
    assert!(h.contains("2 probes, the expected SHA"), "{h}");
    let names: Vec<String> = checks(&report).into_iter().map(|c| c.0).collect();
    for i in 1..=4 {
        assert!(names.contains(&format!("build_info[{i}]")), "{names:?}");
    }
    let replicas = checks(&report)
        .into_iter()
        .find(|c| c.0 == "replicas")
        .expect("a replicas check");
    assert!(!replicas.1, "{replicas:?}");
    assert!(
        replicas.2.contains("4 probes saw 2 versions"),
        "{replicas:?}"
    );
}

#[test]
fn nginx_stale_cache_hiding_a_crashed_release_is_down_not_a_tag_problem() {
    let (old, new) = (sha("infra-stale-old"), sha("infra-stale-new"));
    // The origin: the old release. `expires 1s` makes its answers expire from the cache fast,
    // so the cache's copy is soon STALE rather than fresh (as after any real TTL).
    let origin = Nginx::start(
        "
server {
    listen 127.0.0.1:{port0};
    root {root};
    location = /api/build-info { default_type application/json; expires 1s; }
}",
    );
    origin.write("api/build-info", &build_info(&old));
    let cache = Nginx::start(&format!(
        "
proxy_cache_path {{tmp}}/cache levels=1:2 keys_zone=buildinfo:1m inactive=1h use_temp_path=off;
server {{
    listen 127.0.0.1:{{port0}};
    location / {{
        proxy_pass http://127.0.0.1:{};
        proxy_cache buildinfo;
        proxy_cache_valid 200 1h;
        proxy_cache_use_stale error timeout http_502 http_500;
        add_header X-Cache-Status $upstream_cache_status;
    }}
}}",
        origin.port(0)
    ));
    let path = "/api/build-info";
    let (status, _, body) = get(cache.port(0), path).expect("warm the cache");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&old), "{body}");
    // The new release crashed: nothing answers where the origin was.
    drop(origin);
    wait_for(
        cache.port(0),
        path,
        "the cache to serve STALE",
        |s, head| s == 200 && head.contains("X-Cache-Status: STALE"),
    );

    let (run, report) = verify(&cache.url(0, path), "", &new);
    let all = checks(&report);
    let w = warnings(&report);
    assert!(
        w.iter()
            .any(|w| w.contains("served from a cache") && w.contains("X-Cache-Status")),
        "no served-from-cache warning naming X-Cache-Status: {w:?}\n{report:#}"
    );
    // The cache's answer (the old release) is evidence in the build_info check.
    let bi = all
        .iter()
        .find(|c| c.0 == "build_info")
        .expect("build_info check");
    assert!(bi.2.contains(&old[..7]), "{bi:?}");
    let bust = all
        .iter()
        .find(|c| c.0.contains("cache"))
        .unwrap_or_else(|| panic!("no check entry for the cache-busting probe: {all:?}"));
    assert!(!bust.1, "{bust:?}");
    assert!(bust.2.contains("502"), "{bust:?}");
    assert_verdict(&run, &report, "down");
    let h = hint(&report).to_lowercase();
    assert!(
        h.contains("origin") && h.contains("cache"),
        "hint must say the origin behind the cache fails and the cache hides it: {h}"
    );
    assert!(!h.contains("image tag"), "hint blames the image tag: {h}");
}

#[test]
fn varnish_caching_the_old_release_is_phantom_caused_by_a_cache() {
    let (old, new) = (sha("infra-varnish-old"), sha("infra-varnish-new"));
    let origin = Nginx::start(
        "
server {
    listen 127.0.0.1:{port0};
    root {root};
    location = /api/build-info {
        default_type application/json;
        add_header Cache-Control \"max-age=300\";
    }
}",
    );
    origin.write("api/build-info", &build_info(&old));
    let varnish = Varnish::start("", origin.port(0));
    let path = "/api/build-info";
    let (status, _, body) = get(varnish.port(), path).expect("warm Varnish");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&old), "{body}");
    // Served from the cache from now on: two transaction ids in X-Varnish.
    let (_, head, _) = get(varnish.port(), path).expect("second request");
    assert!(
        head.lines()
            .any(|l| l.starts_with("X-Varnish:") && l.split_whitespace().count() == 3),
        "{head}"
    );
    // The new release is deployed behind the cache.
    origin.write("api/build-info", &build_info(&new));
    let (s, _, body) = get(origin.port(0), path).expect("origin");
    assert!(s == 200 && body.contains(&new), "{body}");

    let (run, report) = verify(&varnish.url(path), "", &new);
    assert_verdict(&run, &report, "phantom");
    assert_eq!(report["live_sha"], old.as_str());
    let h = hint(&report);
    assert!(h.contains("cache layer"), "{h}");
    assert!(
        h.contains(&new[..7]),
        "the hint names what the cache-busting probe got: {h}"
    );
    let w = warnings(&report);
    assert!(
        w.iter().any(|w| w.contains("served from a cache")
            && w.contains("X-Varnish: ")
            && w.contains("Via: 1.1 varnish")),
        "no served-from-cache warning naming Varnish's evidence: {w:?}\n{report:#}"
    );
}

/// An SPA server: build-info as a file, everything else falls back to the index page.
const SPA_SITE: &str = "
server {
    listen 127.0.0.1:{port0};
    root {root};
    location = /api/build-info { default_type application/json; }
    location / { try_files $uri $uri/ /index.html; }
}";

fn spa_index(sha: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head>
<meta charset="utf-8">
<meta name="build-sha" content="{sha}">
<script type="module" crossorigin src="/assets/index-BdE8x9Qa.js"></script>
<link rel="stylesheet" crossorigin href="/assets/index-Cq4n6dxZ.css">
</head><body><div id="root"></div></body></html>
"#
    )
}

#[test]
fn spa_fallback_answering_missing_assets_with_html_is_stale_frontend() {
    let nginx = Nginx::start(SPA_SITE);
    let new = sha("infra-spa-new");
    nginx.write("api/build-info", &build_info(&new));
    nginx.write("index.html", &spa_index(&new));
    // nginx answers the missing bundle with the index page, 200 text/html.
    let (status, head, _) = get(nginx.port(0), "/assets/index-BdE8x9Qa.js").unwrap();
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html"), "{head}");

    let extra = format!("frontend_url = \"{}\"", nginx.url(0, "/"));
    let (run, report) = verify(&nginx.url(0, "/api/build-info"), &extra, &new);
    assert_verdict(&run, &report, "stale_frontend");
    let all = checks(&report);
    let assets = all
        .iter()
        .find(|c| c.0 == "assets")
        .unwrap_or_else(|| panic!("no assets check: {all:?}"));
    assert!(!assets.1, "{assets:?}");
    assert!(assets.2.contains("/assets/index-BdE8x9Qa.js"), "{assets:?}");
    assert!(assets.2.contains("200 text/html"), "{assets:?}");
    assert!(hint(&report).contains("index-BdE8x9Qa.js"), "{report:#}");

    // The same site with the bundle deployed: real JS and CSS, typed by mime.types.
    nginx.write("assets/index-BdE8x9Qa.js", "export const app = 1;\n");
    nginx.write("assets/index-Cq4n6dxZ.css", "#root { color: black }\n");
    let (run, report) = verify(&nginx.url(0, "/api/build-info"), &extra, &new);
    assert_verdict(&run, &report, "live");
    let all = checks(&report);
    let assets = all.iter().find(|c| c.0 == "assets").expect("assets check");
    assert!(assets.1, "{assets:?}");
}

/// nginx answering on 127.0.0.1 and ::1 with the same port, from different roots.
/// Its `hosts.log` records, per request, the address connected to and the `Host` header.
const DUAL_STACK_SITE: &str = "
log_format hosts '$server_addr $http_host $request_uri';
server {
    listen 127.0.0.1:{port0};
    root {root}/v4;
    default_type application/json;
    access_log {tmp}/hosts.log hosts;
}
server {
    listen [::1]:{port0};
    root {root}/v6;
    default_type application/json;
    access_log {tmp}/hosts.log hosts;
}";

/// What the system resolver (the one Deploywatch's `lookup_host` uses) returns for `name`,
/// in the order Deploywatch probes them: IPv4 first, each ascending.
fn system_addresses(name: &str, port: u16) -> Vec<String> {
    let mut ips: Vec<std::net::IpAddr> = (name, port)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip()).collect())
        .unwrap_or_default();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips.iter().map(ToString::to_string).collect()
}

fn build_info_checks(report: &Value) -> Vec<String> {
    checks(report)
        .into_iter()
        .map(|c| c.0)
        .filter(|n| n.starts_with("build_info"))
        .collect()
}

/// Runs the binary in a private mount namespace whose /etc/hosts maps `name` to both loopback
/// addresses (`unshare --mount`, then a bind mount visible only inside it). `None` when this
/// machine cannot make such a namespace (not root, no unshare).
fn verify_with_private_hosts(
    name: &str,
    url: &str,
    env_extra: &str,
    expect: &str,
) -> Option<(Run, Value)> {
    let dw = Dw::new(&config(NO_GITHUB, "", url, env_extra, ""));
    let hosts = dw.path().join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n127.0.0.1 {name}\n::1 {name}\n"),
    )
    .unwrap();
    let works = Command::new("unshare")
        .args(["--mount", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' /etc/hosts && getent ahosts {name} | grep -q '^::1'",
            hosts.display()
        ))
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        return None;
    }
    let inner = dw.command(&["verify", "--expect", expect, "--json"]);
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' /etc/hosts && exec \"$0\" \"$@\"",
            hosts.display()
        ))
        .arg(inner.get_program())
        .args(inner.get_args());
    cmd.env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    Some(verify_with(cmd))
}

#[test]
fn every_address_behind_a_name_is_probed_and_mixed_names_them() {
    assert!(
        has_ipv6_loopback(),
        "this test needs the IPv6 loopback address ::1"
    );
    let nginx = Nginx::start(DUAL_STACK_SITE);
    let port = nginx.port(0);
    let (new, old) = (sha("infra-addr-new"), sha("infra-addr-old"));
    nginx.write("v4/api/build-info", &build_info(&old));
    nginx.write("v6/api/build-info", &build_info(&new));
    let both = vec!["127.0.0.1".to_string(), "::1".to_string()];

    // 1. `localhost` through the system resolver, whatever it maps to here: Deploywatch must
    //    probe exactly the addresses the resolver returns.
    let url = format!("http://localhost:{port}/api/build-info");
    let system = system_addresses("localhost", port);
    assert!(!system.is_empty(), "localhost does not resolve");
    let (run, report) = verify(&url, "each_address = true", &new);
    let want: Vec<String> = system.iter().map(|a| format!("build_info[{a}]")).collect();
    assert_eq!(build_info_checks(&report), want, "{report:#}");
    let covered_by_system = system == both;
    if covered_by_system {
        assert_verdict(&run, &report, "mixed");
    } else {
        eprintln!(
            "note: localhost resolves to {system:?} here (see /etc/hosts), not to both \
             loopback addresses; the two-address case runs with a private /etc/hosts below"
        );
        // Only 127.0.0.1 (the old build) is probed: the old SHA is live.
        let v4_only = system.iter().all(|a| a == "127.0.0.1");
        if v4_only {
            assert_verdict(&run, &report, "phantom");
        }
    }

    // 2. A name that resolves to both addresses: deterministic wherever the test runs.
    let name = "dw-e2e-dualstack.test";
    let url = format!("http://{name}:{port}/api/build-info");
    let host = if covered_by_system { "localhost" } else { name };
    let (run, report) = if covered_by_system {
        verify(
            &format!("http://localhost:{port}/api/build-info"),
            "each_address = true",
            &new,
        )
    } else {
        verify_with_private_hosts(name, &url, "each_address = true", &new).unwrap_or_else(|| {
            panic!(
                "localhost resolves to {system:?} only and no private /etc/hosts could be \
                 made (needs root and unshare): the two-address case cannot run here"
            )
        })
    };
    assert_verdict(&run, &report, "mixed");
    assert_eq!(
        build_info_checks(&report),
        ["build_info[127.0.0.1]", "build_info[::1]"],
        "{report:#}"
    );
    let h = hint(&report);
    assert!(h.contains(&format!("{} at 127.0.0.1", &old[..7])), "{h}");
    assert!(h.contains(&format!("{} at ::1", &new[..7])), "{h}");
    // Each address got its own request, and both kept the name in the Host header.
    let log = nginx.file("hosts.log");
    for addr in ["127.0.0.1", "::1"] {
        let line = format!("{addr} {host}:{port} /api/build-info");
        assert!(
            log.lines().any(|l| l == line),
            "no {line:?} in hosts.log:\n{log}"
        );
    }

    // 3. Both addresses serve the expected SHA: live, with one build_info check per address.
    nginx.write("v4/api/build-info", &build_info(&new));
    let (run, report) = if covered_by_system {
        verify(
            &format!("http://localhost:{port}/api/build-info"),
            "each_address = true",
            &new,
        )
    } else {
        verify_with_private_hosts(name, &url, "each_address = true", &new).expect("ran above")
    };
    assert_verdict(&run, &report, "live");
    let names = build_info_checks(&report);
    assert_eq!(
        names,
        ["build_info[127.0.0.1]", "build_info[::1]"],
        "{report:#}"
    );
    assert!(
        checks(&report)
            .iter()
            .filter(|c| c.0.starts_with("build_info"))
            .all(|c| c.1),
        "{report:#}"
    );
}

#[test]
fn each_address_on_a_name_that_does_not_resolve_is_down_saying_so() {
    let (run, report) = verify(
        "http://dw-e2e-no-such-host.invalid:8080/api/build-info",
        "each_address = true",
        &sha("infra-nxdomain"),
    );
    assert_verdict(&run, &report, "down");
    let h = hint(&report);
    assert!(
        h.contains("DNS resolution of dw-e2e-no-such-host.invalid failed"),
        "{h}"
    );
}
