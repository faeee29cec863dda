//! Calling a send synchronously (`SendBuilder::call`): callbacks run before
//! it returns, with no runtime and no `.await`; async ones that must wait
//! go on running on the signal's executor, or are dropped if it has none.

mod common;

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use signal_dispatch::{Event, Failure, Filter, Mode, SendError, Signal};

use common::{DropCounter, alive};

type Quote = Event<(), String, u32>;

/// A future that stays pending until it has been polled `polls` times,
/// waking itself each time: it finishes only on an executor that polls it
/// again.
struct PendingFor {
    polls: usize,
}

impl Future for PendingFor {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polls == 0 {
            return Poll::Ready(());
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn must_not_run() {
    panic!("must not run")
}

#[test]
fn sync_callbacks_have_run_when_call_returns_with_no_runtime_at_all() {
    let signal: Signal<(), String, u32> = Signal::new();
    let ran = Arc::new(AtomicUsize::new(0));
    for n in 1..=3 {
        let ran = ran.clone();
        signal.connect(move |_: &Quote| {
            ran.fetch_add(1, Ordering::SeqCst);
            n
        });
    }
    let report = signal.send().call().unwrap();
    // Before anything else runs: there is nothing else to run them.
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    assert_eq!(report.scheduled(), 3);
    assert!(report.is_success());
    let mut values = report.into_values();
    values.sort();
    assert_eq!(values, [1, 2, 3]);
    assert_eq!(signal.in_flight(), 0);
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.scheduled, stats.completed), (1, 3, 3));
}

#[test]
fn call_runs_inline_whatever_the_mode() {
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal<(), String, u32> = Signal::builder(()).mode(mode).build();
        signal.connect(|_: Quote| 7);
        let report = signal.send().mode(mode).call().unwrap();
        assert_eq!(report.values(), [7], "{mode:?}");
    }
}

#[test]
fn call_routes_by_key_and_sender_and_runs_each_callback_once() {
    let signal: Signal = Signal::new();
    let ashley = Arc::new("Ashley");
    let runs = Arc::new(Mutex::new(Vec::new()));
    let record = |name: &'static str| {
        let runs = runs.clone();
        move |_: &Event| runs.lock().unwrap().push(name)
    };
    signal.connect_filtered(Filter::new().key("books").sender(&ashley), record("both"));
    signal.connect_filtered(Filter::new().key("books"), record("books"));
    signal.connect_filtered(Filter::new().key("films"), record("films"));
    signal.connect(record("everyone"));

    let report = signal.send().key("books").sender(&ashley).call().unwrap();
    assert_eq!(report.scheduled(), 3);
    let mut ran = runs.lock().unwrap().clone();
    ran.sort();
    assert_eq!(ran, ["books", "both", "everyone"]);
}

#[test]
fn callbacks_see_the_sends_keys_senders_and_arguments() {
    #[derive(Clone, Default)]
    struct Args {
        text: String,
        level: u8,
    }
    let signal: Signal<Args> = Signal::new();
    let me = Arc::new(5_u32);
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    signal.connect(move |event: &Event<Args>| {
        *s.lock().unwrap() = Some((
            event.keys().to_vec(),
            event.sender::<u32>().map(|sender| *sender),
            event.args().text.clone(),
            event.args().level,
        ));
    });
    signal
        .send()
        .key("a")
        .sender(&me)
        .with(|args| args.text = "hi".into())
        .call()
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().take(),
        Some((vec!["a".to_string()], Some(5), "hi".to_string(), 0))
    );
}

