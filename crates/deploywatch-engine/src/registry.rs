//! Where the image check's registry credentials come from: Docker's (`config.json` in
//! `$DOCKER_CONFIG` or `~/.docker`, credential helpers on `$PATH`), and Deploywatch's GitHub
//! token for GitHub's container registry, ghcr.io.

use deploywatch_github::GitHub;
use deploywatch_probe::{RegistryAuth, Secret};

/// The API whose tokens ghcr.io accepts. An Enterprise server's token is not offered to it.
const GITHUB_COM_API: &str = "https://api.github.com";

/// Registry credentials for this process: Docker's from the environment, plus `github`'s token
/// for ghcr.io when it reads github.com. The token stays wrapped (`Debug` prints `***`).
pub fn registry_auth(github: &GitHub) -> RegistryAuth {
    let auth = RegistryAuth::from_env();
    let Some(token) = github.token() else {
        return auth;
    };
    if github.api_url() != GITHUB_COM_API {
        return auth;
    }
    let from_env = std::env::var("GITHUB_TOKEN").is_ok_and(|v| v.trim() == token.expose());
    let source = if from_env {
        "GITHUB_TOKEN"
    } else {
        "the keyring"
    };
    match Secret::new(token.expose()) {
        Some(secret) => auth.with_github_token(secret, source),
        None => auth,
    }
}
