//! The local channel between Deploywatch's window process and its resident process (the
//! watcher and tray that run all day). One socket per user — a Unix domain socket in the
//! user's runtime directory (`$XDG_RUNTIME_DIR/deploywatch/resident.sock`, the directory
//! mode 0700, the socket 0600), a named pipe on Windows — and one line of JSON per message:
//! [`deploywatch_ipc::proto::Call`] from the client, [`deploywatch_ipc::proto::Frame`] from the
//! server. The messages are the protocol's, not this crate's: the team server carries the same
//! ones over HTTP.
//!
//! [`bind`] decides "one resident process per user": it holds an exclusive lock on a file
//! next to the socket for the process's lifetime, so a second resident learns at once that
//! one runs ([`BindError::AlreadyRunning`]) and a socket left by a killed one is replaced.

mod client;
mod place;
mod server;

pub use client::{Client, Events, connect};
pub use place::{Program, SOCKET_ENV, default_path};
pub use server::{BindError, Handler, Listener, Peer, bind, serve};

/// The longest line either side accepts (a dashboard of thousands of environments is a few
/// MB); a longer one ends the connection instead of growing memory without bound.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// Reads one line of at most [`MAX_LINE`] bytes (without its `\n`); `None` at the end of the
/// stream. A longer line is an error.
async fn read_line<R>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<()>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    buf.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() { None } else { Some(()) });
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(i) => {
                buf.extend_from_slice(&available[..i]);
                reader.consume(i + 1);
                return Ok(Some(()));
            }
            None => {
                let n = available.len();
                buf.extend_from_slice(available);
                reader.consume(n);
            }
        }
        if buf.len() > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a message longer than {MAX_LINE} bytes"),
            ));
        }
    }
}
