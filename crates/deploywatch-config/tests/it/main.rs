//! Integration tests of deploywatch-config: parsing, errors, round-trips, files and paths.

mod errors;
mod files;
mod paths;
mod values;

use std::path::Path;

use deploywatch_config::{Config, ConfigError, parse};

/// Parses `text` as if it came from `config.toml`.
fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(text, Path::new("config.toml"))
}

/// A valid configuration with one project and two environments; `staging` is last, so lines
/// appended to it land in `[[project.environment]]` number 1, starting at line 15.
const BASE: &str = r#"[defaults]
grace = "10m"

[[project]]
name = "shop"
repo = "acme/shop"

[[project.environment]]
name = "production"
build_info_url = "https://shop.example.com/api/build-info"

[[project.environment]]
name = "staging"
build_info_url = "https://staging.shop.example.com/api/build-info"
"#;

/// `BASE` with `lines` appended to the `staging` environment (first new line is line 15).
fn in_env(lines: &str) -> String {
    format!("{BASE}{lines}\n")
}

/// `BASE` with `lines` added to the `shop` project after its `repo` (first new line is line 7).
fn in_project(lines: &str) -> String {
    BASE.replacen(
        "repo = \"acme/shop\"\n",
        &format!("repo = \"acme/shop\"\n{lines}\n"),
        1,
    )
}

/// `BASE` with `lines` added to `[defaults]` (first new line is line 2).
fn in_defaults(lines: &str) -> String {
    BASE.replacen("[defaults]\n", &format!("[defaults]\n{lines}\n"), 1)
}
