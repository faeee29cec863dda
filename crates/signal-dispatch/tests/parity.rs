//! Parity with the seed (`asyncio_dispatch` 1.1): the behaviours listed in
//! `shared/docs/semantics.md`, one test each, and the selective example's
//! table of deliveries.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::Recorder;
use signal_dispatch::{Event, Filter, Signal, weak};

#[derive(Clone, Debug, Default)]
struct Message {
    message: Option<String>,
}

struct Person {
    name: &'static str,
    recorder: Recorder,
    first: Signal<Message>,
}

impl Person {
    fn message_received(&self, event: Event<Message>) {
        let number = if event.signal() == &self.first { 1 } else { 2 };
        let text = event.args().message.clone().unwrap_or_default();
        self.recorder
            .record(format!("{} #{number} {text}", self.name));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selective_example_delivers_exactly_the_seeds_seven_messages() {
    let signal1: Signal<Message> = Signal::new();
    let signal2: Signal<Message> = Signal::new();
    let recorder = Recorder::new();
    let person = |name| {
        Arc::new(Person {
            name,
            recorder: recorder.clone(),
            first: signal1.clone(),
        })
    };
    let (mike, ashley) = (person("Mike"), person("Ashley"));
    signal1.connect_filtered(
        Filter::new().sender(&ashley).keys(["important", "books"]),
        weak(&mike, Person::message_received),
    );
    signal1.connect_filtered(
        Filter::new().sender(&mike).keys(["love-notes", "music"]),
        weak(&ashley, Person::message_received),
    );
    signal2.connect_filtered(
        Filter::new().key("logs"),
        weak(&mike, Person::message_received),
    );
    signal2.connect_filtered(
        Filter::new().key("alert"),
        weak(&ashley, Person::message_received),
    );

    let text = |t: &str| Message {
        message: Some(t.into()),
    };
    let mut expected = Vec::new();
    let mut check = |scheduled: usize, receivers: &[&str]| {
        assert_eq!(scheduled, receivers.len());
        expected.extend(receivers.iter().map(|r| r.to_string()));
    };
    check(
        signal1
            .send()
            .args(text("nobody is listening"))
            .schedule()
            .unwrap(),
        &[],
    );
    check(
        signal2
            .send()
            .args(text("nobody is listening"))
            .schedule()
            .unwrap(),
        &[],
    );
    check(
        signal1
            .send()
            .sender(&ashley)
            .args(text("hello Mike!"))
            .schedule()
            .unwrap(),
        &["Mike #1 hello Mike!"],
    );
    check(
        signal1
            .send()
            .sender(&mike)
            .args(text("hello Ashley!"))
            .schedule()
            .unwrap(),
        &["Ashley #1 hello Ashley!"],
    );
    check(
        signal1
            .send()
            .key("important")
            .args(text("important message for Mike"))
            .schedule()
            .unwrap(),
        &["Mike #1 important message for Mike"],
    );
    check(
        signal2
            .send()
            .key("alert")
            .args(text("alert for Ashley"))
            .schedule()
            .unwrap(),
        &["Ashley #2 alert for Ashley"],
    );
    check(
        signal1
            .send()
            .keys(["books", "love-notes"])
            .args(text("both"))
            .schedule()
            .unwrap(),
        &["Mike #1 both", "Ashley #1 both"],
    );
    check(
        signal1
            .send()
            .keys(["important", "books", "logs"])
            .args(text("once"))
            .schedule()
            .unwrap(),
        &["Mike #1 once"],
    );
    expected.sort();
    assert_eq!(expected.len(), 7);
    assert_eq!(recorder.settle(7).await, expected);
}

#[derive(Clone, Debug)]
struct Kwargs {
    my_kwarg: String,
    payload: BTreeMap<String, u32>,
}

#[tokio::test]
async fn declared_arguments_have_defaults_and_a_send_overrides_them() {
    let signal = Signal::with_defaults(Kwargs {
        my_kwarg: "default".into(),
        payload: BTreeMap::new(),
    });
    let recorder = Recorder::new();
    // Weakly: a callback holding its own signal would be a reference cycle.
    let (r, this) = (recorder.clone(), signal.downgrade());
    signal.connect(move |event: Event<Kwargs>| {
        assert!(Some(event.signal()) == this.upgrade().as_ref());
        assert!(event.senders().is_empty() && event.keys().is_empty());
        r.record(format!(
            "{} {:?}",
            event.args().my_kwarg,
            event.args().payload
        ));
    });
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    signal
        .send()
        .with(|k| {
            k.my_kwarg = "changed with send".into();
            k.payload.insert("a".into(), 1);
            k.payload.insert("b".into(), 2);
        })
        .schedule()
        .unwrap();
    recorder.wait(1).await;
    assert_eq!(
        recorder.runs(),
        ["default {}", r#"changed with send {"a": 1, "b": 2}"#]
    );
}

#[tokio::test]
async fn send_returns_the_number_scheduled_after_deduplication() {
    let signal: Signal = Signal::new();
    let mike = Arc::new("Mike");
    let connection =
        signal.connect_filtered(Filter::new().sender(&mike).keys(["a", "b"]), |_: Event| {});
    connection.add_filter(Filter::new().key("c")); // connect again with other filters
    signal.connect(|_: Event| {});
    assert_eq!(
        signal
            .send()
            .sender(&mike)
            .keys(["a", "b", "c"])
            .schedule()
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn disconnect_with_filters_removes_only_those_routes_and_without_removes_all() {
    let signal: Signal = Signal::new();
    let connection = signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    connection.remove_filter(Filter::new().key("a"));
    assert_eq!(signal.send().key("a").schedule().unwrap(), 0);
    assert_eq!(signal.send().key("b").schedule().unwrap(), 1);
    connection.disconnect();
    assert_eq!(signal.send().key("b").schedule().unwrap(), 0);
    assert!(
        !connection.disconnect(),
        "disconnecting what is not connected is a no-op"
    );
}
