//! A shared, replaceable `Option<Arc<T>>` that a thread reads with one
//! atomic read-modify-write and lets go of with another: [`HazardCell`].
//!
//! A send reads its signal's snapshot of callbacks for as long as it runs
//! them. Read through an `ArcSwap`, that took two locked instructions (one
//! to take a guard, one to give it back), and the send's end, counted for
//! [`Signal::drained`](crate::Signal::drained), a third. Here the read takes
//! one and the let-go one, and the let-go also serves as the end's
//! ordering with a task waiting for the signal to drain (see
//! `Counters::end_holding`): two in all.
//!
//! # How
//!
//! Each lease index ([`crate::lease`]) has a hazard: a pointer slot that
//! one reader at a time claims from null. A reader announces the value it
//! is about to read in its index's hazard (a sequentially consistent
//! compare-exchange from null), then checks that the cell still holds it;
//! if so, it reads it until it lets go (a swap back to null). A writer that
//! takes a value out of the cell looks at every hazard after its own
//! sequentially consistent swap: one of the two sees the other, so a reader
//! either sees the change (and reads the new value) or is seen. A hazard
//! seen holding the old value is given a reference count of its own, marked
//! by its low bit ([`OWED`]), which the reader drops when it lets go: the
//! writer never waits for a reader, and the value is freed as soon as the
//! last one lets go, as with an `ArcSwap`. (The hand-over is `arc-swap`'s
//! own scheme; what is ours is that the let-go doubles as the end of a
//! send.)
//!
//! A thread with an owned lease is the only one to claim its hazard;
//! threads sharing a shared index take turns. A reader that finds its
//! hazard taken (a send from a callback of another, on one thread, or
//! another thread sharing the index) reads a copy of the value kept in an
//! `ArcSwapOption`, which writers update with the pointer, under a lock
//! only writers take.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use arc_swap::ArcSwapOption;

use crate::lease::{OWNED, SHARED};
use crate::sync::{Arc, AtomicPtr, Mutex, Ordering, lock, order_for_loom};

/// The low bit of a hazard: its holder was given a reference count of the
/// value it holds, to drop when it lets go.
const OWED: usize = 1;

/// A shared `Option<Arc<T>>`, read under a hazard, without touching a
/// reference count (see the [module](self)).
pub(crate) struct HazardCell<T> {
    /// The value as a reference count of its own (`Arc::into_raw`), or
    /// null: what readers under a hazard read.
    current: AtomicPtr<T>,
    /// The same value, for readers whose hazard is taken.
    shared: ArcSwapOption<T>,
    /// One per lease index, each claimed (from null) by one thread at a
    /// time: a thread with that lease, or one of the threads sharing a
    /// shared index. (A writer only marks one [`OWED`].)
    hazards: [Hazard<T>; OWNED + SHARED],
    /// Taken by writers, so that `current` and `shared` change together.
    replacing: Mutex<()>,
    /// Owns an `Arc<T>`: sendable and shareable as one is.
    _owns: PhantomData<Arc<T>>,
}

/// One lease index's hazard, on a cache line (pair) of its own: the value
/// its reader reads, possibly marked [`OWED`], or null when unclaimed.
#[repr(align(128))]
struct Hazard<T>(AtomicPtr<T>);

/// A value of a [`HazardCell`], held: it stays alive while this does.
///
/// Two words, moved in registers: with a third (a guard for the shared
/// copy), the send's frame copied it with loads wider than the stores that
/// wrote it, which cannot be forwarded from them (a fifth of a send to one
/// callback, by `perf`).
#[must_use = "a held value is let go of when this is dropped"]
pub(crate) struct Held<'a, T> {
    value: NonNull<T>,
    /// The hazard this hold claimed, which holds `value`; or none, and
    /// `value` is a reference count of its own (`Arc::into_raw`). (Not
    /// `Send`, by the pointer: held for the span of a send, and let go of
    /// on the thread that claimed it.)
    hazard: Option<&'a Hazard<T>>,
}

impl<T> HazardCell<T> {
    /// An empty cell.
    pub(crate) fn empty() -> Self {
        const {
            assert!(
                std::mem::align_of::<T>() > OWED,
                "the mark needs a free low bit"
            )
        };
        HazardCell {
            current: AtomicPtr::new(ptr::null_mut()),
            shared: ArcSwapOption::empty(),
            hazards: std::array::from_fn(|_| Hazard(AtomicPtr::new(ptr::null_mut()))),
            replacing: Mutex::new(()),
            _owns: PhantomData,
        }
    }

