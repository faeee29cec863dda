//! The optional limit on callbacks running at once.

use std::fmt;

use async_lock::{Semaphore, SemaphoreGuardArc};

use crate::sync::Arc;

/// A permit for one callback under the signal's in-flight limit; released
/// when the callback finishes.
pub(crate) type Permit = SemaphoreGuardArc;

pub(crate) struct Flight {
    limit: Option<(usize, Arc<Semaphore>)>,
}

impl Flight {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Flight {
            limit: limit.map(|n| (n, Arc::new(Semaphore::new(n)))),
        }
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit.as_ref().map(|(n, _)| *n)
    }

    pub(crate) fn semaphore(&self) -> Option<&Arc<Semaphore>> {
        self.limit.as_ref().map(|(_, semaphore)| semaphore)
    }

    /// Takes `n` permits now, or none at all.
    pub(crate) fn try_reserve(&self, n: usize) -> Option<Vec<Permit>> {
        let Some(semaphore) = self.semaphore() else {
            return Some(Vec::new());
        };
        let mut permits = Vec::with_capacity(n);
        for _ in 0..n {
            permits.push(semaphore.try_acquire_arc()?);
        }
        Some(permits)
    }
}

impl fmt::Debug for Flight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flight")
            .field("limit", &self.limit())
            .finish()
    }
}
