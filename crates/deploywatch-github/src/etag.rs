//! The ETag cache behind conditional requests (SPEC §4): per request URL, the last `ETag` and
//! the body it came with, so an unchanged answer comes back `304` and costs no rate limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Where ETags and their bodies are kept. The default is [`MemoryEtagCache`]; the engine can
/// supply one backed by its database so a restart does not spend the quota again.
///
/// Keys are complete request URLs (API host included), so one store can serve several GitHub
/// instances. Implementations must be cheap and must not fail loudly: a lost entry only costs a
/// full request.
pub trait EtagCache: Send + Sync {
    /// The stored `(etag, body)` for `key`.
    fn get(&self, key: &str) -> Option<(String, Vec<u8>)>;
    /// Stores `etag` and `body` for `key`, replacing what was there.
    fn put(&self, key: &str, etag: &str, body: &[u8]);
}

/// An in-memory [`EtagCache`] holding at most `capacity` entries; the oldest entry goes first.
#[derive(Debug)]
pub struct MemoryEtagCache {
    capacity: usize,
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    entries: HashMap<String, (String, Vec<u8>)>,
    order: VecDeque<String>,
}

impl MemoryEtagCache {
    /// Enough for every branch, run list and deployment list of a large configuration, while a
    /// watcher that runs for months still stays bounded (run lists are keyed by SHA).
    pub const DEFAULT_CAPACITY: usize = 2048;

    pub fn new(capacity: usize) -> MemoryEtagCache {
        MemoryEtagCache {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic while holding this lock cannot leave the map half-updated in a way that
        // matters (worst case: a stale entry), so a poisoned lock is used as is.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryEtagCache {
    fn default() -> Self {
        MemoryEtagCache::new(Self::DEFAULT_CAPACITY)
    }
}

impl EtagCache for MemoryEtagCache {
    fn get(&self, key: &str) -> Option<(String, Vec<u8>)> {
        self.lock().entries.get(key).cloned()
    }

    fn put(&self, key: &str, etag: &str, body: &[u8]) {
        let mut inner = self.lock();
        let fresh = inner
            .entries
            .insert(key.to_owned(), (etag.to_owned(), body.to_vec()))
            .is_none();
        if fresh {
            inner.order.push_back(key.to_owned());
        }
        while inner.entries.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_replaces_and_evicts_oldest() {
        let cache = MemoryEtagCache::new(2);
        cache.put("a", "\"1\"", b"one");
        cache.put("b", "\"2\"", b"two");
        cache.put("a", "\"1b\"", b"one again");
        assert_eq!(
            cache.get("a"),
            Some(("\"1b\"".into(), b"one again".to_vec()))
        );
        cache.put("c", "\"3\"", b"three");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a"), None, "oldest key goes first");
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
    }
}
