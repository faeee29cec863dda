//! Sending: the builder that names senders, keys, arguments and mode, and
//! the three ways to finish it — schedule and forget, wait for a report,
//! or call the callbacks synchronously.

use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{BoxFuture, Either, select};
use smallvec::SmallVec;

use crate::callback::Callback;
use crate::connection::ConnectionId;
use crate::dispatch::{
    Call, CallbackSlot, CallbackSnapshot, Calls, EverySlot, Finished, LentCalls, Outcomes,
    RunBatch, RunLent, Ticket, ToSender, Unnamed, call_lent, drain, pending_ids, poll_drain,
    run_all, run_one, start_all, start_plain,
};
use crate::error::{SendError, Unsent};
use crate::event::{Delivery, Event, Lent};
use crate::mode::Mode;
use crate::picks::{Picked, PickedCall, Picks, SnapshotSlot};
use crate::report::Report;
use crate::router::{CurrentSnapshot, Key, Plain, Selection};
use crate::sender::Sender;
use crate::signal::Signal;
use crate::spawn::Resolved;
use crate::sync::Arc;

/// One send being prepared; made by [`Signal::send`], finished by
/// [`schedule`](SendBuilder::schedule) (fire and forget),
/// [`wait`](SendBuilder::wait) (await every callback, get a [`Report`]) or
/// [`call`](SendBuilder::call) (run them now, from synchronous code).
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
#[must_use = "a send does nothing until `.schedule()`, `.wait()` or `.call()` is called"]
pub struct SendBuilder<'a, A, K, R> {
    signal: &'a Signal<A, K, R>,
    /// The senders and keys named: never on the heap while empty (see
    /// [`unspill_if_empty`]).
    senders: Named<Sender>,
    keys: Named<K>,
    args: Option<A>,
    mode: Option<Mode>,
}

/// The senders or keys a send names: most name one or none, kept inline.
pub(crate) type Named<T> = SmallVec<[T; 1]>;

/// Puts an empty list back inline (an iterator whose size hint promised
/// more than it gave may have left it on the heap): a builder naming no
/// sender and no key then holds nothing to free.
fn unspill_if_empty<T>(named: &mut Named<T>) {
    if named.is_empty() && named.spilled() {
        *named = Named::new();
    }
}

/// What a send reaches, bound and claimed, ready to run.
struct Plan<A, K, R> {
    calls: Calls<A, K, R>,
    sinks: SmallVec<[Arc<CallbackSlot<A, K, R>>; 2]>,
}

impl<A, K, R> Plan<A, K, R> {
    fn new() -> Self {
        Plan {
            calls: Calls::new(),
            sinks: SmallVec::new(),
        }
    }
}

