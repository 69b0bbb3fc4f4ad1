//! The schema: versioned, add-only migrations kept beside the tables (`src/migrations/*.sql`).
//!
//! The version lives in SQLite's `user_version`. A released migration is never edited; a change
//! to the schema is a new file appended to [`MIGRATION_SQL`].

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// The SQL of each migration, in order: index 0 takes an empty database to version 1.
pub const MIGRATION_SQL: &[&str] = &[
    include_str!("migrations/0001_base.sql"),
    include_str!("migrations/0002_lag_and_etags.sql"),
    include_str!("migrations/0003_disk_conditions.sql"),
    include_str!("migrations/0004_action_runs.sql"),
    include_str!("migrations/0005_action_runners.sql"),
];

/// The schema version this code reads and writes.
pub const LATEST_VERSION: u32 = MIGRATION_SQL.len() as u32;

fn migrations(up_to: usize) -> Migrations<'static> {
    Migrations::new(
        MIGRATION_SQL[..up_to.min(MIGRATION_SQL.len())]
            .iter()
            .map(|sql| M::up(sql))
            .collect(),
    )
}

/// Applies the migrations up to `version` (at most [`LATEST_VERSION`]) in one transaction.
///
/// [`crate::Store::open`] migrates to the latest version by itself; this exists so tests and
/// tools can build a database as an older release left it.
///
/// # Errors
/// The migration's error when SQL fails or the database is newer than `version`.
pub fn migrate_to(conn: &mut Connection, version: u32) -> Result<(), rusqlite_migration::Error> {
    migrations(version as usize).to_latest(conn)
}

/// The database's `user_version`.
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    // A negative or huge user_version was not written by us; report it as "newer".
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_on_an_empty_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        for v in 1..=LATEST_VERSION {
            migrate_to(&mut conn, v).unwrap();
            assert_eq!(user_version(&conn).unwrap(), v);
        }
    }
}
