//! The signal handle, and how to build one.

use std::fmt;
use std::hash::{Hash, Hasher};

use std::any::Any;
use std::future::Future;
use std::num::NonZeroUsize;

use crate::callback::{Callback, Handler};
use crate::connection::Connection;
use crate::error::Failure;
use crate::filter::Filter;
use crate::flight::Flight;
use crate::interest::{Interest, InterestWatch};
use crate::mode::Mode;
use crate::router::{Key, Router};
use crate::send::SendBuilder;
use crate::sender::address_of;
use crate::spawn::{Executor, Spawn};
use crate::stats::{Counters, Stats};
use crate::subscribe::{Buffer, Feeder, Subscription};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, Weak};

/// The error hook a signal reports failed callbacks to.
type ErrorHook = Arc<dyn Fn(&Failure) + Send + Sync>;

/// A signal: callbacks connect to it, sends schedule them.
///
/// `A` is the signal's argument type (its declared keyword arguments, with
/// the signal holding their defaults); `K` is the key type, `String` unless
/// chosen otherwise; `R` is what callbacks return, `()` unless chosen
/// otherwise (an awaited send collects the values in its
/// [`Report`](crate::Report)). A `Signal` is a cheap handle: clones share
/// one signal, and compare equal (`==` is identity).
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Filter, Signal};
///
/// #[derive(Clone, Debug)]
/// struct Args { message: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal = Signal::with_defaults(Args { message: "none".into() });
/// signal.connect(|event: Event<Args>| println!("everyone: {}", event.args().message));
/// signal.connect_filtered(Filter::new().key("books"), |event: Event<Args>| {
///     println!("books only: {}", event.args().message)
/// });
///
/// assert_eq!(signal.send().schedule().unwrap(), 1);
/// let scheduled = signal.send().key("books").with(|a| a.message = "new".into()).schedule();
/// assert_eq!(scheduled.unwrap(), 2);
/// # }
/// ```
pub struct Signal<A = (), K = String, R = ()> {
    inner: Arc<Inner<A, K, R>>,
}

pub(crate) struct Inner<A, K, R> {
    pub(crate) router: Router<Callback<A, K, R>, K>,
    pub(crate) defaults: Arc<A>,
    pub(crate) executor: Executor,
    pub(crate) mode: Mode,
    pub(crate) flight: Flight,
    pub(crate) counters: Counters,
    closed: AtomicBool,
    blocked: AtomicUsize,
    on_error: Option<ErrorHook>,
    name: Option<String>,
}

impl<A, K, R> Inner<A, K, R> {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Acquire) > 0
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("<unnamed>")
    }
}