impl<'a, A, K, R> SendBuilder<'a, A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    // The builder's own methods are always inlined: each takes and returns
    // the builder by value, and one called out of line copies it in and
    // out. `sender` was, in the harness built in one codegen unit: an
    // awaited send among 10 senders cost 66.9–68.1 ns, against 62.1–63.2
    // with it inlined (alternating runs).
    #[inline(always)]
    pub(crate) fn new(signal: &'a Signal<A, K, R>) -> Self {
        SendBuilder {
            signal,
            senders: Named::new(),
            keys: Named::new(),
            args: None,
            mode: None,
        }
    }

    /// Names a sender: connections filtered on it (by identity) receive
    /// the send, and callbacks see it in [`Event::senders`](crate::Event::senders).
    #[inline(always)]
    pub fn sender<T: Any + Send + Sync>(mut self, sender: &Arc<T>) -> Self {
        self.senders.push(Sender::new(sender));
        self
    }

    /// Names a sender already wrapped as a [`Sender`]: for integrations
    /// that keep senders of several types together.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use signal_dispatch::{Event, Filter, Sender, Signal};
    ///
    /// let signal: Signal = Signal::new();
    /// let mike = Arc::new("Mike");
    /// signal.connect_filtered(Filter::new().sender(&mike), |_: Event| {});
    /// let erased: Vec<Sender> = vec![Sender::new(&mike), Sender::new(&Arc::new(7_u8))];
    /// let mut send = signal.send();
    /// for sender in erased {
    ///     send = send.sender_erased(sender);
    /// }
    /// assert_eq!(send.receivers(), 1);
    /// ```
    #[inline]
    pub fn sender_erased(mut self, sender: Sender) -> Self {
        self.senders.push(sender);
        self
    }

    /// Names several senders of one type.
    pub fn senders<'s, T, I>(mut self, senders: I) -> Self
    where
        T: Any + Send + Sync,
        I: IntoIterator<Item = &'s Arc<T>>,
    {
        self.senders.extend(senders.into_iter().map(Sender::new));
        unspill_if_empty(&mut self.senders);
        self
    }

    /// Names a key: connections filtered on an equal key receive the send.
    #[inline(always)]
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
        unspill_if_empty(&mut self.keys);
        self
    }

    /// Sends these arguments instead of the signal's defaults.
    #[inline(always)]
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
    #[inline(always)]
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
            .filter(|slot| slot.is_target_live())
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
    pub fn schedule(mut self) -> Result<usize, SendError<A, K>> {
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
        if self.is_unfiltered() && inner.flight.limit().is_none() {
            return self.schedule_unfiltered(&executor, mode);
        }
        let selection = self.select();
        // Reserve room for every callback before claiming anything, so a
        // full signal rejects the send whole and burns no once-connection.
        let mut permits = Vec::new();
        if inner.flight.limit().is_some() {
            let callbacks = selection
                .iter()
                .filter(|slot| slot.as_sink().is_none())
                .count();
            match inner.flight.try_reserve(callbacks) {
                Some(reserved) => permits = reserved,
                None => return Err(SendError::Full(self.into_unsent())),
            }
        }
        let mut plan = Plan::new();
        self.plan(selection, || permits.pop(), &mut plan);
        let Plan { calls, sinks } = plan;
        let total = calls.len() + sinks.len();
        if total == 0 {
            return Ok(0);
        }
        #[cfg(feature = "tracing")]
        let _span =
            tracing::trace_span!("send", signal = inner.name(), fanout = total, ?mode).entered();
        // Not a `let` chain: those need Rust 1.88, and the crate's floor
        // is 1.85.
        if let [call] = &calls[..] {
            if mode == Mode::Spawned
                && sinks.is_empty()
                && call.owner.is_none()
                && call.permit.is_none()
                && call.slot.borrows_event()
                && self.args.is_none()
            {
                // As in `schedule_unfiltered`: one call, its event lent.
                let slot = call.slot.clone();
                return self.spawn_lent(&executor, slot);
            }
        }
        let delivery = Arc::new(self.deliver(calls.len(), total, None));
        feed(&delivery, &sinks);
        match mode {
            Mode::Batched if !calls.is_empty() => {
                if let Err(source) = spawn_batch(&executor, &delivery, calls, None) {
                    return Err(SendError::Spawn {
                        scheduled: sinks.len(),
                        source,
                    });
                }
            }
            _ => {
                let count = calls.len();
                for (scheduled, call) in calls.into_iter().enumerate() {
                    if let Err(source) =
                        executor.spawn(run_one(Ticket::new(delivery.clone(), 1), call.into_parts()))
                    {
                        // This call's ticket settled it; settle those never tried.
                        delivery.settle(count - scheduled - 1, 0);
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
    #[inline(always)]
    pub fn wait(self) -> impl Future<Output = Result<Report<R>, SendError<A, K>>> + Send + 'a {
        // Not an `async fn` wrapping `wait_until`: that would nest one
        // future in another, and copy it whole when first awaited.
        self.wait_until(std::future::pending::<()>())
    }

    /// Like [`wait`](Self::wait), but stops waiting when `deadline`
    /// completes: the report then lists the callbacks still running in
    /// [`Report::pending`]. Any `Send` future serves as the deadline, so
    /// this works on every runtime (with tokio:
    /// `tokio::time::sleep(duration)`); it is polled only while callbacks
    /// are still running.
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
    #[inline(always)]
    pub fn wait_until<D>(
        self,
        deadline: D,
    ) -> impl Future<Output = Result<Report<R>, SendError<A, K>>> + Send + 'a
    where
        D: Future + Send + 'a,
    {
        let state = if self.is_plain() && self.mode.is_none() {
            // Kept as its signal: the awaiting task writes a word, not the
            // builder, and the wait's first poll reads it, not the
            // builder's lists, arguments and mode.
            let signal = self.signal;
            std::mem::forget(self);
            WaitState::Plain(signal, Some(deadline))
        } else {
            WaitState::Unstarted(self, Some(deadline))
        };
        Wait {
            state: ManuallyDrop::new(state),
        }
    }

    /// Calls every matching callback now, on this thread, and reports what
    /// they did: the send for synchronous code, which needs no runtime and
    /// no `.await`. It runs the callbacks inline whatever the signal's
    /// [`Mode`].
    ///
    /// Sync callbacks have run to their outcome when it returns. An async
    /// callback is started here and polled once: if it finishes then, its
    /// outcome is in the report. If it does not, it goes on running on the
    /// signal's executor, its failure going to the error hook, and the
    /// report names it in [`Report::pending`]. With no executor to go on
    /// (no tokio runtime current, say), it is dropped unfinished, and named
    /// pending all the same. Subscriptions receive the event at once.
    ///
    /// Failures of the callbacks that finish go to the report, not to the
    /// error hook.
    ///
    /// # Errors
    ///
    /// Each gives the send back ([`SendError::into_unsent`]):
    /// [`SendError::Closed`] if the signal is closed; [`SendError::Full`] if
    /// it has an in-flight limit and not enough room for every callback
    /// (none is called).
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::{Event, Signal};
    ///
    /// // No runtime, no `.await`.
    /// let signal: Signal<(), String, u32> = Signal::new();
    /// signal.connect(|_: &Event<(), String, u32>| 2);
    /// // An async callback that needs no waiting finishes on its first poll.
    /// signal.connect(|_: Event<(), String, u32>| async { 3 });
    /// let report = signal.send().call().unwrap();
    /// assert!(report.is_success());
    /// assert_eq!(report.fold(0, |sum, n| sum + n), 5);
    /// ```
    // Inlined into the caller, where the builder's fields are known: they
    // are neither written nor read back (one callback: 14.4–14.6 ns against
    // 14.8–15.1 in alternating runs). So the builder is looked at first,
    // before any atomic load: after one (an acquire), the compiler reads
    // its fields back from memory instead of knowing them.
    //
    // The other calls, out of line, take the builder by reference and
    // spend it there: passed by value, it was copied first, right after
    // the caller wrote it, and the copy waited for those stores. Both
    // changes together took a called send among 10 keys from 62.7 ns to
    // 55.7–60.5, among 1,000 keys from 72.6–77.1 to 66.6–67.0, and among
    // 10 senders from 51.3–53.0 to 47.8–49.2, in alternating runs.
    #[inline(always)]
    pub fn call(mut self) -> Result<Report<R>, SendError<A, K>> {
        if !self.is_unfiltered() || self.args.is_some() {
            let called = self.call_named();
            std::mem::forget(self);
            return called;
        }
        let inner = self.signal.inner();
        if inner.is_closed() || inner.is_blocked() || inner.flight.limit().is_some() {
            let called = self.call_checked();
            std::mem::forget(self);
            return called;
        }
        let snapshot = inner.router.unfiltered_snapshot();
        if !is_lendable(self.signal, &snapshot) {
            let report = self.call_unfiltered(&snapshot);
            std::mem::forget(self);
            return Ok(report);
        }
        // The commonest call, as in `start_unfiltered_inline`, with its
        // report made here and returned as it is: built in a run and copied
        // out, it cost a tenth of the send. (Every other call is out of
        // line, so that this one needs few registers.)
        let mut report = Report::empty();
        debug_assert!(self.is_plain());
        lend_to_every_slot(self.signal, &mut report, snapshot);
        // Spent, naming no key, sender or arguments, it holds nothing to
        // free ([`is_plain`](Self::is_plain)): its drop, out of line, would
        // only look.
        std::mem::forget(self);
        Ok(report)
    }

    /// [`call`](Self::call) naming keys, senders or arguments. Spends the
    /// builder ([`spend`](Self::spend)).
    #[inline(never)]
    fn call_named(&mut self) -> Result<Report<R>, SendError<A, K>> {
        let inner = self.signal.inner();
        if inner.is_closed() || inner.is_blocked() || inner.flight.limit().is_some() {
            return self.call_checked();
        }
        if !self.is_unfiltered() {
            return Ok(self.call_planned());
        }
        let snapshot = inner.router.unfiltered_snapshot();
        Ok(self.call_unfiltered(&snapshot))
    }

    /// [`call`](Self::call) on a signal that is closed, blocked or has an
    /// in-flight limit. Spends the builder ([`spend`](Self::spend)).
    #[inline(never)]
    fn call_checked(&mut self) -> Result<Report<R>, SendError<A, K>> {
        let inner = self.signal.inner();
        if inner.is_closed() {
            return Err(SendError::Closed(self.take_unsent()));
        }
        if inner.is_blocked() {
            self.spend();
            return Ok(Report::empty());
        }
        let mut run = InlineRun::new();
        if inner.flight.limit().is_some() {
            if !self.start_reserved_inline(&mut run) {
                return Err(SendError::Full(self.take_unsent()));
            }
        } else {
            // Unblocked since `call` looked (a closed signal stays closed).
            self.start_planned_inline(&mut run);
        }
        self.finish_call(&mut run);
        self.spend();
        Ok(run.report)
    }

    /// [`call`](Self::call) naming keys or senders, on a signal with no
    /// in-flight limit. Spends the builder.
    #[inline(never)]
    fn call_planned(&mut self) -> Report<R> {
        let mut run = InlineRun::new();
        self.start_planned_inline(&mut run);
        self.finish_call(&mut run);
        self.spend();
        run.report
    }

    /// [`call`](Self::call) naming no key and no sender, on a signal with
    /// no in-flight limit, when its event cannot be lent: it names
    /// arguments, or the snapshot of its slots is not
    /// [lendable](is_lendable). Spends the builder.
    #[inline(never)]
    fn call_unfiltered(&mut self, snapshot: &CallbackSnapshot<A, K, R>) -> Report<R> {
        let mut run = InlineRun::new();
        self.start_unfiltered_inline(&mut run, snapshot);
        self.finish_call(&mut run);
        self.spend();
        run.report
    }

    /// Drops what the builder names (senders, keys, arguments), here, out
    /// of line: spent, it holds nothing to free, and [`call`](Self::call)
    /// forgets it.
    fn spend(&mut self) {
        self.args = None;
        self.keys = Named::new();
        self.senders = Named::new();
    }

    /// [`call`](Self::call) on a signal with an in-flight limit: reserves
    /// room for every callback first, and starts none (`false`) if there is
    /// not enough.
    fn start_reserved_inline(&mut self, run: &mut InlineRun<A, K, R>) -> bool {
        let selection = self.select();
        let callbacks = selection
            .iter()
            .filter(|slot| slot.as_sink().is_none())
            .count();
        let Some(mut permits) = self.signal.inner().flight.try_reserve(callbacks) else {
            return false;
        };
        let mut plan = Plan::new();
        self.plan(selection, || permits.pop(), &mut plan);
        self.start_plan_inline(run, &mut plan);
        true
    }

    /// Ends a [`call`](Self::call) once its calls started: polls the async
    /// ones once, with no waker to wake, and hands those still running to
    /// the signal's executor (or drops them, if it has none). The report
    /// is left in `run`. (With `run` moved in and its report moved out,
    /// each copied right after it was written, a called send among 10
    /// keys cost 64.1–67.1 ns against 58.7–61.9 now, and among 10
    /// senders 63.2–77.8 against 50.1–58.1, in alternating runs.)
    fn finish_call(&self, run: &mut InlineRun<A, K, R>) {
        if run.running.is_none() {
            return;
        }
        let (Some(mut running), Some(mut ticket)) = (run.running.take(), run.ticket.take()) else {
            return;
        };
        let report = &mut run.report;
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if poll_drain(&mut ticket, &mut running, report, &mut cx).is_ready() {
            return;
        }
        report.set_pending(pending_ids(&running));
        match self.signal.inner().executor.resolve() {
            // A task the executor refuses is dropped, its calls with it.
            Ok(executor) => drop(executor.spawn(RunBatch::running(running, ticket))),
            Err(crate::spawn::NoRuntime) => {
                // The calls first, then the ticket, which settles them as
                // never run.
                drop(running);
                drop(ticket);
            }
        }
    }

    /// The first poll of a [`Wait`]: checks the signal, then, inline,
    /// sends, filling `run`; the sync callbacks are done on return, the
    /// async ones left running. The builder is read in place (and spent),
    /// not moved: see [`Wait`].
    fn start_wait(&mut self, run: &mut InlineRun<A, K, R>) -> Started<'a, A, K, R> {
        let inner = self.signal.inner();
        let mode = self.mode.unwrap_or(inner.mode);
        if inner.is_closed() {
            return Started::Finished(Err(SendError::Closed(self.take_unsent())));
        }
        let executor = match mode {
            Mode::Inline => None,
            _ => match inner.executor.resolve() {
                Ok(executor) => Some(executor),
                Err(crate::spawn::NoRuntime) => {
                    return Started::Finished(Err(SendError::NoRuntime(self.take_unsent())));
                }
            },
        };
        if inner.is_blocked() {
            return Started::Finished(Ok(Report::empty()));
        }
        if executor.is_some() || inner.flight.limit().is_some() {
            return Started::Elsewhere(mode, executor);
        }
        if self.is_unfiltered() {
            let snapshot = inner.router.unfiltered_snapshot();
            if self.args.is_none() && is_lendable(self.signal, &snapshot) {
                // A plain send naming its mode: lent here, out of the
                // wait's poll, which lends only to sends naming nothing
                // (`WaitState::Plain`). Every call is over on return.
                lend_to_every_slot(self.signal, &mut run.report, snapshot);
                return Started::Inline;
            }
            self.start_unfiltered_inline(run, &snapshot);
        } else {
            self.start_planned_inline(run);
        }
        Started::Inline
    }

    /// [`wait_until`](Self::wait_until) in [`Mode::Inline`] on a signal
    /// with an in-flight limit: each call waits for a permit before it
    /// starts, driving the running ones meanwhile.
    async fn wait_limited_inline<D: Future>(mut self, deadline: D) -> Report<R> {
        let (mut plan, mut report) = (Plan::new(), Report::empty());
        self.plan_awaited(&mut plan, &mut report);
        if report.scheduled == 0 {
            return report;
        }
        let Plan { calls, sinks } = plan;
        let limit = self.signal.inner().flight.semaphore().cloned();
        let ids: Ids = calls.iter().map(|call| call.slot.id()).collect();
        let delivery = Arc::new(self.deliver(calls.len(), report.scheduled, None));
        feed(&delivery, &sinks);
        let mut ticket = Ticket::new(delivery, calls.len());
        let calls = calls.into_iter().map(Call::into_parts);
        let mut noted = Noting::new(&mut report);
        let finished = {
            let run = std::pin::pin!(run_all(&mut ticket, calls, limit, &mut noted));
            let deadline = std::pin::pin!(deadline);
            matches!(select(run, deadline).await, Either::Left(_))
        };
        if !finished {
            noted.name_pending(&ids);
        }
        report
    }

    /// Plans an awaited send into `plan`, and starts its report (empty so
    /// far): what it scheduled, with room for the outcomes.
    fn plan_awaited(&self, plan: &mut Plan<A, K, R>, report: &mut Report<R>) {
        self.plan(self.select(), || None, plan);
        report.scheduled = plan.calls.len() + plan.sinks.len();
        report.set_streamed(plan.sinks.len());
        report.reserve(plan.calls.len());
    }

    /// [`wait_until`](Self::wait_until) in [`Mode::Spawned`] or
    /// [`Mode::Batched`]: the callbacks run in tasks, and report back over a
    /// channel.
    async fn wait_scheduled<D: Future>(
        mut self,
        mode: Mode,
        executor: Resolved<'a>,
        deadline: D,
    ) -> Result<Report<R>, SendError<A, K>> {
        let (mut plan, mut report) = (Plan::new(), Report::empty());
        self.plan_awaited(&mut plan, &mut report);
        if report.scheduled == 0 {
            return Ok(report);
        }
        let Plan { calls, sinks } = plan;
        let ids: Ids = calls.iter().map(|call| call.slot.id()).collect();
        let limit = self.signal.inner().flight.semaphore().cloned();
        let mut deadline = std::pin::pin!(deadline);
        let (reporter, mut finished) = mpsc::unbounded();
        let delivery = Arc::new(self.deliver(calls.len(), report.scheduled, Some(reporter)));
        feed(&delivery, &sinks);
        let mut timed_out = false;
        if mode == Mode::Batched {
            if let Err(source) = spawn_batch(&executor, &delivery, calls, limit) {
                return Err(SendError::Spawn {
                    scheduled: sinks.len(),
                    source,
                });
            }
        } else if let Some(stop) =
            spawn_each(&executor, &delivery, calls, limit, deadline.as_mut()).await
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
        drop(delivery);
        let mut noted = Noting::new(&mut report);
        if !timed_out {
            // Until every callback reported (the channel closes) or the
            // deadline passes.
            while let Either::Left((Some(done), _)) =
                select(finished.next(), deadline.as_mut()).await
            {
                noted.record(done);
            }
        }
        while let Ok(done) = finished.try_recv() {
            noted.record(done);
        }
        noted.name_pending(&ids);
        Ok(report)
    }

    /// Whether the send names no key and no sender: it reaches the
    /// unfiltered connections only, and can run from the router's snapshot
    /// of them.
    fn is_unfiltered(&self) -> bool {
        self.keys.is_empty() && self.senders.is_empty()
    }

    /// [`schedule`](Self::schedule) for a send naming no key and no sender,
    /// on a signal with no in-flight limit: its calls are picked from the
    /// router's shared snapshot of the unfiltered slots, and their tasks
    /// hold that snapshot, not each its slot: one reference count per send
    /// (batched) or per task (spawned) instead of a selection (see
    /// [`pick`](Self::pick)).
    fn schedule_unfiltered(
        mut self,
        executor: &Resolved<'_>,
        mode: Mode,
    ) -> Result<usize, SendError<A, K>> {
        let inner = self.signal.inner();
        let snapshot = inner.router.unfiltered_snapshot();
        let count = snapshot.slots.len();
        if count > 0 && self.args.is_none() && is_lendable(self.signal, &snapshot) {
            // Every slot would be picked (each plainly selectable, strong,
            // borrowing the event), so none is: as `pick` would, but with
            // no list of picks to fill and read back (~100 instructions of
            // a spawned send to one callback).
            #[cfg(feature = "tracing")]
            let _span = tracing::trace_span!("send", signal = inner.name(), fanout = count, ?mode)
                .entered();
            match mode {
                Mode::Batched => return self.spawn_lent(executor, EverySlot(snapshot.into_arc())),
                _ if count == 1 => {
                    let slot = SnapshotSlot {
                        snapshot: snapshot.into_arc(),
                        index: 0,
                    };
                    return self.spawn_lent(executor, slot);
                }
                _ => {}
            }
        }
        let (mut picks, mut sinks) = (Picks::new(count), Vec::new());
        self.pick(&snapshot, &mut picks, &mut sinks);
        let total = picks.len() + sinks.len();
        if total == 0 {
            return Ok(0);
        }
        #[cfg(feature = "tracing")]
        let _span =
            tracing::trace_span!("send", signal = inner.name(), fanout = total, ?mode).entered();
        if self.args.is_none() && plainness(&snapshot) == Plain::AllAtOnce {
            // Every call is to a callback borrowing the event: the task
            // holds the event data, and nothing else is allocated. In a
            // batch, when every slot was picked; spawned, for one call.
            if mode == Mode::Batched && picks.len() == snapshot.slots.len() {
                return self.spawn_lent(executor, EverySlot(snapshot.into_arc()));
            }
            if mode == Mode::Spawned && picks.len() == 1 {
                let index = picks.take().next().map_or(0, |(index, _)| index);
                let slot = SnapshotSlot {
                    snapshot: snapshot.into_arc(),
                    index,
                };
                return self.spawn_lent(executor, slot);
            }
        }
        let delivery = Arc::new(self.deliver(picks.len(), total, None));
        feed(&delivery, &sinks);
        if picks.is_empty() {
            return Ok(total);
        }
        let snapshot = snapshot.into_arc();
        let spawned = match mode {
            Mode::Batched => {
                spawn_picked_batch(executor, snapshot, picks, delivery).map_err(|e| (0, e))
            }
            _ => spawn_picked_each(executor, snapshot, picks, delivery),
        };
        spawned
            .map(|()| total)
            .map_err(|(scheduled, source)| SendError::Spawn {
                scheduled: sinks.len() + scheduled,
                source,
            })
    }

    /// Spawns a send's calls, all to callbacks borrowing the event, in one
    /// task holding the event data and lending the event ([`RunLent`]),
    /// for a send with the default arguments and no subscription: no
    /// delivery is made. Takes the senders and keys out of the builder,
    /// which is spent.
    fn spawn_lent<C>(&mut self, executor: &Resolved<'_>, calls: C) -> Result<usize, SendError<A, K>>
    where
        C: LentCalls<A, K, R> + Send + 'static,
    {
        debug_assert!(
            self.args.is_none(),
            "a lent event has the default arguments"
        );
        let count = calls.count();
        self.signal.inner().counters.sent(count, true);
        // A refused task is dropped unrun, which ends the send.
        let spawned = if self.is_unfiltered() {
            executor.spawn(RunLent::new(calls, self.signal.clone(), Unnamed))
        } else {
            let names = (
                std::mem::take(&mut self.senders),
                std::mem::take(&mut self.keys),
            );
            executor.spawn(RunLent::new(calls, self.signal.clone(), names))
        };
        spawned.map(|()| count).map_err(|source| SendError::Spawn {
            scheduled: 0,
            source,
        })
    }

    /// Whether the builder names no key, sender or arguments: its send is
    /// made from its signal and mode alone. Its empty lists are inline
    /// (`unspill_if_empty`), so it holds nothing to free, and it may be
    /// forgotten.
    #[inline(always)]
    fn is_plain(&self) -> bool {
        let plain = self.is_unfiltered() && self.args.is_none();
        debug_assert!(!plain || !(self.keys.spilled() || self.senders.spilled()));
        plain
    }

    /// [`wait_until`](Self::wait_until) for an inline send naming no key
    /// and no sender, on a signal with no in-flight limit, up to its first
    /// wait: the callbacks run from the router's snapshot, with no reference
    /// count per callback; the sync ones are done on return, the async ones
    /// left running (`snapshot` is the router's, read by the caller, who
    /// found it not [lendable](is_lendable)). A plain function, so its
    /// state is never part of the awaiting future; it fills `run` (fresh)
    /// in place (see `pick`).
    fn start_unfiltered_inline(
        &mut self,
        run: &mut InlineRun<A, K, R>,
        snapshot: &CallbackSnapshot<A, K, R>,
    ) {
        let slots = &snapshot.slots;
        let (mut picks, mut sinks) = (Picks::new(slots.len()), Vec::new());
        self.pick(snapshot, &mut picks, &mut sinks);
        let count = picks.len();
        run.report.scheduled = count + sinks.len();
        run.report.set_streamed(sinks.len());
        run.report.reserve(count);
        let mut calls = Picked::new(slots, &mut picks);
        let plain = calls.take_plain();
        if calls.is_empty() {
            // Every call was plain.
            self.start_inline(
                run,
                &sinks,
                count,
                plain,
                std::iter::empty::<PickedCall<'_, A, K, R>>(),
            );
        } else {
            // The rest lent, not moved: see `pick`.
            self.start_inline(run, &sinks, count, plain, &mut calls);
        }
    }

    /// [`wait_until`](Self::wait_until) for an inline send naming keys or
    /// senders, on a signal with no in-flight limit, up to its first wait:
    /// as [`start_unfiltered_inline`](Self::start_unfiltered_inline), from
    /// a plan of the selected slots.
    fn start_planned_inline(&mut self, run: &mut InlineRun<A, K, R>) {
        let mut selection = Selection::new();
        self.select_into(&mut selection);
        // The commonest keyed send reaches strong callbacks that stay
        // connected: `admit` would make each a call with no owner, claiming
        // nothing, so they run from the selection as plain calls, with no
        // plan. (One look at each state: a once-slot, or one blocked or
        // disconnected since it was selected, takes the general path.)
        let (mut plain, mut at_once) = (true, true);
        for slot in &selection {
            plain &= slot.is_strong() && slot.is_persistently_selectable();
            at_once &= slot.borrows_event();
        }
        if plain {
            let count = selection.len();
            run.report.scheduled = count;
            run.report.reserve(count);
            if at_once && self.args.is_none() {
                return self.call_lent(&mut run.report, &selection);
            }
            return self.start_inline(
                run,
                &[],
                count,
                &selection,
                std::iter::empty::<PickedCall<'_, A, K, R>>(),
            );
        }
        // Filled in place and drained, not moved: see `pick`.
        let mut plan = Plan::new();
        self.plan(selection, || None, &mut plan);
        self.start_plan_inline(run, &mut plan);
    }

    /// Starts the calls of `plan` inline, as
    /// [`start_inline`](Self::start_inline) does, draining it.
    fn start_plan_inline(&mut self, run: &mut InlineRun<A, K, R>, plan: &mut Plan<A, K, R>) {
        let count = plan.calls.len();
        run.report.scheduled = count + plan.sinks.len();
        run.report.set_streamed(plan.sinks.len());
        run.report.reserve(count);
        let calls = plan.calls.drain(..).map(Call::into_parts);
        self.start_inline(run, &plan.sinks, count, &[], calls);
    }

    /// Runs an inline send's calls, `plain` ones that are all sync, with
    /// its event lent ([`run_lent`]). The builder's arguments are `None`:
    /// the event holds nothing of the send's own.
    fn call_lent(
        &mut self,
        report: &mut Report<R>,
        plain: &[impl std::borrow::Borrow<CallbackSlot<A, K, R>>],
    ) {
        debug_assert!(
            self.args.is_none(),
            "a lent event has the default arguments"
        );
        run_lent(self.signal, &self.senders, &self.keys, plain, report);
    }

    /// Starts an inline send's `count` calls (unless it reached nothing, as
    /// `run`'s report says): makes its delivery, feeds the subscriptions,
    /// runs the sync calls to their outcomes in the report and leaves the
    /// async ones running in `run`.
    ///
    /// The calls are `plain` ones (no owner, no permit: see
    /// [`start_plain`]), then `calls`.
    fn start_inline<S>(
        &mut self,
        run: &mut InlineRun<A, K, R>,
        sinks: &[Arc<CallbackSlot<A, K, R>>],
        count: usize,
        plain: &[Arc<CallbackSlot<A, K, R>>],
        calls: impl IntoIterator<Item = (S, crate::callback::Owner, Option<crate::flight::Permit>)>,
    ) where
        S: std::borrow::Borrow<CallbackSlot<A, K, R>>,
    {
        if run.report.scheduled > 0 {
            let delivery = Arc::new(self.deliver(count, run.report.scheduled, None));
            feed(&delivery, sinks);
            let ticket = run.ticket.insert(Ticket::new(delivery, count));
            if !plain.is_empty() {
                start_plain(ticket, plain, &mut run.report, &mut run.running);
            }
            start_all(ticket, calls, &mut run.report, &mut run.running);
        }
    }

    /// Picks what this send runs from a snapshot of slots: each passes the
    /// state check [`select`](Self::select) makes (its liveness check is
    /// binding the owner), then [`admit`](Self::admit), as in
    /// [`plan`](Self::plan). Calls are indices into the snapshot, with their
    /// owners; subscriptions are collected to be fed.
    ///
    /// The picks and subscriptions are filled in place, not returned: a
    /// returned pair is copied out of the callee's writes at once, which
    /// stalls the processor (its stores can't be forwarded to the wider
    /// loads of the copy).
    fn pick(
        &self,
        snapshot: &CallbackSnapshot<A, K, R>,
        picks: &mut Picks,
        sinks: &mut SnapshotSinks<A, K, R>,
    ) {
        let slots = &snapshot.slots;
        // The commonest snapshot holds strong callbacks only: each slot up
        // to the first that is not plainly selectable is a call with no
        // owner, told by one look at its state.
        let mut start = 0;
        if plainness(snapshot) != Plain::Not {
            start = self.signal.inner().router.plain_prefix(snapshot);
            picks.push_leading(start);
        }
        for (index, slot) in slots.iter().enumerate().skip(start) {
            let Some(once) = slot.selectable_once() else {
                continue;
            };
            // The commonest slot, a strong callback that stays connected:
            // `admit` would make it a call with no owner, claiming nothing.
            if !once && slot.is_strong() {
                picks.push_ownerless(index);
                continue;
            }
            match self.admit(slot) {
                Admit::Skip => {}
                Admit::Sink => sinks.push(slot.clone()),
                Admit::Call(owner) => picks.push(index, owner),
            }
        }
    }

    /// The slots this send reaches, connected, live and unblocked.
    fn select(&self) -> Selection<Callback<A, K, R>, K> {
        let mut selection = Selection::new();
        self.select_into(&mut selection);
        selection
    }

    /// [`select`](Self::select), into `selection` (in place: see `pick`).
    fn select_into(&self, selection: &mut Selection<Callback<A, K, R>, K>) {
        let mut addresses: SmallVec<[usize; 4]> = SmallVec::new();
        // Pushed one by one: collecting reserves first, which costs more
        // than the one or no sender of most sends.
        for sender in &self.senders {
            addresses.push(sender.address());
        }
        self.signal
            .inner()
            .router
            .select(&self.keys, &addresses, selection);
    }

    /// Turns the selected slots into this send's calls, added to `plan`, in
    /// one pass: binds each owner (dead ones are dropped), claims each slot
    /// (a once-connection goes to one send only, and is then disconnected),
    /// and gives each call its permit.
    fn plan(
        &self,
        selection: Selection<Callback<A, K, R>, K>,
        mut permit: impl FnMut() -> Option<crate::flight::Permit>,
        plan: &mut Plan<A, K, R>,
    ) {
        for slot in selection {
            match self.admit(&slot) {
                Admit::Skip => {}
                Admit::Sink => plan.sinks.push(slot),
                Admit::Call(owner) => {
                    let permit = permit();
                    plan.calls.push(Call {
                        slot,
                        owner,
                        permit,
                    });
                }
            }
        }
    }

    /// What a selected slot becomes in this send, decided once for every
    /// path: nothing (its owner died, or another send claimed its
    /// once-connection), a subscription to feed, or a call with its bound
    /// owner. Claims the slot, and disconnects a once-connection it claims.
    #[inline]
    fn admit(&self, slot: &CallbackSlot<A, K, R>) -> Admit {
        let Some(owner) = slot.bind() else {
            return Admit::Skip;
        };
        if !slot.claim() {
            return Admit::Skip;
        }
        if slot.is_once() {
            self.signal.inner().router.remove(slot);
        }
        if slot.as_sink().is_some() {
            Admit::Sink
        } else {
            Admit::Call(owner)
        }
    }

    /// Makes the send's shared state for `calls` callbacks, counting the
    /// send and the `reached` connections. Takes the senders, keys and
    /// arguments out of the builder, which is spent.
    #[inline]
    fn deliver(
        &mut self,
        calls: usize,
        reached: usize,
        reporter: Option<mpsc::UnboundedSender<Finished<R>>>,
    ) -> Delivery<A, K, R> {
        let inner = self.signal.inner();
        inner.counters.sent(reached, calls > 0);
        Delivery::new(
            self.signal.clone(),
            std::mem::take(&mut self.senders),
            std::mem::take(&mut self.keys),
            self.args.take(),
            calls,
            reporter,
        )
    }

    fn into_unsent(mut self) -> Unsent<A, K> {
        self.take_unsent()
    }

    /// The send given back, taken out of the builder, which is spent.
    fn take_unsent(&mut self) -> Unsent<A, K> {
        Unsent {
            args: self.args.take(),
            keys: std::mem::take(&mut self.keys).into_vec(),
            senders: std::mem::take(&mut self.senders).into_vec(),
        }
    }
}

/// Runs the calls of an inline send of `signal` naming `senders` and `keys`
/// with its default arguments, `plain` ones that are all sync, with its
/// event lent ([`Lent`]): the event data is the caller's, and the send's
/// bookkeeping, with every call over on return, is the signal's counters
/// only.
fn run_lent<A, K, R>(
    signal: &Signal<A, K, R>,
    senders: &[Sender],
    keys: &[K],
    plain: &[impl std::borrow::Borrow<CallbackSlot<A, K, R>>],
    report: &mut Report<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let count = plain.len();
    if count == 0 {
        return;
    }
    let lent = Lent::new(signal, senders, keys);
    signal
        .inner()
        .counters
        .run_inline(count, || lent.lend(|event| call_lent(event, plain, report)));
}

/// The snapshot of a send naming nothing (no key, sender, arguments or
/// mode) that lends its event to every slot, if this is one: its signal is
/// inline, open, unblocked and has no in-flight limit, and every slot of
/// the current snapshot is [lendable](is_lendable).
#[inline(always)]
fn lendable_inline_snapshot<A, K, R>(
    signal: &Signal<A, K, R>,
) -> Option<CurrentSnapshot<'_, Callback<A, K, R>, K>>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let inner = signal.inner();
    if inner.mode != Mode::Inline
        || inner.is_closed()
        || inner.is_blocked()
        || inner.flight.limit().is_some()
    {
        return None;
    }
    let snapshot = inner.router.unfiltered_snapshot();
    is_lendable(signal, &snapshot).then_some(snapshot)
}

/// Whether an unfiltered send with the default arguments (its callers
/// have looked at those) can lend its event to `snapshot`'s slots: every
/// slot is a callback borrowing the event, plainly selectable, so nothing
/// need be picked. The arguments are not looked at here: after the
/// snapshot's atomic loads, the compiler would read them back from memory.
#[inline(always)]
fn is_lendable<A, K, R>(signal: &Signal<A, K, R>, snapshot: &CallbackSnapshot<A, K, R>) -> bool
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    plainness(snapshot) == Plain::AllAtOnce
        && signal.inner().router.plain_prefix(snapshot) == snapshot.slots.len()
}

/// An unfiltered send with the default arguments, to `slots` of a
/// [lendable](is_lendable) snapshot: to every slot, nothing picked. The
/// commonest send, its outcomes written into `report` (fresh).
///
/// Inlined into [`call`](SendBuilder::call) and into [`Wait`]'s poll, with
/// its counters and event, so that the send's one frame does all but the
/// calls to the callbacks (see [`run_bare`]).
#[inline(always)]
fn lend_to_every_slot<A, K, R>(
    signal: &Signal<A, K, R>,
    report: &mut Report<R>,
    snapshot: CurrentSnapshot<'_, Callback<A, K, R>, K>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let count = snapshot.slots.len();
    report.scheduled = count;
    report.reserve(count);
    // Its event names no sender and no key.
    run_bare(signal, snapshot, report);
}

/// [`run_lent`] for a send naming no sender and no key: its event borrows
/// the signal alone ([`BareEvent`](crate::event::BareEvent)). A function of
/// its own, not a branch in `run_lent` on the lists being empty: with the
/// branch, in alternating runs, the awaited send cost ~1 ns more at one
/// callback (24.6–24.8 ns against 23.5–23.9) and ~0.2 ns more per callback
/// at ten.
///
/// Written out, with no closure, and inlined with its counters: the send's
/// frame does all but the calls, which [`call_lent`] makes in a frame of
/// its own. With a closure for the counters and one for the event, each a
/// frame of its own, a called send to one callback cost ~2 ns more.
#[inline(always)]
fn run_bare<A, K, R>(
    signal: &Signal<A, K, R>,
    snapshot: CurrentSnapshot<'_, Callback<A, K, R>, K>,
    report: &mut Report<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let count = snapshot.slots.len();
    if count == 0 {
        return;
    }
    let counters = &signal.inner().counters;
    let local = counters.begin_inline(count);
    let bare = crate::event::BareEvent::new(signal);
    call_lent(bare.event(), &snapshot.slots, report);
    // The snapshot is let go of with the end (see `end_holding`).
    counters.end_holding(&local, count, snapshot.held());
}

/// How plain the slots of `snapshot` are: strong callbacks (with no owner,
/// taken by no once-connection), and, if so, strong sync ones borrowing the
/// event, to which a send can lend it.
#[inline]
fn plainness<A, K, R>(snapshot: &CallbackSnapshot<A, K, R>) -> Plain
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    *snapshot.plain.get_or_init(|| {
        let slots = &snapshot.slots;
        if !slots.iter().all(|slot| slot.is_strong()) {
            Plain::Not
        } else if slots.iter().all(|slot| slot.borrows_event()) {
            Plain::AllAtOnce
        } else {
            Plain::All
        }
    })
}

