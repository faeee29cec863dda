//! Reports: what an awaited send's callbacks did.

use std::fmt;
use std::mem::ManuallyDrop;

use crate::connection::ConnectionId;
use crate::error::Failure;

/// What the callbacks of one awaited send did: how many ran, what they
/// returned, which failed and how, and — if the wait timed out — which are
/// still running.
///
/// Values come in the order the callbacks finished. Collect them with
/// [`values`](Report::values) / [`into_values`](Report::into_values), or
/// combine them with [`fold`](Report::fold).
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Signal};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Each callback returns a quote; the caller picks the lowest.
/// let signal: Signal<(), String, u32> = Signal::new();
/// signal.connect(|_: Event<(), String, u32>| 30);
/// signal.connect(|_: Event<(), String, u32>| async { 20 });
/// signal.connect(|_: Event<(), String, u32>| Err::<u32, _>("no quote today"));
///
/// let report = signal.send().wait().await.unwrap();
/// assert_eq!(report.scheduled(), 3);
/// assert!(report.is_complete());
/// assert_eq!(report.failures().len(), 1);
/// assert_eq!(report.fold(u32::MAX, |best, quote| best.min(quote)), 20);
/// # }
/// ```
pub struct Report<R = ()> {
    pub(crate) scheduled: usize,
    pub(crate) values: Vec<R>,
    /// What most sends have none of, boxed when first needed: a report is
    /// moved out of every awaited send, and a small one moves cheaply.
    unusual: Rare,
}

/// A report's [`Unusual`] parts, if it has any: dropped by a look at the
/// pointer, inline, and a call only when there is something to free (a
/// plain `Option<Box<_>>` is dropped by a call made from every report's
/// drop).
#[derive(Default)]
struct Rare(ManuallyDrop<Option<Box<Unusual>>>);

impl Drop for Rare {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(unusual) = self.0.take() {
            free(unusual);
        }
    }
}

#[cold]
#[inline(never)]
fn free(unusual: Box<Unusual>) {
    drop(unusual);
}

/// The parts of a [`Report`] most sends leave empty.
#[derive(Default)]
struct Unusual {
    failures: Vec<Failure>,
    streamed: usize,
    pending: Vec<ConnectionId>,
}

impl<R> Report<R> {
    pub(crate) fn empty() -> Self {
        Report {
            scheduled: 0,
            values: Vec::new(),
            unusual: Rare::default(),
        }
    }

    fn unusual(&mut self) -> &mut Unusual {
        self.unusual.0.get_or_insert_with(Box::default)
    }

    /// Counts `streamed` subscriptions fed.
    pub(crate) fn set_streamed(&mut self, streamed: usize) {
        if streamed > 0 {
            self.unusual().streamed = streamed;
        }
    }

    /// Records a failed callback.
    pub(crate) fn push_failure(&mut self, failure: Failure) {
        self.unusual().failures.push(failure);
    }

    /// Names the callbacks that did not finish.
    pub(crate) fn set_pending(&mut self, pending: Vec<ConnectionId>) {
        if !pending.is_empty() {
            self.unusual().pending = pending;
        }
    }

    fn streamed(&self) -> usize {
        self.unusual
            .0
            .as_ref()
            .map_or(0, |unusual| unusual.streamed)
    }

    /// Makes room for the values of `calls` callbacks, so that recording
    /// them does not grow the vector one by one.
    pub(crate) fn reserve(&mut self, calls: usize) {
        self.values.reserve(calls);
    }

    /// How many connections the send reached (callbacks and subscriptions).
    pub fn scheduled(&self) -> usize {
        self.scheduled
    }

    /// How many finished: returned a value, failed, or (subscriptions)
    /// received the event.
    pub fn completed(&self) -> usize {
        self.values.len() + self.failures().len() + self.streamed()
    }

    /// Whether every scheduled callback finished.
    pub fn is_complete(&self) -> bool {
        self.pending().is_empty() && self.completed() == self.scheduled
    }

    /// Whether every scheduled callback finished without failing.
    pub fn is_success(&self) -> bool {
        self.is_complete() && self.failures().is_empty()
    }

    /// The values the callbacks returned.
    pub fn values(&self) -> &[R] {
        &self.values
    }

    /// The values the callbacks returned, taken out.
    pub fn into_values(self) -> Vec<R> {
        self.values
    }

    /// Combines the values into one.
    pub fn fold<T>(self, init: T, combine: impl FnMut(T, R) -> T) -> T {
        self.values.into_iter().fold(init, combine)
    }

    /// The callbacks that panicked or returned an error. (An awaited send
    /// reports failures here instead of to the signal's error hook.)
    pub fn failures(&self) -> &[Failure] {
        self.unusual
            .0
            .as_ref()
            .map_or(&[], |unusual| &unusual.failures)
    }

    /// The callbacks still running when the wait ended early (its deadline
    /// passed) or when a [`call`](crate::SendBuilder::call) returned, or
    /// that never ran (their runtime shut down, or a call had no executor
    /// to finish them on), in the order they connected.
    pub fn pending(&self) -> &[ConnectionId] {
        self.unusual
            .0
            .as_ref()
            .map_or(&[], |unusual| &unusual.pending)
    }
}

impl<R> fmt::Debug for Report<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("scheduled", &self.scheduled)
            .field("values", &self.values.len())
            .field("failures", &self.failures())
            .field("streamed", &self.streamed())
            .field("pending", &self.pending())
            .finish()
    }
}
