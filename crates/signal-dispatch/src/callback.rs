//! Callbacks: everything that can be connected to a signal.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use futures::future::BoxFuture;

use crate::error::CallbackError;
use crate::event::Event;
use crate::router::{Key, Slot, Target};
use crate::sync::{Arc, Weak};

/// What a callback may return on a signal whose callbacks return `R`: an
/// `R` itself, or `Result<R, E>` for any error that converts into
/// `Box<dyn Error + Send + Sync>` (`std` errors, `String`, `&str`,
/// `anyhow::Error`, ...). `R` is `()` unless the signal says otherwise. An
/// `Err` is reported as a [`Failure`](crate::Failure).
///
/// # Examples
///
/// ```
/// use signal_dispatch::Outcome;
///
/// assert!(Outcome::<()>::into_result(()).is_ok());
/// assert_eq!(Outcome::<u32>::into_result(7_u32).unwrap(), 7);
/// assert!(Outcome::<u32>::into_result(Err::<u32, _>("broken")).is_err());
/// ```
pub trait Outcome<R>: Send + 'static {
    /// The outcome as a result.
    fn into_result(self) -> Result<R, CallbackError>;
}

impl<R: Send + 'static> Outcome<R> for R {
    fn into_result(self) -> Result<R, CallbackError> {
        Ok(self)
    }
}

impl<R, E> Outcome<R> for Result<R, E>
where
    R: Send + 'static,
    E: Into<Box<dyn StdError + Send + Sync + 'static>> + Send + 'static,
{
    fn into_result(self) -> Result<R, CallbackError> {
        self.map_err(CallbackError::from)
    }
}

/// Marker types that keep the implementations of [`Handler`] apart. The
/// compiler infers them; they never need naming.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Handler, marker};
///
/// fn is_sync_handler<H: Handler<(), String, (), marker::Direct<marker::Sync<()>>>>(_: H) {}
/// is_sync_handler(|_: Event| {});
/// ```
pub mod marker {
    use std::marker::PhantomData;

    /// A synchronous callable returning `O`.
    #[derive(Debug)]
    pub struct Sync<O>(PhantomData<fn() -> O>);

    /// A callable returning a future `F`.
    #[derive(Debug)]
    pub struct Async<F>(PhantomData<fn() -> F>);

    /// A synchronous method taking `&T`, returning `O`.
    #[derive(Debug)]
    pub struct ByRef<O>(PhantomData<fn() -> O>);

    /// A synchronous callable borrowing the event (`&Event`), returning `O`.
    #[derive(Debug)]
    pub struct Lent<O>(PhantomData<fn() -> O>);

    /// A method of a weakly held owner, itself of kind `M`.
    #[derive(Debug)]
    pub struct Owned<M>(PhantomData<fn() -> M>);

    /// A callable connected as it is, itself of kind `M`.
    #[derive(Debug)]
    pub struct Direct<M>(PhantomData<fn() -> M>);
}

/// Anything that can be connected to a signal of arguments `A`, keys `K`
/// and callback results `R`.
///
/// One trait covers every kind of callable. It is implemented for:
///
/// - functions and closures `Fn(Event<A, K, R>) -> O`,
/// - functions and closures borrowing the event, `Fn(&Event<A, K, R>) -> O`:
///   the cheapest kind, as the send lends its one event to them instead of
///   giving each its own reference-counted handle (they can still clone it),
/// - `async fn`s, async closures, and closures returning a future,
///   `Fn(Event<A, K, R>) -> impl Future<Output = O>`,
/// - methods of an object held weakly, through [`weak`]: `Fn(Arc<T>, Event)`
///   (sync or async), `Fn(&T, Event)` and `Fn(&T, &Event)` (sync),
///
/// where the output `O` is `R` or `Result<R, E>` (see [`Outcome`]); `R` is
/// `()` unless the signal declares another result type.
///
/// An async closure that *captures* its environment implements only
/// `AsyncFn`, whose future borrows the closure and cannot (on stable Rust)
/// be required to be `Send`, so it cannot be spawned. Write it as a closure
/// returning an `async move` block instead:
///
/// ```
/// use signal_dispatch::{Event, Signal};
///
/// let signal: Signal = Signal::new();
/// let name = String::from("logger");
/// signal.connect(move |_event: Event| {
///     let name = name.clone();
///     async move { println!("{name} was called") }
/// });
/// ```
///
/// The third parameter, `M`, is a marker the compiler infers (see
/// [`marker`]); it only keeps these implementations apart.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal, weak};
///
/// fn function(_: Event) {}
/// fn borrowing_function(_: &Event) {}
/// async fn async_function(_: Event) {}
/// struct Owner;
/// impl Owner {
///     fn method(&self, _: Event) {}
///     fn borrowing_method(&self, _: &Event) {}
///     async fn async_method(self: Arc<Self>, _: Event) {}
/// }
///
/// let signal: Signal = Signal::new();
/// let owner = Arc::new(Owner);
/// signal.connect(function);
/// signal.connect(borrowing_function);
/// signal.connect(async_function);
/// signal.connect(|_event: Event| println!("closure"));
/// signal.connect(|event: &Event| println!("borrowing closure: {:?}", event.keys()));
/// signal.connect(async |_event: Event| println!("async closure"));
/// signal.connect(|_event: Event| async { Ok::<(), std::io::Error>(()) });
/// signal.connect(weak(&owner, Owner::method));
/// signal.connect(weak(&owner, Owner::borrowing_method));
/// signal.connect(weak(&owner, Owner::async_method));
/// assert_eq!(signal.len(), 10);
/// ```
pub trait Handler<A, K, R, M>: Sized + Send + Sync + 'static {
    /// Type-erases the handler into a stored callback.
    fn into_callback(self) -> Callback<A, K, R>;
}

