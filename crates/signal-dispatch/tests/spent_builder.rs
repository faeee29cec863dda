//! Memory: a spent send builder frees whatever it held, even on the fast
//! paths of unfiltered sends (`call` and inline `wait`), which skip its drop
//! when it names nothing; so does a wait dropped before it was polled. One
//! test alone in its binary, so that the allocator's counts are its own.

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use signal_dispatch::{Event, Mode, Signal};
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
fn sends_leave_memory_where_it_started_even_after_a_broken_size_hint() {
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    signal.connect(move |_: &Event| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    // Four sends that run the callback, and a wait never polled.
    let round = |expected: usize| {
        let report = signal.send().keys(Unkept).call().unwrap();
        assert_eq!(
            report.scheduled(),
            1,
            "no key named: the send is unfiltered"
        );
        signal.send().call().unwrap();
        let report = futures::executor::block_on(signal.send().keys(Unkept).wait()).unwrap();
        assert_eq!(report.scheduled(), 1);
        futures::executor::block_on(signal.send().wait()).unwrap();
        // Its key, a string on the heap, is freed with it.
        drop(signal.send().key("never sent").wait());
        expected + 4
    };
    // One round first, so that everything made once is made.
    let mut expected = round(0);

    let region = Region::new(GLOBAL);
    for _ in 0..1_000 {
        expected = round(expected);
    }
    let left = net(&region);
    assert_eq!(runs.load(Ordering::Relaxed), expected);
    // Reserving for 64 keys puts a list on the heap: left there, each send
    // naming those keys would leak it (over 1.5 KiB); and each wait dropped
    // unpolled would leak its key's string.
    assert!(left <= 0, "{left} bytes left after 5,000 sends");
}
