//! The synchronisation primitives the crate uses, in one place.
//!
//! Everything that shares state across threads goes through this module, so
//! that the loom model checker can swap the primitives (`--cfg signal_dispatch_loom`, see
//! `tests/loom.rs`) without touching the modules that use them.
//!
//! Under loom, atomics and mutexes are loom's, so loom explores their
//! interleavings. `Arc` and `Weak` stay std's: loom's `Arc` has no `Weak`,
//! which the routing table needs, so reference counts are not modeled (the
//! sanitizer run and the stress tests cover them). The lock-free maps
//! (`papaya`, `arc-swap`) are not loom-aware either: loom treats each of
//! their operations as one step.

#[cfg(signal_dispatch_loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(signal_dispatch_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
pub(crate) use std::sync::PoisonError;
#[cfg(not(signal_dispatch_loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
pub(crate) use std::sync::{Arc, Weak};
#[cfg(not(signal_dispatch_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning.
///
/// Our critical sections never run user code except a key's `Hash`/`Eq`,
/// and they keep the table consistent at every step where those may panic,
/// so a poisoned lock holds valid data: a panicking key must not make the
/// signal unusable for everyone else.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Under loom, the order a pairing of sequentially consistent accesses
/// relies on, which loom cannot see: each side writes, then reads what the
/// other wrote, and in the one total order of such accesses one side sees
/// the other (loom treats them as acquire-release, "Unsupported features"
/// in its README). Loom models a sequentially consistent fence, which gives
/// it; each side calls this between its write and its read. Elsewhere the
/// accesses give it, and this is nothing.
///
/// The pairings: a send's end and [`Signal::drained`](crate::Signal::drained)'s
/// waiter (`stats`), where the fence also stands in for the ordering of a
/// wake-up inside `event_listener`, which is not loom-aware; and a reader's
/// hazard and a writer's replacement of the value it reads (`hazard`).
#[inline(always)]
pub(crate) fn order_for_loom() {
    #[cfg(signal_dispatch_loom)]
    fence(Ordering::SeqCst);
}