/// A type-erased callback as a signal stores it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Callback, Event, Handler, weak};
///
/// struct Owner;
/// let owner = Arc::new(Owner);
/// let callback: Callback = weak(&owner, |_: &Owner, _: Event| {}).into_callback();
/// assert!(callback.is_live());
/// drop(owner);
/// assert!(!callback.is_live());
/// ```
pub struct Callback<A = (), K = String, R = ()> {
    /// The callable itself, first in its allocation: a send reaches it
    /// with no offset to compute. What a send asks of its kind is in the
    /// marks its slot keeps ([`Target::marks`]), so a callback's handle
    /// stays two words and its allocation holds the callable alone.
    ///
    /// With the kind and flags in the allocation, before the callable, its
    /// place was computed from the alignment in the vtable on every call:
    /// 20 instructions per callback of a called send, against 15 now, and
    /// ~0.2 ns in a loop of such calls alone (5.09–5.24 ns each, against
    /// 4.89–5.03), though within the noise in the harness's fan-outs.
    erased: Box<dyn Erased<A, K, R>>,
}

/// The marks a callback's slot keeps for it ([`Target::marks`]).
///
/// Held strongly: always live, with no owner to bind.
const STRONG: u8 = 1;
/// Strong, and always runs to completion when invoked: a send calls it
/// through [`Erased::call`], its result returned in registers rather than
/// as an [`Invocation`] through memory.
const SYNC: u8 = 1 << 1;
/// Sync, and borrows the event (never clones it itself): an inline send
/// can lend it one from its stack frame.
const BORROWS: u8 = 1 << 2;
/// A subscription's buffer: fed at send time, no user code.
const SINK: u8 = 1 << 3;

impl<A: 'static, K: 'static, R: 'static> Callback<A, K, R> {
    pub(crate) fn sink(sink: Arc<dyn Sink<A, K, R>>) -> Self {
        Callback {
            erased: Box::new(SinkBody(sink)),
        }
    }

    /// Whether the callback can still run (its weak owner, if any, is alive).
    pub fn is_live(&self) -> bool {
        self.erased.is_live()
    }

    /// Calls the callback with the send's event, lent (a sync one runs now;
    /// an async one returns its future). A sink is fed instead.
    pub(crate) fn invoke(&self, owner: Owner, event: &Event<A, K, R>) -> Invocation<R> {
        self.erased.invoke(owner, event)
    }

    /// Runs a strong sync callback ([`is_sync`](Slot::is_sync)) with the
    /// send's event, lent.
    #[inline(always)]
    pub(crate) fn call(&self, event: &Event<A, K, R>) -> Result<R, CallbackError> {
        self.erased.call(event)
    }
}