impl<A, K, R> Signal<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// A signal whose arguments default to `A::default()`.
    pub fn new() -> Self
    where
        A: Default,
    {
        Signal::builder(A::default()).build()
    }

    /// A signal with the given default arguments.
    pub fn with_defaults(defaults: A) -> Self {
        Signal::builder(defaults).build()
    }

    /// A builder for a signal with the given default arguments, to set its
    /// name, spawner or error hook.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::Signal;
    ///
    /// let signal: Signal<u32> = Signal::builder(7).name("ticks").build();
    /// assert_eq!(signal.name(), Some("ticks"));
    /// assert_eq!(*signal.defaults(), 7);
    /// ```
    pub fn builder(defaults: A) -> SignalBuilder<A, K, R> {
        SignalBuilder {
            defaults,
            executor: Executor::default(),
            mode: Mode::default(),
            max_in_flight: None,
            on_error: None,
            name: None,
            _types: std::marker::PhantomData,
        }
    }

    /// Connects `handler` unfiltered: it runs on every send.
    ///
    /// Anything implementing [`Handler`] connects: functions, closures,
    /// async functions and closures, and methods of weakly held owners
    /// through [`weak`](crate::weak). Closures are held strongly: what they
    /// capture lives as long as the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect(|_: Event| println!("called"));
    /// assert!(connection.is_connected());
    /// ```
    pub fn connect<H, M>(&self, handler: H) -> Connection<A, K, R>
    where
        H: Handler<A, K, R, M>,
    {
        self.connect_filtered(Filter::new(), handler)
    }

    /// Connects `handler` with a filter: it runs only on sends naming one of
    /// the filter's senders or keys (an empty filter connects unfiltered).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let ashley = Arc::new("Ashley");
    /// signal.connect_filtered(Filter::new().sender(&ashley).key("books"), |_: Event| {});
    ///
    /// assert_eq!(signal.send().schedule().unwrap(), 0);
    /// assert_eq!(signal.send().sender(&ashley).schedule().unwrap(), 1);
    /// assert_eq!(signal.send().key("books").sender(&ashley).schedule().unwrap(), 1);
    /// # }
    /// ```
    pub fn connect_filtered<H, M>(&self, filter: Filter<K>, handler: H) -> Connection<A, K, R>
    where
        H: Handler<A, K, R, M>,
    {
        self.insert(handler.into_callback(), &filter, false)
    }

    /// Connects `handler` to run at most once: the first send that reaches
    /// it claims it and disconnects it, even when several sends race for it
    /// on different threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect_once(|_: Event| println!("only once"));
    /// assert_eq!(signal.send().schedule().unwrap(), 1);
    /// assert_eq!(signal.send().schedule().unwrap(), 0);
    /// assert!(!connection.is_connected());
    /// # }
    /// ```
    pub fn connect_once<H, M>(&self, handler: H) -> Connection<A, K, R>
    where
        H: Handler<A, K, R, M>,
    {
        self.connect_once_filtered(Filter::new(), handler)
    }

    /// [`connect_once`](Self::connect_once) with a filter.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// signal.connect_once_filtered(Filter::new().key("ready"), |_: Event| {});
    /// assert_eq!(signal.send().schedule().unwrap(), 0);
    /// assert_eq!(signal.send().key("ready").schedule().unwrap(), 1);
    /// assert_eq!(signal.send().key("ready").schedule().unwrap(), 0);
    /// # }
    /// ```
    pub fn connect_once_filtered<H, M>(&self, filter: Filter<K>, handler: H) -> Connection<A, K, R>
    where
        H: Handler<A, K, R, M>,
    {
        self.insert(handler.into_callback(), &filter, true)
    }

    /// Runs `scope` with `handler` connected, and disconnects it afterwards,
    /// even if `scope` panics (blinker's `connected_to`).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// let during = signal.connected_to(|_: Event| {}, || signal.len());
    /// assert_eq!(during, 1);
    /// assert_eq!(signal.len(), 0);
    /// ```
    pub fn connected_to<H, M, T>(&self, handler: H, scope: impl FnOnce() -> T) -> T
    where
        H: Handler<A, K, R, M>,
    {
        let _guard = self.connect(handler).guard();
        scope()
    }

    /// Awaits `scope` with `handler` connected, and disconnects it
    /// afterwards (also if the future is dropped early).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let report = signal
    ///     .connected_during(|_: Event| {}, async { signal.send().wait().await.unwrap() })
    ///     .await;
    /// assert_eq!(report.completed(), 1);
    /// assert!(signal.is_empty());
    /// # }
    /// ```
    pub async fn connected_during<H, M, T>(&self, handler: H, scope: impl Future<Output = T>) -> T
    where
        H: Handler<A, K, R, M>,
    {
        let _guard = self.connect(handler).guard();
        scope.await
    }

    /// The signal's events as a bounded [`Stream`](futures::Stream): every
    /// send matching `filter` puts its event in a buffer of `capacity`; a
    /// subscriber that falls behind loses the oldest events and is told how
    /// many. See [`Subscription`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use futures::StreamExt;
    /// use signal_dispatch::{Filter, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// let mut alerts = signal.subscribe(Filter::new().key("alert"), NonZeroUsize::new(16).unwrap());
    /// signal.send().key("alert").schedule().unwrap();
    /// let event = alerts.next().await.unwrap().unwrap();
    /// assert_eq!(event.keys(), ["alert"]);
    /// # }
    /// ```
    pub fn subscribe(&self, filter: Filter<K>, capacity: NonZeroUsize) -> Subscription<A, K, R> {
        let buffer = Arc::new(Buffer::new(capacity.get()));
        let callback = Callback::sink(Arc::new(Feeder(buffer.clone())));
        let connection = self.insert(callback, &filter, false);
        Subscription::new(buffer, connection.guard())
    }

    fn insert(
        &self,
        callback: Callback<A, K, R>,
        filter: &Filter<K>,
        once: bool,
    ) -> Connection<A, K, R> {
        if self.is_closed() {
            // A closed signal takes no connection: the handle is born
            // disconnected, and the callback is dropped here.
            return Connection::new(
                Weak::new(),
                crate::ConnectionId::next(),
                Arc::downgrade(&self.inner),
            );
        }
        let slot = if once {
            self.inner.router.insert_once(callback, filter)
        } else {
            self.inner.router.insert(callback, filter)
        };
        Connection::new(
            Arc::downgrade(&slot),
            slot.id(),
            Arc::downgrade(&self.inner),
        )
    }

    /// Starts a send; finish it with [`SendBuilder::schedule`].
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal<i32> = Signal::new();
    /// signal.connect(|event: Event<i32>| println!("got {}", event.args()));
    /// assert_eq!(signal.send().args(5).schedule().unwrap(), 1);
    /// # }
    /// ```
    #[inline(always)]
    pub fn send(&self) -> SendBuilder<'_, A, K, R> {
        SendBuilder::new(self)
    }

    /// Closes the signal: every connection ends, later sends fail with
    /// [`SendError::Closed`](crate::SendError::Closed), and later connects
    /// return handles that are already disconnected. Callbacks already
    /// scheduled still run; [`drained`](Self::drained) waits for them.
    /// Returns whether this call closed it (`false` if it was closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// signal.connect(|_: Event| {});
    /// signal.send().schedule().unwrap();
    /// assert!(signal.close());
    /// assert!(signal.send().schedule().unwrap_err().is_closed());
    /// signal.drained().await; // the callback scheduled before closing has run
    /// assert!(!signal.close());
    /// # }
    /// ```
    pub fn close(&self) -> bool {
        let first = !self.inner.closed.swap(true, Ordering::AcqRel);
        if first {
            self.inner.router.clear();
        }
        first
    }

    /// Whether the signal was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits until no send of this signal has a callback still running
    /// (nor, for awaited sends, still being waited on).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// signal.connect(|_: Event| tokio::time::sleep(Duration::from_millis(10)));
    /// signal.send().schedule().unwrap();
    /// assert_eq!(signal.in_flight(), 1);
    /// signal.drained().await;
    /// assert_eq!(signal.in_flight(), 0);
    /// # }
    /// ```
    pub async fn drained(&self) {
        let router = &self.inner.router;
        self.inner.counters.idle(|| router.observe_holders()).await;
    }

    /// How many sends have callbacks still running.
    pub fn in_flight(&self) -> usize {
        self.inner.counters.in_flight()
    }

    /// Blocks the whole signal until the guard is dropped: sends meanwhile
    /// reach nothing and return 0 (blinker's `muted`). Blocks nest.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// signal.connect(|_: Event| {});
    /// {
    ///     let _muted = signal.block();
    ///     assert_eq!(signal.send().schedule().unwrap(), 0);
    /// }
    /// assert_eq!(signal.send().schedule().unwrap(), 1);
    /// # }
    /// ```
    pub fn block(&self) -> SignalBlockGuard<A, K, R> {
        self.inner.blocked.fetch_add(1, Ordering::AcqRel);
        SignalBlockGuard {
            signal: self.clone(),
        }
    }

    /// Whether a block is in force on the whole signal.
    pub fn is_blocked(&self) -> bool {
        self.inner.is_blocked()
    }

    /// How many connections listen to `key` (unfiltered ones not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    /// signal.connect(|_: Event| {});
    /// assert_eq!(signal.count_key(&"a".to_string()), 1);
    /// assert_eq!(signal.count_unfiltered(), 1);
    /// ```
    pub fn count_key(&self, key: &K) -> usize {
        self.inner.router.count_key(key)
    }

    /// How many connections listen to `sender` (unfiltered ones not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// let mike = Arc::new("Mike");
    /// signal.connect_filtered(Filter::new().sender(&mike), |_: Event| {});
    /// assert_eq!(signal.count_sender(&mike), 1);
    /// assert_eq!(signal.count_sender(&Arc::new("Mike")), 0);
    /// ```
    pub fn count_sender<T: Any + Send + Sync>(&self, sender: &Arc<T>) -> usize {
        self.inner.router.count_sender(address_of(sender))
    }

    /// How many connections are unfiltered.
    pub fn count_unfiltered(&self) -> usize {
        self.inner.router.count_unfiltered()
    }

    /// What the signal's connections listen to now: whether any is
    /// unfiltered, and which keys. See [`Interest`].
    pub fn interest(&self) -> Interest<K> {
        Interest {
            unfiltered: self.inner.router.count_unfiltered() > 0,
            keys: self.inner.router.keys(),
        }
    }

    /// Watches the signal's [`Interest`] change (an integration carrying
    /// sends from elsewhere subscribes to what local connections need). The
    /// watch holds the signal weakly.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # futures::executor::block_on(async {
    /// let signal: Signal = Signal::new();
    /// let mut watch = signal.watch_interest();
    /// watch.changed().await;
    /// signal.connect(|_: Event| {});
    /// assert!(watch.changed().await.unwrap().unfiltered);
    /// # });
    /// ```
    pub fn watch_interest(&self) -> InterestWatch<A, K, R> {
        InterestWatch::new(self)
    }

    pub(crate) fn route_version(&self) -> u64 {
        self.inner.router.version()
    }

    pub(crate) fn route_listener(&self) -> event_listener::EventListener {
        self.inner.router.listen()
    }

    /// The signal's counters: sends, callbacks scheduled and completed,
    /// failures, and connections pruned because their owner died.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot(self.inner.router.pruned())
    }

    /// How many callbacks are connected (dead weak owners not yet swept
    /// count until a connect, disconnect or [`prune`](Self::prune)).
    pub fn len(&self) -> usize {
        self.inner.router.len()
    }

    /// Whether no callback is connected.
    pub fn is_empty(&self) -> bool {
        self.inner.router.is_empty()
    }

    /// Disconnects, now, every callback whose weak owner died and every
    /// route to a dead sender. Returns how many connections it removed.
    ///
    /// Never needed for correctness (a dead owner's callback never runs and
    /// connects and disconnects sweep a few at a time); it returns memory at
    /// once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use signal_dispatch::{Event, Signal, weak};
    ///
    /// struct Owner;
    /// let signal: Signal = Signal::new();
    /// let owner = Arc::new(Owner);
    /// signal.connect(weak(&owner, |_: &Owner, _: Event| {}));
    /// drop(owner);
    /// assert_eq!(signal.prune(), 1);
    /// assert!(signal.is_empty());
    /// ```
    pub fn prune(&self) -> usize {
        self.inner.router.prune()
    }

    /// Disconnects every callback. Returns how many were connected.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// let connection = signal.connect(|_: Event| {});
    /// assert_eq!(signal.disconnect_all(), 1);
    /// assert!(!connection.is_connected());
    /// ```
    pub fn disconnect_all(&self) -> usize {
        self.inner.router.clear()
    }

    /// The signal's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The default arguments.
    pub fn defaults(&self) -> &A {
        &self.inner.defaults
    }

    /// How the signal's sends run their callbacks unless a send says
    /// otherwise ([`SendBuilder::mode`](crate::SendBuilder::mode)).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Mode, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// assert_eq!(signal.mode(), Mode::Spawned);
    /// let batched: Signal = Signal::builder(()).mode(Mode::Batched).build();
    /// assert_eq!(batched.mode(), Mode::Batched);
    /// ```
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// A weak handle that does not keep the signal alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::Signal;
    ///
    /// let signal: Signal = Signal::new();
    /// let weak = signal.downgrade();
    /// assert!(weak.upgrade().is_some_and(|s| s == signal));
    /// drop(signal);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSignal<A, K, R> {
        WeakSignal {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Hands a failed callback's report to the error hook.
    pub(crate) fn report(&self, failure: Failure) {
        match &self.inner.on_error {
            Some(hook) => hook(&failure),
            #[cfg(feature = "tracing")]
            None => tracing::error!(
                signal = self.inner.name(),
                connection = failure.connection().get(),
                "{failure}"
            ),
            #[cfg(not(feature = "tracing"))]
            None => eprintln!(
                "signal {}: connection {}: {failure}",
                self.inner.name.as_deref().unwrap_or("<unnamed>"),
                failure.connection()
            ),
        }
    }
}

