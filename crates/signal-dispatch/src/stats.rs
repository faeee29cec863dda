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

/// How many shards the counters are split into. Each thread updates the
/// shard of its own index, so a send made on one thread and completed on
/// another never bounces one cache line between them.
const SHARDS: usize = 4;

/// One thread-group's counters, on a cache line (pair) of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    /// Sends with callbacks to run, begun here.
    begun: AtomicU64,
    /// Sends with callbacks to run, ended here (a send may end on another
    /// thread than it began on). Begun minus ended, summed over the shards,
    /// is the count in flight; each count also counts sends, so a send
    /// costs two read-modify-writes for both.
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
    shards: [Shard; SHARDS],
    /// Tasks waiting in [`Counters::idle`]; while there are none, ending a
    /// send does not sum the shards.
    waiters: AtomicUsize,
    idle: Notifier,
}

/// The shard index of the current thread.
#[inline]
fn shard_index() -> usize {
    // std's even under loom: a static needs a const constructor, and the
    // shard only spreads contention. A const-initialised cell, not a lazy
    // value: reading it is one load, with no state to check and no
    // destructor to register.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    INDEX.with(|index| {
        let mut shard = index.get();
        if shard == usize::MAX {
            shard = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS;
            index.set(shard);
        }
        shard
    })
}

impl Shard {
    /// A send with `reached` callbacks to run begins: it is in flight.
    #[inline(always)]
    fn begin(&self, reached: usize) {
        self.begun.fetch_add(1, Ordering::SeqCst);
        self.scheduled.fetch_add(reached as u64, Ordering::Relaxed);
    }
}

impl Counters {
    #[inline]
    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// A callback failed.
    pub(crate) fn failed(&self) {
        self.shard().failed.fetch_add(1, Ordering::Relaxed);
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
        let shard = self.shard();
        if in_flight {
            shard.begin(reached);
        } else {
            shard.streamed_only.fetch_add(1, Ordering::Relaxed);
            shard.scheduled.fetch_add(reached as u64, Ordering::Relaxed);
        }
    }

    /// A send in flight ended, `completed` of its callbacks run.
    pub(crate) fn ended(&self, completed: usize) {
        self.end_on(self.shard(), completed);
    }

    /// A send whose `reached` callbacks all run in `run`, on this thread:
    /// [`sent`](Self::sent) before, [`ended`](Self::ended) after, with all
    /// of them completed, and the shard looked up once for both.
    #[inline(always)]
    pub(crate) fn run_inline<T>(&self, reached: usize, run: impl FnOnce() -> T) -> T {
        let shard = self.shard();
        shard.begin(reached);
        let ran = run();
        self.end_on(shard, reached);
        ran
    }

    /// [`ended`](Self::ended), counted on `shard`.
    #[inline(always)]
    fn end_on(&self, shard: &Shard, completed: usize) {
        shard
            .completed
            .fetch_add(completed as u64, Ordering::Relaxed);
        shard.ended.fetch_add(1, Ordering::SeqCst);
        // Paired with `idle`: it announces itself before summing, we count
        // the end before looking for it, so one of us sees the other.
        if self.waiters.load(Ordering::SeqCst) > 0 && self.in_flight_sum() == 0 {
            self.idle.notify(usize::MAX);
        }
    }

    /// Sends begun minus sends ended. The ends are read first, then the
    /// beginnings: both only grow, so the difference is never below the
    /// count in flight when the beginnings were read, and never negative
    /// (zero means that nothing was in flight then).
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
