//! Candidates in a JSON body: every key at any depth, read by what its name says in its
//! context, breadth first (so the shallow keys are always searched, however large the body),
//! with a bound on the values visited.

use std::collections::VecDeque;

use serde_json::Value;

use super::keys::{self, KeyClass};
use super::rank::{Candidate, MAX_CANDIDATES, Origin};
use super::tokens::{self, Known, Rule};
use deploywatch_core::Pin;

use super::{Findings, describe, quote, visible};

/// At most this many JSON values are looked at; a body with more is searched in its first
/// (shallowest) values only.
pub(crate) const MAX_NODES: usize = 20_000;
/// Faults, notes and refusals kept for an error message.
const MAX_MESSAGES: usize = 4;

enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

struct Node<'a> {
    value: &'a Value,
    parent: usize,
    seg: Seg<'a>,
    /// The words its name is read by (for a `{"name": .., "value": ..}` pair's value: the
    /// pair's name).
    words: Vec<String>,
    /// The pair's name, shown in the source.
    pair_name: Option<&'a str>,
    depth: usize,
    /// Inherited: under another component or a "not this build" key, and which key.
    context: Option<(KeyClass, &'a str)>,
}

/// Searches a JSON document, adding candidates, faults and notes to `found`.
pub(crate) fn scan(root: &Value, known: &Known<'_>, found: &mut Findings) {
    let mut nodes: Vec<Node<'_>> = vec![Node {
        value: root,
        parent: usize::MAX,
        seg: Seg::Root,
        words: Vec::new(),
        pair_name: None,
        depth: 0,
        context: None,
    }];
    let mut queue = VecDeque::from([0usize]);
    // Containers whose name says commit: when nothing is found under one, that is a fault.
    let mut commit_containers: Vec<usize> = Vec::new();
    let mut found_pointers: Vec<String> = Vec::new();
    while let Some(i) = queue.pop_front() {
        let value = nodes[i].value;
        match value {
            Value::Object(map) => {
                if !matches!(nodes[i].seg, Seg::Root) && class_of(&nodes, i).0 == KeyClass::Commit {
                    commit_containers.push(i);
                }
                let pair = pair_name(map);
                for (k, v) in map {
                    if nodes.len() >= MAX_NODES {
                        found.cut_short = true;
                        break;
                    }
                    let (words, pair_name) = match pair {
                        Some((name, value_key)) if k == value_key => {
                            (keys::words(name), Some(name))
                        }
                        _ => (keys::words(k), None),
                    };
                    let child = child(&nodes, i, Seg::Key(k), v, words, pair_name);
                    nodes.push(child);
                    queue.push_back(nodes.len() - 1);
                }
            }
            Value::Array(items) => {
                if !matches!(nodes[i].seg, Seg::Root) && class_of(&nodes, i).0 == KeyClass::Commit {
                    commit_containers.push(i);
                }
                for (n, v) in items.iter().enumerate() {
                    if nodes.len() >= MAX_NODES {
                        found.cut_short = true;
                        break;
                    }
                    let child = child(&nodes, i, Seg::Index(n), v, Vec::new(), None);
                    nodes.push(child);
                    queue.push_back(nodes.len() - 1);
                }
            }
            _ if matches!(nodes[i].seg, Seg::Root) => {}
            _ => leaf(&nodes, i, known, found, &mut found_pointers),
        }
    }
    if found.cut_short {
        return;
    }
    let pointers: Vec<String> = commit_containers
        .iter()
        .map(|&i| pointer(&nodes, i))
        .collect();
    for (n, &i) in commit_containers.iter().enumerate() {
        let prefix = format!("{}/", pointers[n]);
        // Only the deepest of nested commit objects is reported (`git.commit.id`, not also
        // `git.commit`), and none that holds a SHA somewhere.
        let deeper = pointers.iter().any(|p| p.starts_with(&prefix));
        if deeper
            || found_pointers.iter().any(|p| p.starts_with(&prefix))
            || found.faults.len() >= MAX_MESSAGES
        {
            continue;
        }
        let what = format!("JSON field `{}`", field_name(&nodes, i));
        let is_id = nodes[i].words == ["id"];
        found.faults.push(match nodes[i].value {
            Value::Object(_) if is_id => {
                format!("{what} is an object without a `full` or `abbrev` string")
            }
            other => format!("{what} is {}, not a git SHA", describe(other)),
        });
    }
}

