//! Loom models of the routing table's concurrency: every interleaving (up
//! to a preemption bound) of a send with a disconnect, a connect, an owner's
//! death, a block, and of two sends racing for a `connect_once` callback;
//! and of `drained` waiting on a send it saw begin: called, awaited,
//! spawned or batched (a spawned task runs on a loom thread of its own).
//!
//! Run with `./scripts/loom.sh` (`RUSTFLAGS="--cfg signal_dispatch_loom"`):
//! the crate's sync shim then uses loom's atomics and mutexes. Sends run in
//! `Mode::Inline`, or spawn onto loom threads, so no runtime is involved. `Arc`/`Weak` reference counts
//! and the lock-free maps are not modeled (see `src/sync.rs`).
#![cfg(signal_dispatch_loom)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::atomic::AtomicBool;
use signal_dispatch::{Connection, Event, Filter, Mode, Signal, weak};

fn inline_signal() -> Signal<(), String> {
    Signal::builder(()).mode(Mode::Inline).build()
}

/// Runs a send to completion on this (loom) thread; returns how many
/// callbacks it ran.
fn send(signal: &Signal<(), String>, key: Option<&str>) -> usize {
    let mut builder = signal.send();
    if let Some(key) = key {
        builder = builder.key(key);
    }
    let report = run(builder.wait()).expect("an inline send succeeds");
    report.values().len()
}

/// Polls `future` to completion on this loom thread, yielding to the other
/// threads while it is pending (futures' `block_on` can't nest on the one
/// OS thread loom runs its threads on).
fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        loom::thread::yield_now();
    }
}

/// Checks `body` under every interleaving loom explores, and asserts it
/// explored more than one (a model loom can't preempt proves nothing).
fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        body();
    });
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("explored {runs} interleavings");
    assert!(runs > 1, "loom explored a single interleaving");
}

#[test]
fn send_racing_disconnect_runs_the_callback_at_most_once_and_never_after_disconnect() {
    model(|| {
        let signal = inline_signal();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let connection =
            signal.connect_filtered(Filter::new().key("k"), move |_: Event<(), String>| {
                counted.fetch_add(1, Ordering::SeqCst);
            });
        let disconnected = Arc::new(AtomicBool::new(false));

        let sender = {
            let signal = signal.clone();
            let disconnected = disconnected.clone();
            loom::thread::spawn(move || {
                let began_after_disconnect = disconnected.load(Ordering::SeqCst);
                let ran = send(&signal, Some("k"));
                (began_after_disconnect, ran)
            })
        };
        connection.disconnect();
        disconnected.store(true, Ordering::SeqCst);
        let (began_after_disconnect, ran) = sender.join().unwrap();

        assert_eq!(
            ran,
            runs.load(Ordering::SeqCst),
            "the count is exactly the runs"
        );
        assert!(ran <= 1);
        if began_after_disconnect {
            assert_eq!(
                ran, 0,
                "a send that began after disconnect returned never runs it"
            );
        }
        assert_eq!(signal.len(), 0);
    });
}