/// The subscriptions a snapshot send feeds.
type SnapshotSinks<A, K, R> = Vec<Arc<CallbackSlot<A, K, R>>>;

/// An awaited send ([`SendBuilder::wait_until`]), written out rather than
/// an `async fn`: an `async fn` copies its arguments (the whole builder)
/// into its own state when first polled, right after the caller wrote
/// them, which stalls the processor; this reads them where they are.
///
/// No field is ever pinned (the deadline, once it must be polled, is
/// pinned in a box of its own), so the wait is `Unpin` whatever it holds.
struct Wait<'a, A, K, R, D>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// Dropped by [`Wait`]'s own drop, which looks before it calls: most
    /// waits are dropped finished, with nothing left to drop.
    state: ManuallyDrop<WaitState<'a, A, K, R, D>>,
}

impl<A, K, R, D> Drop for Wait<'_, A, K, R, D>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    #[inline]
    fn drop(&mut self) {
        if !matches!(*self.state, WaitState::Done) {
            drop_unfinished(std::mem::replace(&mut *self.state, WaitState::Done));
        }
    }
}

/// Drops what an unfinished [`Wait`] holds.
#[inline(never)]
fn drop_unfinished<A, K, R, D>(state: WaitState<'_, A, K, R, D>)
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    drop(state);
}

