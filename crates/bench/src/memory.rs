//! Memory: bytes per keyed connection, and resident memory as sends go by.

use std::collections::{BTreeMap, HashMap};

use async_event_emitter::AsyncEventEmitter;
use signal_dispatch::{Event, Filter, Signal};
use signals2::Connect0;
use tokio::runtime::Runtime;

use crate::harness::{allocated, rss};

/// Bytes allocated per keyed connection (a closure capturing nothing, so
/// none of it is the closure's), the key text included, over `n`
/// connections each on its own key.
pub fn bytes_per_keyed_connection(n: usize) -> BTreeMap<&'static str, f64> {
    let keys: Vec<String> = (0..n).map(|i| format!("key-{i:07}")).collect();
    let mut out = BTreeMap::new();

    let before = allocated();
    let signal: Signal = Signal::new();
    for key in &keys {
        signal.connect_filtered(Filter::new().key(key.clone()), |_: Event| {});
    }
    out.insert("signal_dispatch", (allocated() - before) as f64 / n as f64);
    drop(signal);

    let before = allocated();
    let map: HashMap<String, Box<dyn Fn() + Send + Sync>> = keys
        .iter()
        .map(|k| (k.clone(), Box::new(|| {}) as Box<dyn Fn() + Send + Sync>))
        .collect();
    out.insert("floor_direct", (allocated() - before) as f64 / n as f64);
    drop(map);

    let before = allocated();
    let emitter = AsyncEventEmitter::new();
    for key in &keys {
        emitter.on(key, |_: ()| async {});
    }
    out.insert(
        "async_event_emitter",
        (allocated() - before) as f64 / n as f64,
    );
    drop(emitter);

    let before = allocated();
    let slots: signals2::Signal<()> = signals2::Signal::new();
    let connections: Vec<_> = (0..n).map(|_| slots.connect(|| {})).collect();
    // signals2 has no keys: this is per (unkeyed) connection, handles included.
    out.insert("signals2", (allocated() - before) as f64 / n as f64);
    drop(connections);
    drop(slots);
    out
}

/// Resident memory after `first` and after `second` fire-and-forget sends
/// to one callback (spawned mode), in bytes.
pub fn rss_over_sends(runtime: &Runtime, first: usize, second: usize) -> (u64, u64) {
    let signal: Signal = Signal::new();
    signal.connect(|_: Event| {});
    let chunk = 10_000;
    let mut sent = 0;
    let mut at_first = 0;
    runtime.block_on(async {
        while sent < second {
            for _ in 0..chunk {
                signal.send().schedule().unwrap();
            }
            sent += chunk;
            signal.drained().await;
            if sent == first {
                at_first = rss();
            }
        }
    });
    (at_first, rss())
}