/// What a send asks of the callback in a slot, answered by the marks the
/// slot keeps for it: no call through the callback's vtable for a strong
/// one.
impl<A: 'static, K: 'static, R: 'static> Slot<Callback<A, K, R>, K> {
    /// Whether the callback is held strongly: always live, with no owner
    /// to bind, and no subscription.
    #[inline(always)]
    pub(crate) fn is_strong(&self) -> bool {
        self.marks() & STRONG != 0
    }

    /// Whether the callback is strong and sync: [`Callback::call`] runs it.
    #[inline(always)]
    pub(crate) fn is_sync(&self) -> bool {
        self.marks() & SYNC != 0
    }

    /// Whether the callback is strong, sync, and borrows the event: an
    /// inline send can lend it one ([`Lent`](crate::event::Lent)).
    #[inline(always)]
    pub(crate) fn borrows_event(&self) -> bool {
        self.marks() & BORROWS != 0
    }

    /// The subscription buffer this callback feeds, if it is one.
    pub(crate) fn as_sink(&self) -> Option<&dyn Sink<A, K, R>> {
        if self.marks() & SINK != 0 {
            self.target().erased.as_sink()
        } else {
            None
        }
    }

    /// Takes what a call needs before it is scheduled: `None` if the owner
    /// died, otherwise the owner (if any), kept alive until the call.
    pub(crate) fn bind(&self) -> Option<Owner> {
        if self.is_strong() {
            Some(None)
        } else {
            self.target().erased.bind()
        }
    }
}

impl<A: 'static, K: 'static, R: 'static> Target for Callback<A, K, R> {
    fn is_live(&self) -> bool {
        Callback::is_live(self)
    }

    fn marks(&self) -> u8 {
        self.erased.marks()
    }

    #[inline]
    fn is_live_with(&self, marks: u8) -> bool {
        marks & STRONG != 0 || self.erased.is_live()
    }
}

impl<A: 'static, K: 'static, R: 'static> fmt::Debug for Callback<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("live", &self.is_live())
            .field("subscription", &self.erased.as_sink().is_some())
            .finish_non_exhaustive()
    }
}

/// A weakly held owner, upgraded for the duration of one call.
pub(crate) type Owner = Option<Arc<dyn Any + Send + Sync>>;

/// A started call.
pub(crate) enum Invocation<R> {
    /// A sync callback ran to completion.
    Ready(Result<R, CallbackError>),
    /// An async callback returned its future.
    Pending(BoxFuture<'static, Result<R, CallbackError>>),
    /// A subscription received the event.
    Streamed,
}

/// Where a subscription's events go.
pub(crate) trait Sink<A, K, R>: Send + Sync + 'static {
    fn push(&self, event: Event<A, K, R>);
    fn is_live(&self) -> bool;
}

/// A callback, type-erased. Liveness and binding matter to weak ones and
/// subscriptions only: a strong callback's are answered by its marks.
trait Erased<A, K, R>: Send + Sync + 'static {
    fn invoke(&self, owner: Owner, event: &Event<A, K, R>) -> Invocation<R>;

    /// The marks its slot keeps for it ([`STRONG`], [`SYNC`], [`BORROWS`],
    /// [`SINK`]): none for a weakly held one.
    fn marks(&self) -> u8 {
        0
    }

    /// [`invoke`](Erased::invoke) for a strong sync callable (marked
    /// [`SYNC`]): the result itself, with no owner to take or drop. Sends
    /// call nothing else this way.
    fn call(&self, _event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Err(CallbackError::from(
            "only a strong sync callback is called directly",
        ))
    }

    fn is_live(&self) -> bool {
        true
    }

    fn bind(&self) -> Option<Owner> {
        Some(None)
    }

    /// The subscription buffer, for the one kind of callback that is one.
    fn as_sink(&self) -> Option<&dyn Sink<A, K, R>> {
        None
    }
}

/// A subscription's buffer as a callback: fed at send time, no user code.
struct SinkBody<A, K, R>(Arc<dyn Sink<A, K, R>>);

impl<A: 'static, K: 'static, R: 'static> Erased<A, K, R> for SinkBody<A, K, R> {
    fn invoke(&self, _owner: Owner, event: &Event<A, K, R>) -> Invocation<R> {
        self.0.push(event.clone());
        Invocation::Streamed
    }

    fn is_live(&self) -> bool {
        self.0.is_live()
    }

    fn bind(&self) -> Option<Owner> {
        self.0.is_live().then_some(None)
    }

    fn as_sink(&self) -> Option<&dyn Sink<A, K, R>> {
        Some(&*self.0)
    }

    fn marks(&self) -> u8 {
        SINK
    }
}

