//! The one error type of this crate: where in which file, which key, and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// What kind of failure a [`ConfigError`] is, for callers that branch (the desktop app offers
/// the demo fleet on [`ErrorKind::NotFound`]; the CLI exits 2 on all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file does not exist.
    NotFound,
    /// The file exists but cannot be read or written (permissions, not UTF-8, disk full...).
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// Valid TOML, but a key is unknown, missing, of the wrong type or has a bad value.
    Invalid,
}

/// A configuration problem, rendered as `FILE:LINE:COLUMN: KEY: MESSAGE`, e.g.
///
/// ```text
/// config.toml:12:1: project[0].environment[1].grace: invalid duration "ten minutes": expected e.g. 500ms, 10s, 5m, 1h (project "shop", environment "staging")
/// ```
///
/// Parts that are unknown are left out: I/O errors have no line, syntax errors no key.
///
/// The struct is kept small (under clippy's `result_large_err` threshold, also when wrapped in
/// a caller's error enum), which is why the project and environment names are part of
/// `message` rather than a field of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as given by the caller.
    pub path: PathBuf,
    /// 1-based line of the offending key (or of the table header when a key is missing).
    pub line: Option<usize>,
    /// 1-based column, counted in characters.
    pub column: Option<usize>,
    /// Dotted path of the key using the TOML names, with array indices:
    /// `project[0].environment[1].grace`.
    pub key: Option<String>,
    pub kind: ErrorKind,
    /// What is wrong and, where possible, how to fix it; ends with the project and environment
    /// names in parentheses when the key belongs to one.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}
