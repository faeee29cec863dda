//! Senders: objects named by a send, matched by identity.

use std::any::Any;
use std::fmt;

use crate::sync::{Arc, Weak};

/// A sender named by a send, as a callback sees it.
///
/// Any `Arc<T>` can be a sender; callbacks get it back through
/// [`downcast_ref`](Sender::downcast_ref) or [`downcast`](Sender::downcast),
/// and compare identities with [`is`](Sender::is).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::Sender;
///
/// let mike = Arc::new("Mike");
/// let sender = Sender::new(&mike);
/// assert_eq!(sender.downcast_ref::<&str>(), Some(&"Mike"));
/// assert!(sender.is(&mike));
/// assert!(!sender.is(&Arc::new("Mike")));
/// ```
#[derive(Clone)]
pub struct Sender(Arc<dyn Any + Send + Sync>);

impl Sender {
    /// Wraps `object` as a sender. The sender keeps it alive.
    #[inline]
    pub fn new<T: Any + Send + Sync>(object: &Arc<T>) -> Self {
        Sender(object.clone())
    }

    /// The sender as a `&T`, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    /// The sender as an `Arc<T>`, if it is a `T`.
    pub fn downcast<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0.clone().downcast().ok()
    }

    /// Whether this sender is `object` itself (identity, not equality).
    pub fn is<T: ?Sized>(&self, object: &Arc<T>) -> bool {
        self.address() == address_of(object)
    }

    pub(crate) fn address(&self) -> usize {
        address_of(&self.0)
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sender({:#x})", self.address())
    }
}

/// The address of the object an `Arc` points to: its identity while alive.
pub(crate) fn address_of<T: ?Sized>(object: &Arc<T>) -> usize {
    Arc::as_ptr(object).cast::<()>() as usize
}

/// A sender's identity as a filter holds it: by address, without keeping the
/// object alive, and safe against the address being reused.
///
/// The identity holds a [`Weak`] to the object. A `Weak` keeps the object's
/// *allocation* (not its value) alive, so no other object can be given this
/// address while the identity exists: once the object dies, no live `Arc`
/// can ever have its address again, and the filter matches nothing. Dead
/// identities are pruned by the routing table.
///
/// This is what the routing table stores; applications build filters with
/// [`Filter::sender`](crate::Filter::sender) instead.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signal_dispatch::SenderIdentity;
///
/// let object = Arc::new(5_u8);
/// let identity = SenderIdentity::of(&object);
/// assert!(identity.is_alive());
/// drop(object);
/// assert!(!identity.is_alive());
/// ```
#[derive(Clone)]
pub struct SenderIdentity {
    address: usize,
    anchor: Weak<dyn Any + Send + Sync>,
}

impl SenderIdentity {
    /// The identity of `object`.
    pub fn of<T: Any + Send + Sync>(object: &Arc<T>) -> Self {
        let anchor: Weak<T> = Arc::downgrade(object);
        SenderIdentity {
            address: address_of(object),
            anchor,
        }
    }

    /// Whether the object is still alive (an identity of a dead object never
    /// matches any send).
    pub fn is_alive(&self) -> bool {
        self.anchor.strong_count() > 0
    }

    /// The address this identity matches; sends look senders up by it.
    pub fn address(&self) -> usize {
        self.address
    }
}

impl fmt::Debug for SenderIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderIdentity")
            .field("address", &format_args!("{:#x}", self.address))
            .field("alive", &self.is_alive())
            .finish()
    }
}
