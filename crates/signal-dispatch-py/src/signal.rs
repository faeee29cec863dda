//! The `Signal` class and the state behind it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use signal_dispatch::Filter;
use signal_dispatch::router::{Router, Target};

use crate::delivery;
use crate::key::PyKey;
use crate::sender::{self, Anchor};
use crate::sync::lock;
use crate::target::{Callback, CallbackId};

/// The keywords a signal can't declare: they name `connect`'s and `send`'s
/// own parameters.
pub(crate) const RESTRICTED: [&str; 6] = ["callback", "sender", "senders", "key", "keys", "weak"];

pub(crate) type Slot = signal_dispatch::router::Slot<Callback, PyKey>;

/// A signal: callbacks connect to it, optionally filtered by senders
/// (identity) and keys (hash and equality); `send` schedules every matching
/// callback once on the event loop and returns how many.
///
/// The Python class `asyncio_dispatch.Signal` derives from this one and
/// adds the coroutine methods `connect`, `disconnect` and `send`, which
/// call `_connect`, `_disconnect` and `_send`.
#[pyclass(
    module = "asyncio_dispatch._native",
    name = "Signal",
    frozen,
    weakref,
    subclass
)]
pub(crate) struct Signal {
    pub(crate) core: Arc<Core>,
    /// The declared keyword arguments and their defaults.
    pub(crate) defaults: Py<PyDict>,
    /// The loop given to the constructor; `None` means the running loop.
    pub(crate) event_loop: Option<Py<PyAny>>,
}

#[pymethods]
impl Signal {
    #[new]
    #[pyo3(signature = (r#loop = None, **kwargs))]
    fn new(
        py: Python<'_>,
        r#loop: Option<Py<PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let defaults = PyDict::new(py);
        if let Some(kwargs) = kwargs {
            for name in RESTRICTED {
                if kwargs.contains(name)? {
                    return Err(PyValueError::new_err(format!(
                        "Keyword \"{name}\" is restricted"
                    )));
                }
            }
            defaults.update(kwargs.as_mapping())?;
        }
        Ok(Signal {
            core: Arc::new(Core::new()),
            defaults: defaults.unbind(),
            event_loop: r#loop,
        })
    }

    /// The keywords a signal can't declare.
    #[classattr]
    fn restricted_keywords(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        PyTuple::new(py, RESTRICTED)
    }

    /// Connects `callback` now (`connect` awaits this).
    #[pyo3(signature = (callback, sender, senders, key, keys, weak))]
    fn _connect(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        sender: Option<Py<PyAny>>,
        senders: Option<Py<PyAny>>,
        key: Option<Py<PyAny>>,
        keys: Option<Py<PyAny>>,
        weak: bool,
    ) -> PyResult<()> {
        let named = Named::new(sender, senders, key, keys);
        slf.get().core.connect(callback, &named, weak)
    }

    /// Disconnects `callback` now (`disconnect` awaits this).
    #[pyo3(signature = (callback, sender, senders, key, keys))]
    fn _disconnect(
        slf: &Bound<'_, Self>,
        callback: &Bound<'_, PyAny>,
        sender: Option<Py<PyAny>>,
        senders: Option<Py<PyAny>>,
        key: Option<Py<PyAny>>,
        keys: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let named = Named::new(sender, senders, key, keys);
        slf.get().core.disconnect(callback, &named)
    }

