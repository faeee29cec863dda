//! Callbacks as the routing table stores them: held strongly or weakly.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyWeakrefReference;
use signal_dispatch::router::Target;

use crate::sender::{Anchor, address, is_bound_method};
use crate::signal::Core;
use crate::sync::lock;

/// Which callback a connection is: `id(callback)`, or for a bound method
/// `(id(method.__self__), id(method.__func__))`, since `obj.method` makes a
/// new object each time. While a connection exists its callback is alive
/// (held strongly, or weakly with the connection removed on death), so the
/// id can't be reused for another callable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum CallbackId {
    Object(usize),
    Method(usize, usize),
}

impl CallbackId {
    /// The identity of `callback`.
    pub(crate) fn of(callback: &Bound<'_, PyAny>) -> PyResult<Self> {
        if is_bound_method(callback)? {
            let (instance, function) = split_method(callback)?;
            return Ok(CallbackId::Method(address(&instance), address(&function)));
        }
        Ok(CallbackId::Object(address(callback)))
    }
}

fn split_method<'py>(
    method: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let py = method.py();
    Ok((
        method.getattr(pyo3::intern!(py, "__self__"))?,
        method.getattr(pyo3::intern!(py, "__func__"))?,
    ))
}

/// How a connection holds its callback.
enum Reference {
    Strong(Py<PyAny>),
    /// `weakref.ref(callback)`.
    Weak(Py<PyWeakrefReference>),
    /// `weakref.WeakMethod(method)`: the instance weakly, the function
    /// strongly; called as `function(instance, **kwargs)`.
    WeakMethod {
        instance: Py<PyWeakrefReference>,
        function: Py<PyAny>,
    },
}

/// A connected callback.
pub(crate) struct Callback {
    reference: Reference,
    /// Set by connecting the same callback with `weak=False` after it was
    /// connected weakly: the connection now keeps it alive.
    pinned: Mutex<Option<Py<PyAny>>>,
    /// Cleared when a weakly held callback dies.
    alive: Arc<AtomicBool>,
    /// A coroutine function: scheduled as a task, not with `call_soon`.
    is_async: bool,
    /// Anchors of senders that can't be weakly referenced, kept alive (with
    /// their senders) while this connection may route to them.
    anchors: Mutex<Vec<Arc<Anchor>>>,
}

/// A callable resolved for one send: what to call, and the instance to pass
/// first for a weakly held method.
pub(crate) struct Resolved<'py> {
    pub(crate) callable: Bound<'py, PyAny>,
    pub(crate) instance: Option<Bound<'py, PyAny>>,
    pub(crate) is_async: bool,
}

impl Callback {
    /// A connection's callback, held strongly or (with a death callback that
    /// tells `core`) weakly.
    pub(crate) fn new(
        callback: &Bound<'_, PyAny>,
        id: CallbackId,
        weak: bool,
        core: &Arc<Core>,
    ) -> PyResult<Self> {
        let py = callback.py();
        let is_async = is_coroutine_function(callback)?;
        let alive = Arc::new(AtomicBool::new(true));
        let reaper = || CallbackReaper {
            core: Arc::downgrade(core),
            id,
            alive: alive.clone(),
        };
        let reference = if !weak {
            Reference::Strong(callback.clone().unbind())
        } else if is_bound_method(callback)? {
            let (instance, function) = split_method(callback)?;
            let instance = PyWeakrefReference::new_with(&instance, Bound::new(py, reaper())?)
                .map_err(|error| not_weak(py, callback, error))?;
            Reference::WeakMethod {
                instance: instance.unbind(),
                function: function.unbind(),
            }
        } else {
            let reference = PyWeakrefReference::new_with(callback, Bound::new(py, reaper())?)
                .map_err(|error| not_weak(py, callback, error))?;
            Reference::Weak(reference.unbind())
        };
        Ok(Callback {
            reference,
            pinned: Mutex::new(None),
            alive,
            is_async,
            anchors: Mutex::new(Vec::new()),
        })
    }

    /// Keeps `callback` (this connection's callable) alive from now on.
    pub(crate) fn pin(&self, callback: &Bound<'_, PyAny>) {
        if matches!(self.reference, Reference::Strong(_)) {
            return;
        }
        lock(&self.pinned).get_or_insert_with(|| callback.clone().unbind());
    }

    /// Keeps the anchors of senders that can't be weakly referenced.
    pub(crate) fn keep_anchors(&self, anchors: impl IntoIterator<Item = Arc<Anchor>>) {
        let mut kept = lock(&self.anchors);
        for anchor in anchors {
            if !kept.iter().any(|held| Arc::ptr_eq(held, &anchor)) {
                kept.push(anchor);
            }
        }
    }

    /// The callable, or `None` if it died.
    pub(crate) fn resolve<'py>(&self, py: Python<'py>) -> Option<Resolved<'py>> {
        let (callable, instance) = match &self.reference {
            Reference::Strong(callable) => (callable.bind(py).clone(), None),
            Reference::Weak(reference) => (upgrade(reference.bind(py))?, None),
            Reference::WeakMethod { instance, function } => {
                (function.bind(py).clone(), Some(upgrade(instance.bind(py))?))
            }
        };
        Some(Resolved {
            callable,
            instance,
            is_async: self.is_async,
        })
    }
}

fn upgrade<'py>(reference: &Bound<'py, PyWeakrefReference>) -> Option<Bound<'py, PyAny>> {
    use pyo3::types::PyWeakrefMethods;
    reference.upgrade()
}

fn not_weak(py: Python<'_>, callback: &Bound<'_, PyAny>, error: PyErr) -> PyErr {
    let kind = callback
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".into());
    let new = pyo3::exceptions::PyTypeError::new_err(format!(
        "cannot hold a '{kind}' callback weakly; connect it with weak=False"
    ));
    new.set_cause(py, Some(error));
    new
}

/// `inspect.iscoroutinefunction(callback)`.
fn is_coroutine_function(callback: &Bound<'_, PyAny>) -> PyResult<bool> {
    static CHECK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    CHECK
        .import(callback.py(), "inspect", "iscoroutinefunction")?
        .call1((callback,))?
        .is_truthy()
}

impl Target for Callback {
    fn is_live(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.reference {
            Reference::Strong(_) => "strong",
            Reference::Weak(_) => "weak",
            Reference::WeakMethod { .. } => "weak method",
        };
        f.debug_struct("Callback")
            .field("reference", &kind)
            .field("alive", &self.is_live())
            .field("is_async", &self.is_async)
            .finish_non_exhaustive()
    }
}

/// The death callback of a weakly held callback: marks the connection dead
/// at once (so no send selects it) and asks its signal to remove it.
#[pyclass(frozen, module = "asyncio_dispatch._native")]
pub(crate) struct CallbackReaper {
    core: Weak<Core>,
    id: CallbackId,
    alive: Arc<AtomicBool>,
}

#[pymethods]
impl CallbackReaper {
    fn __call__(&self, _reference: &Bound<'_, PyAny>) {
        self.alive.store(false, Ordering::Release);
        if let Some(core) = self.core.upgrade() {
            core.callback_died(self.id);
        }
    }
}

impl fmt::Debug for CallbackReaper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReaper")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
