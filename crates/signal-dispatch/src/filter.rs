//! Filters: which sends a connection receives.

use std::any::Any;
use std::fmt;

use crate::sender::SenderIdentity;
use crate::sync::Arc;

/// The senders and keys a connection listens to.
///
/// A connection made with an empty filter is **unfiltered**: it runs on
/// every send. A connection with a filter runs only on sends that name at
/// least one of its senders (by identity) or keys (by equality): several
/// senders and keys are a union.
///
/// A filter holds its senders weakly: it never keeps them alive, and once a
/// sender dies the route to it matches nothing and is reclaimed.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::Filter;
///
/// let ashley = Arc::new("Ashley");
/// let filter: Filter = Filter::new().sender(&ashley).keys(["important", "books"]);
/// assert_eq!(filter.named_keys().len(), 2);
/// assert_eq!(filter.named_senders().len(), 1);
/// assert!(!filter.is_empty());
/// ```
#[derive(Clone)]
pub struct Filter<K = String> {
    keys: Vec<K>,
    senders: Vec<SenderIdentity>,
}

impl<K> Filter<K> {
    /// An empty filter: a connection made with it runs on every send.
    pub fn new() -> Self {
        Filter {
            keys: Vec::new(),
            senders: Vec::new(),
        }
    }

    /// Adds a key.
    pub fn key(mut self, key: impl Into<K>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Adds several keys.
    pub fn keys<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<K>,
    {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Adds a sender, matched by identity (held weakly).
    pub fn sender<T: Any + Send + Sync>(mut self, sender: &Arc<T>) -> Self {
        self.senders.push(SenderIdentity::of(sender));
        self
    }

    /// Adds several senders of one type (chain [`sender`](Self::sender) for
    /// senders of different types).
    pub fn senders<'a, T, I>(mut self, senders: I) -> Self
    where
        T: Any + Send + Sync,
        I: IntoIterator<Item = &'a Arc<T>>,
    {
        self.senders
            .extend(senders.into_iter().map(SenderIdentity::of));
        self
    }

    /// Adds a sender identity made elsewhere (for integrations that keep
    /// their own identities).
    pub fn identity(mut self, identity: SenderIdentity) -> Self {
        self.senders.push(identity);
        self
    }

    /// The keys of the filter.
    pub fn named_keys(&self) -> &[K] {
        &self.keys
    }

    /// Whether the filter names no sender and no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.senders.is_empty()
    }

    /// The sender identities of the filter.
    pub fn named_senders(&self) -> &[SenderIdentity] {
        &self.senders
    }
}

impl<K> Default for Filter<K> {
    fn default() -> Self {
        Filter::new()
    }
}

impl<K: fmt::Debug> fmt::Debug for Filter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("keys", &self.keys)
            .field("senders", &self.senders)
            .finish()
    }
}
