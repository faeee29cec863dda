//! The same behaviours on a second runtime: smol's `async-executor`.
#![cfg(feature = "smol")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_executor::Executor;
use signal_dispatch::{Event, Failure, Filter, Mode, Signal, weak};

/// Runs `test` on a fresh executor, driven on this thread.
fn on_smol<T>(test: impl FnOnce(Arc<Executor<'static>>) -> T) -> T {
    test(Arc::new(Executor::new()))
}

#[test]
fn schedule_filter_and_dedup_run_on_smol() {
    on_smol(|executor| {
        let signal: Signal = Signal::builder(()).spawner(executor.clone()).build();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        signal.connect_filtered(Filter::new().keys(["a", "b"]), move |_: Event| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(signal.send().keys(["a", "b"]).schedule().unwrap(), 1);
        futures::executor::block_on(executor.run(signal.drained()));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn every_mode_awaits_on_smol() {
    on_smol(|executor| {
        for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
            let signal: Signal<(), String, u8> = Signal::builder(())
                .mode(mode)
                .spawner(executor.clone())
                .build();
            signal.connect(|_: Event<(), String, u8>| 1);
            signal.connect(|_: Event<(), String, u8>| async { 2 });
            let report = futures::executor::block_on(executor.run(signal.send().wait())).unwrap();
            assert_eq!(report.fold(0, |a, b| a + b), 3, "{mode:?}");
        }
    });
}

#[test]
fn failures_weak_owners_and_once_on_smol() {
    on_smol(|executor| {
        let failures = Arc::new(Mutex::new(Vec::new()));
        let f = failures.clone();
        let signal: Signal = Signal::builder(())
            .spawner(executor.clone())
            .on_error(move |failure: &Failure| f.lock().unwrap().push(failure.to_string()))
            .build();
        struct Owner;
        let owner = Arc::new(Owner);
        signal.connect(weak(&owner, |_: &Owner, _: Event| {}));
        signal.connect(|_: Event| -> Result<(), &'static str> { Err("smol error") });
        signal.connect_once(|_: Event| {});
        assert_eq!(signal.send().schedule().unwrap(), 3);
        drop(owner);
        futures::executor::block_on(executor.run(signal.drained()));
        assert_eq!(
            signal.send().schedule().unwrap(),
            1,
            "owner dead, once spent"
        );
        futures::executor::block_on(executor.run(signal.drained()));
        assert_eq!(failures.lock().unwrap().len(), 2);
    });
}
