//! Connections: the handle `connect` returns, and its guard.

use std::fmt;

use crate::callback::Callback;
use crate::filter::Filter;
use crate::router::{Key, Slot};
use crate::signal::Inner;
use crate::sync::Weak;

/// A connection's id: unique among all connections of the process.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Signal};
///
/// let signal: Signal = Signal::new();
/// let a = signal.connect(|_: Event| {});
/// let b = signal.connect(|_: Event| {});
/// assert_ne!(a.id(), b.id());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub(crate) fn next() -> Self {
        // A process-wide counter: std's even under loom (a static needs a
        // const constructor), and only uniqueness matters.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ConnectionId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

type CallbackSlot<A, K, R> = Slot<Callback<A, K, R>, K>;

/// A handle to one connection of a callback to a signal.
///
/// Dropping the handle leaves the callback connected (as in the seed, a
/// connection lasts until it is disconnected, or its weak owner dies); use
/// [`guard`](Connection::guard) for a connection that ends with a scope.
/// The handle keeps neither the signal nor the callback alive.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Filter, Signal};
///
/// let signal: Signal = Signal::new();
/// let connection = signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
/// assert!(connection.remove_filter(Filter::new().key("a"))); // still has "b"
/// assert!(connection.disconnect());
/// assert!(!connection.is_connected());
/// assert!(!connection.disconnect()); // a second time is a no-op
/// ```
pub struct Connection<A = (), K = String, R = ()> {
    id: ConnectionId,
    slot: Weak<CallbackSlot<A, K, R>>,
    signal: Weak<Inner<A, K, R>>,
}

impl<A, K, R> Connection<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    pub(crate) fn new(
        slot: Weak<CallbackSlot<A, K, R>>,
        id: ConnectionId,
        signal: Weak<Inner<A, K, R>>,
    ) -> Self {
        Connection { id, slot, signal }
    }

    /// The connection's id (as [`Failure::connection`](crate::Failure::connection) reports it).
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Whether the callback is still connected: not disconnected, its signal
    /// alive, and its weak owner (if any) alive.
    pub fn is_connected(&self) -> bool {
        self.signal.strong_count() > 0
            && self
                .slot
                .upgrade()
                .is_some_and(|slot| slot.is_connected() && slot.is_target_live())
    }

    /// Disconnects the callback entirely. Returns whether it was connected;
    /// disconnecting twice, or after the signal was dropped, returns `false`.
    ///
    /// No send that begins after this returns runs the callback. A send that
    /// was already selecting callbacks may still have scheduled it, and a
    /// call already scheduled or running is not cancelled.
    ///
    /// Costs O(the connection's own routes).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect(|_: Event| {});
    /// assert!(connection.disconnect());
    /// assert_eq!(signal.send().schedule().unwrap(), 0);
    /// assert!(!connection.disconnect());
    /// # }
    /// ```
    pub fn disconnect(&self) -> bool {
        match (self.signal.upgrade(), self.slot.upgrade()) {
            (Some(signal), Some(slot)) => signal.router.remove(&slot),
            _ => false,
        }
    }

    /// Adds the routes of `filter` (the seed's "connect the same callback
    /// again with other filters"); an empty filter makes the connection
    /// unfiltered as well. Returns `false` if the connection is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect_filtered(Filter::new().key("a"), |_: Event| {});
    /// connection.add_filter(Filter::new().key("b"));
    /// assert_eq!(signal.send().key("b").schedule().unwrap(), 1);
    /// # }
    /// ```
    pub fn add_filter(&self, filter: Filter<K>) -> bool {
        match (self.signal.upgrade(), self.slot.upgrade()) {
            (Some(signal), Some(slot)) => signal.router.add_routes(&slot, &filter),
            _ => false,
        }
    }

    /// Removes the routes of `filter` only (an empty filter removes the
    /// unfiltered route). A connection left with no route is disconnected.
    /// Returns whether the connection is still connected afterwards.
    pub fn remove_filter(&self, filter: Filter<K>) -> bool {
        match (self.signal.upgrade(), self.slot.upgrade()) {
            (Some(signal), Some(slot)) => signal.router.remove_routes(&slot, &filter),
            _ => false,
        }
    }

    /// Blocks the connection until the guard is dropped: sends meanwhile
    /// skip it (and do not count it). Blocks nest.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect(|_: Event| {});
    /// {
    ///     let _quiet = connection.block();
    ///     assert_eq!(signal.send().schedule().unwrap(), 0);
    /// }
    /// assert_eq!(signal.send().schedule().unwrap(), 1);
    /// # }
    /// ```
    pub fn block(&self) -> BlockGuard<A, K, R> {
        if let Some(slot) = self.slot.upgrade() {
            match self.signal.upgrade() {
                Some(signal) => signal.router.block(&slot),
                // No signal, no send to tell.
                None => slot.add_block(),
            }
        }
        BlockGuard {
            slot: self.slot.clone(),
        }
    }

    /// Whether a block is in force on the connection.
    pub fn is_blocked(&self) -> bool {
        self.slot.upgrade().is_some_and(|slot| slot.is_blocked())
    }

    /// Turns the handle into a guard that disconnects when dropped.
    pub fn guard(self) -> ConnectionGuard<A, K, R> {
        ConnectionGuard {
            connection: self,
            armed: true,
        }
    }
}

