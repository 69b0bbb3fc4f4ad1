//! Where the configuration file and the database live: flag, then environment, then platform.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the configuration file (overridden by `--config`).
pub const CONFIG_ENV: &str = "DEPLOYWATCH_CONFIG";
/// Environment variable naming the SQLite database (overridden by `--db`).
pub const DB_ENV: &str = "DEPLOYWATCH_DB";

/// The configuration file: `cli` (`--config`) if given, else `$DEPLOYWATCH_CONFIG` if set and
/// non-empty, else `deploywatch/config.toml` in the platform config directory
/// (`~/.config` or `$XDG_CONFIG_HOME` on Linux, `~/Library/Application Support` on macOS,
/// `%APPDATA%` on Windows). `None` only when no home directory can be found.
pub fn config_path(cli: Option<&Path>) -> Option<PathBuf> {
    resolve(
        cli,
        std::env::var_os(CONFIG_ENV),
        dirs::config_dir(),
        "config.toml",
    )
}

/// The database: `cli` (`--db`) if given, else `$DEPLOYWATCH_DB` if set and non-empty, else
/// `deploywatch/deploywatch.db` in the platform data directory (`~/.local/share` or
/// `$XDG_DATA_HOME` on Linux). `None` only when no home directory can be found.
pub fn db_path(cli: Option<&Path>) -> Option<PathBuf> {
    resolve(
        cli,
        std::env::var_os(DB_ENV),
        dirs::data_dir(),
        "deploywatch.db",
    )
}

/// The precedence rule shared by both paths, without touching the process environment.
/// An empty variable counts as unset, as shells make `VAR=` easy to leave behind.
fn resolve(
    cli: Option<&Path>,
    env: Option<OsString>,
    platform_dir: Option<PathBuf>,
    file: &str,
) -> Option<PathBuf> {
    if let Some(p) = cli {
        return Some(p.to_path_buf());
    }
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    platform_dir.map(|d| d.join("deploywatch").join(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_then_environment_then_platform_dir() {
        let platform = || Some(PathBuf::from("/home/u/.config"));
        #[track_caller]
        fn check(got: Option<PathBuf>, expected: Option<&str>) {
            assert_eq!(got, expected.map(PathBuf::from));
        }
        let flag = Some(Path::new("flag.toml"));
        let env = || Some(OsString::from("/env/c.toml"));
        check(
            resolve(flag, env(), platform(), "config.toml"),
            Some("flag.toml"),
        );
        check(
            resolve(None, env(), platform(), "config.toml"),
            Some("/env/c.toml"),
        );
        check(
            resolve(None, None, platform(), "config.toml"),
            Some("/home/u/.config/deploywatch/config.toml"),
        );
        check(
            resolve(None, Some(OsString::new()), platform(), "deploywatch.db"),
            Some("/home/u/.config/deploywatch/deploywatch.db"),
        );
        check(resolve(flag, None, None, "config.toml"), Some("flag.toml"));
        check(
            resolve(None, env(), None, "config.toml"),
            Some("/env/c.toml"),
        );
        check(resolve(None, None, None, "config.toml"), None);
    }
}
