//! Subscriptions: a signal's events as a bounded stream.

mod common;

use std::num::NonZeroUsize;
use std::sync::Arc;

use futures::StreamExt;
use signal_dispatch::{Event, Filter, Lagged, Signal};

fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[tokio::test]
async fn a_subscription_receives_matching_sends_in_order() {
    let signal: Signal<u32> = Signal::new();
    let mut keyed = signal.subscribe(Filter::new().key("k"), capacity(8));
    let mut all = signal.subscribe(Filter::new(), capacity(8));
    assert_eq!(signal.send().args(1).schedule().unwrap(), 1);
    assert_eq!(signal.send().args(2).key("k").schedule().unwrap(), 2);
    assert_eq!(*keyed.next().await.unwrap().unwrap().args(), 2);
    assert_eq!(*all.next().await.unwrap().unwrap().args(), 1);
    assert_eq!(*all.next().await.unwrap().unwrap().args(), 2);
    assert!(keyed.is_empty() && all.is_empty());
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_what_it_missed_and_memory_stays_bounded() {
    let signal: Signal<u32> = Signal::new();
    let mut slow = signal.subscribe(Filter::new(), capacity(4));
    for n in 0..1000 {
        signal.send().args(n).schedule().unwrap();
        assert!(slow.len() <= 4);
    }
    assert_eq!(slow.next().await.unwrap().unwrap_err(), Lagged(996));
    let rest: Vec<u32> = slow
        .by_ref()
        .take(4)
        .map(|e| *e.unwrap().args())
        .collect()
        .await;
    assert_eq!(rest, [996, 997, 998, 999]);
    signal.send().args(1000).schedule().unwrap();
    assert_eq!(
        *slow.next().await.unwrap().unwrap().args(),
        1000,
        "no lag reported twice"
    );
}

#[tokio::test]
async fn the_stream_ends_when_the_signal_closes_or_dies() {
    let signal: Signal = Signal::new();
    let mut events = signal.subscribe(Filter::new(), capacity(2));
    signal.send().schedule().unwrap();
    signal.close();
    assert!(
        events.next().await.unwrap().is_ok(),
        "buffered events are still delivered"
    );
    assert!(events.next().await.is_none());

    let signal: Signal = Signal::new();
    let mut events = signal.subscribe(Filter::new(), capacity(2));
    let waiter = tokio::spawn(async move { events.next().await.is_none() });
    tokio::task::yield_now().await;
    drop(signal);
    assert!(
        tokio::time::timeout(common::PATIENCE, waiter)
            .await
            .unwrap()
            .unwrap()
    );
}

#[tokio::test]
async fn dropping_a_subscription_disconnects_it() {
    let signal: Signal = Signal::new();
    let events = signal.subscribe(Filter::new(), capacity(2));
    assert_eq!(signal.len(), 1);
    drop(events);
    assert_eq!(signal.len(), 0);
    assert_eq!(signal.send().schedule().unwrap(), 0);
}

#[tokio::test]
async fn an_awaited_send_counts_subscriptions_as_streamed() {
    let signal: Signal = Signal::new();
    let _events = signal.subscribe(Filter::new(), capacity(2));
    signal.connect(|_: Event| {});
    let report = signal.send().wait().await.unwrap();
    assert_eq!(report.scheduled(), 2);
    assert_eq!(report.completed(), 2);
    assert!(report.is_success());
}

#[test]
fn subscribers_are_fed_without_a_runtime_turn() {
    // Feeding happens at send time: the sender never waits on a reader.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let signal: Signal<usize> = Signal::builder(0).runtime(runtime.handle().clone()).build();
    let mut events = signal.subscribe(Filter::new(), capacity(1));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let signal = signal.clone();
            std::thread::spawn(move || {
                for n in 0..10_000 {
                    signal.send().args(t * 10_000 + n).schedule().unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    let first = futures::executor::block_on(events.next()).unwrap();
    assert_eq!(first.unwrap_err(), Lagged(39_999));
    let sender = Arc::new(());
    let _ = sender;
}
