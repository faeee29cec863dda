//! Fan-out: the cost per callback of one send reaching F callbacks, for
//! every way of running them.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use async_event_emitter::AsyncEventEmitter;
use signal_dispatch::{Event, Mode, Signal};
use signals2::{Connect0, Emit0};
use tokio::runtime::Runtime;

use crate::harness::{Done, Sampler, counting_closures, interleave, time_per_op};

/// How a fan-out scenario runs its callbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A task per callback (or whatever each peer does by default).
    Spawned,
    /// One task per send.
    Batched,
    /// In the sending task, awaited.
    Inline,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Spawned => "spawned",
            Kind::Batched => "batched",
            Kind::Inline => "inline",
        }
    }
}

/// The floor for a dispatcher with our guarantees, inline: connecting
/// never waits for a send (the callbacks are a snapshot a writer may
/// replace at any time: a send reads it under a hazard, a pointer it
/// announces with one locked instruction and clears with another, which
/// a replacing writer would look at before freeing), a send can be waited
/// for until it is over (counts of sends begun and ended on the sending
/// thread's own shard, each a store; the hazard's clearing orders the end
/// before the look for a waiter to wake), and a callback's panic is
/// caught. The event is borrowed from the stack and names the signal;
/// nothing is reported. What it leaves out: keys, senders, arguments, weak
/// owners, blocking, statistics, a report, the writer (nothing replaces
/// the callbacks here), threads without a shard of their own, and a send
/// made from a callback.
///
/// (Until the fourteenth pass this floor read an `ArcSwap` and counted
/// both ends with read-modify-writes: four locked instructions per send to
/// our design's two now. It cost 1.05–1.07× `signals2` at one callback.)
struct SnapshotFloor {
    /// The callbacks, as `Arc::into_raw`: never replaced here.
    callbacks: AtomicPtr<Vec<EventCallback>>,
    /// The sending thread's hazard.
    hazard: AtomicPtr<Vec<EventCallback>>,
    begun: AtomicU64,
    ended: AtomicU64,
    /// Tasks waiting for the sends in flight to end: none here, so no send
    /// ever wakes one, but each looks.
    waiters: AtomicUsize,
    woken: AtomicU64,
}

struct BorrowedEvent<'a> {
    _signal: &'a (),
    _send: usize,
}