    /// The value, held, for a thread with lease index `index` (see
    /// [`crate::lease::index`]): under the index's hazard if it is free,
    /// else through the shared copy. (It is taken when the thread holds a
    /// value of this cell already, or, for a shared index, when another
    /// thread sharing it does.)
    #[inline(always)]
    pub(crate) fn hold(&self, index: usize) -> Option<Held<'_, T>> {
        if let Some(hazard) = self.hazards.get(index) {
            if let Ok(held) = hazard.hold(&self.current) {
                return held;
            }
        }
        self.hold_shared()
    }

    /// [`hold`](Self::hold) through the shared copy.
    #[cold]
    #[inline(never)]
    fn hold_shared(&self) -> Option<Held<'_, T>> {
        // Under loom, which cannot see arc-swap's own ordering, the
        // writers' lock stands in for it.
        #[cfg(signal_dispatch_loom)]
        let _replacing = lock(&self.replacing);
        self.shared.load_full().map(Held::from_arc)
    }

    /// Replaces the value, returning the old one. Readers holding the old
    /// value keep it alive until they let go.
    pub(crate) fn swap(&self, new: Option<Arc<T>>) -> Option<Arc<T>> {
        let raw = new.as_ref().map_or(ptr::null_mut(), |new| {
            Arc::into_raw(Arc::clone(new)).cast_mut()
        });
        let (old, _old_copy) = {
            let _replacing = lock(&self.replacing);
            (
                self.current.swap(raw, Ordering::SeqCst),
                self.shared.swap(new),
            )
        };
        // The copy goes after the lock is released, with the value.
        self.retire(old)
    }

    /// Empties the cell if it holds `expected`, returning what it held.
    pub(crate) fn clear_if(&self, expected: &Arc<T>) -> Option<Arc<T>> {
        // The copy goes after the lock is released, with the value.
        let old = {
            let _replacing = lock(&self.replacing);
            let expected_raw = Arc::as_ptr(expected).cast_mut();
            let old = self
                .current
                .compare_exchange(
                    expected_raw,
                    ptr::null_mut(),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .ok()?;
            (old, self.shared.swap(None))
        };
        self.retire(old.0)
    }

    /// Reads every hazard, in the total order of sequentially consistent
    /// operations: whoever then reads what a holder wrote before letting
    /// go (with a swap of its hazard, which releases) sees it, if the
    /// holder let go before this look.
    pub(crate) fn observe(&self) {
        for hazard in &self.hazards {
            std::hint::black_box(hazard.0.load(Ordering::SeqCst));
        }
    }

    /// Takes `old`, just taken out of `current`, as an `Arc`, after giving
    /// each hazard holding it a reference count of its own.
    fn retire(&self, old: *mut T) -> Option<Arc<T>> {
        if old.is_null() {
            return None;
        }
        // SAFETY: `old` came from `Arc::into_raw` when it was put in
        // `current`, and that count, taken out of `current` by this
        // writer's swap, is now this writer's alone.
        #[allow(unsafe_code)]
        let old = unsafe { Arc::from_raw(old) };
        // After the swap of `current` that took it out.
        order_for_loom();
        for hazard in &self.hazards {
            hazard.pay(&old);
        }
        Some(old)
    }
}

impl<T> Drop for HazardCell<T> {
    fn drop(&mut self) {
        // No value is held: a held one borrows the cell.
        let old = self.current.swap(ptr::null_mut(), Ordering::Relaxed);
        drop(self.retire(old));
    }
}

