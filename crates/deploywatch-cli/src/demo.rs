//! `deploywatch demo`: a simulated GitHub and fleet of environments on loopback, a config
//! written for them, and the watcher running against it — a new user sees phantom deploys,
//! stale frontends and the rest detected within a minute, with nothing to set up.

use std::time::Duration;

use deploywatch_engine::Notifier;
use deploywatch_fleet::Fleet;

use crate::Failure;
use crate::setup::{self, Paths};

pub async fn run(paths: &Paths, speed: f64, limit: Option<Duration>) -> Result<u8, Failure> {
    if !(speed > 0.0 && speed.is_finite()) {
        return Err(Failure::usage("--speed must be a positive number"));
    }
    let fleet = Fleet::start_demo()
        .await
        .map_err(|e| Failure::usage(format!("cannot start the demo fleet on loopback: {e}")))?;
    let dir = std::env::temp_dir().join(format!("deploywatch-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    let config_path = paths
        .config
        .clone()
        .unwrap_or_else(|| dir.join("config.toml"));
    let db_path = paths
        .db
        .clone()
        .unwrap_or_else(|| dir.join("deploywatch.db"));
    deploywatch_config::write_atomic(&config_path, &fleet.demo_config())?;
    let config = deploywatch_config::load(&config_path)?;
    eprintln!(
        "Demo fleet running on loopback. Its config: {}",
        config_path.display()
    );
    eprintln!(
        "In another terminal: deploywatch --config {} --db {} status",
        config_path.display(),
        db_path.display()
    );
    let demo_paths = Paths {
        config: Some(config_path),
        db: Some(db_path),
    };
    let engine = setup::engine(&demo_paths, config, true)?;
    let fleet = std::sync::Arc::new(fleet);
    let script = {
        let fleet = fleet.clone();
        tokio::spawn(async move { fleet.run_demo(speed).await })
    };
    // The demo never pops up desktop notifications: the terminal shows every incident.
    super::human::run_watcher(engine, Notifier::new(false, None), limit, None).await;
    script.abort();
    Ok(0)
}
