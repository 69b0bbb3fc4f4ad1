//! What a name (a JSON key, a header, a meta tag, a Prometheus label) says about the value
//! under it: "this build's commit", a version that may carry one, another component's commit,
//! an id that only looks like a SHA, or nothing.
//!
//! Names are compared as words: `gitCommit`, `GitCommit`, `git_commit`, `git-commit`,
//! `GIT.COMMIT` and `gitcommit` are all `[git, commit]`. Words are then read the way a person
//! reads the name, so relatives nobody listed (`X-Build-Commit`, `source_revision`,
//! `vcs.revision`, `BuildHash`) are understood without a list of cases.

/// What a name says about its value, most useful first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KeyClass {
    /// Names this build's commit: `git_sha`, `revision`, `GitCommit`, `build_hash`,
    /// `commit.id`, `X-Git-Sha`.
    Commit,
    /// A version, release or `git describe` that may carry a SHA: `version`, `release`,
    /// `git_version`, `X-App-Version`, `<meta name="generator">`.
    Version,
    /// A build-ish name without "commit" in it (`build`, `buildId`, `image`, `source`): a hex
    /// value here is a guess.
    Weak,
    /// Says nothing about commits (`status`, `uptime`, `name`).
    Neutral,
    /// Looks like a SHA but is an id, a hash of content or a secret: `session_id`, `trace_id`,
    /// `request_id`, `uuid`, `checksum`, `digest`, `hash`, `nonce`, `token`, `etag`.
    Lookalike,
    /// Another component's commit or version: `HelmVersion`, `go_version`, anything under
    /// `containerd`, `dependencies`, `Components`.
    Foreign,
    /// A commit that is explicitly not the running one: `previous_sha`, `targetRevision`,
    /// `latest_commit`, `parent`, `base`, a git tree.
    NotThisBuild,
}

/// Words that name a commit by themselves.
const COMMIT_WORDS: &[&str] = &["commit", "sha", "revision", "rev"];
/// Words that make `hash` mean a commit (`build_hash`, `git_hash`, `source_hash`).
const HASH_QUALIFIERS: &[&str] = &[
    "git", "vcs", "scm", "source", "src", "build", "commit", "code", "app", "release", "rev",
    "repo", "head",
];
/// Words that name a version or a release.
const VERSION_WORDS: &[&str] = &["version", "ver", "vsn", "release", "describe", "generator"];
/// Build-ish words: a hex value under them is a guess.
const WEAK_WORDS: &[&str] = &[
    "build",
    "image",
    "deploy",
    "deployment",
    "deployed",
    "artifact",
    "source",
    "src",
    "git",
    "vcs",
    "scm",
    "head",
    "ref",
    "tag",
    "code",
    "sha1",
];
/// Keys that carry no meaning of their own but take it from their parent: `commit.id`,
/// `git.commit.id.full`, `commit.hash`.
const GENERIC_WORDS: &[&str] = &[
    "id",
    "full",
    "long",
    "short",
    "abbrev",
    "abbreviated",
    "hash",
    "hex",
    "value",
    "number",
];
/// Words of ids, content hashes and secrets.
const LOOKALIKE_WORDS: &[&str] = &[
    "uuid",
    "guid",
    "uid",
    "session",
    "sid",
    "request",
    "req",
    "trace",
    "traceparent",
    "tracestate",
    "span",
    "correlation",
    "nonce",
    "token",
    "key",
    "secret",
    "csrf",
    "xsrf",
    "salt",
    "signature",
    "sig",
    "etag",
    "checksum",
    "digest",
    "integrity",
    "fingerprint",
    "md5",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "crc",
    "crc32",
    "content",
    "file",
    "asset",
    "chunk",
    "cache",
    "config",
    "schema",
    "user",
    "account",
    "tenant",
    "cluster",
    "instance",
    "installation",
    "install",
    "device",
    "machine",
    "host",
    "hostname",
    "transaction",
    "tx",
    "order",
    "verification",
    "verify",
    "password",
    "auth",
    "cookie",
    "varnish",
    "amzn",
    "cf",
    "ray",
    "b3",
];
/// Words that describe an attribute of a commit rather than the commit itself.
const ATTRIBUTE_WORDS: &[&str] = &[
    "time",
    "date",
    "timestamp",
    "at",
    "author",
    "committer",
    "message",
    "msg",
    "subject",
    "count",
    "total",
    "size",
    "length",
    "email",
    "name",
    "branch",
    "state",
    "status",
    "dirty",
    "ago",
    "by",
    "user",
];
/// Words that say "not the running build's commit".
const NOT_THIS_BUILD_WORDS: &[&str] = &[
    "previous",
    "prev",
    "parent",
    "parents",
    "base",
    "target",
    "desired",
    "expected",
    "latest",
    "next",
    "pending",
    "requested",
    "wanted",
    "available",
    "upstream",
    "remote",
    "tree",
    "blob",
    "merge",
    "old",
];
/// Names of other software whose commits and versions real answers list beside their own
/// (Docker lists containerd's and runc's, Argo CD Helm's and Kustomize's).
const COMPONENT_WORDS: &[&str] = &[
    "containerd",
    "runc",
    "init",
    "tini",
    "helm",
    "kustomize",
    "kubectl",
    "jsonnet",
    "go",
    "golang",
    "rustc",
    "cargo",
    "npm",
    "nodejs",
    "python",
    "java",
    "jvm",
    "jdk",
    "ruby",
    "rails",
    "openssl",
    "boringssl",
    "ssl",
    "libc",
    "glibc",
    "kernel",
    "os",
    "lucene",
    "compiler",
    "client",
    "sdk",
    "toolchain",
];
/// Container words: what is under them describes something else.
const CONTAINER_WORDS: &[&str] = &[
    "dependencies",
    "dependency",
    "deps",
    "dep",
    "components",
    "component",
    "modules",
    "module",
    "plugins",
    "plugin",
    "packages",
    "package",
    "libraries",
    "library",
    "libs",
    "vendor",
    "vendored",
    "submodules",
    "submodule",
    "extensions",
    "addons",
    "drivers",
    "tools",
    "bundled",
];
/// Qualifiers that make a version someone else's: an API version, a wire protocol, the
/// minimum compatible version.
const VERSION_FOREIGN_WORDS: &[&str] = &[
    "api",
    "protocol",
    "schema",
    "wire",
    "index",
    "min",
    "minimum",
    "max",
    "compat",
    "compatibility",
    "spec",
    "format",
    "platform",
    "hot",
    "restart",
    "major",
    "minor",
    "patch",
];