impl<T> Hazard<T> {
    /// Reads `current` under this hazard, claimed from null; `Err` if it
    /// is taken.
    #[inline(always)]
    fn hold<'a>(&'a self, current: &AtomicPtr<T>) -> Result<Option<Held<'a, T>>, Taken> {
        let Some(mut value) = NonNull::new(current.load(Ordering::Relaxed)) else {
            return Ok(None);
        };
        // Claimed and announced at once, before the check, in one total
        // order with the writers' swap of `current` and their look at the
        // hazards: either the check sees a writer's change, or the writer
        // sees this announcement (and pays it a count).
        if self
            .0
            .compare_exchange(
                ptr::null_mut(),
                value.as_ptr(),
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(Taken);
        }
        loop {
            order_for_loom();
            let now = current.load(Ordering::SeqCst);
            if now == value.as_ptr() {
                return Ok(Some(Held {
                    value,
                    hazard: Some(self),
                }));
            }
            // Changed since: announce the new value (the hazard is this
            // hold's until it is cleared), or let go if there is none.
            settle(self.0.swap(now, Ordering::SeqCst));
            match NonNull::new(now) {
                Some(now) => value = now,
                None => return Ok(None),
            }
        }
    }

    /// A writer took `old` out of the cell: if this hazard holds it, gives
    /// the holder a count of its own, marked [`OWED`].
    fn pay(&self, old: &Arc<T>) {
        let value = Arc::as_ptr(old).cast_mut();
        if self.0.load(Ordering::SeqCst) != value {
            return;
        }
        let owed = Arc::into_raw(Arc::clone(old)).cast_mut();
        let marked = value.map_addr(|address| address | OWED);
        if self
            .0
            .compare_exchange(value, marked, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // The holder let go first (or moved on: not to `old`, which
            // the cell no longer holds); the count stays with the writer.
            // SAFETY: `owed` is the count taken just above, handed to no one.
            #[allow(unsafe_code)]
            drop(unsafe { Arc::from_raw(owed) });
        }
    }
}

/// A hazard held by another hold: by the same thread (a send made from a
/// callback of another), or by another thread sharing its index.
struct Taken;

/// Drops the count a hazard's previous value was owed, if it was.
#[inline(always)]
fn settle<T>(previous: *mut T) {
    if previous.addr() & OWED != 0 {
        drop_owed(previous.map_addr(|address| address & !OWED));
    }
}

#[cold]
#[inline(never)]
fn drop_owed<T>(value: *mut T) {
    // SAFETY: a writer marked the hazard `OWED` only after taking a count
    // of `value` with `Arc::into_raw` for its holder (`Hazard::pay`), and
    // the mark is seen once: the swap that saw it cleared it.
    #[allow(unsafe_code)]
    drop(unsafe { Arc::from_raw(value) });
}

impl<T> Held<'_, T> {
    /// A value held by a count of its own.
    pub(crate) fn from_arc(value: Arc<T>) -> Self {
        let value = NonNull::new(Arc::into_raw(value).cast_mut()).expect("an `Arc` is never null");
        Held {
            value,
            hazard: None,
        }
    }

    /// Whether the value is held under a hazard, whose let-go is a
    /// sequentially consistent read-modify-write.
    #[inline(always)]
    pub(crate) fn is_hazard(&self) -> bool {
        self.hazard.is_some()
    }

    /// The value as a reference count of its own, for a task to keep.
    pub(crate) fn into_arc(self) -> Arc<T> {
        // SAFETY: `value` is alive while `self` holds it, and came from
        // `Arc::into_raw`; the count taken here is the returned `Arc`'s.
        #[allow(unsafe_code)]
        unsafe {
            Arc::increment_strong_count(self.value.as_ptr());
            Arc::from_raw(self.value.as_ptr())
        }
    }
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: held, the value is alive. Under a hazard: a writer that
        // took it out of the cell after the hold's check saw the hazard and
        // left it a count, dropped only when the hazard lets go, after this
        // borrow ends. Otherwise `self` holds a count.
        #[allow(unsafe_code)]
        unsafe {
            self.value.as_ref()
        }
    }
}

impl<T> Drop for Held<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        match self.hazard {
            Some(hazard) => settle(hazard.0.swap(ptr::null_mut(), Ordering::SeqCst)),
            None => drop_count(self.value.as_ptr()),
        }
    }
}

/// Drops the count a [`Held`] without a hazard holds: out of line, away
/// from the hazard's let-go, which every send makes.
#[cold]
#[inline(never)]
fn drop_count<T>(value: *mut T) {
    // SAFETY: `value` came from `Arc::into_raw` (`Held::from_arc`), and the
    // `Held` holding that count is being dropped.
    #[allow(unsafe_code)]
    drop(unsafe { Arc::from_raw(value) });
}

