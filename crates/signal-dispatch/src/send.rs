//! Sending: the builder that names senders, keys, arguments and mode, and
//! the two ways to finish it — schedule and forget, or wait for a report.

use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{Either, select};
use smallvec::SmallVec;

use crate::dispatch::{Batch, Call, CallbackSlot, Finished, run_all, run_one};
use crate::error::{SendError, Unsent};
use crate::event::Delivery;
use crate::mode::Mode;
use crate::report::Report;
use crate::router::{Key, Selection};
use crate::sender::Sender;
use crate::signal::Signal;
use crate::spawn::Resolved;
use crate::stats::Counters;
use crate::sync::Arc;

/// One send being prepared; made by [`Signal::send`], finished by
/// [`schedule`](SendBuilder::schedule) (fire and forget) or
/// [`wait`](SendBuilder::wait) (await every callback, get a [`Report`]).
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
#[must_use = "a send does nothing until `.schedule()` or `.wait()` is called"]
pub struct SendBuilder<'a, A, K, R> {
    signal: &'a Signal<A, K, R>,
    senders: Vec<Sender>,
    keys: Vec<K>,
    args: Option<A>,
    mode: Option<Mode>,
}

/// A selected slot with its owner bound for the call.
type Bound<A, K, R> = (Arc<CallbackSlot<A, K, R>>, crate::callback::Owner);

/// What a send reaches, bound and claimed, ready to run.
struct Plan<A, K, R> {
    calls: Vec<Call<A, K, R>>,
    sinks: Vec<Arc<CallbackSlot<A, K, R>>>,
}

impl<A, K, R> Plan<A, K, R> {
    fn len(&self) -> usize {
        self.calls.len() + self.sinks.len()
    }
}

