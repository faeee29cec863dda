//! Awaiting a send: reports of values, failures and pending callbacks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use signal_dispatch::{Event, Failure, Filter, Mode, Signal};

type Quote = Event<(), String, u32>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_collects_and_folds_the_values_callbacks_return() {
    let signal: Signal<(), String, u32> = Signal::new();
    for n in 1..=10 {
        signal.connect(move |_: Quote| n);
    }
    signal.connect(|_: Quote| async { 100 });
    let report = signal.send().wait().await.unwrap();
    assert_eq!(report.scheduled(), 11);
    assert!(report.is_success());
    let mut values = report.values().to_vec();
    values.sort();
    assert_eq!(values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]);
    assert_eq!(report.fold(0, |sum, n| sum + n), 155);
}

#[tokio::test]
async fn failures_of_an_awaited_send_go_to_the_report_not_the_hook() {
    let hooked = Arc::new(AtomicUsize::new(0));
    let h = hooked.clone();
    let signal: Signal<(), String, u8> = Signal::builder(())
        .on_error(move |_: &Failure| {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    let good = signal.connect(|_: Event<(), String, u8>| 1);
    let bad = signal.connect(|_: Event<(), String, u8>| Err::<u8, _>("refused"));
    let boom = signal.connect(|_: Event<(), String, u8>| -> u8 { panic!("boom") });
    let report = signal.send().wait().await.unwrap();
    assert!(report.is_complete());
    assert!(!report.is_success());
    assert_eq!(report.values(), [1]);
    let mut failed: Vec<_> = report
        .failures()
        .iter()
        .map(|f| (f.connection(), f.to_string()))
        .collect();
    failed.sort();
    let mut expected = vec![
        (bad.id(), "callback returned an error: refused".to_string()),
        (boom.id(), "callback panicked: boom".to_string()),
    ];
    expected.sort();
    assert_eq!(failed, expected);
    assert_ne!(good.id(), bad.id());
    assert_eq!(hooked.load(Ordering::SeqCst), 0);

    // The same failures in a fire-and-forget send reach the hook.
    signal.send().schedule().unwrap();
    signal.drained().await;
    assert_eq!(hooked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn wait_until_a_deadline_reports_the_callbacks_still_running() {
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal = Signal::builder(()).mode(mode).build();
        let slow = signal.connect(|_: Event| tokio::time::sleep(Duration::from_secs(30)));
        let quick = signal.connect(|_: Event| {});
        let report = signal
            .send()
            .wait_until(tokio::time::sleep(Duration::from_millis(30)))
            .await
            .unwrap();
        assert_eq!(report.scheduled(), 2, "{mode:?}");
        assert_eq!(report.completed(), 1, "{mode:?}");
        assert_eq!(report.pending(), [slow.id()], "{mode:?}");
        assert!(!report.is_complete(), "{mode:?}");
        assert_ne!(slow.id(), quick.id());
    }
}

#[tokio::test]
async fn every_mode_can_be_awaited_and_reports_the_same() {
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal<u32, String, u32> = Signal::builder(0).mode(mode).build();
        signal.connect(|event: Event<u32, String, u32>| *event.args() + 1);
        signal.connect(|event: Event<u32, String, u32>| {
            let n = *event.args();
            async move {
                tokio::task::yield_now().await;
                n + 2
            }
        });
        signal.connect_filtered(Filter::new().key("never"), |_: Event<u32, String, u32>| 99);
        let report = signal.send().args(10).wait().await.unwrap();
        let mut values = report.into_values();
        values.sort();
        assert_eq!(values, [11, 12], "{mode:?}");
    }
}

#[tokio::test]
async fn pending_callbacks_are_named_in_connection_order_on_every_path() {
    // Unfiltered sends run from the snapshot, keyed ones from a plan, and
    // limited ones take permits: each path names what its deadline cut off.
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        for (keyed, limited) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut builder = Signal::builder(()).mode(mode);
            if limited {
                builder = builder.max_in_flight(std::num::NonZeroUsize::new(8).unwrap());
            }
            let signal: Signal = builder.build();
            let filter = || {
                if keyed {
                    Filter::new().key("k")
                } else {
                    Filter::new()
                }
            };
            let sleep = |_: Event| tokio::time::sleep(Duration::from_secs(30));
            let first = signal.connect_filtered(filter(), sleep);
            signal.connect_filtered(filter(), |_: Event| {});
            let second = signal.connect_filtered(filter(), sleep);
            signal.connect_filtered(filter(), |_: Event| async {});
            let third = signal.connect_filtered(filter(), sleep);
            let mut send = signal.send();
            if keyed {
                send = send.key("k");
            }
            let report = send
                .wait_until(tokio::time::sleep(Duration::from_millis(30)))
                .await
                .unwrap();
            let case = format!("{mode:?}, keyed {keyed}, limited {limited}");
            assert_eq!((report.scheduled(), report.completed()), (5, 2), "{case}");
            assert_eq!(
                report.pending(),
                [first.id(), second.id(), third.id()],
                "{case}"
            );
        }
    }
}

