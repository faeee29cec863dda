//! The synchronisation primitives the crate uses, in one place.
//!
//! Everything that shares state across threads goes through this module, so
//! that a model checker can later swap the primitives without touching the
//! modules that use them.

pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Locks `mutex`, ignoring poisoning.
///
/// Our critical sections never run user code except a key's `Hash`/`Eq`,
/// and they keep the table consistent at every step where those may panic,
/// so a poisoned lock holds valid data: a panicking key must not make the
/// signal unusable for everyone else.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