impl<'a, A, K, R> SendBuilder<'a, A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    pub(crate) fn new(signal: &'a Signal<A, K, R>) -> Self {
        SendBuilder {
            signal,
            senders: Vec::new(),
            keys: Vec::new(),
            args: None,
            mode: None,
        }
    }

    /// Names a sender: connections filtered on it (by identity) receive
    /// the send, and callbacks see it in [`Event::senders`](crate::Event::senders).
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

    /// The signal this send is for.
    pub fn signal(&self) -> &'a Signal<A, K, R> {
        self.signal
    }

    /// Runs this send's callbacks in `mode` instead of the signal's.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// How many connections this send would reach now, without sending.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Filter, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// signal.connect_filtered(Filter::new().key("a"), |_: Event| {});
    /// assert_eq!(signal.send().key("a").receivers(), 1);
    /// assert_eq!(signal.send().key("b").receivers(), 0);
    /// ```
    pub fn receivers(&self) -> usize {
        let inner = self.signal.inner();
        if inner.is_closed() || inner.is_blocked() {
            return 0;
        }
        self.select()
            .iter()
            .filter(|slot| slot.target().is_live())
            .count()
    }

    /// Schedules every matching callback, each once however many of its
    /// routes matched, and returns how many it scheduled, without waiting
    /// for any of them.
    ///
    /// In [`Mode::Spawned`] each callback is its own task; in
    /// [`Mode::Batched`] one task runs them all. Either way they run later,
    /// on the signal's executor, never on the caller's stack. Callbacks
    /// whose weak owner has died are neither run nor counted; a scheduled
    /// call keeps its owner alive until it has run. Subscriptions receive
    /// the event at once.
    ///
    /// # Errors
    ///
    /// Each gives the send back ([`SendError::into_unsent`]):
    /// [`SendError::Closed`] if the signal is closed;
    /// [`SendError::NoRuntime`] if the signal runs callbacks on the current
    /// tokio runtime and there is none; [`SendError::Full`] if the signal
    /// has an in-flight limit and not enough room for every callback (none
    /// is scheduled); [`SendError::InlineNotAwaited`] in [`Mode::Inline`].
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
    pub fn schedule(self) -> Result<usize, SendError<A, K>> {
        let inner = self.signal.inner();
        let mode = self.mode.unwrap_or(inner.mode);
        if inner.is_closed() {
            return Err(SendError::Closed(self.into_unsent()));
        }
        if mode == Mode::Inline {
            return Err(SendError::InlineNotAwaited(self.into_unsent()));
        }
        let Ok(executor) = inner.executor.resolve() else {
            return Err(SendError::NoRuntime(self.into_unsent()));
        };
        if inner.is_blocked() {
            return Ok(0);
        }
        let selection = self.select();
        let bound: Vec<_> = bind(selection);
        // Reserve room for every callback before claiming anything, so a
        // full signal rejects the send whole and burns no once-connection.
        let callbacks = bound
            .iter()
            .filter(|(slot, _)| slot.target().as_sink().is_none())
            .count();
        let Some(mut permits) = inner.flight.try_reserve(callbacks) else {
            return Err(SendError::Full(self.into_unsent()));
        };
        let plan = self.claim(bound, |_| permits.pop());
        let total = plan.len();
        if total == 0 {
            return Ok(0);
        }
        let Plan { calls, sinks } = plan;
        let batch = Arc::new(Batch::new(self.deliver(total), None));
        feed(&batch, &sinks);
        #[cfg(feature = "tracing")]
        let _span =
            tracing::trace_span!("send", signal = inner.name(), fanout = total, ?mode).entered();
        match mode {
            Mode::Batched if !calls.is_empty() => {
                let task_batch = batch.clone();
                if let Err(source) =
                    executor.spawn(async move { run_all(&task_batch, calls, None).await })
                {
                    return Err(SendError::Spawn {
                        scheduled: sinks.len(),
                        source,
                    });
                }
            }
            _ => {
                for (scheduled, call) in calls.into_iter().enumerate() {
                    if let Err(source) = executor.spawn(run_one(batch.clone(), call)) {
                        return Err(SendError::Spawn {
                            scheduled: sinks.len() + scheduled,
                            source,
                        });
                    }
                }
            }
        }
        Ok(total)
    }

    /// Sends, then waits until every callback it reached has finished, and
    /// reports what they did: how many ran, what they returned, and which
    /// failed and how.
    ///
    /// Failures of an awaited send go to the [`Report`], not to the error
    /// hook (unless the wait is dropped first). With an in-flight limit the
    /// send waits for room instead of failing. In [`Mode::Inline`] the
    /// callbacks run right here, in the awaiting task, with no spawn and no
    /// runtime needed.
    ///
    /// # Errors
    ///
    /// As [`schedule`](Self::schedule), except that it never returns
    /// [`SendError::Full`] or [`SendError::InlineNotAwaited`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the waiting, not the callbacks already
    /// scheduled (in [`Mode::Inline`], though, the callbacks run inside the
    /// future and are dropped with it).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let signal: Signal<(), String, usize> = Signal::new();
    /// signal.connect(|_: Event<(), String, usize>| async { 2 });
    /// signal.connect(|_: Event<(), String, usize>| 3);
    /// let report = signal.send().wait().await.unwrap();
    /// assert!(report.is_success());
    /// assert_eq!(report.fold(0, |sum, n| sum + n), 5);
    /// # }
    /// ```
    pub async fn wait(self) -> Result<Report<R>, SendError<A, K>> {
        self.wait_until(std::future::pending::<()>()).await
    }

    /// Like [`wait`](Self::wait), but stops waiting when `deadline`
    /// completes: the report then lists the callbacks still running in
    /// [`Report::pending`]. Any future serves as the deadline, so this works
    /// on every runtime (with tokio: `tokio::time::sleep(duration)`).
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
    /// let slow = signal.connect(|_: Event| tokio::time::sleep(Duration::from_secs(60)));
    /// signal.connect(|_: Event| {});
    /// let report = signal
    ///     .send()
    ///     .wait_until(tokio::time::sleep(Duration::from_millis(20)))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(report.completed(), 1);
    /// assert_eq!(report.pending(), [slow.id()]);
    /// # }
    /// ```
    pub async fn wait_until<D>(self, deadline: D) -> Result<Report<R>, SendError<A, K>>
    where
        D: Future,
    {
        let inner = self.signal.inner();
        let mode = self.mode.unwrap_or(inner.mode);
        if inner.is_closed() {
            return Err(SendError::Closed(self.into_unsent()));
        }
        let executor = match mode {
            Mode::Inline => None,
            _ => match inner.executor.resolve() {
                Ok(executor) => Some(executor),
                Err(crate::spawn::NoRuntime) => {
                    return Err(SendError::NoRuntime(self.into_unsent()));
                }
            },
        };
        if inner.is_blocked() {
            return Ok(Report::empty());
        }
        let selection = self.select();
        let plan = self.claim(bind(selection), |_| None);
        let mut report = Report::empty();
        report.scheduled = plan.len();
        if plan.len() == 0 {
            return Ok(report);
        }
        let Plan { calls, sinks } = plan;
        let ids: Vec<_> = calls.iter().map(|call| call.slot.id()).collect();
        let (reporter, mut finished) = mpsc::unbounded();
        let batch = Arc::new(Batch::new(self.deliver(report.scheduled), Some(reporter)));
        feed(&batch, &sinks);
        report.streamed = sinks.len();
        let limit = inner.flight.semaphore().cloned();

        let mut deadline = std::pin::pin!(deadline);
        let mut timed_out = false;
        match (mode, executor) {
            (Mode::Inline, _) | (_, None) => {
                let run = std::pin::pin!(run_all(&batch, calls, limit));
                timed_out = matches!(select(run, deadline.as_mut()).await, Either::Right(_));
            }
            (Mode::Batched, Some(executor)) => {
                let task_batch = batch.clone();
                if let Err(source) =
                    executor.spawn(async move { run_all(&task_batch, calls, limit).await })
                {
                    return Err(SendError::Spawn {
                        scheduled: sinks.len(),
                        source,
                    });
                }
            }
            (_, Some(executor)) => {
                if let Some(stop) =
                    spawn_each(&executor, &batch, calls, limit, deadline.as_mut()).await
                {
                    match stop {
                        Stop::Deadline => timed_out = true,
                        Stop::Spawn(scheduled, source) => {
                            return Err(SendError::Spawn {
                                scheduled: sinks.len() + scheduled,
                                source,
                            });
                        }
                    }
                }
            }
        }
        // Our handle goes; the callbacks' tasks hold the batch, and the
        // channel closes when the last of them finishes.
        drop(batch);
        if !timed_out {
            // Until every callback reported (the channel closes) or the
            // deadline passes.
            while let Either::Left((Some(done), _)) =
                select(finished.next(), deadline.as_mut()).await
            {
                record(&mut report, done);
            }
        }
        while let Ok(done) = finished.try_recv() {
            record(&mut report, done);
        }
        if report.completed() < report.scheduled {
            let done: HashSet<_> = report
                .failures
                .iter()
                .map(|f| f.connection())
                .chain(report_ids(&report))
                .collect();
            report.pending = ids.into_iter().filter(|id| !done.contains(id)).collect();
        }
        Ok(report)
    }

    /// The slots this send reaches, connected, live and unblocked.
    fn select(&self) -> Selection<crate::callback::Callback<A, K, R>, K> {
        let addresses: SmallVec<[usize; 4]> = self.senders.iter().map(Sender::address).collect();
        let mut selection = Selection::new();
        self.signal
            .inner()
            .router
            .select(&self.keys, &addresses, &mut selection);
        selection
    }

    /// Claims each bound slot for this send (a once-connection goes to one
    /// send only, and is then disconnected), giving each call its permit.
    fn claim(
        &self,
        bound: Vec<Bound<A, K, R>>,
        mut permit: impl FnMut(&CallbackSlot<A, K, R>) -> Option<crate::flight::Permit>,
    ) -> Plan<A, K, R> {
        let mut plan = Plan {
            calls: Vec::with_capacity(bound.len()),
            sinks: Vec::new(),
        };
        for (slot, owner) in bound {
            if !slot.claim() {
                continue;
            }
            if slot.is_once() {
                self.signal.inner().router.remove(&slot);
            }
            if slot.target().as_sink().is_some() {
                plan.sinks.push(slot);
            } else {
                let permit = permit(&slot);
                plan.calls.push(Call {
                    slot,
                    owner,
                    permit,
                });
            }
        }
        plan
    }

    /// Builds the send's shared event data, counting the send and the
    /// `reached` connections.
    fn deliver(self, reached: usize) -> Arc<Delivery<A, K, R>> {
        let inner = self.signal.inner();
        Counters::add(&inner.counters.sends, 1);
        Counters::add(&inner.counters.scheduled, reached);
        Arc::new(Delivery {
            signal: self.signal.clone(),
            senders: self.senders,
            keys: self.keys,
            args: match self.args {
                Some(args) => Arc::new(args),
                None => inner.defaults.clone(),
            },
        })
    }

    fn into_unsent(self) -> Unsent<A, K> {
        Unsent {
            args: self.args,
            keys: self.keys,
            senders: self.senders,
        }
    }
}

