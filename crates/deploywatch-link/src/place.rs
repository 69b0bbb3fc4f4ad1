//! Where the socket is.

use std::path::PathBuf;

/// Overrides the socket's path (tests, and a second Deploywatch profile on one account).
pub const SOCKET_ENV: &str = "DEPLOYWATCH_SOCKET";

/// The socket of this user's resident process: `$DEPLOYWATCH_SOCKET`, else
/// `$XDG_RUNTIME_DIR/deploywatch/resident.sock`, else a per-user directory in the temporary
/// directory (`deploywatch-<uid>`). On Windows the path names a pipe
/// (`\\.\pipe\deploywatch-resident-<user>`).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    platform_default()
}

#[cfg(unix)]
fn platform_default() -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("deploywatch"),
        None => {
            let uid = rustix::process::getuid().as_raw();
            std::env::temp_dir().join(format!("deploywatch-{uid}"))
        }
    };
    dir.join("resident.sock")
}

#[cfg(windows)]
fn platform_default() -> PathBuf {
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".into());
    let user: String = user
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PathBuf::from(format!(r"\\.\pipe\deploywatch-resident-{user}"))
}

/// One of the desktop app's two executables, each of which starts the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// `deploywatch-app`: the window (`$DEPLOYWATCH_WINDOW_BIN` overrides).
    Window,
    /// `deploywatch-tray`: the resident process (`$DEPLOYWATCH_RESIDENT_BIN` overrides).
    Resident,
}

impl Program {
    /// Where it is: the override, else the executable of that name beside the running one
    /// (`None` when that cannot be told).
    pub fn path(self) -> Option<PathBuf> {
        let (env, name) = match self {
            Program::Window => ("DEPLOYWATCH_WINDOW_BIN", "deploywatch-app"),
            Program::Resident => ("DEPLOYWATCH_RESIDENT_BIN", "deploywatch-tray"),
        };
        if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let me = std::env::current_exe().ok()?;
        Some(
            me.parent()?
                .join(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
        )
    }
}
