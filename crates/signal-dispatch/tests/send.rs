//! Sending: counts, arguments, events, and where callbacks run.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::Recorder;
use signal_dispatch::{Event, Filter, Signal};

#[derive(Debug, Default)]
struct Args {
    message: String,
    level: u8,
}

/// Counts its clones: proves arguments are not copied per callback.
#[derive(Debug, Default)]
struct CountedArgs {
    clones: Arc<AtomicUsize>,
    value: u32,
}

impl Clone for CountedArgs {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        CountedArgs {
            clones: self.clones.clone(),
            value: self.value,
        }
    }
}

#[tokio::test]
async fn callbacks_get_the_defaults_or_the_sends_arguments() {
    let signal = Signal::with_defaults(Args {
        message: "default".into(),
        level: 1,
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder::new();
    let (s, r) = (seen.clone(), recorder.clone());
    signal.connect(move |event: Event<Args>| {
        let args = event.args();
        s.lock().unwrap().push((args.message.clone(), args.level));
        r.record("x");
    });

    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    signal
        .send()
        .args(Args {
            message: "whole".into(),
            level: 9,
        })
        .schedule()
        .unwrap();
    recorder.wait(1).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [("default".to_string(), 1), ("whole".to_string(), 9)]
    );
}

#[tokio::test]
async fn with_changes_some_fields_of_a_copy_of_the_defaults() {
    #[derive(Clone, Default)]
    struct Two {
        a: u8,
        b: u8,
    }
    let signal = Signal::with_defaults(Two { a: 1, b: 2 });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder::new();
    let (s, r) = (seen.clone(), recorder.clone());
    signal.connect(move |event: Event<Two>| {
        s.lock().unwrap().push((event.args().a, event.args().b));
        r.record("x");
    });
    signal.send().with(|two| two.b = 20).schedule().unwrap();
    recorder.wait(1).await;
    signal
        .send()
        .with(|two| two.a = 10)
        .with(|two| two.b += 1)
        .schedule()
        .unwrap();
    recorder.wait(1).await;
    signal.send().schedule().unwrap();
    recorder.wait(1).await;
    assert_eq!(*seen.lock().unwrap(), [(1, 20), (10, 3), (1, 2)]);
    assert_eq!(
        (signal.defaults().a, signal.defaults().b),
        (1, 2),
        "defaults never change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_copy_of_the_arguments_is_shared_by_all_callbacks() {
    let clones = Arc::new(AtomicUsize::new(0));
    let signal = Signal::with_defaults(CountedArgs {
        clones: clones.clone(),
        value: 3,
    });
    let recorder = Recorder::new();
    for _ in 0..50 {
        let r = recorder.clone();
        signal.connect(move |event: Event<CountedArgs>| {
            assert_eq!(event.args().value, 3);
            r.record("x");
        });
    }
    assert_eq!(signal.send().schedule().unwrap(), 50);
    recorder.wait(50).await;
    assert_eq!(
        clones.load(Ordering::SeqCst),
        0,
        "sending the defaults copies nothing"
    );

    assert_eq!(signal.send().with(|a| a.value = 3).schedule().unwrap(), 50);
    recorder.wait(50).await;
    assert_eq!(
        clones.load(Ordering::SeqCst),
        1,
        "one copy per send, not per callback"
    );
}

#[tokio::test]
async fn the_event_carries_the_signal_senders_and_keys() {
    let signal: Signal = Signal::new();
    let other: Signal = Signal::new();
    let recorder = Recorder::new();
    let ashley = Arc::new("Ashley");
    let five = Arc::new(5_u32);
    // Weakly: a callback holding its own signal would be a reference cycle.
    let (this, that, r, a) = (
        signal.downgrade(),
        other.clone(),
        recorder.clone(),
        ashley.clone(),
    );
    signal.connect(move |event: Event| {
        assert!(Some(event.signal()) == this.upgrade().as_ref());
        assert!(event.signal() != &that);
        assert_eq!(event.senders().len(), 2);
        assert!(event.senders()[0].is(&a));
        assert_eq!(event.sender::<&str>().as_deref(), Some(&"Ashley"));
        assert_eq!(event.sender::<u32>().as_deref(), Some(&5));
        assert_eq!(event.sender::<u64>(), None);
        assert_eq!(event.keys(), ["k1", "k2"]);
        r.record("checked");
    });
    signal
        .send()
        .sender(&ashley)
        .sender(&five)
        .keys(["k1", "k2"])
        .schedule()
        .unwrap();
    assert_eq!(recorder.settle(1).await, ["checked"]);
}

#[tokio::test]
async fn one_callback_serves_several_signals_and_tells_them_apart() {
    let first: Signal = Signal::builder(()).name("first").build();
    let second: Signal = Signal::builder(()).name("second").build();
    let recorder = Recorder::new();
    let r = recorder.clone();
    let callback = move |event: Event| r.record(event.signal().name().unwrap().to_owned());
    first.connect(callback.clone());
    second.connect(callback);
    first.send().schedule().unwrap();
    second.send().schedule().unwrap();
    assert_eq!(recorder.settle(2).await, ["first", "second"]);
}

#[tokio::test(flavor = "current_thread")]
async fn callbacks_never_run_on_the_senders_stack() {
    let signal: Signal = Signal::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    signal.connect(move |_: Event| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "a sync callback is scheduled, not called"
    );
    tokio::task::yield_now().await;
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_send_with_no_match_schedules_nothing() {
    let signal: Signal = Signal::new();
    signal.connect_filtered(Filter::new().key("a"), |_: Event| {});
    assert_eq!(signal.send().key("b").schedule().unwrap(), 0);
    let empty: Signal = Signal::new();
    assert_eq!(empty.send().keys(["a", "b"]).schedule().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fan_out_runs_every_callback_exactly_once() {
    let signal: Signal = Signal::new();
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..1000).map(|_| AtomicUsize::new(0)).collect());
    let recorder = Recorder::new();
    for i in 0..1000 {
        let (c, r) = (counts.clone(), recorder.clone());
        let filter = if i % 2 == 0 {
            Filter::new()
        } else {
            Filter::new().keys([format!("k{}", i % 7), "shared".to_string()])
        };
        signal.connect_filtered(filter, move |_: Event| {
            c[i].fetch_add(1, Ordering::SeqCst);
            r.record("");
        });
    }
    let keys: Vec<String> = (0..7)
        .map(|k| format!("k{k}"))
        .chain(["shared".into()])
        .collect();
    assert_eq!(signal.send().keys(keys).schedule().unwrap(), 1000);
    recorder.settle(1000).await;
    assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 1));
}
