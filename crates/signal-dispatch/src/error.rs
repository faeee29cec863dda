//! Errors: what can go wrong when sending, spawning, or running a callback.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

use crate::connection::ConnectionId;

/// Why a send could not schedule its callbacks.
///
/// # Examples
///
/// ```
/// use signal_dispatch::Signal;
///
/// let signal: Signal = Signal::new();
/// // Outside of any tokio runtime there is nowhere to run callbacks.
/// let err = signal.send().schedule().unwrap_err();
/// assert!(err.is_no_runtime());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The signal spawns on the current tokio runtime, and there is none.
    NoRuntime,
    /// The spawner refused a task. `scheduled` callbacks had been scheduled
    /// before it did; they still run.
    Spawn {
        /// How many callbacks were scheduled before the spawner failed.
        scheduled: usize,
        /// What the spawner said.
        source: SpawnError,
    },
}

impl SendError {
    /// Whether the send failed because no runtime was available.
    pub fn is_no_runtime(&self) -> bool {
        matches!(self, SendError::NoRuntime)
    }

    /// Whether the send failed because the spawner refused a task.
    pub fn is_spawn(&self) -> bool {
        matches!(self, SendError::Spawn { .. })
    }

    /// How many callbacks were scheduled before the error (0 for
    /// [`SendError::NoRuntime`]).
    pub fn scheduled(&self) -> usize {
        match self {
            SendError::NoRuntime => 0,
            SendError::Spawn { scheduled, .. } => *scheduled,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRuntime => f.write_str(
                "no tokio runtime to run callbacks on: send from inside a runtime, \
                 or build the signal with a runtime handle or a spawner",
            ),
            SendError::Spawn { scheduled, .. } => write!(
                f,
                "the spawner refused a callback task after {scheduled} were scheduled"
            ),
        }
    }
}

impl StdError for SendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            SendError::NoRuntime => None,
            SendError::Spawn { source, .. } => Some(source),
        }
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
