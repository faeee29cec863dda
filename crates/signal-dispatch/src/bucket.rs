//! Buckets: the slots behind one route (one key, one sender, or unfiltered).
//!
//! Most buckets hold one or a few slots: those are immutable lists, replaced
//! whole on each change (copy-on-write), the cheapest thing to read. A
//! bucket that grows past [`LARGE`] slots becomes a lock-free concurrent set
//! changed in place, so connecting or disconnecting one of N slots sharing a
//! route costs O(1), not O(N).

use std::fmt;

use crate::connection::ConnectionId;
use crate::router::{Selection, Slot, Target};
use crate::sync::Weak;

/// Above this many slots a bucket turns into a concurrent set.
const LARGE: usize = 32;

pub(crate) enum Bucket<T, K> {
    /// The common case: one slot, inline.
    One(Weak<Slot<T, K>>),
    /// A few slots. Boxed on purpose: a thin pointer keeps every bucket,
    /// one per key, at 16 bytes (a bare `Vec` would make it 32).
    #[allow(clippy::box_collection)]
    Small(Box<Vec<Weak<Slot<T, K>>>>),
    Large(Box<papaya::HashMap<ConnectionId, Weak<Slot<T, K>>>>),
}

/// What a writer must do after asking a bucket for a change.
pub(crate) enum Change<T, K> {
    /// The bucket changed itself (or needed no change).
    Done,
    /// Store this bucket in place of the old one.
    Replace(Bucket<T, K>),
    /// The bucket is now empty: remove it.
    Empty,
}

impl<T: Target, K> Bucket<T, K> {
    pub(crate) fn empty() -> Self {
        Bucket::Small(Box::default())
    }

    pub(crate) fn one(slot: &Weak<Slot<T, K>>) -> Self {
        Bucket::One(slot.clone())
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Bucket::One(_) => false,
            Bucket::Small(slots) => slots.is_empty(),
            Bucket::Large(slots) => slots.is_empty(),
        }
    }

    /// Appends every connected, live slot to `out`.
    pub(crate) fn collect_live(&self, out: &mut Selection<T, K>) {
        match self {
            // Pushed one by one: `extend`'s reservation costs more than
            // the push itself for the one or few slots of a route.
            Bucket::One(slot) => {
                if let Some(slot) = live(slot) {
                    out.push(slot);
                }
            }
            Bucket::Small(slots) => {
                for slot in slots.iter().filter_map(live) {
                    out.push(slot);
                }
            }
            Bucket::Large(slots) => out.extend(slots.pin().values().filter_map(live)),
        }
    }

    /// Appends every slot still alive, whatever its state (a snapshot's
    /// users check the state at each use).
    pub(crate) fn collect_all(&self, out: &mut Vec<crate::sync::Arc<Slot<T, K>>>) {
        match self {
            Bucket::One(slot) => out.extend(slot.upgrade()),
            Bucket::Small(slots) => out.extend(slots.iter().filter_map(Weak::upgrade)),
            Bucket::Large(slots) => out.extend(slots.pin().values().filter_map(Weak::upgrade)),
        }
    }

    /// Counts the connected slots with a live target (blocked ones too).
    pub(crate) fn count_live(&self) -> usize {
        let connected = |weak: &Weak<Slot<T, K>>| {
            weak.upgrade()
                .is_some_and(|slot| slot.is_connected() && slot.is_target_live())
        };
        match self {
            Bucket::One(slot) => usize::from(connected(slot)),
            Bucket::Small(slots) => slots.iter().filter(|w| connected(w)).count(),
            Bucket::Large(slots) => slots.pin().values().filter(|w| connected(w)).count(),
        }
    }

    /// Adds a slot. Called only under the router's writer lock.
    pub(crate) fn with(&self, id: ConnectionId, slot: &Weak<Slot<T, K>>) -> Change<T, K> {
        match self {
            Bucket::One(first) => {
                Change::Replace(Bucket::Small(Box::new(vec![first.clone(), slot.clone()])))
            }
            Bucket::Small(slots) if slots.len() < LARGE => Change::Replace(Bucket::Small(
                Box::new(slots.iter().chain([slot]).cloned().collect()),
            )),
            Bucket::Small(slots) => {
                let large = papaya::HashMap::with_capacity(slots.len() * 2);
                {
                    let pinned = large.pin();
                    // Every slot in a bucket is registered, hence alive.
                    for weak in slots.iter() {
                        if let Some(strong) = weak.upgrade() {
                            pinned.insert(strong.id(), weak.clone());
                        }
                    }
                    pinned.insert(id, slot.clone());
                }
                Change::Replace(Bucket::Large(Box::new(large)))
            }
            Bucket::Large(slots) => {
                slots.pin().insert(id, slot.clone());
                Change::Done
            }
        }
    }

    /// Removes a slot. Called only under the router's writer lock.
    pub(crate) fn without(&self, slot: &Slot<T, K>) -> Change<T, K> {
        match self {
            Bucket::One(only) => {
                if std::ptr::eq(only.as_ptr(), slot) {
                    Change::Empty
                } else {
                    Change::Done
                }
            }
            Bucket::Small(slots) => {
                let kept: Vec<_> = slots
                    .iter()
                    .filter(|weak| !std::ptr::eq(weak.as_ptr(), slot))
                    .cloned()
                    .collect();
                if kept.len() == slots.len() {
                    Change::Done
                } else if kept.is_empty() {
                    Change::Empty
                } else if kept.len() == 1 {
                    Change::Replace(Bucket::One(kept[0].clone()))
                } else {
                    Change::Replace(Bucket::Small(Box::new(kept)))
                }
            }
            Bucket::Large(slots) => {
                let pinned = slots.pin();
                pinned.remove(&slot.id());
                if pinned.is_empty() {
                    Change::Empty
                } else {
                    Change::Done
                }
            }
        }
    }
}

fn live<T: Target, K>(weak: &Weak<Slot<T, K>>) -> Option<crate::sync::Arc<Slot<T, K>>> {
    weak.upgrade()
        .filter(|slot| slot.is_selectable() && slot.is_target_live())
}

impl<T, K> fmt::Debug for Bucket<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bucket::One(_) => f.write_str("Bucket::One"),
            Bucket::Small(slots) => write!(f, "Bucket::Small({})", slots.len()),
            Bucket::Large(slots) => write!(f, "Bucket::Large({})", slots.len()),
        }
    }
}
