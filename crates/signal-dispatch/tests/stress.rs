//! Stress: 8 threads connecting, disconnecting and sending (scheduled, or
//! called synchronously) at once for a bounded time, with exact accounting.
//! Each mode runs twice: with callbacks taking the event by value and sends
//! giving arguments, and with callbacks borrowing it and sends leaving the
//! defaults, the sends that lend their event. `STRESS_SECS` sets the
//! duration (2 s by default; the reliability matrix asks for 10).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use signal_dispatch::{Connection, Event, Filter, Mode, Signal};

const THREADS: usize = 8;
const KEYS: [&str; 4] = ["a", "b", "c", "d"];

fn duration() -> Duration {
    let secs = std::env::var("STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// A small, fast, per-thread pseudo-random generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn eight_threads_connecting_disconnecting_and_sending_account_exactly() {
    stress(Mode::Spawned, Events::Shared);
}

/// The same in batched mode, one task per send. (In both modes a send
/// naming no key runs from the router's shared snapshot of unfiltered
/// connections, rebuilt as connections come and go.)
#[test]
fn eight_threads_connecting_disconnecting_and_sending_in_batches_account_exactly() {
    stress(Mode::Batched, Events::Shared);
}

/// The same with every send called synchronously (`call`) on the sending
/// thread: callbacks run on the eight threads themselves.
#[test]
fn eight_threads_connecting_disconnecting_and_calling_synchronously_account_exactly() {
    stress(Mode::Inline, Events::Shared);
}

/// Spawned, with lent events: a send reaching one callback lends it the
/// event from its task.
#[test]
fn eight_threads_sending_lent_events_account_exactly() {
    stress(Mode::Spawned, Events::Lent);
}

/// Batched, with lent events: an unfiltered send's task lends every
/// callback of its snapshot the event.
#[test]
fn eight_threads_sending_lent_events_in_batches_account_exactly() {
    stress(Mode::Batched, Events::Lent);
}

/// Called, with lent events: each send lends its callbacks the event from
/// its own stack frame.
#[test]
fn eight_threads_calling_with_lent_events_account_exactly() {
    stress(Mode::Inline, Events::Lent);
}

/// How the stress's callbacks take the event, and so whether sends lend it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Events {
    /// By value, from sends giving their sequence number as argument.
    Shared,
    /// Borrowed, from sends with the default arguments: a called send's
    /// sequence number is left in [`CALLING`] for its callbacks instead.
    Lent,
}

thread_local! {
    /// The sequence number of the send this thread is calling (0 if none).
    static CALLING: Cell<u64> = const { Cell::new(0) };
}

/// Sends are scheduled in `mode`, or, for [`Mode::Inline`], called.
fn stress(mode: Mode, events: Events) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // The argument of each send is its sequence number.
    let signal: Signal<u64> = Signal::builder(0)
        .runtime(runtime.handle().clone())
        .mode(mode)
        .build();
    let sequence = Arc::new(AtomicU64::new(1));
    let ran = Arc::new(AtomicUsize::new(0));
    let late_runs = Arc::new(AtomicUsize::new(0));
    let scheduled = AtomicUsize::new(0);
    let (connects, disconnects, sends) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let deadline = Instant::now() + duration();

    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (signal, sequence, ran, late_runs) = (&signal, &sequence, &ran, &late_runs);
            let (scheduled, connects, disconnects, sends) =
                (&scheduled, &connects, &disconnects, &sends);
            scope.spawn(move || {
                let mut rng =
                    Rng(0x9E37_79B9_7F4A_7C15
                        ^ (thread as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
                // Each connection: its handle, and the sequence number taken
                // right after its disconnect returned (0 while connected).
                let mut mine: Vec<(Connection<u64>, Arc<AtomicU64>)> = Vec::new();
                while Instant::now() < deadline {
                    match rng.below(10) {
                        0..=2 => {
                            let disconnected_at = Arc::new(AtomicU64::new(0));
                            let (d, r, l) =
                                (disconnected_at.clone(), ran.clone(), late_runs.clone());
                            // A run for a send that began after the disconnect
                            // returned is late.
                            let run = move |send: u64| {
                                let at = d.load(Ordering::SeqCst);
                                if at != 0 && send > at {
                                    l.fetch_add(1, Ordering::SeqCst);
                                }
                                r.fetch_add(1, Ordering::SeqCst);
                            };
                            let filter = match rng.below(3) {
                                0 => Filter::new(),
                                _ => Filter::new().key(KEYS[rng.below(KEYS.len())]),
                            };
                            let connection = match events {
                                Events::Shared => signal
                                    .connect_filtered(filter, move |event: Event<u64>| {
                                        run(*event.args())
                                    }),
                                // Only a called send's number is known here (0,
                                // never late, for a scheduled one).
                                Events::Lent => signal
                                    .connect_filtered(filter, move |_: &Event<u64>| {
                                        run(CALLING.get())
                                    }),
                            };
                            mine.push((connection, disconnected_at));
                            connects.fetch_add(1, Ordering::Relaxed);
                        }
                        3..=4 if !mine.is_empty() => {
                            let (connection, disconnected_at) =
                                mine.swap_remove(rng.below(mine.len()));
                            assert!(connection.disconnect());
                            disconnected_at
                                .store(sequence.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
                            disconnects.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            let send = sequence.fetch_add(1, Ordering::SeqCst);
                            // One send in four names no key: only the
                            // unfiltered connections receive it.
                            let mut builder = signal.send();
                            if events == Events::Shared {
                                builder = builder.args(send);
                            }
                            if rng.below(4) != 0 {
                                builder = builder.key(KEYS[rng.below(KEYS.len())]);
                            }
                            let count = if mode == Mode::Inline {
                                CALLING.set(send);
                                let report = builder.call().unwrap();
                                CALLING.set(0);
                                assert!(report.is_success(), "{report:?}");
                                report.scheduled()
                            } else {
                                builder.schedule().unwrap()
                            };
                            scheduled.fetch_add(count, Ordering::SeqCst);
                            sends.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                for (connection, _) in mine {
                    assert!(connection.disconnect());
                }
            });
        }
    });
    runtime.block_on(signal.drained());
    let (ran, scheduled) = (ran.load(Ordering::SeqCst), scheduled.load(Ordering::SeqCst));
    eprintln!(
        "stress ({mode:?}, {events:?} events): {} threads, {:?}: {} connects, {} disconnects, {} sends, {} callbacks run",
        THREADS,
        duration(),
        connects.load(Ordering::Relaxed),
        disconnects.load(Ordering::Relaxed),
        sends.load(Ordering::Relaxed),
        ran
    );
    assert!(
        sends.load(Ordering::Relaxed) > 1_000,
        "the stress did real work"
    );
    assert_eq!(
        ran, scheduled,
        "every scheduled callback ran, and only those"
    );
    assert_eq!(
        late_runs.load(Ordering::SeqCst),
        0,
        "no run from a send begun after its disconnect returned"
    );
    assert_eq!(signal.len(), 0, "no connection left");
    assert_eq!(signal.stats().completed as usize, ran);
}
