//! Weak connections: a method runs only while its owner lives, and a dead
//! owner's connection is reclaimed without a send.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, Recorder, alive};
use signal_dispatch::{Event, Filter, Signal, weak};

struct Owner {
    recorder: Recorder,
    name: &'static str,
}

impl Owner {
    fn on_event(&self, _: Event) {
        self.recorder.record(self.name);
    }
}

#[tokio::test]
async fn a_weak_connection_does_not_keep_its_owner_alive() {
    let signal: Signal = Signal::new();
    let owner = Arc::new(Owner {
        recorder: Recorder::new(),
        name: "o",
    });
    signal.connect(weak(&owner, Owner::on_event));
    assert_eq!(Arc::strong_count(&owner), 1);
    assert_eq!(Arc::weak_count(&owner), 1);
}

#[tokio::test]
async fn a_dead_owners_callback_never_runs_and_is_not_counted() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let alive_owner = Arc::new(Owner {
        recorder: recorder.clone(),
        name: "alive",
    });
    let doomed = Arc::new(Owner {
        recorder: recorder.clone(),
        name: "doomed",
    });
    signal.connect(weak(&alive_owner, Owner::on_event));
    let connection = signal.connect(weak(&doomed, Owner::on_event));
    drop(doomed);
    assert!(!connection.is_connected());
    assert_eq!(signal.send().schedule().unwrap(), 1);
    assert_eq!(recorder.settle(1).await, ["alive"]);
}

#[test]
fn a_dead_owners_connection_is_reclaimed_without_any_send() {
    let signal: Signal = Signal::new();
    let owner = Arc::new(Owner {
        recorder: Recorder::new(),
        name: "o",
    });
    let dead = signal.connect(weak(&owner, Owner::on_event));
    drop(owner);
    assert!(
        !dead.is_connected(),
        "a dead owner's connection is over at once"
    );
    assert_eq!(signal.len(), 1, "its slot waits for the next sweep");
    // The next connect sweeps it away; no send involved.
    let keep = Arc::new(Owner {
        recorder: Recorder::new(),
        name: "k",
    });
    let kept = signal.connect(weak(&keep, Owner::on_event));
    assert_eq!(signal.len(), 1, "only the new connection is left");
    assert!(kept.is_connected());
}

