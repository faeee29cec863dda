//! The routing table on its own, with a target that is not a callback, as
//! other front ends (the Python module) use it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_dispatch::Filter;
use signal_dispatch::router::{Router, Selection, Target};

/// A target that can be marked dead, like a Python weak reference.
struct Named {
    name: &'static str,
    live: AtomicBool,
}

impl Target for Named {
    fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }
}

fn named(name: &'static str) -> Named {
    Named {
        name,
        live: AtomicBool::new(true),
    }
}

fn selected(router: &Router<Named, u32>, keys: &[u32], senders: &[usize]) -> Vec<&'static str> {
    let mut out = Selection::new();
    router.select(keys, senders, &mut out);
    let mut names: Vec<_> = out.iter().map(|slot| slot.target().name).collect();
    names.sort();
    names
}

#[test]
fn select_unions_routes_and_deduplicates() {
    let router: Router<Named, u32> = Router::new();
    let sender = Arc::new(());
    let address = Arc::as_ptr(&sender) as usize;
    router.insert(named("all"), &Filter::new());
    router.insert(named("one-two"), &Filter::new().keys([1_u32, 2]));
    router.insert(
        named("sender-or-3"),
        &Filter::new().sender(&sender).key(3_u32),
    );
    assert_eq!(selected(&router, &[], &[]), ["all"]);
    assert_eq!(selected(&router, &[1, 2, 2], &[]), ["all", "one-two"]);
    assert_eq!(selected(&router, &[3], &[address]), ["all", "sender-or-3"]);
    assert_eq!(selected(&router, &[9], &[address + 8]), ["all"]);
    assert_eq!(router.count_key(&1), 1);
    assert_eq!(router.count_sender(address), 1);
    assert_eq!(router.count_unfiltered(), 1);
}

#[test]
fn a_dead_target_is_never_selected_and_is_swept() {
    let router: Router<Named, u32> = Router::new();
    let slot = router.insert(named("mortal"), &Filter::new().key(1_u32));
    slot.target().live.store(false, Ordering::SeqCst);
    assert!(selected(&router, &[1], &[]).is_empty());
    assert_eq!(router.len(), 1);
    assert_eq!(router.prune(), 1);
    assert!(router.is_empty());
    assert!(!slot.is_connected());
}

/// A target whose mark (bit 0) pins it: live whatever it says of itself.
struct Pinnable {
    pinned: bool,
}

impl Target for Pinnable {
    fn is_live(&self) -> bool {
        false
    }

    fn marks(&self) -> u8 {
        u8::from(self.pinned)
    }

    fn is_live_with(&self, marks: u8) -> bool {
        marks & 1 != 0 || self.is_live()
    }
}

#[test]
fn the_router_asks_a_target_whether_it_lives_with_the_marks_it_gave() {
    let router: Router<Pinnable, u32> = Router::new();
    let pinned = router.insert(Pinnable { pinned: true }, &Filter::new().key(1_u32));
    // Dead from the start: swept by its own insertion.
    let unpinned = router.insert(Pinnable { pinned: false }, &Filter::new().key(1_u32));
    assert_eq!((pinned.marks(), unpinned.marks()), (1, 0));
    assert!(pinned.is_connected() && !unpinned.is_connected());
    assert_eq!((router.len(), router.pruned()), (1, 1));
    let mut out = Selection::new();
    router.select(&[1], &[], &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id(), pinned.id());
    assert_eq!(router.prune(), 0);
    assert_eq!(router.count_key(&1), 1);
}

#[test]
fn a_slot_of_another_router_is_foreign_everywhere() {
    let a: Router<Named, u32> = Router::new();
    let b: Router<Named, u32> = Router::new();
    let slot = a.insert(named("a"), &Filter::new().key(1_u32));
    assert!(!b.remove(&slot));
    assert!(!b.remove_routes(&slot, &Filter::new().key(1_u32)));
    assert!(!b.add_routes(&slot, &Filter::new().key(2_u32)));
    assert!(slot.is_connected());
    assert!(a.remove(&slot));
    assert!(!a.remove(&slot));
}

#[test]
fn buckets_grow_past_the_small_size_and_shrink_to_nothing() {
    let router: Router<Named, u32> = Router::new();
    let slots: Vec<_> = (0..100)
        .map(|_| router.insert(named("n"), &Filter::new().key(7_u32)))
        .collect();
    let unfiltered: Vec<_> = (0..100)
        .map(|_| router.insert(named("u"), &Filter::new()))
        .collect();
    assert_eq!(router.count_key(&7), 100);
    assert_eq!(selected(&router, &[7], &[]).len(), 200);
    for slot in slots.iter().chain(&unfiltered).step_by(2) {
        assert!(router.remove(slot));
    }
    assert_eq!(selected(&router, &[7], &[]).len(), 100);
    for slot in slots.iter().chain(&unfiltered) {
        router.remove(slot);
    }
    assert_eq!(router.count_key(&7), 0);
    assert!(selected(&router, &[7], &[]).is_empty());
    assert!(router.is_empty());
}

#[test]
fn clear_disconnects_everything_and_the_router_stays_usable() {
    let router: Router<Named, u32> = Router::new();
    let slot = router.insert(named("x"), &Filter::new().key(1_u32));
    assert_eq!(router.clear(), 1);
    assert!(!slot.is_connected());
    assert!(selected(&router, &[1], &[]).is_empty());
    router.insert(named("y"), &Filter::new().key(1_u32));
    assert_eq!(selected(&router, &[1], &[]), ["y"]);
}
