//! A signal dispatcher for async Rust.
//!
//! Callbacks connect to a [`Signal`], optionally filtered by **sender**
//! (object identity) or **key** (equality). A send schedules every matching
//! callback — each once, however many of its filters matched — as its own
//! task, and returns how many it scheduled. Callbacks receive an [`Event`]:
//! the signal, the send's senders and keys, and the signal's typed
//! arguments (its defaults, or what the send gave).
//!
//! This is the model of Python's `asyncio_dispatch`, made typed, thread-safe,
//! identity-safe and lock-free on the send path.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use signal_dispatch::{Event, Filter, Signal, weak};
//!
//! #[derive(Clone, Default)]
//! struct Message {
//!     text: String,
//! }
//!
//! struct Person {
//!     name: &'static str,
//! }
//!
//! impl Person {
//!     fn message_received(&self, event: Event<Message>) {
//!         println!("{} got: {}", self.name, event.args().text);
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let signal: Signal<Message> = Signal::new();
//! let mike = Arc::new(Person { name: "Mike" });
//! let ashley = Arc::new(Person { name: "Ashley" });
//!
//! // Mike hears messages from Ashley, and anything keyed "books".
//! signal.connect_filtered(
//!     Filter::new().sender(&ashley).key("books"),
//!     weak(&mike, Person::message_received),
//! );
//!
//! let sent = signal
//!     .send()
//!     .sender(&ashley)
//!     .key("books")
//!     .with(|m| m.text = "hello Mike!".into())
//!     .schedule()
//!     .unwrap();
//! assert_eq!(sent, 1); // two filters matched; the callback runs once
//! # }
//! ```
//!
//! # Connecting
//!
//! [`Signal::connect`] takes anything implementing [`Handler`]: functions
//! and closures taking an [`Event`] (or borrowing one, `&Event`: the
//! cheapest kind, with no reference count per call), `async fn`s, async
//! closures and closures returning futures, and methods of a weakly held
//! owner through [`weak`]. A callback may return `()` or `Result<(), E>`;
//! see [`Outcome`].
//! [`Signal::connect_filtered`] adds a [`Filter`].
//!
//! # Arguments
//!
//! A signal's arguments are one typed struct `A` (the seed's declared
//! keyword arguments); the signal holds its defaults. A send uses them as
//! they are, replaces them ([`SendBuilder::args`]), or changes some fields of
//! a copy ([`SendBuilder::with`]). Every callback of a send shares one copy.
//! An argument the signal did not declare is a compile error:
//!
//! ```compile_fail
//! #[derive(Clone, Default)]
//! struct Args { message: String }
//!
//! let signal: signal_dispatch::Signal<Args> = signal_dispatch::Signal::new();
//! let _ = signal.send().with(|args| args.not_declared = 1);
//! ```
//!
//! # Filtering
//!
//! - A connection with no filter is **unfiltered**: it runs on every send,
//!   whether or not the send names senders or keys.
//! - A filtered connection runs only on a send that names at least one of
//!   its senders or keys. Several senders and keys are a union.
//! - Keys match by `Hash` and `Eq`. The key type is the signal's `K`
//!   parameter, `String` by default; sends and filters accept anything that
//!   converts into it, `&str` included. A signal whose keys are all known
//!   in advance can take `&'static str` or an enum instead ([`Key`]): its
//!   keyed sends then allocate nothing for their keys.
//! - Senders match by **identity**: the same `Arc` allocation, never an
//!   equal value. A filter holds its senders weakly (a [`SenderIdentity`]),
//!   which also pins the sender's *address*: an object created after the
//!   sender died can never be taken for it, even at the same address.
//!   Callbacks get the senders back through [`Event::senders`] and
//!   [`Event::sender`].
//! - Each callback runs **once per send**, however many of its routes match.
//!
//! # Weak connections
//!
//! [`weak(&owner, method)`](weak) connects a method without keeping its owner
//! alive. When a send reaches it, the owner is upgraded and kept alive until
//! the call has run, so a method never runs on a dead owner. Once the owner
//! is dropped, no later send runs or counts it, and its connection is
//! reclaimed by the next connect or disconnect on the signal (each inspects
//! a couple of connections), by a send that reaches it, or at once by
//! [`Signal::prune`] — no send to it is ever needed.
//!
//! Closures are held **strongly**: what they capture lives until the
//! connection ends.
//!
//! # Disconnection and drop
//!
//! [`Signal::connect`] returns a [`Connection`] handle:
//! [`disconnect`](Connection::disconnect) ends it,
//! [`remove_filter`](Connection::remove_filter) removes some senders or keys
//! only (a connection left without routes is disconnected),
//! [`add_filter`](Connection::add_filter) adds some, and
//! [`guard`](Connection::guard) turns it into a [`ConnectionGuard`] that
//! disconnects on drop. Disconnecting costs O(the connection's own routes);
//! disconnecting twice, or after the signal is gone, is a no-op returning
//! `false`. Dropping a `Connection` handle leaves the callback connected.
//!
//! A send that begins after `disconnect` returned never runs the callback.
//! A send that was already under way may have scheduled it once; a call
//! already scheduled or running is not cancelled.
//!
//! Dropping every handle to a signal drops its connections; callbacks
//! already scheduled still run (each holds what it needs).
//!
//! # Ordering and concurrency
//!
//! - Callbacks of one send run as separate tasks, in no specified order, and
//!   may run in parallel on a multi-threaded runtime.
//! - [`Signal`] is `Send + Sync` and cheap to clone; connect, disconnect and
//!   send from any thread. Sends take no lock: they read a snapshot of the
//!   routing table, so a connection made during a send is not run by it.
//! - No lock of this crate is held while user code runs — callbacks, error
//!   hooks, or the drop of a callback's captures — so callbacks, and `Drop`
//!   implementations of what they capture, may connect, disconnect and send
//!   freely. (A key type's `Hash`, `Eq` and `Drop` are the exception: they
//!   run inside the routing table and must not call back into the signal.)
//!
//! # Failures in callbacks
//!
//! A callback that panics, or returns `Err`, is isolated: its failure goes
//! to the signal's error hook ([`SignalBuilder::on_error`]; by default a
//! `tracing` error event) as a [`Failure`] — or, for an awaited send, into
//! its [`Report`] — and other callbacks and later sends are unaffected.
//!
//! # Awaiting a send
//!
//! [`SendBuilder::schedule`] fires and forgets, as the seed does, and pays
//! for nothing more. [`SendBuilder::wait`] sends and waits until every
//! callback it reached has finished, returning a [`Report`]: how many ran,
//! the values they returned (a signal's third parameter `R` is what its
//! callbacks return; collect them, or [`fold`](Report::fold) them), and which
//! failed and how. [`SendBuilder::wait_until`] takes any `Send` future as
//! a deadline and names the callbacks still running when it passes.
//!
//! # Sending from synchronous code
//!
//! [`SendBuilder::call`] runs the callbacks now, on the calling thread, and
//! returns the same [`Report`]: no runtime, no `.await`. An async callback
//! is polled once there; one that must wait goes on running on the
//! signal's executor and is reported pending.
//!
//! ```
//! use signal_dispatch::{Event, Signal};
//!
//! let signal: Signal<(), String, u32> = Signal::new();
//! signal.connect(|_: &Event<(), String, u32>| 42);
//! let report = signal.send().call().unwrap();
//! assert_eq!(report.values(), [42]);
//! ```
//!
//! # Dispatch modes
//!
//! [`Mode::Spawned`] (the default) runs each callback as its own task;
//! [`Mode::Batched`] runs a send's callbacks in one task, for high fan-out;
//! [`Mode::Inline`] runs them in the task awaiting the send, with no spawn
//! at all. Set per signal, override per send; see [`Mode`] for the
//! trade-offs.
//!
//! # Backpressure
//!
//! [`SignalBuilder::max_in_flight`] bounds the callbacks of a signal in
//! flight at once, and so the memory they hold. A `schedule` that finds no
//! room fails whole with [`SendError::Full`], giving the send back; a `wait`
//! waits for room. Every [`SendError`] but a spawner's gives back the send
//! it could not make ([`Unsent`]).
//!
//! # Lifecycle
//!
//! - [`Signal::connect_once`]: the first send to reach it claims it, even
//!   when several race on different threads; it is then disconnected.
//! - [`Connection::block`] and [`Signal::block`]: guards during which sends
//!   skip one connection, or the whole signal.
//! - [`Signal::connected_to`] and [`Signal::connected_during`]: a connection
//!   for the length of a closure or a future.
//! - [`Signal::close`]: ends every connection and refuses later sends with
//!   [`SendError::Closed`]; [`Signal::drained`] waits until no send has
//!   callbacks still running.
//! - A signal owns its callbacks, so a callback that captures a clone of its
//!   own signal keeps it alive forever (a reference cycle). A callback
//!   reaches its signal through [`Event::signal`], or holds a
//!   [`WeakSignal`] ([`Signal::downgrade`]).
//!
//! # Streams
//!
//! [`Signal::subscribe`] gives a [`Subscription`]: the events of matching
//! sends as a `futures::Stream`, with a bounded buffer filled at send time.
//! A subscriber that falls behind loses the oldest events and is told how
//! many ([`Lagged`]); it never slows the sender.
//!
//! # Introspection and observability
//!
//! [`Signal::len`], [`Signal::count_key`], [`Signal::count_sender`],
//! [`Signal::count_unfiltered`] and [`SendBuilder::receivers`] say who is
//! listening; `Debug` shows a signal's state without printing closures;
//! [`Signal::stats`] reads its counters ([`Stats`]). With the `tracing`
//! feature each send runs in a `send` span carrying its fan-out, failures
//! are `error` events and pruned connections `debug` events.
//!
//! # Runtimes
//!
//! By default callbacks run on the tokio runtime current at each send;
//! sending where there is none returns [`SendError::NoRuntime`], never a
//! panic. [`SignalBuilder::runtime`] pins a runtime (sends then work from
//! any thread) and [`SignalBuilder::spawner`] takes any executor through the
//! [`Spawn`] trait. [`Mode::Inline`] and [`SendBuilder::call`] need no
//! executor at all.
//!
//! # Features
//!
//! - `tokio` (default): run callbacks on tokio.
//! - `tracing` (default): failures as `tracing` events (else on stderr),
//!   a span per send, events for pruned connections.
//! - `smol`: [`Spawn`] for `Arc<async_executor::Executor>`, smol's executor.
//!
//! # Reuse
//!
//! The routing table, [`router::Router`], is generic over what it stores and
//! over the key type; other front ends (the Python module) keep their own
//! callables in it.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.85 (edition 2024).

