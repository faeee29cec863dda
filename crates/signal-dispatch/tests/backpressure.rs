//! Backpressure: a limit on callbacks in flight per signal.

mod common;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_dispatch::{Event, Mode, Signal};

fn limit(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_signal_rejects_a_schedule_whole_and_gives_the_send_back() {
    let signal: Signal<u32> = Signal::builder(0).max_in_flight(limit(3)).build();
    for _ in 0..2 {
        signal.connect(|_: Event<u32>| {});
    }
    assert_eq!(signal.send().args(1).schedule().unwrap(), 2); // 2 of 3 in flight
    let error = signal.send().args(2).schedule().unwrap_err();
    assert!(error.is_full());
    assert_eq!(
        error.to_string(),
        "the signal's limit of callbacks in flight is reached"
    );
    assert_eq!(error.into_unsent().unwrap().into_args(), Some(2));
    signal.drained().await;
    assert_eq!(
        signal.send().args(3).schedule().unwrap(),
        2,
        "room again once they ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awaited_sends_wait_for_room_and_never_exceed_the_limit() {
    for mode in [Mode::Spawned, Mode::Batched, Mode::Inline] {
        let signal: Signal<u32> = Signal::builder(0)
            .mode(mode)
            .max_in_flight(limit(4))
            .build();
        let (current, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // One send alone reaches more callbacks than the limit.
        for _ in 0..10 {
            signal.connect(RunningCount::callback(&current, &peak));
        }
        let mut senders = Vec::new();
        for _ in 0..8 {
            let signal = signal.clone();
            senders.push(tokio::spawn(async move {
                signal.send().wait().await.unwrap().completed()
            }));
        }
        let mut completed = 0;
        for sender in senders {
            completed += tokio::time::timeout(common::PATIENCE, sender)
                .await
                .expect("no deadlock")
                .unwrap();
        }
        assert_eq!(completed, 80, "{mode:?}");
        assert!(
            peak.load(Ordering::SeqCst) <= 4,
            "{mode:?}: peak {}",
            peak.load(Ordering::SeqCst)
        );
        assert!(peak.load(Ordering::SeqCst) >= 1);
    }
}

#[test]
fn overload_from_eight_threads_keeps_in_flight_bounded() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let signal: Signal<u32> = Signal::builder(0)
        .runtime(runtime.handle().clone())
        .max_in_flight(limit(16))
        .build();
    let (current, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    signal.connect(RunningCount::callback(&current, &peak));
    let (accepted, rejected) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..2_000 {
                    match signal.send().schedule() {
                        Ok(n) => accepted.fetch_add(n, Ordering::SeqCst),
                        Err(e) if e.is_full() => rejected.fetch_add(1, Ordering::SeqCst),
                        Err(e) => panic!("{e}"),
                    };
                }
            });
        }
    });
    runtime.block_on(signal.drained());
    assert!(
        peak.load(Ordering::SeqCst) <= 16,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert!(rejected.load(Ordering::SeqCst) > 0, "the overload was real");
    assert_eq!(
        accepted.load(Ordering::SeqCst) + rejected.load(Ordering::SeqCst),
        16_000
    );
    assert_eq!(
        signal.stats().completed,
        accepted.load(Ordering::SeqCst) as u64
    );
}

/// The same overload with no limit: every send is accepted and every call
/// runs, exactly, however far the callbacks fall behind (memory then grows
/// with the backlog: the limit is what bounds it, see `overload_memory`).
#[test]
fn overload_from_eight_threads_without_a_limit_runs_every_call() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let signal: Signal<u32> = Signal::builder(0).runtime(runtime.handle().clone()).build();
    let (current, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    signal.connect(RunningCount::callback(&current, &peak));
    let accepted = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..2_000 {
                    let n = signal.send().schedule().expect("no limit: never full");
                    accepted.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    runtime.block_on(signal.drained());
    assert_eq!(accepted.load(Ordering::SeqCst), 16_000);
    assert_eq!(signal.stats().completed, 16_000);
    assert!(
        peak.load(Ordering::SeqCst) > 16,
        "without a limit the callbacks pile up (peak {})",
        peak.load(Ordering::SeqCst)
    );
}

/// A slow async callback counting how many of its calls run at once.
#[derive(Clone)]
struct RunningCount {
    current: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl RunningCount {
    /// A callback sharing these counters.
    fn callback(
        current: &Arc<AtomicUsize>,
        peak: &Arc<AtomicUsize>,
    ) -> impl Fn(Event<u32>) -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static
    {
        let this = RunningCount {
            current: current.clone(),
            peak: peak.clone(),
        };
        move |_| {
            let this = this.clone();
            Box::pin(async move {
                let now = this.current.fetch_add(1, Ordering::SeqCst) + 1;
                this.peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
                this.current.fetch_sub(1, Ordering::SeqCst);
            })
        }
    }
}
