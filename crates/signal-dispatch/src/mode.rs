//! Dispatch modes: how a send runs the callbacks it selected.

/// How a send runs its callbacks. Set per signal
/// ([`SignalBuilder::mode`](crate::SignalBuilder::mode)) and overridden per
/// send ([`SendBuilder::mode`](crate::SendBuilder::mode)).
///
/// | mode | tasks per send | isolation | parallelism | cost |
/// |---|---|---|---|---|
/// | `Spawned` | one per callback | a slow or blocking callback delays no other | callbacks spread over the runtime's workers | one spawn per callback |
/// | `Batched` | one | a blocking sync callback delays the others of its send; async ones interleave | none within a send | one spawn per send: best for high fan-out |
/// | `Inline` | none | as `Batched`, and the awaiting task waits for all | none | no spawn at all; needs [`wait`](crate::SendBuilder::wait) |
///
/// [`call`](crate::SendBuilder::call) runs a send inline whatever the mode,
/// synchronously.
///
/// In every mode a panic or error stays with its callback. Batching pays
/// off from about ten callbacks per send: below that, its one task costs as
/// much as spawning each callback (see `BENCHMARKS.md`).
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Mode, Signal};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signal: Signal = Signal::builder(()).mode(Mode::Batched).build();
/// for _ in 0..100 {
///     signal.connect(|_: Event| {});
/// }
/// // 100 callbacks, one task.
/// assert_eq!(signal.send().schedule().unwrap(), 100);
/// // This send runs them right here, in the awaiting task.
/// let report = signal.send().mode(Mode::Inline).wait().await.unwrap();
/// assert_eq!(report.completed(), 100);
/// # }
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Each callback runs as its own task (the seed's behaviour).
    #[default]
    Spawned,
    /// One task per send runs all its callbacks: sync ones one after the
    /// other, async ones concurrently.
    Batched,
    /// Awaiting the send runs the callbacks in the awaiting task, as
    /// `Batched` does in its task. No spawn, no runtime needed.
    Inline,
}
