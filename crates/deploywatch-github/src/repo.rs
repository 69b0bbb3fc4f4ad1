//! Repository names and the URLs built from the configured API base (api.github.com, GitHub
//! Enterprise Server's `https://HOST/api/v3`, or a test server).

use std::fmt;

use url::Url;

use crate::GitHubError;

/// A GitHub repository, `owner/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> RepoRef {
        RepoRef {
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// Parses `owner/name` as written in the configuration. Returns `None` unless both parts
    /// are non-empty and use only the characters GitHub allows in them (letters, digits, `-`,
    /// `_`, `.`).
    pub fn parse(text: &str) -> Option<RepoRef> {
        let (owner, name) = text.trim().split_once('/')?;
        let ok = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        (ok(owner) && ok(name)).then(|| RepoRef::new(owner, name))
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The API base URL, from which every request URL is built as an absolute URL.
///
/// Why absolute: octocrab's base-URI layer joins a relative path to the base path only when the
/// path does not already *start with* the base path as a string, so a base such as
/// `https://HOST/re` would swallow `/repos/…`. Handing octocrab a complete URL on the base's
/// own host sidesteps that join (and octocrab still attaches the token, because the host is
/// the base URI's host).
#[derive(Clone, Debug)]
pub(crate) struct ApiBase {
    base: Url,
}

impl ApiBase {
    pub(crate) fn parse(api_url: &str) -> Result<ApiBase, GitHubError> {
        let base = Url::parse(api_url.trim())
            .map_err(|e| GitHubError::Setup(format!("API URL {api_url:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(GitHubError::Setup(format!(
                "API URL {api_url:?} must be an http(s) URL with a host"
            )));
        }
        Ok(ApiBase { base })
    }

    /// The base as given, without a trailing slash (what octocrab's `base_uri` receives).
    pub(crate) fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `base/segment/segment…?query`, each segment percent-encoded on its own so a branch
    /// named `feature/x#1` stays one path (its `/` kept, its `#` encoded).
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            // `parse` guarantees a host, so the URL can be a base and this branch is taken.
            path.pop_if_empty();
            for segment in segments {
                path.extend(segment.split('/'));
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `…/repos/{owner}/{name}/rest…`
    pub(crate) fn repo_url(&self, repo: &RepoRef, rest: &[&str], query: &[(&str, &str)]) -> Url {
        let mut segments = vec!["repos", repo.owner.as_str(), repo.name.as_str()];
        segments.extend_from_slice(rest);
        self.url(&segments, query)
    }

    /// The key the keyring entry is stored under: the API host (with its port when one is
    /// given), so github.com and each Enterprise server keep their own token.
    pub(crate) fn keyring_user(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

/// The web (non-API) URL of the GitHub an API URL belongs to, where the device-flow endpoints
/// and the HTML pages live: `https://api.github.com` → `https://github.com`,
/// `https://HOST/api/v3` → `https://HOST`, anything else (a test server) → its own origin.
/// A string that is not a URL comes back with trailing slashes removed.
pub fn web_url_for(api_url: &str) -> String {
    let trimmed = api_url.trim().trim_end_matches('/');
    let Ok(url) = Url::parse(trimmed) else {
        return trimmed.to_owned();
    };
    if url.host_str() == Some("api.github.com") {
        return "https://github.com".to_owned();
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    match path.strip_suffix("/api/v3") {
        // An Enterprise server mounted under a path prefix keeps the prefix.
        Some(prefix) => format!("{origin}{prefix}"),
        None => origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls() {
        let check = |api: &str, web: &str| assert_eq!(web_url_for(api), web, "{api}");
        check("https://api.github.com", "https://github.com");
        check("https://api.github.com/", "https://github.com");
        check("https://ghe.example.com/api/v3", "https://ghe.example.com");
        check("https://ghe.example.com/api/v3/", "https://ghe.example.com");
        check(
            "https://ghe.example.com:8443/api/v3",
            "https://ghe.example.com:8443",
        );
        check("https://example.com/git/api/v3", "https://example.com/git");
        check("http://127.0.0.1:4321", "http://127.0.0.1:4321");
        check("http://127.0.0.1:4321/", "http://127.0.0.1:4321");
        check("not a url/", "not a url");
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_segments() {
        let repo = RepoRef::new("acme", "shop");
        let check = |base: &str, rest: &[&str], query: &[(&str, &str)], want: &str| {
            let base = ApiBase::parse(base).expect("valid base");
            assert_eq!(base.repo_url(&repo, rest, query).as_str(), want);
        };
        check(
            "https://api.github.com",
            &["branches", "main"],
            &[],
            "https://api.github.com/repos/acme/shop/branches/main",
        );
        check(
            "https://ghe.example.com/api/v3/",
            &["branches", "feature/x#1"],
            &[],
            "https://ghe.example.com/api/v3/repos/acme/shop/branches/feature/x%231",
        );
        // A base path that is a string prefix of `/repos` is where octocrab's own join fails.
        check(
            "http://127.0.0.1:9/re",
            &["actions", "runs"],
            &[("head_sha", "abc1234"), ("per_page", "100")],
            "http://127.0.0.1:9/re/repos/acme/shop/actions/runs?head_sha=abc1234&per_page=100",
        );
    }

    #[test]
    fn bad_api_urls_are_setup_errors() {
        for bad in ["", "api.github.com", "ftp://x.example", "mailto:a@b.c"] {
            assert!(
                matches!(ApiBase::parse(bad), Err(GitHubError::Setup(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn repo_names() {
        let check = |text: &str, want: Option<(&str, &str)>| {
            assert_eq!(
                RepoRef::parse(text),
                want.map(|(o, n)| RepoRef::new(o, n)),
                "{text:?}"
            );
        };
        check("acme/shop", Some(("acme", "shop")));
        check(" acme/shop.js ", Some(("acme", "shop.js")));
        check("acme", None);
        check("acme/", None);
        check("/shop", None);
        check("acme/shop/x", None);
        check("acme/../x", None);
        check("acme/..", None);
        check("a cme/shop", None);
    }

    #[test]
    fn keyring_user_is_the_api_host() {
        let check = |api: &str, want: &str| {
            assert_eq!(ApiBase::parse(api).expect("valid").keyring_user(), want);
        };
        check("https://api.github.com", "api.github.com");
        check("https://ghe.example.com/api/v3", "ghe.example.com");
        check("http://127.0.0.1:4321", "127.0.0.1:4321");
    }
}
