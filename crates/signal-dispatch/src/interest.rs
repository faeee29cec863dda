//! Interest: what a signal's connections listen to, and watching it change.
//!
//! Integrations that carry sends from elsewhere (the NATS bridge) use this
//! to ask only for the sends some local connection would receive.

use std::fmt;

use crate::router::Key;
use crate::signal::{Signal, WeakSignal};

/// What a signal's connections listen to, at one moment.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Filter, Signal};
///
/// let signal: Signal = Signal::new();
/// assert!(!signal.interest().unfiltered);
/// signal.connect_filtered(Filter::new().key("orders"), |_: Event| {});
/// let interest = signal.interest();
/// assert_eq!(interest.keys, vec!["orders".to_string()]);
/// assert!(!interest.unfiltered);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interest<K> {
    /// Whether some connection is unfiltered, so that every send reaches it.
    pub unfiltered: bool,
    /// The keys some live connection listens to, in no particular order.
    /// A connection whose weak owner died stops counting at once; watchers
    /// hear of it at the next change of routes.
    pub keys: Vec<K>,
}

/// Watches a signal's [`Interest`] change, without keeping the signal alive.
/// Made by [`Signal::watch_interest`].
///
/// Changes are coalesced: [`changed`](Self::changed) returns the interest
/// as it is when it runs, once per burst of changes, and may return the
/// same interest twice (a connect followed by its disconnect).
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Event, Filter, Signal};
///
/// # futures::executor::block_on(async {
/// let signal: Signal = Signal::new();
/// let mut watch = signal.watch_interest();
/// assert_eq!(watch.changed().await.unwrap().keys.len(), 0); // the first call returns at once
///
/// signal.connect_filtered(Filter::new().key("eu"), |_: Event| {});
/// assert_eq!(watch.changed().await.unwrap().keys, vec!["eu".to_string()]);
///
/// drop(signal);
/// assert!(watch.changed().await.is_none()); // the signal is gone
/// # });
/// ```
pub struct InterestWatch<A, K, R> {
    signal: WeakSignal<A, K, R>,
    seen: Option<u64>,
}

impl<A, K: Key, R> InterestWatch<A, K, R>
where
    A: Send + Sync + 'static,
    R: Send + 'static,
{
    pub(crate) fn new(signal: &Signal<A, K, R>) -> Self {
        InterestWatch {
            signal: signal.downgrade(),
            seen: None,
        }
    }

    /// Waits until the signal's routes have changed since the last call (the
    /// first call returns at once) and returns its interest now, or `None`
    /// once the signal is gone.
    pub async fn changed(&mut self) -> Option<Interest<K>> {
        loop {
            let signal = self.signal.upgrade()?;
            let listener = signal.route_listener();
            let version = signal.route_version();
            if self.seen != Some(version) {
                self.seen = Some(version);
                return Some(signal.interest());
            }
            drop(signal);
            listener.await;
        }
    }
}

impl<A, K, R> fmt::Debug for InterestWatch<A, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterestWatch")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}
