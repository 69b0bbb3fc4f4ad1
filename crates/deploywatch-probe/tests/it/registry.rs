//! Registry manifest checks against fake OCI registries on loopback doing the anonymous
//! bearer-token dance.

use deploywatch_core::{ImageOutcome, Sha};
use deploywatch_probe::{Prober, expand_image};

use crate::support::{Request, Server, json, quick, refused_addr, reply};

const TOKEN: &str = "anon-t0k3n";

/// A registry that wants a bearer token from its `/token` endpoint (what ghcr.io and Docker Hub
/// do for public images). Tag `good` exists; repository `acme/private` is refused even with
/// a token; `/token` itself refuses when `refuse_tokens`.
fn registry(refuse_tokens: bool) -> impl Fn(&Request) -> crate::support::Reply {
    move |req| {
        let host = req.header("host").unwrap_or("?").to_string();
        if req.path() == "/token" {
            let expected = "service=fake-registry&scope=repository%3Aacme%2Fshop%3Apull";
            if refuse_tokens {
                return reply(
                    401,
                    &[("Content-Type", "application/json")],
                    r#"{"details": "anonymous access disabled"}"#,
                );
            }
            return if req.target.ends_with(expected) || req.target.contains("acme%2Fprivate") {
                json(&format!(r#"{{"token": "{TOKEN}", "expires_in": 300}}"#))
            } else {
                reply(400, &[], format!("unexpected query {}", req.target))
            };
        }
        let repository = req
            .path()
            .strip_prefix("/v2/")
            .and_then(|p| p.split_once("/manifests/"))
            .map(|(repo, _)| repo.to_string())
            .unwrap_or_default();
        let authorized = req.header("authorization") == Some(&format!("Bearer {TOKEN}"));
        if !authorized || repository == "acme/private" {
            let challenge = format!(
                r#"Bearer realm="http://{host}/token",service="fake-registry",scope="repository:{repository}:pull""#
            );
            return reply(
                401,
                &[
                    ("WWW-Authenticate", &challenge),
                    ("Content-Type", "application/json"),
                ],
                r#"{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}"#,
            );
        }
        match req.path().rsplit('/').next() {
            Some("good") => reply(
                200,
                &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
                "{}",
            ),
            _ => reply(404, &[], r#"{"errors": [{"code": "MANIFEST_UNKNOWN"}]}"#),
        }
    }
}

fn outcome_text(outcome: &ImageOutcome) -> String {
    match outcome {
        ImageOutcome::Present => "present".into(),
        ImageOutcome::Missing => "missing".into(),
        ImageOutcome::Error(e) => format!("error: {e}"),
    }
}

#[tokio::test]
async fn anonymous_bearer_token_dance() {
    let server = Server::start(registry(false)).await;
    let prober = Prober::new(quick());
    let host = server.addr.to_string();
    let check = async |reference: &str, want: &str| {
        let check = prober.image(reference).await;
        assert_eq!(check.reference, reference);
        let got = outcome_text(&check.outcome).replace(&host, "HOST");
        assert_eq!(got, want, "{reference}");
    };
    check(&format!("{host}/acme/shop:good"), "present").await;
    check(&format!("{host}/acme/shop:b7c1e2f"), "missing").await;
    check(
        &format!("{host}/acme/private:good"),
        "error: the registry HOST answered HTTP 401 Unauthorized for acme/private:good even with an anonymous token (a private repository?): UNAUTHORIZED: authentication required",
    )
    .await;
    check(
        &format!("{host}/Acme/shop:good"),
        "error: `Acme/shop` is not a valid repository name (lowercase letters, digits, `.`, `_`, `-`, `/`)",
    )
    .await;

    let requests = server.requests();
    let manifest_head = requests
        .iter()
        .find(|r| r.method == "HEAD" && r.header("authorization").is_some())
        .unwrap();
    let accept = manifest_head.header("accept").unwrap();
    for media_type in [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ] {
        assert!(accept.contains(media_type), "{accept}");
    }
    // The token endpoint was asked anonymously.
    let token_request = requests.iter().find(|r| r.path() == "/token").unwrap();
    assert_eq!(token_request.header("authorization"), None);
}

#[tokio::test]
async fn a_refused_token_is_an_error_not_missing() {
    let server = Server::start(registry(true)).await;
    let host = server.addr.to_string();
    let check = Prober::new(quick())
        .image(&format!("{host}/acme/shop:good"))
        .await;
    assert_eq!(
        outcome_text(&check.outcome).replace(&host, "HOST"),
        r#"error: the registry's token service 127.0.0.1 refused an anonymous token for acme/shop: HTTP 401 Unauthorized "{\"details\": \"anonymous access disabled\"}""#
    );
}

#[tokio::test]
async fn registries_that_cannot_answer() {
    let server = Server::start(|req| match req.path() {
        "/v2/basic/app/manifests/v1" => reply(
            401,
            &[("WWW-Authenticate", r#"Basic realm="Registry Realm""#)],
            "",
        ),
        "/v2/access-token/app/manifests/v1"
            if req.header("authorization") == Some("Bearer alt") =>
        {
            reply(200, &[], "")
        }
        "/v2/access-token/app/manifests/v1" => reply(
            401,
            &[(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="http://{}/alt-token""#,
                    req.header("host").unwrap_or("")
                ),
            )],
            "",
        ),
        "/alt-token" => json(r#"{"access_token": "alt"}"#),
        _ => reply(
            500,
            &[("Content-Type", "application/json")],
            r#"{"errors": [{"code": "UNKNOWN", "message": "storage backend down"}]}"#,
        ),
    })
    .await;
    let prober = Prober::new(quick());
    let host = server.addr.to_string();
    let refused = refused_addr().await;
    let check = async |reference: String, want: &str| {
        let got = outcome_text(&prober.image(&reference).await.outcome).replace(&host, "HOST");
        assert!(got.starts_with(want), "{reference}: {got}");
    };
    check(
        format!("{host}/basic/app:v1"),
        r#"error: the registry HOST wants credentials (Basic realm="Registry Realm"); Deploywatch asks registries anonymously"#,
    )
    .await;
    check(
        format!("{host}/broken/app:v1"),
        "error: the registry HOST answered HTTP 500 Internal Server Error for broken/app:v1: UNKNOWN: storage backend down",
    )
    .await;
    // `access_token` is accepted as well as `token`; the default scope is a pull of the repository.
    check(format!("{host}/access-token/app:v1"), "present").await;
    check(
        format!("{refused}/acme/shop:v1"),
        &format!("error: the registry {refused} could not be reached: could not connect"),
    )
    .await;
    let token_request = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/alt-token")
        .unwrap();
    assert_eq!(
        token_request.target,
        "/alt-token?scope=repository%3Aaccess-token%2Fapp%3Apull"
    );
}

#[test]
fn image_templates_expand() {
    let sha = Sha::parse("B7C1E2F0123456789abcdef0123456789abcdef0").unwrap();
    let check = |template: &str, want: &str| assert_eq!(expand_image(template, &sha), want);
    check(
        "ghcr.io/acme/shop:{sha}",
        "ghcr.io/acme/shop:b7c1e2f0123456789abcdef0123456789abcdef0",
    );
    check("ghcr.io/acme/shop:{short_sha}", "ghcr.io/acme/shop:b7c1e2f");
    check(
        "shop:sha-{short_sha}-{sha}",
        "shop:sha-b7c1e2f-b7c1e2f0123456789abcdef0123456789abcdef0",
    );
    check("shop:latest", "shop:latest");
}