/// `{"Key": "vcs.revision", "Value": ".."}` (Go's build settings) and `{"name": "GIT_SHA",
/// "value": ".."}` (environment lists): the value is named by the pair's name. Returns the
/// name and the key holding the value.
fn pair_name(map: &serde_json::Map<String, Value>) -> Option<(&str, &str)> {
    if map.len() > 4 {
        return None;
    }
    let name = map.iter().find_map(|(k, v)| {
        (k.eq_ignore_ascii_case("key") || k.eq_ignore_ascii_case("name"))
            .then(|| v.as_str())
            .flatten()
    })?;
    let value_key = map.keys().find(|k| k.eq_ignore_ascii_case("value"))?;
    Some((name, value_key.as_str()))
}

fn child<'a>(
    nodes: &[Node<'a>],
    parent: usize,
    seg: Seg<'a>,
    value: &'a Value,
    words: Vec<String>,
    pair_name: Option<&'a str>,
) -> Node<'a> {
    let p = &nodes[parent];
    let depth = match p.seg {
        Seg::Root => 0,
        _ if p.value.is_array() => p.depth + 2,
        _ => p.depth + 1,
    };
    let name = match seg {
        Seg::Key(k) => pair_name.unwrap_or(k),
        _ => "",
    };
    let context = p
        .context
        .or_else(|| keys::context_of(&words).map(|c| (c, name)));
    Node {
        value,
        parent,
        seg,
        words,
        pair_name,
        depth,
        context,
    }
}

