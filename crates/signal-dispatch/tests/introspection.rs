//! Introspection and observability: counts, receivers, Debug, stats.

mod common;

use std::sync::Arc;

use signal_dispatch::{Event, Filter, Mode, Signal, weak};

#[test]
fn counts_by_key_sender_and_unfiltered() {
    let signal: Signal = Signal::new();
    let mike = Arc::new("Mike");
    signal.connect(|_: Event| {});
    signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    signal.connect_filtered(Filter::new().key("a").sender(&mike), |_: Event| {});
    assert_eq!(signal.len(), 3);
    assert_eq!(signal.count_unfiltered(), 1);
    assert_eq!(signal.count_key(&"a".to_string()), 2);
    assert_eq!(signal.count_key(&"b".to_string()), 1);
    assert_eq!(signal.count_key(&"z".to_string()), 0);
    assert_eq!(signal.count_sender(&mike), 1);
    assert_eq!(signal.send().receivers(), 1);
    assert_eq!(signal.send().key("a").receivers(), 3);
    assert_eq!(signal.send().sender(&mike).receivers(), 2);
}

#[test]
fn debug_output_explains_state_without_closures() {
    let signal: Signal = Signal::builder(())
        .name("orders")
        .mode(Mode::Batched)
        .build();
    let connection = signal.connect(|_: Event| {});
    let _blocked = connection.block();
    let shown = format!("{signal:?}");
    for part in ["orders", "connections: 1", "Batched", "closed: false"] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
    assert!(format!("{connection:?}").contains("connected: true"));
    let filter: Filter = Filter::new().key("k");
    assert!(format!("{filter:?}").contains("\"k\""));
    assert!(format!("{:?}", signal.send().key("k")).contains("\"k\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_sends_callbacks_failures_and_pruned_connections() {
    struct Owner;
    let signal: Signal = Signal::builder(())
        .on_error(|_: &signal_dispatch::Failure| {})
        .build();
    signal.connect(|_: Event| {});
    signal.connect(|_: Event| -> Result<(), &'static str> { Err("no") });
    for _ in 0..10 {
        signal.send().schedule().unwrap();
    }
    signal.send().key("x").wait().await.unwrap();
    signal.drained().await;
    let owner = Arc::new(Owner);
    signal.connect(weak(&owner, |_: &Owner, _: Event| {}));
    drop(owner);
    signal.prune();
    let stats = signal.stats();
    assert_eq!(stats.sends, 11);
    assert_eq!(stats.scheduled, 22);
    assert_eq!(stats.completed, 22);
    assert_eq!(stats.failed, 11);
    assert_eq!(stats.pruned, 1);
}

#[test]
fn interest_follows_connects_disconnects_and_owner_deaths() {
    let signal: Signal = Signal::new();
    let keyed = signal.connect_filtered(Filter::new().keys(["a", "b"]), |_: Event| {});
    let owner = Arc::new(());
    signal.connect_filtered(
        Filter::new().key("c"),
        signal_dispatch::weak(&owner, |_: &(), _: Event| {}),
    );
    let mut keys = signal.interest().keys;
    keys.sort();
    assert_eq!(keys, ["a", "b", "c"]);
    assert!(!signal.interest().unfiltered);

    keyed.disconnect();
    assert_eq!(signal.interest().keys, ["c"]);
    drop(owner);
    assert!(
        signal.interest().keys.is_empty(),
        "a dead owner listens to nothing"
    );
    let all = signal.connect(|_: Event| {});
    assert!(signal.interest().unfiltered);
    all.disconnect();
    assert!(!signal.interest().unfiltered);
}

#[test]
fn interest_watch_wakes_on_a_change_from_another_thread_and_ends_with_the_signal() {
    let signal: Signal = Signal::new();
    let mut watch = signal.watch_interest();
    futures::executor::block_on(async {
        assert_eq!(watch.changed().await.map(|i| i.keys.len()), Some(0));
        let remote = signal.clone();
        let connector = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            remote.connect_filtered(Filter::new().key("late"), |_: Event| {});
        });
        let interest = watch.changed().await.expect("the signal is alive");
        connector.join().unwrap();
        // Coalesced: the change may be seen before or after the key lands.
        let interest = if interest.keys.is_empty() {
            watch.changed().await.unwrap()
        } else {
            interest
        };
        assert_eq!(interest.keys, ["late"]);
        drop(signal);
        assert!(watch.changed().await.is_none());
    });
}

#[test]
fn stats_stay_exact_as_threads_come_and_go_and_outnumber_the_owned_shards() {
    // Each thread counts on a shard of its own while there are some free
    // (with plain stores: no other thread may write it), else on a shared
    // one; a thread that ends gives its shard to the next. Three waves of
    // twelve threads, more than there are shards of their own, each
    // sending at once, lose no count.
    const WAVES: usize = 3;
    const THREADS: usize = 12;
    const SENDS: usize = 2_000;
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    for _ in 0..2 {
        signal.connect(|_: &Event| {});
    }
    for _ in 0..WAVES {
        let start = std::sync::Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    start.wait();
                    for _ in 0..SENDS {
                        signal.send().call().unwrap();
                    }
                });
            }
        });
    }
    let sends = (WAVES * THREADS * SENDS) as u64;
    let stats = signal.stats();
    assert_eq!(
        (stats.sends, stats.scheduled, stats.completed),
        (sends, 2 * sends, 2 * sends)
    );
    assert_eq!(signal.in_flight(), 0);
}

#[test]
fn a_send_from_a_thread_local_destructor_is_counted() {
    // Thread-locals are destroyed in no fixed order: this one's send may
    // come after the thread gave its shard back. It is counted either way.
    struct SendsOnDrop(std::cell::RefCell<Option<Signal>>);
    impl Drop for SendsOnDrop {
        fn drop(&mut self) {
            if let Some(signal) = self.0.borrow_mut().take() {
                assert_eq!(signal.send().call().unwrap().scheduled(), 1);
            }
        }
    }
    thread_local! {
        static LAST_WORDS: SendsOnDrop = const { SendsOnDrop(std::cell::RefCell::new(None)) };
    }
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    signal.connect(|_: &Event| {});
    for order in 0..2 {
        let signal = signal.clone();
        std::thread::spawn(move || {
            // Registered before or after the thread's shard is taken.
            if order == 0 {
                LAST_WORDS.with(|last| *last.0.borrow_mut() = Some(signal.clone()));
            }
            signal.send().call().unwrap();
            if order == 1 {
                LAST_WORDS.with(|last| *last.0.borrow_mut() = Some(signal));
            }
        })
        .join()
        .unwrap();
    }
    let stats = signal.stats();
    assert_eq!((stats.sends, stats.completed), (4, 4));
}
