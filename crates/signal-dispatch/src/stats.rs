//! Counters a signal keeps about itself.

use event_listener::Event as Notifier;

use crate::hazard::Held;
use crate::lease::{self, OWNED, SHARED};
use crate::sync::{AtomicU64, AtomicUsize, Ordering, order_for_loom};

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
        let index = lease::index();
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

    /// The end of a send begun with [`begin_inline`](Self::begin_inline)
    /// that held `held` (its snapshot) while its callbacks ran, let go of
    /// here.
    ///
    /// Held under the thread's hazard, on its own shard, the end is counted
    /// with a store and the let-go (a sequentially consistent swap of the
    /// hazard, which [`idle`](Self::idle) reads after announcing itself)
    /// orders it before the look for waiters: one of the two sees the other,
    /// as with [`ended`](Self::ended)'s read-modify-write, which this saves.
    #[inline(always)]
    pub(crate) fn end_holding<T>(&self, local: &Local<'_>, reached: usize, held: Held<'_, T>) {
        if !(local.owned && held.is_hazard()) {
            drop(held);
            self.end_on(local, reached);
            return;
        }
        local.add(|s| &s.completed, reached as u64);
        // The only writer. Released: a waiter that reads the end sees what
        // the callbacks did before it.
        let ended = &local.shard.ended;
        ended.store(
            ended.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Release,
        );
        drop(held);
        self.wake_if_idle();
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
        self.wake_if_idle();
    }

    /// After a send's end is counted (and ordered before this look): wakes
    /// the tasks waiting in [`idle`](Self::idle) if there are any and
    /// nothing is in flight. Paired with `idle`, which announces itself
    /// before summing: one of the two sees the other.
    #[inline(always)]
    fn wake_if_idle(&self) {
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

    /// Waits until no send is in flight. `observe_holders` reads the
    /// hazards of the signal's snapshot, whose let-go orders the ends
    /// counted by [`end_holding`](Self::end_holding) with a store.
    pub(crate) async fn idle(&self, observe_holders: impl Fn()) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(&self.waiters);
        loop {
            let listener = self.idle.listen();
            order_for_loom();
            observe_holders();
            if self.in_flight_sum() == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// Leaves the waiters' count however `idle` ends (it may be cancelled).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
