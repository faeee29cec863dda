//! Disconnecting: whole, partial, guarded, repeated, after the signal died.

mod common;

use std::sync::Arc;

use common::Recorder;
use signal_dispatch::{Event, Filter, Signal};

fn recorded(recorder: &Recorder, name: &'static str) -> impl Fn(Event) + Send + Sync + 'static {
    let recorder = recorder.clone();
    move |_| recorder.record(name)
}

#[tokio::test]
async fn disconnect_removes_the_callback_entirely() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let mike = Arc::new("Mike");
    let connection = signal.connect_filtered(
        Filter::new().keys(["a", "b"]).sender(&mike),
        recorded(&recorder, "x"),
    );
    assert!(connection.is_connected());
    assert!(connection.disconnect());
    assert!(!connection.is_connected());
    assert_eq!(signal.len(), 0);
    assert_eq!(
        signal
            .send()
            .keys(["a", "b"])
            .sender(&mike)
            .schedule()
            .unwrap(),
        0
    );
}

#[test]
fn disconnecting_twice_or_after_the_signal_died_is_a_no_op() {
    let signal: Signal = Signal::new();
    let a = signal.connect(|_: Event| {});
    let b = signal.connect(|_: Event| {});
    assert!(a.disconnect());
    assert!(!a.disconnect());
    assert!(!a.remove_filter(Filter::new().key("k")));
    assert!(!a.add_filter(Filter::new().key("k")));
    drop(signal);
    assert!(!b.is_connected());
    assert!(!b.disconnect());
    assert!(!b.add_filter(Filter::new()));
}

#[tokio::test]
async fn removing_some_keys_keeps_the_others() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let connection = signal.connect_filtered(
        Filter::new().keys(["a", "b", "c"]),
        recorded(&recorder, "x"),
    );
    assert!(connection.remove_filter(Filter::new().keys(["a", "c", "never-had-it"])));
    assert_eq!(signal.send().key("a").schedule().unwrap(), 0);
    assert_eq!(signal.send().key("c").schedule().unwrap(), 0);
    assert_eq!(signal.send().key("b").schedule().unwrap(), 1);
    recorder.settle(1).await;
}

#[tokio::test]
async fn removing_a_sender_keeps_the_keys_and_vice_versa() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let mike = Arc::new("Mike");
    let connection = signal.connect_filtered(
        Filter::new().key("a").sender(&mike),
        recorded(&recorder, "x"),
    );
    assert!(connection.remove_filter(Filter::new().sender(&mike)));
    assert_eq!(signal.send().sender(&mike).schedule().unwrap(), 0);
    assert_eq!(signal.send().key("a").schedule().unwrap(), 1);
    recorder.wait(1).await;
}

#[test]
fn removing_every_route_disconnects() {
    let signal: Signal = Signal::new();
    let connection = signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    assert!(connection.remove_filter(Filter::new().key("a")));
    assert!(!connection.remove_filter(Filter::new().key("b")));
    assert!(!connection.is_connected());
    assert_eq!(signal.len(), 0);
}

#[tokio::test]
async fn add_filter_adds_routes_to_an_existing_connection() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let connection = signal.connect_filtered(Filter::new().key("a"), recorded(&recorder, "x"));
    assert!(connection.add_filter(Filter::new().keys(["b", "a"])));
    assert_eq!(signal.send().key("b").schedule().unwrap(), 1);
    assert_eq!(signal.send().keys(["a", "b"]).schedule().unwrap(), 1);
    assert_eq!(signal.send().schedule().unwrap(), 0);
    // An empty filter adds the unfiltered route; removing it restores the keys only.
    assert!(connection.add_filter(Filter::new()));
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert!(connection.remove_filter(Filter::new()));
    assert_eq!(signal.send().schedule().unwrap(), 0);
    assert_eq!(signal.send().key("a").schedule().unwrap(), 1);
    recorder.settle(4).await;
}

#[tokio::test]
async fn a_partial_removal_on_an_unfiltered_connection_changes_nothing() {
    let signal: Signal = Signal::new();
    let connection = signal.connect(|_: Event| {});
    assert!(connection.remove_filter(Filter::new().key("never-had-it")));
    assert_eq!(signal.send().schedule().unwrap(), 1);
}

#[test]
fn a_guard_disconnects_on_drop_and_disarm_keeps_the_connection() {
    let signal: Signal = Signal::new();
    {
        let guard = signal.connect(|_: Event| {}).guard();
        assert!(guard.connection().is_connected());
        assert_eq!(signal.len(), 1);
    }
    assert_eq!(signal.len(), 0);

    let connection = signal.connect(|_: Event| {}).guard().disarm();
    assert!(connection.is_connected());
    assert_eq!(signal.len(), 1);
}

#[test]
fn disconnect_all_ends_every_connection() {
    let signal: Signal = Signal::new();
    let mike = Arc::new(1);
    let connections: Vec<_> = (0..10)
        .map(|i| {
            signal.connect_filtered(
                Filter::new().key(format!("k{i}")).sender(&mike),
                |_: Event| {},
            )
        })
        .collect();
    assert_eq!(signal.disconnect_all(), 10);
    assert!(connections.iter().all(|c| !c.is_connected()));
    assert_eq!(signal.disconnect_all(), 0);
    // The signal stays usable.
    signal.connect_filtered(Filter::new().key("k0"), |_: Event| {});
    assert_eq!(signal.len(), 1);
}

#[test]
fn disconnecting_a_connection_with_many_keys_among_many_others() {
    let signal: Signal = Signal::new();
    for i in 0..10_000 {
        signal.connect_filtered(Filter::new().key(format!("other{i}")), |_: Event| {});
    }
    let big = signal.connect_filtered(
        Filter::new().keys((0..1000).map(|i| format!("big{i}"))),
        |_: Event| {},
    );
    assert!(big.remove_filter(Filter::new().keys((0..500).map(|i| format!("big{i}")))));
    assert!(big.disconnect());
    assert_eq!(signal.len(), 10_000);
}

#[tokio::test]
async fn a_send_that_begins_after_disconnect_returned_never_runs_it() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    for _ in 0..1000 {
        let connection = signal.connect(recorded(&recorder, "x"));
        connection.disconnect();
        assert_eq!(signal.send().schedule().unwrap(), 0);
    }
    assert!(recorder.settle(0).await.is_empty());
}
