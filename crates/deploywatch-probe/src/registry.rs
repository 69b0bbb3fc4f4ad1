//! Does the registry hold a manifest for an image tag? The OCI distribution API asked
//! anonymously: `HEAD /v2/<name>/manifests/<tag>`, and on `401` the bearer-token dance
//! (`WWW-Authenticate: Bearer realm=..,service=..,scope=..` → token → retry).

use deploywatch_core::{HttpOutcome, ImageOutcome};
use http::{HeaderMap, header};
use reqwest::Client;
use url::Url;

use crate::{ProbeSettings, describe_failure, fetch, status_text};

/// Every manifest kind a tag may point to: multi-platform indexes and single manifests, OCI
/// and Docker. Without them some registries answer 404 for a tag that exists.
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Docker Hub's API host; `docker.io` is only its name in image references.
const DOCKER_HUB: &str = "registry-1.docker.io";

/// Why an image reference cannot be looked up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReferenceError {
    #[error("the image reference is empty")]
    Empty,
    #[error("`{0}` is not a valid registry host")]
    Registry(String),
    #[error("`{0}` is not a valid repository name (lowercase letters, digits, `.`, `_`, `-`, `/`)")]
    Repository(String),
    #[error("`{0}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128)")]
    Tag(String),
    #[error("`{0}` is not a valid digest (like `sha256:` followed by hex)")]
    Digest(String),
}

/// An image reference split the way Docker splits it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// `host[:port]` of the registry's API.
    pub registry: String,
    /// `acme/shop`, `library/nginx`.
    pub repository: String,
    /// A tag or a digest.
    pub reference: String,
}

impl ImageRef {
    /// Parses `ghcr.io/acme/shop:tag`, `localhost:5000/shop@sha256:..`, `nginx` (Docker Hub's
    /// `library/nginx:latest`), `acme/shop:tag` (Docker Hub).
    pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name, reference) = match text.split_once('@') {
            Some((name, digest)) => {
                let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
                    !algorithm.is_empty()
                        && algorithm
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b))
                        && !hex.is_empty()
                        && hex
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
                });
                if !valid {
                    return Err(ReferenceError::Digest(digest.to_string()));
                }
                // `nginx:1.25@sha256:…`: the digest decides; the tag is only a label.
                (split_tag(name).0, digest.to_string())
            }
            None => {
                let (name, tag) = split_tag(text);
                let tag = tag.unwrap_or("latest");
                let valid = tag.len() <= 128
                    && tag
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && tag
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                if !valid {
                    return Err(ReferenceError::Tag(tag.to_string()));
                }
                (name, tag.to_string())
            }
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_ascii_lowercase(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let (registry, repository) = if matches!(
            registry.as_str(),
            "docker.io" | "index.docker.io" | DOCKER_HUB
        ) {
            // Docker Hub's official images live under `library/`.
            let repository = if repository.contains('/') {
                repository
            } else {
                format!("library/{repository}")
            };
            (DOCKER_HUB.to_string(), repository)
        } else {
            (registry, repository)
        };
        let valid_repository = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !valid_repository {
            return Err(ReferenceError::Repository(repository));
        }
        if Url::parse(&format!("http://{registry}/")).is_err() {
            return Err(ReferenceError::Registry(registry));
        }
        Ok(ImageRef {
            registry,
            repository,
            reference,
        })
    }

    /// Plain HTTP for registries on this machine (as Docker allows), HTTPS for all others.
    pub fn scheme(&self) -> &'static str {
        let host = if self.registry.starts_with('[') {
            self.registry
                .split_inclusive(']')
                .next()
                .unwrap_or(&self.registry)
        } else {
            self.registry.split(':').next().unwrap_or(&self.registry)
        };
        if matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            "http"
        } else {
            "https"
        }
    }

    fn manifest_url(&self) -> Result<Url, String> {
        let text = format!(
            "{}://{}/v2/{}/manifests/{}",
            self.scheme(),
            self.registry,
            self.repository,
            self.reference
        );
        Url::parse(&text).map_err(|e| format!("cannot build the manifest URL {text:?}: {e}"))
    }
}

/// `(name, Some(tag))` when the last path component has a `:tag`.
fn split_tag(text: &str) -> (&str, Option<&str>) {
    let last = text.rfind('/').map_or(0, |i| i + 1);
    match text[last..].rfind(':') {
        Some(i) => (&text[..last + i], Some(&text[last + i + 1..])),
        None => (text, None),
    }
}

/// Looks `reference` up. Never fails: a lookup that cannot decide is `ImageOutcome::Error`
/// saying why.
pub(crate) async fn check(
    client: &Client,
    settings: &ProbeSettings,
    reference: &str,
) -> ImageOutcome {
    let image = match ImageRef::parse(reference) {
        Ok(image) => image,
        Err(e) => return ImageOutcome::Error(e.to_string()),
    };
    match lookup(client, settings, &image).await {
        Ok(outcome) => outcome,
        Err(reason) => ImageOutcome::Error(reason),
    }
}

