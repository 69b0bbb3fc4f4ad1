//! The errors of the store, as an enum callers can branch on.

use std::path::PathBuf;

/// Everything that can go wrong opening or using the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The parent directory of the database could not be created.
    #[error("cannot create the directory {} for the database: {source}", .path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A read-only open found no database file.
    #[error("no database at {}: run `deploywatch watch` or `deploywatch verify` first", .path.display())]
    NotFound { path: PathBuf },

    /// The file exists but is not an SQLite database (or its header is damaged).
    #[error("{} is not a Deploywatch database (not SQLite, or damaged)", .path.display())]
    NotADatabase { path: PathBuf },

    /// The database was written by a newer Deploywatch. It is left untouched.
    #[error(
        "the database {} has schema version {found}, newer than this Deploywatch knows \
         (up to {supported}); upgrade Deploywatch (the database was left untouched)",
        .path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// A read-only open found an older schema; only a writable open migrates.
    #[error(
        "the database {} has schema version {found} but {expected} is needed; \
         run `deploywatch watch` once to migrate it",
        .path.display()
    )]
    SchemaOutdated {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    /// Applying a migration failed; the migration was rolled back as a whole.
    #[error("migrating the database {}: {source}", .path.display())]
    Migration {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },

    /// Another process held the write lock for longer than `busy_timeout` on every attempt.
    #[error("the database is locked by another writer (gave up after {attempts} attempts)")]
    Busy { attempts: u32 },

    /// A write was attempted on a store opened with [`crate::Store::open_read_only`].
    #[error("the database was opened read-only")]
    ReadOnly,

    #[error("incident {id} does not exist")]
    IncidentNotFound { id: i64 },

    #[error("incident {id} is already resolved")]
    IncidentResolved { id: i64 },

    /// `open_incident` on an environment that already has one open.
    #[error("{project} / {environment} already has an open incident (id {id})")]
    IncidentAlreadyOpen {
        project: String,
        environment: String,
        id: i64,
    },

    /// A stored value could not be read back (hand-edited or damaged database).
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: String, detail: String },

    /// A value does not fit the database's integer range (a CI run id above i64::MAX).
    #[error("{what} is out of range: {value}")]
    OutOfRange { what: &'static str, value: String },

    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// True for SQLITE_BUSY / SQLITE_LOCKED: another connection holds a lock and a retry may
    /// succeed.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(e) if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        )
    }
}
