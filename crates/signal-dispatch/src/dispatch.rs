//! Running callbacks: one per task, or many in one task, and accounting for
//! each outcome — to an awaiting sender, or to the signal's error hook.
//!
//! A send's shared state is its [`Delivery`]: one
//! allocation holding the event data callbacks see and the bookkeeping of
//! the send (calls still to finish, the awaiting sender's channel). Each
//! task holds a [`Ticket`] for the calls it runs; a ticket dropped before
//! its calls finished (a runtime shutting down drops tasks) settles them as
//! never run, so nothing waits forever for them.
//!
//! A send with the default arguments whose callbacks all borrow the event
//! has no delivery: it lends the event from its stack frame
//! ([`call_lent`]) or from its one task ([`RunLent`]), and the signal's
//! counters are its bookkeeping.

use std::borrow::Borrow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_lock::Semaphore;
use futures::FutureExt;
use futures::future::{BoxFuture, CatchUnwind, Either, select};
use futures::stream::{FuturesUnordered, StreamExt};
use smallvec::SmallVec;

use crate::callback::{Callback, Invocation, Owner};
use crate::connection::ConnectionId;
use crate::error::{CallbackError, Cause, Failure};
use crate::event::{Delivery, Event, Lent};
use crate::flight::Permit;
use crate::picks::{Picked, Picks};
use crate::router::{Key, Slot, Snapshot};
use crate::send::Named;
use crate::sender::Sender;
use crate::signal::Signal;
use crate::sync::Arc;

pub(crate) type CallbackSlot<A, K, R> = Slot<Callback<A, K, R>, K>;

/// The router's snapshot of a signal's unfiltered connections.
pub(crate) type CallbackSnapshot<A, K, R> = Snapshot<Callback<A, K, R>, K>;

/// One callback a send will run.
pub(crate) struct Call<A, K, R> {
    pub(crate) slot: Arc<CallbackSlot<A, K, R>>,
    pub(crate) owner: Owner,
    /// Its place under the in-flight limit, if one is set and was taken.
    pub(crate) permit: Option<Permit>,
}

/// The calls of one send, inline up to two (a keyed send mostly reaches
/// one; a large fan-out runs from the snapshot, with no calls list).
pub(crate) type Calls<A, K, R> = SmallVec<[Call<A, K, R>; 2]>;

impl<A, K, R> Call<A, K, R> {
    /// The call as [`run_all`] takes it.
    pub(crate) fn into_parts(self) -> (Arc<CallbackSlot<A, K, R>>, Owner, Option<Permit>) {
        (self.slot, self.owner, self.permit)
    }
}

/// What one callback did.
pub(crate) enum Finished<R> {
    Value(ConnectionId, R),
    Failed(Failure),
}

/// A task's claim on `calls` calls of a send. It counts what they did
/// locally and reports to the send once, when dropped: calls still
/// unfinished then (the task was dropped) are settled as never run.
pub(crate) struct Ticket<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The send's event, lent to each call (it holds the send's delivery).
    event: Event<A, K, R>,
    calls: usize,
    finished: usize,
}

impl<A, K, R> Ticket<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    pub(crate) fn new(delivery: Arc<Delivery<A, K, R>>, calls: usize) -> Self {
        Ticket {
            event: Event::new(delivery),
            calls,
            finished: 0,
        }
    }

    fn delivery(&self) -> &Delivery<A, K, R> {
        self.event.delivery()
    }

    /// Starts one call: a sync one runs to its outcome, handed to
    /// `outcomes` (its permit then released); an async one is returned,
    /// running, with its permit. (Inlined into its loops: called once per
    /// callback, it is the hottest code of a send.)
    #[inline(always)]
    fn run(
        &mut self,
        slot: &CallbackSlot<A, K, R>,
        owner: Owner,
        permit: Option<Permit>,
        outcomes: &mut impl Outcomes<R>,
    ) -> Option<RunningCall<R>> {
        let id = slot.id();
        match start(slot, owner, &self.event) {
            Started::Done(result) => {
                self.finish(id, result, outcomes);
                drop(permit);
                None
            }
            Started::Running(future) => Some(RunningCall::new(id, future, permit)),
        }
    }

    /// Accounts for one call's outcome, handing it to `outcomes`.
    fn finish(
        &mut self,
        id: ConnectionId,
        result: Result<R, Cause>,
        outcomes: &mut impl Outcomes<R>,
    ) {
        self.finished += 1;
        hand_over(&self.delivery().signal, id, result, outcomes);
    }
}

