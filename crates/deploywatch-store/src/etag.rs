//! The ETag cache for GitHub conditional requests: a restarted watcher still sends
//! `If-None-Match` and gets `304 Not Modified` answers, which cost no rate limit.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use crate::value::to_ms;
use crate::{Store, StoreError};

impl Store {
    /// The stored ETag and body for `key` (typically the request URL).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn etag_get(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT etag, body FROM etag_cache WHERE key = ?1")?
            .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Stores (or replaces) the ETag and body for `key`.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::Busy`], [`StoreError::ReadOnly`].
    pub fn etag_put(&mut self, key: &str, etag: &str, body: &[u8]) -> Result<(), StoreError> {
        let now = to_ms(Utc::now());
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO etag_cache (key, etag, body, stored_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET
                     etag = excluded.etag, body = excluded.body, stored_at = excluded.stored_at",
            )?
            .execute(params![key, etag, body, now])?;
            Ok(())
        })
    }
}
