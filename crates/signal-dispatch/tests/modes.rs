//! Dispatch modes: spawned, batched and inline.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::ThreadId;

use signal_dispatch::{Event, Mode, SendError, Signal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_callbacks_run_in_parallel() {
    // Two callbacks that each wait for the other: only possible if they run
    // at the same time, on two workers.
    let signal: Signal = Signal::new();
    let barrier = Arc::new(Barrier::new(2));
    for _ in 0..2 {
        let b = barrier.clone();
        signal.connect(move |_: Event| {
            b.wait();
        });
    }
    let report = tokio::time::timeout(common::PATIENCE, signal.send().wait())
        .await
        .expect("the two callbacks met")
        .unwrap();
    assert_eq!(report.completed(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_runs_a_sends_callbacks_in_one_task() {
    let signal: Signal = Signal::builder(()).mode(Mode::Batched).build();
    let threads: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    let order: Arc<Mutex<Vec<usize>>> = Arc::default();
    for i in 0..100 {
        let (t, o) = (threads.clone(), order.clone());
        signal.connect(move |_: Event| {
            t.lock().unwrap().push(std::thread::current().id());
            o.lock().unwrap().push(i);
        });
    }
    assert_eq!(signal.send().schedule().unwrap(), 100);
    signal.drained().await;
    let threads = threads.lock().unwrap();
    assert_eq!(threads.len(), 100);
    assert!(
        threads.iter().all(|t| *t == threads[0]),
        "one task, one thread"
    );
    // Sync callbacks of one batch run one after another, never overlapping.
    assert_eq!(order.lock().unwrap().len(), 100);
}

#[tokio::test(flavor = "current_thread")]
async fn batched_async_callbacks_run_concurrently_within_the_batch() {
    let signal: Signal = Signal::builder(()).mode(Mode::Batched).build();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let rx2 = rx.clone();
    // The first waits for the second to flip the flag: a sequential batch
    // would hang.
    signal.connect(move |_: Event| {
        let mut rx = rx2.clone();
        async move {
            rx.wait_for(|flag| *flag).await.unwrap();
        }
    });
    let tx = Arc::new(tx);
    signal.connect(move |_: Event| {
        let tx = tx.clone();
        async move {
            tx.send(true).unwrap();
        }
    });
    let report = tokio::time::timeout(common::PATIENCE, signal.send().wait())
        .await
        .expect("no deadlock within the batch")
        .unwrap();
    assert!(report.is_success());
    drop(rx);
}

#[test]
fn inline_runs_in_the_awaiting_task_without_any_runtime() {
    let signal: Signal<(), String, ThreadId> = Signal::builder(()).mode(Mode::Inline).build();
    signal.connect(|_: Event<(), String, ThreadId>| std::thread::current().id());
    signal.connect(|_: Event<(), String, ThreadId>| async { std::thread::current().id() });
    let report = futures::executor::block_on(signal.send().wait()).unwrap();
    let here = std::thread::current().id();
    assert_eq!(report.values(), [here, here]);
}

#[test]
fn scheduling_an_inline_send_is_an_error_that_returns_the_send() {
    let signal: Signal<u8> = Signal::builder(0).mode(Mode::Inline).build();
    signal.connect(|_: Event<u8>| {});
    let error = signal.send().args(4).key("k").schedule().unwrap_err();
    assert!(matches!(error, SendError::InlineNotAwaited(_)));
    let unsent = error.into_unsent().unwrap();
    assert_eq!(
        (unsent.args(), unsent.keys()),
        (Some(&4), &["k".to_string()][..])
    );
}

#[tokio::test]
async fn a_send_overrides_the_signals_mode() {
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    signal.connect(move |_: Event| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(signal.send().mode(Mode::Batched).schedule().unwrap(), 1);
    assert_eq!(signal.send().mode(Mode::Spawned).schedule().unwrap(), 1);
    signal.drained().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_batch_spares_the_rest_of_the_batch() {
    let failures = Arc::new(AtomicUsize::new(0));
    let f = failures.clone();
    let signal: Signal = Signal::builder(())
        .mode(Mode::Batched)
        .on_error(move |_: &signal_dispatch::Failure| {
            f.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    let runs = Arc::new(AtomicUsize::new(0));
    for i in 0..20 {
        let r = runs.clone();
        signal.connect(move |_: Event| {
            assert_ne!(i, 7, "callback 7 panics");
            r.fetch_add(1, Ordering::SeqCst);
        });
    }
    signal.send().schedule().unwrap();
    signal.drained().await;
    assert_eq!(runs.load(Ordering::SeqCst), 19);
    assert_eq!(failures.load(Ordering::SeqCst), 1);
}

/// A send naming no key runs from a snapshot of the unfiltered
/// connections, in every mode: it must still honour blocks,
/// once-connections, dead owners and subscriptions, and follow connects and
/// disconnects at once.
#[tokio::test(flavor = "current_thread")]
async fn spawned_unfiltered_sends_follow_every_change_of_connections() {
    unfiltered_sends_follow_every_change_of_connections(Mode::Spawned).await;
}

#[tokio::test(flavor = "current_thread")]
async fn batched_unfiltered_sends_follow_every_change_of_connections() {
    unfiltered_sends_follow_every_change_of_connections(Mode::Batched).await;
}

#[tokio::test(flavor = "current_thread")]
async fn inline_unfiltered_sends_follow_every_change_of_connections() {
    unfiltered_sends_follow_every_change_of_connections(Mode::Inline).await;
}

/// One unfiltered send in `mode`: how many it reached.
async fn send(signal: &Signal, mode: Mode) -> usize {
    match mode {
        Mode::Inline => signal.send().wait().await.unwrap().scheduled(),
        _ => signal.send().schedule().unwrap(),
    }
}

async fn unfiltered_sends_follow_every_change_of_connections(mode: Mode) {
    use signal_dispatch::{Filter, weak};
    use std::num::NonZeroUsize;

    let signal: Signal = Signal::builder(()).mode(mode).build();
    let recorder = common::Recorder::new();
    let r = recorder.clone();
    let steady = signal.connect(move |_: Event| r.record("steady"));
    assert_eq!(send(&signal, mode).await, 1);
    assert_eq!(recorder.settle(1).await, ["steady"]);
    recorder.clear();

    // A new connection is in the very next send (the snapshot is rebuilt).
    let r = recorder.clone();
    signal.connect_once(move |_: Event| r.record("once"));
    let owner = Arc::new(());
    let r = recorder.clone();
    signal.connect(weak(&owner, move |_: &(), _: Event| r.record("weak")));
    let mut events = signal.subscribe(Filter::new(), NonZeroUsize::new(4).unwrap());
    assert_eq!(send(&signal, mode).await, 4);
    assert_eq!(recorder.settle(3).await, ["once", "steady", "weak"]);
    recorder.clear();
    assert!(futures::StreamExt::next(&mut events).await.is_some());

    // The once-connection is gone, the dead owner is skipped, a blocked
    // connection is skipped: all state the snapshot doesn't hold.
    drop(owner);
    let block = steady.block();
    assert_eq!(send(&signal, mode).await, 1, "only the subscription");
    drop(block);
    assert_eq!(send(&signal, mode).await, 2);
    assert_eq!(recorder.settle(1).await, ["steady"]);

    // A disconnected callback is dropped at once, though a snapshot held it.
    let (counter, token) = common::DropCounter::new();
    let extra = signal.connect(move |_: Event| {
        let _captured = &counter;
    });
    assert_eq!(send(&signal, mode).await, 3);
    signal.drained().await;
    extra.disconnect();
    assert_eq!(
        common::alive(&token),
        0,
        "the callback's captures were dropped"
    );
    assert_eq!(send(&signal, mode).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_callbacks_among_strong_ones_get_their_owners_wherever_they_are() {
    // Sends run the strong callbacks at the head of a snapshot in a loop of
    // their own, and the rest (from the first that has an owner) through
    // the general one: a weak method at any place must get its owner, and
    // every callback run once.
    use signal_dispatch::weak;

    struct Owner(&'static str);
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        for place in 0..4 {
            let signal: Signal<(), String, ()> = Signal::builder(()).mode(mode).build();
            let recorder = common::Recorder::new();
            let owner = Arc::new(Owner("weak"));
            let mut connections = Vec::new();
            for i in 0..4 {
                if i == place {
                    let r = recorder.clone();
                    let method = move |owner: &Owner, _: &Event| r.record(owner.0);
                    connections.push(signal.connect(weak(&owner, method)));
                }
                let r = recorder.clone();
                connections.push(signal.connect(move |_: &Event| r.record("strong")));
            }
            let what = format!("{mode:?}, weak at {place}");
            let report = signal.send().wait().await.unwrap();
            assert_eq!(report.failures().len(), 0, "{what}");
            let mut expected = vec!["strong"; 4];
            expected.push("weak");
            assert_eq!(recorder.settle(5).await, expected, "{what}");
            recorder.clear();
            drop(owner);
            assert_eq!(send(&signal, mode).await, 4, "{what}");
            assert_eq!(recorder.settle(4).await, ["strong"; 4], "{what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_and_sender_sends_admit_each_kind_of_connection() {
    // A keyed or sender send whose callbacks are all strong and persistent
    // runs them straight from the selection; any other kind among them (a
    // once-connection, a weak method, a subscription, a blocked one) must
    // still be claimed, bound, fed or skipped.
    use futures::FutureExt;
    use signal_dispatch::{Filter, weak};
    use std::num::NonZeroUsize;

    struct Owner;
    let mike = Arc::new("Mike");
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        for by_sender in [false, true] {
            let signal: Signal = Signal::builder(()).mode(mode).build();
            let filter = || match by_sender {
                true => Filter::new().sender(&mike),
                false => Filter::new().key("k"),
            };
            let send = || async {
                let send = match by_sender {
                    true => signal.send().sender(&mike),
                    false => signal.send().key("k"),
                };
                match mode {
                    Mode::Inline => send.wait().await.unwrap().scheduled(),
                    _ => send.schedule().unwrap(),
                }
            };
            let recorder = common::Recorder::new();
            let r = recorder.clone();
            let plain = signal.connect_filtered(filter(), move |_: &Event| r.record("plain"));
            let r = recorder.clone();
            signal.connect_once_filtered(filter(), move |_: &Event| r.record("once"));
            let what = format!("{mode:?}, by sender: {by_sender}");
            // The once-connection runs for the first send only.
            assert_eq!(send().await, 2, "{what}");
            assert_eq!(recorder.settle(2).await, ["once", "plain"], "{what}");
            recorder.clear();
            assert_eq!(send().await, 1, "{what}");
            assert_eq!(recorder.settle(1).await, ["plain"], "{what}");
            recorder.clear();
            // A blocked one is skipped, strong or not.
            let block = plain.block();
            assert_eq!(send().await, 0, "{what}");
            drop(block);
            // A weak method runs while its owner lives.
            let owner = Arc::new(Owner);
            let r = recorder.clone();
            signal.connect_filtered(
                filter(),
                weak(&owner, move |_: &Owner, _: &Event| r.record("weak")),
            );
            assert_eq!(send().await, 2, "{what}");
            assert_eq!(recorder.settle(2).await, ["plain", "weak"], "{what}");
            recorder.clear();
            drop(owner);
            assert_eq!(send().await, 1, "{what}");
            assert_eq!(recorder.settle(1).await, ["plain"], "{what}");
            recorder.clear();
            // A subscription is fed the event.
            let mut events = signal.subscribe(filter(), NonZeroUsize::new(4).unwrap());
            assert_eq!(send().await, 2, "{what}");
            assert_eq!(recorder.settle(1).await, ["plain"], "{what}");
            recorder.clear();
            // Fed at send time, so it is there already.
            let fed = futures::StreamExt::next(&mut events).now_or_never();
            assert!(matches!(fed, Some(Some(_))), "{what}");
        }
    }
}

#[tokio::test]
async fn a_snapshot_of_strong_callbacks_still_checks_each_ones_state() {
    // Strong callbacks only: sends check each one's state in a single
    // look; a blocked one anywhere in the snapshot is still skipped.
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal = Signal::builder(()).mode(mode).build();
        let recorder = common::Recorder::new();
        let connections: Vec<_> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|name| {
                let r = recorder.clone();
                signal.connect(move |_: &Event| r.record(name))
            })
            .collect();
        for (blocked, connection) in connections.iter().enumerate() {
            let block = connection.block();
            assert_eq!(send(&signal, mode).await, 3, "{mode:?}, {blocked} blocked");
            let mut expected = vec!["a", "b", "c", "d"];
            expected.remove(blocked);
            assert_eq!(recorder.settle(3).await, expected, "{mode:?}");
            recorder.clear();
            drop(block);
        }
        assert_eq!(send(&signal, mode).await, 4, "{mode:?}");
        assert_eq!(recorder.settle(4).await, ["a", "b", "c", "d"], "{mode:?}");
        recorder.clear();
    }
}
