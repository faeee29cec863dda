//! Matrix row 8, memory: under overload with an in-flight limit, memory
//! stays bounded. Alone in its binary, so the process's RSS is this test's.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_dispatch::{Event, Signal};

/// Resident set size in bytes, from /proc (Linux).
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn overload_with_an_in_flight_limit_keeps_memory_bounded() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let limit = 256;
    let signal: Signal<Vec<u8>> = Signal::builder(vec![0; 1024])
        .max_in_flight(NonZeroUsize::new(limit).unwrap())
        .runtime(runtime.handle().clone())
        .build();
    let peak = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    {
        let (peak, in_flight) = (peak.clone(), in_flight.clone());
        signal.connect(move |_: Event<Vec<u8>>| {
            let (peak, in_flight) = (peak.clone(), in_flight.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_micros(200)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }
    // Warm up: let the runtime and allocator reach their steady state.
    let mut accepted = 0;
    let mut rejected = 0;
    let mut overload = |rounds: usize| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let signal = signal.clone();
                    scope.spawn(move || {
                        let (mut ok, mut full) = (0, 0);
                        for _ in 0..rounds {
                            match signal.send().args(vec![0; 1024]).schedule() {
                                Ok(_) => ok += 1,
                                Err(error) if error.is_full() => full += 1,
                                Err(error) => panic!("{error}"),
                            }
                        }
                        (ok, full)
                    })
                })
                .collect();
            for handle in handles {
                let (ok, full) = handle.join().unwrap();
                accepted += ok;
                rejected += full;
            }
        });
    };
    overload(20_000);
    let before = rss();
    overload(200_000);
    let after = rss();
    runtime.block_on(signal.drained());

    assert_eq!(accepted + rejected, 8 * 220_000);
    assert!(
        rejected > 0,
        "the senders outran the callbacks: an overload"
    );
    assert!(peak.load(Ordering::SeqCst) <= limit);
    // AddressSanitizer keeps freed memory in quarantine: RSS means nothing
    // under it (scripts/sanitize.sh says so through this variable).
    let sanitized = std::env::var_os("SIGNAL_DISPATCH_SANITIZER").is_some();
    if let (Some(before), Some(after), false) = (before, after, sanitized) {
        let growth = after.saturating_sub(before);
        println!(
            "1.76M sends of 1 KiB each against a limit of {limit}: {accepted} accepted, {rejected} rejected, \
             RSS {} KiB before, {} KiB after (+{} KiB)",
            before / 1024,
            after / 1024,
            growth / 1024
        );
        // Without the limit, the 1.6M sends of the measured part, each
        // holding its own 1 KiB argument while pending, would need over a
        // gigabyte; with it, a rejected send's argument is freed at once.
        assert!(
            growth < 16 << 20,
            "RSS grew by {} KiB under overload",
            growth / 1024
        );
    }
}