/// How the first poll of a [`Wait`] went.
enum Started<'a, A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The send is over (or never began): this is its result.
    Finished(Result<Report<R>, SendError<A, K>>),
    /// Its inline calls started.
    Inline,
    /// It runs in tasks on `executor`, in this mode, or (with no executor)
    /// inline under an in-flight limit.
    Elsewhere(Mode, Option<Resolved<'a>>),
}

/// Where a [`Wait`] is.
enum WaitState<'a, A, K, R, D>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// Not polled yet, its builder [plain](SendBuilder::is_plain) and
    /// naming no mode: the signal is all it held. (The deadline is taken
    /// as in `Unstarted`.)
    ///
    /// No mode, and so no byte beside the deadline's: the poll read the
    /// two together, a load wider than either store the awaiting task had
    /// just made, which cannot be forwarded from them, and waited for the
    /// stores to reach the cache (a sixth of an awaited send's time to
    /// one callback, by `perf`).
    Plain(&'a Signal<A, K, R>, Option<D>),
    /// Not polled yet. (The deadline is an option to be taken out while
    /// the builder is read in place; taken, it marks a first poll begun.)
    Unstarted(SendBuilder<'a, A, K, R>, Option<D>),
    /// Inline, with async callbacks still running.
    Inline(InlineRun<A, K, R>, Pin<Box<D>>),
    /// Run by tasks, or inline under an in-flight limit: an `async fn`,
    /// boxed.
    Elsewhere(BoxFuture<'a, Result<Report<R>, SendError<A, K>>>),
    /// Finished (or its first poll is under way).
    Done,
}

impl<A, K, R, D> Unpin for Wait<'_, A, K, R, D>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
}

impl<'a, A, K, R, D> Future for Wait<'a, A, K, R, D>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    D: Future + Send + 'a,
{
    type Output = Result<Report<R>, SendError<A, K>>;

    // Inlined into the awaiting task, as `call` is into its caller: its
    // frame then makes the send. Out of line, in alternating runs, an
    // awaited send to one callback cost 1.16× `signals2`'s time (median of
    // eight), against 1.13×, and to ten 1.027×, against 1.015×.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state: &mut WaitState<'a, A, K, R, D> = &mut self.get_mut().state;
        // The commonest awaited send, made as `call` makes it, here, up to
        // the callbacks' loop: every other poll is out of line
        // (`poll_rest`), so that this one needs few registers. With the
        // lend and the checks each in a frame of their own, a send to one
        // callback took 337 instructions, against 301 with them here.
        if let WaitState::Plain(signal, deadline) = state {
            if deadline.is_some() {
                let signal: &Signal<A, K, R> = signal;
                if let Some(snapshot) = lendable_inline_snapshot(signal) {
                    // Taken before any call, as in `poll_rest`.
                    drop(deadline.take());
                    let mut report = Report::empty();
                    lend_to_every_slot(signal, &mut report, snapshot);
                    // Forgotten, not dropped: the deadline was dropped, and
                    // nothing else is left to drop.
                    std::mem::forget(std::mem::replace(state, WaitState::Done));
                    return Poll::Ready(Ok(report));
                }
            }
        }
        poll_rest(state, cx)
    }
}