#[test]
fn failures_go_to_the_report_and_the_other_callbacks_still_run() {
    let hooked = Arc::new(AtomicUsize::new(0));
    let h = hooked.clone();
    let signal: Signal<(), String, u32> = Signal::builder(())
        .on_error(move |_: &Failure| {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    signal.connect(|_: Quote| 1);
    let boom = signal.connect(|_: Quote| -> u32 { panic!("boom") });
    let refused = signal.connect(|_: Quote| Err::<u32, _>("refused"));
    signal.connect(|_: Quote| 2);

    let report = signal.send().call().unwrap();
    assert!(report.is_complete());
    assert!(!report.is_success());
    let mut values = report.values().to_vec();
    values.sort();
    assert_eq!(values, [1, 2]);
    let mut failed: Vec<_> = report.failures().iter().map(Failure::connection).collect();
    failed.sort();
    assert_eq!(failed, [boom.id(), refused.id()]);
    assert_eq!(hooked.load(Ordering::SeqCst), 0);
    assert_eq!(signal.stats().failed, 2);
}

#[test]
fn an_async_callback_that_needs_no_waiting_finishes_within_the_call() {
    let signal: Signal<(), String, u32> = Signal::new();
    signal.connect(|_: Quote| async { 3 });
    signal.connect(|_: Quote| async { Err::<u32, _>("late refusal") });
    let report = signal.send().call().unwrap();
    assert!(report.is_complete());
    assert_eq!(report.values(), [3]);
    assert_eq!(report.failures().len(), 1);
    assert!(report.pending().is_empty());
    assert_eq!(signal.in_flight(), 0);
}

#[test]
fn without_an_executor_an_async_callback_that_must_wait_is_dropped_and_named_pending() {
    // No runtime here: the callback's future cannot go on anywhere.
    let signal: Signal<(), String, u32> = Signal::new();
    let (counter, token) = DropCounter::new();
    let counter = Arc::new(counter);
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let waiting = signal.connect(move |_: Quote| {
        let (counter, finished) = (counter.clone(), f.clone());
        async move {
            PendingFor { polls: 1 }.await;
            finished.fetch_add(1, Ordering::SeqCst);
            drop(counter);
            1
        }
    });
    signal.connect(|_: Quote| 2);

    let report = signal.send().call().unwrap();
    assert_eq!(report.scheduled(), 2);
    assert_eq!(report.values(), [2]);
    assert_eq!(report.pending(), [waiting.id()]);
    assert!(!report.is_complete());
    // Dropped, not run on: only the connection's own capture is alive.
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert_eq!(alive(&token), 1);
    // Settled as never run: nothing is left in flight.
    assert_eq!(signal.in_flight(), 0);
    assert_eq!(signal.stats().completed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_callback_that_must_wait_goes_on_running_on_the_executor() {
    let signal: Signal<(), String, u32> = Signal::new();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let waiting = signal.connect(move |_: Quote| {
        let (released, finished) = (released.lock().unwrap().take(), f.clone());
        async move {
            if let Some(released) = released {
                released.await.unwrap();
            }
            finished.fetch_add(1, Ordering::SeqCst);
            1
        }
    });
    signal.connect(|_: Quote| 2);

    let report = signal.send().call().unwrap();
    assert_eq!(report.values(), [2]);
    assert_eq!(report.pending(), [waiting.id()]);
    assert_eq!(signal.in_flight(), 1);

    release.send(()).unwrap();
    tokio::time::timeout(common::PATIENCE, signal.drained())
        .await
        .expect("the handed-on callback never finished");
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(signal.stats().completed, 2);
}

#[tokio::test]
async fn a_handed_on_callback_that_fails_goes_to_the_error_hook() {
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let h = hooked.clone();
    let signal: Signal<(), String, u32> = Signal::builder(())
        .on_error(move |failure: &Failure| h.lock().unwrap().push(failure.connection()))
        .build();
    let late = signal.connect(|_: Quote| async {
        PendingFor { polls: 3 }.await;
        Err::<u32, _>("refused later")
    });
    let report = signal.send().call().unwrap();
    assert_eq!(report.pending(), [late.id()]);
    assert!(report.failures().is_empty());
    tokio::time::timeout(common::PATIENCE, signal.drained())
        .await
        .unwrap();
    assert_eq!(*hooked.lock().unwrap(), [late.id()]);
}

#[test]
fn a_closed_signal_refuses_the_call_and_gives_the_send_back() {
    let signal: Signal<u32> = Signal::new();
    signal.connect(|_: &Event<u32>| must_not_run());
    signal.close();
    let err = signal.send().key("k").args(9).call().unwrap_err();
    assert!(matches!(err, SendError::Closed(_)));
    let unsent = err.into_unsent().unwrap();
    assert_eq!(
        (unsent.args(), unsent.keys()),
        (Some(&9), &["k".to_string()][..])
    );
}

#[test]
fn a_blocked_signal_calls_nothing() {
    let signal: Signal = Signal::new();
    signal.connect(|_: &Event| must_not_run());
    let guard = signal.block();
    assert_eq!(signal.send().call().unwrap().scheduled(), 0);
    drop(guard);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    signal.connect(move |_: &Event| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    // Unblocked, the panicking callback runs too: isolated, reported.
    let report = signal.send().call().unwrap();
    assert_eq!(report.scheduled(), 2);
    assert_eq!(report.failures().len(), 1);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn with_an_in_flight_limit_a_call_runs_whole_or_not_at_all() {
    let signal: Signal<(), String, u32> = Signal::builder(())
        .max_in_flight(NonZeroUsize::new(2).unwrap())
        .build();
    let ran = Arc::new(AtomicUsize::new(0));
    for n in 0..2 {
        let ran = ran.clone();
        signal.connect_filtered(Filter::new().key("two"), move |_: Quote| {
            ran.fetch_add(1, Ordering::SeqCst);
            n
        });
    }
    // Room for both: they run, and give their room back.
    for _ in 0..3 {
        assert_eq!(signal.send().key("two").call().unwrap().completed(), 2);
    }
    assert_eq!(ran.load(Ordering::SeqCst), 6);

    // One more on the key: three callbacks, room for two. None runs.
    let r = ran.clone();
    signal.connect_filtered(Filter::new().key("two"), move |_: Quote| {
        r.fetch_add(1, Ordering::SeqCst);
        9
    });
    let err = signal.send().key("two").args(()).call().unwrap_err();
    assert!(matches!(err, SendError::Full(_)));
    assert_eq!(err.into_unsent().unwrap().keys(), ["two"]);
    assert_eq!(ran.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn an_async_callback_handed_on_keeps_its_room_until_it_finishes() {
    let signal: Signal<(), String, u32> = Signal::builder(())
        .max_in_flight(NonZeroUsize::new(1).unwrap())
        .build();
    signal.connect(|_: Quote| async {
        PendingFor { polls: 2 }.await;
        1
    });
    let report = signal.send().call().unwrap();
    assert_eq!(report.pending().len(), 1);
    // Its permit went with it: no room until it has finished.
    assert!(matches!(
        signal.send().call().unwrap_err(),
        SendError::Full(_)
    ));
    tokio::time::timeout(common::PATIENCE, signal.drained())
        .await
        .unwrap();
    assert_eq!(signal.send().call().unwrap().pending().len(), 1);
}

#[test]
fn a_once_connection_is_claimed_by_a_call() {
    let signal: Signal<(), String, u32> = Signal::new();
    signal.connect_once(|_: Quote| 1);
    assert_eq!(signal.send().call().unwrap().values(), [1]);
    assert!(signal.send().call().unwrap().values().is_empty());
    assert!(signal.is_empty());
}

#[test]
fn subscriptions_receive_the_event_of_a_call() {
    use futures::StreamExt;

    let signal: Signal<u32> = Signal::new();
    let mut events = signal.subscribe(Filter::new(), NonZeroUsize::new(4).unwrap());
    let report = signal.send().args(4).call().unwrap();
    assert_eq!((report.scheduled(), report.completed()), (1, 1));
    let event = futures::executor::block_on(events.next()).unwrap().unwrap();
    assert_eq!(*event.args(), 4);
}

#[test]
fn a_callback_may_call_its_own_signal() {
    let signal: Signal<u32> = Signal::new();
    let depth = Arc::new(AtomicUsize::new(0));
    let d = depth.clone();
    signal.connect(move |event: &Event<u32>| {
        d.fetch_add(1, Ordering::SeqCst);
        let level = *event.args();
        if level < 3 {
            event.signal().send().args(level + 1).call().unwrap();
        }
    });
    signal.send().args(0).call().unwrap();
    assert_eq!(depth.load(Ordering::SeqCst), 4);
}

#[test]
fn a_callback_whose_owner_died_is_neither_called_nor_counted() {
    struct Owner;
    impl Owner {
        fn heard(&self, _: &Event) {}
    }
    let signal: Signal = Signal::new();
    let owner = Arc::new(Owner);
    signal.connect(signal_dispatch::weak(&owner, Owner::heard));
    assert_eq!(signal.send().call().unwrap().scheduled(), 1);
    drop(owner);
    assert_eq!(signal.send().call().unwrap().scheduled(), 0);
}

/// A value with nothing in it that is not `()`: kept one by one, where
/// `()` values are counted by the loop that makes the calls.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Token;

/// Connects `ok + err + panicking` callbacks to `signal`, interleaved,
/// returning `value` or failing; borrowing the event (the lent loop), or
/// taking it by value (the planned one).
fn connect_mixed<R: Copy + Send + Sync + 'static>(
    signal: &Signal<(), String, R>,
    value: R,
    borrowing: bool,
) {
    for i in 0..9 {
        let outcome = move || -> Result<R, &'static str> {
            match i % 3 {
                0 => Ok(value),
                1 => Err("refused"),
                _ => panic!("broke"),
            }
        };
        if borrowing {
            signal.connect(move |_: &Event<(), String, R>| outcome());
        } else {
            signal.connect(move |_: Event<(), String, R>| outcome());
        }
    }
}

#[tokio::test]
async fn a_report_keeps_every_value_among_failures_whatever_the_value_type() {
    async fn check<R: Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static>(value: R) {
        for borrowing in [true, false] {
            let signal: Signal<(), String, R> = Signal::builder(()).mode(Mode::Inline).build();
            connect_mixed(&signal, value, borrowing);
            let called = signal.send().call().unwrap();
            let awaited = signal.send().wait().await.unwrap();
            // A send naming its mode is lent the event out of the wait's
            // poll, on another path.
            let spawning: Signal<(), String, R> = Signal::builder(()).mode(Mode::Spawned).build();
            connect_mixed(&spawning, value, borrowing);
            let named_inline = spawning.send().mode(Mode::Inline).wait().await.unwrap();
            for report in [called, awaited, named_inline] {
                assert_eq!(report.scheduled(), 9, "borrowing: {borrowing}");
                assert_eq!(report.values(), [value; 3], "borrowing: {borrowing}");
                assert_eq!(report.failures().len(), 6, "borrowing: {borrowing}");
                assert_eq!(report.completed(), 9, "borrowing: {borrowing}");
            }
        }
    }
    check(()).await;
    check(Token).await;
    check(5_u8).await;
}