#[test]
fn a_connect_racing_a_send_is_run_at_most_once_and_counted_exactly() {
    model(|| {
        let signal = inline_signal();
        let old = Arc::new(AtomicUsize::new(0));
        let new = Arc::new(AtomicUsize::new(0));
        let counted = old.clone();
        signal.connect(move |_: Event<(), String>| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let sender = {
            let signal = signal.clone();
            loom::thread::spawn(move || send(&signal, None))
        };
        let counted = new.clone();
        signal.connect(move |_: Event<(), String>| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let ran = sender.join().unwrap();

        assert_eq!(
            old.load(Ordering::SeqCst),
            1,
            "the existing connection runs once"
        );
        assert!(new.load(Ordering::SeqCst) <= 1);
        assert_eq!(ran, old.load(Ordering::SeqCst) + new.load(Ordering::SeqCst));
        assert_eq!(signal.len(), 2);
    });
}

struct Owner {
    alive: Arc<std::sync::atomic::AtomicBool>,
    runs: Arc<AtomicUsize>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

#[test]
fn an_owner_dying_during_a_send_never_has_its_method_run_dead() {
    model(|| {
        let signal = inline_signal();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let runs = Arc::new(AtomicUsize::new(0));
        let owner = Arc::new(Owner {
            alive: alive.clone(),
            runs: runs.clone(),
        });
        signal.connect(weak(&owner, |owner: &Owner, _: Event<(), String>| {
            assert!(
                owner.alive.load(Ordering::SeqCst),
                "a method ran on a dead owner"
            );
            owner.runs.fetch_add(1, Ordering::SeqCst);
        }));
        let sender = {
            let signal = signal.clone();
            loom::thread::spawn(move || send(&signal, None))
        };
        // This thread sends too, then drops the owner while the other
        // send may be anywhere in its course.
        let here = send(&signal, None);
        drop(owner);
        let there = sender.join().unwrap();

        assert_eq!(here, 1, "the owner was alive for this send");
        assert_eq!(
            here + there,
            runs.load(Ordering::SeqCst),
            "counts are exactly the runs"
        );
        assert!(there <= 1);
        assert!(
            !alive.load(Ordering::SeqCst),
            "the owner is dropped once the send is done"
        );
        signal.prune();
        assert_eq!(signal.len(), 0);
    });
}

#[test]
fn connect_once_runs_exactly_once_under_two_racing_sends() {
    model(|| {
        let signal = inline_signal();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        signal.connect_once(move |_: Event<(), String>| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let other = {
            let signal = signal.clone();
            loom::thread::spawn(move || send(&signal, None))
        };
        let here = send(&signal, None);
        let there = other.join().unwrap();

        assert_eq!(runs.load(Ordering::SeqCst), 1, "exactly one send has it");
        assert_eq!(here + there, 1, "and only that send counts it");
        signal.prune();
        assert_eq!(signal.len(), 0);
    });
}

/// Races `change` (made on this thread) against a thread sending twice,
/// unfiltered, to one connection whose snapshot a send already found all
/// runnable, so the next sends may skip looking at its state (the router's
/// sequence lock over states). The first racing send may look while the
/// change is under way; the second may trust what the first found.
///
/// With `leased`, the sending thread holds a lease, so its sends hold the
/// snapshot under the lease's hazard, which the change's replacement of
/// the snapshot must see or be seen by.
///
/// Checks that the count is exactly the runs, and that a second send that
/// began after `change` returned, or after `seen` reported the change,
/// never ran the callback. Returns what `change` returned, and the signal.
fn race_a_change_against_two_unfiltered_sends<G>(
    leased: bool,
    change: impl FnOnce(&Connection<(), String>) -> G,
    seen: impl Fn(&Connection<(), String>) -> bool + Send + 'static,
) -> (G, Signal<(), String>) {
    let signal = inline_signal();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let connection = signal.connect(move |_: &Event<(), String>| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    // Found all runnable: the next sends may skip the look.
    assert_eq!(send(&signal, None), 1);
    let changed = Arc::new(AtomicBool::new(false));

    let sender = {
        let signal = signal.clone();
        let changed = changed.clone();
        let connection = connection.clone();
        loom::thread::spawn(move || {
            if leased {
                signal_dispatch::model_lease(0);
            }
            let first = send(&signal, None);
            let after = changed.load(Ordering::SeqCst) || seen(&connection);
            let second = send(&signal, None);
            (first, after, second)
        })
    };
    let made = change(&connection);
    changed.store(true, Ordering::SeqCst);
    let (first, began_after_change, second) = sender.join().unwrap();

    let counted = runs.load(Ordering::SeqCst);
    assert_eq!(1 + first + second, counted, "the count is exactly the runs");
    if began_after_change {
        assert_eq!(
            second, 0,
            "a send that began after the change never runs it"
        );
    }
    (made, signal)
}

#[test]
fn a_send_racing_a_block_never_runs_the_callback_once_the_block_is_seen() {
    model(|| {
        let (guard, signal) = race_a_change_against_two_unfiltered_sends(
            false,
            Connection::block,
            Connection::is_blocked,
        );
        assert_eq!(send(&signal, None), 0, "blocked");
        drop(guard);
        assert_eq!(send(&signal, None), 1, "unblocked");
    });
}

fn an_unfiltered_send_racing_a_disconnect(leased: bool) {
    model(move || {
        let (disconnected, signal) = race_a_change_against_two_unfiltered_sends(
            leased,
            Connection::disconnect,
            |connection| !connection.is_connected(),
        );
        assert!(disconnected);
        assert_eq!(send(&signal, None), 0);
    });
}

#[test]
fn an_unfiltered_send_racing_a_disconnect_never_runs_the_callback_once_it_is_seen() {
    an_unfiltered_send_racing_a_disconnect(false);
}

#[test]
fn an_unfiltered_send_under_a_hazard_racing_a_disconnect_never_runs_the_callback_once_it_is_seen() {
    an_unfiltered_send_racing_a_disconnect(true);
}

/// A send's beginning is counted with relaxed ordering: a thread that sees
/// anything the send did after it (here, its callback starting) sees the
/// send in flight, so `drained` returns only after the send's end, and is
/// woken by it. `send` makes the send and returns how many it scheduled.
///
/// With `leased`, the sending thread holds a lease: an inline send's end is
/// then counted with a store, ordered by the let-go of its snapshot.
fn drained_waits_for_a_send_whose_callback_it_saw_start(
    mode: Mode,
    leased: bool,
    send: fn(&Signal<(), String>) -> usize,
) {
    model(move || {
        let signal = Signal::builder(())
            .mode(mode)
            .spawner(spawn_on_a_loom_thread)
            .build();
        let started = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
        let finished = Arc::new(AtomicBool::new(false));
        {
            let (started, finished) = (started.clone(), finished.clone());
            signal.connect(move |_: &Event<(), String>| {
                *started.0.lock().unwrap() = true;
                started.1.notify_one();
                finished.store(true, Ordering::Release);
            });
        }
        if leased {
            // A first send builds the snapshot, which later ones hold under
            // their hazard (one that builds it holds a count of its own).
            assert_eq!(send(&signal), 1);
            *started.0.lock().unwrap() = false;
            finished.store(false, Ordering::Release);
        }
        let sender = {
            let signal = signal.clone();
            loom::thread::spawn(move || {
                if leased {
                    signal_dispatch::model_lease(0);
                }
                send(&signal)
            })
        };
        let mut seen = started.0.lock().unwrap();
        while !*seen {
            seen = started.1.wait(seen).unwrap();
        }
        drop(seen);
        run(signal.drained());
        assert!(
            finished.load(Ordering::Acquire),
            "drained returned while the send's callback ran"
        );
        assert_eq!(sender.join().unwrap(), 1);
        assert_eq!(signal.in_flight(), 0);
    });
}

/// Runs a spawned send's task on a loom thread of its own.
fn spawn_on_a_loom_thread(task: signal_dispatch::Task) -> Result<(), signal_dispatch::SpawnError> {
    drop(loom::thread::spawn(move || run(task)));
    Ok(())
}

#[test]
fn drained_waits_for_a_called_send_whose_callback_it_saw_start() {
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Inline, false, |signal| {
        signal.send().call().unwrap().scheduled()
    });
}

#[test]
fn drained_waits_for_a_called_send_under_a_hazard_whose_callback_it_saw_start() {
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Inline, true, |signal| {
        signal.send().call().unwrap().scheduled()
    });
}

#[test]
fn drained_waits_for_an_awaited_send_whose_callback_it_saw_start() {
    // The awaited send to callbacks that borrow the event is made in the
    // wait's own poll, not by `call`: the same counts, from another path.
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Inline, false, |signal| {
        run(signal.send().wait()).unwrap().scheduled()
    });
}

#[test]
fn drained_waits_for_an_awaited_send_under_a_hazard_whose_callback_it_saw_start() {
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Inline, true, |signal| {
        run(signal.send().wait()).unwrap().scheduled()
    });
}

#[test]
fn drained_waits_for_a_spawned_send_whose_callback_it_saw_start() {
    // Begun on the sending thread, ended by its task on another.
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Spawned, false, |signal| {
        signal.send().schedule().unwrap()
    });
}

#[test]
fn drained_waits_for_a_batched_send_whose_callback_it_saw_start() {
    drained_waits_for_a_send_whose_callback_it_saw_start(Mode::Batched, false, |signal| {
        signal.send().schedule().unwrap()
    });
}
