//! Memory: a spent send builder frees whatever it held, even on the fast
//! path of an unfiltered `call`, which skips its drop when it names nothing.
//! One test alone in its binary, so that the allocator's counts are its own.

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use signal_dispatch::{Event, Signal};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Keys that promise (in their size hint) more than they give: none.
struct Unkept;

impl Iterator for Unkept {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (64, None)
    }
}

/// Bytes allocated and not freed since the region began.
fn net(region: &Region<'_, System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize + change.bytes_reallocated
}

#[test]
fn calls_naming_no_key_leave_memory_where_it_started_even_after_a_broken_size_hint() {
    let signal: Signal = Signal::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    signal.connect(move |_: &Event| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    // One call of each kind first, so that everything made once is made.
    signal.send().call().unwrap();
    signal.send().keys(Unkept).call().unwrap();

    let region = Region::new(GLOBAL);
    for _ in 0..1_000 {
        let report = signal.send().keys(Unkept).call().unwrap();
        assert_eq!(
            report.scheduled(),
            1,
            "no key named: the send is unfiltered"
        );
        signal.send().call().unwrap();
    }
    let left = net(&region);
    assert_eq!(runs.load(Ordering::Relaxed), 2 + 2_000);
    // Reserving for 64 keys puts a list on the heap; left there, each send
    // would leak it (over 1.5 KiB).
    assert!(left <= 0, "{left} bytes left after 2,000 calls");
}
