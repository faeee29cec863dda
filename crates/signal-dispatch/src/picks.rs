//! Picks: the calls a send makes from the router's snapshot of unfiltered
//! slots, as indices into it.
//!
//! A snapshot send takes one reference count on the snapshot instead of one
//! per slot. Its calls are indices; most have no owner to keep alive (a
//! strong callback), so owners are kept apart, for the few weak callbacks.
//! Most sends pick every slot, so the picks up to the first slot skipped
//! are a count, not a list: such a send stores no index at all.

use smallvec::SmallVec;

use crate::callback::Owner;
use crate::dispatch::{CallbackSlot, CallbackSnapshot};
use crate::flight::Permit;
use crate::sync::Arc;

/// The calls a snapshot send picked, in the snapshot's order, pushed in
/// increasing index order.
///
/// Snapshots index their slots with `u32`s: a router of 2^32 connections
/// would not fit in memory first.
pub(crate) struct Picks {
    /// The calls to slots `0..leading`: every slot up to the first skipped.
    leading: usize,
    /// Whether a slot was skipped: later calls go to `rest`.
    skipped: bool,
    /// Each later call's index.
    rest: SmallVec<[u32; 4]>,
    /// The bound owners of the calls that have one: the call's position
    /// among the calls, and the owner (taken when the call starts).
    owners: SmallVec<[(u32, Owner); 1]>,
    /// How many slots the snapshot has: room for `rest` when it is first
    /// needed.
    slots: usize,
}

impl Picks {
    /// No picks yet, from a snapshot of `slots` slots.
    #[inline]
    pub(crate) fn new(slots: usize) -> Self {
        Picks {
            leading: 0,
            skipped: false,
            rest: SmallVec::new(),
            owners: SmallVec::new(),
            slots,
        }
    }

    /// Adds the calls, with no owner, of the first `count` slots, to
    /// picks still empty.
    pub(crate) fn push_leading(&mut self, count: usize) {
        debug_assert!(self.is_empty(), "leading calls come first");
        self.leading = count;
    }

    /// Adds the call of the slot at `index`, with its bound owner.
    pub(crate) fn push(&mut self, index: usize, owner: Owner) {
        if owner.is_some() {
            // Positions fit: there are no more calls than slots.
            self.owners.push((self.len() as u32, owner));
        }
        self.push_ownerless(index);
    }

    /// Adds the call of the slot at `index`, which has no owner.
    #[inline]
    pub(crate) fn push_ownerless(&mut self, index: usize) {
        if !self.skipped && index == self.leading {
            self.leading += 1;
        } else {
            self.push_later(index);
        }
    }

    /// Adds a call after a skipped slot. (Out of line: the loop that picks
    /// every slot stays small.)
    #[inline(never)]
    fn push_later(&mut self, index: usize) {
        if !self.skipped {
            self.skipped = true;
            self.rest.reserve(self.slots - index);
        }
        self.rest.push(index as u32);
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.leading + self.rest.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the call at `position`, if there is one.
    #[cfg(test)]
    fn index(&self, position: usize) -> Option<usize> {
        match position.checked_sub(self.leading) {
            None => Some(position),
            Some(later) => self.rest.get(later).map(|&index| index as usize),
        }
    }

    /// Each call's index and owner, taking the owners out.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = (u32, Owner)> + '_ {
        let mut owners = self.owners.iter_mut().peekable();
        (0..self.leading as u32)
            .chain(self.rest.iter().copied())
            .enumerate()
            .map(move |(position, index)| {
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
    pub(crate) snapshot: Arc<CallbackSnapshot<A, K, R>>,
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
    /// The leading calls' slots, then the later calls' indices.
    leading: std::slice::Iter<'a, Arc<CallbackSlot<A, K, R>>>,
    rest: std::slice::Iter<'a, u32>,
    owners: &'a mut [(u32, Owner)],
    /// The position of the next call.
    position: usize,
    /// The next owner to hand out (most sends have none: one failed bounds
    /// check per call).
    next_owner: usize,
}

impl<'a, A, K, R> Picked<'a, A, K, R> {
    #[inline]
    pub(crate) fn new(slots: &'a [Arc<CallbackSlot<A, K, R>>], picks: &'a mut Picks) -> Self {
        Picked {
            slots,
            leading: slots[..picks.leading].iter(),
            rest: picks.rest.iter(),
            owners: &mut picks.owners,
            position: 0,
            next_owner: 0,
        }
    }
}

impl<'a, A, K, R> Picked<'a, A, K, R> {
    /// Whether no call is left.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.leading.as_slice().is_empty() && self.rest.as_slice().is_empty()
    }

    /// Takes the next calls that are leading picks with no owner, as their
    /// slots: the commonest calls, run by the tightest loop (no owner, no
    /// permit, no index to follow). The iterator goes on after them.
    #[inline]
    pub(crate) fn take_plain(&mut self) -> &'a [Arc<CallbackSlot<A, K, R>>] {
        let leading = self.leading.as_slice();
        let plain = match self.owners.get(self.next_owner) {
            Some((at, _)) => (*at as usize - self.position).min(leading.len()),
            None => leading.len(),
        };
        let (plain, later) = leading.split_at(plain);
        self.leading = later.iter();
        self.position += plain.len();
        plain
    }
}

/// One call of a [`Picked`]: its slot, its owner, its permit.
pub(crate) type PickedCall<'a, A, K, R> = (&'a CallbackSlot<A, K, R>, Owner, Option<Permit>);