/// The vocabulary compound lowercase names are split into (`gitcommit` → `git commit`).
const VOCABULARY: &[&str] = &[
    "git",
    "commit",
    "sha",
    "hash",
    "rev",
    "revision",
    "build",
    "built",
    "source",
    "src",
    "vcs",
    "scm",
    "id",
    "version",
    "ver",
    "release",
    "app",
    "application",
    "service",
    "server",
    "short",
    "full",
    "long",
    "abbrev",
    "head",
    "ref",
    "tag",
    "session",
    "request",
    "req",
    "trace",
    "traceparent",
    "tracestate",
    "span",
    "nonce",
    "token",
    "key",
    "uuid",
    "guid",
    "digest",
    "checksum",
    "image",
    "deploy",
    "deployed",
    "current",
    "running",
    "code",
    "repo",
    "tree",
    "parent",
    "base",
    "target",
    "latest",
    "previous",
    "prev",
    "next",
    "upstream",
    "desired",
    "expected",
    "date",
    "time",
    "user",
    "go",
    "helm",
    "kernel",
    "api",
    "info",
    "number",
    "name",
    "content",
    "file",
    "asset",
    "cache",
];

/// The words of a name, lowercased: split at anything that is not a letter or digit, at
/// camelCase humps (`gitCommit`, `HTTPServer` → `http server`), and compound lowercase words
/// made only of known words (`gitcommit` → `git commit`). A leading `x` of a header
/// (`X-Git-Sha`) is dropped. At most 16 words are kept.
pub(crate) fn words(name: &str) -> Vec<String> {
    const MAX_WORDS: usize = 16;
    let mut out: Vec<String> = Vec::new();
    for part in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        for hump in humps(part) {
            let lower = hump.to_ascii_lowercase();
            match segment(&lower) {
                Some(pieces) => out.extend(pieces.into_iter().map(str::to_string)),
                None => out.push(lower),
            }
            if out.len() >= MAX_WORDS {
                out.truncate(MAX_WORDS);
                return out;
            }
        }
    }
    if out.len() > 1 && out[0] == "x" {
        out.remove(0);
    }
    out
}

