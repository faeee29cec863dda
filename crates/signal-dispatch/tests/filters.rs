//! Filtering: unfiltered, by key, by sender identity, unions, deduplication.

mod common;

use std::sync::Arc;

use common::Recorder;
use signal_dispatch::{Event, Filter, Signal};

fn recorded(recorder: &Recorder, name: &'static str) -> impl Fn(Event) + Send + Sync + 'static {
    let recorder = recorder.clone();
    move |_| recorder.record(name)
}

#[tokio::test]
async fn unfiltered_connections_run_on_every_send_filtered_or_not() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    signal.connect(recorded(&recorder, "all"));
    let someone = Arc::new(1);

    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(signal.send().key("k").schedule().unwrap(), 1);
    assert_eq!(signal.send().sender(&someone).schedule().unwrap(), 1);
    assert_eq!(recorder.settle(3).await, ["all", "all", "all"]);
}

#[tokio::test]
async fn filtered_connections_run_only_on_a_matching_key_or_sender() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let mike = Arc::new("Mike");
    let ashley = Arc::new("Ashley");
    signal.connect_filtered(Filter::new().key("books"), recorded(&recorder, "books"));
    signal.connect_filtered(
        Filter::new().sender(&mike),
        recorded(&recorder, "from mike"),
    );

    assert_eq!(
        signal.send().schedule().unwrap(),
        0,
        "an unnamed send reaches no filtered one"
    );
    assert_eq!(signal.send().key("music").schedule().unwrap(), 0);
    assert_eq!(signal.send().sender(&ashley).schedule().unwrap(), 0);
    assert_eq!(signal.send().key("books").schedule().unwrap(), 1);
    assert_eq!(signal.send().sender(&mike).schedule().unwrap(), 1);
    assert_eq!(
        signal.send().sender(&mike).key("books").schedule().unwrap(),
        2
    );
    assert_eq!(
        recorder.settle(4).await,
        ["books", "books", "from mike", "from mike"]
    );
}

#[tokio::test]
async fn several_filters_are_a_union_and_a_callback_runs_once_per_send() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let mike = Arc::new("Mike");
    let ashley = Arc::new("Ashley");
    signal.connect_filtered(
        Filter::new()
            .keys(["important", "books"])
            .senders([&mike, &ashley]),
        recorded(&recorder, "x"),
    );
    for send in [
        signal.send().key("important"),
        signal.send().key("books"),
        signal.send().sender(&ashley),
        signal
            .send()
            .keys(["important", "books", "other"])
            .senders([&mike, &ashley]),
    ] {
        assert_eq!(send.schedule().unwrap(), 1);
    }
    assert_eq!(recorder.settle(4).await.len(), 4);
}

#[tokio::test]
async fn a_key_named_twice_in_a_send_or_a_filter_counts_once() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    signal.connect_filtered(
        Filter::new().keys(["a", "a", "b"]),
        recorded(&recorder, "x"),
    );
    assert_eq!(signal.send().keys(["a", "a"]).schedule().unwrap(), 1);
    assert_eq!(recorder.settle(1).await, ["x"]);
}

#[tokio::test]
async fn senders_match_by_identity_not_by_value() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let original = Arc::new(String::from("same text"));
    let lookalike = Arc::new(String::from("same text"));
    signal.connect_filtered(Filter::new().sender(&original), recorded(&recorder, "x"));
    assert_eq!(signal.send().sender(&lookalike).schedule().unwrap(), 0);
    assert_eq!(
        signal.send().sender(&original.clone()).schedule().unwrap(),
        1
    );
    assert_eq!(recorder.settle(1).await, ["x"]);
}

#[tokio::test]
async fn senders_of_different_types_mix_in_one_filter_and_send() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let number = Arc::new(5_u64);
    let text = Arc::new("text");
    signal.connect_filtered(
        Filter::new().sender(&number).sender(&text),
        recorded(&recorder, "x"),
    );
    assert_eq!(signal.send().sender(&text).schedule().unwrap(), 1);
    assert_eq!(
        signal
            .send()
            .sender(&number)
            .sender(&text)
            .schedule()
            .unwrap(),
        1
    );
    recorder.wait(2).await;
}

#[tokio::test]
async fn keys_of_a_custom_type_match_by_equality() {
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    enum Topic {
        Orders,
        Users(u32),
    }

    let signal: Signal<(), Topic> = Signal::new();
    let recorder = Recorder::new();
    let r = recorder.clone();
    signal.connect_filtered(
        Filter::new().key(Topic::Users(7)),
        move |event: Event<(), Topic>| {
            assert_eq!(event.keys(), [Topic::Users(7)]);
            r.record("user 7");
        },
    );
    assert_eq!(signal.send().key(Topic::Users(8)).schedule().unwrap(), 0);
    assert_eq!(signal.send().key(Topic::Orders).schedule().unwrap(), 0);
    assert_eq!(signal.send().key(Topic::Users(7)).schedule().unwrap(), 1);
    assert_eq!(recorder.settle(1).await, ["user 7"]);
}

#[tokio::test]
async fn string_keys_accept_str_and_string() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    signal.connect_filtered(
        Filter::new().key(String::from("k")),
        recorded(&recorder, "x"),
    );
    assert_eq!(signal.send().key("k").schedule().unwrap(), 1);
    assert_eq!(signal.send().key(String::from("k")).schedule().unwrap(), 1);
    recorder.wait(2).await;
}

#[tokio::test]
async fn an_empty_filter_connects_unfiltered() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    signal.connect_filtered(Filter::new(), recorded(&recorder, "x"));
    assert_eq!(signal.send().schedule().unwrap(), 1);
    recorder.wait(1).await;
}

#[test]
fn a_filter_of_only_dead_senders_connects_nothing() {
    let signal: Signal = Signal::new();
    let gone = Arc::new(1);
    let filter = Filter::new().sender(&gone);
    drop(gone);
    let connection = signal.connect_filtered(filter, |_: Event| {});
    assert!(!connection.is_connected());
    assert_eq!(signal.len(), 0);
}

#[tokio::test]
async fn a_connection_made_during_a_send_is_not_run_by_it() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let r = recorder.clone();
    let late = recorder.clone();
    // The event gives the callback its signal: capturing a clone instead
    // would make a reference cycle (the sanitizer run found one here).
    signal.connect(move |event: Event| {
        r.record("first");
        let late = late.clone();
        event.signal().connect(move |_: Event| late.record("late"));
    });
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(recorder.settle(1).await, ["first"]);
    assert_eq!(signal.len(), 2);
}
