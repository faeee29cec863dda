//! `asyncio_dispatch` for Python, backed by the `signal-dispatch` routing
//! table.
//!
//! This crate builds the extension module `asyncio_dispatch._native`; the
//! Python package `asyncio_dispatch` (under `python/`) derives its
//! `Signal` from the native one, adding the coroutine methods. Routing, deduplication, sender identity and weak bookkeeping
//! live in Rust, in [`signal_dispatch::router::Router`]; Python objects
//! enter it as `PyKey` keys, anchored sender identities and `Callback`
//! targets.
//!
//! The layout:
//!
//! - `signal`: the `Signal` class, and the writers' lock that makes it safe
//!   to use from several threads without deadlocking on the GIL;
//! - `delivery`: `send`, and the handle that runs plain callbacks;
//! - `target`: callbacks held strongly or weakly;
//! - `sender`: sender identities that can't be confused with a new object at
//!   a dead sender's address;
//! - `key`: keys matched by hash and equality.
//!
//! Build and test it with `scripts/test-python.sh`; install it with
//! `pip install ./crates/signal-dispatch-py`.

mod delivery;
mod key;
mod sender;
mod signal;
mod sync;
mod target;

use pyo3::prelude::*;

use signal::Signal;

/// The extension module, `asyncio_dispatch._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Signal>()?;
    Ok(())
}