impl<'a, A, K, R> Iterator for Picked<'a, A, K, R> {
    type Item = PickedCall<'a, A, K, R>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let slot = match self.leading.next() {
            Some(slot) => slot,
            None => &self.slots[*self.rest.next()? as usize],
        };
        let position = self.position;
        self.position += 1;
        let owner = match self.owners.get_mut(self.next_owner) {
            Some((at, owner)) if *at as usize == position => {
                self.next_owner += 1;
                owner.take()
            }
            _ => None,
        };
        Some((&**slot, owner, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_stay_with_their_calls() {
        let mut picks = Picks::new(12);
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

    #[test]
    fn picks_read_back_as_pushed_whatever_slots_were_skipped() {
        let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(());
        // Each pattern: which of 10 slots are picked, and which picks own.
        let patterns: [(&[usize], &[usize]); 6] = [
            (&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[]),
            (&[], &[]),
            (&[0, 1, 2, 5, 6, 9], &[1, 6]),
            (&[1, 2, 3], &[1]),
            (&[0, 1, 2, 3, 4, 5, 6, 7, 8], &[8]),
            (&[0, 9], &[0, 9]),
        ];
        for (picked, owning) in patterns {
            let mut picks = Picks::new(10);
            for &index in picked {
                let owned = owning.contains(&index).then(|| owner.clone());
                picks.push(index, owned);
            }
            assert_eq!(
                (picks.len(), picks.is_empty()),
                (picked.len(), picked.is_empty())
            );
            for (position, &index) in picked.iter().enumerate() {
                assert_eq!(picks.index(position), Some(index), "{picked:?}");
            }
            assert_eq!(picks.index(picked.len()), None, "{picked:?}");
            let taken: Vec<(usize, bool)> = picks
                .take()
                .map(|(i, o)| (i as usize, o.is_some()))
                .collect();
            let expected: Vec<(usize, bool)> =
                picked.iter().map(|&i| (i, owning.contains(&i))).collect();
            assert_eq!(taken, expected);
        }
        assert_eq!(Arc::strong_count(&owner), 1);
    }

    #[test]
    fn leading_calls_pushed_at_once_read_back_like_single_ones() {
        let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(());
        let mut picks = Picks::new(10);
        picks.push_leading(4);
        picks.push_ownerless(4);
        picks.push(6, Some(owner.clone()));
        picks.push_ownerless(7);
        let taken: Vec<(u32, bool)> = picks.take().map(|(i, o)| (i, o.is_some())).collect();
        let expected = [0, 1, 2, 3, 4, 6, 7].map(|i| (i, i == 6));
        assert_eq!(taken, expected);
        assert_eq!(picks.len(), 7);
    }
}