impl<A, K, R> Signal<A, K, R> {
    pub(crate) fn inner(&self) -> &Inner<A, K, R> {
        &self.inner
    }
}

impl<A, K, R> Default for Signal<A, K, R>
where
    A: Default + Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn default() -> Self {
        Signal::new()
    }
}

impl<A, K, R> Clone for Signal<A, K, R> {
    fn clone(&self) -> Self {
        Signal {
            inner: self.inner.clone(),
        }
    }
}

impl<A, K, R> PartialEq for Signal<A, K, R> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<A, K, R> Eq for Signal<A, K, R> {}

impl<A, K, R> Hash for Signal<A, K, R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.inner) as usize).hash(state);
    }
}

impl<A, K, R> fmt::Debug for Signal<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("name", &self.inner.name)
            .field("connections", &self.inner.router.len())
            .field("mode", &self.inner.mode)
            .field("in_flight", &self.inner.counters.in_flight())
            .field("max_in_flight", &self.inner.flight.limit())
            .field("closed", &self.inner.is_closed())
            .field("blocked", &self.inner.is_blocked())
            .field("executor", &self.inner.executor)
            .finish_non_exhaustive()
    }
}

/// A weak handle to a signal, made by [`Signal::downgrade`].
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Signal, WeakSignal};
///
/// let signal: Signal = Signal::new();
/// let weak: WeakSignal = signal.downgrade();
/// assert!(weak.upgrade().is_some());
/// ```
pub struct WeakSignal<A = (), K = String, R = ()> {
    inner: Weak<Inner<A, K, R>>,
}