impl<A, K, R> Drop for Ticket<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn drop(&mut self) {
        self.delivery().settle(self.calls, self.finished);
    }
}

/// Hands one call's outcome, in a send of `signal`, to `outcomes`, counting
/// a failure. (Inlined: once per callback, like [`Ticket::run`].)
#[inline(always)]
fn hand_over<A, K, R>(
    signal: &Signal<A, K, R>,
    id: ConnectionId,
    result: Result<R, Cause>,
    outcomes: &mut impl Outcomes<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    match result {
        Ok(value) => outcomes.value(id, value),
        Err(cause) => {
            signal.inner().counters.failed();
            outcomes.failure(Failure::new(id, signal.name(), cause));
        }
    }
}

/// Starts a callback, catching a panic in its synchronous part. (Inlined:
/// once per callback, like [`Ticket::run`]; as a call it cost a fifth of a
/// batched callback's instructions.)
#[inline(always)]
fn start<A, K, R>(slot: &CallbackSlot<A, K, R>, owner: Owner, event: &Event<A, K, R>) -> Started<R>
where
    A: 'static,
    K: 'static,
    R: 'static,
{
    let callback = slot.target();
    match std::panic::catch_unwind(AssertUnwindSafe(|| callback.invoke(owner, event))) {
        Ok(Invocation::Ready(result)) => Started::Done(result.map_err(Cause::Error)),
        Ok(Invocation::Pending(future)) => Started::Running(future),
        // Subscriptions are fed at send time and never reach here.
        Ok(Invocation::Streamed) => Started::Done(Err(Cause::Error(
            "a subscription was run as a callback".into(),
        ))),
        Err(payload) => Started::Done(Err(Cause::Panic(payload))),
    }
}

enum Started<R> {
    Done(Result<R, Cause>),
    Running(BoxFuture<'static, Result<R, CallbackError>>),
}

/// An async call, running: its future, guarded against panics, with the
/// call's identity and the permit it holds until it is done.
pub(crate) struct RunningCall<R> {
    id: ConnectionId,
    future: CatchUnwind<AssertUnwindSafe<BoxFuture<'static, Result<R, CallbackError>>>>,
    permit: Option<Permit>,
}

impl<R> RunningCall<R> {
    fn new(
        id: ConnectionId,
        future: BoxFuture<'static, Result<R, CallbackError>>,
        permit: Option<Permit>,
    ) -> Self {
        RunningCall {
            id,
            future: AssertUnwindSafe(future).catch_unwind(),
            permit,
        }
    }
}

impl<R> Future for RunningCall<R> {
    type Output = (ConnectionId, Result<R, Cause>, Option<Permit>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (the callback's future is boxed).
        let this = self.get_mut();
        let result = match ready!(this.future.poll_unpin(cx)) {
            Ok(result) => result.map_err(Cause::Error),
            Err(payload) => Err(Cause::Panic(payload)),
        };
        Poll::Ready((this.id, result, this.permit.take()))
    }
}

/// The async calls of a task, still running.
pub(crate) type Running<R> = FuturesUnordered<RunningCall<R>>;

/// The connections of the calls still in `running`, in the order they
/// connected: what an awaited send reports pending when its deadline cut
/// the drive short.
pub(crate) fn pending_ids<R>(running: &Running<R>) -> Vec<ConnectionId> {
    let mut ids: Vec<ConnectionId> = running.iter().map(|call| call.id).collect();
    ids.sort_unstable();
    ids
}

/// Where a task hands its calls' outcomes.
pub(crate) trait Outcomes<R> {
    /// Whether these outcomes keep nothing of a `()` value but that it was
    /// returned: a loop may then count such values itself, in a register,
    /// and hand over the count ([`units`](Self::units)) once it is done.
    const TALLIES_UNITS: bool = false;