/// Why spawning one task per callback stopped early.
enum Stop {
    Deadline,
    Spawn(usize, crate::error::SpawnError),
}

/// Spawns one task per call, waiting for a permit before each when the
/// signal has a limit (and giving up at the deadline).
async fn spawn_each<A, K, R, D>(
    executor: &Resolved<'_>,
    batch: &Arc<Batch<A, K, R>>,
    calls: Vec<Call<A, K, R>>,
    limit: Option<Arc<async_lock::Semaphore>>,
    mut deadline: std::pin::Pin<&mut D>,
) -> Option<Stop>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    D: Future,
{
    for (scheduled, mut call) in calls.into_iter().enumerate() {
        if let Some(semaphore) = &limit {
            let permit = match semaphore.try_acquire_arc() {
                Some(permit) => permit,
                None => {
                    match select(std::pin::pin!(semaphore.acquire_arc()), deadline.as_mut()).await {
                        Either::Left((permit, _)) => permit,
                        Either::Right(_) => return Some(Stop::Deadline),
                    }
                }
            };
            call.permit = Some(permit);
        }
        if let Err(source) = executor.spawn(run_one(batch.clone(), call)) {
            return Some(Stop::Spawn(scheduled, source));
        }
    }
    None
}

/// Binds each selected slot's owner for the call (dropping dead ones).
fn bind<A, K, R>(selection: Selection<crate::callback::Callback<A, K, R>, K>) -> Vec<Bound<A, K, R>>
where
    A: 'static,
    K: 'static,
    R: 'static,
{
    selection
        .into_iter()
        .filter_map(|slot| slot.target().bind().map(|owner| (slot, owner)))
        .collect()
}

/// Hands the send's event to each subscription.
fn feed<A, K, R>(batch: &Batch<A, K, R>, sinks: &[Arc<CallbackSlot<A, K, R>>])
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    for slot in sinks {
        if let Some(sink) = slot.target().as_sink() {
            sink.push(batch.event());
        }
    }
}

fn record<R>(report: &mut Report<R>, finished: Finished<R>) {
    match finished {
        Finished::Value(id, value) => {
            report.values.push(value);
            report.finished_ids.push(id);
        }
        Finished::Failed(failure) => report.failures.push(failure),
    }
}

fn report_ids<R>(report: &Report<R>) -> impl Iterator<Item = crate::ConnectionId> + '_ {
    report.finished_ids.iter().copied()
}

impl<A, K: fmt::Debug, R> fmt::Debug for SendBuilder<'_, A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuilder")
            .field("senders", &self.senders)
            .field("keys", &self.keys)
            .field("args_overridden", &self.args.is_some())
            .field("mode", &self.mode)
            .finish()
    }
}
