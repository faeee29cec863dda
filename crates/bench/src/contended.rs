//! Two threads sending to the same signal at once.

use std::collections::BTreeMap;

use signal_dispatch::{Event, Mode, Signal};
use tokio::runtime::Runtime;

use crate::harness::{Done, Sampler, counting_closures, interleave, time_per_op};

/// ns per callback with two OS threads each making `sends / 2` sends to one
/// signal of `fanout` callbacks, batched.
pub fn two_threads(
    runtime: &Runtime,
    fanout: usize,
    sends: usize,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let calls = fanout * sends;
    let done = Done::new();
    let mut samplers: Vec<Sampler<'_>> = Vec::new();

    let signal: Signal = Signal::builder(())
        .mode(Mode::Batched)
        .runtime(runtime.handle().clone())
        .build();
    for _ in 0..fanout {
        let done = done.clone();
        signal.connect(move |_: &Event| done.hit());
    }
    {
        let done = done.clone();
        samplers.push((
            "signal_dispatch",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    from_two_threads(sends, || {
                        signal.send().schedule().unwrap();
                    });
                    runtime.block_on(done.wait());
                })
            }),
        ));
    }
    {
        let closures = counting_closures(&done, fanout);
        let handle = runtime.handle().clone();
        let done = done.clone();
        samplers.push((
            "floor_one_task",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    from_two_threads(sends, || {
                        let closures = closures.clone();
                        handle.spawn(async move {
                            for f in closures.iter() {
                                f();
                            }
                        });
                    });
                    runtime.block_on(done.wait());
                })
            }),
        ));
    }
    interleave(rounds, samplers)
}

/// Makes `sends` sends, half from each of two OS threads at once.
fn from_two_threads(sends: usize, send: impl Fn() + Sync) {
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..sends / 2 {
                    send();
                }
            });
        }
    });
}
