//! The event a callback receives.

use std::any::Any;
use std::fmt;
use std::ptr::NonNull;
use std::sync::OnceLock;

use futures::channel::mpsc::UnboundedSender;

use crate::dispatch::Finished;
use crate::router::Key;
use crate::send::Named;
use crate::sender::Sender;
use crate::signal::Signal;
use crate::sync::{Arc, AtomicUsize, Ordering};

/// What one send delivers to each callback it reaches: the signal, the
/// send's senders and keys, and its arguments.
///
/// Every callback of one send shares the same event data (cloning an
/// `Event` is one reference-count increment; the arguments are never copied
/// per callback).
///
/// An inline send with the signal's default arguments whose callbacks all
/// borrow the event (strong sync callables taking `&Event`, see
/// [`Handler`](crate::Handler)) allocates no event: it lends its callbacks
/// one from its own stack frame. If one of them clones it (to keep it), the
/// first clone copies the event data (the signal handle, the senders and
/// keys) to the heap, once per send, and every clone shares that copy. (A
/// send naming no sender and no key lends an event that borrows only the
/// signal: each clone of it copies the signal handle, with no senders and
/// no keys to copy.)
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal};
///
/// #[derive(Clone, Default)]
/// struct Message { text: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal<Message> = Signal::new();
/// let this = signal.clone();
/// signal.connect(move |event: Event<Message>| {
///     assert!(event.signal() == &this);
///     assert_eq!(event.keys(), ["news"]);
///     assert_eq!(event.sender::<&str>().as_deref(), Some(&"Ashley"));
///     assert_eq!(event.args().text, "hello");
/// });
/// let ashley = Arc::new("Ashley");
/// signal.send().key("news").sender(&ashley).with(|m| m.text = "hello".into()).schedule().unwrap();
/// # }
/// ```
pub struct Event<A = (), K = String, R = ()> {
    handle: Handle<A, K, R>,
}

/// Where an event's data lives.
enum Handle<A, K, R> {
    /// In a send's shared state, held by reference count.
    Shared(Arc<Delivery<A, K, R>>),
    /// In a [`Lent`] event of an inline send (its type erased: it borrows),
    /// which outlives this handle: a lent handle is only ever made by
    /// [`Lent::lend`], which drops it before it returns, and is never handed
    /// out by value (its clones are shared).
    Lent(NonNull<u8>),
    /// The signal of an inline send naming no sender and no key, with its
    /// default arguments: the whole of such a send's event data, borrowed
    /// (its type erased) from the code sending, which outlives this handle
    /// as a lent one's [`Lent`] does: a bare handle is only ever made by
    /// [`BareEvent::new`], whose event is only ever lent by reference, for
    /// no longer than the signal is borrowed.
    Bare(NonNull<u8>),
}

// SAFETY: a shared handle is an `Arc` of the delivery, a lent one borrows
// what a delivery would own (its signal, senders and keys) plus a cell of
// an `Arc` of one, and a bare one borrows a signal, which a delivery also
// owns: given a delivery that can be sent and shared, every part can be
// reached from any thread.
#[allow(unsafe_code)]
unsafe impl<A, K, R> Send for Event<A, K, R> where Delivery<A, K, R>: Send + Sync {}
// SAFETY: as for `Send`; a lent event's cell is a `OnceLock`, safe to fill
// from several threads at once.
#[allow(unsafe_code)]
unsafe impl<A, K, R> Sync for Event<A, K, R> where Delivery<A, K, R>: Send + Sync {}

/// The event of an inline send, lent from its stack frame to sync callbacks
/// ([`lend`](Self::lend)): no allocation, unless the event is cloned.
pub(crate) struct Lent<'s, A, K, R> {
    signal: &'s Signal<A, K, R>,
    senders: &'s [Sender],
    keys: &'s [K],
    /// How the keys are copied (an `Event` clones whatever its key type).
    copy_keys: fn(&[K]) -> Named<K>,
    /// A copy of the event data that clones share, made by the first.
    shared: OnceLock<Arc<Delivery<A, K, R>>>,
}

