//! Connecting every kind of callable, and what connections hold.

mod common;

use std::sync::Arc;

use common::{DropCounter, Recorder, alive};
use signal_dispatch::{Connection, Event, Filter, Signal, weak};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_handles_are_send_and_sync() {
    assert_send_sync::<Signal>();
    assert_send_sync::<Signal<Vec<u8>, u64>>();
    assert_send_sync::<Connection>();
    assert_send_sync::<Event<String>>();
    assert_send_sync::<Filter>();
    assert_send_sync::<signal_dispatch::ConnectionGuard>();
    assert_send_sync::<signal_dispatch::WeakSignal>();
    assert_send_sync::<signal_dispatch::Failure>();
    assert_send_sync::<signal_dispatch::SendError>();
}

struct Owner {
    recorder: Recorder,
}

impl Owner {
    fn by_ref(&self, _: Event) {
        self.recorder.record("weak &self");
    }

    fn by_arc(self: Arc<Self>, _: Event) {
        self.recorder.record("weak Arc<Self>");
    }

    async fn by_arc_async(self: Arc<Self>, _: Event) {
        tokio::task::yield_now().await;
        self.recorder.record("weak async");
    }

    fn fallible(&self, _: Event) -> Result<(), std::io::Error> {
        self.recorder.record("weak fallible");
        Ok(())
    }

    fn borrowing(&self, event: &Event) {
        self.recorder
            .record(format!("weak borrowing {:?}", event.keys()));
    }
}

static ASYNC_CLOSURE_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_callable_connects_and_runs_once() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let owner = Arc::new(Owner {
        recorder: recorder.clone(),
    });

    let r = recorder.clone();
    signal.connect(move |_: Event| r.record("closure"));
    let r = recorder.clone();
    signal.connect(move |_: Event| -> Result<(), String> {
        r.record("fallible closure");
        Ok(())
    });
    let r = recorder.clone();
    signal.connect(move |_: Event| {
        let r = r.clone();
        async move { r.record("closure returning a future") }
    });
    // An async closure that captures nothing is `Fn`: it connects as is.
    signal.connect(async |_: Event| {
        ASYNC_CLOSURE_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    signal.connect(weak(&owner, Owner::by_ref));
    signal.connect(weak(&owner, Owner::by_arc));
    signal.connect(weak(&owner, Owner::by_arc_async));
    signal.connect(weak(&owner, Owner::fallible));
    let r = recorder.clone();
    signal.connect(move |event: &Event| r.record(format!("borrowing {:?}", event.keys())));
    signal.connect(weak(&owner, Owner::borrowing));
    assert_eq!(signal.len(), 10);

    assert_eq!(signal.send().schedule().unwrap(), 10);
    let runs = recorder.settle(9).await;
    assert_eq!(
        ASYNC_CLOSURE_RUNS.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(
        runs,
        [
            "borrowing []",
            "closure",
            "closure returning a future",
            "fallible closure",
            "weak &self",
            "weak Arc<Self>",
            "weak async",
            "weak borrowing []",
            "weak fallible",
        ]
    );
}

static FN_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn plain_function(_: Event<u8>) {
    FN_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

async fn async_function(_: Event<u8>) {
    FN_RUNS.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_async_functions_connect_by_name() {
    let signal: Signal<u8> = Signal::new();
    signal.connect(plain_function);
    signal.connect(async_function);
    assert_eq!(signal.send().schedule().unwrap(), 2);
    tokio::time::timeout(common::PATIENCE, async {
        while FN_RUNS.load(std::sync::atomic::Ordering::SeqCst) != 11 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("both functions run");
}

#[tokio::test]
async fn connecting_the_same_callable_twice_makes_two_connections() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let r = recorder.clone();
    let callback = move |_: Event| r.record("x");
    let a = signal.connect(callback.clone());
    let b = signal.connect(callback);
    assert_ne!(a.id(), b.id());
    assert_eq!(signal.send().schedule().unwrap(), 2);
    recorder.wait(2).await;
}

#[tokio::test]
async fn strong_connections_keep_their_captures_alive_until_disconnected() {
    let signal: Signal = Signal::new();
    let (counter, token) = DropCounter::new();
    let connection = signal.connect(move |_: Event| {
        let _keep = &counter;
    });
    assert_eq!(alive(&token), 1);
    assert_eq!(signal.send().schedule().unwrap(), 1);
    tokio::task::yield_now().await;
    assert_eq!(alive(&token), 1, "a strong connection keeps its captures");
    assert!(connection.disconnect());
    tokio::task::yield_now().await;
    assert_eq!(alive(&token), 0, "disconnecting drops the captures");
}

#[test]
fn dropping_the_signal_drops_its_callbacks() {
    let signal: Signal = Signal::new();
    let (counter, token) = DropCounter::new();
    let connection = signal.connect(move |_: Event| {
        let _keep = &counter;
    });
    drop(signal);
    assert_eq!(alive(&token), 0);
    assert!(!connection.is_connected());
    assert!(!connection.disconnect());
}

#[test]
fn connections_are_counted_and_debug_prints_no_closure() {
    let signal: Signal<(), String> = Signal::builder(()).name("updates").build();
    let connection = signal.connect(|_: Event| {});
    assert_eq!(signal.len(), 1);
    let shown = format!("{signal:?} {connection:?}");
    assert!(shown.contains("updates"), "{shown}");
    assert!(shown.contains("connections: 1"), "{shown}");
    assert!(shown.contains("connected: true"), "{shown}");
}

#[test]
fn signals_compare_by_identity() {
    let a: Signal = Signal::new();
    let b: Signal = Signal::new();
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
    let set: std::collections::HashSet<Signal> = [a.clone(), a.clone(), b].into_iter().collect();
    assert_eq!(set.len(), 2);
}

/// A handler borrowing the event sees what a by-value one sees, in every
/// mode, and may clone the event to keep it past the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowing_handler_sees_the_event_and_may_keep_a_clone() {
    use signal_dispatch::Mode;
    use std::sync::Mutex;

    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal<u8, String, u8> = Signal::builder(1).mode(mode).build();
        let kept: Arc<Mutex<Vec<Event<u8, String, u8>>>> = Arc::default();
        let k = kept.clone();
        signal.connect_filtered(
            Filter::new().key("k"),
            move |event: &Event<u8, String, u8>| {
                k.lock().unwrap().push(event.clone());
                *event.args() + 1
            },
        );
        signal.connect(|event: &Event<u8, String, u8>| -> Result<u8, String> {
            Err(format!("refused {}", event.args()))
        });
        let report = signal.send().key("k").args(7).wait().await.unwrap();
        assert_eq!(report.values(), [8], "{mode:?}");
        assert_eq!(report.failures().len(), 1, "{mode:?}");
        assert!(
            report.failures()[0].to_string().contains("refused 7"),
            "{mode:?}: {}",
            report.failures()[0]
        );
        // The kept event outlives the send and still reads its data.
        let kept = kept.lock().unwrap().pop().expect("one event kept");
        assert_eq!((*kept.args(), kept.keys()), (7, &["k".to_string()][..]));
        assert!(kept.signal() == &signal);
    }
}
