//! Counters a signal keeps about itself.

use crate::sync::{AtomicU64, Ordering};

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

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sends: AtomicU64,
    pub(crate) scheduled: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, pruned: u64) -> Stats {
        Stats {
            sends: self.sends.load(Ordering::Relaxed),
            scheduled: self.scheduled.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            pruned,
        }
    }
}