/// Splits `gitCommitSHA` into `git`, `Commit`, `SHA`; digits stay with the letters before
/// them (`sha256`, `v3`).
fn humps(part: &str) -> Vec<&str> {
    let bytes = part.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..bytes.len() {
        let (prev, cur) = (bytes[i - 1], bytes[i]);
        let next_lower = bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        let boundary = (prev.is_ascii_lowercase() && cur.is_ascii_uppercase())
            || (prev.is_ascii_digit() && cur.is_ascii_alphabetic())
            || (prev.is_ascii_uppercase() && cur.is_ascii_uppercase() && next_lower);
        if boundary {
            out.push(&part[start..i]);
            start = i;
        }
    }
    out.push(&part[start..]);
    out
}

/// Splits a lowercase word entirely into vocabulary words, preferring fewer, longer pieces;
/// `None` when it cannot be (then the word stays whole) or is a vocabulary word already.
fn segment(word: &str) -> Option<Vec<&'static str>> {
    if word.len() > 24 || VOCABULARY.contains(&word) {
        return None;
    }
    // best[i]: the fewest pieces covering word[..i].
    let n = word.len();
    let mut best: Vec<Option<Vec<&'static str>>> = vec![None; n + 1];
    best[0] = Some(Vec::new());
    for i in 0..n {
        let Some(prefix) = best[i].clone() else {
            continue;
        };
        for v in VOCABULARY {
            if word[i..].starts_with(v) {
                let j = i + v.len();
                let mut candidate = prefix.clone();
                candidate.push(v);
                if best[j].as_ref().is_none_or(|b| candidate.len() < b.len()) {
                    best[j] = Some(candidate);
                }
            }
        }
    }
    best[n].take().filter(|pieces| pieces.len() > 1)
}

fn any(words: &[String], set: &[&str]) -> bool {
    words.iter().any(|w| set.contains(&w.as_str()))
}

/// What the words of one name say, before its ancestors are considered.
fn own_class(w: &[String]) -> KeyClass {
    if w.is_empty() {
        return KeyClass::Neutral;
    }
    if any(w, NOT_THIS_BUILD_WORDS) {
        return KeyClass::NotThisBuild;
    }
    if any(w, COMPONENT_WORDS) {
        return KeyClass::Foreign;
    }
    let names_commit =
        any(w, COMMIT_WORDS) || (w.iter().any(|x| x == "hash") && any(w, HASH_QUALIFIERS));
    let bare_hash = w.iter().any(|x| x == "hash") && !names_commit;
    if any(w, LOOKALIKE_WORDS) || bare_hash {
        return KeyClass::Lookalike;
    }
    if any(w, ATTRIBUTE_WORDS) {
        // `commit_time`, `commit_message`, `commit_count`: about a commit, not one.
        return KeyClass::Neutral;
    }
    if names_commit {
        return KeyClass::Commit;
    }
    if any(w, VERSION_WORDS) {
        if any(w, VERSION_FOREIGN_WORDS) {
            return KeyClass::Foreign;
        }
        return KeyClass::Version;
    }
    if any(w, WEAK_WORDS) {
        return KeyClass::Weak;
    }
    KeyClass::Neutral
}

/// True when every word of the name only takes meaning from its parent (`id`, `full`).
pub(crate) fn is_generic(w: &[String]) -> bool {
    !w.is_empty() && w.iter().all(|x| GENERIC_WORDS.contains(&x.as_str()))
}

/// True when a name puts what is under it in another component's hands (`containerd`,
/// `dependencies`, `Components`) or says it is not this build (`previous`, `target`).
pub(crate) fn context_of(w: &[String]) -> Option<KeyClass> {
    if any(w, NOT_THIS_BUILD_WORDS) {
        Some(KeyClass::NotThisBuild)
    } else if any(w, COMPONENT_WORDS) || any(w, CONTAINER_WORDS) {
        Some(KeyClass::Foreign)
    } else {
        None
    }
}

/// What a response header's name says about its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderClass {
    pub class: KeyClass,
    pub specificity: usize,
    /// The name says `commit` or `sha` outright, so an all-digit value may still be a SHA.
    pub outright: bool,
}

