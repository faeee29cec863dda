//! Failures in callbacks: panics and errors are isolated and reported.

mod common;

use std::sync::{Arc, Mutex};

use common::Recorder;
use signal_dispatch::{Event, Failure, Signal};

/// Panics with `message`. Returning `()` (not `!`) keeps closures that only
/// panic valid callbacks under edition 2024's never-type fallback.
fn fail(message: &str) {
    panic!("{message}");
}

fn panic_with_a_number(_: Event) {
    std::panic::panic_any(17_u32);
}

/// A signal whose error hook records every failure.
fn signal_with_hook() -> (Signal, Arc<Mutex<Vec<String>>>, Recorder) {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder::new();
    let (f, r) = (failures.clone(), recorder.clone());
    let signal = Signal::builder(())
        .name("checked")
        .on_error(move |failure: &Failure| {
            assert_eq!(failure.signal_name(), Some("checked"));
            f.lock().unwrap().push(failure.to_string());
            r.record("failure");
        })
        .build();
    (signal, failures, recorder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_panicking_callback_among_a_hundred_leaves_the_others_running() {
    let (signal, failures, recorder) = signal_with_hook();
    for i in 0..100 {
        let r = recorder.clone();
        signal.connect(move |_: Event| {
            if i == 42 {
                panic!("callback 42 broke");
            }
            r.record("ok");
        });
    }
    assert_eq!(signal.send().schedule().unwrap(), 100);
    let runs = recorder.settle(100).await;
    assert_eq!(runs.iter().filter(|r| *r == "ok").count(), 99);
    assert_eq!(
        *failures.lock().unwrap(),
        ["callback panicked: callback 42 broke"]
    );

    // The signal is still fully usable afterwards.
    assert_eq!(signal.send().schedule().unwrap(), 100);
    recorder.wait(100).await;
    assert_eq!(failures.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_err_returned_is_reported_with_its_connection() {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder::new();
    let (i, r) = (ids.clone(), recorder.clone());
    let signal: Signal = Signal::builder(())
        .on_error(move |failure: &Failure| {
            assert!(failure.is_error() && !failure.is_panic());
            assert_eq!(failure.error().unwrap().to_string(), "quota exceeded");
            assert_eq!(failure.panic_message(), None);
            i.lock().unwrap().push(failure.connection());
            r.record("failure");
        })
        .build();
    let connection =
        signal.connect(|_: Event| -> Result<(), &'static str> { Err("quota exceeded") });
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    assert_eq!(*ids.lock().unwrap(), [connection.id()]);
}

#[tokio::test]
async fn an_async_callback_that_panics_after_awaiting_is_reported() {
    let (signal, failures, recorder) = signal_with_hook();
    signal.connect(|_: Event| async {
        tokio::task::yield_now().await;
        fail("late panic");
    });
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    assert_eq!(*failures.lock().unwrap(), ["callback panicked: late panic"]);
}

#[tokio::test]
async fn an_async_error_is_reported() {
    let (signal, failures, recorder) = signal_with_hook();
    signal.connect(|_: Event| async { Err::<(), _>(std::io::Error::other("socket closed")) });
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    assert_eq!(
        *failures.lock().unwrap(),
        ["callback returned an error: socket closed"]
    );
}

#[tokio::test]
async fn a_panic_with_a_non_string_payload_is_still_reported() {
    let (signal, failures, recorder) = signal_with_hook();
    signal.connect(panic_with_a_number);
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    assert_eq!(
        *failures.lock().unwrap(),
        ["callback panicked: a non-string panic payload"]
    );
}

#[tokio::test]
async fn without_a_hook_failures_are_logged_and_nothing_else_breaks() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    signal.connect(|_: Event| fail("logged, not propagated"));
    let r = recorder.clone();
    signal.connect(move |_: Event| r.record("fine"));
    assert_eq!(signal.send().schedule().unwrap(), 2);
    assert_eq!(recorder.settle(1).await, ["fine"]);
    assert_eq!(signal.send().schedule().unwrap(), 2);
}

/// A key whose `Hash` panics for one value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Touchy(u32);

impl std::hash::Hash for Touchy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        assert_ne!(self.0, 13, "unlucky key");
        self.0.hash(state);
    }
}

#[tokio::test]
async fn a_key_whose_hash_panics_leaves_the_signal_usable() {
    let signal: Signal<(), Touchy> = Signal::new();
    let recorder = Recorder::new();
    let r = recorder.clone();
    signal.connect_filtered(
        signal_dispatch::Filter::new().key(Touchy(1)),
        move |_: Event<(), Touchy>| r.record("one"),
    );
    // The panic is the caller's own key's: it reaches the caller, under our
    // writer lock for a connect and outside any lock for a send.
    let connect = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        signal.connect_filtered(
            signal_dispatch::Filter::new().key(Touchy(13)),
            |_: Event<(), Touchy>| {},
        )
    }));
    assert!(connect.is_err());
    let send = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        signal.send().key(Touchy(13)).schedule()
    }));
    assert!(send.is_err());
    // An awaited send panics in its first poll, having run nothing; polled
    // again, it panics again, and still runs nothing.
    let mut wait = Box::pin(
        signal
            .send()
            .key(Touchy(1))
            .key(Touchy(13))
            .mode(signal_dispatch::Mode::Inline)
            .wait(),
    );
    for _ in 0..2 {
        let poll = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures::FutureExt::now_or_never(wait.as_mut())
        }));
        assert!(poll.is_err());
    }
    drop(wait);
    assert!(recorder.runs().is_empty(), "the panicked send ran nothing");
    // No lock stays poisoned, nothing is half-connected, and the signal works.
    assert_eq!(signal.len(), 1);
    assert_eq!(signal.send().key(Touchy(1)).schedule().unwrap(), 1);
    let other = signal.connect_filtered(
        signal_dispatch::Filter::new().key(Touchy(2)),
        |_: Event<(), Touchy>| {},
    );
    assert!(other.disconnect());
    assert_eq!(recorder.settle(1).await, ["one"]);
}