impl<A, K, R> Clone for Connection<A, K, R> {
    fn clone(&self) -> Self {
        Connection {
            id: self.id,
            slot: self.slot.clone(),
            signal: self.signal.clone(),
        }
    }
}

impl<A, K, R> fmt::Debug for Connection<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let connected = self.signal.strong_count() > 0
            && self.slot.upgrade().is_some_and(|slot| slot.is_connected());
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("connected", &connected)
            .finish()
    }
}

/// A connection that is disconnected when the guard is dropped.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Signal};
///
/// let signal: Signal = Signal::new();
/// {
///     let _guard = signal.connect(|_: Event| {}).guard();
///     assert_eq!(signal.len(), 1);
/// }
/// assert_eq!(signal.len(), 0);
/// ```
#[must_use = "dropping a ConnectionGuard disconnects its callback at once"]
pub struct ConnectionGuard<A = (), K = String, R = ()>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    connection: Connection<A, K, R>,
    armed: bool,
}

impl<A, K, R> ConnectionGuard<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The guarded connection.
    pub fn connection(&self) -> &Connection<A, K, R> {
        &self.connection
    }

    /// Gives up the guard without disconnecting.
    pub fn disarm(mut self) -> Connection<A, K, R> {
        self.armed = false;
        self.connection.clone()
    }
}

impl<A, K, R> Drop for ConnectionGuard<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn drop(&mut self) {
        // Safe to run from anywhere, a callback or another `Drop` included:
        // disconnecting takes only the signal's writer lock, and drops the
        // callback after releasing it.
        if self.armed {
            self.connection.disconnect();
        }
    }
}

impl<A, K, R> fmt::Debug for ConnectionGuard<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectionGuard")
            .field(&self.connection)
            .finish()
    }
}

/// A block on one connection, lifted when the guard is dropped; made by
/// [`Connection::block`].
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Signal};
///
/// let signal: Signal = Signal::new();
/// let connection = signal.connect(|_: Event| {});
/// let guard = connection.block();
/// assert!(connection.is_blocked());
/// drop(guard);
/// assert!(!connection.is_blocked());
/// ```
#[must_use = "dropping a BlockGuard lifts the block at once"]
pub struct BlockGuard<A = (), K = String, R = ()> {
    slot: Weak<CallbackSlot<A, K, R>>,
}

impl<A, K, R> Drop for BlockGuard<A, K, R> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.upgrade() {
            slot.unblock();
        }
    }
}

impl<A, K, R> fmt::Debug for BlockGuard<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockGuard").finish_non_exhaustive()
    }
}