impl<'s, A, K, R> Lent<'s, A, K, R> {
    /// The event of a send of `signal` naming `senders` and `keys`, with
    /// the signal's default arguments.
    pub(crate) fn new(signal: &'s Signal<A, K, R>, senders: &'s [Sender], keys: &'s [K]) -> Self
    where
        K: Clone,
    {
        Lent {
            signal,
            senders,
            keys,
            copy_keys: |keys| keys.iter().cloned().collect(),
            shared: OnceLock::new(),
        }
    }

    /// Runs `f` with the event, lent: the event it gets cannot outlive the
    /// call (it is dropped here; only its clones, which are shared, can).
    #[inline]
    pub(crate) fn lend<T>(&self, f: impl FnOnce(&Event<A, K, R>) -> T) -> T {
        let event = Event {
            handle: Handle::Lent(NonNull::from(self).cast::<u8>()),
        };
        f(&event)
    }

    /// The shared copy clones of the event hold, made at the first.
    fn share(&self) -> Arc<Delivery<A, K, R>> {
        self.shared
            .get_or_init(|| {
                Arc::new(Delivery::detached(
                    self.signal.clone(),
                    self.senders.iter().cloned().collect(),
                    (self.copy_keys)(self.keys),
                ))
            })
            .clone()
    }
}

/// One send, shared by all its callbacks: the event data they see, and the
/// send's bookkeeping (one allocation per send, for the sends that do not
/// lend their event: see [`Lent`]).
pub(crate) struct Delivery<A, K, R> {
    pub(crate) signal: Signal<A, K, R>,
    pub(crate) senders: Named<Sender>,
    pub(crate) keys: Named<K>,
    /// The send's own arguments; `None` for the signal's defaults, read
    /// from the signal itself (no reference count taken per send).
    pub(crate) args: Option<A>,
    /// The awaiting sender's channel, for awaited sends.
    reporter: Option<UnboundedSender<Finished<R>>>,
    /// Calls not yet finished (or settled as never run).
    remaining: AtomicUsize,
    /// Calls finished, flushed to the signal's counters at the end.
    completed: AtomicUsize,
}

impl<A, K, R> Delivery<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// A send of `calls` callbacks; it is in flight until they all finish.
    pub(crate) fn new(
        signal: Signal<A, K, R>,
        senders: Named<Sender>,
        keys: Named<K>,
        args: Option<A>,
        calls: usize,
        reporter: Option<UnboundedSender<Finished<R>>>,
    ) -> Self {
        if calls == 0 {
            if let Some(reporter) = &reporter {
                reporter.close_channel();
            }
        }
        Delivery {
            signal,
            senders,
            keys,
            args,
            reporter,
            remaining: AtomicUsize::new(calls),
            completed: AtomicUsize::new(0),
        }
    }

    pub(crate) fn reporter(&self) -> Option<&UnboundedSender<Finished<R>>> {
        self.reporter.as_ref()
    }

    /// `n` calls are over, `finished` of them run (the others were dropped
    /// unrun). The last one ends the send: counters flushed, the awaiting
    /// sender told, the signal's in-flight count lowered.
    pub(crate) fn settle(&self, n: usize, finished: usize) {
        if n == 0 {
            return;
        }
        let completed = if self.remaining.load(Ordering::Acquire) == n {
            // Every call left is ours (the commonest case: one ticket for
            // the whole send), so no one else will touch the counts: no
            // read-modify-write needed. The acquire load sees the other
            // tickets' completions, added before their release.
            self.remaining.store(0, Ordering::Relaxed);
            self.completed.load(Ordering::Relaxed) + finished
        } else {
            if finished > 0 {
                self.completed.fetch_add(finished, Ordering::Relaxed);
            }
            if self.remaining.fetch_sub(n, Ordering::AcqRel) != n {
                return;
            }
            self.completed.load(Ordering::Acquire)
        };
        {
            let inner = self.signal.inner();
            if let Some(reporter) = &self.reporter {
                reporter.close_channel();
            }
            inner.counters.ended(completed);
        }
    }
}

impl<A, K, R> Delivery<A, K, R> {
    /// The event data of a send, with no send to account for: what the
    /// clones of a [`Lent`] event share.
    fn detached(signal: Signal<A, K, R>, senders: Named<Sender>, keys: Named<K>) -> Self {
        Delivery {
            signal,
            senders,
            keys,
            args: None,
            reporter: None,
            remaining: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
        }
    }
}

impl<A, K, R> Event<A, K, R> {
    /// The event of a send's shared state.
    pub(crate) fn new(delivery: Arc<Delivery<A, K, R>>) -> Self {
        Event {
            handle: Handle::Shared(delivery),
        }
    }

    /// The send's shared state, asked only of events that are not lent:
    /// those of tickets and subscriptions, made by [`new`](Self::new).
    pub(crate) fn delivery(&self) -> &Arc<Delivery<A, K, R>> {
        match &self.handle {
            Handle::Shared(delivery) => delivery,
            Handle::Lent(_) | Handle::Bare(_) => unreachable!("a lent event has no shared state"),
        }
    }

    /// The signal a bare event borrows, if it is one.
    #[inline(always)]
    fn bare(&self) -> Option<&Signal<A, K, R>> {
        match &self.handle {
            // SAFETY: a bare handle points to a `Signal` of the same types
            // that outlives it (see `Handle`), so for as long as `self` is
            // borrowed.
            #[allow(unsafe_code)]
            Handle::Bare(signal) => Some(unsafe { signal.cast::<Signal<A, K, R>>().as_ref() }),
            _ => None,
        }
    }

