//! Turning global flags into a loaded config, an open store and an engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deploywatch_config::Config;
use deploywatch_engine::{Engine, EngineOptions};
use deploywatch_github::GitHub;
use deploywatch_store::Store;

use crate::Failure;

/// `--config` and `--db` as given.
pub struct Paths {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
}

impl Paths {
    pub fn config_path(&self) -> Result<PathBuf, Failure> {
        deploywatch_config::config_path(self.config.as_deref()).ok_or_else(|| {
            Failure::usage("no configuration directory on this system: pass --config FILE or set DEPLOYWATCH_CONFIG")
        })
    }

    pub fn db_path(&self) -> Result<PathBuf, Failure> {
        deploywatch_config::db_path(self.db.as_deref()).ok_or_else(|| {
            Failure::usage("no data directory on this system: pass --db FILE or set DEPLOYWATCH_DB")
        })
    }

    /// Whether the database location was chosen explicitly (then failing to open it is an
    /// error, not something to work around).
    pub fn db_explicit(&self) -> bool {
        self.db.is_some() || std::env::var_os("DEPLOYWATCH_DB").is_some()
    }

    pub fn load_config(&self) -> Result<Config, Failure> {
        let path = self.config_path()?;
        if !path.exists() {
            return Err(Failure::usage(format!(
                "no configuration at {}: create it (see `deploywatch --help` and the README), or try `deploywatch demo`",
                path.display()
            )));
        }
        Ok(deploywatch_config::load(&path)?)
    }

    pub fn open_store(&self) -> Result<Store, Failure> {
        let path = self.db_path()?;
        open_store_at(&path)
    }
}

pub fn open_store_at(path: &Path) -> Result<Store, Failure> {
    Store::open(path)
        .map_err(|e| Failure::usage(format!("cannot open the database {}: {e}", path.display())))
}

/// The GitHub client for a config, with the token from GITHUB_TOKEN or the OS keyring.
pub fn github_for(config: &Config) -> Result<GitHub, Failure> {
    let token =
        deploywatch_github::token_from_env_or_keyring(&config.github.api_url).map(|(t, _)| t);
    GitHub::new(&config.github.api_url, token)
        .map_err(|e| Failure::usage(format!("GitHub API URL {}: {e}", config.github.api_url)))
}

/// An engine for commands that can work without history (`verify`): an unopenable default
/// database is a warning, an unopenable explicit one an error.
pub fn engine(paths: &Paths, config: Config, store_required: bool) -> Result<Arc<Engine>, Failure> {
    let store = match paths.open_store() {
        Ok(s) => Some(s),
        Err(f) if store_required || paths.db_explicit() => return Err(f),
        Err(f) => {
            eprintln!(
                "deploywatch: warning: {}; continuing without history",
                f.message
            );
            None
        }
    };
    engine_with(config, store)
}

/// An engine for the config-free `verify --url`: history only in a database named
/// explicitly (`--db`, `DEPLOYWATCH_DB`), never in the user's own by default — a pipeline's
/// one-off check is not part of anyone's history.
pub fn engine_for_url(paths: &Paths, config: Config) -> Result<Arc<Engine>, Failure> {
    let store = if paths.db_explicit() {
        Some(paths.open_store()?)
    } else {
        None
    };
    engine_with(config, store)
}

fn engine_with(config: Config, store: Option<Store>) -> Result<Arc<Engine>, Failure> {
    let github = github_for(&config)?;
    Ok(Engine::new(EngineOptions {
        config,
        github,
        store,
    }))
}
