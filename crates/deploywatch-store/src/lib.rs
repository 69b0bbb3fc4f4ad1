//! The SQLite history of Deploywatch (SPEC §4): pushes, CI runs, checks, the current state of
//! each environment, incidents, notifications, deploy lag, the history timeline and the GitHub
//! ETag cache.
//!
//! One [`Store`] owns one connection. The watcher holds the only writable one; `status` and
//! `history` may open their own with [`Store::open_read_only`]. WAL mode lets those readers run
//! while the watcher writes. Every public write is one `BEGIN IMMEDIATE` transaction, retried a
//! few times if another writer holds the lock longer than `busy_timeout`, so a killed process
//! leaves either all of a write or none of it.
//!
//! Times are stored as integer milliseconds since the Unix epoch (UTC); sub-millisecond
//! precision is dropped, except inside stored report JSON.

mod action;
mod ci;
mod disk;
mod error;
mod etag;
mod events;
mod incident;
mod lag;
mod push;
pub mod schema;
mod state;
mod value;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use action::{ActionEvent, ActionOutcome, ActionRun, Runner, RunnerLiveness};
pub use disk::DiskCondition;
pub use error::StoreError;
pub use events::{HistoryCursor, HistoryEvent, HistoryFilter, HistoryKind};
pub use incident::{Incident, NotificationKey, NotificationKind};
pub use lag::{DeployLag, LagStage, LagSummary, SpanSummary, nearest_rank, summarize_lags};
pub use push::{PushRecord, StoredPush};
pub use state::{CheckCursor, EnvState, StoredCheck};

/// How long one statement waits for another connection's lock before SQLite reports BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of one write transaction when the lock stays busy past `BUSY_TIMEOUT`.
const WRITE_ATTEMPTS: u32 = 4;
/// The default spacing of stored unchanged checks per environment.
pub const DEFAULT_SAMPLE_EVERY: Duration = Duration::from_secs(3600);

