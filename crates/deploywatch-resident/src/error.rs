//! Errors of the app's commands, and how they cross the IPC boundary: as
//! [`deploywatch_ipc::IpcError`] `{code, message}`, never as text the UI must parse.

use deploywatch_ipc::IpcError;

/// Why a command failed. The UI branches on [`AppError::code`].
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration file (or an edit of it) is invalid; the message names file, line and key.
    #[error("{0}")]
    ConfigInvalid(String),
    /// The project or environment named does not exist, or was never checked.
    #[error("{0}")]
    NotFound(String),
    /// GitHub refused or could not be reached (sign-in, compare).
    #[error("{0}")]
    GitHub(String),
    /// The OS keyring could not store, read or delete the token.
    #[error("{0}")]
    Keyring(String),
    /// A file or the database could not be read or written.
    #[error("{0}")]
    Io(String),
    /// Another operation of the same kind is in progress (e.g. a sign-in).
    #[error("{0}")]
    Busy(String),
    /// The built-in demo fleet could not start.
    #[error("{0}")]
    Demo(String),
}

impl AppError {
    /// The stable code the UI branches on (see [`IpcError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::ConfigInvalid(_) => "config_invalid",
            AppError::NotFound(_) => "not_found",
            AppError::GitHub(_) => "github",
            AppError::Keyring(_) => "keyring",
            AppError::Io(_) => "io",
            AppError::Busy(_) => "busy",
            AppError::Demo(_) => "demo",
        }
    }
}

impl From<AppError> for IpcError {
    fn from(e: AppError) -> IpcError {
        IpcError {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<deploywatch_config::ConfigError> for AppError {
    fn from(e: deploywatch_config::ConfigError) -> AppError {
        match e.kind {
            deploywatch_config::ErrorKind::Io => AppError::Io(e.to_string()),
            _ => AppError::ConfigInvalid(e.to_string()),
        }
    }
}

impl From<deploywatch_store::StoreError> for AppError {
    fn from(e: deploywatch_store::StoreError) -> AppError {
        AppError::Io(format!("history database: {e}"))
    }
}
