//! Sending: the builder that names senders, keys and arguments, and the
//! task that runs each callback.

use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use smallvec::SmallVec;

use crate::callback::{Callback, Invocation, Owner};
use crate::error::{Cause, Failure, SendError};
use crate::event::{Delivery, Event};
use crate::router::{Key, Selection, Slot};
use crate::sender::Sender;
use crate::signal::Signal;
use crate::sync::Arc;

/// One send being prepared; made by [`Signal::send`], finished by
/// [`schedule`](SendBuilder::schedule).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal};
///
/// #[derive(Clone, Default)]
/// struct Args { message: Option<String>, urgent: bool }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal<Args> = Signal::new();
/// signal.connect(|_: Event<Args>| {});
/// let me = Arc::new("me");
/// let scheduled = signal
///     .send()
///     .sender(&me)
///     .keys(["alerts", "ops"])
///     .with(|args| args.message = Some("disk full".into()))
///     .schedule()
///     .unwrap();
/// assert_eq!(scheduled, 1);
/// # }
/// ```
#[must_use = "a send does nothing until `.schedule()` is called"]
pub struct SendBuilder<'a, A, K> {
    signal: &'a Signal<A, K>,
    senders: Vec<Sender>,
    keys: Vec<K>,
    args: Option<A>,
}

impl<'a, A, K> SendBuilder<'a, A, K>
where
    A: Send + Sync + 'static,
    K: Key,
{
    pub(crate) fn new(signal: &'a Signal<A, K>) -> Self {
        SendBuilder {
            signal,
            senders: Vec::new(),
            keys: Vec::new(),
            args: None,
        }
    }

    /// Names a sender: connections filtered on it (by identity) receive
    /// the send, and callbacks see it in [`Event::senders`].
    pub fn sender<T: Any + Send + Sync>(mut self, sender: &Arc<T>) -> Self {
        self.senders.push(Sender::new(sender));
        self
    }

    /// Names several senders of one type.
    pub fn senders<'s, T, I>(mut self, senders: I) -> Self
    where
        T: Any + Send + Sync,
        I: IntoIterator<Item = &'s Arc<T>>,
    {
        self.senders.extend(senders.into_iter().map(Sender::new));
        self
    }

    /// Names a key: connections filtered on an equal key receive the send.
    pub fn key(mut self, key: impl Into<K>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Names several keys.
    pub fn keys<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<K>,
    {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Sends these arguments instead of the signal's defaults.
    pub fn args(mut self, args: A) -> Self {
        self.args = Some(args);
        self
    }

    /// Changes some arguments: `change` edits a copy of the defaults (or of
    /// the arguments set so far).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// #[derive(Clone)]
    /// struct Args { level: u8, text: &'static str }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal = Signal::with_defaults(Args { level: 1, text: "default" });
    /// signal.connect(|event: Event<Args>| assert_eq!((event.args().level, event.args().text), (1, "changed")));
    /// signal.send().with(|args| args.text = "changed").schedule().unwrap();
    /// # }
    /// ```
    pub fn with(mut self, change: impl FnOnce(&mut A)) -> Self
    where
        A: Clone,
    {
        let mut args = match self.args.take() {
            Some(args) => args,
            None => self.signal.defaults().clone(),
        };
        change(&mut args);
        self.args = Some(args);
        self
    }

    /// Schedules every matching callback, each once however many of its
    /// routes matched, as its own task; returns how many it scheduled.
    ///
    /// It does not wait for any of them: each runs later, on the signal's
    /// executor, never on the caller's stack. Callbacks whose weak owner has
    /// died are neither run nor counted; a scheduled call keeps its owner
    /// alive until it has run.
    ///
    /// # Errors
    ///
    /// [`SendError::NoRuntime`] if the signal runs callbacks on the current
    /// tokio runtime and there is none (nothing is scheduled);
    /// [`SendError::Spawn`] if a custom spawner refused a task (the ones
    /// scheduled before it still run).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal = Signal::new();
    /// signal.connect(|_: Event| {});
    /// signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    /// assert_eq!(signal.send().schedule().unwrap(), 1);
    /// assert_eq!(signal.send().keys(["a", "b"]).schedule().unwrap(), 2);
    /// # }
    /// ```
    pub fn schedule(self) -> Result<usize, SendError> {
        let inner = self.signal.inner();
        let executor = inner.executor.resolve()?;

        let addresses: SmallVec<[usize; 4]> = self.senders.iter().map(Sender::address).collect();
        let mut selection = Selection::new();
        inner.router.select(&self.keys, &addresses, &mut selection);

        let calls: SmallVec<[_; 8]> = selection
            .into_iter()
            .filter_map(|slot| slot.target().bind().map(|owner| (slot, owner)))
            .collect();
        if calls.is_empty() {
            return Ok(0);
        }

        let delivery = Arc::new(Delivery {
            signal: self.signal.clone(),
            senders: self.senders,
            keys: self.keys,
            args: match self.args {
                Some(args) => Arc::new(args),
                None => inner.defaults.clone(),
            },
        });
        let total = calls.len();
        for (scheduled, (slot, owner)) in calls.into_iter().enumerate() {
            let event = Event::new(delivery.clone());
            if let Err(source) = executor.spawn(run(slot, owner, event)) {
                return Err(SendError::Spawn { scheduled, source });
            }
        }
        Ok(total)
    }
}

impl<A, K: fmt::Debug> fmt::Debug for SendBuilder<'_, A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuilder")
            .field("senders", &self.senders)
            .field("keys", &self.keys)
            .field("args_overridden", &self.args.is_some())
            .finish()
    }
}

/// Runs one callback, reporting a panic or an `Err` to the signal's hook.
async fn run<A, K>(slot: Arc<Slot<Callback<A, K>, K>>, owner: Owner, event: Event<A, K>)
where
    A: Send + Sync + 'static,
    K: Key,
{
    // The event moves into the callback; keep the signal to report to.
    let signal = event.signal().clone();
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| slot.target().invoke(owner, event)));
    let cause = match call {
        Ok(Invocation::Ready(result)) => result.err().map(Cause::Error),
        Ok(Invocation::Pending(future)) => match AssertUnwindSafe(future).catch_unwind().await {
            Ok(result) => result.err().map(Cause::Error),
            Err(payload) => Some(Cause::Panic(payload)),
        },
        Err(payload) => Some(Cause::Panic(payload)),
    };
    if let Some(cause) = cause {
        signal.report(Failure::new(slot.id(), signal.name(), cause));
    }
}
