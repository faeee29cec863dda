//! Lifecycle: once-connections, blocking, scoped connections, closing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_dispatch::{Event, Filter, Mode, Signal};

#[test]
fn connect_once_runs_exactly_once_under_concurrent_sends() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for _round in 0..200 {
        let signal: Signal = Signal::builder(())
            .runtime(runtime.handle().clone())
            .build();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let connection = signal.connect_once(move |_: Event| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let scheduled = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    scheduled.fetch_add(signal.send().schedule().unwrap(), Ordering::SeqCst)
                });
            }
        });
        runtime.block_on(signal.drained());
        assert_eq!(scheduled.load(Ordering::SeqCst), 1);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(!connection.is_connected());
        assert!(signal.is_empty());
    }
}

#[tokio::test]
async fn a_full_signal_does_not_burn_a_once_connection() {
    let signal: Signal = Signal::builder(())
        .max_in_flight(std::num::NonZeroUsize::new(2).unwrap())
        .build();
    signal.connect(|_: Event| {});
    signal.send().schedule().unwrap(); // takes one of the two places
    let once = signal.connect_once(|_: Event| {});
    // Two callbacks, one free place: rejected whole.
    assert!(signal.send().schedule().unwrap_err().is_full());
    assert!(once.is_connected(), "the rejected send did not claim it");
    signal.drained().await;
    assert_eq!(signal.send().schedule().unwrap(), 2);
    signal.drained().await;
    assert!(!once.is_connected());
}

#[tokio::test]
async fn blocking_a_connection_skips_it_until_every_guard_is_gone() {
    let signal: Signal = Signal::new();
    let connection = signal.connect(|_: Event| {});
    let other = signal.connect(|_: Event| {});
    let outer = connection.block();
    let inner = connection.block();
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(signal.send().receivers(), 1);
    drop(outer);
    assert_eq!(signal.send().schedule().unwrap(), 1, "still blocked once");
    drop(inner);
    assert_eq!(signal.send().schedule().unwrap(), 2);
    assert!(other.is_connected() && !other.is_blocked());
}

/// Sends to unfiltered connections that were all found runnable skip
/// looking at each one again until a block or a disconnection: the first
/// one after it must still see it, in every mode and from `call`.
#[tokio::test]
async fn a_block_after_sends_is_seen_by_the_next_send_in_every_mode() {
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal = Signal::builder(()).mode(mode).build();
        let runs = Arc::new(AtomicUsize::new(0));
        let connections: Vec<_> = (0..5)
            .map(|_| {
                let runs = runs.clone();
                signal.connect(move |_: &Event| {
                    runs.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for _ in 0..3 {
            assert_eq!(signal.send().call().unwrap().completed(), 5, "{mode:?}");
            assert_eq!(
                signal.send().wait().await.unwrap().completed(),
                5,
                "{mode:?}"
            );
        }
        // The middle one: the sends before it still run.
        let block = connections[2].block();
        assert_eq!(signal.send().call().unwrap().completed(), 4, "{mode:?}");
        assert_eq!(
            signal.send().wait().await.unwrap().completed(),
            4,
            "{mode:?}"
        );
        // An inline send is awaited, never scheduled.
        let scheduled = match mode {
            Mode::Inline => 0,
            _ => signal.send().schedule().unwrap(),
        };
        assert_eq!(scheduled, if mode == Mode::Inline { 0 } else { 4 });
        signal.drained().await;
        drop(block);
        assert_eq!(signal.send().call().unwrap().completed(), 5, "{mode:?}");
        assert_eq!(
            signal.send().wait().await.unwrap().completed(),
            5,
            "{mode:?}"
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            6 * 5 + 2 * 4 + scheduled + 2 * 5,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn blocking_the_signal_mutes_every_send() {
    let signal: Signal = Signal::new();
    signal.connect(|_: Event| {});
    let muted = signal.block();
    assert_eq!(signal.send().schedule().unwrap(), 0);
    assert_eq!(signal.send().wait().await.unwrap().scheduled(), 0);
    assert_eq!(signal.send().receivers(), 0);
    drop(muted);
    assert_eq!(signal.send().schedule().unwrap(), 1);
}

#[test]
fn a_scoped_connection_ends_with_its_scope_even_on_panic() {
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    let inside = signal.connected_to(
        |_: Event| {},
        || {
            futures::executor::block_on(signal.send().wait())
                .unwrap()
                .completed()
        },
    );
    assert_eq!(inside, 1);
    assert!(signal.is_empty());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        signal.connected_to(|_: Event| {}, || panic!("scope failed"))
    }));
    assert!(caught.is_err());
    assert!(
        signal.is_empty(),
        "disconnected although the scope panicked"
    );
}

#[tokio::test]
async fn a_closed_signal_refuses_sends_and_connections_and_drains() {
    let signal: Signal<u8> = Signal::new();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    signal.connect(move |_: Event<u8>| {
        let d = d.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            d.fetch_add(1, Ordering::SeqCst);
        }
    });
    signal.send().schedule().unwrap();
    assert!(signal.close());
    assert!(signal.is_closed());
    assert!(!signal.close(), "closing twice is a no-op");
    let error = signal.send().args(9).schedule().unwrap_err();
    assert!(error.is_closed());
    assert_eq!(error.into_unsent().unwrap().into_args(), Some(9));
    assert!(signal.send().wait().await.unwrap_err().is_closed());
    let late = signal.connect(|_: Event<u8>| {});
    assert!(!late.is_connected());
    assert!(signal.is_empty());
    // The callback scheduled before closing still runs; drained waits for it.
    tokio::time::timeout(common::PATIENCE, signal.drained())
        .await
        .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1);
    assert_eq!(signal.in_flight(), 0);
}

#[tokio::test]
async fn drained_returns_at_once_when_nothing_is_in_flight() {
    let signal: Signal = Signal::new();
    tokio::time::timeout(Duration::from_secs(1), signal.drained())
        .await
        .unwrap();
    signal.connect_filtered(Filter::new().key("k"), |_: Event| {});
    signal.send().schedule().unwrap(); // reaches nothing
    tokio::time::timeout(Duration::from_secs(1), signal.drained())
        .await
        .unwrap();
}