    /// Sends now and returns how many callbacks were scheduled (`send`
    /// awaits this).
    #[pyo3(signature = (sender, senders, key, keys, kwargs))]
    fn _send(
        slf: &Bound<'_, Self>,
        sender: Option<Py<PyAny>>,
        senders: Option<Py<PyAny>>,
        key: Option<Py<PyAny>>,
        keys: Option<Py<PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<usize> {
        let named = Named::new(sender, senders, key, keys);
        delivery::send(slf, &named, kwargs)
    }

    /// How many connections the signal has (dead weak ones excluded once
    /// reclaimed, which happens when their callback dies).
    fn __len__(&self) -> usize {
        self.core.router.len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let defaults = self.defaults.bind(py).repr()?;
        Ok(format!(
            "<asyncio_dispatch.Signal connections={} kwargs={defaults}>",
            self.core.router.len()
        ))
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// The senders and keys named by a call, as given.
pub(crate) struct Named {
    pub(crate) sender: Option<Py<PyAny>>,
    pub(crate) senders: Option<Py<PyAny>>,
    pub(crate) key: Option<Py<PyAny>>,
    pub(crate) keys: Option<Py<PyAny>>,
}

impl Named {
    pub(crate) fn new(
        sender: Option<Py<PyAny>>,
        senders: Option<Py<PyAny>>,
        key: Option<Py<PyAny>>,
        keys: Option<Py<PyAny>>,
    ) -> Self {
        Named {
            sender,
            senders,
            key,
            keys,
        }
    }

    /// Whether no sender and no key is named.
    pub(crate) fn is_empty(&self) -> bool {
        self.sender.is_none() && self.senders.is_none() && self.key.is_none() && self.keys.is_none()
    }

    /// Calls `each` on every sender named, then `each_key` on every key.
    fn visit<'py>(
        &self,
        py: Python<'py>,
        mut each_sender: impl FnMut(&Bound<'py, PyAny>) -> PyResult<()>,
        mut each_key: impl FnMut(&Bound<'py, PyAny>) -> PyResult<()>,
    ) -> PyResult<()> {
        if let Some(sender) = &self.sender {
            each_sender(sender.bind(py))?;
        }
        if let Some(senders) = &self.senders {
            for sender in senders.bind(py).try_iter()? {
                each_sender(&sender?)?;
            }
        }
        if let Some(key) = &self.key {
            each_key(key.bind(py))?;
        }
        if let Some(keys) = &self.keys {
            for key in keys.bind(py).try_iter()? {
                each_key(&key?)?;
            }
        }
        Ok(())
    }
}

/// Routes resolved from [`Named`] senders and keys.
struct Routes {
    filter: Filter<PyKey>,
    anchors: Vec<Arc<Anchor>>,
}

impl Routes {
    /// For a connect: every sender gets an anchor.
    fn to_connect(py: Python<'_>, named: &Named) -> PyResult<Self> {
        Self::resolve(py, named, |sender| sender::anchor(sender).map(Some))
    }

    /// For a disconnect: senders no filter names have no route to remove.
    fn to_disconnect(py: Python<'_>, named: &Named) -> PyResult<Self> {
        Self::resolve(py, named, sender::find)
    }

    /// Walks each named iterable once (it may be a one-shot iterator).
    fn resolve<'py>(
        py: Python<'py>,
        named: &Named,
        mut anchor: impl FnMut(&Bound<'py, PyAny>) -> PyResult<Option<Arc<Anchor>>>,
    ) -> PyResult<Self> {
        let mut anchors = Vec::new();
        let mut keys = Vec::new();
        named.visit(
            py,
            |sender| {
                anchors.extend(anchor(sender)?);
                Ok(())
            },
            |key| {
                keys.push(PyKey::new(key)?);
                Ok(())
            },
        )?;
        let mut filter = Filter::new().keys(keys);
        for anchor in &anchors {
            filter = filter.identity(anchor.route_identity());
        }
        Ok(Routes { filter, anchors })
    }
}

/// What a [`Signal`] shares with its connections' death callbacks.
pub(crate) struct Core {
    pub(crate) router: Router<Callback, PyKey>,
    /// The writers' lock: connect, disconnect and reclamation.
    state: Mutex<State>,
    /// The thread holding `state` (a [`thread_token`]), to refuse a
    /// re-entrant change instead of deadlocking.
    owner: AtomicUsize,
    /// Deaths reported while the state was locked, handled by its holder.
    notices: Mutex<Notices>,
    /// Senders with routes here that died since the last prune.
    dead_senders: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Each connected callback's slot. Entries whose slot the router
    /// disconnected on its own (every sender it named died) are dropped in
    /// bulk once they outnumber the live ones.
    callbacks: HashMap<CallbackId, Arc<Slot>>,
}

#[derive(Default)]
struct Notices {
    died: Vec<CallbackId>,
    prune: bool,
}

/// A token unique to the calling thread while it lives.
fn thread_token() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    thread_local! {
        static TOKEN: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|token| *token)
}

/// The writers' lock, held; on release, handles the deaths reported meanwhile.
struct Write<'a> {
    core: &'a Core,
    state: Option<MutexGuard<'a, State>>,
    /// Slots and callbacks to drop once the lock is released (dropping one
    /// may run Python code).
    garbage: Vec<Arc<Slot>>,
    spare: Vec<Callback>,
}

impl Write<'_> {
    fn state(&mut self) -> &mut State {
        self.state.as_mut().expect("held until dropped")
    }
}

impl Drop for Write<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.state.as_mut() {
            let live = self.core.router.len();
            if state.callbacks.len() > 2 * live + 32 {
                let mut stale = Vec::new();
                state.callbacks.retain(|_, slot| {
                    let keep = slot.is_connected();
                    if !keep {
                        stale.push(slot.clone());
                    }
                    keep
                });
                self.garbage.extend(stale);
            }
        }
        self.core.owner.store(0, Ordering::Release);
        drop(self.state.take());
        drop(std::mem::take(&mut self.garbage));
        drop(std::mem::take(&mut self.spare));
        self.core.drain();
    }
}

impl Core {
    fn new() -> Self {
        Core {
            router: Router::new(),
            state: Mutex::new(State::default()),
            owner: AtomicUsize::new(0),
            notices: Mutex::new(Notices::default()),
            dead_senders: AtomicUsize::new(0),
        }
    }

