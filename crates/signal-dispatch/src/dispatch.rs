//! Running callbacks: one per task, or many in one task, reporting each
//! outcome to the awaiting sender or to the signal's error hook.

use std::fmt;
use std::panic::AssertUnwindSafe;

use async_lock::Semaphore;
use futures::FutureExt;
use futures::channel::mpsc::UnboundedSender;
use futures::future::{Either, select};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::callback::{Callback, Invocation, Owner};
use crate::connection::ConnectionId;
use crate::error::{Cause, Failure};
use crate::event::{Delivery, Event};
use crate::flight::Permit;
use crate::router::{Key, Slot};
use crate::stats::Counters;
use crate::sync::{Arc, AtomicUsize, Ordering};

pub(crate) type CallbackSlot<A, K, R> = Slot<Callback<A, K, R>, K>;

/// One callback a send will run.
pub(crate) struct Call<A, K, R> {
    pub(crate) slot: Arc<CallbackSlot<A, K, R>>,
    pub(crate) owner: Owner,
    /// Its place under the in-flight limit, if one is set and was reserved.
    pub(crate) permit: Option<Permit>,
}

/// What one callback did, as an awaiting sender receives it.
pub(crate) enum Finished<R> {
    Value(ConnectionId, R),
    Failed(Failure),
}

/// The state one send shares among its callbacks. It is in flight (see
/// [`Signal::drained`](crate::Signal::drained)) until its last callback
/// finishes and drops it.
pub(crate) struct Batch<A, K, R> {
    delivery: Arc<Delivery<A, K, R>>,
    reporter: Option<UnboundedSender<Finished<R>>>,
    completed: AtomicUsize,
}

impl<A, K, R> Batch<A, K, R>
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    pub(crate) fn new(
        delivery: Arc<Delivery<A, K, R>>,
        reporter: Option<UnboundedSender<Finished<R>>>,
    ) -> Self {
        delivery.signal.inner().flight.begin();
        Batch {
            delivery,
            reporter,
            completed: AtomicUsize::new(0),
        }
    }

    pub(crate) fn event(&self) -> Event<A, K, R> {
        Event::new(self.delivery.clone())
    }

    /// Records one callback's outcome: to the awaiting sender if there is
    /// one still listening, otherwise (failures only) to the error hook.
    fn finish(&self, id: ConnectionId, result: Result<R, Cause>) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        let signal = &self.delivery.signal;
        let finished = match result {
            Ok(value) => Finished::Value(id, value),
            Err(cause) => {
                Counters::add(&signal.inner().counters.failed, 1);
                Finished::Failed(Failure::new(id, signal.name(), cause))
            }
        };
        let unheard = match &self.reporter {
            Some(reporter) => reporter
                .unbounded_send(finished)
                .err()
                .map(|e| e.into_inner()),
            None => Some(finished),
        };
        if let Some(Finished::Failed(failure)) = unheard {
            signal.report(failure);
        }
    }
}

impl<A, K, R> Drop for Batch<A, K, R> {
    fn drop(&mut self) {
        let inner = self.delivery.signal.inner();
        Counters::add(&inner.counters.completed, *self.completed.get_mut());
        inner.flight.end();
    }
}

impl<A, K, R> fmt::Debug for Batch<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("completed", &self.completed.load(Ordering::Relaxed))
            .field("awaited", &self.reporter.is_some())
            .finish()
    }
}

/// Starts a callback, catching a panic in its synchronous part.
fn start<A, K, R>(call: &Call<A, K, R>, owner: Owner, event: Event<A, K, R>) -> Started<R>
where
    A: 'static,
    K: 'static,
    R: 'static,
{
    let callback = call.slot.target();
    match std::panic::catch_unwind(AssertUnwindSafe(|| callback.invoke(owner, event))) {
        Ok(Invocation::Ready(result)) => Started::Done(result.map_err(Cause::Error)),
        Ok(Invocation::Pending(future)) => Started::Running(future),
        Ok(Invocation::Streamed) => Started::Streamed,
        Err(payload) => Started::Done(Err(Cause::Panic(payload))),
    }
}

enum Started<R> {
    Done(Result<R, Cause>),
    Running(futures::future::BoxFuture<'static, Result<R, crate::error::CallbackError>>),
    Streamed,
}

/// Drives an async callback's future to its outcome, catching a panic.
async fn complete<R>(
    future: futures::future::BoxFuture<'static, Result<R, crate::error::CallbackError>>,
) -> Result<R, Cause> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result.map_err(Cause::Error),
        Err(payload) => Err(Cause::Panic(payload)),
    }
}

/// Runs one callback: the body of a task in [`Mode::Spawned`](crate::Mode::Spawned).
pub(crate) async fn run_one<A, K, R>(batch: Arc<Batch<A, K, R>>, mut call: Call<A, K, R>)
where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let id = call.slot.id();
    let owner = call.owner.take();
    let result = match start(&call, owner, batch.event()) {
        Started::Done(result) => result,
        Started::Running(future) => complete(future).await,
        Started::Streamed => return,
    };
    batch.finish(id, result);
    drop(call);
}

/// Runs many callbacks in the current task: sync ones one after another,
/// async ones concurrently. With `limit`, takes a permit before starting
/// each call that has none, driving the running ones while it waits, so a
/// send larger than the limit still makes progress.
pub(crate) async fn run_all<A, K, R>(
    batch: &Batch<A, K, R>,
    calls: Vec<Call<A, K, R>>,
    limit: Option<Arc<Semaphore>>,
) where
    A: Send + Sync + 'static,
    K: Key,
    R: Send + 'static,
{
    let mut running = FuturesUnordered::new();
    for mut call in calls {
        if let (None, Some(semaphore)) = (&call.permit, &limit) {
            call.permit = Some(loop {
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
                        batch.finish(id, result);
                        drop(permit);
                    }
                    Either::Right((None, _)) => {}
                }
            });
        }
        let id = call.slot.id();
        let owner = call.owner.take();
        match start(&call, owner, batch.event()) {
            Started::Done(result) => batch.finish(id, result),
            Started::Running(future) => {
                let permit = call.permit.take();
                running.push(async move { (id, complete(future).await, permit) });
            }
            Started::Streamed => {}
        }
    }
    while let Some((id, result, permit)) = running.next().await {
        batch.finish(id, result);
        drop(permit);
    }
}
