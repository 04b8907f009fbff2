//! A persistent cache of the metadata documents a connection reads before its first query:
//! the endpoint's `swagger.json` (about 1 MB) and the OData feeds' `$metadata`. Reused across
//! runs, so a one-shot query costs sign-in, its data requests and sign-out; read again once
//! older than the TTL, or after [`MetadataCache::clear`].
//!
//! One file per document, named by a digest of site, tenant, user, endpoint and document (a
//! user's rights decide which inquiries the feed lists). Files are written atomically and are
//! readable by their owner only.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Where cached documents live and how long they stay fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataCache {
    dir: PathBuf,
    ttl: Duration,
}

/// The default time a cached document stays fresh.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

impl MetadataCache {
    pub fn new(dir: impl Into<PathBuf>, ttl: Duration) -> Self {
        Self {
            dir: dir.into(),
            ttl,
        }
    }

    /// The user's cache directory (`~/.cache/acusql/metadata` on Linux).
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("acusql").join("metadata"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn path(&self, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        let name: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.doc"))
    }

    /// The document stored under `key` if it is younger than the TTL, with its age.
    pub fn load(&self, key: &str) -> Option<(Bytes, Duration)> {
        let path = self.path(key);
        let age = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())?;
        if age >= self.ttl {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        // The key is stored in the first line: a digest collision is never served.
        let (stored_key, body) = split_first_line(&bytes)?;
        (stored_key == key.as_bytes()).then(|| (Bytes::copy_from_slice(body), age))
    }

    /// Stores `body` under `key` (failures are logged: the cache is only an optimisation).
    pub fn store(&self, key: &str, body: &[u8]) {
        let mut bytes = Vec::with_capacity(key.len() + 1 + body.len());
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        if let Err(e) = crate::private_file::write_atomic(&self.path(key), &bytes) {
            tracing::warn!(
                "cannot write the metadata cache in {}: {e}",
                self.dir.display()
            );
        }
    }

    /// Removes the document stored under `key`; false when there was none.
    pub fn remove(&self, key: &str) -> bool {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => {
                tracing::warn!(
                    "cannot remove a document from the metadata cache in {}: {e}",
                    self.dir.display()
                );
                false
            }
        }
    }

    /// Removes every cached document; returns how many there were.
    pub fn clear(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "doc") {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn split_first_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    Some((&bytes[..nl], &bytes[nl + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_kept_per_key_for_their_ttl_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = MetadataCache::new(dir.path().join("m"), Duration::from_secs(60));
        assert!(cache.load("a").is_none());
        cache.store("a", b"{\"swagger\":\"2.0\"}\n");
        cache.store("b", b"<edmx/>");
        assert_eq!(
            cache.load("a").unwrap().0.as_ref(),
            b"{\"swagger\":\"2.0\"}\n"
        );
        assert_eq!(cache.load("b").unwrap().0.as_ref(), b"<edmx/>");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = std::fs::read_dir(dir.path().join("m"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(dir.path().join("m"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        let stale = MetadataCache::new(dir.path().join("m"), Duration::ZERO);
        assert!(stale.load("a").is_none(), "older than the TTL");
        assert!(cache.remove("b"));
        assert!(!cache.remove("b"), "already gone");
        assert!(cache.load("b").is_none());
        assert_eq!(cache.clear().unwrap(), 1);
        assert!(cache.load("a").is_none());
    }
}
