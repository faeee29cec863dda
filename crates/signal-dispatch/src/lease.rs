//! Per-thread leases: which of a signal's per-thread places (a shard of
//! its counters, a hazard of its snapshot) the current thread writes.
//!
//! A thread takes a free lease the first time it asks ([`index`]) and gives
//! it back when it ends; the lease is process-wide, so a thread holds the
//! same index in every signal. While it holds one, it is the only thread
//! writing the places of that index, which can then be written with plain
//! stores. Threads beyond the first [`OWNED`] at once share the
//! [`SHARED`] indices, whose places take read-modify-writes.

/// Leases, each held by one thread at a time ([`index`]): per-thread
/// state a signal keeps for a leased thread (a shard of its counters, a
/// hazard of its snapshot) is written by that thread alone, with a load
/// and a store, not a read-modify-write (a locked instruction, on x86,
/// which made a tenth of an inline send's time).
pub(crate) const OWNED: usize = 6;
/// Indices the threads without a lease share, whose per-thread state is
/// written with read-modify-writes: the threads beyond the first
/// [`OWNED`] at once, and a thread running a thread-local destructor.
pub(crate) const SHARED: usize = 2;
const _: () = assert!((OWNED + SHARED).is_power_of_two() && OWNED < u64::BITS as usize);

/// The index of the current thread: below [`OWNED`] if it holds that
/// lease (the same in every signal), else one of the [`SHARED`] ones.
///
/// Read on every send, so kept apart from the lease: a const-initialised
/// cell with no destructor is one load (std's even under loom: a static
/// needs a const constructor). Under loom every modelled thread runs on one
/// thread of the process: no lease is taken there, and loom sees the
/// read-modify-writes of shared places, unless a model gives its thread
/// one (`model_lease`, under loom only).
#[inline(always)]
pub(crate) fn index() -> usize {
    #[cfg(signal_dispatch_loom)]
    if let Some(index) = MODELLED.with(std::cell::Cell::get) {
        return index;
    }
    match INDEX.with(std::cell::Cell::get) {
        UNASSIGNED => assign(),
        index => index,
    }
}

thread_local! {
    /// This thread's index, or [`UNASSIGNED`].
    static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(UNASSIGNED) };
    /// This thread's lease, if it holds one: given back when the thread ends.
    static LEASE: Lease = const { Lease(std::cell::Cell::new(UNASSIGNED)) };
}

#[cfg(signal_dispatch_loom)]
loom::thread_local! {
    /// Under loom, the lease a model gave its thread ([`model_lease`]).
    static MODELLED: std::cell::Cell<Option<usize>> = std::cell::Cell::new(None);
}

/// Under loom, gives the current modelled thread lease `index` (below
/// [`OWNED`]), so that its sends take the paths only a thread with a lease
/// takes. A model gives each index to one of its threads at most.
#[cfg(signal_dispatch_loom)]
pub fn model_lease(index: usize) {
    assert!(index < OWNED, "lease {index} is not an owned one");
    MODELLED.with(|modelled| modelled.set(Some(index)));
}

/// No index chosen yet.
const UNASSIGNED: usize = usize::MAX;

/// Which owned indices are leased: bit `i` for index `i`. Process-wide, as
/// the thread-locals are: a thread owns the same index in every signal.
static LEASED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Chooses the current thread's index: takes a free owned one, held by a
/// [`Lease`], or, if there is none, or the thread is ending and its lease
/// can no longer be held, a shared one.
#[cold]
#[inline(never)]
fn assign() -> usize {
    let index = LEASE
        .try_with(|lease| {
            let index = take_lease();
            lease.0.set(index);
            index
        })
        .unwrap_or_else(|_| shared_index());
    INDEX.with(|cell| cell.set(index));
    index
}

/// A free owned index, leased, or else a shared one.
fn take_lease() -> usize {
    use std::sync::atomic::Ordering::{Acquire, Relaxed};
    let all = (1u64 << OWNED) - 1;
    let mut leased = LEASED.load(Relaxed);
    loop {
        let free = !leased & all;
        if cfg!(signal_dispatch_loom) || free == 0 {
            return shared_index();
        }
        let index = free.trailing_zeros() as usize;
        match LEASED.compare_exchange_weak(leased, leased | 1 << index, Acquire, Relaxed) {
            Ok(_) => return index,
            Err(now) => leased = now,
        }
    }
}

/// One of the shared indices, taken in turn.
fn shared_index() -> usize {
    static NEXT_SHARED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    OWNED + NEXT_SHARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARED
}

/// A thread's lease ([`index`]), held until the thread ends:
/// then the thread moves to a shared index (for any write a later
/// thread-local destructor makes) and gives the leased one back for
/// another thread to take. The give-back (a release) and the take (an
/// acquire) order the last counts of one owner before the first of the
/// next, which continue from them.
struct Lease(std::cell::Cell<usize>);

impl Drop for Lease {
    fn drop(&mut self) {
        let index = self.0.get();
        if index < OWNED {
            // `INDEX` has no destructor: it outlives every other local.
            INDEX.with(|cell| cell.set(shared_index()));
            LEASED.fetch_and(!(1 << index), std::sync::atomic::Ordering::Release);
        }
    }
}

#[cfg(all(test, not(signal_dispatch_loom)))]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::sync::mpsc;

    #[test]
    fn a_thread_counts_on_a_shared_index_once_its_lease_is_given_back() {
        // std destroys a thread's locals in the reverse order of their
        // first use. Used in this order, `REPORT` goes last, after `LATE`,
        // which goes after the lease and reads the index then.
        type Seen = (usize, Option<(bool, usize)>);
        struct Report(RefCell<Option<(mpsc::Sender<Seen>, usize)>>);
        impl Drop for Report {
            fn drop(&mut self) {
                if let Some((sender, leased)) = self.0.borrow_mut().take() {
                    let _ = sender.send((leased, AFTER.with(Cell::get)));
                }
            }
        }
        struct Late(Cell<bool>);
        impl Drop for Late {
            fn drop(&mut self) {
                if self.0.get() {
                    let lease_gone = LEASE.try_with(|_| ()).is_err();
                    AFTER.with(|after| after.set(Some((lease_gone, index()))));
                }
            }
        }
        thread_local! {
            static REPORT: Report = const { Report(RefCell::new(None)) };
            static LATE: Late = const { Late(Cell::new(false)) };
            static AFTER: Cell<Option<(bool, usize)>> = const { Cell::new(None) };
        }
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            REPORT.with(|_| ());
            LATE.with(|late| late.0.set(true));
            let leased = index();
            REPORT.with(|report| *report.0.borrow_mut() = Some((sender, leased)));
        })
        .join()
        .unwrap();
        let (leased, after) = receiver.recv().unwrap();
        // Other tests' threads may hold every owned lease.
        if leased < OWNED {
            let (lease_gone, index) = after.expect("the late destructor ran");
            assert!(lease_gone, "the lease outlived the late destructor");
            assert!(
                index >= OWNED,
                "index {index} still used after its lease was given back"
            );
        }
    }
}