type EventCallback = Box<dyn Fn(&BorrowedEvent<'_>) + Send + Sync>;

impl SnapshotFloor {
    fn new(done: &Arc<Done>, fanout: usize) -> Self {
        let callbacks: Vec<EventCallback> = (0..fanout)
            .map(|_| {
                let done = done.clone();
                Box::new(move |_: &BorrowedEvent<'_>| done.hit()) as EventCallback
            })
            .collect();
        SnapshotFloor {
            callbacks: AtomicPtr::new(Arc::into_raw(Arc::new(callbacks)).cast_mut()),
            hazard: AtomicPtr::new(std::ptr::null_mut()),
            begun: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            woken: AtomicU64::new(0),
        }
    }

    /// One send; returns how many callbacks panicked. Always inlined, as
    /// the floor was when written out in its sampler: a call of its own
    /// cost ~1 ns at one callback (`floor_snapshot` 27.9–28.2 ns against
    /// 26.1–26.6, alternating).
    #[inline(always)]
    fn send(&self, send: usize) -> usize {
        let mut value = self.callbacks.load(Ordering::Relaxed);
        loop {
            self.hazard.swap(value, Ordering::SeqCst);
            let now = self.callbacks.load(Ordering::SeqCst);
            if now == value {
                break;
            }
            value = now;
        }
        // SAFETY: `value` came from `Arc::into_raw` in `new`, and that
        // count is released only in `drop`, which no send outlives.
        #[allow(unsafe_code)]
        let callbacks = unsafe { &*value };
        let begun = self.begun.load(Ordering::Relaxed);
        self.begun.store(begun + 1, Ordering::Relaxed);
        let event = BorrowedEvent {
            _signal: &(),
            _send: send,
        };
        let mut failed = 0usize;
        for f in callbacks.iter() {
            if catch_unwind(AssertUnwindSafe(|| f(&event))).is_err() {
                failed += 1;
            }
        }
        let ended = self.ended.load(Ordering::Relaxed);
        self.ended.store(ended + 1, Ordering::Release);
        self.hazard.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if std::hint::black_box(&self.waiters).load(Ordering::SeqCst) > 0 {
            self.woken.fetch_add(1, Ordering::Relaxed);
        }
        failed
    }
}

impl Drop for SnapshotFloor {
    fn drop(&mut self) {
        // SAFETY: the count `new` made with `Arc::into_raw`, released once.
        #[allow(unsafe_code)]
        drop(unsafe { Arc::from_raw(self.callbacks.load(Ordering::Relaxed)) });
    }
}

/// Median ns per callback for each implementation that can express the
/// scenario: `fanout` callbacks, `sends` sends per sample.
pub fn run(
    runtime: &Runtime,
    kind: Kind,
    fanout: usize,
    sends: usize,
    rounds: usize,
) -> BTreeMap<&'static str, f64> {
    let calls = fanout * sends;
    let done = Done::new();
    let mut samplers: Vec<Sampler<'_>> = Vec::new();

    let mode = match kind {
        Kind::Spawned => Mode::Spawned,
        Kind::Batched => Mode::Batched,
        Kind::Inline => Mode::Inline,
    };
    // Our callbacks borrow the event (`&Event`), the cheapest kind; the
    // same callbacks taking it by value cost a reference count each, shown
    // as `signal_dispatch_event_by_value` where the callbacks dominate.
    let variants: &[(&'static str, bool)] = match kind {
        Kind::Spawned => &[("signal_dispatch", true)],
        _ => &[
            ("signal_dispatch", true),
            ("signal_dispatch_event_by_value", false),
        ],
    };
    for &(name, borrowing) in variants {
        let signal: Signal = Signal::builder(()).mode(mode).build();
        for _ in 0..fanout {
            let done = done.clone();
            if borrowing {
                signal.connect(move |_: &Event| done.hit());
            } else {
                signal.connect(move |_: Event| done.hit());
            }
        }
        let done = done.clone();
        samplers.push((
            name,
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    runtime.block_on(async {
                        if kind == Kind::Inline {
                            for _ in 0..sends {
                                signal.send().wait().await.unwrap();
                            }
                        } else {
                            for _ in 0..sends {
                                signal.send().schedule().unwrap();
                            }
                        }
                        done.wait().await;
                    })
                })
            }),
        ));
    }

    // Inline, synchronously: `call` runs the callbacks before it returns,
    // with no runtime, as `signals2` does.
    if kind == Kind::Inline {
        let signal: Signal = Signal::builder(()).mode(mode).build();
        for _ in 0..fanout {
            let done = done.clone();
            signal.connect(move |_: &Event| done.hit());
        }
        let done = done.clone();
        samplers.push((
            "signal_dispatch_call",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    for _ in 0..sends {
                        signal.send().call().unwrap();
                    }
                })
            }),
        ));
    }

    let closures = counting_closures(&done, fanout);
    {
        let (closures, done) = (closures.clone(), done.clone());
        samplers.push((
            "floor_direct",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    for _ in 0..sends {
                        for f in closures.iter() {
                            f();
                        }
                    }
                })
            }),
        ));
    }
    if kind == Kind::Inline {
        // The floor for any dispatcher that hands its callbacks a shared
        // event naming its signal, inline: one event allocated per send,
        // holding a handle to the signal (a reference count), lent to each
        // closure and freed after the last.
        struct SharedEvent {
            _signal: Arc<()>,
            _send: usize,
        }
        type EventCallback = Box<dyn Fn(&Arc<SharedEvent>) + Send + Sync>;
        let lent: Vec<EventCallback> = (0..fanout)
            .map(|_| {
                let done = done.clone();
                Box::new(move |_: &Arc<SharedEvent>| done.hit()) as EventCallback
            })
            .collect();
        let signal = Arc::new(());
        let done = done.clone();
        samplers.push((
            "floor_direct_event",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    for send in 0..sends {
                        let event = Arc::new(SharedEvent {
                            _signal: signal.clone(),
                            _send: send,
                        });
                        for f in &lent {
                            f(&event);
                        }
                    }
                })
            }),
        ));
    }
    if kind == Kind::Inline {
        // The floor for a dispatcher with our guarantees ([`SnapshotFloor`]),
        // called, and awaited as our awaited send is: each send through a
        // future ready at once, in the loop of an `async` block that
        // `block_on` runs. What the second adds to the first is the cost
        // of being awaited in a task at all.
        {
            let (floor, done) = (SnapshotFloor::new(&done, fanout), done.clone());
            samplers.push((
                "floor_snapshot",
                Box::new(move || {
                    done.expect(calls);
                    time_per_op(calls, || {
                        for send in 0..sends {
                            std::hint::black_box(floor.send(send));
                        }
                    })
                }),
            ));
        }
        let (floor, done) = (SnapshotFloor::new(&done, fanout), done.clone());
        samplers.push((
            "floor_snapshot_awaited",
            Box::new(move || {
                done.expect(calls);
                time_per_op(calls, || {
                    runtime.block_on(async {
                        for send in 0..sends {
                            let failed = std::future::ready(floor.send(send)).await;
                            std::hint::black_box(failed);
                        }
                        done.wait().await;
                    })
                })
            }),
        ));
    }
    if kind != Kind::Inline {
        let shared: Vec<Arc<dyn Fn() + Send + Sync>> = (0..fanout)
            .map(|_| {
                let done = done.clone();
                Arc::new(move || done.hit()) as Arc<dyn Fn() + Send + Sync>
            })
            .collect();
        let done2 = done.clone();
        samplers.push((
            "floor_spawn",
            Box::new(move || {
                done2.expect(calls);
                time_per_op(calls, || {
                    runtime.block_on(async {
                        for _ in 0..sends {
                            for f in &shared {
                                let f = f.clone();
                                tokio::spawn(async move { f() });
                            }
                        }
                        done2.wait().await;
                    })
                })
            }),
        ));
        {
            // The floor for any dispatcher that hands its callbacks a shared
            // event: the spawn floor plus one event allocated per send and
            // shared (reference-counted) by that send's tasks.
            struct SharedEvent {
                _send: usize,
            }
            type EventCallback = Arc<dyn Fn(&SharedEvent) + Send + Sync>;
            let shared: Vec<EventCallback> = (0..fanout)
                .map(|_| {
                    let done = done.clone();
                    Arc::new(move |_: &SharedEvent| done.hit())
                        as Arc<dyn Fn(&SharedEvent) + Send + Sync>
                })
                .collect();
            let done = done.clone();
            samplers.push((
                "floor_spawn_event",
                Box::new(move || {
                    done.expect(calls);
                    time_per_op(calls, || {
                        runtime.block_on(async {
                            for send in 0..sends {
                                let event = Arc::new(SharedEvent { _send: send });
                                for f in &shared {
                                    let (f, event) = (f.clone(), event.clone());
                                    tokio::spawn(async move { f(&event) });
                                }
                            }
                            done.wait().await;
                        })
                    })
                }),
            ));
        }
        if fanout > 1 {
            let (closures, done) = (closures.clone(), done.clone());
            samplers.push((
                "floor_one_task",
                Box::new(move || {
                    done.expect(calls);
                    time_per_op(calls, || {
                        runtime.block_on(async {
                            for _ in 0..sends {
                                let closures = closures.clone();
                                tokio::spawn(async move {
                                    for f in closures.iter() {
                                        f();
                                    }
                                });
                            }
                            done.wait().await;
                        })
                    })
                }),
            ));
        }
        let done3 = done.clone();
        samplers.push((
            "tokio_broadcast",
            Box::new(move || {
                done3.expect(calls);
                time_per_op(calls, || {
                    runtime.block_on(async {
                        let (tx, _) =
                            tokio::sync::broadcast::channel::<()>(sends.next_power_of_two().max(2));
                        let mut receivers = Vec::with_capacity(fanout);
                        for _ in 0..fanout {
                            let mut rx = tx.subscribe();
                            let done = done3.clone();
                            receivers.push(tokio::spawn(async move {
                                while rx.recv().await.is_ok() {
                                    done.hit();
                                }
                            }));
                        }
                        for _ in 0..sends {
                            tx.send(()).unwrap();
                        }
                        done3.wait().await;
                        drop(tx);
                        for r in receivers {
                            r.await.unwrap();
                        }
                    })
                })
            }),
        ));
    }
    if kind == Kind::Inline {
        let slots: signals2::Signal<()> = signals2::Signal::new();
        for _ in 0..fanout {
            let done = done.clone();
            slots.connect(move || done.hit());
        }
        let done4 = done.clone();
        samplers.push((
            "signals2",
            Box::new(move || {
                done4.expect(calls);
                time_per_op(calls, || {
                    for _ in 0..sends {
                        slots.emit();
                    }
                })
            }),
        ));
    }
    // async-event-emitter runs a send's listeners inside the emitting task
    // (`join_all`), spawning nothing: the same work as our inline mode, and
    // only that.
    if kind == Kind::Inline {
        let emitter = AsyncEventEmitter::new();
        for _ in 0..fanout {
            let done = done.clone();
            emitter.on("event", move |_: ()| {
                let done = done.clone();
                async move { done.hit() }
            });
        }
        let done5 = done.clone();
        samplers.push((
            "async_event_emitter",
            Box::new(move || {
                done5.expect(calls);
                time_per_op(calls, || {
                    runtime.block_on(async {
                        for _ in 0..sends {
                            emitter.emit("event", ()).await.unwrap();
                        }
                    })
                })
            }),
        ));
    }
    let results = interleave(rounds, samplers);
    assert!(done.runs() >= calls, "the last sample ran every callback");
    results
}
