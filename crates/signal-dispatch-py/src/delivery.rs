//! Sending: select the callbacks, then schedule them on the event loop.
//!
//! Coroutine functions become tasks (`loop.create_task`), as in the
//! original. Plain callables are scheduled with one `loop.call_soon` per
//! send, a [`Delivery`] that calls each in turn, each in its own copy of the
//! send's context, with each exception reported to the loop's exception
//! handler on its own: one handle instead of one per callback, and no
//! callback can stop another.

use std::cell::RefCell;
use std::fmt;

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PySystemExit, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PySet, PyTuple};
use signal_dispatch::router::Selection;
use smallvec::SmallVec;

use crate::key::PyKey;
use crate::sender;
use crate::signal::{Named, Signal};
use crate::target::Callback;

/// Runs a send: returns how many callbacks it scheduled.
pub(crate) fn send(
    signal: &Bound<'_, Signal>,
    named: &Named,
    overrides: Option<&Bound<'_, PyDict>>,
) -> PyResult<usize> {
    let py = signal.py();
    let this = signal.get();
    let defaults = this.defaults.bind(py);
    if let Some(overrides) = overrides {
        for name in overrides.keys() {
            if !defaults.contains(&name)? {
                return Err(PyValueError::new_err(format!(
                    "You can not add new kwargs to an existing signal: {} was not declared",
                    name.repr()?
                )));
            }
        }
    }

    let senders = collect(py, named.senders.as_ref(), named.sender.as_ref())?;
    let keys = collect(py, named.keys.as_ref(), named.key.as_ref())?;
    let mut route_keys: SmallVec<[PyKey; 4]> = SmallVec::new();
    for key in keys.iter() {
        route_keys.push(PyKey::new(&key)?);
    }
    // The anchors stay alive (and their addresses unique) until selection ends.
    let mut anchors: SmallVec<[_; 4]> = SmallVec::new();
    for sender in senders.iter() {
        anchors.extend(sender::find(&sender)?);
    }
    let addresses: SmallVec<[usize; 4]> = anchors.iter().map(|a| a.route_address()).collect();
    let mut selection: Selection<Callback, PyKey> = Selection::new();
    this.core
        .router
        .select(&route_keys, &addresses, &mut selection);
    drop(anchors);
    if selection.is_empty() {
        return Ok(0);
    }

    // The keyword arguments every callback of this send gets.
    let kwargs = defaults.copy()?;
    if let Some(overrides) = overrides {
        kwargs.update(overrides.as_mapping())?;
    }
    kwargs.set_item(pyo3::intern!(py, "signal"), signal)?;
    kwargs.set_item(pyo3::intern!(py, "senders"), &senders)?;
    kwargs.set_item(pyo3::intern!(py, "keys"), &keys)?;

    let running = running_loop(py)?;
    let (event_loop, on_loop) = match &this.event_loop {
        Some(given) => {
            let given = given.bind(py).clone();
            let on_loop = running.as_ref().is_some_and(|running| running.is(&given));
            (given, on_loop)
        }
        None => (
            running.ok_or_else(|| {
                PyRuntimeError::new_err(
                    "no running event loop: send from a coroutine, or give the Signal a loop",
                )
            })?,
            true,
        ),
    };

    let mut scheduled = 0;
    let mut calls = Vec::new();
    for slot in &selection {
        let Some(resolved) = slot.target().resolve(py) else {
            continue;
        };
        scheduled += 1;
        if resolved.is_async {
            let args = arguments(py, resolved.instance.as_ref())?;
            match resolved.callable.call(args, Some(&kwargs)) {
                Ok(coroutine) => start_task(&event_loop, on_loop, coroutine)?,
                Err(error) => report(&event_loop, &resolved.callable, error)?,
            }
        } else {
            calls.push((
                resolved.callable.unbind(),
                resolved.instance.map(Bound::unbind),
            ));
        }
    }
    if !calls.is_empty() {
        let delivery = Delivery {
            event_loop: event_loop.clone().unbind(),
            kwargs: kwargs.unbind(),
            calls,
        };
        let schedule = if on_loop {
            pyo3::intern!(py, "call_soon")
        } else {
            pyo3::intern!(py, "call_soon_threadsafe")
        };
        event_loop.call_method1(schedule, (delivery,))?;
    }
    Ok(scheduled)
}

/// `set(many)`, plus `one` if given: the seed's `senders` and `keys`.
fn collect<'py>(
    py: Python<'py>,
    many: Option<&Py<PyAny>>,
    one: Option<&Py<PyAny>>,
) -> PyResult<Bound<'py, PySet>> {
    let set = PySet::empty(py)?;
    if let Some(many) = many {
        for item in many.bind(py).try_iter()? {
            set.add(item?)?;
        }
    }
    if let Some(one) = one {
        set.add(one.bind(py))?;
    }
    Ok(set)
}

thread_local! {
    /// The loop last found running on this thread, with the `_thread_id`
    /// it had then.
    static RUNNING: RefCell<Option<(Py<PyAny>, Py<PyAny>)>> = const { RefCell::new(None) };
}

