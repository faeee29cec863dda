//! Errors: what can go wrong when sending, spawning, or running a callback.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

use crate::connection::ConnectionId;
use crate::sender::Sender;

/// Why a send could not be made. Nothing is lost: every variant but
/// [`Spawn`](SendError::Spawn) gives the send back as an [`Unsent`].
///
/// # Examples
///
/// ```
/// use signal_dispatch::Signal;
///
/// let signal: Signal<u32> = Signal::new();
/// // Outside of any tokio runtime there is nowhere to run callbacks.
/// let err = signal.send().args(7).schedule().unwrap_err();
/// assert!(err.is_no_runtime());
/// assert_eq!(err.into_unsent().unwrap().args(), Some(&7));
/// ```
#[non_exhaustive]
pub enum SendError<A = (), K = String> {
    /// The signal spawns on the current tokio runtime, and there is none.
    NoRuntime(Unsent<A, K>),
    /// The signal was closed ([`Signal::close`](crate::Signal::close)).
    Closed(Unsent<A, K>),
    /// The signal's limit of callbacks in flight would be exceeded, and the
    /// send was not one that waits for room.
    Full(Unsent<A, K>),
    /// The send asked for [`Mode::Inline`](crate::Mode::Inline), which runs
    /// callbacks in the task that awaits the send: use
    /// [`wait`](crate::SendBuilder::wait) (or, from synchronous code,
    /// [`call`](crate::SendBuilder::call)), not `schedule`.
    InlineNotAwaited(Unsent<A, K>),
    /// The spawner refused a task. `scheduled` callbacks had been scheduled
    /// before it did; they still run.
    Spawn {
        /// How many callbacks were scheduled before the spawner failed.
        scheduled: usize,
        /// What the spawner said.
        source: SpawnError,
    },
}

impl<A, K> SendError<A, K> {
    /// Whether the send failed because no runtime was available.
    pub fn is_no_runtime(&self) -> bool {
        matches!(self, SendError::NoRuntime(_))
    }

    /// Whether the signal was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, SendError::Closed(_))
    }

    /// Whether the in-flight limit was reached.
    pub fn is_full(&self) -> bool {
        matches!(self, SendError::Full(_))
    }

    /// Whether the spawner refused a task.
    pub fn is_spawn(&self) -> bool {
        matches!(self, SendError::Spawn { .. })
    }

    /// How many callbacks were scheduled before the error (0 unless the
    /// spawner failed part-way).
    pub fn scheduled(&self) -> usize {
        match self {
            SendError::Spawn { scheduled, .. } => *scheduled,
            _ => 0,
        }
    }

    /// The send that was not made, to retry or inspect.
    pub fn into_unsent(self) -> Option<Unsent<A, K>> {
        match self {
            SendError::NoRuntime(unsent)
            | SendError::Closed(unsent)
            | SendError::Full(unsent)
            | SendError::InlineNotAwaited(unsent) => Some(unsent),
            SendError::Spawn { .. } => None,
        }
    }
}

impl<A, K> fmt::Debug for SendError<A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRuntime(_) => f.write_str("NoRuntime(..)"),
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Full(_) => f.write_str("Full(..)"),
            SendError::InlineNotAwaited(_) => f.write_str("InlineNotAwaited(..)"),
            SendError::Spawn { scheduled, source } => f
                .debug_struct("Spawn")
                .field("scheduled", scheduled)
                .field("source", source)
                .finish(),
        }
    }
}

impl<A, K> fmt::Display for SendError<A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRuntime(_) => f.write_str(
                "no tokio runtime to run callbacks on: send from inside a runtime, \
                 or build the signal with a runtime handle or a spawner",
            ),
            SendError::Closed(_) => f.write_str("the signal is closed"),
            SendError::Full(_) => {
                f.write_str("the signal's limit of callbacks in flight is reached")
            }
            SendError::InlineNotAwaited(_) => f.write_str(
                "inline mode runs callbacks in the awaiting task: use `wait` (or `call`), not `schedule`",
            ),
            SendError::Spawn { scheduled, .. } => write!(
                f,
                "the spawner refused a callback task after {scheduled} were scheduled"
            ),
        }
    }
}

impl<A, K> StdError for SendError<A, K> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            SendError::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A send that was not made: its arguments, keys and senders, as given.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Signal};
/// use std::num::NonZeroUsize;
///
/// let signal: Signal = Signal::new();
/// signal.close();
/// let unsent = signal.send().key("k").schedule().unwrap_err().into_unsent().unwrap();
/// assert_eq!(unsent.keys(), ["k"]);
/// assert_eq!(unsent.args(), None); // the defaults were to be sent
/// ```
pub struct Unsent<A = (), K = String> {
    pub(crate) args: Option<A>,
    pub(crate) keys: Vec<K>,
    pub(crate) senders: Vec<Sender>,
}

impl<A, K> Unsent<A, K> {
    /// The arguments the send gave (`None`: it would have sent the defaults).
    pub fn args(&self) -> Option<&A> {
        self.args.as_ref()
    }

