//! Counters a signal keeps about itself.

use event_listener::Event as Notifier;

use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of a signal's counters, from [`Signal::stats`](crate::Signal::stats).
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Mode, Signal};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal = Signal::new();
/// signal.connect(|_: Event| {});
/// signal.connect(|_: Event| -> Result<(), &'static str> { Err("nope") });
/// signal.send().mode(Mode::Inline).wait().await.unwrap();
/// let stats = signal.stats();
/// assert_eq!((stats.sends, stats.scheduled, stats.completed, stats.failed), (1, 2, 2, 1));
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Sends that reached at least one connection.
    pub sends: u64,
    /// Callbacks scheduled (and events given to subscriptions).
    pub scheduled: u64,
    /// Callbacks that finished, whether they succeeded or failed. Counted
    /// per send, when its last callback finishes.
    pub completed: u64,
    /// Callbacks that panicked or returned an error.
    pub failed: u64,
    /// Connections removed because their weak owner or every sender they
    /// listened to died.
    pub pruned: u64,
}

/// Shards each leased to one thread at a time ([`shard_index`]): only
/// their owner writes them, so it counts with a load and a store, not a
/// read-modify-write (a locked instruction, on x86, which made a tenth of
/// an inline send's time).
const OWNED: usize = 6;
/// Shards the threads without a lease share, counting with
/// read-modify-writes: the threads beyond the first [`OWNED`] to count at
/// once, and a thread counting from a thread-local destructor.
const SHARED: usize = 2;
const _: () = assert!((OWNED + SHARED).is_power_of_two() && OWNED < u64::BITS as usize);

/// One thread's (or thread-group's) counters, on a cache line (pair) of its
/// own: a send made on one thread and completed on another never bounces
/// one line between them.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    /// Sends with callbacks to run, begun here.
    begun: AtomicU64,
    /// Sends with callbacks to run, ended here (a send may end on another
    /// thread than it began on). Begun minus ended, summed over the shards,
    /// is the count in flight; each count also counts sends.
    ended: AtomicU64,
    /// Sends that reached subscriptions only: never in flight.
    streamed_only: AtomicU64,
    scheduled: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
}

/// A signal's counters, and its count of sends in flight with a way to wait
/// for it to reach zero.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    shards: [Shard; OWNED + SHARED],
    /// Tasks waiting in [`Counters::idle`]; while there are none, ending a
    /// send does not sum the shards.
    waiters: AtomicUsize,
    idle: Notifier,
}

/// The shard index of the current thread: below [`OWNED`] if it holds a
/// lease on that shard (in every signal's counters), else a shared one.
///
/// Read on every count, so kept apart from the lease: a const-initialised
/// cell with no destructor is one load (std's even under loom: a static
/// needs a const constructor). Under loom every modelled thread runs on one
/// thread of the process: no lease is taken there, and loom sees the
/// read-modify-writes of shared shards.
#[inline(always)]
fn shard_index() -> usize {
    match SHARD.with(std::cell::Cell::get) {
        UNASSIGNED => assign(),
        index => index,
    }
}

thread_local! {
    /// This thread's shard index, or [`UNASSIGNED`].
    static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(UNASSIGNED) };
    /// This thread's lease, if it holds one: given back when the thread ends.
    static LEASE: Lease = const { Lease(std::cell::Cell::new(UNASSIGNED)) };
}

/// No shard chosen yet.
const UNASSIGNED: usize = usize::MAX;

/// Which owned shards are leased: bit `i` for shard `i`. Process-wide, as
/// the thread-locals are: a thread owns the same shard in every signal.
static LEASED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Chooses the current thread's shard: takes a free owned one, held by a
/// [`Lease`], or, if there is none, or the thread is ending and its lease
/// can no longer be held, a shared one.
#[cold]
#[inline(never)]
fn assign() -> usize {
    let index = LEASE
        .try_with(|lease| {
            let index = take_shard();
            lease.0.set(index);
            index
        })
        .unwrap_or_else(|_| shared_shard());
    SHARD.with(|shard| shard.set(index));
    index
}