    /// A call returned `value`.
    fn value(&mut self, id: ConnectionId, value: R);
    /// `count` calls returned `()`, counted by the loop that made them.
    /// Called only where [`TALLIES_UNITS`](Self::TALLIES_UNITS) is set and
    /// `R` is `()`.
    fn units(&mut self, count: usize) {
        debug_assert!(
            false,
            "{count} units handed to outcomes that keep each value"
        );
    }
    /// A call failed.
    fn failure(&mut self, failure: Failure);

    /// Takes an outcome as the awaiting sender's channel carries it.
    fn record(&mut self, finished: Finished<R>) {
        match finished {
            Finished::Value(id, value) => self.value(id, value),
            Finished::Failed(failure) => self.failure(failure),
        }
    }
}

/// The outcomes of a send nobody awaits: values dropped where they are
/// made, failures to the error hook. (Not a [`ToSender`] asking each time
/// whether someone listens: the commonest batched task knows no one does.)
pub(crate) struct Unheard<'a, A, K, R>(pub(crate) &'a Signal<A, K, R>);

impl<A, K, R> Outcomes<R> for Unheard<'_, A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn value(&mut self, _: ConnectionId, _: R) {}

    fn failure(&mut self, failure: Failure) {
        self.0.report(failure);
    }
}

/// The outcomes of a send's tasks: to the awaiting sender if one still
/// listens, else (failures only) to the error hook. Values nobody awaits are
/// dropped where they are made.
pub(crate) struct ToSender<'a, A, K, R>(pub(crate) &'a Delivery<A, K, R>);

impl<A, K, R> Outcomes<R> for ToSender<'_, A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn value(&mut self, id: ConnectionId, value: R) {
        if let Some(reporter) = self.0.reporter() {
            // A closed channel: the sender stopped waiting.
            let _ = reporter.unbounded_send(Finished::Value(id, value));
        }
    }

    fn failure(&mut self, failure: Failure) {
        let unheard = match self.0.reporter() {
            Some(reporter) => reporter
                .unbounded_send(Finished::Failed(failure))
                .err()
                .map(|e| e.into_inner()),
            None => Some(Finished::Failed(failure)),
        };
        if let Some(Finished::Failed(failure)) = unheard {
            self.0.signal.report(failure);
        }
    }
}

/// Runs one callback: the body of a task in [`Mode::Spawned`](crate::Mode::Spawned).
/// The call is a slot (owned, or held through a snapshot), its bound owner,
/// and its permit if it has one, kept until the call is done.
pub(crate) fn run_one<A, K, R, S>(
    ticket: Ticket<A, K, R>,
    (slot, owner, permit): (S, Owner, Option<Permit>),
) -> RunOne<A, K, R, S>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>>,
{
    RunOne {
        running: None,
        call: Some((slot, owner)),
        permit,
        ticket,
    }
}

/// The task of one call ([`run_one`]), written out rather than an `async
/// fn`: it holds only what each stage needs (the call until it starts, its
/// future while it runs), so the task tokio allocates per callback stays
/// small: an `async fn` kept its arguments and their moved copies both.
pub(crate) struct RunOne<A, K, R, S>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    // Dropped in this order if the task is: the call's future, the call,
    // its permit, and last the ticket, which settles it as never run.
    /// An async call, running.
    running: Option<RunningCall<R>>,
    /// The call, until it starts.
    call: Option<(S, Owner)>,
    permit: Option<Permit>,
    ticket: Ticket<A, K, R>,
}

impl<A, K, R, S> Future for RunOne<A, K, R, S>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>> + Unpin,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is `Unpin` (the callback's future is boxed).
        let this = self.get_mut();
        if let Some((slot, owner)) = this.call.take() {
            let slot = slot.borrow();
            let id = slot.id();
            match start(slot, owner, &this.ticket.event) {
                Started::Done(result) => return this.finish(id, result),
                Started::Running(future) => {
                    this.running = Some(RunningCall::new(id, future, None));
                }
            }
        }
        // `None` only if polled after it completed.
        let Some(running) = this.running.as_mut() else {
            return Poll::Ready(());
        };
        let (id, result, _) = ready!(running.poll_unpin(cx));
        this.running = None;
        this.finish(id, result)
    }
}

