//! Senders: Python objects matched by identity, safely.
//!
//! The seed stores `id(sender)`, so once a sender dies a new object at the
//! same address matches its filters. Here every sender named by a filter
//! gets an [`Anchor`], a small Rust allocation, and routes use the anchor's
//! [`SenderIdentity`] (its address, pinned by a `Weak`). The anchor lives
//! exactly as long as the sender:
//!
//! - a sender that can be weakly referenced is watched by a weak reference
//!   whose callback drops the anchor when the sender dies, before its
//!   memory can be reused; from then on its routes match nothing;
//! - a sender that can't (`object()`, `int`, `str`, `tuple`...) is kept
//!   alive by the anchor, and the anchor by the connections that route to
//!   it: the address can't be reused while a filter names it.
//!
//! A send looks its senders up in the table of live anchors, so a new
//! object at a dead sender's address finds no anchor, or a new one.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyWeakrefReference;
use signal_dispatch::SenderIdentity;

use crate::signal::Core;
use crate::sync::lock;

/// How the seed names a sender: `id(obj)`, or `(id(obj.__self__),
/// id(obj.__func__))` for a bound method (each access makes a new one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Identity {
    Object(usize),
    Method(usize, usize),
}

impl Identity {
    /// The identity of `object`, the object whose lifetime bounds it, and
    /// for a bound method its function (kept alive so its id stays unique).
    pub(crate) fn of<'py>(object: &Bound<'py, PyAny>) -> PyResult<Described<'py>> {
        if is_bound_method(object)? {
            let py = object.py();
            let instance = object.getattr(pyo3::intern!(py, "__self__"))?;
            let function = object.getattr(pyo3::intern!(py, "__func__"))?;
            let identity = Identity::Method(address(&instance), address(&function));
            return Ok((identity, instance, Some(function)));
        }
        Ok((Identity::Object(address(object)), object.clone(), None))
    }
}

/// An [`Identity`], the object that bounds its lifetime, and a function to keep.
pub(crate) type Described<'py> = (Identity, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

/// Whether `object` is a bound method (`types.MethodType`).
pub(crate) fn is_bound_method(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    static METHOD: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();
    let method = METHOD.import(object.py(), "types", "MethodType")?;
    Ok(object.get_type().is(method))
}

/// `id(object)`.
pub(crate) fn address(object: &Bound<'_, PyAny>) -> usize {
    object.as_ptr() as usize
}

/// The Rust-side stand-in for one live sender.
pub(crate) struct Anchor {
    identity: Identity,
    /// The sender itself, for senders that can't be weakly referenced; for a
    /// bound method, the method (which keeps its function alive).
    _pinned: Option<Py<PyAny>>,
    /// The weak reference that reports the sender's death.
    _watch: Option<Py<PyAny>>,
    /// Signals with routes to this sender, told when it dies.
    watchers: Mutex<Vec<Weak<Core>>>,
}

impl Anchor {
    /// The identity routes use for this sender.
    pub(crate) fn route_identity(self: &Arc<Self>) -> SenderIdentity {
        SenderIdentity::of(self)
    }

    /// The address of [`route_identity`](Self::route_identity): what a send
    /// looks routes up by.
    pub(crate) fn route_address(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self).cast::<()>() as usize
    }

    /// Whether the anchor keeps its sender alive (and so must be kept alive
    /// by the connections that name it).
    pub(crate) fn pins_sender(&self) -> bool {
        self._watch.is_none()
    }

    /// Asks to be told, through [`Core::sender_died`], when the sender dies.
    pub(crate) fn watch(&self, core: &Arc<Core>) {
        let mut watchers = lock(&self.watchers);
        watchers.retain(|watcher| watcher.strong_count() > 0);
        if !watchers
            .iter()
            .any(|watcher| std::ptr::eq(watcher.as_ptr(), Arc::as_ptr(core)))
        {
            watchers.push(Arc::downgrade(core));
        }
    }
}

impl Drop for Anchor {
    fn drop(&mut self) {
        let mut anchors = lock(&ANCHORS);
        if anchors
            .get(&self.identity)
            .is_some_and(|anchor| anchor.strong_count() == 0)
        {
            anchors.remove(&self.identity);
        }
    }
}

impl fmt::Debug for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anchor")
            .field("identity", &self.identity)
            .field("pins_sender", &self.pins_sender())
            .finish()
    }
}

/// The live anchors, by sender identity. Never locked while Python runs.
static ANCHORS: LazyLock<Mutex<HashMap<Identity, Weak<Anchor>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The live anchor of `sender`, if some filter names it. A send uses this:
/// a sender no filter names can match no route.
pub(crate) fn find(sender: &Bound<'_, PyAny>) -> PyResult<Option<Arc<Anchor>>> {
    let (identity, _, _) = Identity::of(sender)?;
    Ok(lock(&ANCHORS).get(&identity).and_then(Weak::upgrade))
}

/// The anchor of `sender`, made if it has none.
pub(crate) fn anchor(sender: &Bound<'_, PyAny>) -> PyResult<Arc<Anchor>> {
    let py = sender.py();
    let (identity, lifetime, function) = Identity::of(sender)?;
    if let Some(anchor) = lock(&ANCHORS).get(&identity).and_then(Weak::upgrade) {
        return Ok(anchor);
    }
    // Made outside the table's lock: making a weak reference runs Python.
    let reaper = Bound::new(
        py,
        SenderReaper {
            anchor: Mutex::new(None),
        },
    )?;
    let made = match PyWeakrefReference::new_with(&lifetime, reaper.clone()) {
        Ok(watch) => Arc::new(Anchor {
            identity,
            _pinned: function.map(Bound::unbind),
            _watch: Some(watch.into_any().unbind()),
            watchers: Mutex::new(Vec::new()),
        }),
        Err(_) => Arc::new(Anchor {
            identity,
            _pinned: Some(lifetime.unbind()),
            _watch: None,
            watchers: Mutex::new(Vec::new()),
        }),
    };
    let mut anchors = lock(&ANCHORS);
    if let Some(existing) = anchors.get(&identity).and_then(Weak::upgrade) {
        drop(anchors);
        return Ok(existing);
    }
    anchors.insert(identity, Arc::downgrade(&made));
    drop(anchors);
    if !made.pins_sender() {
        // The sender's weak reference owns the anchor until the sender dies:
        // anchor -> weak reference -> reaper -> anchor, cut by the reaper.
        *lock(&reaper.get().anchor) = Some(made.clone());
    }
    Ok(made)
}

/// The callback of a sender's weak reference: owns the sender's anchor, and
/// drops it (so its routes stop matching) when the sender dies.
#[pyclass(frozen, module = "asyncio_dispatch._native")]
pub(crate) struct SenderReaper {
    anchor: Mutex<Option<Arc<Anchor>>>,
}

#[pymethods]
impl SenderReaper {
    fn __call__(&self, _reference: &Bound<'_, PyAny>) {
        let Some(anchor) = lock(&self.anchor).take() else {
            return;
        };
        let watchers = std::mem::take(&mut *lock(&anchor.watchers));
        drop(anchor);
        for core in watchers.iter().filter_map(Weak::upgrade) {
            core.sender_died();
        }
    }
}

impl fmt::Debug for SenderReaper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderReaper").finish_non_exhaustive()
    }
}