/// Loom models of the cell: every interleaving (up to a preemption bound)
/// of readers under hazards and through the shared copy with writers
/// replacing and clearing the value. Each value is [`Tracked`]: the models
/// check that none is dropped while held, and that each is dropped exactly
/// once. Run by `scripts/loom.sh`.
#[cfg(all(test, signal_dispatch_loom))]
mod loom_models {
    use super::*;
    use crate::sync::{AtomicBool, AtomicUsize};

    /// Whether each value is alive, by id, and how many were dropped:
    /// outside the values, so that a value freed too early is seen as such.
    struct Lives {
        alive: Vec<AtomicBool>,
        drops: AtomicUsize,
    }

    struct Tracked {
        id: usize,
        lives: std::sync::Arc<Lives>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            assert!(
                self.lives.alive[self.id].swap(false, Ordering::SeqCst),
                "value {} dropped twice",
                self.id
            );
            self.lives.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn lives(values: usize) -> std::sync::Arc<Lives> {
        std::sync::Arc::new(Lives {
            alive: (0..values).map(|_| AtomicBool::new(true)).collect(),
            drops: AtomicUsize::new(0),
        })
    }

    fn value(id: usize, lives: &std::sync::Arc<Lives>) -> Arc<Tracked> {
        Arc::new(Tracked {
            id,
            lives: lives.clone(),
        })
    }

    /// `values` tracked lives, and a cell holding the first value.
    fn holding_the_first_of(values: usize) -> (std::sync::Arc<Lives>, Arc<HazardCell<Tracked>>) {
        let lives = lives(values);
        let cell = Arc::new(HazardCell::empty());
        drop(cell.swap(Some(value(0, &lives))));
        (lives, cell)
    }

    fn drops(lives: &Lives) -> usize {
        lives.drops.load(Ordering::SeqCst)
    }

    /// Reads what `held` holds, asserting it is alive (by its id alone: a
    /// value freed too early is not followed further).
    fn read(held: &Held<'_, Tracked>, lives: &Lives) -> usize {
        let id = held.id;
        assert!(
            lives
                .alive
                .get(id)
                .is_some_and(|alive| alive.load(Ordering::SeqCst)),
            "value {id} read after it was dropped"
        );
        id
    }

    /// Checks `body` under every interleaving loom explores, and asserts it
    /// explored more than one.
    fn model(body: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = runs.clone();
        builder.check(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            body();
        });
        let runs = runs.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("explored {runs} interleavings");
        assert!(runs > 1, "loom explored a single interleaving");
    }

    #[test]
    fn a_value_held_under_a_hazard_outlives_its_replacement() {
        model(|| {
            let (lives, cell) = holding_the_first_of(2);
            let reader = {
                let (cell, lives) = (cell.clone(), lives.clone());
                loom::thread::spawn(move || {
                    let held = cell.hold(0).expect("the cell holds a value");
                    assert!(held.is_hazard());
                    let id = read(&held, &lives);
                    loom::thread::yield_now();
                    assert_eq!(read(&held, &lives), id);
                    id
                })
            };
            drop(cell.swap(Some(value(1, &lives))));
            reader.join().unwrap();
            assert_eq!(drops(&lives), 1, "the old value is freed");
            drop(cell);
            assert_eq!(drops(&lives), 2, "and the new one with the cell");
        });
    }

    #[test]
    fn a_value_taken_out_of_a_hazard_for_a_task_is_kept_by_its_count() {
        model(|| {
            let (lives, cell) = holding_the_first_of(1);
            let reader = {
                let (cell, lives) = (cell.clone(), lives.clone());
                loom::thread::spawn(move || {
                    let kept = cell.hold(0).map(Held::into_arc);
                    loom::thread::yield_now();
                    if let Some(kept) = &kept {
                        let alive = lives.alive.get(kept.id);
                        assert!(alive.is_some_and(|alive| alive.load(Ordering::SeqCst)));
                    }
                    kept.is_some()
                })
            };
            drop(cell.swap(None));
            reader.join().unwrap();
            assert_eq!(drops(&lives), 1);
        });
    }

