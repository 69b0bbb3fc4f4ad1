//! File contents as GitHub's contents API shows them: the git blob SHA and the base64 text.
//! The tests below pin the SHAs to what `git hash-object` prints.

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The git blob SHA of `bytes`: SHA-1 of `blob {len}\0` followed by the bytes, as
/// `git hash-object` computes it and GitHub reports it as a file's `sha`.
pub(crate) fn git_blob_sha(bytes: &[u8]) -> String {
    let mut object = format!("blob {}\0", bytes.len()).into_bytes();
    object.extend_from_slice(bytes);
    sha1(&object)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `bytes` in base64, wrapped as GitHub wraps a file's `content`: a `\n` after every 60
/// characters and after the last line. Empty for no bytes.
pub(crate) fn wrapped_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for line in encoded.as_bytes().chunks(60) {
        // Base64 is ASCII, so every chunk is a whole string.
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
        wrapped.push('\n');
    }
    wrapped
}

/// SHA-1 of `message`.
fn sha1(message: &[u8]) -> [u8; 20] {
    Sha1::digest(message).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_shas_are_gits() {
        // `printf '%s' "$text" | git hash-object --stdin`
        let check =
            |text: &str, sha: &str| assert_eq!(git_blob_sha(text.as_bytes()), sha, "{text:?}");
        check("", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        check("hello world\n", "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
        check(
            "what is up, doc?",
            "bd9dbf5aae1a3862dd1526723246b20206e5fc37",
        );
        check(
            "name = \"shop\"\n# Ünïcode ✓\n",
            "2e74a84012626d0dfb5d70c27d7777b4bb49de78",
        );
        // Longer than one 64-byte block, and past the padding boundary.
        check(&"a".repeat(55), "d1985ddc2983785702b9a90effd5aff2f7cfdca4");
    }

    #[test]
    fn sha1_known_answers() {
        let hex =
            |bytes: &[u8]| -> String { sha1(bytes).iter().map(|b| format!("{b:02x}")).collect() };
        assert_eq!(hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&vec![b'a'; 1_000_000]),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn base64_is_wrapped_every_sixty_characters() {
        assert_eq!(wrapped_base64(b""), "");
        assert_eq!(wrapped_base64(b"hi"), "aGk=\n");
        let text = wrapped_base64(&[0u8; 100]);
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(
            lines.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [60, 60, 16]
        );
        assert!(text.ends_with("==\n"));
    }
}
