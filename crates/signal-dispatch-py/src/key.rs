//! Keys: Python objects matched by hash and equality, as a `dict` matches them.

use std::fmt;
use std::hash::{Hash, Hasher};

use pyo3::prelude::*;

/// A key as the routing table holds it: the object and its hash, computed
/// once when the key enters Rust.
///
/// Equality follows `dict`: the same object, or equal hashes and `==`. An
/// exception raised by `__eq__` counts as "not equal" and is reported to
/// `sys.unraisablehook`, so a broken key can't break a send.
pub(crate) struct PyKey {
    hash: isize,
    object: Py<PyAny>,
}

impl PyKey {
    /// The key for `object`; fails as `hash(object)` would.
    pub(crate) fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyKey {
            hash: object.hash()?,
            object: object.clone().unbind(),
        })
    }
}

impl Clone for PyKey {
    fn clone(&self) -> Self {
        Python::attach(|py| PyKey {
            hash: self.hash,
            object: self.object.clone_ref(py),
        })
    }
}

impl Hash for PyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_isize(self.hash);
    }
}

impl PartialEq for PyKey {
    fn eq(&self, other: &Self) -> bool {
        if self.hash != other.hash {
            return false;
        }
        if self.object.is(&other.object) {
            return true;
        }
        Python::attach(|py| {
            let this = self.object.bind(py);
            this.eq(other.object.bind(py)).unwrap_or_else(|error| {
                error.write_unraisable(py, Some(this));
                false
            })
        })
    }
}

impl Eq for PyKey {}

impl fmt::Debug for PyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyKey").field("hash", &self.hash).finish()
    }
}
