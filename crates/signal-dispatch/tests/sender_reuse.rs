//! Sender identity is safe against address reuse (the seed's `id()` bug,
//! Django #35801, blinker #30): a filter for a dead sender never matches a
//! new object, even one allocated at the same address.

use std::collections::HashSet;
use std::sync::Arc;

use signal_dispatch::{Event, Filter, Signal};

#[tokio::test]
async fn a_dead_senders_filter_never_matches_a_new_object() {
    let signal: Signal = Signal::new();
    let mut reused = 0;
    for round in 0..100_000_u64 {
        let old = Arc::new(round);
        let old_address = Arc::as_ptr(&old) as usize;
        let connection = signal.connect_filtered(Filter::new().sender(&old), |_: Event| {});
        drop(old);
        let new = Arc::new(round);
        if Arc::as_ptr(&new) as usize == old_address {
            reused += 1;
        }
        assert_eq!(
            signal.send().sender(&new).schedule().unwrap(),
            0,
            "round {round}"
        );
        connection.disconnect();
    }
    // While the filter exists it pins the dead sender's allocation, so the
    // allocator cannot hand that address to the new object at all.
    assert_eq!(reused, 0);
    assert!(signal.is_empty());
}

#[tokio::test]
async fn once_the_dead_route_is_pruned_a_reused_address_never_misroutes() {
    let signal: Signal = Signal::new();
    let mut addresses = HashSet::new();
    let mut reused = 0;
    for round in 0..100_000_u64 {
        let sender = Arc::new(round);
        if !addresses.insert(Arc::as_ptr(&sender) as usize) {
            reused += 1;
        }
        // The old connection outlives its sender through its key route.
        let old = signal.connect_filtered(Filter::new().sender(&sender).key("keep"), |_: Event| {});
        assert_eq!(signal.send().sender(&sender).schedule().unwrap(), 1);
        // Let the call run: its event holds the sender until then.
        tokio::task::yield_now().await;
        drop(sender);
        // Pruning drops the dead sender route, which frees the address.
        signal.prune();
        let stranger = Arc::new(round);
        assert_eq!(
            signal.send().sender(&stranger).schedule().unwrap(),
            0,
            "round {round}"
        );
        // A filter for the stranger matches it alone, never the old connection.
        let new = signal.connect_filtered(Filter::new().sender(&stranger), |_: Event| {});
        assert_eq!(
            signal.send().sender(&stranger).schedule().unwrap(),
            1,
            "round {round}"
        );
        assert_eq!(signal.send().key("keep").schedule().unwrap(), 1);
        tokio::task::yield_now().await;
        old.disconnect();
        new.disconnect();
    }
    assert!(
        reused > 0,
        "the allocator reused addresses, so the test exercised reuse"
    );
    assert!(signal.is_empty());
}

#[tokio::test]
async fn many_connections_sharing_a_key_connect_and_send_in_linear_time() {
    // 100k connections behind one key: each connect must not copy the
    // bucket (this took minutes when buckets were copy-on-write only).
    let signal: Signal = Signal::new();
    let connections: Vec<_> = (0..100_000)
        .map(|_| signal.connect_filtered(Filter::new().key("shared"), |_: Event| {}))
        .collect();
    assert_eq!(signal.send().key("shared").schedule().unwrap(), 100_000);
    for connection in &connections[..50_000] {
        assert!(connection.disconnect());
    }
    assert_eq!(signal.send().key("shared").schedule().unwrap(), 50_000);
}
