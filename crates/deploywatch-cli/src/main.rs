//! `deploywatch`: the command line over the engine, for terminals, servers and CI pipelines.
//!
//! Exit codes (SPEC §6): 0 success (all live / ready / clean shutdown), 1 not live / not
//! ready / signed out, 2 usage or configuration error.

mod actions;
mod add;
mod auth;
mod demo;
mod dto;
mod human;
mod lag;
mod pipeline;
mod preflight;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Is the code we pushed actually what is live?
#[derive(Parser, Debug)]
#[command(name = "deploywatch", version, about, long_about = None)]
struct Cli {
    /// Configuration file [default: $DEPLOYWATCH_CONFIG, else ~/.config/deploywatch/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// History database [default: $DEPLOYWATCH_DB, else ~/.local/share/deploywatch/deploywatch.db]
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check each selected environment once (or until live with --wait); exit 0 only if all are live
    Verify {
        #[arg(long, value_name = "P")]
        project: Option<String>,
        #[arg(long = "env", value_name = "E")]
        environment: Option<String>,
        /// The SHA that should be live (no GitHub needed); a mismatch once --wait runs out is `phantom`
        #[arg(long, value_name = "SHA")]
        expect: Option<String>,
        /// Keep checking on the fast schedule until all are live or this much time has passed (e.g. 5m)
        #[arg(long, value_name = "DUR", value_parser = parse_duration)]
        wait: Option<Duration>,
        /// With --wait: live only after this many consecutive live checks (load balancers flap during rollouts)
        #[arg(long, value_name = "N", requires = "wait", value_parser = clap::value_parser!(u32).range(1..=1000))]
        stable: Option<u32>,
        /// With --wait: time between checks [default: the smallest fast_interval, 10s unless configured]
        #[arg(long, value_name = "DUR", requires = "wait", value_parser = parse_positive_duration)]
        interval: Option<Duration>,
        /// No config: check the one environment whose build-info is at this URL (needs --expect;
        /// --project/--env name it, by default its host / `default`); history only with --db
        #[arg(long, value_name = "URL", requires = "expect")]
        url: Option<String>,
        /// Print one JSON document (an array of reports) on stdout
        #[arg(long)]
        json: bool,
    },
    /// Before a deploy: unpushed commits, CI for the local HEAD, and its image in the registry
    Preflight {
        #[arg(long, value_name = "P")]
        project: String,
        /// The git checkout to inspect [default: the current directory]
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo_path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The headless watcher: schedule, history and notifications, until interrupted
    Watch {
        /// Do not send desktop notifications (the webhook, if configured, still gets them)
        #[arg(long)]
        no_notify: bool,
        /// Do not run the incident actions (on_open, on_cause, on_resolve) of the config; the
        /// incident events they would have run for are still recorded and announced
        #[arg(long)]
        no_actions: bool,
    },
    /// The current verdict of every environment, from the database
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Pushes, CI runs, live changes and incidents, newest first
    History {
        #[arg(long, value_name = "P")]
        project: Option<String>,
        #[arg(long = "env", value_name = "E")]
        environment: Option<String>,
        /// Only events newer than this (e.g. 2h, 7d)
        #[arg(long, value_name = "DUR", value_parser = parse_duration)]
        since: Option<Duration>,
        /// At most this many events
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Observed deploy lag per environment (push → CI green → live): median, p90, worst, count
    Lag {
        #[arg(long, value_name = "P")]
        project: Option<String>,
        #[arg(long = "env", value_name = "E")]
        environment: Option<String>,
        /// Only deploys first recorded within this long (e.g. 7d, 90d)
        #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "30d")]
        since: Duration,
        #[arg(long)]
        json: bool,
    },
    /// Set up a project by naming its repository: its environments from GitHub, where each exposes its build
    Add {
        /// The repository, OWNER/NAME
        #[arg(value_name = "OWNER/REPO")]
        repo: String,
        /// The project's name in the config [default: the repository's name]
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Write the environments found to the config file (without it, nothing is written)
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// The incident actions that ran (on_open, on_cause, on_resolve), newest first, with their output
    Actions {
        #[arg(long, value_name = "P")]
        project: Option<String>,
        #[arg(long = "env", value_name = "E")]
        environment: Option<String>,
        /// At most this many runs
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// GitHub sign-in (device flow); the token is kept in the OS keyring
    Auth {
        #[command(subcommand)]
        action: AuthAction,
    },
    /// Start a simulated fleet and GitHub on loopback and watch it: every failure mode within a minute
    Demo {
        /// Timeline speed (1 = demo pace; 2 = twice as fast)
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Stop after this long (default: until Ctrl-C)
        #[arg(long, value_name = "DUR", value_parser = parse_duration)]
        duration: Option<Duration>,
    },
}

#[derive(Subcommand, Debug)]
enum AuthAction {
    /// Sign in with GitHub's device flow and store the token in the OS keyring
    Login,
    /// Remove the token from the OS keyring
    Logout,
    /// Say where the token comes from and whether GitHub accepts it
    Status,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 500ms, 10s, 5m, 1h)"))
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be greater than zero".into()),
        d => Ok(d),
    }
}

/// An error that ends the command with a given exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<deploywatch_config::ConfigError> for Failure {
    fn from(e: deploywatch_config::ConfigError) -> Failure {
        Failure::usage(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEPLOYWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deploywatch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("deploywatch: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let paths = setup::Paths {
        config: cli.config,
        db: cli.db,
    };
    match cli.command {
        Command::Verify {
            project,
            environment,
            expect,
            wait,
            stable,
            interval,
            url,
            json,
        } => {
            let args = human::VerifyArgs {
                project,
                environment,
                expect,
                wait,
                stable: stable.unwrap_or(1),
                interval,
                url,
                json,
            };
            human::verify(&paths, args).await
        }
        Command::Preflight {
            project,
            repo_path,
            json,
        } => preflight::run(&paths, &project, &repo_path, json).await,
        Command::Watch {
            no_notify,
            no_actions,
        } => human::watch(&paths, no_notify, no_actions).await,
        Command::Status { json } => human::status(&paths, json),
        Command::History {
            project,
            environment,
            since,
            limit,
            json,
        } => human::history(&paths, project, environment, since, limit, json),
        Command::Lag {
            project,
            environment,
            since,
            json,
        } => lag::run(&paths, project, environment, since, json),
        Command::Add {
            repo,
            name,
            yes,
            json,
        } => add::run(&paths, &repo, name, yes, json).await,
        Command::Actions {
            project,
            environment,
            limit,
            json,
        } => actions::run(&paths, project, environment, limit, json),
        Command::Auth { action } => match action {
            AuthAction::Login => auth::login(&paths).await,
            AuthAction::Logout => auth::logout(&paths),
            AuthAction::Status => auth::status(&paths).await,
        },
        Command::Demo { speed, duration } => demo::run(&paths, speed, duration).await,
    }
}