/// A free owned shard, leased, or else a shared one.
fn take_shard() -> usize {
    use std::sync::atomic::Ordering::{Acquire, Relaxed};
    let all = (1u64 << OWNED) - 1;
    let mut leased = LEASED.load(Relaxed);
    loop {
        let free = !leased & all;
        if cfg!(signal_dispatch_loom) || free == 0 {
            return shared_shard();
        }
        let index = free.trailing_zeros() as usize;
        match LEASED.compare_exchange_weak(leased, leased | 1 << index, Acquire, Relaxed) {
            Ok(_) => return index,
            Err(now) => leased = now,
        }
    }
}

/// One of the shared shards, taken in turn.
fn shared_shard() -> usize {
    static NEXT_SHARED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    OWNED + NEXT_SHARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARED
}

/// A thread's leased shard ([`shard_index`]), held until the thread ends:
/// then the thread moves to a shared shard (for any count a later
/// thread-local destructor makes) and gives the leased one back for
/// another thread to take. The give-back (a release) and the take (an
/// acquire) order the last counts of one owner before the first of the
/// next, which continues from them.
struct Lease(std::cell::Cell<usize>);

impl Drop for Lease {
    fn drop(&mut self) {
        let index = self.0.get();
        if index < OWNED {
            // `SHARD` has no destructor: it outlives every other local.
            SHARD.with(|shard| shard.set(shared_shard()));
            LEASED.fetch_and(!(1 << index), std::sync::atomic::Ordering::Release);
        }
    }
}

/// The shard the current thread counts on, and how.
pub(crate) struct Local<'a> {
    shard: &'a Shard,
    /// Whether the thread holds the shard's lease, and so is its only
    /// writer.
    owned: bool,
}

