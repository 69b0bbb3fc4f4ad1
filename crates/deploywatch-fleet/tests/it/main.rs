//! Integration tests of the demo fleet: real loopback servers asked over real HTTP.

mod demo;
mod env;
mod probe;
mod registry;

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;

/// A client that opens a new TCP connection for every request (no idle pool), like
/// Deploywatch's replica probes.
fn fresh_client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

/// A client that keeps connections alive, like a browser.
fn pooled_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client")
}

async fn get_json(url: &str) -> Value {
    let response = fresh_client().get(url).send().await.expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.expect("JSON body")
}
