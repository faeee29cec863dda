//! The signal handle, and how to build one.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::callback::{Callback, Handler};
use crate::connection::Connection;
use crate::error::Failure;
use crate::filter::Filter;
use crate::router::{Key, Router};
use crate::send::SendBuilder;
use crate::spawn::{Executor, Spawn};
use crate::sync::{Arc, Weak};

/// The error hook a signal reports failed callbacks to.
type ErrorHook = Arc<dyn Fn(&Failure) + Send + Sync>;

/// A signal: callbacks connect to it, sends schedule them.
///
/// `A` is the signal's argument type (its declared keyword arguments, with
/// the signal holding their defaults); `K` is the key type, `String` unless
/// chosen otherwise. A `Signal` is a cheap handle: clones share one signal,
/// and compare equal (`==` is identity).
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
pub struct Signal<A = (), K = String> {
    inner: Arc<Inner<A, K>>,
}

pub(crate) struct Inner<A, K> {
    pub(crate) router: Router<Callback<A, K>, K>,
    pub(crate) defaults: Arc<A>,
    pub(crate) executor: Executor,
    on_error: Option<ErrorHook>,
    name: Option<String>,
}

impl<A, K> Signal<A, K>
where
    A: Send + Sync + 'static,
    K: Key,
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
    pub fn builder(defaults: A) -> SignalBuilder<A, K> {
        SignalBuilder {
            defaults,
            executor: Executor::default(),
            on_error: None,
            name: None,
            _keys: std::marker::PhantomData,
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
    pub fn connect<H, M>(&self, handler: H) -> Connection<A, K>
    where
        H: Handler<A, K, M>,
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
    pub fn connect_filtered<H, M>(&self, filter: Filter<K>, handler: H) -> Connection<A, K>
    where
        H: Handler<A, K, M>,
    {
        let slot = self.inner.router.insert(handler.into_callback(), &filter);
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
    pub fn send(&self) -> SendBuilder<'_, A, K> {
        SendBuilder::new(self)
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
    pub fn downgrade(&self) -> WeakSignal<A, K> {
        WeakSignal {
            inner: Arc::downgrade(&self.inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner<A, K> {
        &self.inner
    }

    /// Hands a failed callback's report to the error hook.
    pub(crate) fn report(&self, failure: Failure) {
        match &self.inner.on_error {
            Some(hook) => hook(&failure),
            None => tracing::error!(
                signal = self.inner.name.as_deref().unwrap_or("<unnamed>"),
                connection = failure.connection().get(),
                "{failure}"
            ),
        }
    }
}

impl<A, K> Default for Signal<A, K>
where
    A: Default + Send + Sync + 'static,
    K: Key,
{
    fn default() -> Self {
        Signal::new()
    }
}

impl<A, K> Clone for Signal<A, K> {
    fn clone(&self) -> Self {
        Signal {
            inner: self.inner.clone(),
        }
    }
}

impl<A, K> PartialEq for Signal<A, K> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<A, K> Eq for Signal<A, K> {}

impl<A, K> Hash for Signal<A, K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.inner) as usize).hash(state);
    }
}

impl<A, K> fmt::Debug for Signal<A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("name", &self.inner.name)
            .field("connections", &self.inner.router.len())
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
pub struct WeakSignal<A = (), K = String> {
    inner: Weak<Inner<A, K>>,
}

impl<A, K> WeakSignal<A, K> {
    /// The signal, if it is still alive.
    pub fn upgrade(&self) -> Option<Signal<A, K>> {
        self.inner.upgrade().map(|inner| Signal { inner })
    }
}

impl<A, K> Clone for WeakSignal<A, K> {
    fn clone(&self) -> Self {
        WeakSignal {
            inner: self.inner.clone(),
        }
    }
}

impl<A, K> fmt::Debug for WeakSignal<A, K> {
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
pub struct SignalBuilder<A, K = String> {
    defaults: A,
    executor: Executor,
    on_error: Option<ErrorHook>,
    name: Option<String>,
    _keys: std::marker::PhantomData<fn() -> K>,
}

impl<A, K> SignalBuilder<A, K>
where
    A: Send + Sync + 'static,
    K: Key,
{
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
    pub fn build(self) -> Signal<A, K> {
        Signal {
            inner: Arc::new(Inner {
                router: Router::new(),
                defaults: Arc::new(self.defaults),
                executor: self.executor,
                on_error: self.on_error,
                name: self.name,
            }),
        }
    }
}

impl<A, K> fmt::Debug for SignalBuilder<A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalBuilder")
            .field("name", &self.name)
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}
