//! How far a table reaches, shared by the partitions of one execution of a scan, so that no
//! partition asks for pages the table does not have.
//!
//! Partition `p` reads pages `p, p + N, …`. Only partition 0 starts at once: the others wait
//! until page 0 has come back, and start only if it was full (a 200-row table is one request,
//! not one per partition). A short page marks the end: no partition asks for a page after it.
//! Pages already on their way when the end is found still come back (empty).
//!
//! Partitions other than 0 wait for partition 0: a consumer must poll partition 0 (DataFusion's
//! operators poll every partition at once; a caller reading partitions one by one reads 0
//! first).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

/// The table's reach as the partitions have found it.
#[derive(Debug)]
pub(super) struct Extent {
    /// Page 0: `None` until it is back, then whether it was full.
    first_full: watch::Sender<Option<bool>>,
    /// The first page that came back short (`usize::MAX`: none yet).
    end: AtomicUsize,
    /// Partitions that took this extent (a new execution takes a new one).
    claims: AtomicUsize,
}

impl Extent {
    fn new() -> Self {
        Self {
            first_full: watch::Sender::new(None),
            end: AtomicUsize::new(usize::MAX),
            claims: AtomicUsize::new(0),
        }
    }

    /// Whether page `page` may hold records: page 0 always; a later page once page 0 came
    /// back full and no page before it came back short.
    pub async fn reaches(&self, page: usize) -> bool {
        if page > self.end.load(Ordering::Acquire) {
            return false;
        }
        if page == 0 {
            return true;
        }
        let mut first = self.first_full.subscribe();
        let full = match first.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or(false),
            Err(_) => false,
        };
        full && page <= self.end.load(Ordering::Acquire)
    }

    /// Page `page` is back: full (more may follow) or short (the table ends there).
    pub fn page_back(&self, page: usize, full: bool) {
        if page == 0 {
            self.first_full.send_if_modified(|v| {
                let unset = v.is_none();
                if unset {
                    *v = Some(full);
                }
                unset
            });
        }
        if !full {
            self.end.fetch_min(page, Ordering::AcqRel);
        }
    }
}

/// The extent of the current execution: `partitions` calls to `execute` share one, the next
/// call starts a new one (the plan is executed again).
#[derive(Debug)]
pub(super) struct Extents {
    partitions: usize,
    current: Mutex<Arc<Extent>>,
}

impl Extents {
    pub fn new(partitions: usize) -> Self {
        Self {
            partitions,
            current: Mutex::new(Arc::new(Extent::new())),
        }
    }

    /// The extent a partition being executed shares with the others of its execution.
    pub fn claim(&self) -> Arc<Extent> {
        let mut current = match self.current.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.claims.load(Ordering::Acquire) >= self.partitions {
            *current = Arc::new(Extent::new());
        }
        current.claims.fetch_add(1, Ordering::AcqRel);
        current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn later_pages_wait_for_a_full_first_page() {
        let e = Arc::new(Extent::new());
        let waiting = {
            let e = e.clone();
            tokio::spawn(async move { e.reaches(1).await })
        };
        e.page_back(0, true);
        assert!(waiting.await.unwrap());
        e.page_back(3, false);
        assert!(e.reaches(3).await);
        assert!(!e.reaches(4).await);
    }

    #[tokio::test]
    async fn a_short_first_page_ends_the_table() {
        let e = Extent::new();
        e.page_back(0, false);
        assert!(e.reaches(0).await);
        assert!(!e.reaches(1).await);
    }

    #[test]
    fn each_execution_shares_one_extent() {
        let x = Extents::new(2);
        let (a, b, c) = (x.claim(), x.claim(), x.claim());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&b, &c));
    }
}