/// [`classify`] of a header name, remembered: the answers of a fleet repeat the same few
/// names (`server`, `date`, `etag`, …) thousands of times a round, and splitting a name into
/// words is most of the cost of reading a small answer. At most [`HEADER_NAMES_KEPT`] names
/// are remembered (a hostile server inventing names empties the memory, nothing more).
pub(crate) fn header_class(name: &str) -> HeaderClass {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<String, HeaderClass>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(c) = seen.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
        return *c;
    }
    let words = words(name);
    let (class, specificity) = classify(&words, &[]);
    let c = HeaderClass {
        class,
        specificity,
        outright: words.iter().any(|w| w == "commit" || w == "sha"),
    };
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.len() >= HEADER_NAMES_KEPT {
        seen.clear();
    }
    seen.insert(name.to_string(), c);
    c
}

/// How many header names [`header_class`] remembers.
const HEADER_NAMES_KEPT: usize = 1024;

/// The class of a name and how specific it is (how many of its words say something about a
/// commit or a build), given the words of its nearest ancestors (nearest first) for names
/// that are generic (`commit.id`, `git.commit.id.full`).
pub(crate) fn classify(own: &[String], ancestors: &[&[String]]) -> (KeyClass, usize) {
    let mut effective: Vec<String> = own.to_vec();
    if is_generic(own) {
        for parent in ancestors {
            effective.extend(parent.iter().cloned());
            if !is_generic(parent) {
                break;
            }
        }
    }
    let class = own_class(&effective);
    let specificity = effective
        .iter()
        .filter(|w| {
            COMMIT_WORDS.contains(&w.as_str())
                || HASH_QUALIFIERS.contains(&w.as_str())
                || VERSION_WORDS.contains(&w.as_str())
                || GENERIC_WORDS.contains(&w.as_str())
        })
        .count();
    (class, specificity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(name: &str) -> String {
        words(name).join(" ")
    }

    fn class(name: &str) -> KeyClass {
        classify(&words(name), &[]).0
    }

    #[test]
    fn names_become_words() {
        for (name, want) in [
            ("gitCommit", "git commit"),
            ("GitCommit", "git commit"),
            ("git_commit", "git commit"),
            ("GIT-COMMIT", "git commit"),
            ("gitcommit", "git commit"),
            ("commitSHA", "commit sha"),
            ("BuildHash", "build hash"),
            ("vcs.revision", "vcs revision"),
            ("X-Git-Sha", "git sha"),
            ("HTTPServerVersion", "http server version"),
            ("sha256", "sha256"),
            ("etcdserver", "etcdserver"),
            ("x", "x"),
            ("", ""),
        ] {
            assert_eq!(w(name), want, "{name}");
        }
    }

    #[test]
    fn names_are_read_as_people_read_them() {
        use KeyClass::*;
        for (name, want) in [
            ("git_sha", Commit),
            ("sha", Commit),
            ("revision", Commit),
            ("GitCommit", Commit),
            ("build_hash", Commit),
            ("commitHash", Commit),
            ("X-Build-Commit", Commit),
            ("vcs.revision", Commit),
            ("version", Version),
            ("git_version", Version),
            ("X-App-Version", Version),
            ("release", Version),
            ("build", Weak),
            ("buildId", Weak),
            ("status", Neutral),
            ("id", Neutral),
            ("commit_time", Neutral),
            ("hash", Lookalike),
            ("session_id", Lookalike),
            ("traceparent", Lookalike),
            ("X-Request-Id", Lookalike),
            ("content_hash", Lookalike),
            ("checksum", Lookalike),
            ("cluster_uuid", Lookalike),
            ("HelmVersion", Foreign),
            ("goVersion", Foreign),
            ("ApiVersion", Foreign),
            ("minimum_wire_compatibility_version", Foreign),
            ("previous_sha", NotThisBuild),
            ("targetRevision", NotThisBuild),
            ("GitTreeState", NotThisBuild),
        ] {
            assert_eq!(class(name), want, "{name}");
        }
    }

    #[test]
    fn generic_names_take_their_parents_meaning() {
        let commit = words("commit");
        let id = words("id");
        assert_eq!(classify(&id, &[&commit]).0, KeyClass::Commit);
        assert_eq!(
            classify(&words("full"), &[&id, &commit]).0,
            KeyClass::Commit
        );
        assert_eq!(classify(&id, &[&words("session")]).0, KeyClass::Lookalike);
        assert_eq!(classify(&id, &[&words("data")]).0, KeyClass::Neutral);
        assert_eq!(
            classify(&words("full"), &[&words("message")]).0,
            KeyClass::Neutral
        );
    }
}
