//! Does the registry hold a manifest for an image tag? The OCI distribution API:
//! `HEAD /v2/<name>/manifests/<tag>`, first anonymously; on `401` the challenge decides —
//! `Basic` → the request again with the username and password, `Bearer realm=..,service=..,
//! scope=..` → a pull token for that repository from the realm (anonymously, with Basic
//! credentials, or by exchanging an identity token) → the request again with it.
//! Credentials come from where Docker keeps them ([`credentials`]).

mod credentials;

use deploywatch_core::{HttpOutcome, ImageCheck, ImageOutcome};
use http::{HeaderMap, header};
use reqwest::{Client, RequestBuilder};
use url::Url;

use credentials::{Credential, Resolved};
pub use credentials::{RegistryAuth, Secret};

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

/// Looks `reference` up with the credentials `auth` finds for its registry. Never fails: a
/// lookup that cannot decide is `Unauthorized` or `Error` saying why, and the check says what
/// was asked, what came back and which credentials were sent.
pub(crate) async fn check(
    client: &Client,
    settings: &ProbeSettings,
    reference: &str,
    auth: &RegistryAuth,
) -> ImageCheck {
    let mut check = ImageCheck {
        reference: reference.to_string(),
        asked: String::new(),
        answer: String::new(),
        auth: String::new(),
        outcome: ImageOutcome::Error(String::new()),
    };
    let image = match ImageRef::parse(reference) {
        Ok(image) => image,
        Err(e) => {
            check.outcome = ImageOutcome::Error(e.to_string());
            return check;
        }
    };
    let url = match image.manifest_url() {
        Ok(url) => url,
        Err(e) => {
            check.outcome = ImageOutcome::Error(e);
            return check;
        }
    };
    check.asked = format!("HEAD {url}");
    let resolved = auth.resolve(&image.registry).await;
    check.auth = resolved.source.clone();
    let mut lookup = Lookup {
        client,
        settings,
        image: &image,
        url: &url,
        resolved: &resolved,
        answer: String::new(),
    };
    check.outcome = lookup.run().await;
    check.answer = lookup.answer;
    check
}

/// What was sent with the manifest request that decided.
enum Sent {
    Nothing,
    /// A bearer token; `with_credentials` when it was asked for with credentials.
    Token {
        token: String,
        with_credentials: bool,
    },
    Basic,
}

struct Lookup<'a> {
    client: &'a Client,
    settings: &'a ProbeSettings,
    image: &'a ImageRef,
    url: &'a Url,
    resolved: &'a Resolved,
    /// The last answer, for the evidence.
    answer: String,
}