    /// The arguments, taken out.
    pub fn into_args(self) -> Option<A> {
        self.args
    }

    /// The keys the send named.
    pub fn keys(&self) -> &[K] {
        &self.keys
    }

    /// The senders the send named.
    pub fn senders(&self) -> &[Sender] {
        &self.senders
    }
}

impl<A, K: fmt::Debug> fmt::Debug for Unsent<A, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsent")
            .field("args_given", &self.args.is_some())
            .field("keys", &self.keys)
            .field("senders", &self.senders)
            .finish()
    }
}

/// A [`Spawn`](crate::Spawn) implementation could not accept a task.
///
/// # Examples
///
/// ```
/// use signal_dispatch::SpawnError;
///
/// let err = SpawnError::new("executor is shut down");
/// assert_eq!(err.to_string(), "executor is shut down");
/// ```
#[derive(Debug, Clone)]
pub struct SpawnError {
    reason: String,
}

impl SpawnError {
    /// An error with the given reason (lowercase, no trailing period).
    pub fn new(reason: impl Into<String>) -> Self {
        SpawnError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for SpawnError {}

/// The error a callback returned (`Err(e)` from a callback returning
/// `Result`), boxed.
///
/// # Examples
///
/// ```
/// use signal_dispatch::CallbackError;
///
/// let err = CallbackError::from("disk full");
/// assert_eq!(err.to_string(), "disk full");
/// ```
#[derive(Debug)]
pub struct CallbackError(Box<dyn StdError + Send + Sync + 'static>);

impl CallbackError {
    /// The boxed error itself.
    pub fn into_inner(self) -> Box<dyn StdError + Send + Sync + 'static> {
        self.0
    }
}

impl<E: Into<Box<dyn StdError + Send + Sync + 'static>>> From<E> for CallbackError {
    fn from(err: E) -> Self {
        CallbackError(err.into())
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl AsRef<dyn StdError + Send + Sync + 'static> for CallbackError {
    fn as_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

/// A callback that failed: it panicked, or returned an error.
///
/// Failures are handed to the signal's error hook (see
/// [`SignalBuilder::on_error`](crate::SignalBuilder::on_error)); they never
/// reach other callbacks or the sender.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use signal_dispatch::{Failure, Signal};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let signal: Signal = Signal::builder(())
///     .on_error(move |failure: &Failure| log.lock().unwrap().push(failure.to_string()))
///     .build();
/// signal.connect(|_| -> Result<(), String> { Err("no space left".into()) });
/// signal.send().schedule().unwrap();
/// # tokio::task::yield_now().await;
/// # tokio::task::yield_now().await;
/// assert_eq!(seen.lock().unwrap()[0], "callback returned an error: no space left");
/// # }
/// ```
#[derive(Debug)]
pub struct Failure {
    connection: ConnectionId,
    signal: Option<String>,
    kind: FailureKind,
}

/// Why a callback failed, as the task that ran it saw it.
pub(crate) enum Cause {
    Panic(Box<dyn Any + Send>),
    Error(CallbackError),
}

#[derive(Debug)]
enum FailureKind {
    Panicked(String),
    Errored(CallbackError),
}

impl Failure {
    pub(crate) fn new(connection: ConnectionId, signal: Option<&str>, cause: Cause) -> Self {
        let kind = match cause {
            Cause::Error(error) => FailureKind::Errored(error),
            Cause::Panic(payload) => FailureKind::Panicked(
                if let Some(message) = payload.downcast_ref::<&'static str>() {
                    (*message).to_owned()
                } else if let Some(message) = payload.downcast_ref::<String>() {
                    message.clone()
                } else {
                    "a non-string panic payload".to_owned()
                },
            ),
        };
        Failure {
            connection,
            signal: signal.map(str::to_owned),
            kind,
        }
    }

    /// The connection whose callback failed.
    pub fn connection(&self) -> ConnectionId {
        self.connection
    }

    /// The name of the signal, if it was given one.
    pub fn signal_name(&self) -> Option<&str> {
        self.signal.as_deref()
    }

    /// Whether the callback panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, FailureKind::Panicked(_))
    }

    /// Whether the callback returned an error.
    pub fn is_error(&self) -> bool {
        matches!(self.kind, FailureKind::Errored(_))
    }

    /// The panic message, if the callback panicked with a string.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Panicked(message) => Some(message),
            FailureKind::Errored(_) => None,
        }
    }

    /// The error the callback returned, if it returned one.
    pub fn error(&self) -> Option<&CallbackError> {
        match &self.kind {
            FailureKind::Panicked(_) => None,
            FailureKind::Errored(error) => Some(error),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FailureKind::Panicked(message) => write!(f, "callback panicked: {message}"),
            FailureKind::Errored(error) => write!(f, "callback returned an error: {error}"),
        }
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            FailureKind::Panicked(_) => None,
            FailureKind::Errored(error) => Some(&*error.0),
        }
    }
}
