//! The event a callback receives.

use std::any::Any;
use std::fmt;

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
    delivery: Arc<Delivery<A, K, R>>,
}

/// One send, shared by all its callbacks: the event data they see, and the
/// send's bookkeeping (one allocation per send).
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

impl<A, K, R> Event<A, K, R> {
    pub(crate) fn new(delivery: Arc<Delivery<A, K, R>>) -> Self {
        Event { delivery }
    }

    /// The send this event belongs to.
    pub(crate) fn delivery(&self) -> &Arc<Delivery<A, K, R>> {
        &self.delivery
    }

    /// The signal that was sent (compare with `==`: signals are equal when
    /// they are the same signal).
    pub fn signal(&self) -> &Signal<A, K, R> {
        &self.delivery.signal
    }

    /// The senders the send named, in the order it named them.
    pub fn senders(&self) -> &[Sender] {
        &self.delivery.senders
    }

    /// The first sender that is a `T`, if any.
    pub fn sender<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.delivery.senders.iter().find_map(Sender::downcast)
    }

    /// The keys the send named, in the order it named them.
    pub fn keys(&self) -> &[K] {
        &self.delivery.keys
    }

    /// The send's arguments: the signal's defaults, or what the send gave.
    pub fn args(&self) -> &A {
        match &self.delivery.args {
            Some(args) => args,
            None => &self.delivery.signal.inner().defaults,
        }
    }
}

impl<A, K, R> Clone for Event<A, K, R> {
    fn clone(&self) -> Self {
        Event {
            delivery: self.delivery.clone(),
        }
    }
}

impl<A: fmt::Debug, K: fmt::Debug, R> fmt::Debug for Event<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("signal", &self.delivery.signal)
            .field("senders", &self.delivery.senders)
            .field("keys", &self.delivery.keys)
            .field("args", self.args())
            .finish()
    }
}