impl<A, K, R, S> RunOne<A, K, R, S>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// Accounts for the call's outcome, and releases its permit.
    fn finish(&mut self, id: ConnectionId, result: Result<R, Cause>) -> Poll<()> {
        self.ticket.finished += 1;
        let delivery = self.ticket.delivery();
        hand_over(&delivery.signal, id, result, &mut ToSender(delivery));
        self.permit = None;
        Poll::Ready(())
    }
}

/// The task of a send nobody awaits, with the signal's default arguments,
/// whose calls (one, or a batch) are all to callbacks that borrow the event
/// ([`borrows_event`](crate::router::Slot::borrows_event)): it holds the
/// event data itself and lends the event while the callbacks run
/// ([`Lent`]), so the send allocates its task and nothing else. The send
/// is in flight until the task has run, or is dropped unrun.
///
/// Its event names the senders and keys in `N`: none ([`Unnamed`]) for
/// most sends, whose task is then two words. Tokio allocates a task of up
/// to three words in a 128-byte cell, a larger one in 256 bytes, as it did
/// every such task when each held both lists.
pub(crate) struct RunLent<A, K, R, C, N>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The calls, until they run.
    calls: Option<C>,
    signal: Signal<A, K, R>,
    names: N,
}

/// What the event of a [`RunLent`] task names.
pub(crate) trait Names<K>: Send + 'static {
    fn senders(&self) -> &[Sender];
    fn keys(&self) -> &[K];
}

/// No sender and no key: the event of the commonest send.
pub(crate) struct Unnamed;

impl<K> Names<K> for Unnamed {
    fn senders(&self) -> &[Sender] {
        &[]
    }

    fn keys(&self) -> &[K] {
        &[]
    }
}

impl<K: Key> Names<K> for (Named<Sender>, Named<K>) {
    fn senders(&self) -> &[Sender] {
        &self.0
    }

    fn keys(&self) -> &[K] {
        &self.1
    }
}

/// What a [`RunLent`] task calls.
pub(crate) trait LentCalls<A, K, R> {
    /// How many calls these are.
    fn count(&self) -> usize;

    /// Makes them, with the event lent.
    fn call(&self, event: &Event<A, K, R>, outcomes: &mut impl Outcomes<R>);
}

/// One call to a slot (owned, or held through a snapshot).
impl<A, K, R, S> LentCalls<A, K, R> for S
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>>,
{
    fn count(&self) -> usize {
        1
    }

    fn call(&self, event: &Event<A, K, R>, outcomes: &mut impl Outcomes<R>) {
        let mut tally = Tally::default();
        call_sync(self.borrow(), event, outcomes, &mut tally);
        tally.hand_over(outcomes);
    }
}

/// A call to each slot of a snapshot, in order: a batch.
pub(crate) struct EverySlot<A, K, R>(pub(crate) Arc<CallbackSnapshot<A, K, R>>);

impl<A, K, R> LentCalls<A, K, R> for EverySlot<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn count(&self) -> usize {
        self.0.slots.len()
    }

    fn call(&self, event: &Event<A, K, R>, outcomes: &mut impl Outcomes<R>) {
        call_lent(event, &self.0.slots, outcomes);
    }
}

impl<A, K, R, C, N> RunLent<A, K, R, C, N>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The task of `calls` in a send of `signal` naming `names`, counted
    /// as begun by the caller.
    pub(crate) fn new(calls: C, signal: Signal<A, K, R>, names: N) -> Self {
        RunLent {
            calls: Some(calls),
            signal,
            names,
        }
    }
}

// No field is ever pinned: the task is `Unpin` whatever it holds.
impl<A, K, R, C, N> Unpin for RunLent<A, K, R, C, N>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
}

impl<A, K, R, C, N> Future for RunLent<A, K, R, C, N>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    C: LentCalls<A, K, R>,
    N: Names<K>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // `None` only if polled after it completed.
        if let Some(calls) = this.calls.take() {
            let lent = Lent::new(&this.signal, this.names.senders(), this.names.keys());
            lent.lend(|event| calls.call(event, &mut Unheard(&this.signal)));
            this.signal.inner().counters.ended(calls.count());
        }
        Poll::Ready(())
    }
}

