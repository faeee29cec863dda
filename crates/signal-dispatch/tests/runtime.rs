//! Where callbacks run: the current tokio runtime, a given one, a custom
//! spawner; and what happens when there is none or it shuts down.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{DropCounter, alive};
use signal_dispatch::{Event, SendError, Signal, SpawnError, Task};

#[test]
fn sending_outside_any_runtime_is_a_clear_error_not_a_panic() {
    let signal: Signal = Signal::new();
    signal.connect(|_: Event| {});
    let error = signal.send().schedule().unwrap_err();
    assert!(error.is_no_runtime());
    assert_eq!(error.scheduled(), 0);
    assert!(error.to_string().starts_with("no tokio runtime"), "{error}");
    // Nothing was lost: the connection is still there.
    assert_eq!(signal.len(), 1);
}

#[test]
fn a_signal_given_a_runtime_sends_from_any_thread() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let signal: Signal = Signal::builder(())
        .runtime(runtime.handle().clone())
        .build();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = Mutex::new(tx);
    signal.connect(move |_: Event| {
        tx.lock()
            .unwrap()
            .send(std::thread::current().id())
            .unwrap()
    });
    let sender_thread = std::thread::current().id();
    assert_eq!(signal.send().schedule().unwrap(), 1);
    let ran_on = rx.recv_timeout(common::PATIENCE).unwrap();
    assert_ne!(
        ran_on, sender_thread,
        "the callback ran on the runtime's worker"
    );
}

#[test]
fn a_custom_spawner_runs_the_callbacks() {
    let queue: Arc<Mutex<Vec<Task>>> = Arc::default();
    let q = queue.clone();
    let signal: Signal = Signal::builder(())
        .spawner(move |task: Task| {
            q.lock().unwrap().push(task);
            Ok(())
        })
        .build();
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let r = runs.clone();
        signal.connect(move |_: Event| {
            r.fetch_add(1, Ordering::SeqCst);
        });
    }
    assert_eq!(signal.send().schedule().unwrap(), 3);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let tasks: Vec<Task> = std::mem::take(&mut *queue.lock().unwrap());
    assert_eq!(tasks.len(), 3);
    for task in tasks {
        futures::executor::block_on(task);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[test]
fn a_spawner_that_refuses_reports_how_many_were_scheduled() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    let signal: Signal = Signal::builder(())
        .spawner(move |_task: Task| {
            if a.fetch_add(1, Ordering::SeqCst) < 2 {
                Ok(())
            } else {
                Err(SpawnError::new("executor is full"))
            }
        })
        .build();
    for _ in 0..5 {
        signal.connect(|_: Event| {});
    }
    let error = signal.send().schedule().unwrap_err();
    assert!(error.is_spawn());
    assert_eq!(error.scheduled(), 2);
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "executor is full"
    );
    assert!(matches!(error, SendError::Spawn { scheduled: 2, .. }));
    // The accepted tasks were dropped unrun by this spawner; the send is
    // settled whole all the same, its refused and untried calls included.
    assert_eq!(signal.in_flight(), 0);

    // A refusal of the last call leaves nothing unsettled either.
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    let last_refused: Signal = Signal::builder(())
        .spawner(move |_task: Task| {
            r.fetch_add(1, Ordering::SeqCst);
            Err(SpawnError::new("no room"))
        })
        .build();
    last_refused.connect(|_: Event| {});
    let error = last_refused.send().schedule().unwrap_err();
    assert_eq!((error.scheduled(), refused.load(Ordering::SeqCst)), (0, 1));
    assert_eq!(last_refused.in_flight(), 0);
}

#[test]
fn callbacks_pending_when_the_runtime_is_dropped_are_dropped_cleanly() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let signal: Signal = Signal::builder(())
        .runtime(runtime.handle().clone())
        .build();
    let (counter, token) = DropCounter::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let connection = signal.connect(move |_: Event| {
        let _ = &counter;
        r.fetch_add(1, Ordering::SeqCst);
    });
    // Scheduled, never run: a current-thread runtime only runs when driven.
    assert_eq!(signal.send().schedule().unwrap(), 1);
    drop(runtime);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Sending to a shut-down runtime neither panics nor runs anything.
    let after = signal.send().schedule();
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    connection.disconnect();
    drop(signal);
    assert_eq!(alive(&token), 0, "the pending tasks released the callback");
}

#[tokio::test(flavor = "current_thread")]
async fn the_signal_dropped_while_its_callbacks_are_pending_still_runs_them() {
    let signal: Signal = Signal::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    signal.connect(move |_: Event| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(signal.send().schedule().unwrap(), 1);
    let weak = signal.downgrade();
    drop(signal);
    assert!(
        weak.upgrade().is_some(),
        "the pending call holds the signal"
    );
    tokio::task::yield_now().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(weak.upgrade().is_none(), "and releases it once done");
}