async fn lookup(
    client: &Client,
    settings: &ProbeSettings,
    image: &ImageRef,
) -> Result<ImageOutcome, String> {
    let url = image.manifest_url()?;
    let unreachable = |f| {
        format!(
            "the registry {} could not be reached: {}",
            image.registry,
            describe_failure(&f)
        )
    };
    let (status, headers) = head(client, settings, &url, None)
        .await
        .map_err(unreachable)?;
    let (status, token) = if status == 401 {
        let Some(challenge) = bearer_challenge(&headers) else {
            let asked = fetch::header_text(&headers, header::WWW_AUTHENTICATE)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            return Err(format!(
                "the registry {} wants credentials{asked}; Deploywatch asks registries anonymously",
                image.registry
            ));
        };
        let token = token(client, settings, &challenge, image).await?;
        let (status, _) = head(client, settings, &url, Some(&token))
            .await
            .map_err(unreachable)?;
        (status, Some(token))
    } else {
        (status, None)
    };
    match status {
        200 => Ok(ImageOutcome::Present),
        404 => Ok(ImageOutcome::Missing),
        other => {
            let detail = error_detail(client, settings, &url, token.as_deref())
                .await
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let why = match (other, &token) {
                (401 | 403, Some(_)) => " even with an anonymous token (a private repository?)",
                (403, None) => " (a private repository?)",
                _ => "",
            };
            Err(format!(
                "the registry {} answered HTTP {} for {}:{}{why}{detail}",
                image.registry,
                status_text(other),
                image.repository,
                image.reference
            ))
        }
    }
}

async fn head(
    client: &Client,
    settings: &ProbeSettings,
    url: &Url,
    token: Option<&str>,
) -> Result<(u16, HeaderMap), deploywatch_core::TransportFailure> {
    fetch::status_only(settings, url, |u| {
        let request = client
            .head(u.clone())
            .header(header::ACCEPT, ACCEPT_MANIFESTS);
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    })
    .await
}

/// The `errors` a registry puts in the body of a failed `GET` (`HEAD` answers have none),
/// e.g. `DENIED: requested access to the resource is denied`.
async fn error_detail(
    client: &Client,
    settings: &ProbeSettings,
    url: &Url,
    token: Option<&str>,
) -> Option<String> {
    let (_, answer) = fetch::get(settings, url.as_str(), |u| {
        let request = client
            .get(u.clone())
            .header(header::ACCEPT, ACCEPT_MANIFESTS);
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    })
    .await;
    let body: serde_json::Value = serde_json::from_slice(&answer?.body).ok()?;
    let errors: Vec<String> = body
        .get("errors")?
        .as_array()?
        .iter()
        .take(3)
        .map(|e| {
            let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("ERROR");
            let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            let line = format!("{code}: {message}");
            line.chars().take(200).collect()
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// A `WWW-Authenticate: Bearer` challenge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

fn bearer_challenge(headers: &HeaderMap) -> Option<Challenge> {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_bearer)
}

/// Parses `Bearer realm="…",service="…",scope="repository:a/b:pull"` (quoted or bare values,
/// backslash escapes, commas inside quotes). `None` for other schemes or without a realm.
pub(crate) fn parse_bearer(value: &str) -> Option<Challenge> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    Some(Challenge {
        realm: get("realm").filter(|r| !r.is_empty())?,
        service: get("service"),
        scope: get("scope"),
    })
}

fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            if chars.peek().is_none() {
                break;
            }
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
            value = value.trim_end().to_string();
        }
        params.push((key.trim().to_ascii_lowercase(), value));
    }
    params
}