impl<A, K, R, C, N> Drop for RunLent<A, K, R, C, N>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// Dropped unrun (its spawn refused, or its runtime shutting down): the
    /// send ends with its calls never run.
    fn drop(&mut self) {
        if self.calls.take().is_some() {
            self.signal.inner().counters.ended(0);
        }
    }
}

/// Starts many callbacks in the current task, in order: sync ones run to
/// their outcome now, handed to `outcomes`; async ones are added, still
/// running, to `running` (left `None` if there are none, the common case),
/// for [`drain`].
///
/// A plain function, not a future: a send whose callbacks are all sync
/// never builds the state of an async one. The running set is filled in
/// place, not returned: its caller would copy it out of this function's
/// narrow stores with wide loads, which stalls the processor.
///
/// Each call is a slot (owned, or borrowed from a snapshot), its bound
/// owner, and its permit if it has one.
pub(crate) fn start_all<A, K, R, S>(
    ticket: &mut Ticket<A, K, R>,
    calls: impl IntoIterator<Item = (S, Owner, Option<Permit>)>,
    outcomes: &mut impl Outcomes<R>,
    running: &mut Option<Running<R>>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>>,
{
    for (slot, owner, permit) in calls {
        if let Some(call) = ticket.run(slot.borrow(), owner, permit, outcomes) {
            running.get_or_insert_with(Running::new).push(call);
        }
    }
}

/// [`start_all`] for calls with no owner and no permit, given as their
/// slots: the commonest calls, in a loop of their own, where a strong sync
/// callback (the commonest of all) is called directly, its result returned
/// in registers, and a failure handled out of line ([`fail`]).
#[inline]
pub(crate) fn start_plain<A, K, R>(
    ticket: &mut Ticket<A, K, R>,
    slots: &[Arc<CallbackSlot<A, K, R>>],
    outcomes: &mut impl Outcomes<R>,
    running: &mut Option<Running<R>>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let mut tally = Tally::default();
    for slot in slots {
        if slot.is_sync() {
            call_sync(slot, &ticket.event, outcomes, &mut tally);
            ticket.finished += 1;
        } else if let Some(call) = ticket.run(slot, None, None, outcomes) {
            running.get_or_insert_with(Running::new).push(call);
        }
    }
    tally.hand_over(outcomes);
}

/// Runs the calls of an inline send whose callbacks all borrow the event
/// (each [`borrows_event`](crate::router::Slot::borrows_event), so sync) with its
/// event, lent: no ticket, since every call is over on return.
///
/// In a frame of its own: inlined into `SendBuilder::call`, the loop cost
/// ~0.2 ns more per callback at ten (3.78–3.87 ns against 3.58–3.67).
#[inline(never)]
pub(crate) fn call_lent<A, K, R>(
    event: &Event<A, K, R>,
    slots: &[impl Borrow<CallbackSlot<A, K, R>>],
    outcomes: &mut impl Outcomes<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let mut tally = Tally::default();
    for slot in slots {
        call_sync(slot.borrow(), event, outcomes, &mut tally);
    }
    tally.hand_over(outcomes);
}

/// The `()` values a loop of sync calls counts itself, for outcomes that
/// keep only their number ([`Outcomes::TALLIES_UNITS`]), handed over once
/// the loop is done. Pushed one by one into a report, each value read and
/// wrote the report's length in memory across the call: ~0.25 ns per
/// callback (5.55 ns against 5.31 per callback at fan-out 100, called).
#[derive(Default)]
struct Tally(usize);

impl Tally {
    /// Whether a loop handing its values to `O` counts them here instead.
    #[inline(always)]
    fn counts<R: 'static, O: Outcomes<R>>(_: &O) -> bool {
        O::TALLIES_UNITS && std::any::TypeId::of::<R>() == std::any::TypeId::of::<()>()
    }

    #[inline(always)]
    fn hand_over<R: 'static>(self, outcomes: &mut impl Outcomes<R>) {
        if self.0 > 0 {
            outcomes.units(self.0);
        }
    }
}

