//! `each_address`: every address behind a name probed directly, keeping the name in `Host`.
//!
//! One port on both 127.0.0.1 and ::1, each answering its own SHA, stands in for two load
//! balancers behind one name.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use deploywatch_core::{BuildInfoProbe, HttpOutcome, TransportFailure};
use deploywatch_probe::{Locator, MAX_ADDRESSES, Prober};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::quick;

const V4_SHA: &str = "a3f9d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8";
const V6_SHA: &str = "b7c1e2f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4";

/// `(address served on, Host header)` of every request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Serves `{"git_sha": sha}` on `listener`, recording the Host header of each request.
fn serve(listener: TcpListener, sha: &'static str, seen: Seen) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let local = stream.local_addr().map(|a| a.ip().to_string());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&got).to_string();
                let host = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                seen.lock().unwrap().push((local.unwrap_or_default(), host));
                let body = format!("{{\"git_sha\": \"{sha}\"}}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
}

/// One port listening on 127.0.0.1 (answering V4_SHA) and ::1 (answering V6_SHA).
async fn dual_stack() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    for _ in 0..50 {
        let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
            .await
            .expect("this test needs the IPv6 loopback address");
        let port = v6.local_addr().unwrap().port();
        if let Ok(v4) = TcpListener::bind(("127.0.0.1", port)).await {
            serve(v4, V4_SHA, seen.clone());
            serve(v6, V6_SHA, seen.clone());
            return (port, seen);
        }
    }
    panic!("no port free on both loopback addresses");
}

fn sha_of(p: &BuildInfoProbe) -> String {
    match &p.fingerprint {
        Ok(f) => f.sha.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn each_address_is_probed_with_the_original_host_header() {
    let (port, seen) = dual_stack().await;
    let prober = Prober::new(quick());
    // A name no resolver knows: only the given addresses can be reached.
    let url = format!("http://shop.dw-test.invalid:{port}/api/build-info");
    let probes = prober
        .probe_addresses(&url, &Locator::default(), &[ip("::1"), ip("127.0.0.1")])
        .await;
    let got: Vec<(Option<&str>, String)> = probes
        .iter()
        .map(|p| (p.address.as_deref(), sha_of(p)))
        .collect();
    assert_eq!(
        got,
        [
            (Some("127.0.0.1"), V4_SHA.to_string()),
            (Some("::1"), V6_SHA.to_string())
        ]
    );
    // The evidence keeps the URL as configured.
    assert!(probes.iter().all(|p| p.http.url == url));
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let host = format!("shop.dw-test.invalid:{port}");
    assert_eq!(
        seen,
        [
            ("127.0.0.1".to_string(), host.clone()),
            ("::1".to_string(), host)
        ]
    );
}

#[tokio::test]
async fn an_ip_literal_is_its_one_address() {
    let (port, _) = dual_stack().await;
    let prober = Prober::new(quick());
    for (url, address, sha) in [
        (format!("http://127.0.0.1:{port}/"), "127.0.0.1", V4_SHA),
        (format!("http://[::1]:{port}/"), "::1", V6_SHA),
    ] {
        let probes = prober.each_address(&url, &Locator::default()).await;
        assert_eq!(probes.len(), 1, "{probes:?}");
        assert_eq!(probes[0].address.as_deref(), Some(address));
        assert_eq!(sha_of(&probes[0]), sha);
    }
}

#[tokio::test]
async fn a_name_is_resolved_as_the_system_does() {
    let (port, _) = dual_stack().await;
    let prober = Prober::new(quick());
    let url = format!("http://localhost:{port}/");
    // What the system resolver says here (/etc/hosts may map localhost to one or both).
    let mut want: Vec<IpAddr> = tokio::net::lookup_host(("localhost", port))
        .await
        .unwrap()
        .map(|a: SocketAddr| a.ip())
        .collect();
    want.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    want.dedup();
    let probes = prober.each_address(&url, &Locator::default()).await;
    let got: Vec<String> = probes.iter().filter_map(|p| p.address.clone()).collect();
    let want: Vec<String> = want.iter().map(ToString::to_string).collect();
    assert_eq!(got, want);
    for p in &probes {
        let expected = if p.address.as_deref() == Some("::1") {
            V6_SHA
        } else {
            V4_SHA
        };
        assert_eq!(sha_of(p), expected, "{p:?}");
    }
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_one_failed_probe_saying_so() {
    let prober = Prober::new(quick());
    let probes = prober
        .each_address("http://nothing.dw-test.invalid/", &Locator::default())
        .await;
    assert_eq!(probes.len(), 1, "{probes:?}");
    assert_eq!(probes[0].address, None);
    match &probes[0].http.outcome {
        HttpOutcome::Failed(TransportFailure::Connect { detail }) => assert!(
            detail.starts_with("DNS resolution of nothing.dw-test.invalid failed"),
            "{detail}"
        ),
        other => panic!("expected a DNS failure, got {other:?}"),
    }
    assert!(probes[0].fingerprint.is_err());
    // An invalid URL and an empty address list are evidence too, never an empty list.
    let probes = prober.each_address("not a url", &Locator::default()).await;
    assert_eq!(probes.len(), 1);
    let probes = prober
        .probe_addresses("http://x.test/", &Locator::default(), &[])
        .await;
    assert_eq!(probes.len(), 1);
    assert!(matches!(probes[0].http.outcome, HttpOutcome::Failed(_)));
}

#[tokio::test]
async fn one_dead_address_is_its_own_failed_probe() {
    let (port, _) = dual_stack().await;
    let prober = Prober::new(quick());
    // 127.0.0.2 is loopback too, but nothing listens there on this port.
    let url = format!("http://shop.dw-test.invalid:{port}/");
    let probes = prober
        .probe_addresses(&url, &Locator::default(), &[ip("127.0.0.2"), ip("::1")])
        .await;
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0].address.as_deref(), Some("127.0.0.2"));
    assert!(
        matches!(&probes[0].http.outcome, HttpOutcome::Failed(_)),
        "{:?}",
        probes[0]
    );
    assert_eq!(probes[1].address.as_deref(), Some("::1"));
    assert_eq!(sha_of(&probes[1]), V6_SHA);
}

#[tokio::test]
async fn the_fan_out_is_capped() {
    let prober = Prober::new(quick());
    let many: Vec<IpAddr> = (1..=40u8).map(|i| IpAddr::from([127, 0, 9, i])).collect();
    let probes = prober
        .probe_addresses("http://cap.dw-test.invalid:9/", &Locator::default(), &many)
        .await;
    assert_eq!(probes.len(), MAX_ADDRESSES);
}
