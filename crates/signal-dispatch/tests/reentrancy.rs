//! Re-entrancy: callbacks and `Drop` impls may use every API of the signal
//! without deadlock, because no lock of ours is held while user code runs.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{PATIENCE, Recorder};
use signal_dispatch::{Connection, Event, Filter, Signal, weak};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_may_call_every_api_of_its_own_signal() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let depth = Arc::new(AtomicUsize::new(0));
    let own: Arc<Mutex<Option<Connection>>> = Arc::default();
    let (r, d, o) = (recorder.clone(), depth.clone(), own.clone());
    let connection = signal.connect(move |event: Event| {
        let signal = event.signal();
        let extra = signal.connect_filtered(Filter::new().key("extra"), |_: Event| {});
        extra.add_filter(Filter::new().key("more"));
        extra.remove_filter(Filter::new().key("more"));
        assert!(extra.disconnect());
        let _ = signal.len();
        let _ = signal.prune();
        let _ = format!("{signal:?}");
        if d.fetch_add(1, Ordering::SeqCst) < 3 {
            signal.send().schedule().unwrap(); // re-send, bounded
        } else if let Some(me) = o.lock().unwrap().take() {
            assert!(me.disconnect()); // disconnect itself
        }
        r.record("ran");
    });
    *own.lock().unwrap() = Some(connection);
    signal.send().schedule().unwrap();
    recorder.wait(4).await;
    assert_eq!(signal.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_disconnecting_each_other_and_themselves_mass_suicide() {
    let signal: Signal = Signal::new();
    let recorder = Recorder::new();
    let all: Arc<Mutex<Vec<Connection>>> = Arc::default();
    for _ in 0..50 {
        let (a, r) = (all.clone(), recorder.clone());
        let connection = signal.connect(move |_: Event| {
            for c in a.lock().unwrap().iter() {
                c.disconnect();
            }
            r.record("ran");
        });
        all.lock().unwrap().push(connection);
    }
    // All 50 were scheduled before any ran; each may run once.
    assert_eq!(signal.send().schedule().unwrap(), 50);
    recorder.wait(50).await;
    assert_eq!(signal.len(), 0);
    assert_eq!(signal.send().schedule().unwrap(), 0);
}

/// Disconnects its guard, and sends, when dropped.
struct Owner {
    signal: Signal,
    guard: Mutex<Option<signal_dispatch::ConnectionGuard>>,
    dropped: Arc<AtomicUsize>,
}

impl Owner {
    fn on_event(&self, _: Event) {}
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.guard.lock().unwrap().take(); // disconnects
        let _ = self.signal.connect(|_: Event| {}).disconnect();
        let _ = self.signal.send().schedule();
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_whose_drop_disconnects_may_die_inside_its_own_callback_task() {
    // The last Arc of each owner is the one the scheduled call holds, so the
    // owner's Drop runs inside the callback task, after the callback.
    let signal: Signal = Signal::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let owner = Arc::new(Owner {
            signal: signal.clone(),
            guard: Mutex::new(None),
            dropped: dropped.clone(),
        });
        let guard = signal.connect(weak(&owner, Owner::on_event)).guard();
        *owner.guard.lock().unwrap() = Some(guard);
        signal.send().schedule().unwrap();
        drop(owner);
    }
    tokio::time::timeout(PATIENCE, async {
        while dropped.load(Ordering::SeqCst) != 100 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("no deadlock: every owner dropped");
    signal.prune();
    assert_eq!(signal.len(), 0);
}

/// A captured value whose Drop disconnects from the signal it is captured by.
struct DisconnectOnDrop {
    connection: Arc<Mutex<Option<Connection>>>,
    other: Signal,
    dropped: Arc<AtomicUsize>,
}

impl Drop for DisconnectOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.connection.lock().unwrap().take() {
            c.disconnect();
        }
        self.other.connect(|_: Event| {});
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_callbacks_captures_runs_no_user_code_under_our_lock() {
    // Disconnecting drops the closure, whose capture's Drop calls back into
    // the same signal: this would deadlock if the drop happened under lock.
    let signal: Signal = Signal::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let handles: Vec<Arc<Mutex<Option<Connection>>>> = (0..10).map(|_| Arc::default()).collect();
    let mut connections = Vec::new();
    for handle in &handles {
        let capture = DisconnectOnDrop {
            connection: handles[0].clone(),
            other: signal.clone(),
            dropped: dropped.clone(),
        };
        let connection = signal.connect(move |_: Event| {
            let _ = &capture;
        });
        *handle.lock().unwrap() = Some(connection.clone());
        connections.push(connection);
    }
    for connection in &connections {
        connection.disconnect();
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 10);
    assert_eq!(signal.disconnect_all(), 10, "each drop connected one more");
    assert_eq!(dropped.load(Ordering::SeqCst), 10);
}

#[test]
fn two_signals_whose_callbacks_send_each_other_terminate_with_the_exact_count() {
    const DEPTH: usize = 200;
    const CHAINS: usize = 8;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ping: Signal<usize> = Signal::builder(0).runtime(runtime.handle().clone()).build();
    let pong: Signal<usize> = Signal::builder(0).runtime(runtime.handle().clone()).build();
    let runs = Arc::new(AtomicUsize::new(0));
    for (from, to) in [(&ping, &pong), (&pong, &ping)] {
        // Two callbacks per signal; only the first forwards, so each hop of
        // a chain runs exactly two callbacks.
        for forwards in [true, false] {
            // Weakly: two signals holding each other would be a cycle.
            let (to, runs) = (to.downgrade(), runs.clone());
            from.connect(move |event: Event<usize>| {
                runs.fetch_add(1, Ordering::SeqCst);
                let hop = *event.args();
                if let Some(to) = to.upgrade().filter(|_| forwards && hop < DEPTH) {
                    to.send().args(hop + 1).schedule().unwrap();
                }
            });
        }
    }
    // Start the chains from as many plain threads at once.
    std::thread::scope(|scope| {
        for _ in 0..CHAINS {
            scope.spawn(|| ping.send().args(0).schedule().unwrap());
        }
    });
    let expected = CHAINS * 2 * (DEPTH + 1);
    let deadline = std::time::Instant::now() + PATIENCE;
    while runs.load(Ordering::SeqCst) < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "chains stalled at {runs:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(runs.load(Ordering::SeqCst), expected);
}