/// [`Wait::poll`] for every send but the commonest.
#[inline(never)]
fn poll_rest<'a, A, K, R, D>(
    state: &mut WaitState<'a, A, K, R, D>,
    cx: &mut Context<'_>,
) -> Poll<Result<Report<R>, SendError<A, K>>>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    D: Future + Send + 'a,
{
    if let WaitState::Plain(signal, deadline) = state {
        // Not lendable: made as any other send, from a builder naming
        // nothing (the deadline moved as it is: taken, it still marks a
        // first poll that panicked).
        let (signal, deadline) = (*signal, deadline.take());
        *state = WaitState::Unstarted(SendBuilder::new(signal), deadline);
    }
    if let WaitState::Unstarted(send, deadline) = state {
        // Taken first: a wait found unstarted with no deadline had its
        // first poll panic (in a key's `Hash`, say), and must not send
        // again with what is left of its builder.
        let deadline = deadline
            .take()
            .expect("a send's wait polled again after its first poll panicked");
        let mut run = InlineRun::new();
        match send.start_wait(&mut run) {
            Started::Finished(result) => {
                *state = WaitState::Done;
                return Poll::Ready(result);
            }
            Started::Inline if run.running.is_none() => {
                // Taken apart, not finished: nothing runs, and the
                // report is moved out rather than swapped for an empty
                // one that must then be dropped.
                let InlineRun { report, ticket, .. } = run;
                drop(ticket);
                *state = WaitState::Done;
                return Poll::Ready(Ok(report));
            }
            Started::Inline => {
                // The deadline is pinned in a box of its own (none for
                // `wait`'s, which is zero-sized), so the wait never is.
                *state = WaitState::Inline(run, Box::pin(deadline));
            }
            Started::Elsewhere(mode, executor) => {
                // Boxed: its state would otherwise enlarge the future
                // of every awaited send, inline ones included.
                let WaitState::Unstarted(send, _) = std::mem::replace(state, WaitState::Done)
                else {
                    unreachable!("matched above")
                };
                *state = WaitState::Elsewhere(match executor {
                    Some(executor) => Box::pin(send.wait_scheduled(mode, executor, deadline)),
                    None => Box::pin(async move { Ok(send.wait_limited_inline(deadline).await) }),
                });
            }
        }
    }
    match state {
        WaitState::Inline(run, deadline) => {
            let (Some(running), Some(ticket)) = (run.running.as_mut(), run.ticket.as_mut()) else {
                unreachable!("an inline wait is left running only with async calls")
            };
            if poll_drain(ticket, running, &mut run.report, cx).is_pending() {
                if deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                run.report.set_pending(pending_ids(running));
            }
            let report = run.finish();
            *state = WaitState::Done;
            Poll::Ready(Ok(report))
        }
        WaitState::Elsewhere(wait) => {
            let result = ready!(wait.as_mut().poll(cx));
            *state = WaitState::Done;
            Poll::Ready(result)
        }
        WaitState::Plain(..) | WaitState::Unstarted(..) | WaitState::Done => {
            panic!("a send's wait polled after it finished")
        }
    }
}