impl Lookup<'_> {
    async fn run(&mut self) -> ImageOutcome {
        let registry = self.image.registry.clone();
        // Anonymous first, as Docker does: the answer says which scheme the registry wants.
        let Some((status, headers)) = self.head(&Auth::None).await else {
            return self.unreachable();
        };
        let (status, headers, sent) = if status == 401 {
            let challenge = Challenge::from_headers(&headers);
            let credential = self.resolved.credential.as_ref();
            match (challenge, credential) {
                (Some(Challenge::Bearer(bearer)), _) => {
                    let token = match self.token(&bearer).await {
                        Ok(t) => t,
                        Err(outcome) => return outcome,
                    };
                    let Some((status, headers)) = self.head(&Auth::Bearer(&token)).await else {
                        return self.unreachable();
                    };
                    let sent = Sent::Token {
                        token,
                        with_credentials: credential.is_some(),
                    };
                    (status, headers, sent)
                }
                (Some(Challenge::Basic), Some(Credential::Basic { username, password })) => {
                    let Some((status, headers)) = self.head(&Auth::Basic(username, password)).await
                    else {
                        return self.unreachable();
                    };
                    (status, headers, Sent::Basic)
                }
                (Some(Challenge::Basic), Some(Credential::IdentityToken(_))) => {
                    self.answer = answer_text(status, &headers, None);
                    return ImageOutcome::Unauthorized {
                        detail: format!(
                            "could not check: the registry {registry} wants a username and \
                             password (Basic), but the {} are an identity token — log in with \
                             `docker login {}` and a password",
                            self.resolved.source,
                            login_host(&registry)
                        ),
                    };
                }
                (_, _) => {
                    self.answer = answer_text(status, &headers, None);
                    return ImageOutcome::Unauthorized {
                        detail: credentials_needed(&registry),
                    };
                }
            }
        } else {
            (status, headers, Sent::Nothing)
        };
        let detail = match status {
            200 | 404 => None,
            _ => self.error_detail(&sent).await,
        };
        self.answer = answer_text(status, &headers, detail.as_deref());
        let with_credentials = match &sent {
            Sent::Basic => true,
            Sent::Token {
                with_credentials, ..
            } => *with_credentials,
            Sent::Nothing => false,
        };
        let target = format!("{}:{}", self.image.repository, self.image.reference);
        match status {
            200 => ImageOutcome::Present,
            404 => ImageOutcome::Missing,
            401 if with_credentials => ImageOutcome::Unauthorized {
                detail: format!(
                    "credentials for {registry} were refused ({}): HTTP 401 for {target}",
                    self.resolved.source
                ),
            },
            403 if with_credentials => ImageOutcome::Unauthorized {
                detail: format!(
                    "credentials for {registry} were refused ({}): they do not allow pulling \
                     {target} (HTTP 403)",
                    self.resolved.source
                ),
            },
            401 | 403 => ImageOutcome::Unauthorized {
                detail: credentials_needed(&registry),
            },
            other => ImageOutcome::Error(format!(
                "the registry {registry} answered HTTP {} for {target}{}",
                status_text(other),
                detail.map(|d| format!(": {d}")).unwrap_or_default()
            )),
        }
    }

    fn unreachable(&mut self) -> ImageOutcome {
        ImageOutcome::Error(format!(
            "the registry {} could not be reached: {}",
            self.image.registry, self.answer
        ))
    }

    /// `None` when there was no answer; `self.answer` then says why.
    async fn head(&mut self, auth: &Auth<'_>) -> Option<(u16, HeaderMap)> {
        let result = fetch::status_only(self.settings, self.url, |u| {
            auth.apply(
                self.client
                    .head(u.clone())
                    .header(header::ACCEPT, ACCEPT_MANIFESTS),
            )
        })
        .await;
        match result {
            Ok(answer) => Some(answer),
            Err(failure) => {
                self.answer = format!("no answer: {}", describe_failure(&failure));
                None
            }
        }
    }

    /// The `errors` a registry puts in the body of a failed `GET` (`HEAD` answers have none),
    /// e.g. `DENIED: requested access to the resource is denied`.
    async fn error_detail(&self, sent: &Sent) -> Option<String> {
        let auth = match (sent, &self.resolved.credential) {
            (Sent::Token { token, .. }, _) => Auth::Bearer(token),
            (Sent::Basic, Some(Credential::Basic { username, password })) => {
                Auth::Basic(username, password)
            }
            _ => Auth::None,
        };
        error_detail(self.client, self.settings, self.url, &auth).await
    }

    /// A pull token for the repository from the challenge's realm: anonymously, with Basic
    /// credentials, or by exchanging an identity (refresh) token.
    async fn token(&mut self, challenge: &BearerChallenge) -> Result<String, ImageOutcome> {
        let registry = &self.image.registry;
        let mut realm = Url::parse(&challenge.realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                ImageOutcome::Error(format!(
                    "the registry {registry} named a token service that is not an http(s) URL: {:?}",
                    challenge.realm
                ))
            })?;
        let default_scope = format!("repository:{}:pull", self.image.repository);
        let scope = challenge.scope.as_deref().unwrap_or(&default_scope);
        let credential = self.resolved.credential.as_ref();
        let service = challenge.service.as_deref();
        let (evidence, answer) = match credential {
            Some(Credential::IdentityToken(refresh)) => {
                // OAuth2 refresh-token grant (distribution's token spec), as Docker sends it.
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                    ("scope", scope),
                    ("client_id", "deploywatch"),
                ];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                fetch::get(self.settings, realm.as_str(), |u| {
                    self.client
                        .post(u.clone())
                        .header(header::ACCEPT, "application/json")
                        .form(&form)
                })
                .await
            }
            _ => {
                {
                    let mut query = realm.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    query.append_pair("scope", scope);
                }
                let auth = match credential {
                    Some(Credential::Basic { username, password }) => {
                        Auth::Basic(username, password)
                    }
                    _ => Auth::None,
                };
                fetch::get(self.settings, realm.as_str(), |u| {
                    auth.apply(
                        self.client
                            .get(u.clone())
                            .header(header::ACCEPT, "application/json"),
                    )
                })
                .await
            }
        };
        let host = realm.host_str().unwrap_or("?").to_string();
        match &evidence.outcome {
            HttpOutcome::Failed(f) => {
                self.answer = format!("token service {host}: no answer: {}", describe_failure(f));
                return Err(ImageOutcome::Error(format!(
                    "the registry's token service {host} could not be reached: {}",
                    describe_failure(f)
                )));
            }
            HttpOutcome::Answered(r) if r.status != 200 => {
                self.answer = format!(
                    "token service {host}: HTTP {} \"{}\"",
                    status_text(r.status),
                    r.first_bytes
                );
                return Err(match (r.status, credential) {
                    (401 | 403, Some(_)) => ImageOutcome::Unauthorized {
                        detail: format!(
                            "credentials for {registry} were refused ({}): the token service \
                             {host} answered HTTP {}",
                            self.resolved.source,
                            status_text(r.status)
                        ),
                    },
                    (401 | 403, None) => ImageOutcome::Unauthorized {
                        detail: credentials_needed(registry),
                    },
                    (status, _) => ImageOutcome::Error(format!(
                        "the registry's token service {host} refused a token for {}: HTTP {}",
                        self.image.repository,
                        status_text(status)
                    )),
                });
            }
            HttpOutcome::Answered(_) => {}
        }
        let body = answer.map(|a| a.body).unwrap_or_default();
        let token = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                ["token", "access_token"].iter().find_map(|k| {
                    v.get(*k)?
                        .as_str()
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                })
            });
        token.ok_or_else(|| {
            self.answer = format!("token service {host}: HTTP 200 without a token");
            ImageOutcome::Error(format!(
                "the registry's token service {host} answered without a `token` or `access_token`"
            ))
        })
    }
}

