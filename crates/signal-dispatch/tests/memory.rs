//! Memory: a million weak connect/drop cycles with no send in between leave
//! memory where it started (the reliability matrix's row 5). One test alone
//! in its binary, so that the allocator's counts are its own.

use std::alloc::System;
use std::sync::Arc;

use signal_dispatch::{Event, Signal, weak};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

struct Owner;

impl Owner {
    fn on_event(&self, _: Event) {}
}

/// Bytes allocated and not freed since the region began.
fn net(region: &Region<'_, System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize + change.bytes_reallocated
}

#[test]
fn a_million_weak_connect_and_drop_cycles_without_a_send_return_to_baseline() {
    let signal: Signal = Signal::new();
    // One cycle first, so the tables exist before the baseline is taken.
    {
        let owner = Arc::new(Owner);
        signal.connect(weak(&owner, Owner::on_event));
    }
    signal.prune();

    let region = Region::new(GLOBAL);
    let mut peak = 0;
    for cycle in 0..1_000_000 {
        let owner = Arc::new(Owner);
        signal.connect(weak(&owner, Owner::on_event));
        drop(owner);
        if cycle % 10_000 == 0 {
            peak = peak.max(net(&region));
        }
    }
    let before_prune = net(&region);
    signal.prune();
    let after_prune = net(&region);
    eprintln!("net bytes: peak {peak}, after 1M cycles {before_prune}, after prune {after_prune}");
    // The sweep keeps at most the last dead connection: a few hundred bytes.
    assert!(
        peak < 4_096,
        "memory grew during the cycles: peak {peak} bytes"
    );
    assert!(
        before_prune < 4_096,
        "{before_prune} bytes left after 1M cycles"
    );
    assert!(
        after_prune <= 0,
        "{after_prune} bytes above the baseline after prune"
    );
    assert!(signal.is_empty());
}
