//! Shared helpers: a short-timeout HTTP client and one-line GETs.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A full 40-digit SHA made of one repeated hex digit, for readable fixtures.
pub fn sha(digit: char) -> String {
    std::iter::repeat_n(digit, 40).collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest client builds")
}

/// The answer to one request: status, headers and the body as JSON (`Null` when empty).
pub struct Got {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` and reads the answer.
pub async fn send(request: reqwest::RequestBuilder) -> Got {
    let response = request.send().await.expect("fake answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body reads");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Got {
        status,
        headers,
        body,
    }
}

/// GET `url` (absolute) with no extra headers.
pub async fn get(url: &str) -> Got {
    send(client().get(url)).await
}