/// An inline send from the snapshot, its sync callbacks done, its async
/// ones (if any) still running ([`SendBuilder::start_unfiltered_inline`]).
struct InlineRun<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    report: Report<R>,
    /// The async callbacks, still running (they need neither their slots
    /// nor the snapshot any more). Dropped before the ticket, which then
    /// settles them as never run.
    running: Option<crate::dispatch::Running<R>>,
    /// `None` if the send reached no callback.
    ticket: Option<Ticket<A, K, R>>,
}

impl<A, K, R> InlineRun<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// A send not started yet: an empty report, nothing running.
    fn new() -> Self {
        InlineRun {
            report: Report::empty(),
            running: None,
            ticket: None,
        }
    }

    /// The report, once the calls are done or no longer waited for: the
    /// calls still running are dropped first, then the ticket, which
    /// settles them as never run.
    #[inline]
    fn finish(&mut self) -> Report<R> {
        self.running = None;
        self.ticket = None;
        std::mem::replace(&mut self.report, Report::empty())
    }
}

/// What [`SendBuilder::admit`] made of a selected slot.
enum Admit {
    Skip,
    Sink,
    Call(crate::callback::Owner),
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
    delivery: &Arc<Delivery<A, K, R>>,
    calls: Calls<A, K, R>,
    limit: Option<Arc<async_lock::Semaphore>>,
    mut deadline: std::pin::Pin<&mut D>,
) -> Option<Stop>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    D: Future,
{
    let count = calls.len();
    for (scheduled, mut call) in calls.into_iter().enumerate() {
        if let Some(semaphore) = &limit {
            let permit = match semaphore.try_acquire_arc() {
                Some(permit) => permit,
                None => {
                    match select(std::pin::pin!(semaphore.acquire_arc()), deadline.as_mut()).await {
                        Either::Left((permit, _)) => permit,
                        Either::Right(_) => {
                            // The calls not started will never run.
                            delivery.settle(count - scheduled, 0);
                            return Some(Stop::Deadline);
                        }
                    }
                }
            };
            call.permit = Some(permit);
        }
        let call = call.into_parts();
        if let Err(source) = executor.spawn(run_one(Ticket::new(delivery.clone(), 1), call)) {
            delivery.settle(count - scheduled - 1, 0);
            return Some(Stop::Spawn(scheduled, source));
        }
    }
    None
}