/// `asyncio._get_running_loop()`: the running loop, or `None`.
///
/// On CPython 3.11 that call costs a `getpid()` system call, a good part
/// of a send. So the loop found is remembered per thread with the object
/// its `_thread_id` held (asyncio's loops set it when they start running on
/// a thread and clear it when they stop): while `_thread_id` is still that
/// very object, the loop is still running on this thread, and only one loop
/// can. A stopped and restarted loop gets a new `_thread_id` object (the old
/// one is held here, so the new one can't share its address). A loop
/// without `_thread_id` (uvloop) is asked every time.
fn running_loop(py: Python<'_>) -> PyResult<Option<Bound<'_, PyAny>>> {
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let thread_id = pyo3::intern!(py, "_thread_id");
    let cached = RUNNING.with(|running| {
        running
            .borrow()
            .as_ref()
            .map(|(event_loop, id)| (event_loop.clone_ref(py), id.clone_ref(py)))
    });
    if let Some((event_loop, id)) = cached {
        let event_loop = event_loop.into_bound(py);
        if event_loop
            .getattr(thread_id)
            .is_ok_and(|current| current.is(&id))
        {
            return Ok(Some(event_loop));
        }
    }
    let running = GET.import(py, "asyncio", "_get_running_loop")?.call0()?;
    let remembered = if running.is_none() {
        None
    } else {
        running
            .getattr(thread_id)
            .ok()
            .filter(|id| !id.is_none())
            .map(|id| (running.clone().unbind(), id.unbind()))
    };
    let stale = RUNNING.with(|cache| cache.replace(remembered));
    drop(stale);
    Ok((!running.is_none()).then_some(running))
}

fn arguments<'py>(
    py: Python<'py>,
    instance: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    match instance {
        Some(instance) => PyTuple::new(py, [instance]),
        None => Ok(PyTuple::empty(py)),
    }
}

/// Runs `awaitable` as a task on `event_loop`.
fn start_task(
    event_loop: &Bound<'_, PyAny>,
    on_loop: bool,
    awaitable: Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = event_loop.py();
    static COROUTINE: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();
    let coroutine = COROUTINE.import(py, "types", "CoroutineType")?;
    if on_loop && awaitable.get_type().is(coroutine) {
        event_loop.call_method1(pyo3::intern!(py, "create_task"), (awaitable,))?;
    } else if on_loop {
        static ENSURE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let kwargs = PyDict::new(py);
        kwargs.set_item(pyo3::intern!(py, "loop"), event_loop)?;
        ENSURE
            .import(py, "asyncio", "ensure_future")?
            .call((awaitable,), Some(&kwargs))?;
    } else {
        static THREADSAFE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        THREADSAFE
            .import(py, "asyncio", "run_coroutine_threadsafe")?
            .call1((awaitable, event_loop))?;
    }
    Ok(())
}

/// Hands a callback's exception to the loop's exception handler, as the
/// loop does for a failing `call_soon` callback. `SystemExit` and
/// `KeyboardInterrupt` propagate instead.
fn report(
    event_loop: &Bound<'_, PyAny>,
    callable: &Bound<'_, PyAny>,
    error: PyErr,
) -> PyResult<()> {
    let py = event_loop.py();
    if error.is_instance_of::<PySystemExit>(py) || error.is_instance_of::<PyKeyboardInterrupt>(py) {
        return Err(error);
    }
    let context = PyDict::new(py);
    let described = callable
        .repr()
        .map(|repr| repr.to_string())
        .unwrap_or_else(|_| "<callback>".into());
    context.set_item("message", format!("Exception in callback {described}"))?;
    context.set_item("exception", error.value(py))?;
    context.set_item("callback", callable)?;
    if let Err(failed) =
        event_loop.call_method1(pyo3::intern!(py, "call_exception_handler"), (context,))
    {
        failed.write_unraisable(py, Some(callable));
    }
    Ok(())
}

/// The plain callables of one send, called by one `call_soon` handle.
#[pyclass(module = "asyncio_dispatch._native", frozen)]
pub(crate) struct Delivery {
    event_loop: Py<PyAny>,
    kwargs: Py<PyDict>,
    calls: Vec<(Py<PyAny>, Option<Py<PyAny>>)>,
}

#[pymethods]
impl Delivery {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        static COPY_CONTEXT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static IS_AWAITABLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let event_loop = self.event_loop.bind(py);
        let kwargs = self.kwargs.bind(py);
        // One callback runs in the handle's own context copy; several each
        // get a copy, as separate handles would.
        let isolate = self.calls.len() > 1;
        for (callable, instance) in &self.calls {
            let callable = callable.bind(py);
            let instance = instance.as_ref().map(|instance| instance.bind(py));
            let outcome = if isolate {
                let context = COPY_CONTEXT
                    .import(py, "contextvars", "copy_context")?
                    .call0()?;
                let mut args = vec![callable.clone()];
                args.extend(instance.cloned());
                context.call_method(
                    pyo3::intern!(py, "run"),
                    PyTuple::new(py, args)?,
                    Some(kwargs),
                )
            } else {
                callable.call(arguments(py, instance)?, Some(kwargs))
            };
            let outcome = outcome.and_then(|result| {
                // A plain callable that returns an awaitable (an async
                // callable object, a generator-based coroutine) gets it run.
                if !result.is_none()
                    && IS_AWAITABLE
                        .import(py, "inspect", "isawaitable")?
                        .call1((&result,))?
                        .is_truthy()?
                {
                    start_task(event_loop, true, result)?;
                }
                Ok(())
            });
            if let Err(error) = outcome {
                report(event_loop, callable, error)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("calls", &self.calls.len())
            .finish_non_exhaustive()
    }
}