    #[test]
    fn two_hazards_and_a_shared_read_race_a_replacement_and_a_clear() {
        model(|| {
            let (lives, cell) = holding_the_first_of(2);
            let readers: Vec<_> = (0..2)
                .map(|index| {
                    let (cell, lives) = (cell.clone(), lives.clone());
                    loom::thread::spawn(move || {
                        let held = cell.hold(index)?;
                        // The same thread again: its hazard is taken, so
                        // through the shared copy.
                        let again = cell.hold(index);
                        assert!(again.as_ref().is_none_or(|again| !again.is_hazard()));
                        let id = read(&held, &lives);
                        drop(again);
                        Some(id)
                    })
                })
                .collect();
            let fresh = value(1, &lives);
            drop(cell.swap(Some(fresh.clone())));
            drop(cell.clear_if(&fresh));
            drop(fresh);
            for reader in readers {
                reader.join().unwrap();
            }
            assert_eq!(drops(&lives), 2, "both freed, once each");
        });
    }

    #[test]
    fn two_threads_sharing_an_index_race_a_replacement() {
        model(|| {
            let (lives, cell) = holding_the_first_of(2);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (cell, lives) = (cell.clone(), lives.clone());
                    loom::thread::spawn(move || {
                        let held = cell.hold(OWNED).expect("never emptied");
                        let id = read(&held, &lives);
                        loom::thread::yield_now();
                        assert_eq!(read(&held, &lives), id);
                    })
                })
                .collect();
            drop(cell.swap(Some(value(1, &lives))));
            for reader in readers {
                reader.join().unwrap();
            }
            assert_eq!(drops(&lives), 1);
            drop(cell);
            assert_eq!(drops(&lives), 2);
        });
    }
}

#[cfg(all(test, not(signal_dispatch_loom)))]
mod tests {
    use super::*;
    use std::sync::Weak;
    use std::sync::atomic::AtomicUsize;

    fn cell_holding<T>(value: &Arc<T>) -> HazardCell<T> {
        let cell = HazardCell::empty();
        assert!(cell.swap(Some(value.clone())).is_none());
        cell
    }

    fn gone<T>(weak: &Weak<T>) -> bool {
        weak.upgrade().is_none()
    }

    #[test]
    fn a_value_replaced_while_held_under_a_hazard_lives_until_it_is_let_go() {
        let first = Arc::new(String::from("first"));
        let weak = Arc::downgrade(&first);
        let cell = cell_holding(&first);
        drop(first);
        let held = cell.hold(0).expect("a value");
        assert!(held.is_hazard());
        let old = cell
            .swap(Some(Arc::new(String::from("second"))))
            .expect("the first");
        assert_eq!(
            Arc::strong_count(&old),
            2,
            "the writer's, and the one owed the holder"
        );
        drop(old);
        assert_eq!(*held, "first", "still readable");
        drop(held);
        assert!(gone(&weak), "freed by the holder's let-go");
        assert_eq!(*cell.hold(0).unwrap(), "second");
    }

    #[test]
    fn a_value_held_when_nothing_replaced_it_takes_no_count() {
        let value = Arc::new(7u64);
        let cell = cell_holding(&value);
        let held = cell.hold(3).unwrap();
        assert!(held.is_hazard());
        // The test's, and the cell's two (its pointer and its copy).
        assert_eq!(Arc::strong_count(&value), 3);
        drop(held);
        assert_eq!(Arc::strong_count(&value), 3);
        assert!(
            cell.hazards
                .iter()
                .all(|h| h.0.load(Ordering::Relaxed).is_null())
        );
    }

    #[test]
    fn a_hold_whose_hazard_is_taken_goes_through_the_copy() {
        let value = Arc::new(1u64);
        let cell = cell_holding(&value);
        // A send from a callback of another, on one thread; or two threads
        // sharing a shared index.
        let outer = cell.hold(0).unwrap();
        let inner = cell.hold(0).unwrap();
        let first = cell.hold(OWNED).unwrap();
        let second = cell.hold(OWNED).unwrap();
        assert!(outer.is_hazard() && !inner.is_hazard());
        assert!(first.is_hazard() && !second.is_hazard());
        assert_eq!(Arc::strong_count(&value), 5, "the copies hold counts");
        drop((inner, second));
        assert_eq!(Arc::strong_count(&value), 3);
        drop((outer, first));
        assert!(
            cell.hold(0).unwrap().is_hazard(),
            "the hazard is free again"
        );
        assert!(cell.hold(OWNED).unwrap().is_hazard());
        assert!(!cell.hold(usize::MAX).unwrap().is_hazard(), "no such index");
    }