/// Hands the send's event to each subscription.
fn feed<A, K, R>(delivery: &Arc<Delivery<A, K, R>>, sinks: &[Arc<CallbackSlot<A, K, R>>])
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    for slot in sinks {
        if let Some(sink) = slot.as_sink() {
            sink.push(Event::new(delivery.clone()));
        }
    }
}

/// Spawns one task running a snapshot send's picked calls
/// ([`Mode::Batched`]). A refused task is dropped with its ticket, which
/// settles its calls as never run.
fn spawn_picked_batch<A, K, R>(
    executor: &Resolved<'_>,
    snapshot: Arc<CallbackSnapshot<A, K, R>>,
    picks: Picks,
    delivery: Arc<Delivery<A, K, R>>,
) -> Result<(), crate::error::SpawnError>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    executor.spawn(RunBatch::new(snapshot, picks, delivery))
}

/// Spawns one task per picked call of a snapshot send ([`Mode::Spawned`]),
/// each holding the snapshot; on a refusal, how many were spawned before.
fn spawn_picked_each<A, K, R>(
    executor: &Resolved<'_>,
    snapshot: Arc<CallbackSnapshot<A, K, R>>,
    mut picks: Picks,
    delivery: Arc<Delivery<A, K, R>>,
) -> Result<(), (usize, crate::error::SpawnError)>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let count = picks.len();
    let spawn = |delivery, snapshot, (index, owner)| {
        let slot = SnapshotSlot { snapshot, index };
        executor.spawn(run_one(Ticket::new(delivery, 1), (slot, owner, None)))
    };
    let mut calls = picks.take();
    // Every call but the last clones the send's references to the delivery
    // and the snapshot; the last takes them.
    for (scheduled, call) in (0..count.saturating_sub(1)).zip(calls.by_ref()) {
        if let Err(source) = spawn(delivery.clone(), snapshot.clone(), call) {
            // This call's ticket settled it; settle those never tried.
            delivery.settle(count - scheduled - 1, 0);
            return Err((scheduled, source));
        }
    }
    match calls.next() {
        Some(call) => spawn(delivery, snapshot, call).map_err(|source| (count - 1, source)),
        None => Ok(()),
    }
}