/// A callable of kind `M` (see [`marker`]), called with its owner `T`
/// (`()` for a callable held strongly) and the send's event, lent: kinds
/// taking the event by value clone it.
trait Invoke<T, A, K, R, M>: Send + Sync + 'static {
    /// Whether `invoke` always returns [`Invocation::Ready`].
    const SYNC: bool = true;

    /// Whether the callable only borrows the event (a sync kind taking
    /// `&Event`): it never clones it.
    const BORROWS: bool = false;

    fn invoke(&self, owner: T, event: &Event<A, K, R>) -> Invocation<R>;

    /// A sync kind's result, returned directly. Async kinds are never run
    /// this way (they are not marked [`SYNC`]).
    fn run(&self, _owner: T, _event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Err(CallbackError::from(
            "an async callback cannot run to a result",
        ))
    }
}

impl<F, O, R, A, K> Invoke<(), A, K, R, marker::Sync<O>> for F
where
    F: Fn(Event<A, K, R>) -> O + Send + Sync + 'static,
    O: Outcome<R>,
{
    fn invoke(&self, (): (), event: &Event<A, K, R>) -> Invocation<R> {
        Invocation::Ready(self.run((), event))
    }

    fn run(&self, (): (), event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Outcome::<R>::into_result(self(event.clone()))
    }
}

impl<F, O, R, A, K> Invoke<(), A, K, R, marker::Lent<O>> for F
where
    F: Fn(&Event<A, K, R>) -> O + Send + Sync + 'static,
    O: Outcome<R>,
{
    const BORROWS: bool = true;

    fn invoke(&self, (): (), event: &Event<A, K, R>) -> Invocation<R> {
        Invocation::Ready(self.run((), event))
    }

    fn run(&self, (): (), event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Outcome::<R>::into_result(self(event))
    }
}