    /// Takes the writers' lock. Waiting releases the GIL, so the holder can
    /// finish; a change from inside a change (a key's `__eq__`, a finalizer)
    /// is refused with `RuntimeError`.
    fn write(&self, py: Python<'_>) -> PyResult<Write<'_>> {
        let me = thread_token();
        if self.owner.load(Ordering::Acquire) == me {
            return Err(PyRuntimeError::new_err(
                "a signal can't be connected or disconnected from inside its own \
                 connect or disconnect (a key's __eq__ or __hash__, or a finalizer)",
            ));
        }
        let state = loop {
            match self.state.try_lock() {
                Ok(state) => break state,
                Err(TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(lock(&self.state))),
            }
        };
        self.owner.store(me, Ordering::Release);
        Ok(Write {
            core: self,
            state: Some(state),
            garbage: Vec::new(),
            spare: Vec::new(),
        })
    }

    /// Connects `callback` with the routes `named` gives.
    pub(crate) fn connect(
        self: &Arc<Self>,
        callback: &Bound<'_, PyAny>,
        named: &Named,
        weak: bool,
    ) -> PyResult<()> {
        let py = callback.py();
        let id = CallbackId::of(callback)?;
        let routes = Routes::to_connect(py, named)?;
        // Made before locking: making a weak reference runs Python.
        let fresh = Callback::new(callback, id, weak, self)?;
        let pinned: Vec<Arc<Anchor>> = routes
            .anchors
            .iter()
            .filter(|anchor| anchor.pins_sender())
            .cloned()
            .collect();
        let mut write = self.write(py)?;
        let existing = write
            .state()
            .callbacks
            .get(&id)
            .filter(|slot| slot.is_connected() && slot.target().is_live())
            .cloned();
        match existing {
            Some(slot) => {
                self.router.add_routes(&slot, &routes.filter);
                if !weak {
                    slot.target().pin(callback);
                }
                slot.target().keep_anchors(pinned);
                write.spare.push(fresh);
            }
            None => {
                fresh.keep_anchors(pinned);
                let slot = self.router.insert(fresh, &routes.filter);
                if slot.is_connected() {
                    if let Some(old) = write.state().callbacks.insert(id, slot) {
                        write.garbage.push(old);
                    }
                } else {
                    write.garbage.push(slot);
                }
            }
        }
        drop(write);
        for anchor in routes.anchors.iter().filter(|anchor| !anchor.pins_sender()) {
            anchor.watch(self);
        }
        Ok(())
    }

    /// Disconnects `callback` entirely (nothing named) or from what `named`
    /// names.
    pub(crate) fn disconnect(&self, callback: &Bound<'_, PyAny>, named: &Named) -> PyResult<()> {
        let py = callback.py();
        if callback.is_none() {
            return Err(PyTypeError::new_err(
                "disconnect() needs the callback to disconnect",
            ));
        }
        let id = CallbackId::of(callback)?;
        let routes = (!named.is_empty())
            .then(|| Routes::to_disconnect(py, named))
            .transpose()?;
        let mut write = self.write(py)?;
        let Some(slot) = write.state().callbacks.get(&id).cloned() else {
            return Ok(());
        };
        let gone = match &routes {
            None => {
                self.router.remove(&slot);
                true
            }
            // Only senders no filter names: no route of this callback to remove.
            Some(routes) if routes.filter.is_empty() => false,
            Some(routes) => !self.router.remove_routes(&slot, &routes.filter),
        };
        if gone {
            if let Some(slot) = write.state().callbacks.remove(&id) {
                write.garbage.push(slot);
            }
        }
        Ok(())
    }

    /// A weakly held callback died: remove its connection now, or have the
    /// writer holding the lock do it.
    pub(crate) fn callback_died(&self, id: CallbackId) {
        lock(&self.notices).died.push(id);
        self.drain();
    }

    /// A sender with routes here died. Its routes already match nothing;
    /// they are reclaimed in bulk, once dead senders reach a quarter of the
    /// connections, so reclamation costs O(1) per death amortized.
    pub(crate) fn sender_died(&self) {
        let dead = self.dead_senders.fetch_add(1, Ordering::Relaxed) + 1;
        if dead >= (self.router.len() / 4).max(32) {
            self.dead_senders.store(0, Ordering::Relaxed);
            lock(&self.notices).prune = true;
            self.drain();
        }
    }

    /// Handles pending notices if the writers' lock is free; else its holder
    /// does when it releases it.
    fn drain(&self) {
        loop {
            let mut state = match self.state.try_lock() {
                Ok(state) => state,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let (died, prune) = {
                let mut notices = lock(&self.notices);
                (
                    std::mem::take(&mut notices.died),
                    std::mem::take(&mut notices.prune),
                )
            };
            if died.is_empty() && !prune {
                return;
            }
            let mut garbage = Vec::new();
            for id in died {
                let dead = state
                    .callbacks
                    .get(&id)
                    .is_some_and(|slot| !slot.target().is_live());
                if let Some(slot) = dead.then(|| state.callbacks.remove(&id)).flatten() {
                    self.router.remove(&slot);
                    garbage.push(slot);
                }
            }
            if prune {
                self.router.prune();
            }
            drop(state);
            drop(garbage);
        }
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("router", &self.router)
            .finish_non_exhaustive()
    }
}