#[test]
fn prune_reclaims_every_dead_owner_at_once() {
    let signal: Signal = Signal::new();
    let owners: Vec<_> = (0..100)
        .map(|_| {
            Arc::new(Owner {
                recorder: Recorder::new(),
                name: "o",
            })
        })
        .collect();
    for owner in &owners {
        signal.connect_filtered(Filter::new().key("k"), weak(owner, Owner::on_event));
    }
    let (dead, live): (Vec<_>, Vec<_>) = owners
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 3 == 0);
    drop(dead);
    assert_eq!(signal.prune(), 34);
    assert_eq!(signal.len(), 66);
    drop(live);
    assert_eq!(signal.prune(), 66);
    assert!(signal.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_scheduled_call_keeps_its_owner_alive_until_it_has_run() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let owner = Arc::new(Owner {
        recorder: recorder.clone(),
        name: "o",
    });
    let probe = Arc::downgrade(&owner);
    signal.connect(weak(&owner, Owner::on_event));
    assert_eq!(signal.send().schedule().unwrap(), 1);
    drop(owner);
    assert!(
        probe.upgrade().is_some(),
        "the scheduled call holds the owner"
    );
    recorder.wait(1).await;
    tokio::task::yield_now().await;
    assert!(probe.upgrade().is_none(), "released once the call ran");
    assert_eq!(signal.send().schedule().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_dying_on_other_threads_during_sends_never_run_dead() {
    // Each callback checks that its owner is alive while it runs: it can
    // only be called with a live `&Owner`, and the owner's drop flag is set
    // by its Drop impl.
    struct Checked {
        dropped: AtomicUsize,
        runs: Arc<AtomicUsize>,
    }
    impl Drop for Checked {
        fn drop(&mut self) {
            self.dropped.store(1, Ordering::SeqCst);
        }
    }
    impl Checked {
        fn on_event(&self, _: Event) {
            assert_eq!(
                self.dropped.load(Ordering::SeqCst),
                0,
                "ran on a dead owner"
            );
            self.runs.fetch_add(1, Ordering::SeqCst);
        }
    }

    let signal: Signal = Signal::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let scheduled = Arc::new(AtomicUsize::new(0));
    for _round in 0..50 {
        let owners: Vec<_> = (0..200)
            .map(|_| {
                Arc::new(Checked {
                    dropped: AtomicUsize::new(0),
                    runs: runs.clone(),
                })
            })
            .collect();
        for owner in &owners {
            signal.connect(weak(owner, Checked::on_event));
        }
        let (sender_signal, counted) = (signal.clone(), scheduled.clone());
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                counted.fetch_add(sender_signal.send().schedule().unwrap(), Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        });
        let dropper = std::thread::spawn(move || drop(owners));
        sender.await.unwrap();
        dropper.join().unwrap();
    }
    tokio::time::timeout(common::PATIENCE, async {
        while runs.load(Ordering::SeqCst) != scheduled.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every counted call runs, and only those");
    signal.prune();
    assert!(signal.is_empty());
}

#[test]
fn a_million_connect_and_drop_cycles_without_a_send_leave_nothing_behind() {
    let signal: Signal = Signal::new();
    for _ in 0..1_000_000 {
        let owner = Arc::new(Owner {
            recorder: Recorder::new(),
            name: "o",
        });
        signal.connect(weak(&owner, Owner::on_event));
    }
    // The sweep keeps at most the last dead connection around.
    assert!(signal.len() <= 1, "{} connections left", signal.len());
    signal.prune();
    assert!(signal.is_empty());
}

#[test]
fn strong_closures_capturing_an_owner_keep_it_alive() {
    let signal: Signal = Signal::new();
    let (counter, token) = DropCounter::new();
    let owner = Arc::new(counter);
    let held = owner.clone();
    let connection = signal.connect(move |_: Event| {
        let _ = &held;
    });
    drop(owner);
    assert_eq!(alive(&token), 1);
    connection.disconnect();
    assert_eq!(alive(&token), 0);
}

/// Matrix row 5 at full size: 100,000 weak owners in one round, a third
/// dropped before a send, a third dropped on another thread while sends
/// run, a third kept. Every send's count is exactly the calls that ran, and
/// once the owners are gone nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_owners_dying_before_and_during_sends_are_counted_exactly() {
    const OWNERS: usize = 100_000;
    struct Owner {
        runs: Arc<AtomicUsize>,
    }
    let signal: Signal = Signal::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut owners: Vec<Option<Arc<Owner>>> = (0..OWNERS)
        .map(|_| Some(Arc::new(Owner { runs: runs.clone() })))
        .collect();
    for owner in owners.iter().flatten() {
        signal.connect(weak(owner, |owner: &Owner, _: Event| {
            owner.runs.fetch_add(1, Ordering::Relaxed);
        }));
    }
    // A third die before any send.
    for owner in owners.iter_mut().step_by(3) {
        owner.take();
    }
    // Another third die on another thread while sends run.
    let doomed: Vec<Arc<Owner>> = owners
        .iter_mut()
        .skip(1)
        .step_by(3)
        .filter_map(Option::take)
        .collect();
    let dropper = std::thread::spawn(move || {
        for owner in doomed {
            drop(owner);
        }
    });
    let mut scheduled = 0;
    for _ in 0..4 {
        let report = signal.send().wait().await.unwrap();
        assert!(report.is_success());
        scheduled += report.scheduled();
    }
    dropper.join().unwrap();
    assert_eq!(
        runs.load(Ordering::Relaxed),
        scheduled,
        "counts are exactly the runs"
    );
    let kept = owners.iter().flatten().count();
    assert_eq!(kept, OWNERS / 3);
    let report = signal.send().wait().await.unwrap();
    assert_eq!(report.scheduled(), kept, "only live owners are reached");
    drop(owners);
    signal.prune();
    assert!(signal.is_empty());
}
