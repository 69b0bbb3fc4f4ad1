//! The simulated registry: the anonymous bearer-token dance and manifest lookups.

use deploywatch_fleet::{SimRegistry, fake_sha};
use reqwest::StatusCode;
use serde_json::Value;

use crate::fresh_client;

/// The `key="value"` parameters of a `Bearer` challenge.
fn challenge_param(challenge: &str, key: &str) -> Option<String> {
    let needle = format!("{key}=\"");
    let rest = &challenge[challenge.find(&needle)? + needle.len()..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Runs the dance for `name` the way a client does: anonymous request, challenge, token.
async fn token_for(registry: &SimRegistry, name: &str) -> String {
    let url = format!("http://{}/v2/{name}/manifests/latest", registry.host());
    let response = fresh_client().head(&url).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .expect("a challenge")
        .to_string();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let realm = challenge_param(&challenge, "realm").expect("realm");
    assert_eq!(realm, format!("http://{}/token", registry.host()));
    assert_eq!(
        challenge_param(&challenge, "service").as_deref(),
        Some("sim")
    );
    let scope = challenge_param(&challenge, "scope").expect("scope");
    assert_eq!(scope, format!("repository:{name}:pull"));
    let token: Value = fresh_client()
        .get(&realm)
        .query(&[("service", "sim"), ("scope", scope.as_str())])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    token["token"].as_str().expect("a token").to_string()
}

#[tokio::test]
async fn manifests_answer_after_the_token_dance() {
    let registry = SimRegistry::start().await.expect("start");
    let sha = fake_sha("registry pushed");
    registry.push_tag("acme/shop", &sha);
    let token = token_for(&registry, "acme/shop").await;
    let base = format!("http://{}/v2/acme/shop/manifests", registry.host());
    let client = fresh_client();

    // (reference, expected status) with the token.
    let digest = SimRegistry::digest("acme/shop", &sha);
    let missing = fake_sha("registry never pushed");
    let cases = [
        (sha.as_str(), 200),
        (missing.as_str(), 404),
        (digest.as_str(), 200),
        ("sha256:00", 404),
    ];
    for (reference, status) in cases {
        let response = client
            .head(format!("{base}/{reference}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{reference}");
    }

    let response = client
        .get(format!("{base}/{sha}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("docker-content-digest"), digest);
    assert_eq!(
        header("content-type"),
        "application/vnd.oci.image.manifest.v1+json"
    );
    let body = response.bytes().await.expect("body");
    let hex: String = {
        use std::fmt::Write as _;
        let digest = sha2_digest(&body);
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert_eq!(
        format!("sha256:{hex}"),
        digest,
        "the digest is the manifest's real SHA-256"
    );
    let manifest: Value = serde_json::from_slice(&body).expect("JSON manifest");
    assert_eq!(manifest["schemaVersion"], 2);

    let response = client
        .get(format!("{base}/{missing}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("error JSON");
    assert_eq!(body["errors"][0]["code"], "MANIFEST_UNKNOWN");

    let tags: Value = client
        .get(format!("http://{}/v2/acme/shop/tags/list", registry.host()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(tags["tags"], serde_json::json!([sha]));

    registry.delete_tag("acme/shop", &sha);
    assert!(!registry.has_tag("acme/shop", &sha));
    let response = client
        .head(format!("{base}/{sha}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
}

fn sha2_digest(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

#[tokio::test]
async fn tokens_are_scoped_to_one_repository() {
    let registry = SimRegistry::start().await.expect("start");
    registry.push_tag("acme/shop", "v1");
    registry.push_tag("acme/api", "v1");
    let token = token_for(&registry, "acme/api").await;
    let client = fresh_client();
    let url = |name: &str| format!("http://{}/v2/{name}/manifests/v1", registry.host());

    // (repository, token, expected status)
    let cases = [
        ("acme/api", Some(token.as_str()), 200),
        ("acme/shop", Some(token.as_str()), 401),
        ("acme/api", Some("forged"), 401),
        ("acme/api", None, 401),
    ];
    for (name, token, status) in cases {
        let mut request = client.head(url(name));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), status, "{name} {token:?}");
    }
    // A repository the registry has never seen, with a valid token for it.
    let token = token_for(&registry, "acme/ghost").await;
    let response = client
        .get(url("acme/ghost"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["code"], "NAME_UNKNOWN");
    assert!(registry.requests() >= 8);
}
