//! Spawning: where callbacks run.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::SpawnError;
use crate::sync::Arc;

/// A callback task, as a [`Spawn`] implementation receives it.
///
/// # Examples
///
/// ```
/// use signal_dispatch::Task;
///
/// let task: Task = Box::pin(async {});
/// futures::executor::block_on(task);
/// ```
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that runs tasks: how a signal runs its callbacks on an executor
/// other than tokio.
///
/// Implemented for closures `Fn(Task) -> Result<(), SpawnError>`.
///
/// # Examples
///
/// A spawner that runs every task on a new thread:
///
/// ```
/// use std::sync::mpsc;
/// use signal_dispatch::{Event, Signal, Task};
///
/// let signal: Signal = Signal::builder(())
///     .spawner(|task: Task| {
///         std::thread::spawn(move || futures::executor::block_on(task));
///         Ok(())
///     })
///     .build();
/// let (tx, rx) = mpsc::channel();
/// let tx = std::sync::Mutex::new(tx);
/// signal.connect(move |_: Event| tx.lock().unwrap().send("ran").unwrap());
/// assert_eq!(signal.send().schedule().unwrap(), 1);
/// assert_eq!(rx.recv().unwrap(), "ran");
/// ```
pub trait Spawn: Send + Sync + 'static {
    /// Runs `task` to completion, eventually. An error means the task was
    /// not accepted (and has been dropped).
    fn spawn(&self, task: Task) -> Result<(), SpawnError>;
}

impl<F> Spawn for F
where
    F: Fn(Task) -> Result<(), SpawnError> + Send + Sync + 'static,
{
    fn spawn(&self, task: Task) -> Result<(), SpawnError> {
        self(task)
    }
}

/// Runs callbacks on a smol-ecosystem executor (`async-executor`), with the
/// `smol` feature. The executor must be driven (`Executor::run`) for them
/// to run.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use std::sync::Arc;
/// use signal_dispatch::{Event, Signal};
///
/// let executor = Arc::new(async_executor::Executor::new());
/// let signal: Signal = Signal::builder(()).spawner(executor.clone()).build();
/// signal.connect(|_: Event| println!("ran on smol"));
/// futures::executor::block_on(executor.run(async {
///     assert_eq!(signal.send().wait().await.unwrap().completed(), 1);
/// }));
/// # }
/// ```
#[cfg(feature = "smol")]
impl Spawn for Arc<async_executor::Executor<'static>> {
    fn spawn(&self, task: Task) -> Result<(), SpawnError> {
        async_executor::Executor::spawn(self, task).detach();
        Ok(())
    }
}

/// Where a signal runs its callbacks.
#[derive(Clone, Default)]
pub(crate) enum Executor {
    /// The tokio runtime current at each send.
    #[cfg(feature = "tokio")]
    #[default]
    CurrentTokio,
    /// A given tokio runtime.
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    /// A user's spawner.
    Custom(Arc<dyn Spawn>),
    /// Nothing: tokio is not compiled in and no spawner was given.
    #[cfg_attr(feature = "tokio", allow(dead_code))]
    #[cfg_attr(not(feature = "tokio"), default)]
    Missing,
}

/// There is no runtime to run callbacks on.
#[derive(Debug)]
pub(crate) struct NoRuntime;

/// An executor resolved for one send.
pub(crate) enum Resolved<'a> {
    #[cfg(feature = "tokio")]
    Tokio(std::borrow::Cow<'a, tokio::runtime::Handle>),
    Custom(&'a dyn Spawn),
}

impl Executor {
    /// Finds where this send's callbacks will run.
    pub(crate) fn resolve(&self) -> Result<Resolved<'_>, NoRuntime> {
        match self {
            #[cfg(feature = "tokio")]
            Executor::CurrentTokio => tokio::runtime::Handle::try_current()
                .map(|handle| Resolved::Tokio(std::borrow::Cow::Owned(handle)))
                .map_err(|_| NoRuntime),
            #[cfg(feature = "tokio")]
            Executor::Tokio(handle) => Ok(Resolved::Tokio(std::borrow::Cow::Borrowed(handle))),
            Executor::Custom(spawner) => Ok(Resolved::Custom(&**spawner)),
            Executor::Missing => Err(NoRuntime),
        }
    }
}

impl Resolved<'_> {
    pub(crate) fn spawn<F>(&self, task: F) -> Result<(), SpawnError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            #[cfg(feature = "tokio")]
            Resolved::Tokio(handle) => {
                // A runtime that is shutting down drops the task instead of
                // running it; that is the documented fate of pending
                // callbacks, and never a panic.
                drop(handle.spawn(task));
                Ok(())
            }
            Resolved::Custom(spawner) => spawner.spawn(Box::pin(task)),
        }
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "tokio")]
            Executor::CurrentTokio => f.write_str("CurrentTokio"),
            #[cfg(feature = "tokio")]
            Executor::Tokio(_) => f.write_str("Tokio(Handle)"),
            Executor::Custom(_) => f.write_str("Custom(..)"),
            Executor::Missing => f.write_str("Missing"),
        }
    }
}