// Denied, not forbidden: `event` allows it for the event a send lends its
// callbacks from its own stack frame (three items), and `hazard` for the
// cell a send reads its snapshot from under a hazard pointer; each item
// with its SAFETY reason, tested under loom (the cell), valgrind, Miri and
// AddressSanitizer (see RELIABILITY.md).
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod bucket;
mod callback;
mod connection;
mod dispatch;
mod error;
mod event;
mod filter;
mod flight;
mod hazard;
mod interest;
mod lease;
mod mode;
mod picks;
mod report;
pub mod router;
mod send;
mod sender;
mod signal;
mod spawn;
mod stats;
mod subscribe;
mod sync;

pub use callback::{Callback, Handler, Outcome, WeakMethod, marker, weak};
pub use connection::{BlockGuard, Connection, ConnectionGuard, ConnectionId};
pub use error::{CallbackError, Failure, SendError, SpawnError, Unsent};
pub use event::Event;
pub use filter::Filter;
pub use interest::{Interest, InterestWatch};
pub use mode::Mode;
pub use report::Report;
pub use router::Key;
pub use send::SendBuilder;
pub use sender::{Sender, SenderIdentity};
pub use signal::{Signal, SignalBlockGuard, SignalBuilder, WeakSignal};
pub use spawn::{Spawn, Task};
pub use stats::Stats;
pub use subscribe::{Lagged, Subscription};

/// Under the loom model checker only: gives a modelled thread a lease.
#[cfg(signal_dispatch_loom)]
#[doc(hidden)]
pub use lease::model_lease;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
