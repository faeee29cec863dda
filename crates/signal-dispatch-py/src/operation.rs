//! The awaitable that `connect`, `disconnect` and `send` return.

use std::fmt;
use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::delivery;
use crate::signal::{Named, Signal};
use crate::sync::lock;

/// One call of a coroutine method, not yet run.
pub(crate) enum Op {
    Connect {
        signal: Py<Signal>,
        callback: Py<PyAny>,
        filter: Named,
        weak: bool,
    },
    Disconnect {
        signal: Py<Signal>,
        callback: Option<Py<PyAny>>,
        filter: Named,
    },
    Send {
        signal: Py<Signal>,
        filter: Named,
        kwargs: Option<Py<PyDict>>,
    },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Connect { .. } => "connect",
            Op::Disconnect { .. } => "disconnect",
            Op::Send { .. } => "send",
        }
    }

    fn run(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Op::Connect {
                signal,
                callback,
                filter,
                weak,
            } => {
                let signal = signal.bind(py).get();
                signal.core.connect(callback.bind(py), &filter, weak)?;
                Ok(py.None())
            }
            Op::Disconnect {
                signal,
                callback,
                filter,
            } => {
                let callback = callback.unwrap_or_else(|| py.None());
                signal
                    .bind(py)
                    .get()
                    .core
                    .disconnect(callback.bind(py), &filter)?;
                Ok(py.None())
            }
            Op::Send {
                signal,
                filter,
                kwargs,
            } => {
                let count = delivery::send(
                    signal.bind(py),
                    &filter,
                    kwargs.as_ref().map(|k| k.bind(py)),
                )?;
                Ok(count.into_pyobject(py)?.into_any().unbind())
            }
        }
    }
}

/// A coroutine-like awaitable: `await` it (or hand it to `create_task`,
/// `run_until_complete`, `gather`...) to run the call it stands for.
///
/// It implements the coroutine protocol (`__await__`, `send`, `throw`,
/// `close`), so `asyncio.iscoroutine` accepts it. Like a coroutine, it does
/// nothing until awaited and can be awaited once.
#[pyclass(module = "asyncio_dispatch", name = "SignalOperation", frozen)]
pub struct Operation {
    op: Mutex<Option<Op>>,
    name: &'static str,
}

impl Operation {
    pub(crate) fn new(op: Op) -> Self {
        Operation {
            name: op.name(),
            op: Mutex::new(Some(op)),
        }
    }

    fn step(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let op = lock(&self.op)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("cannot reuse already awaited coroutine"))?;
        let value = op.run(py)?;
        Err(PyStopIteration::new_err((value,)))
    }
}

#[pymethods]
impl Operation {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.step(py)
    }

    /// Runs the call; `value` must be `None`, as for a just-started coroutine.
    fn send(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if !value.is_none() {
            return Err(PyTypeError::new_err(
                "can't send non-None value to a just-started coroutine",
            ));
        }
        self.step(py)
    }

    /// Abandons the call and raises `kind` (an exception class or instance).
    #[pyo3(signature = (kind, value = None, traceback = None))]
    fn throw(
        &self,
        py: Python<'_>,
        kind: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = traceback;
        drop(lock(&self.op).take());
        let exception = match kind.cast::<PyType>() {
            Ok(class) => match value {
                Some(value) if value.is_instance(class)? => value.clone(),
                Some(value) if !value.is_none() => class.call1((value,))?,
                _ => class.call0()?,
            },
            Err(_) => kind.clone(),
        };
        let _ = py;
        Err(PyErr::from_value(exception))
    }

    /// Abandons the call.
    fn close(&self) {
        drop(lock(&self.op).take());
    }

    fn __repr__(&self) -> String {
        let state = if lock(&self.op).is_some() {
            "pending"
        } else {
            "done"
        };
        format!("<asyncio_dispatch.Signal.{} {state}>", self.name)
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .finish()
    }
}
