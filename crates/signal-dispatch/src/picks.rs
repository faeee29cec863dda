//! Picks: the calls a send makes from the router's snapshot of unfiltered
//! slots, as indices into it.
//!
//! A snapshot send takes one reference count on the snapshot instead of one
//! per slot. Its calls are indices; most have no owner to keep alive (a
//! strong callback), so owners are kept apart, for the few weak callbacks,
//! and the common pick is four bytes.

use smallvec::SmallVec;

use crate::callback::{Callback, Owner};
use crate::dispatch::CallbackSlot;
use crate::flight::Permit;
use crate::router::Snapshot;
use crate::sync::Arc;

/// The calls a snapshot send picked, in the snapshot's order.
#[derive(Default)]
pub(crate) struct Picks {
    /// Each call's index in the snapshot.
    indices: SmallVec<[u32; 8]>,
    /// The bound owners of the calls that have one: the call's position in
    /// `indices`, and the owner (taken when the call starts).
    owners: SmallVec<[(u32, Owner); 1]>,
}

impl Picks {
    pub(crate) fn with_capacity(calls: usize) -> Self {
        Picks {
            indices: SmallVec::with_capacity(calls),
            owners: SmallVec::new(),
        }
    }

    /// Adds the call of the slot at `index`, with its bound owner.
    pub(crate) fn push(&mut self, index: usize, owner: Owner) {
        if owner.is_some() {
            // Positions fit: there are no more calls than slots.
            self.owners.push((self.indices.len() as u32, owner));
        }
        self.push_ownerless(index);
    }

    /// Adds the call of the slot at `index`, which has no owner.
    #[inline]
    pub(crate) fn push_ownerless(&mut self, index: usize) {
        // Snapshots index their slots with `u32`s: a router of 2^32
        // connections would not fit in memory first.
        self.indices.push(index as u32);
    }

    pub(crate) fn len(&self) -> usize {
        self.indices.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Each call's index and owner, taking the owners out.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = (u32, Owner)> + '_ {
        let mut owners = self.owners.iter_mut().peekable();
        self.indices
            .iter()
            .enumerate()
            .map(move |(position, &index)| {
                let owner = owners
                    .next_if(|(at, _)| *at as usize == position)
                    .and_then(|(_, owner)| owner.take());
                (index, owner)
            })
    }
}

/// One slot of a snapshot, held through the snapshot: a spawned call's slot,
/// for one reference count on the shared snapshot instead of an upgrade of
/// the slot's own.
pub(crate) struct SnapshotSlot<A, K, R> {
    pub(crate) snapshot: Arc<Snapshot<Callback<A, K, R>, K>>,
    pub(crate) index: u32,
}

impl<A, K, R> std::borrow::Borrow<CallbackSlot<A, K, R>> for SnapshotSlot<A, K, R> {
    fn borrow(&self) -> &CallbackSlot<A, K, R> {
        &self.snapshot.slots[self.index as usize]
    }
}

/// The picked calls of a snapshot send as
/// [`start_all`](crate::dispatch::start_all) takes them, each owner taken
/// from its pick. (A named iterator: a closure here defeats the `Send`
/// inference of a task.)
pub(crate) struct Picked<'a, A, K, R> {
    slots: &'a [Arc<CallbackSlot<A, K, R>>],
    indices: std::iter::Enumerate<std::slice::Iter<'a, u32>>,
    owners: &'a mut [(u32, Owner)],
    /// The next owner to hand out (most sends have none: one failed bounds
    /// check per call).
    next_owner: usize,
}

impl<'a, A, K, R> Picked<'a, A, K, R> {
    pub(crate) fn new(slots: &'a [Arc<CallbackSlot<A, K, R>>], picks: &'a mut Picks) -> Self {
        Picked {
            slots,
            indices: picks.indices.iter().enumerate(),
            owners: &mut picks.owners,
            next_owner: 0,
        }
    }
}

impl<'a, A, K, R> Iterator for Picked<'a, A, K, R> {
    type Item = (&'a CallbackSlot<A, K, R>, Owner, Option<Permit>);

    fn next(&mut self) -> Option<Self::Item> {
        let (position, &index) = self.indices.next()?;
        let owner = match self.owners.get_mut(self.next_owner) {
            Some((at, owner)) if *at as usize == position => {
                self.next_owner += 1;
                owner.take()
            }
            _ => None,
        };
        Some((&*self.slots[index as usize], owner, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_stay_with_their_calls() {
        let mut picks = Picks::with_capacity(4);
        let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(7_u8);
        picks.push(3, None);
        picks.push(5, Some(owner.clone()));
        picks.push(9, None);
        assert_eq!(picks.len(), 3);
        let taken: Vec<(u32, bool)> = picks.take().map(|(i, o)| (i, o.is_some())).collect();
        assert_eq!(taken, [(3, false), (5, true), (9, false)]);
        // Taken once: the owner is no longer held by the picks.
        assert_eq!(Arc::strong_count(&owner), 1);
        assert!(picks.take().all(|(_, o)| o.is_none()));
    }
}