    /// The lent event this one is, if it is.
    #[inline(always)]
    fn lent(&self) -> Option<&Lent<'_, A, K, R>> {
        match &self.handle {
            Handle::Shared(_) | Handle::Bare(_) => None,
            // SAFETY: a lent handle points to a `Lent` of the same types that
            // outlives it (see `Handle`), so for as long as `self` is
            // borrowed.
            #[allow(unsafe_code)]
            Handle::Lent(lent) => Some(unsafe { lent.cast::<Lent<'_, A, K, R>>().as_ref() }),
        }
    }

    /// The signal that was sent (compare with `==`: signals are equal when
    /// they are the same signal).
    pub fn signal(&self) -> &Signal<A, K, R> {
        if let Some(signal) = self.bare() {
            return signal;
        }
        match self.lent() {
            Some(lent) => lent.signal,
            None => &self.delivery().signal,
        }
    }

    /// The senders the send named, in the order it named them.
    pub fn senders(&self) -> &[Sender] {
        if self.bare().is_some() {
            return &[];
        }
        match self.lent() {
            Some(lent) => lent.senders,
            None => &self.delivery().senders,
        }
    }

    /// The first sender that is a `T`, if any.
    pub fn sender<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.senders().iter().find_map(Sender::downcast)
    }

    /// The keys the send named, in the order it named them.
    pub fn keys(&self) -> &[K] {
        if self.bare().is_some() {
            return &[];
        }
        match self.lent() {
            Some(lent) => lent.keys,
            None => &self.delivery().keys,
        }
    }

    /// The send's arguments: the signal's defaults, or what the send gave.
    pub fn args(&self) -> &A {
        if let Some(signal) = self.bare() {
            return &signal.inner().defaults;
        }
        match self.lent() {
            Some(lent) => &lent.signal.inner().defaults,
            None => {
                let delivery = self.delivery();
                match &delivery.args {
                    Some(args) => args,
                    None => &delivery.signal.inner().defaults,
                }
            }
        }
    }

    /// A clone of a lent event: one sharing the copy of its data (made by
    /// the first clone). Out of line: the clones of shared events, the
    /// commonest, stay small.
    #[cold]
    #[inline(never)]
    fn share(&self) -> Self {
        if let Some(signal) = self.bare() {
            return Event::new(Arc::new(Delivery::detached(
                signal.clone(),
                Named::new(),
                Named::new(),
            )));
        }
        match self.lent() {
            Some(lent) => Event::new(lent.share()),
            None => Event::new(self.delivery().clone()),
        }
    }
}

impl<A, K, R> Clone for Event<A, K, R> {
    /// One reference-count increment; a lent event's first clone also
    /// copies its data to the heap (see [`Event`]).
    fn clone(&self) -> Self {
        match &self.handle {
            Handle::Shared(delivery) => Event::new(delivery.clone()),
            Handle::Lent(_) | Handle::Bare(_) => self.share(),
        }
    }
}

impl<A: fmt::Debug, K: fmt::Debug, R> fmt::Debug for Event<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("signal", self.signal())
            .field("senders", &self.senders())
            .field("keys", &self.keys())
            .field("args", self.args())
            .finish()
    }
}

/// The event of an inline send of a signal naming no sender and no key,
/// with its default arguments, to be lent: it borrows the signal, and
/// nothing else (each clone copies the signal handle to the heap).
///
/// Not a function running a closure with the event, as [`Lent::lend`] is:
/// the commonest send calls its callbacks with this event straight from its
/// own frame, and through a closure they cost it a call more.
pub(crate) struct BareEvent<'a, A, K, R> {
    /// Lent only by reference ([`event`](Self::event)), for no longer than
    /// `'a`. Its handle holds nothing to drop.
    event: std::mem::ManuallyDrop<Event<A, K, R>>,
    signal: std::marker::PhantomData<&'a Signal<A, K, R>>,
}

impl<'a, A, K, R> BareEvent<'a, A, K, R> {
    /// The event of a send of `signal`.
    #[inline(always)]
    pub(crate) fn new(signal: &'a Signal<A, K, R>) -> Self {
        BareEvent {
            event: std::mem::ManuallyDrop::new(Event {
                handle: Handle::Bare(NonNull::from(signal).cast::<u8>()),
            }),
            signal: std::marker::PhantomData,
        }
    }

    /// The event, lent.
    #[inline(always)]
    pub(crate) fn event(&self) -> &Event<A, K, R> {
        &self.event
    }
}
