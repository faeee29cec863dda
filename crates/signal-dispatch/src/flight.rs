//! Sends in flight: the optional limit on callbacks running at once, and
//! waiting until no send is running any more.

use std::fmt;

use async_lock::{Semaphore, SemaphoreGuardArc};
use event_listener::Event as Notifier;

use crate::sync::{Arc, AtomicUsize, Ordering};

/// A permit for one callback under the signal's in-flight limit; released
/// when the callback finishes.
pub(crate) type Permit = SemaphoreGuardArc;

pub(crate) struct Flight {
    /// Sends whose callbacks have not all finished.
    sends: AtomicUsize,
    idle: Notifier,
    limit: Option<(usize, Arc<Semaphore>)>,
}

impl Flight {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Flight {
            sends: AtomicUsize::new(0),
            idle: Notifier::new(),
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

    pub(crate) fn begin(&self) {
        self.sends.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn end(&self) {
        if self.sends.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify(usize::MAX);
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.sends.load(Ordering::Acquire)
    }

    /// Waits until no send is in flight.
    pub(crate) async fn idle(&self) {
        loop {
            if self.in_flight() == 0 {
                return;
            }
            let listener = self.idle.listen();
            if self.in_flight() == 0 {
                return;
            }
            listener.await;
        }
    }
}

impl fmt::Debug for Flight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flight")
            .field("sends", &self.in_flight())
            .field("limit", &self.limit())
            .finish()
    }
}