/// The Deploywatch database: one SQLite connection and the rules for writing to it.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    read_only: bool,
    sample_every_ms: i64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` for writing, creating its parent
    /// directory and migrating an older schema in place.
    ///
    /// # Errors
    /// [`StoreError::CreateDir`], [`StoreError::NotADatabase`], [`StoreError::SchemaTooNew`]
    /// (the file is left untouched), [`StoreError::Migration`], or an SQLite error.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| classify_open(e, path))?;
        Store::setup(conn, Some(path.to_path_buf()), false)
    }

    /// A private in-memory database at the latest schema, for tests.
    ///
    /// # Errors
    /// Only if SQLite cannot allocate the database.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::setup(Connection::open_in_memory()?, None, false)
    }

    /// Opens an existing database for reading only (`status`, `history`), alongside a running
    /// watcher. Nothing is created or migrated; write methods return [`StoreError::ReadOnly`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no file, [`StoreError::SchemaOutdated`] when it
    /// needs a migration, [`StoreError::SchemaTooNew`], [`StoreError::NotADatabase`].
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify_open(e, path))?;
        Store::setup(conn, Some(path.to_path_buf()), true)
    }

    fn setup(
        mut conn: Connection,
        path: Option<PathBuf>,
        read_only: bool,
    ) -> Result<Store, StoreError> {
        let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // The first read of the file is where a non-database shows itself.
        let found = schema::user_version(&conn).map_err(|e| classify_open(e, &shown))?;
        if found > schema::LATEST_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: shown,
                found,
                supported: schema::LATEST_VERSION,
            });
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        if read_only {
            if found != schema::LATEST_VERSION {
                return Err(StoreError::SchemaOutdated {
                    path: shown,
                    found,
                    expected: schema::LATEST_VERSION,
                });
            }
        } else {
            // WAL: readers never block the watcher and a killed writer loses only what it had
            // not committed. NORMAL is durable against process crashes in WAL mode (only a
            // power loss may drop the last commits), and saves an fsync per commit.
            prepare_and_migrate(&mut conn, found, &shown)?;
        }
        Ok(Store {
            conn,
            path,
            read_only,
            sample_every_ms: DEFAULT_SAMPLE_EVERY.as_millis() as i64,
        })
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    ///
    /// # Errors
    /// An SQLite error.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(schema::user_version(&self.conn)?)
    }

    /// The file this store was opened from (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Sets the spacing of stored unchanged checks per environment (default one hour): at most
    /// one unchanged check is stored per environment in any such span.
    pub fn set_sample_every(&mut self, every: Duration) {
        self.sample_every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    }

    /// Sets how long one statement waits for another connection's lock before giving up
    /// (default 5 s). Writes then retry a few times before reporting [`StoreError::Busy`].
    ///
    /// # Errors
    /// An SQLite error.
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), StoreError> {
        Ok(self.conn.busy_timeout(timeout)?)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits it; on SQLITE_BUSY (another
    /// writer kept the lock beyond `busy_timeout`) rolls back and runs it again, a few times.
    /// Inside a [`Store::batch`] it is a savepoint of the batch's transaction instead: undone
    /// alone if `f` fails, committed with the batch.
    ///
    /// IMMEDIATE takes the write lock up front, so a transaction never fails half way through
    /// for lack of the lock (a deferred one may, and `busy_timeout` cannot help it then).
    fn write<T>(
        &mut self,
        mut f: impl FnMut(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        if !self.conn.is_autocommit() {
            let savepoint = self.conn.savepoint()?;
            let value = f(&savepoint)?;
            savepoint.commit()?;
            return Ok(value);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: Result<T, StoreError> = (|| {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = f(&tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Err(e) if e.is_busy() && attempt < WRITE_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                }
                Err(e) if e.is_busy() => return Err(StoreError::Busy { attempts: attempt }),
                other => return other,
            }
        }
    }

    /// Runs `f` with every write it makes in one transaction: one `BEGIN IMMEDIATE` and one
    /// commit for a round of reports instead of one each (each write is a savepoint, so one that
    /// fails is undone alone). Reads inside see the batch's own writes. A panic in `f` rolls
    /// the batch back. Nested batches are one.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the write lock cannot be taken; an SQLite error on commit (the
    /// batch is then rolled back).
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T, StoreError> {
        if self.read_only || !self.conn.is_autocommit() {
            return Ok(f(self));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => break,
                Err(e) => {
                    let e = StoreError::from(e);
                    if !e.is_busy() {
                        return Err(e);
                    }
                    if attempt >= WRITE_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt });
                    }
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                }
            }
        }
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
        match out {
            Ok(value) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(panic) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                std::panic::resume_unwind(panic)
            }
        }
    }
}

/// Turns the errors of opening a file into the variants a person can act on.
/// WAL mode, then the migrations up to the latest schema — also when another process opens
/// the same new database at the same moment (the window, the resident watcher and the CLI on
/// a first run): the migration runs under the write lock (`BEGIN IMMEDIATE` waits for it up
/// to the busy timeout), and whoever gets it second finds the schema already there.
fn prepare_and_migrate(conn: &mut Connection, found: u32, shown: &Path) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let mut found = found;
    loop {
        let attempt = (|| -> Result<(), StoreError> {
            let _mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            if found < schema::LATEST_VERSION {
                // Take the write lock, then look again: another process may have migrated
                // while this one waited.
                conn.execute_batch("BEGIN IMMEDIATE")?;
                let now = schema::user_version(conn);
                conn.execute_batch("COMMIT")?;
                found = now?;
                if found < schema::LATEST_VERSION {
                    schema::migrate_to(conn, schema::LATEST_VERSION).map_err(|source| {
                        StoreError::Migration {
                            path: shown.to_path_buf(),
                            source,
                        }
                    })?;
                }
            }
            Ok(())
        })();
        let Err(e) = attempt else { return Ok(()) };
        // Between the look and the migration's own transaction another process may still
        // win the lock: then its schema is there once it commits. Anything else is an error.
        let _ = conn.execute_batch("ROLLBACK");
        found = schema::user_version(conn).unwrap_or(found);
        if found == schema::LATEST_VERSION {
            return Ok(());
        }
        if !is_busy(&e) || started.elapsed() > BUSY_TIMEOUT {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `e` says another connection holds the lock.
fn is_busy(e: &StoreError) -> bool {
    let code = |e: &rusqlite::Error| e.sqlite_error_code();
    let busy = |c: Option<rusqlite::ErrorCode>| {
        matches!(
            c,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    };
    match e {
        StoreError::Sqlite(e) => busy(code(e)),
        StoreError::Migration {
            source: rusqlite_migration::Error::RusqliteError { err, .. },
            ..
        } => busy(code(err)),
        _ => false,
    }
}

fn classify_open(e: rusqlite::Error, path: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => StoreError::Sqlite(e),
    }
}
