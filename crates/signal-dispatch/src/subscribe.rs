//! Subscriptions: a signal's events as a bounded stream.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::task::AtomicWaker;

use crate::callback::Sink;
use crate::connection::ConnectionGuard;
use crate::event::Event;
use crate::router::Key;
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, lock};

/// A subscriber fell behind: this many events were dropped, oldest first,
/// to keep its buffer bounded.
///
/// # Examples
///
/// ```
/// use signal_dispatch::Lagged;
///
/// assert_eq!(Lagged(3).to_string(), "subscriber lagged behind and missed 3 events");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged(pub u64);

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscriber lagged behind and missed {} events", self.0)
    }
}

impl StdError for Lagged {}

/// A signal's events as a [`Stream`], made by
/// [`Signal::subscribe`](crate::Signal::subscribe).
///
/// Each send that matches the subscription's filter puts its event in a
/// buffer of fixed capacity, at send time, without spawning anything and
/// without waiting: a full buffer drops its oldest event, and the stream
/// then yields `Err(Lagged(n))` with how many it dropped before the next
/// event. The sender is never slowed and memory never grows past the
/// capacity.
///
/// The stream ends once its connection ends (the signal was closed,
/// dropped, or [`disconnect_all`](crate::Signal::disconnect_all)ed) and the
/// buffer is empty. Dropping the subscription disconnects it.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use futures::StreamExt;
/// use signal_dispatch::{Filter, Lagged, Signal};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal<u32> = Signal::new();
/// let mut events = signal.subscribe(Filter::new(), NonZeroUsize::new(2).unwrap());
/// for n in 1..=3 {
///     signal.send().args(n).schedule().unwrap();
/// }
/// assert_eq!(events.next().await.unwrap().unwrap_err(), Lagged(1));
/// assert_eq!(*events.next().await.unwrap().unwrap().args(), 2);
/// assert_eq!(*events.next().await.unwrap().unwrap().args(), 3);
/// signal.close();
/// assert!(events.next().await.is_none());
/// # }
/// ```
pub struct Subscription<A, K = String, R = ()>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    buffer: Arc<Buffer<A, K, R>>,
    connection: ConnectionGuard<A, K, R>,
}

pub(crate) struct Buffer<A, K, R> {
    queue: Mutex<Queue<A, K, R>>,
    waker: AtomicWaker,
    subscribed: AtomicBool,
}

struct Queue<A, K, R> {
    events: VecDeque<Event<A, K, R>>,
    capacity: usize,
    missed: u64,
}

impl<A, K, R> Buffer<A, K, R> {
    pub(crate) fn new(capacity: usize) -> Self {
        Buffer {
            queue: Mutex::new(Queue {
                events: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                missed: 0,
            }),
            waker: AtomicWaker::new(),
            subscribed: AtomicBool::new(true),
        }
    }
}

/// What the subscription's connection holds: it feeds the buffer, and when
/// the connection ends (its slot is dropped) it wakes the stream to end it.
pub(crate) struct Feeder<A, K, R>(pub(crate) Arc<Buffer<A, K, R>>);

impl<A, K, R> Drop for Feeder<A, K, R> {
    fn drop(&mut self) {
        self.0.waker.wake();
    }
}

impl<A, K, R> Sink<A, K, R> for Feeder<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn push(&self, event: Event<A, K, R>) {
        self.0.push(event);
    }

    fn is_live(&self) -> bool {
        self.0.subscribed.load(Ordering::Acquire)
    }
}

impl<A, K, R> Buffer<A, K, R> {
    fn push(&self, event: Event<A, K, R>) {
        let evicted = {
            let mut queue = lock(&self.queue);
            let evicted = if queue.events.len() == queue.capacity {
                queue.missed += 1;
                queue.events.pop_front()
            } else {
                None
            };
            queue.events.push_back(event);
            evicted
        };
        // Dropped outside the lock: the last reference to an event drops the
        // send's arguments, which are user values.
        drop(evicted);
        self.waker.wake();
    }
}

impl<A, K, R> Subscription<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    pub(crate) fn new(buffer: Arc<Buffer<A, K, R>>, connection: ConnectionGuard<A, K, R>) -> Self {
        Subscription { buffer, connection }
    }

    /// How many events wait in the buffer.
    pub fn len(&self) -> usize {
        lock(&self.buffer.queue).events.len()
    }

    /// Whether no event waits in the buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The subscription's connection (to block it, or to change its filter).
    pub fn connection(&self) -> &crate::Connection<A, K, R> {
        self.connection.connection()
    }

    fn take(&self) -> Option<Result<Event<A, K, R>, Lagged>> {
        let mut queue = lock(&self.buffer.queue);
        if queue.missed > 0 {
            let missed = std::mem::take(&mut queue.missed);
            return Some(Err(Lagged(missed)));
        }
        queue.events.pop_front().map(Ok)
    }
}

impl<A, K, R> Stream for Subscription<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    type Item = Result<Event<A, K, R>, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(item) = self.take() {
            return Poll::Ready(Some(item));
        }
        self.buffer.waker.register(cx.waker());
        // Look again: an event may have arrived before the waker was set.
        if let Some(item) = self.take() {
            return Poll::Ready(Some(item));
        }
        if self.connection.connection().is_connected() {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

impl<A, K, R> Drop for Subscription<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn drop(&mut self) {
        // Sends racing with the drop skip the buffer from now on; the guard
        // then disconnects.
        self.buffer.subscribed.store(false, Ordering::Release);
    }
}

impl<A, K, R> fmt::Debug for Subscription<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = lock(&self.buffer.queue);
        f.debug_struct("Subscription")
            .field("buffered", &queue.events.len())
            .field("capacity", &queue.capacity)
            .field("missed", &queue.missed)
            .field("connection", self.connection.connection())
            .finish()
    }
}