/// The `Authorization` of one request.
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic(&'a str, &'a Secret),
}

impl Auth<'_> {
    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        // reqwest marks both headers sensitive and drops them on a redirect to another host.
        match self {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic(username, password) => {
                request.basic_auth(username, Some(password.expose()))
            }
        }
    }
}

/// What `docker login` wants for the registry: nothing for Docker Hub, the host otherwise.
fn login_host(registry: &str) -> String {
    if registry == DOCKER_HUB {
        String::new()
    } else {
        registry.to_string()
    }
}

fn credentials_needed(registry: &str) -> String {
    let login = match login_host(registry).as_str() {
        "" => "`docker login`".to_string(),
        host => format!("`docker login {host}`"),
    };
    let shown = if registry == DOCKER_HUB {
        "docker.io"
    } else {
        registry
    };
    let github = if registry == "ghcr.io" {
        ", or give Deploywatch a GitHub token that can read packages (GITHUB_TOKEN)"
    } else {
        ""
    };
    format!("could not check: credentials needed for {shown} — add them with {login}{github}")
}

/// `HTTP 200 OK, application/vnd.oci.image.index.v1+json, sha256:…`,
/// `HTTP 401 Unauthorized (WWW-Authenticate: Basic realm="…")`, with the registry's error
/// message when there is one.
fn answer_text(status: u16, headers: &HeaderMap, detail: Option<&str>) -> String {
    let mut parts = vec![format!("HTTP {}", status_text(status))];
    if status == 200 {
        parts.extend(fetch::header_text(headers, header::CONTENT_TYPE));
        parts.extend(fetch::header_text(headers, "docker-content-digest"));
    }
    let mut text = parts.join(", ");
    if status == 401
        && let Some(challenge) = fetch::header_text(headers, header::WWW_AUTHENTICATE)
    {
        text.push_str(&format!(" (WWW-Authenticate: {challenge})"));
    }
    if let Some(detail) = detail {
        text.push_str(&format!(": {detail}"));
    }
    text
}

/// The `errors` of a failed `GET`'s body, joined.
async fn error_detail(
    client: &Client,
    settings: &ProbeSettings,
    url: &Url,
    auth: &Auth<'_>,
) -> Option<String> {
    let (_, answer) = fetch::get(settings, url.as_str(), |u| {
        auth.apply(
            client
                .get(u.clone())
                .header(header::ACCEPT, ACCEPT_MANIFESTS),
        )
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

/// The scheme a `401` asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Bearer(BearerChallenge),
    Basic,
}

impl Challenge {
    /// Bearer wins when a registry offers both.
    fn from_headers(headers: &HeaderMap) -> Option<Challenge> {
        let values: Vec<&str> = headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Some(bearer) = values.iter().find_map(|v| parse_bearer(v)) {
            return Some(Challenge::Bearer(bearer));
        }
        values
            .iter()
            .any(|v| {
                v.trim_start()
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("basic"))
            })
            .then_some(Challenge::Basic)
    }
}

/// A `WWW-Authenticate: Bearer` challenge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BearerChallenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Parses `Bearer realm="…",service="…",scope="repository:a/b:pull"` (quoted or bare values,
/// backslash escapes, commas inside quotes). `None` for other schemes or without a realm.
pub(crate) fn parse_bearer(value: &str) -> Option<BearerChallenge> {
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
    Some(BearerChallenge {
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
    fn what_to_do_when_credentials_are_needed() {
        assert_eq!(
            credentials_needed(DOCKER_HUB),
            "could not check: credentials needed for docker.io — add them with `docker login`"
        );
        assert_eq!(
            credentials_needed("ghcr.io"),
            "could not check: credentials needed for ghcr.io — add them with `docker login \
             ghcr.io`, or give Deploywatch a GitHub token that can read packages (GITHUB_TOKEN)"
        );
        assert_eq!(
            credentials_needed("registry.example.com:5443"),
            "could not check: credentials needed for registry.example.com:5443 — add them with \
             `docker login registry.example.com:5443`"
        );
    }

    #[test]
    fn bearer_challenges() {
        let check = |header: &str, want: Option<(&str, Option<&str>, Option<&str>)>| {
            let got = parse_bearer(header);
            let want = want.map(|(realm, service, scope)| BearerChallenge {
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
