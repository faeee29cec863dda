//! Running callbacks: one per task, or many in one task, and accounting for
//! each outcome — to an awaiting sender, or to the signal's error hook.
//!
//! A send's shared state is its [`Delivery`](crate::event::Delivery): one
//! allocation holding the event data callbacks see and the bookkeeping of
//! the send (calls still to finish, the awaiting sender's channel). Each
//! task holds a [`Ticket`] for the calls it runs; a ticket dropped before
//! its calls finished (a runtime shutting down drops tasks) settles them as
//! never run, so nothing waits forever for them.

use std::borrow::Borrow;
use std::panic::AssertUnwindSafe;

use async_lock::Semaphore;
use futures::FutureExt;
use futures::future::{BoxFuture, Either, select};
use futures::stream::{FuturesUnordered, StreamExt};
use smallvec::SmallVec;

use crate::callback::{Callback, Invocation, Owner};
use crate::connection::ConnectionId;
use crate::error::{CallbackError, Cause, Failure};
use crate::event::{Delivery, Event};
use crate::flight::Permit;
use crate::router::{Key, Slot};
use crate::stats::Counter;
use crate::sync::Arc;

pub(crate) type CallbackSlot<A, K, R> = Slot<Callback<A, K, R>, K>;

/// One callback a send will run.
pub(crate) struct Call<A, K, R> {
    pub(crate) slot: Arc<CallbackSlot<A, K, R>>,
    pub(crate) owner: Owner,
    /// Its place under the in-flight limit, if one is set and was taken.
    pub(crate) permit: Option<Permit>,
}

/// The calls of one send, inline up to four.
pub(crate) type Calls<A, K, R> = SmallVec<[Call<A, K, R>; 4]>;

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
    delivery: Arc<Delivery<A, K, R>>,
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
            delivery,
            calls,
            finished: 0,
        }
    }

    fn event(&self) -> Event<A, K, R> {
        Event::new(self.delivery.clone())
    }

    /// Accounts for one call's outcome, handing it to `sink`.
    fn finish(
        &mut self,
        id: ConnectionId,
        result: Result<R, Cause>,
        sink: &mut impl FnMut(Finished<R>),
    ) {
        let finished = match result {
            Ok(value) => Finished::Value(id, value),
            Err(cause) => {
                self.delivery
                    .signal
                    .inner()
                    .counters
                    .add(Counter::Failed, 1);
                Finished::Failed(Failure::new(id, self.delivery.signal.name(), cause))
            }
        };
        self.finished += 1;
        sink(finished);
    }
}

impl<A, K, R> Drop for Ticket<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    fn drop(&mut self) {
        self.delivery.settle(self.calls, self.finished);
    }
}

/// Starts a callback, catching a panic in its synchronous part.
fn start<A, K, R>(slot: &CallbackSlot<A, K, R>, owner: Owner, event: Event<A, K, R>) -> Started<R>
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

/// Drives an async callback's future to its outcome, catching a panic.
async fn complete<R>(future: BoxFuture<'static, Result<R, CallbackError>>) -> Result<R, Cause> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result.map_err(Cause::Error),
        Err(payload) => Err(Cause::Panic(payload)),
    }
}

/// Where the outcomes of a send's tasks go: to the awaiting sender if one
/// still listens, else (failures only) to the error hook.
pub(crate) fn report<A, K, R>(delivery: &Delivery<A, K, R>) -> impl FnMut(Finished<R>) + '_
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    move |finished| {
        let unheard = match delivery.reporter() {
            Some(reporter) => reporter
                .unbounded_send(finished)
                .err()
                .map(|e| e.into_inner()),
            None => Some(finished),
        };
        if let Some(Finished::Failed(failure)) = unheard {
            delivery.signal.report(failure);
        }
    }
}

/// Runs one callback: the body of a task in [`Mode::Spawned`](crate::Mode::Spawned).
pub(crate) async fn run_one<A, K, R>(mut ticket: Ticket<A, K, R>, mut call: Call<A, K, R>)
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let id = call.slot.id();
    let result = match start(&call.slot, call.owner.take(), ticket.event()) {
        Started::Done(result) => result,
        Started::Running(future) => complete(future).await,
    };
    let delivery = ticket.delivery.clone();
    ticket.finish(id, result, &mut report(&delivery));
    drop(call);
}

/// Runs many callbacks in the current task: sync ones one after another,
/// async ones concurrently, handing each outcome to `sink`. With `limit`,
/// takes a permit before starting each call that has none, driving the
/// running ones while it waits, so a send larger than the limit still makes
/// progress.
///
/// Each call is a slot (owned, or borrowed from a snapshot), its bound
/// owner, and its permit if it has one.
pub(crate) async fn run_all<A, K, R, S>(
    ticket: &mut Ticket<A, K, R>,
    calls: impl IntoIterator<Item = (S, Owner, Option<Permit>)>,
    limit: Option<Arc<Semaphore>>,
    sink: &mut impl FnMut(Finished<R>),
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
    S: Borrow<CallbackSlot<A, K, R>>,
{
    let mut running = FuturesUnordered::new();
    for (slot, owner, mut permit) in calls {
        let slot = slot.borrow();
        if let (None, Some(semaphore)) = (&permit, &limit) {
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
                        ticket.finish(id, result, sink);
                        drop(permit);
                    }
                    Either::Right((None, _)) => {}
                }
            });
        }
        let id = slot.id();
        match start(slot, owner, ticket.event()) {
            Started::Done(result) => {
                ticket.finish(id, result, sink);
                drop(permit);
            }
            Started::Running(future) => {
                running.push(async move { (id, complete(future).await, permit) });
            }
        }
    }
    while let Some((id, result, permit)) = running.next().await {
        ticket.finish(id, result, sink);
        drop(permit);
    }
}
