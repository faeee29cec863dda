//! Connection churn: connecting and disconnecting with many others present.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use async_event_emitter::AsyncEventEmitter;
use signal_dispatch::{Event, Filter, Signal};
use signals2::Connect0;

use crate::harness::{Sampler, budgeted, interleave};

/// ns per connect-then-disconnect of one keyed connection, with `present`
/// other keyed connections in place.
pub fn connect_disconnect(
    present: usize,
    cycles: usize,
    budget: Duration,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let fresh: Vec<String> = (0..cycles).map(|i| format!("fresh-{i}")).collect();
    let mut samplers: Vec<Sampler<'_>> = Vec::new();

    let signal: Signal = Signal::new();
    for i in 0..present {
        signal.connect_filtered(Filter::new().key(format!("key-{i}")), |_: Event| {});
    }
    {
        let fresh = &fresh;
        samplers.push((
            "signal_dispatch",
            Box::new(move || {
                budgeted(cycles, budget, |i| {
                    signal
                        .connect_filtered(Filter::new().key(fresh[i].clone()), |_: Event| {})
                        .disconnect();
                })
            }),
        ));
    }
    {
        let mut map: HashMap<String, Box<dyn Fn() + Send + Sync>> = (0..present)
            .map(|i| {
                (
                    format!("key-{i}"),
                    Box::new(|| {}) as Box<dyn Fn() + Send + Sync>,
                )
            })
            .collect();
        let fresh = &fresh;
        samplers.push((
            "floor_direct",
            Box::new(move || {
                budgeted(cycles, budget, |i| {
                    map.insert(fresh[i].clone(), Box::new(|| {}));
                    map.remove(&fresh[i]);
                })
            }),
        ));
    }
    {
        let emitter = AsyncEventEmitter::new();
        for i in 0..present {
            emitter.on(&format!("key-{i}"), |_: ()| async {});
        }
        let fresh = &fresh;
        samplers.push((
            "async_event_emitter",
            Box::new(move || {
                budgeted(cycles, budget, |i| {
                    let id = emitter.on(&fresh[i], |_: ()| async {});
                    emitter.remove_listener(id);
                })
            }),
        ));
    }
    // signals2 has no keys: its connections all share one copy-on-write
    // slot list, so building a million of them takes O(n^2); it is measured
    // up to 10,000 present.
    if present <= 10_000 {
        let slots: signals2::Signal<()> = signals2::Signal::new();
        let _kept: Vec<_> = (0..present).map(|_| slots.connect(|| {})).collect();
        samplers.push((
            "signals2",
            Box::new(move || {
                budgeted(cycles, budget, |_| {
                    slots.connect(|| {}).disconnect();
                })
            }),
        ));
    }
    interleave(rounds, samplers)
}

/// ns to disconnect one connection holding `keys` keys, among `present`
/// other keyed connections (its connect is not timed).
pub fn disconnect_keys(
    keys: usize,
    present: usize,
    cycles: usize,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let signal: Signal = Signal::new();
    for i in 0..present {
        signal.connect_filtered(Filter::new().key(format!("key-{i}")), |_: Event| {});
    }
    // Half its keys are shared with existing connections, half its own.
    let names: Vec<String> = (0..keys)
        .map(|i| {
            if i % 2 == 0 {
                format!("key-{i}")
            } else {
                format!("own-{i}")
            }
        })
        .collect();
    let samplers: Vec<Sampler<'_>> = vec![(
        "signal_dispatch",
        Box::new(move || {
            let mut total = 0.0;
            for _ in 0..cycles {
                let connection = signal
                    .connect_filtered(Filter::new().keys(names.iter().cloned()), |_: Event| {});
                let start = Instant::now();
                connection.disconnect();
                total += start.elapsed().as_nanos() as f64;
            }
            total / cycles as f64
        }),
    )];
    interleave(rounds, samplers)
}