impl<A, K, R> WeakSignal<A, K, R> {
    /// The signal, if it is still alive.
    pub fn upgrade(&self) -> Option<Signal<A, K, R>> {
        self.inner.upgrade().map(|inner| Signal { inner })
    }
}

impl<A, K, R> Clone for WeakSignal<A, K, R> {
    fn clone(&self) -> Self {
        WeakSignal {
            inner: self.inner.clone(),
        }
    }
}

impl<A, K, R> fmt::Debug for WeakSignal<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSignal")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

/// Builds a [`Signal`]; made by [`Signal::builder`].
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Failure, Signal};
///
/// let signal: Signal<&str> = Signal::builder("default message")
///     .name("alerts")
///     .on_error(|failure: &Failure| eprintln!("alert handler failed: {failure}"))
///     .build();
/// assert_eq!(*signal.defaults(), "default message");
/// ```
#[must_use = "a builder does nothing until `.build()` is called"]
pub struct SignalBuilder<A, K = String, R = ()> {
    defaults: A,
    executor: Executor,
    mode: Mode,
    max_in_flight: Option<NonZeroUsize>,
    on_error: Option<ErrorHook>,
    name: Option<String>,
    _types: std::marker::PhantomData<fn() -> (K, R)>,
}

impl<A, K, R> SignalBuilder<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// How sends run callbacks unless they say otherwise (by default
    /// [`Mode::Spawned`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Limits how many callbacks of this signal may be in flight at once.
    /// A [`schedule`](crate::SendBuilder::schedule) that would exceed it
    /// fails with [`SendError::Full`](crate::SendError::Full), giving the
    /// send back; a [`wait`](crate::SendBuilder::wait) waits for room. The
    /// memory held by pending callbacks is bounded accordingly.
    ///
    /// A `schedule` must find room for all its callbacks at once, so one that
    /// reaches more callbacks than the limit always fails: such sends must
    /// `wait` (which takes places one callback at a time). Subscriptions
    /// take no place.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::builder(()).max_in_flight(NonZeroUsize::new(1).unwrap()).build();
    /// signal.connect(|_: Event| {});
    /// signal.send().schedule().unwrap();
    /// assert!(signal.send().schedule().unwrap_err().is_full()); // the first has not run yet
    /// signal.send().wait().await.unwrap(); // waits for room instead
    /// # }
    /// ```
    pub fn max_in_flight(mut self, limit: NonZeroUsize) -> Self {
        self.max_in_flight = Some(limit);
        self
    }

    /// Names the signal (shown in `Debug`, failures and logs).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Runs callbacks on this tokio runtime, wherever the send happens
    /// (by default, on the runtime current at each send).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let signal: Signal = Signal::builder(()).runtime(runtime.handle().clone()).build();
    /// signal.connect(|_: Event| {});
    /// // Sending from a thread with no runtime works: callbacks run on `runtime`.
    /// assert_eq!(signal.send().schedule().unwrap(), 1);
    /// ```
    #[cfg(feature = "tokio")]
    pub fn runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.executor = Executor::Tokio(handle);
        self
    }

    /// Runs callbacks with this spawner instead of tokio.
    pub fn spawner(mut self, spawner: impl Spawn) -> Self {
        self.executor = Executor::Custom(Arc::new(spawner));
        self
    }

    /// Reports failed callbacks (panics, and `Err`s returned) to `hook`
    /// instead of logging them as `tracing` error events.
    ///
    /// The hook runs in the failed callback's task. A hook that panics is
    /// treated like a panicking task of the executor.
    pub fn on_error(mut self, hook: impl Fn(&Failure) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Builds the signal.
    pub fn build(self) -> Signal<A, K, R> {
        Signal {
            inner: Arc::new(Inner {
                router: Router::new(),
                defaults: Arc::new(self.defaults),
                executor: self.executor,
                mode: self.mode,
                flight: Flight::new(self.max_in_flight.map(NonZeroUsize::get)),
                counters: Counters::default(),
                closed: AtomicBool::new(false),
                blocked: AtomicUsize::new(0),
                on_error: self.on_error,
                name: self.name,
            }),
        }
    }
}

/// A block on a whole signal, lifted when dropped; made by
/// [`Signal::block`].
///
/// # Examples
///
/// ```
/// use signal_dispatch::Signal;
///
/// let signal: Signal = Signal::new();
/// let guard = signal.block();
/// assert!(signal.is_blocked());
/// drop(guard);
/// assert!(!signal.is_blocked());
/// ```
#[must_use = "dropping a SignalBlockGuard lifts the block at once"]
pub struct SignalBlockGuard<A = (), K = String, R = ()> {
    signal: Signal<A, K, R>,
}

impl<A, K, R> Drop for SignalBlockGuard<A, K, R> {
    fn drop(&mut self) {
        self.signal.inner.blocked.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<A, K, R> fmt::Debug for SignalBlockGuard<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalBlockGuard").finish_non_exhaustive()
    }
}

impl<A, K, R> fmt::Debug for SignalBuilder<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalBuilder")
            .field("name", &self.name)
            .field("executor", &self.executor)
            .field("mode", &self.mode)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}
