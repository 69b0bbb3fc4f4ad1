//! Registry manifest checks against fake OCI registries on loopback: the anonymous bearer-token
//! dance public registries do, and the credential flows the real distribution registry (see
//! `real_registry.rs`, htpasswd = Basic) does not cover — a token service that wants Basic
//! credentials (ghcr.io, Docker Hub) and the identity-token exchange (ACR's `docker login`).

use base64::Engine as _;
use deploywatch_core::{ImageCheck, ImageOutcome, Sha};
use deploywatch_probe::{Prober, RegistryAuth, expand_image};

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
                &[
                    ("Content-Type", "application/vnd.oci.image.index.v1+json"),
                    ("Docker-Content-Digest", "sha256:0123abcd"),
                ],
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
        ImageOutcome::Unauthorized { detail } => format!("unauthorized: {detail}"),
        ImageOutcome::Error(e) => format!("error: {e}"),
    }
}

#[tokio::test]
async fn anonymous_bearer_token_dance() {
    let server = Server::start(registry(false)).await;
    let prober = Prober::new(quick());
    let host = server.addr.to_string();
    let anonymous = RegistryAuth::anonymous();
    let check = async |reference: &str, want: &str| {
        let check = prober.image(reference, &anonymous).await;
        assert_eq!(check.reference, reference);
        let got = outcome_text(&check.outcome).replace(&host, "HOST");
        assert_eq!(got, want, "{reference}");
        check
    };
    let present = check(&format!("{host}/acme/shop:good"), "present").await;
    assert_eq!(
        present.asked,
        format!("HEAD http://{host}/v2/acme/shop/manifests/good")
    );
    assert_eq!(
        present.answer,
        "HTTP 200 OK, application/vnd.oci.image.index.v1+json, sha256:0123abcd"
    );
    assert_eq!(
        present.summary().replace(&host, "HOST"),
        "HOST/acme/shop:good is in the registry (HEAD http://HOST/v2/acme/shop/manifests/good → \
         HTTP 200 OK, application/vnd.oci.image.index.v1+json, sha256:0123abcd; anonymous)"
    );
    let missing = check(&format!("{host}/acme/shop:b7c1e2f"), "missing").await;
    assert_eq!(missing.answer, "HTTP 404 Not Found");
    let private = check(
        &format!("{host}/acme/private:good"),
        "unauthorized: could not check: credentials needed for HOST — add them with `docker login HOST`",
    )
    .await;
    assert_eq!(
        private.answer,
        "HTTP 401 Unauthorized (WWW-Authenticate: Bearer realm=\"http://HOST/token\",service=\"fake-registry\",scope=\"repository:acme/private:pull\"): UNAUTHORIZED: authentication required"
            .replace("HOST", &host)
    );
    let invalid = check(
        &format!("{host}/Acme/shop:good"),
        "error: `Acme/shop` is not a valid repository name (lowercase letters, digits, `.`, `_`, `-`, `/`)",
    )
    .await;
    // Nothing was asked of anyone.
    let nothing = (
        invalid.asked.as_str(),
        invalid.answer.as_str(),
        invalid.auth.as_str(),
    );
    assert_eq!(nothing, ("", "", ""));
    assert_eq!(missing.auth, "anonymous");

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
async fn a_refused_anonymous_token_means_credentials_are_needed() {
    let server = Server::start(registry(true)).await;
    let host = server.addr.to_string();
    let check = Prober::new(quick())
        .image(
            &format!("{host}/acme/shop:good"),
            &RegistryAuth::anonymous(),
        )
        .await;
    assert_eq!(
        outcome_text(&check.outcome).replace(&host, "HOST"),
        "unauthorized: could not check: credentials needed for HOST — add them with `docker login HOST`"
    );
    assert_eq!(
        check.answer,
        r#"token service 127.0.0.1: HTTP 401 Unauthorized "{"details": "anonymous access disabled"}""#
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
    let anonymous = RegistryAuth::anonymous();
    let check = async |reference: String, want: &str| {
        let got = outcome_text(&prober.image(&reference, &anonymous).await.outcome)
            .replace(&host, "HOST");
        assert!(got.starts_with(want), "{reference}: {got}");
    };
    check(
        format!("{host}/basic/app:v1"),
        "unauthorized: could not check: credentials needed for HOST — add them with `docker login HOST`",
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
        &format!(
            "error: the registry {refused} could not be reached: no answer: could not connect"
        ),
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

const PASSWORD: &str = "pa55-W0rd-never-shown";
const REFRESH: &str = "refresh-t0ken-never-shown";
const ISSUED: &str = "issued-t0ken-never-shown";

/// A private registry whose token service wants credentials: Basic `alice:PASSWORD` on a `GET`
/// (ghcr.io, Docker Hub), or the OAuth2 refresh-token grant on a `POST` with `REFRESH`. Its
/// tokens are scoped to the repository asked for; `acme/shop:good` exists.
fn private_registry(req: &Request) -> crate::support::Reply {
    let host = req.header("host").unwrap_or("?").to_string();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"))
    );
    if req.path() == "/token" {
        let scope_ok = req.target.contains("scope=repository%3Aacme%2Fshop%3Apull")
            || String::from_utf8_lossy(&req.body).contains("scope=repository%3Aacme%2Fshop%3Apull");
        let granted = match req.method.as_str() {
            "GET" => req.header("authorization") == Some(&basic),
            "POST" => {
                let form = String::from_utf8_lossy(&req.body);
                form.contains("grant_type=refresh_token")
                    && form.contains(&format!("refresh_token={REFRESH}"))
                    && form.contains("service=private")
            }
            _ => false,
        };
        return if granted && scope_ok {
            json(&format!(r#"{{"access_token": "{ISSUED}"}}"#))
        } else {
            reply(
                401,
                &[("Content-Type", "application/json")],
                r#"{"details": "incorrect username or password"}"#,
            )
        };
    }
    if req.header("authorization") != Some(&format!("Bearer {ISSUED}")) {
        return reply(
            401,
            &[(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="http://{host}/token",service="private",scope="repository:acme/shop:pull""#
                ),
            )],
            "",
        );
    }
    match req.path() {
        "/v2/acme/shop/manifests/good" => reply(
            200,
            &[(
                "Content-Type",
                "application/vnd.docker.distribution.manifest.v2+json",
            )],
            "{}",
        ),
        _ => reply(404, &[], ""),
    }
}

/// A temporary `DOCKER_CONFIG` directory holding `config`.
fn docker_config(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

/// Fails when a secret reaches anything a check shows or prints.
fn assert_no_secret(check: &ImageCheck) {
    let shown = [
        format!("{check:?}"),
        check.summary(),
        outcome_text(&check.outcome),
    ];
    for text in shown {
        for secret in [PASSWORD, REFRESH, ISSUED] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
}

#[tokio::test]
async fn token_services_that_want_credentials() {
    let server = Server::start(private_registry).await;
    let host = server.addr.to_string();
    let reference = format!("{host}/acme/shop:good");
    let prober = Prober::new(quick());
    let login = |user: &str, password: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        docker_config(&format!(
            r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#
        ))
    };

    let good = login("alice", PASSWORD);
    let auth = RegistryAuth::anonymous().with_docker_config(good.path());
    let check = prober.image(&reference, &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");
    assert_eq!(
        check.auth,
        format!(
            "credentials from {}/config.json (auths, auth)",
            good.path().display()
        )
    );
    assert_no_secret(&check);
    // Basic credentials went to the token service only; the registry saw the scoped token.
    let requests = server.requests();
    for r in &requests {
        let authorization = r.header("authorization").unwrap_or("");
        if r.path() == "/token" {
            assert!(authorization.starts_with("Basic "), "{r:?}");
        } else {
            assert!(!authorization.starts_with("Basic "), "{r:?}");
        }
    }
    assert_eq!(
        check
            .summary()
            .replace(&host, "HOST")
            .replace(&good.path().display().to_string(), "DIR"),
        "HOST/acme/shop:good is in the registry (HEAD http://HOST/v2/acme/shop/manifests/good → \
         HTTP 200 OK, application/vnd.docker.distribution.manifest.v2+json; credentials from \
         DIR/config.json (auths, auth))"
    );

    let wrong = login("alice", "not-the-password");
    let auth = RegistryAuth::anonymous().with_docker_config(wrong.path());
    let check = prober.image(&reference, &auth).await;
    let ImageOutcome::Unauthorized { detail } = &check.outcome else {
        panic!("{check:?}");
    };
    assert_eq!(
        detail
            .replace(&host, "HOST")
            .replace(&wrong.path().display().to_string(), "DIR"),
        "credentials for HOST were refused (credentials from DIR/config.json (auths, auth)): \
         the token service 127.0.0.1 answered HTTP 401 Unauthorized"
    );
    assert!(!format!("{check:?}").contains("not-the-password"));

    // An identity token (what `docker login` keeps for Azure) is exchanged, never sent as is.
    let identity = docker_config(&format!(
        r#"{{"auths": {{"http://{host}/v1/": {{"auth": "", "identitytoken": "{REFRESH}"}}}}}}"#
    ));
    let auth = RegistryAuth::anonymous().with_docker_config(identity.path());
    let check = prober.image(&reference, &auth).await;
    assert_eq!(check.outcome, ImageOutcome::Present, "{check:?}");
    assert!(
        check.auth.ends_with("(auths, identitytoken)"),
        "{}",
        check.auth
    );
    assert_no_secret(&check);
    let post = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path(), "/token");
    assert_eq!(
        post.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        server.requests().iter().all(|r| !r.target.contains(REFRESH)
            && r.header("authorization")
                .is_none_or(|a| !a.contains(REFRESH))),
        "the refresh token only in the POST body"
    );

    let missing = prober
        .image(
            &format!("{host}/acme/shop:absent"),
            &RegistryAuth::anonymous().with_docker_config(good.path()),
        )
        .await;
    assert_eq!(missing.outcome, ImageOutcome::Missing, "{missing:?}");
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
