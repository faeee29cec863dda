//! Named senders: sender identities that mean the same in every process.

use std::fmt;

/// A sender known by a stable name, so that it can be matched across
/// processes. Object-identity senders (any `Arc`) stay local; a named
/// sender filters and is named in sends like any other sender, and the
/// bridge carries its name.
///
/// Get one from [`Bridge::named_sender`](crate::Bridge::named_sender),
/// which returns the same `Arc` for the same name, so filters made with it
/// match sends made with it, local or remote. Callbacks read the name back
/// with [`Sender::downcast_ref`](signal_dispatch::Sender::downcast_ref).
///
/// # Examples
///
/// ```
/// use signal_dispatch::Sender;
/// use signal_dispatch_nats::NamedSender;
/// use std::sync::Arc;
///
/// let billing = Arc::new(NamedSender::new("billing"));
/// let as_sender = Sender::new(&billing);
/// assert_eq!(as_sender.downcast_ref::<NamedSender>().unwrap().name(), "billing");
/// ```
#[derive(PartialEq, Eq, Hash)]
pub struct NamedSender {
    name: String,
}

impl NamedSender {
    /// A named sender. Prefer [`Bridge::named_sender`](crate::Bridge::named_sender):
    /// only that one is matched by name when a send arrives from elsewhere.
    pub fn new(name: impl Into<String>) -> Self {
        NamedSender { name: name.into() }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for NamedSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamedSender").field(&self.name).finish()
    }
}

impl fmt::Display for NamedSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}