/// Runs a strong sync callback ([`is_sync`](crate::router::Slot::is_sync)), the
/// commonest: its result comes back in registers, with no owner or permit
/// to drop and no kind of invocation to match, and a failure is handled
/// out of line ([`fail`]). (Inlined: once per callback.)
#[inline(always)]
fn call_sync<A, K, R>(
    slot: &CallbackSlot<A, K, R>,
    event: &Event<A, K, R>,
    outcomes: &mut impl Outcomes<R>,
    tally: &mut Tally,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    match std::panic::catch_unwind(AssertUnwindSafe(|| slot.target().call(event))) {
        Ok(Ok(_)) if Tally::counts(outcomes) => tally.0 += 1,
        Ok(Ok(value)) => outcomes.value(slot.id(), value),
        failed => fail(event, slot.id(), failed, outcomes),
    }
}

/// [`hand_over`] for a failed call, kept out of the loops that call it:
/// failures are rare, and their handling inlined would take registers from
/// every call.
#[cold]
#[inline(never)]
fn fail<A, K, R>(
    event: &Event<A, K, R>,
    id: ConnectionId,
    failed: std::thread::Result<Result<R, CallbackError>>,
    outcomes: &mut impl Outcomes<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let result = match failed {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Cause::Error(error)),
        Err(payload) => Err(Cause::Panic(payload)),
    };
    hand_over(event.signal(), id, result, outcomes);
}

/// Drives the async calls [`start_all`] left running to their outcomes.
/// The set is borrowed: if the drive is cut short, what it still holds are
/// the calls that did not finish ([`pending_ids`]).
pub(crate) async fn drain<A, K, R>(
    ticket: &mut Ticket<A, K, R>,
    running: &mut Running<R>,
    outcomes: &mut impl Outcomes<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    std::future::poll_fn(|cx| poll_drain(ticket, running, outcomes, cx)).await;
}

/// [`drain`] as a poll, for the futures written out by hand.
pub(crate) fn poll_drain<A, K, R>(
    ticket: &mut Ticket<A, K, R>,
    running: &mut Running<R>,
    outcomes: &mut impl Outcomes<R>,
    cx: &mut Context<'_>,
) -> Poll<()>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    while let Some((id, result, permit)) = ready!(running.poll_next_unpin(cx)) {
        ticket.finish(id, result, outcomes);
        drop(permit);
    }
    Poll::Ready(())
}

/// The task of a batched send from the router's snapshot
/// ([`Mode::Batched`](crate::Mode::Batched)): starts every picked call,
/// then drives the async ones. Written out, like [`RunOne`], to keep the
/// task small: the snapshot and the picks go once the calls have started.
/// It also finishes the async calls a synchronous send left running
/// ([`RunBatch::running`]), with nothing left to start.
pub(crate) struct RunBatch<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    // Dropped in this order if the task is: the calls' futures first, the
    // ticket last, which settles the unfinished calls as never run.
    /// The async calls, once started, still running.
    running: Option<Running<R>>,
    /// The calls, until they start.
    start: Option<Unstarted<A, K, R>>,
    /// The send's shared state, where the outcomes go.
    delivery: Arc<Delivery<A, K, R>>,
    ticket: Ticket<A, K, R>,
}

/// A batched snapshot send's calls, not started yet: picks of slots of a
/// snapshot.
struct Unstarted<A, K, R> {
    snapshot: Arc<CallbackSnapshot<A, K, R>>,
    picks: Picks,
}