    #[test]
    fn a_value_taken_out_of_a_hazard_keeps_a_count_of_its_own() {
        let value = Arc::new(String::from("kept"));
        let weak = Arc::downgrade(&value);
        let cell = cell_holding(&value);
        drop(value);
        let kept = cell.hold(0).unwrap().into_arc();
        drop(cell.swap(None));
        assert_eq!(*kept, "kept");
        drop(kept);
        assert!(gone(&weak));
        drop(cell);
    }

    #[test]
    fn clear_if_empties_the_cell_only_if_it_holds_the_value() {
        let (current, other) = (Arc::new(1u64), Arc::new(2u64));
        let cell = cell_holding(&current);
        assert!(cell.clear_if(&other).is_none());
        assert_eq!(*cell.hold(0).unwrap(), 1);
        let held = cell.hold(1).unwrap();
        let cleared = cell.clear_if(&current).expect("it held it");
        assert!(Arc::ptr_eq(&cleared, &current));
        assert!(
            cell.hold(0).is_none() && cell.hold(OWNED).is_none(),
            "empty, both ways"
        );
        assert_eq!(*held, 1, "a holder keeps it");
        drop((held, cleared));
        assert_eq!(Arc::strong_count(&current), 1);
    }

    #[test]
    fn a_hold_of_an_empty_cell_leaves_its_hazard_free() {
        let cell: HazardCell<u64> = HazardCell::empty();
        assert!(cell.hold(0).is_none());
        assert!(cell.hazards[0].0.load(Ordering::Relaxed).is_null());
        drop(cell.swap(Some(Arc::new(5))));
        assert!(cell.hold(0).unwrap().is_hazard());
    }

    /// Values whose drops are counted, each with a pattern a reader checks:
    /// a value freed under a reader would fail the check, or the count.
    struct Checked {
        pattern: [u64; 4],
        drops: Arc<AtomicUsize>,
    }

    impl Checked {
        fn new(seed: u64, drops: &Arc<AtomicUsize>) -> Arc<Self> {
            Arc::new(Checked {
                pattern: [seed, !seed, seed.rotate_left(17), seed ^ 0x5555],
                drops: drops.clone(),
            })
        }

        fn is_intact(&self) -> bool {
            let seed = self.pattern[0];
            self.pattern == [seed, !seed, seed.rotate_left(17), seed ^ 0x5555]
        }
    }

    impl Drop for Checked {
        fn drop(&mut self) {
            self.pattern = [0; 4];
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn readers_under_every_hazard_race_a_writer_and_each_value_is_freed_once() {
        let rounds = if cfg!(miri) { 40 } else { 200_000 };
        let drops = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(HazardCell::empty());
        drop(cell.swap(Some(Checked::new(0, &drops))));
        // Every index once, and the first shared one by a second thread,
        // which finds it taken at times.
        let indices: Vec<usize> = (0..OWNED + SHARED).chain([OWNED]).collect();
        let reading = Arc::new(AtomicUsize::new(indices.len()));
        let readers: Vec<_> = indices
            .into_iter()
            .map(|index| {
                let (cell, reading) = (cell.clone(), reading.clone());
                std::thread::spawn(move || {
                    // Counted out however the reader ends (a failed check
                    // panics), so the writer stops.
                    struct Done(Arc<AtomicUsize>);
                    impl Drop for Done {
                        fn drop(&mut self) {
                            self.0.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                    let _done = Done(reading);
                    for round in 0..rounds {
                        let held = cell.hold(index).expect("never emptied");
                        assert!(held.is_intact(), "a value changed under its reader");
                        if round % 7 == 0 {
                            let kept = held.into_arc();
                            assert!(kept.is_intact());
                        }
                    }
                })
            })
            .collect();
        // Replaced for as long as any reader reads, and at least a few times.
        let mut replacements = 0u64;
        while replacements < 10 || reading.load(Ordering::SeqCst) > 0 {
            replacements += 1;
            drop(cell.swap(Some(Checked::new(replacements, &drops))));
        }
        for reader in readers {
            reader.join().unwrap();
        }
        let replaced = usize::try_from(replacements).unwrap();
        assert_eq!(
            drops.load(Ordering::SeqCst),
            replaced,
            "every old one, once"
        );
        drop(cell);
        assert_eq!(drops.load(Ordering::SeqCst), replaced + 1);
    }
}