impl<F, Fut, R, A, K> Invoke<(), A, K, R, marker::Async<Fut>> for F
where
    F: Fn(Event<A, K, R>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Outcome<R>,
{
    const SYNC: bool = false;

    fn invoke(&self, (): (), event: &Event<A, K, R>) -> Invocation<R> {
        let future = self(event.clone());
        Invocation::Pending(Box::pin(
            async move { Outcome::<R>::into_result(future.await) },
        ))
    }
}

impl<F, O, R, T, A, K> Invoke<Arc<T>, A, K, R, marker::Sync<O>> for F
where
    F: Fn(Arc<T>, Event<A, K, R>) -> O + Send + Sync + 'static,
    O: Outcome<R>,
{
    fn invoke(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Invocation<R> {
        Invocation::Ready(self.run(owner, event))
    }

    fn run(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Outcome::<R>::into_result(self(owner, event.clone()))
    }
}

impl<F, O, R, T, A, K> Invoke<Arc<T>, A, K, R, marker::ByRef<O>> for F
where
    F: Fn(&T, Event<A, K, R>) -> O + Send + Sync + 'static,
    O: Outcome<R>,
{
    fn invoke(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Invocation<R> {
        Invocation::Ready(self.run(owner, event))
    }

    fn run(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Outcome::<R>::into_result(self(&owner, event.clone()))
    }
}

impl<F, O, R, T, A, K> Invoke<Arc<T>, A, K, R, marker::Lent<O>> for F
where
    F: Fn(&T, &Event<A, K, R>) -> O + Send + Sync + 'static,
    O: Outcome<R>,
{
    fn invoke(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Invocation<R> {
        Invocation::Ready(self.run(owner, event))
    }

    fn run(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Result<R, CallbackError> {
        Outcome::<R>::into_result(self(&owner, event))
    }
}

impl<F, Fut, R, T, A, K> Invoke<Arc<T>, A, K, R, marker::Async<Fut>> for F
where
    F: Fn(Arc<T>, Event<A, K, R>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Outcome<R>,
{
    const SYNC: bool = false;

    fn invoke(&self, owner: Arc<T>, event: &Event<A, K, R>) -> Invocation<R> {
        let future = self(owner, event.clone());
        Invocation::Pending(Box::pin(
            async move { Outcome::<R>::into_result(future.await) },
        ))
    }
}

/// A callable held strongly.
struct Strong<F, M> {
    call: F,
    _kind: PhantomData<fn() -> M>,
}

impl<F, M, A, K, R> Erased<A, K, R> for Strong<F, M>
where
    F: Invoke<(), A, K, R, M>,
    M: 'static,
    A: 'static,
    K: 'static,
    R: 'static,
{
    fn invoke(&self, _owner: Owner, event: &Event<A, K, R>) -> Invocation<R> {
        self.call.invoke((), event)
    }

    fn marks(&self) -> u8 {
        match (F::SYNC, F::BORROWS) {
            (true, true) => STRONG | SYNC | BORROWS,
            (true, false) => STRONG | SYNC,
            (false, _) => STRONG,
        }
    }

    fn call(&self, event: &Event<A, K, R>) -> Result<R, CallbackError> {
        self.call.run((), event)
    }
}

impl<F, M, A, K, R> Handler<A, K, R, marker::Direct<M>> for F
where
    F: Invoke<(), A, K, R, M>,
    M: 'static,
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn into_callback(self) -> Callback<A, K, R> {
        Callback {
            erased: Box::new(Strong {
                call: self,
                _kind: PhantomData,
            }),
        }
    }
}

/// A method of an owner held weakly, made by [`weak`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal, WeakMethod, weak};
///
/// struct Counter;
/// impl Counter {
///     fn bump(&self, _: Event) {}
/// }
/// let counter = Arc::new(Counter);
/// let method: WeakMethod<Counter, _> = weak(&counter, Counter::bump);
/// let signal: Signal = Signal::new();
/// signal.connect(method);
/// assert_eq!(Arc::strong_count(&counter), 1); // held weakly
/// ```
pub struct WeakMethod<T, F> {
    owner: Weak<T>,
    method: F,
}

/// Connects `method` of `owner` without keeping `owner` alive.
///
/// The connection holds a [`Weak`] to the owner. Each send that reaches it
/// upgrades the owner when it schedules the call and keeps it alive until the
/// call is done, so the method never runs on a dead owner; once the owner is
/// dropped, no later send runs or counts the callback, and the connection is
/// reclaimed by the signal's next connect or disconnect (or
/// [`Signal::prune`](crate::Signal::prune)) — no send is needed.
///
/// `method` takes the owner as `&T` (sync), or as `Arc<T>` (sync or async),
/// and the event by value, or (sync, with the owner as `&T`) by reference.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal, weak};
///
/// struct Person { name: String }
/// impl Person {
///     fn greet(&self, _event: Event) { println!("hello from {}", self.name); }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal = Signal::new();
/// let mike = Arc::new(Person { name: "Mike".into() });
/// let connection = signal.connect(weak(&mike, Person::greet));
/// assert_eq!(signal.send().schedule().unwrap(), 1);
/// tokio::task::yield_now().await; // the scheduled call holds Mike until it runs
///
/// drop(mike);
/// assert_eq!(signal.send().schedule().unwrap(), 0);
/// signal.prune();
/// assert!(!connection.is_connected());
/// # }
/// ```
pub fn weak<T, F>(owner: &Arc<T>, method: F) -> WeakMethod<T, F> {
    WeakMethod {
        owner: Arc::downgrade(owner),
        method,
    }
}

impl<T, F> fmt::Debug for WeakMethod<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakMethod")
            .field("owner_alive", &(self.owner.strong_count() > 0))
            .finish_non_exhaustive()
    }
}

/// A [`WeakMethod`] as stored, its kind fixed.
struct WeakCallback<T, F, M> {
    owner: Weak<T>,
    method: F,
    _kind: PhantomData<fn() -> M>,
}

impl<T, F, M, A, K, R> Erased<A, K, R> for WeakCallback<T, F, M>
where
    T: Any + Send + Sync,
    F: Invoke<Arc<T>, A, K, R, M>,
    M: 'static,
    A: 'static,
    K: 'static,
    R: 'static,
{
    fn invoke(&self, owner: Owner, event: &Event<A, K, R>) -> Invocation<R> {
        // `bind` gave this owner, so the downcast cannot fail; should it
        // ever, report it rather than call a method without its owner.
        match owner.and_then(|owner| owner.downcast::<T>().ok()) {
            Some(owner) => self.method.invoke(owner, event),
            None => Invocation::Ready(Err(CallbackError::from(
                "the callback's owner was not bound",
            ))),
        }
    }

    fn is_live(&self) -> bool {
        self.owner.strong_count() > 0
    }

    fn bind(&self) -> Option<Owner> {
        let owner: Arc<dyn Any + Send + Sync> = self.owner.upgrade()?;
        Some(Some(owner))
    }
}

impl<T, F, M, A, K, R> Handler<A, K, R, marker::Owned<M>> for WeakMethod<T, F>
where
    T: Any + Send + Sync,
    F: Invoke<Arc<T>, A, K, R, M>,
    M: 'static,
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn into_callback(self) -> Callback<A, K, R> {
        Callback {
            erased: Box::new(WeakCallback {
                owner: self.owner,
                method: self.method,
                _kind: PhantomData,
            }),
        }
    }
}
