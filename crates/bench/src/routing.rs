//! Route cost: one send to one of N connections, each listening to its own
//! key (or sender), in inline mode so the route is what is measured.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_event_emitter::AsyncEventEmitter;
use signal_dispatch::{Event, Filter, Mode, Signal};
use tokio::runtime::Runtime;

use crate::harness::{Done, Sampler, interleave, time_per_op};

/// A fixed pseudo-random sequence of indices below `n` (xorshift), the
/// same for every implementation.
fn targets(n: usize, count: usize) -> Vec<usize> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        })
        .collect()
}

/// ns per send with `connections` keyed connections.
pub fn keyed(
    runtime: &Runtime,
    connections: usize,
    sends: usize,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let done = Done::new();
    let keys: Vec<String> = (0..connections).map(|i| format!("key-{i}")).collect();
    let order = targets(connections, sends);
    let mut samplers: Vec<Sampler<'_>> = Vec::new();

    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    for key in &keys {
        let done = done.clone();
        signal.connect_filtered(Filter::new().key(key.clone()), move |_: &Event| done.hit());
    }
    {
        let (done, keys, order) = (done.clone(), &keys, &order);
        let signal = signal.clone();
        samplers.push((
            "signal_dispatch",
            Box::new(move || {
                let sent: Vec<String> = order.iter().map(|&i| keys[i].clone()).collect();
                done.expect(sends);
                time_per_op(sends, || {
                    runtime.block_on(async {
                        for key in sent {
                            signal.send().key(key).wait().await.unwrap();
                        }
                    })
                })
            }),
        ));
    }
    {
        let (done, keys, order) = (done.clone(), &keys, &order);
        let signal = signal.clone();
        samplers.push((
            "signal_dispatch_call",
            Box::new(move || {
                let sent: Vec<String> = order.iter().map(|&i| keys[i].clone()).collect();
                done.expect(sends);
                time_per_op(sends, || {
                    for key in sent {
                        signal.send().key(key).call().unwrap();
                    }
                })
            }),
        ));
    }
    {
        let map: HashMap<String, Box<dyn Fn() + Send + Sync>> = keys
            .iter()
            .map(|k| {
                let done = done.clone();
                (
                    k.clone(),
                    Box::new(move || done.hit()) as Box<dyn Fn() + Send + Sync>,
                )
            })
            .collect();
        let (done, keys, order) = (done.clone(), &keys, &order);
        samplers.push((
            "floor_direct",
            Box::new(move || {
                done.expect(sends);
                time_per_op(sends, || {
                    for &i in order.iter() {
                        map[keys[i].as_str()]();
                    }
                })
            }),
        ));
    }
    {
        let emitter = AsyncEventEmitter::new();
        for key in &keys {
            let done = done.clone();
            emitter.on(key, move |_: ()| {
                let done = done.clone();
                async move { done.hit() }
            });
        }
        let (done, keys, order) = (done.clone(), &keys, &order);
        samplers.push((
            "async_event_emitter",
            Box::new(move || {
                done.expect(sends);
                time_per_op(sends, || {
                    runtime.block_on(async {
                        for &i in order.iter() {
                            emitter.emit(&keys[i], ()).await.unwrap();
                        }
                    })
                })
            }),
        ));
    }
    interleave(rounds, samplers)
}

/// ns per send with `connections` connections, each filtered on its own
/// sender object.
pub fn senders(
    runtime: &Runtime,
    connections: usize,
    sends: usize,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let done = Done::new();
    let objects: Vec<Arc<usize>> = (0..connections).map(Arc::new).collect();
    let order = targets(connections, sends);
    let mut samplers: Vec<Sampler<'_>> = Vec::new();

    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    for object in &objects {
        let done = done.clone();
        signal.connect_filtered(Filter::new().sender(object), move |_: &Event| done.hit());
    }
    {
        let (done, objects, order) = (done.clone(), &objects, &order);
        let signal = signal.clone();
        samplers.push((
            "signal_dispatch",
            Box::new(move || {
                done.expect(sends);
                time_per_op(sends, || {
                    runtime.block_on(async {
                        for &i in order.iter() {
                            signal.send().sender(&objects[i]).wait().await.unwrap();
                        }
                    })
                })
            }),
        ));
    }
    {
        let (done, objects, order) = (done.clone(), &objects, &order);
        let signal = signal.clone();
        samplers.push((
            "signal_dispatch_call",
            Box::new(move || {
                done.expect(sends);
                time_per_op(sends, || {
                    for &i in order.iter() {
                        signal.send().sender(&objects[i]).call().unwrap();
                    }
                })
            }),
        ));
    }
    {
        let map: HashMap<usize, Box<dyn Fn() + Send + Sync>> = objects
            .iter()
            .map(|o| {
                let done = done.clone();
                (
                    Arc::as_ptr(o) as usize,
                    Box::new(move || done.hit()) as Box<dyn Fn() + Send + Sync>,
                )
            })
            .collect();
        let (done, objects, order) = (done.clone(), &objects, &order);
        samplers.push((
            "floor_direct",
            Box::new(move || {
                done.expect(sends);
                time_per_op(sends, || {
                    for &i in order.iter() {
                        map[&(Arc::as_ptr(&objects[i]) as usize)]();
                    }
                })
            }),
        ));
    }
    interleave(rounds, samplers)
}