/// Asks the challenge's realm for an anonymous pull token.
async fn token(
    client: &Client,
    settings: &ProbeSettings,
    challenge: &Challenge,
    image: &ImageRef,
) -> Result<String, String> {
    let mut realm = Url::parse(&challenge.realm)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            format!(
                "the registry {} named a token service that is not an http(s) URL: {:?}",
                image.registry, challenge.realm
            )
        })?;
    {
        let mut query = realm.query_pairs_mut();
        if let Some(service) = &challenge.service {
            query.append_pair("service", service);
        }
        let default_scope = format!("repository:{}:pull", image.repository);
        query.append_pair(
            "scope",
            challenge.scope.as_deref().unwrap_or(&default_scope),
        );
    }
    let (evidence, answer) = fetch::get(settings, realm.as_str(), |u| {
        client
            .get(u.clone())
            .header(header::ACCEPT, "application/json")
    })
    .await;
    let host = realm.host_str().unwrap_or("?").to_string();
    match &evidence.outcome {
        HttpOutcome::Failed(f) => {
            return Err(format!(
                "the registry's token service {host} could not be reached: {}",
                describe_failure(f)
            ));
        }
        HttpOutcome::Answered(r) if r.status != 200 => {
            return Err(format!(
                "the registry's token service {host} refused an anonymous token for {}: HTTP {} {:?}",
                image.repository,
                status_text(r.status),
                r.first_bytes
            ));
        }
        HttpOutcome::Answered(_) => {}
    }
    let body = answer.map(|a| a.body).unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            ["token", "access_token"].iter().find_map(|k| {
                v.get(*k)?
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
            })
        })
        .ok_or_else(|| {
            format!(
                "the registry's token service {host} answered without a `token` or `access_token`"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_like_docker() {
        let check = |text: &str, want: Result<(&str, &str, &str, &str), ReferenceError>| {
            let got = ImageRef::parse(text).map(|r| {
                (
                    r.scheme(),
                    r.registry.clone(),
                    r.repository.clone(),
                    r.reference.clone(),
                )
            });
            let want = want.map(|(s, r, p, t)| (s, r.to_string(), p.to_string(), t.to_string()));
            assert_eq!(got, want, "{text}");
        };
        check(
            "ghcr.io/acme/shop:b7c1e2f",
            Ok(("https", "ghcr.io", "acme/shop", "b7c1e2f")),
        );
        check(
            "nginx:1.25",
            Ok(("https", DOCKER_HUB, "library/nginx", "1.25")),
        );
        check(
            "nginx",
            Ok(("https", DOCKER_HUB, "library/nginx", "latest")),
        );
        check(
            "docker.io/library/nginx:tag",
            Ok(("https", DOCKER_HUB, "library/nginx", "tag")),
        );
        check(
            "docker.io/nginx",
            Ok(("https", DOCKER_HUB, "library/nginx", "latest")),
        );
        check(
            "acme/shop:abc1234",
            Ok(("https", DOCKER_HUB, "acme/shop", "abc1234")),
        );
        check(
            "localhost:5000/shop:abc",
            Ok(("http", "localhost:5000", "shop", "abc")),
        );
        check(
            "localhost/shop",
            Ok(("http", "localhost", "shop", "latest")),
        );
        check(
            "127.0.0.1:5000/a/b:c",
            Ok(("http", "127.0.0.1:5000", "a/b", "c")),
        );
        check("[::1]:5000/a:c", Ok(("http", "[::1]:5000", "a", "c")));
        check(
            "registry.example.com:5443/team/app:v1",
            Ok(("https", "registry.example.com:5443", "team/app", "v1")),
        );
        check(
            "ghcr.io/acme/shop:v1@sha256:abcdef0123",
            Ok(("https", "ghcr.io", "acme/shop", "sha256:abcdef0123")),
        );
        check("", Err(ReferenceError::Empty));
        check(
            "ghcr.io/Acme/shop:v1",
            Err(ReferenceError::Repository("Acme/shop".into())),
        );
        check(
            "ghcr.io/acme/shop:{sha}",
            Err(ReferenceError::Tag("{sha}".into())),
        );
        check(
            "ghcr.io/acme//shop",
            Err(ReferenceError::Repository("acme//shop".into())),
        );
        check(
            "ghcr.io/acme/shop@md5",
            Err(ReferenceError::Digest("md5".into())),
        );
        check("ghcr.io/acme/shop:", Err(ReferenceError::Tag("".into())));
    }

    #[test]
    fn bearer_challenges() {
        let check = |header: &str, want: Option<(&str, Option<&str>, Option<&str>)>| {
            let got = parse_bearer(header);
            let want = want.map(|(realm, service, scope)| Challenge {
                realm: realm.into(),
                service: service.map(Into::into),
                scope: scope.map(Into::into),
            });
            assert_eq!(got, want, "{header}");
        };
        check(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
            Some((
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:library/nginx:pull"),
            )),
        );
        check(
            r#"bearer realm="https://ghcr.io/token", scope="repository:a/b:pull,push",service="ghcr.io""#,
            Some((
                "https://ghcr.io/token",
                Some("ghcr.io"),
                Some("repository:a/b:pull,push"),
            )),
        );
        check(
            r#"Bearer realm=http://127.0.0.1:1/token,service=fake"#,
            Some(("http://127.0.0.1:1/token", Some("fake"), None)),
        );
        check(r#"Bearer realm="a\"b""#, Some(("a\"b", None, None)));
        check(r#"Basic realm="Registry""#, None);
        check(r#"Bearer service="x""#, None);
        check("Bearer", None);
        check(
            r#"Bearer realm="unterminated"#,
            Some(("unterminated", None, None)),
        );
    }
}