/// The class of a node's name in its context, its specificity, and whether its name says
/// commit or SHA outright.
fn class_of(nodes: &[Node<'_>], i: usize) -> (KeyClass, usize, bool) {
    let node = &nodes[i];
    let mut ancestors: Vec<&[String]> = Vec::new();
    let mut p = node.parent;
    while p != usize::MAX && ancestors.len() < 4 {
        if !nodes[p].words.is_empty() {
            ancestors.push(&nodes[p].words);
        }
        p = nodes[p].parent;
    }
    let (own, specificity) = keys::classify(&node.words, &ancestors);
    let class = match node.context {
        _ if own == KeyClass::NotThisBuild => own,
        Some((c, _)) => c,
        None => own,
    };
    let mut said: Vec<&String> = node.words.iter().collect();
    if keys::is_generic(&node.words) {
        said.extend(ancestors.iter().flat_map(|a| a.iter()));
    }
    let outright = said.iter().any(|w| *w == "commit" || *w == "sha");
    (class, specificity, outright)
}

fn leaf(
    nodes: &[Node<'_>],
    i: usize,
    known: &Known<'_>,
    found: &mut Findings,
    found_pointers: &mut Vec<String>,
) {
    let node = &nodes[i];
    let (class, specificity, outright) = class_of(nodes, i);
    let candidate = |sha, known: bool| {
        let pointer = pointer(nodes, i);
        let mut source = format!("JSON {}", visible(&pointer));
        if pointer == "/git/commit/id" || pointer.starts_with("/git/commit/id/") {
            source = "JSON /git/commit/id (Spring Boot)".to_string();
        } else if let Some(name) = node.pair_name {
            source += &format!(" ({})", name.chars().take(60).collect::<String>());
        }
        Candidate {
            sha,
            class,
            known,
            origin: Origin::Body,
            depth: node.depth,
            specificity,
            source,
            pin: Some(Pin::Pointer(pointer.clone())),
            guess: false,
        }
    };
    let what = || format!("JSON field `{}`", field_name(nodes, i));
    let Value::String(text) = node.value else {
        match class {
            KeyClass::Commit if found.faults.len() < MAX_MESSAGES => found.faults.push(format!(
                "{} is {}, not a git SHA",
                what(),
                describe(node.value)
            )),
            KeyClass::Version if found.notes.len() < MAX_MESSAGES => found.notes.push(format!(
                "{} is {}, not a version",
                what(),
                describe(node.value)
            )),
            _ => {}
        }
        return;
    };
    if found.candidates.len() >= MAX_CANDIDATES {
        return;
    }
    // A known commit counts wherever it is — except inside prose under a name that does not
    // say commit or version (`"message": "deploying b7c1e2f"`): a mention, not the build.
    let mention = !matches!(class, KeyClass::Commit | KeyClass::Version) && super::is_prose(text);
    if class != KeyClass::NotThisBuild
        && !mention
        && let Some(sha) = tokens::find_known(text, known)
    {
        found_pointers.push(pointer(nodes, i));
        found.candidates.push(candidate(sha, true));
        return;
    }
    let rule = match class {
        KeyClass::Commit => Some(Rule::Commit { digits: outright }),
        KeyClass::Version => Some(Rule::Version),
        KeyClass::Weak => Some(Rule::Weak),
        _ => None,
    };
    // An id written as 32 hex digits is a UUID without its dashes, not a commit.
    let id_shaped = class != KeyClass::Commit
        && node.words.iter().any(|w| w == "id")
        && tokens::is_uuid_shaped(text);
    match rule.filter(|_| !id_shaped) {
        Some(rule) => match tokens::find(text, rule) {
            Some(sha) => {
                found_pointers.push(pointer(nodes, i));
                found.candidates.push(candidate(sha, false));
            }
            None if class == KeyClass::Commit && found.faults.len() < MAX_MESSAGES => {
                found
                    .faults
                    .push(format!("{} is {}, not a git SHA", what(), quote(text)));
            }
            None if class == KeyClass::Version && found.notes.len() < MAX_MESSAGES => {
                found.notes.push(format!(
                    "{} is {}, which contains no git SHA",
                    what(),
                    quote(text)
                ));
            }
            None => {}
        },
        None => {
            if found.refusals.len() >= MAX_MESSAGES
                || tokens::find(text, Rule::Configured).is_none()
            {
                return;
            }
            let (own, _) = keys::classify(&node.words, &[]);
            let why = match (class, node.context) {
                (KeyClass::Foreign, Some((_, under)))
                    if matches!(own, KeyClass::Commit | KeyClass::Version) =>
                {
                    format!(
                        "another component's (under `{}`)",
                        under.chars().take(40).collect::<String>()
                    )
                }
                (KeyClass::Foreign, _) => "another component's".to_string(),
                (KeyClass::NotThisBuild, _) => "not the running build's".to_string(),
                (KeyClass::Lookalike, _) => "an id or a content hash, not".to_string(),
                _ if id_shaped => "a UUID, not".to_string(),
                _ => return,
            };
            found.refusals.push(format!("{} is {why} commit", what()));
        }
    }
}

/// The RFC 6901 pointer of a node: `~` is written `~0` and `/` is written `~1`.
fn pointer(nodes: &[Node<'_>], i: usize) -> String {
    let mut segs = Vec::new();
    let mut n = i;
    while n != usize::MAX {
        match nodes[n].seg {
            Seg::Root => {}
            Seg::Key(k) => segs.push(k.replace('~', "~0").replace('/', "~1")),
            Seg::Index(x) => segs.push(x.to_string()),
        }
        n = nodes[n].parent;
    }
    segs.reverse();
    segs.iter().map(|s| format!("/{s}")).collect()
}

/// `data.revision`, `Components.0.Details.GitCommit`: a field as people name it.
fn field_name(nodes: &[Node<'_>], i: usize) -> String {
    let mut segs = Vec::new();
    let mut n = i;
    while n != usize::MAX {
        match nodes[n].seg {
            Seg::Root => {}
            Seg::Key(k) => segs.push(visible(&k.chars().take(60).collect::<String>())),
            Seg::Index(x) => segs.push(x.to_string()),
        }
        n = nodes[n].parent;
    }
    segs.reverse();
    segs.join(".")
}