/// Spawns one task running all of a send's calls ([`Mode::Batched`]). A
/// refused task is dropped with its ticket, which settles its calls as
/// never run.
fn spawn_batch<A, K, R>(
    executor: &Resolved<'_>,
    delivery: &Arc<Delivery<A, K, R>>,
    calls: Calls<A, K, R>,
    limit: Option<Arc<async_lock::Semaphore>>,
) -> Result<(), crate::error::SpawnError>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let mut ticket = Ticket::new(delivery.clone(), calls.len());
    let delivery = delivery.clone();
    executor.spawn(async move {
        let calls = calls.into_iter().map(Call::into_parts);
        let outcomes = &mut ToSender(&delivery);
        if limit.is_some() {
            // Rare: kept out of line, so it doesn't enlarge every task.
            Box::pin(run_all(&mut ticket, calls, limit, outcomes)).await;
        } else {
            let mut running = None;
            start_all(&mut ticket, calls, outcomes, &mut running);
            if let Some(running) = running.as_mut() {
                drain(&mut ticket, running, outcomes).await;
            }
        }
    })
}

/// The connections a send's calls belong to.
type Ids = SmallVec<[ConnectionId; 8]>;

/// Outcomes recorded into a report, noting which connections returned a
/// value: for the waits that cannot tell the unfinished calls from a
/// running set (the limited inline one, and the scheduled ones).
struct Noting<'r, R> {
    report: &'r mut Report<R>,
    returned: Ids,
}

impl<'r, R> Noting<'r, R> {
    fn new(report: &'r mut Report<R>) -> Self {
        Noting {
            report,
            returned: Ids::new(),
        }
    }

    /// Names, of the calls to `ids`, those that did not finish.
    fn name_pending(self, ids: &[ConnectionId]) {
        let report = self.report;
        if report.completed() < report.scheduled {
            let done: HashSet<_> = report
                .failures()
                .iter()
                .map(|f| f.connection())
                .chain(self.returned)
                .collect();
            let mut pending: Vec<_> = ids
                .iter()
                .copied()
                .filter(|id| !done.contains(id))
                .collect();
            pending.sort_unstable();
            report.set_pending(pending);
        }
    }
}

impl<R> Outcomes<R> for Noting<'_, R> {
    fn value(&mut self, id: ConnectionId, value: R) {
        self.report.values.push(value);
        self.returned.push(id);
    }

    fn failure(&mut self, failure: crate::error::Failure) {
        self.report.push_failure(failure);
    }
}

/// An awaited inline send's outcomes go straight into its report.
impl<R: 'static> Outcomes<R> for Report<R> {
    const TALLIES_UNITS: bool = true;

    fn value(&mut self, _: ConnectionId, value: R) {
        self.values.push(value);
    }

    fn units(&mut self, count: usize) {
        if let Some(units) = (&mut self.values as &mut dyn Any).downcast_mut::<Vec<()>>() {
            units.resize(units.len() + count, ());
        }
    }

    fn failure(&mut self, failure: crate::error::Failure) {
        self.push_failure(failure);
    }
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