#[test]
fn a_finished_wait_polled_again_panics_on_every_path() {
    use std::future::Future;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::task::{Context, Poll};

    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    let lent: Signal = Signal::builder(()).mode(Mode::Inline).build();
    lent.connect(|_: &Event| {});
    let unlent: Signal = Signal::builder(()).mode(Mode::Inline).build();
    unlent.connect(|_: Event| async {});
    let paths = [
        ("naming nothing, lent", lent.send()),
        ("naming nothing, not lent", unlent.send()),
        ("naming its mode", lent.send().mode(Mode::Inline)),
        ("naming a key", lent.send().key("k")),
    ];
    for (path, send) in paths {
        let mut wait = std::pin::pin!(send.wait());
        let Poll::Ready(report) = wait.as_mut().poll(&mut cx) else {
            panic!("{path}: an inline send to sync callbacks is over in one poll")
        };
        assert_eq!(report.unwrap().completed(), 1, "{path}");
        let again = catch_unwind(AssertUnwindSafe(|| wait.as_mut().poll(&mut cx))).expect_err(path);
        let message = again.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(
            message.contains("polled after it finished"),
            "{path}: {message}"
        );
    }
}

#[tokio::test]
async fn a_send_that_reaches_nothing_reports_nothing() {
    let signal: Signal = Signal::new();
    let report = signal.send().key("nobody").wait().await.unwrap();
    assert_eq!(report.scheduled(), 0);
    assert!(report.is_success());
}

#[test]
fn callbacks_dropped_by_a_runtime_shutdown_are_reported_pending() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let signal: Signal = Signal::builder(())
        .runtime(runtime.handle().clone())
        .build();
    let connection = signal.connect(|_: Event| {});
    let waiter = std::thread::spawn({
        let signal = signal.clone();
        move || futures::executor::block_on(signal.send().wait())
    });
    // Wait until the send has scheduled its task, then drop the runtime
    // without ever driving it.
    while signal.in_flight() == 0 {
        std::thread::yield_now();
    }
    drop(runtime);
    let report = waiter.join().unwrap().unwrap();
    assert_eq!(report.scheduled(), 1);
    assert_eq!(report.completed(), 0);
    assert_eq!(report.pending(), [connection.id()]);
}

#[tokio::test]
async fn the_waiting_future_is_cancel_safe_for_scheduled_callbacks() {
    let signal: Signal = Signal::new();
    let ran = Arc::new(Mutex::new(0));
    let r = ran.clone();
    signal.connect(move |_: Event| {
        let r = r.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            *r.lock().unwrap() += 1;
        }
    });
    // Give up waiting at once: the callback still runs to completion.
    let report = signal.send().wait_until(async {}).await.unwrap();
    assert_eq!(report.completed(), 0);
    signal.drained().await;
    assert_eq!(*ran.lock().unwrap(), 1);
}
