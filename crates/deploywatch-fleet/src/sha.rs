//! Deterministic, real-looking identifiers: 40-hex commit SHAs, content hashes for asset
//! names and `sha256:` digests, all derived from SHA-256 so the same input always gives the
//! same value (tests and demos are reproducible, yet nothing looks like a placeholder).

use sha2::{Digest, Sha256};

/// Lowercase hex of the SHA-256 of `data` (64 characters).
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A commit SHA (40 lowercase hex characters) derived from `seed`. Different seeds give
/// different SHAs; the same seed always gives the same SHA.
pub fn fake_sha(seed: &str) -> String {
    let mut hex = sha256_hex(format!("deploywatch-fleet commit {seed}").as_bytes());
    hex.truncate(40);
    hex
}

/// The first 7 characters, as `git log --oneline` shows a SHA (the whole text if shorter).
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// An 8-hex content hash for an asset of build `sha`, as a bundler writes into file names
/// (`app.3f9a1c2b.js`): a new build gets new names.
pub(crate) fn asset_hash(sha: &str, file: &str) -> String {
    let mut hex = sha256_hex(format!("{file}@{sha}").as_bytes());
    hex.truncate(8);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_shas_are_40_hex_deterministic_and_distinct() {
        let a = fake_sha("acme/shop#1");
        assert_eq!(a.len(), 40);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(a, fake_sha("acme/shop#1"));
        assert_ne!(a, fake_sha("acme/shop#2"));
        assert_eq!(short_sha(&a), &a[..7]);
        assert_eq!(short_sha("abc"), "abc");
    }
}