impl<A, K, R> RunBatch<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    /// The task of calls already started and still `running`, for the
    /// send of `ticket`, nobody awaiting them: what a synchronous send
    /// ([`SendBuilder::call`](crate::SendBuilder::call)) hands on to finish.
    pub(crate) fn running(running: Running<R>, ticket: Ticket<A, K, R>) -> Self {
        RunBatch {
            running: Some(running),
            start: None,
            delivery: ticket.event.delivery().clone(),
            ticket,
        }
    }

    /// The task of `picks`, calls to slots of `snapshot`, for `delivery`,
    /// a send nobody awaits (its outcomes are [`Unheard`]).
    pub(crate) fn new(
        snapshot: Arc<CallbackSnapshot<A, K, R>>,
        picks: Picks,
        delivery: Arc<Delivery<A, K, R>>,
    ) -> Self {
        debug_assert!(
            delivery.reporter().is_none(),
            "a batch task is never awaited"
        );
        RunBatch {
            running: None,
            ticket: Ticket::new(delivery.clone(), picks.len()),
            start: Some(Unstarted { snapshot, picks }),
            delivery,
        }
    }
}

impl<A, K, R> Future for RunBatch<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is `Unpin` (the callbacks' futures are boxed).
        let this = self.get_mut();
        if let Some(Unstarted {
            snapshot,
            mut picks,
        }) = this.start.take()
        {
            let mut calls = Picked::new(&snapshot.slots, &mut picks);
            let plain = calls.take_plain();
            let outcomes = &mut Unheard(&this.delivery.signal);
            start_plain(&mut this.ticket, plain, outcomes, &mut this.running);
            start_all(&mut this.ticket, &mut calls, outcomes, &mut this.running);
        }
        if let Some(running) = this.running.as_mut() {
            ready!(poll_drain(
                &mut this.ticket,
                running,
                &mut Unheard(&this.delivery.signal),
                cx
            ));
            this.running = None;
        }
        Poll::Ready(())
    }
}

/// Runs many callbacks in the current task: with no `limit`,
/// [`start_all`] then [`drain`]. With one, takes a permit before starting
/// each call that has none, driving the running ones while it waits, so a
/// send larger than the limit still makes progress.
pub(crate) async fn run_all<A, K, R, S>(
    ticket: &mut Ticket<A, K, R>,
    calls: impl IntoIterator<Item = (S, Owner, Option<Permit>)>,
    limit: Option<Arc<Semaphore>>,
    outcomes: &mut impl Outcomes<R>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>>,
{
    let Some(semaphore) = limit else {
        let mut running = None;
        start_all(ticket, calls, outcomes, &mut running);
        if let Some(running) = running.as_mut() {
            drain(ticket, running, outcomes).await;
        }
        return;
    };
    let mut running = Running::new();
    for (slot, owner, mut permit) in calls {
        if permit.is_none() {
            permit = Some(loop {
                if let Some(permit) = semaphore.try_acquire_arc() {
                    break permit;
                }
                if running.is_empty() {
                    break semaphore.acquire_arc().await;
                }
                let acquire = std::pin::pin!(semaphore.acquire_arc());
                match select(acquire, running.next()).await {
                    Either::Left((permit, _)) => break permit,
                    Either::Right((Some((id, result, permit)), _)) => {
                        ticket.finish(id, result, outcomes);
                        drop(permit);
                    }
                    Either::Right((None, _)) => {}
                }
            });
        }
        if let Some(call) = ticket.run(slot.borrow(), owner, permit, outcomes) {
            running.push(call);
        }
    }
    drain(ticket, &mut running, outcomes).await;
}

#[cfg(all(test, not(signal_dispatch_loom)))]
mod tests {
    use super::*;

    /// Tokio puts a task of up to three words in a 128-byte cell, a
    /// larger one in 256 bytes: a spawned send naming nothing stays in
    /// the small one, for one call or a batch.
    #[test]
    fn a_lent_task_naming_nothing_is_at_most_three_words() {
        type One = RunLent<(), String, (), Arc<CallbackSlot<(), String, ()>>, Unnamed>;
        type Picked = RunLent<(), String, (), crate::picks::SnapshotSlot<(), String, ()>, Unnamed>;
        type Batch = RunLent<(), String, (), EverySlot<(), String, ()>, Unnamed>;
        let words = 3 * size_of::<usize>();
        assert!(size_of::<One>() <= words, "{} bytes", size_of::<One>());
        assert!(
            size_of::<Picked>() <= words,
            "{} bytes",
            size_of::<Picked>()
        );
        assert!(size_of::<Batch>() <= words, "{} bytes", size_of::<Batch>());
    }
}