impl Local<'_> {
    /// Adds `n` to one of the shard's counts.
    #[inline(always)]
    fn add(&self, count: fn(&Shard) -> &AtomicU64, n: u64) {
        let count = count(self.shard);
        if self.owned {
            // The only writer: a load and a store lose no update, and a
            // reader sees the count before or after.
            let now = count.load(Ordering::Relaxed);
            count.store(now.wrapping_add(n), Ordering::Relaxed);
        } else {
            count.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A send with `reached` callbacks to run begins: it is in flight.
    ///
    /// Its beginning needs no stronger ordering than its own: whoever sees
    /// the send's end (a read-modify-write that releases, read with an
    /// acquire) or anything else the send did after it, also sees it.
    #[inline(always)]
    fn begin(&self, reached: usize) {
        self.add(|s| &s.begun, 1);
        self.add(|s| &s.scheduled, reached as u64);
    }
}

impl Counters {
    #[inline(always)]
    fn local(&self) -> Local<'_> {
        let index = shard_index();
        Local {
            // Always in bounds; the mask (the count is a power of two)
            // saves the check.
            shard: &self.shards[index & (OWNED + SHARED - 1)],
            owned: index < OWNED,
        }
    }

    /// A callback failed.
    pub(crate) fn failed(&self) {
        self.local().add(|s| &s.failed, 1);
    }

    pub(crate) fn snapshot(&self, pruned: u64) -> Stats {
        let sum = |field: fn(&Shard) -> &AtomicU64| {
            self.shards
                .iter()
                .map(|s| field(s).load(Ordering::Relaxed))
                .sum()
        };
        Stats {
            sends: sum(|s| &s.begun) + sum(|s| &s.streamed_only),
            scheduled: sum(|s| &s.scheduled),
            completed: sum(|s| &s.completed),
            failed: sum(|s| &s.failed),
            pruned,
        }
    }

    /// A send reached `reached` connections; with callbacks to run, it is
    /// in flight until [`ended`](Self::ended). (One call for the three
    /// counts: the shard is looked up once.)
    pub(crate) fn sent(&self, reached: usize, in_flight: bool) {
        let local = self.local();
        if in_flight {
            local.begin(reached);
        } else {
            local.add(|s| &s.streamed_only, 1);
            local.add(|s| &s.scheduled, reached as u64);
        }
    }

    /// A send in flight ended, `completed` of its callbacks run.
    pub(crate) fn ended(&self, completed: usize) {
        self.end_on(&self.local(), completed);
    }

    /// A send whose `reached` callbacks all run now, on this thread, begun:
    /// [`sent`](Self::sent), returning the shard to count its end on with
    /// [`end_inline`](Self::end_inline), so that it is looked up once.
    #[inline(always)]
    pub(crate) fn begin_inline(&self, reached: usize) -> Local<'_> {
        let local = self.local();
        local.begin(reached);
        local
    }

    /// The end of a send begun with [`begin_inline`](Self::begin_inline):
    /// [`ended`](Self::ended), with all of its callbacks completed.
    #[inline(always)]
    pub(crate) fn end_inline(&self, local: &Local<'_>, reached: usize) {
        self.end_on(local, reached);
    }

    /// A send whose `reached` callbacks all run in `run`, on this thread,
    /// counted around it ([`begin_inline`](Self::begin_inline), then
    /// [`end_inline`](Self::end_inline)).
    #[inline(always)]
    pub(crate) fn run_inline<T>(&self, reached: usize, run: impl FnOnce() -> T) -> T {
        let local = self.begin_inline(reached);
        let ran = run();
        self.end_inline(&local, reached);
        ran
    }

    /// [`ended`](Self::ended), counted on `local`.
    #[inline(always)]
    fn end_on(&self, local: &Local<'_>, completed: usize) {
        local.add(|s| &s.completed, completed as u64);
        // A read-modify-write even on an owned shard: it is one half of
        // the pairing with `idle` below.
        local.shard.ended.fetch_add(1, Ordering::SeqCst);
        // Paired with `idle`: it announces itself before summing, we count
        // the end before looking for it, so one of us sees the other.
        order_for_loom();
        if self.waiters.load(Ordering::SeqCst) > 0 && self.in_flight_sum() == 0 {
            self.idle.notify(usize::MAX);
        }
    }

    /// Sends begun minus sends ended. The ends are read first, then the
    /// beginnings, each of which is seen by whoever sees its end (see
    /// `Local::begin`): both only grow, so the difference is never below
    /// the count in flight when the beginnings were read, and never
    /// negative (zero means that nothing was in flight then).
    fn in_flight_sum(&self) -> u64 {
        let sum = |field: fn(&Shard) -> &AtomicU64| -> u64 {
            self.shards
                .iter()
                .map(|s| field(s).load(Ordering::SeqCst))
                .sum()
        };
        let ended = sum(|s| &s.ended);
        sum(|s| &s.begun).saturating_sub(ended)
    }

    /// How many sends have callbacks still to finish.
    pub(crate) fn in_flight(&self) -> usize {
        usize::try_from(self.in_flight_sum()).unwrap_or(usize::MAX)
    }

    /// Waits until no send is in flight.
    pub(crate) async fn idle(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(&self.waiters);
        loop {
            let listener = self.idle.listen();
            order_for_loom();
            if self.in_flight_sum() == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// Under loom, the orders the pairing of `end_on` and `idle` relies on,
/// which loom cannot see: each side's sequentially consistent write comes
/// before its read of the other's in one total order, so one side sees the
/// other (loom treats such accesses as acquire-release, "Unsupported
/// features" in its README); and a waiter woken by a send's end sees that
/// end (the wake-up's own ordering, inside `event_listener`, which is not
/// loom-aware). Loom models a sequentially consistent fence, which gives
/// both here. Elsewhere the accesses and the wake-up give them, and this is
/// nothing.
#[inline(always)]
fn order_for_loom() {
    #[cfg(signal_dispatch_loom)]
    crate::sync::fence(Ordering::SeqCst);
}

/// Leaves the waiters' count however `idle` ends (it may be cancelled).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(all(test, not(signal_dispatch_loom)))]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::sync::mpsc;

    #[test]
    fn a_thread_counts_on_a_shared_shard_once_its_lease_is_given_back() {
        // std destroys a thread's locals in the reverse order of their
        // first use. Used in this order, `REPORT` goes last, after `LATE`,
        // which goes after the lease and reads the shard index then.
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
                    AFTER.with(|after| after.set(Some((lease_gone, shard_index()))));
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
            let leased = shard_index();
            REPORT.with(|report| *report.0.borrow_mut() = Some((sender, leased)));
        })
        .join()
        .unwrap();
        let (leased, after) = receiver.recv().unwrap();
        // Other tests' threads may hold every owned shard.
        if leased < OWNED {
            let (lease_gone, index) = after.expect("the late destructor ran");
            assert!(lease_gone, "the lease outlived the late destructor");
            assert!(
                index >= OWNED,
                "shard {index} still used after its lease was given back"
            );
        }
    }
}
