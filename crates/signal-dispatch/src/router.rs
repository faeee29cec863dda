//! The routing table: which stored targets a send reaches.
//!
//! A [`Router`] stores targets (for a [`Signal`](crate::Signal), its
//! callbacks; for the Python module, Python callables) in [`Slot`]s, each
//! with its routes: unfiltered, by key, or by sender identity. It answers one
//! question on the hot path — which live, connected slots does a send with
//! these keys and senders reach, each once? — without taking a lock.
//!
//! # How it is laid out
//!
//! - Readers (sends) take snapshots: the unfiltered slots are an
//!   [`ArcSwap`]ed bucket (and, for sends naming no key or sender, a list
//!   of them read under a hazard pointer: `crate::hazard`); keyed and
//!   sender routes are buckets in lock-free concurrent maps ([`papaya`]),
//!   one bucket per key or sender address.
//!   A bucket is a small immutable list replaced whole on each change
//!   (copy-on-write), or, past a few dozen slots, a lock-free concurrent set
//!   changed in place; either way a send never sees a half-made bucket, and
//!   adding or removing one slot never costs O(all slots sharing a route).
//! - Writers (connect, disconnect) serialize on one mutex that sends never
//!   touch. Each slot records its own routes, so removing a slot costs
//!   O(its routes), never O(all keys of the signal).
//! - Buckets hold [`Weak`](std::sync::Weak) references; the registry (under the writer mutex)
//!   holds the only long-lived strong reference. Dropping a bucket therefore
//!   never drops a target, so user code (a callback's captures) is never
//!   dropped inside a map operation or under the writer lock: removed slots
//!   are dropped after the lock is released.
//! - Dead targets ([`Target::is_live`]) and routes to dead senders are swept
//!   a few slots at a time on every connect and disconnect, and all at once by
//!   [`Router::prune`]; a send skips them. Memory therefore follows the live
//!   connections without waiting for a send.
//! - Each slot keeps a few bits its target gave when inserted
//!   ([`Target::marks`]) in its state word, so a send learns what it needs
//!   of a target (for a callback: whether it is strong, sync, or borrows
//!   the event) beside the state it reads anyway, without reaching into
//!   the target.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;

use arc_swap::ArcSwap;
use smallvec::SmallVec;

use crate::bucket::{Bucket, Change};
use crate::connection::ConnectionId;
use crate::filter::Filter;
use crate::hazard::{HazardCell, Held};
use crate::lease;
use crate::sender::SenderIdentity;
use crate::sync::{
    Arc, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Mutex, Ordering, fence, lock,
};

/// What a key must be: hashable, comparable, cheap enough to clone, and
/// shareable across threads. Implemented for every such type.
///
/// A key's `Hash`, `Eq` and `Drop` run inside the routing table's writer
/// critical section, so they must not call back into the signal.
///
/// # Examples
///
/// ```
/// use signal_dispatch::{Key, Signal};
///
/// #[derive(Clone, PartialEq, Eq, Hash)]
/// enum Topic { Orders, Users }
///
/// fn is_key<K: Key>() {}
/// is_key::<Topic>();
/// is_key::<String>();
/// let _signal: Signal<(), Topic> = Signal::new();
/// ```
pub trait Key: Hash + Eq + Clone + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + Send + Sync + 'static> Key for T {}

/// What a router stores.
///
/// # Examples
///
/// ```
/// use signal_dispatch::router::Target;
///
/// struct Named(&'static str);
/// impl Target for Named {}
/// assert!(Named("x").is_live());
/// ```
pub trait Target: Send + Sync + 'static {
    /// Whether the target can still run. A target that is not live is never
    /// selected and is reclaimed by the next sweep. Held weakly, a target
    /// dies with its owner.
    fn is_live(&self) -> bool {
        true
    }

    /// Up to four bits (the low four; the rest are ignored) that the
    /// target's slot keeps for it, asked once, when it is inserted:
    /// [`Slot::marks`] reads them beside the slot's state, without reaching
    /// into the target. What they mean is the target's own business.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::Filter;
    /// use signal_dispatch::router::{Router, Target};
    ///
    /// struct Urgent;
    /// impl Target for Urgent {
    ///     fn marks(&self) -> u8 {
    ///         1
    ///     }
    /// }
    ///
    /// let router: Router<Urgent, String> = Router::new();
    /// assert_eq!(router.insert(Urgent, &Filter::new()).marks(), 1);
    /// ```
    fn marks(&self) -> u8 {
        0
    }

    /// [`is_live`](Self::is_live), for a target whose slot kept `marks`
    /// for it: the router asks this, so that marks can answer for the
    /// target (say, that it is always live) without a look inside it.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::router::Target;
    ///
    /// struct Named(&'static str);
    /// impl Target for Named {}
    /// assert!(Named("x").is_live_with(0));
    /// ```
    fn is_live_with(&self, marks: u8) -> bool {
        let _ = marks;
        self.is_live()
    }
}

/// One connection in a [`Router`]: a target and its routes.
///
/// # Examples
///
/// ```
/// use signal_dispatch::Filter;
/// use signal_dispatch::router::{Router, Target};
///
/// struct Name(&'static str);
/// impl Target for Name {}
///
/// let router: Router<Name, String> = Router::new();
/// let slot = router.insert(Name("x"), &Filter::new());
/// assert_eq!(slot.target().0, "x");
/// assert!(slot.is_connected());
/// router.remove(&slot);
/// assert!(!slot.is_connected());
/// ```
pub struct Slot<T, K> {
    id: ConnectionId,
    /// [`CONNECTED`], [`ONCE`], [`FIRED`] and [`SENDERS`] bits, the
    /// target's [marks](Target::marks) (never changed), and a count of
    /// blocks in units of [`BLOCK`].
    state: AtomicU32,
    /// The slot's place in the registry (written under the writer lock).
    index: AtomicU32,
    routes: Mutex<Routes<K>>,
    target: T,
}

const CONNECTED: u32 = 1;
/// The slot runs at most once.
const ONCE: u32 = 1 << 1;
/// A once-slot was claimed by a send.
const FIRED: u32 = 1 << 2;
/// The slot may have routes to senders, which a sweep must inspect.
const SENDERS: u32 = 1 << 3;
/// Where the target's [marks](Target::marks) live, above the flags.
const MARKS_SHIFT: u32 = 4;
const MARKS: u32 = 0xF << MARKS_SHIFT;
/// One block on the slot (the count lives above the flag bits and marks).
const BLOCK: u32 = 1 << 8;

impl<T, K> Slot<T, K> {
    /// The connection's id, unique in the process.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// What the slot stores.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The target's [marks](Target::marks), as it gave them when inserted.
    #[inline(always)]
    pub fn marks(&self) -> u8 {
        // Set before the slot was shared, never changed: any load sees them.
        ((self.state.load(Ordering::Relaxed) & MARKS) >> MARKS_SHIFT) as u8
    }

    /// Whether the slot is still in its router. A send that began after this
    /// turned `false` never selects it.
    pub fn is_connected(&self) -> bool {
        self.state.load(Ordering::Acquire) & CONNECTED != 0
    }

    /// Whether the slot runs at most once.
    pub fn is_once(&self) -> bool {
        self.state.load(Ordering::Relaxed) & ONCE != 0
    }

    /// Whether a block is in force: sends skip the slot meanwhile.
    pub fn is_blocked(&self) -> bool {
        self.state.load(Ordering::Acquire) >= BLOCK
    }

    /// Adds a block; [`Router::block`] is how it is done while the slot's
    /// router lives (sends that skip re-reading states must learn of it).
    pub(crate) fn add_block(&self) {
        self.state.fetch_add(BLOCK, Ordering::AcqRel);
    }

    /// Lifts one block.
    pub fn unblock(&self) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                state.checked_sub(BLOCK)
            });
    }

    /// Claims the slot's run for one send: always `true` for an ordinary
    /// slot; for a once-slot, `true` for the first claim only, however many
    /// sends race for it.
    pub fn claim(&self) -> bool {
        if self.state.load(Ordering::Relaxed) & ONCE == 0 {
            return true;
        }
        self.state.fetch_or(FIRED, Ordering::AcqRel) & FIRED == 0
    }

    /// One look at the state for a send: `None` if the slot is not
    /// selectable (see [`is_selectable`](Self::is_selectable)), else whether
    /// it runs at most once.
    pub(crate) fn selectable_once(&self) -> Option<bool> {
        let state = self.state.load(Ordering::Acquire);
        (state & CONNECTED != 0 && state & FIRED == 0 && state < BLOCK).then_some(state & ONCE != 0)
    }

    /// Whether the slot is selectable, persistent, and routed to no
    /// sender: all a send checks of a strong callback in a snapshot, in one
    /// comparison (the rare slot with sender routes too takes the general
    /// check).
    #[inline]
    pub(crate) fn is_plainly_selectable(&self) -> bool {
        self.state.load(Ordering::Acquire) & !MARKS == CONNECTED
    }

    /// Whether the slot is selectable and persistent (connected, not
    /// blocked, not a once-slot), whatever its routes: all a send checks of
    /// a strong callback it selected, in one look at the state.
    #[inline]
    pub(crate) fn is_persistently_selectable(&self) -> bool {
        self.state.load(Ordering::Acquire) & !(SENDERS | MARKS) == CONNECTED
    }

    pub(crate) fn is_selectable(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        state & CONNECTED != 0 && state & FIRED == 0 && state < BLOCK
    }

    fn set_connected(&self, connected: bool) {
        if connected {
            self.state.fetch_or(CONNECTED, Ordering::AcqRel);
        } else {
            self.state.fetch_and(!CONNECTED, Ordering::AcqRel);
        }
    }
}

impl<T: Target, K> Slot<T, K> {
    /// Whether the target can still run ([`Target::is_live_with`] its
    /// marks).
    #[inline]
    pub(crate) fn is_target_live(&self) -> bool {
        self.target.is_live_with(self.marks())
    }
}

impl<T, K: fmt::Debug> fmt::Debug for Slot<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = lock(&self.routes);
        f.debug_struct("Slot")
            .field("id", &self.id)
            .field("connected", &self.is_connected())
            .field("routes", &routes.list)
            .finish_non_exhaustive()
    }
}

/// A slot's routes, as its writer-side record.
struct Routes<K> {
    /// Most connections have one route: it lives inline.
    list: SmallVec<[Route<K>; 1]>,
}

#[derive(Debug)]
enum Route<K> {
    Any,
    Key(K),
    Sender(SenderIdentity),
}

/// The slots a send reaches, as [`Router::select`] fills them (inline up to
/// four, so a typical send allocates nothing to select).///
/// # Examples
///
/// ```
/// use signal_dispatch::router::{Router, Selection, Target};
///
/// struct Name;
/// impl Target for Name {}
/// let router: Router<Name, String> = Router::new();
/// let mut out = Selection::new();
/// router.select(&[], &[], &mut out);
/// assert!(out.is_empty());
/// ```
pub type Selection<T, K> = SmallVec<[Arc<Slot<T, K>>; 4]>;

/// How many slots every connect and disconnect inspects for dead targets.
/// Two per operation keeps the dead ones at most a fraction of the live
/// ones, at O(1) cost per operation.
const SWEEP_STEP: usize = 2;

/// Lists of more routes than this are compared through a hash set.
const LINEAR_LIMIT: usize = 16;

/// A routing table from keys and sender identities to targets.
///
/// Generic over the stored target `T` and the key type `K`, so that every
/// front end (the typed [`Signal`](crate::Signal), the Python module) shares
/// one implementation of filtering, deduplication, weak bookkeeping and
/// sender identity.
///
/// # Examples
///
/// ```
/// use signal_dispatch::Filter;
/// use signal_dispatch::router::{Router, Selection, Target};
///
/// struct Name(&'static str);
/// impl Target for Name {}
///
/// let router: Router<Name, String> = Router::new();
/// router.insert(Name("everyone"), &Filter::new());
/// router.insert(Name("books"), &Filter::new().keys(["books", "music"]));
///
/// let mut out = Selection::new();
/// router.select(&["books".to_string(), "music".to_string()], &[], &mut out);
/// let mut names: Vec<_> = out.iter().map(|slot| slot.target().0).collect();
/// names.sort();
/// assert_eq!(names, ["books", "everyone"]); // "books" once, though two keys matched
/// ```
pub struct Router<T, K> {
    unfiltered: ArcSwap<Bucket<T, K>>,
    /// Whether `unfiltered` holds any slot: a keyed send to a signal with
    /// no unfiltered connection skips loading it.
    any_unfiltered: AtomicBool,
    by_key: RouteMap<K, T, K>,
    by_sender: RouteMap<usize, T, K>,
    registry: Mutex<Registry<T, K>>,
    len: AtomicUsize,
    pruned: AtomicU64,
    /// The unfiltered slots as of a route version, reused by sends until
    /// routes change (see [`Router::unfiltered_snapshot`]), each send
    /// reading it under its thread's hazard.
    snapshot: HazardCell<Snapshot<T, K>>,
    #[cfg(signal_dispatch_loom)]
    publication: Mutex<()>,
    /// Bumped after every change of routes, with `changes` notified.
    version: AtomicU64,
    /// A sequence lock over the slots' states: bumped to odd before a slot
    /// stops being plainly selectable (a block, a disconnection) and to
    /// even after, under the registry lock. A send whose snapshot was found
    /// all plain at the current even value skips looking at each state
    /// ([`plain_prefix`](Self::plain_prefix)).
    states: AtomicU64,
    changes: event_listener::Event,
}

/// The strong owners of every connected slot: a slab whose free places are
/// reused, each slot knowing its place (8 bytes per connection).
struct Registry<T, K> {
    slots: Vec<Option<Arc<Slot<T, K>>>>,
    free: Vec<u32>,
    live: usize,
    /// Where the incremental sweep goes on from.
    cursor: usize,
}

impl<T, K> Registry<T, K> {
    fn insert(&mut self, slot: Arc<Slot<T, K>>) -> u32 {
        self.live += 1;
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Some(slot);
                index
            }
            None => {
                self.slots.push(Some(slot));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 connections per signal")
            }
        }
    }

    fn get(&self, index: u32) -> Option<&Arc<Slot<T, K>>> {
        self.slots.get(index as usize)?.as_ref()
    }

    fn take(&mut self, index: u32) -> Option<Arc<Slot<T, K>>> {
        let slot = self.slots.get_mut(index as usize)?.take()?;
        self.free.push(index);
        self.live -= 1;
        Some(slot)
    }
}

/// Slots taken out under the writer lock, dropped after it is released.
type Garbage<T, K> = Vec<Arc<Slot<T, K>>>;

impl<T: Target, K: Key> Default for Router<T, K> {
    fn default() -> Self {
        Router::new()
    }
}

impl<T, K> Router<T, K> {
    /// How many slots are connected.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether no slot is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many slots were removed because their target or every sender
    /// they listened to died.
    pub fn pruned(&self) -> u64 {
        self.pruned.load(Ordering::Relaxed)
    }
}

impl<T: Target, K: Key> Router<T, K> {
    /// An empty table.
    pub fn new() -> Self {
        Router {
            unfiltered: ArcSwap::from_pointee(Bucket::empty()),
            any_unfiltered: AtomicBool::new(false),
            by_key: route_map(),
            by_sender: route_map(),
            registry: Mutex::new(Registry {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                cursor: 0,
            }),
            len: AtomicUsize::new(0),
            pruned: AtomicU64::new(0),
            snapshot: HazardCell::empty(),
            #[cfg(signal_dispatch_loom)]
            publication: Mutex::new(()),
            version: AtomicU64::new(0),
            states: AtomicU64::new(0),
            changes: event_listener::Event::new(),
        }
    }

    /// Stores `target` with the routes of `filter` (an empty filter means
    /// unfiltered) and returns its slot.
    ///
    /// A filter whose senders have all died by now leaves the target with
    /// no route: the slot comes back already disconnected.
    pub fn insert(&self, target: T, filter: &Filter<K>) -> Arc<Slot<T, K>> {
        self.insert_with(target, filter, false)
    }

    /// Like [`insert`](Self::insert), for a target that runs at most once:
    /// [`Slot::claim`] lets exactly one send have it, and a claimed slot is
    /// never selected again.
    pub fn insert_once(&self, target: T, filter: &Filter<K>) -> Arc<Slot<T, K>> {
        self.insert_with(target, filter, true)
    }

    fn insert_with(&self, target: T, filter: &Filter<K>, once: bool) -> Arc<Slot<T, K>> {
        let marks = u32::from(target.marks()) << MARKS_SHIFT & MARKS;
        let slot = Arc::new(Slot {
            id: ConnectionId::next(),
            state: AtomicU32::new(if once { ONCE | marks } else { marks }),
            index: AtomicU32::new(0),
            routes: Mutex::new(Routes {
                list: SmallVec::new(),
            }),
            target,
        });
        let garbage = {
            let mut registry = lock(&self.registry);
            let _publication = self.publication();
            if self.add_routes_locked(&slot, filter) {
                slot.set_connected(true);
                let index = registry.insert(slot.clone());
                slot.index.store(index, Ordering::Relaxed);
                self.len.store(registry.live, Ordering::Relaxed);
            }
            self.sweep_locked(&mut registry, SWEEP_STEP)
        };
        drop(garbage);
        self.changed();
        slot
    }

    /// Adds the routes of `filter` to a connected slot (an empty filter adds
    /// the unfiltered route). Routes it already has are not added twice.
    /// Returns `false`, changing nothing, if the slot is not connected here.
    pub fn add_routes(&self, slot: &Arc<Slot<T, K>>, filter: &Filter<K>) -> bool {
        let registry = lock(&self.registry);
        let _publication = self.publication();
        if !Self::is_registered(&registry, slot) {
            return false;
        }
        self.add_routes_locked(slot, filter);
        drop(registry);
        self.changed();
        true
    }

    /// Removes the routes of `filter` from a slot (an empty filter removes
    /// the unfiltered route). A slot left with no route is disconnected.
    /// Returns whether the slot is still connected afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::Filter;
    /// use signal_dispatch::router::{Router, Target};
    ///
    /// struct Name;
    /// impl Target for Name {}
    /// let router: Router<Name, String> = Router::new();
    /// let slot = router.insert(Name, &Filter::new().keys(["a", "b"]));
    /// assert!(router.remove_routes(&slot, &Filter::new().key("a")));
    /// assert!(!router.remove_routes(&slot, &Filter::new().key("b")));
    /// assert!(router.is_empty());
    /// ```
    pub fn remove_routes(&self, slot: &Slot<T, K>, filter: &Filter<K>) -> bool {
        let mut garbage = Garbage::new();
        let connected = {
            let mut registry = lock(&self.registry);
            let _publication = self.publication();
            if !Self::is_registered(&registry, slot) {
                return false;
            }
            let empty = {
                let mut routes = lock(&slot.routes);
                self.remove_matching_locked(slot, &mut routes, filter);
                routes.list.is_empty()
            };
            if empty {
                if let Some(removed) = self.unregister_locked(&mut registry, slot) {
                    garbage.push(removed);
                }
            }
            garbage.extend(self.sweep_locked(&mut registry, SWEEP_STEP));
            !empty
        };
        drop(garbage);
        self.changed();
        connected
    }

    /// Disconnects a slot entirely. Returns whether it was connected here;
    /// removing a slot twice, or a slot of another router, is a no-op.
    pub fn remove(&self, slot: &Slot<T, K>) -> bool {
        let mut garbage = Garbage::new();
        let removed = {
            let mut registry = lock(&self.registry);
            let _publication = self.publication();
            if !Self::is_registered(&registry, slot) {
                return false;
            }
            if let Some(removed) = self.unregister_locked(&mut registry, slot) {
                garbage.push(removed);
            }
            garbage.extend(self.sweep_locked(&mut registry, SWEEP_STEP));
            true
        };
        drop(garbage);
        self.changed();
        removed
    }

    /// Disconnects every slot. Returns how many were connected.
    pub fn clear(&self) -> usize {
        let garbage: Garbage<T, K> = {
            let mut registry = lock(&self.registry);
            let _publication = self.publication();
            let slots: Garbage<T, K> = registry.slots.drain(..).flatten().collect();
            registry.free.clear();
            registry.live = 0;
            registry.cursor = 0;
            self.disturb(|| {
                for slot in &slots {
                    slot.set_connected(false);
                    lock(&slot.routes).list.clear();
                }
            });
            self.store_unfiltered(Bucket::empty());
            self.by_key.pin().clear();
            self.by_sender.pin().clear();
            self.len.store(0, Ordering::Relaxed);
            slots
        };
        let count = garbage.len();
        drop(garbage);
        self.changed();
        count
    }

    /// Removes every slot whose target is dead, and every route to a dead
    /// sender, now. Returns how many slots it disconnected.
    ///
    /// This is never needed for correctness — dead slots are never selected,
    /// and connects and disconnects sweep a few at a time — but it returns
    /// memory at once, for instance after dropping many owners.
    pub fn prune(&self) -> usize {
        let garbage = {
            let mut registry = lock(&self.registry);
            let _publication = self.publication();
            registry.cursor = 0;
            let budget = registry.slots.len();
            self.sweep_locked(&mut registry, budget)
        };
        let count = garbage.len();
        drop(garbage);
        if count > 0 {
            self.changed();
        }
        count
    }

    /// Fills `out` with every connected, live slot that a send naming `keys`
    /// and the senders at `senders` (their [`SenderIdentity::address`]es)
    /// reaches: the unfiltered ones, and those with a matching key or sender
    /// route, each once. `out` is cleared first. Takes no lock.
    pub fn select(&self, keys: &[K], senders: &[usize], out: &mut Selection<T, K>) {
        out.clear();
        let _publication = self.publication();
        let mut sources = 0;
        if self.any_unfiltered.load(Ordering::Acquire) {
            let unfiltered = self.unfiltered.load();
            if !unfiltered.is_empty() {
                sources += 1;
                unfiltered.collect_live(out);
            }
        }
        if !keys.is_empty() {
            let by_key = self.by_key.pin();
            for key in keys {
                if let Some(bucket) = by_key.get(key) {
                    sources += 1;
                    bucket.collect_live(out);
                }
            }
        }
        if !senders.is_empty() {
            let by_sender = self.by_sender.pin();
            for address in senders {
                if let Some(bucket) = by_sender.get(address) {
                    sources += 1;
                    bucket.collect_live(out);
                }
            }
        }
        if sources > 1 && out.len() > 1 {
            out.sort_unstable_by_key(|slot| Arc::as_ptr(slot) as usize);
            out.dedup_by(|a, b| Arc::ptr_eq(a, b));
        }
    }

    /// How many connected slots have a route for `key` (unfiltered slots not
    /// counted).
    pub fn count_key(&self, key: &K) -> usize {
        self.by_key.pin().get(key).map_or(0, Bucket::count_live)
    }

    /// How many connected slots have a route for the sender at `address`.
    pub fn count_sender(&self, address: usize) -> usize {
        self.by_sender
            .pin()
            .get(&address)
            .map_or(0, Bucket::count_live)
    }

    /// How many connected slots are unfiltered.
    pub fn count_unfiltered(&self) -> usize {
        self.unfiltered.load().count_live()
    }

    /// The keys that at least one connected, live slot has a route for.
    pub fn keys(&self) -> Vec<K> {
        self.by_key
            .pin()
            .iter()
            .filter(|(_, bucket)| bucket.count_live() > 0)
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// A number that grows after every change of routes (connect,
    /// disconnect, reclamation); equal versions mean no change in between.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// A listener woken by the next change of routes, or by the router being
    /// dropped. Read [`version`](Self::version) after making it, not before,
    /// so no change slips between the two.
    pub fn listen(&self) -> event_listener::EventListener {
        self.changes.listen()
    }

    /// Under loom, a lock standing in for the publication the lock-free
    /// maps provide (loom can't see their release/acquire pairs): map reads
    /// and writes are serialized, slot states still race. Otherwise nothing.
    #[cfg(signal_dispatch_loom)]
    fn publication(&self) -> crate::sync::MutexGuard<'_, ()> {
        lock(&self.publication)
    }

    #[cfg(not(signal_dispatch_loom))]
    fn publication(&self) -> Publication {
        Publication
    }

    /// Adds a block to `slot` (blocks nest; each [`Slot::unblock`] lifts
    /// one): sends skip it meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use signal_dispatch::Filter;
    /// use signal_dispatch::router::{Router, Selection, Target};
    ///
    /// struct Name(&'static str);
    /// impl Target for Name {}
    ///
    /// let router: Router<Name, String> = Router::new();
    /// let slot = router.insert(Name("x"), &Filter::new());
    /// router.block(&slot);
    /// assert!(slot.is_blocked());
    /// let mut out = Selection::new();
    /// router.select(&[], &[], &mut out);
    /// assert!(out.is_empty());
    /// slot.unblock();
    /// router.select(&[], &[], &mut out);
    /// assert_eq!(out.len(), 1);
    /// ```
    pub fn block(&self, slot: &Slot<T, K>) {
        let _registry = lock(&self.registry);
        self.disturb(|| slot.add_block());
    }

    /// Makes a change that may leave slots not plainly selectable, inside
    /// the states' sequence lock (odd while it lasts). Callers hold the
    /// registry lock, so changes never overlap.
    fn disturb<R>(&self, change: impl FnOnce() -> R) -> R {
        let sequence = self.states.load(Ordering::Relaxed);
        self.states.store(sequence + 1, Ordering::Relaxed);
        // Whoever sees the change sees the odd value. (The changes made
        // here are release operations themselves; the fence keeps it so
        // whatever a change is.)
        fence(Ordering::Release);
        let changed = change();
        self.states.store(sequence + 2, Ordering::Release);
        changed
    }

    /// How many of `snapshot`'s slots, from the first, are plainly
    /// selectable ([`Slot::is_plainly_selectable`]) for a send beginning
    /// now: all of them, without a look at any state, if the snapshot was
    /// found so and no block or disconnection has begun since.
    #[inline]
    pub(crate) fn plain_prefix(&self, snapshot: &Snapshot<T, K>) -> usize {
        let sequence = self.states.load(Ordering::Acquire);
        if snapshot.plain_at.load(Ordering::Relaxed) == sequence {
            return snapshot.slots.len();
        }
        self.look_for_plain_prefix(snapshot, sequence)
    }

    /// [`plain_prefix`](Self::plain_prefix) by a look at each state, the
    /// states' sequence read as `sequence`; out of line, so that the answer
    /// from the record, inlined into every send, stays small.
    #[inline(never)]
    fn look_for_plain_prefix(&self, snapshot: &Snapshot<T, K>, sequence: u64) -> usize {
        let slots = &snapshot.slots;
        let prefix = slots
            .iter()
            .position(|slot| !slot.is_plainly_selectable())
            .unwrap_or(slots.len());
        // Recorded only at an even sequence, with no change under way: the
        // look saw every change that ended before it. A change that begins
        // after moves the sequence on, and the record no longer matches.
        if prefix == slots.len() && sequence % 2 == 0 {
            snapshot.plain_at.store(sequence, Ordering::Relaxed);
        }
        prefix
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        // Callers hold no lock here, so dropping the stale snapshot (maybe
        // the last reference to a removed slot) runs no user code under one.
        drop(self.snapshot.swap(None));
        self.changes.notify(usize::MAX);
    }

    /// Every slot with an unfiltered route, as a shared snapshot: rebuilt
    /// after a change of routes, else reused, so a send to many unfiltered
    /// slots takes one reference count instead of one per slot (the slot
    /// counts are what cost most in a batched fan-out, moving between the
    /// sending core and the running one).
    ///
    /// The snapshot says which slots exist, not their state: users check
    /// [`Slot::is_selectable`] and the target's liveness at each use, as
    /// [`select`](Self::select) does. A snapshot built while a change
    /// raced it is not kept.
    ///
    /// It is held in a [`HazardCell`], which takes no reference count (no
    /// shared count moving between cores that send at once); a task that
    /// keeps it takes one ([`CurrentSnapshot::into_arc`]).
    #[inline(always)]
    pub(crate) fn unfiltered_snapshot(&self) -> CurrentSnapshot<'_, T, K> {
        let version = self.version();
        if let Some(current) = self.snapshot.hold(lease::index()) {
            if current.version == version {
                return CurrentSnapshot(current);
            }
        }
        self.rebuild_snapshot()
    }

    /// Reads the hazards of every thread holding the unfiltered snapshot
    /// ([`HazardCell::observe`]).
    pub(crate) fn observe_holders(&self) {
        self.snapshot.observe();
    }

    /// [`unfiltered_snapshot`](Self::unfiltered_snapshot) when the kept
    /// one is missing or stale: out of line, so that the reuse, inlined
    /// into every send, stays small.
    #[cold]
    #[inline(never)]
    fn rebuild_snapshot(&self) -> CurrentSnapshot<'_, T, K> {
        let (fresh, stale) = {
            let _publication = self.publication();
            let version = self.version();
            let mut slots = Vec::new();
            self.unfiltered.load().collect_all(&mut slots);
            let fresh = Arc::new(Snapshot {
                version,
                slots,
                plain: std::sync::OnceLock::new(),
                plain_at: AtomicU64::new(NEVER_PLAIN),
            });
            let replaced = self.snapshot.swap(Some(fresh.clone()));
            // Routes changed while it was built: don't leave it for others.
            let raced = (self.version() != version).then(|| self.snapshot.clear_if(&fresh));
            (fresh, (replaced, raced))
        };
        // Outside the (loom-only) lock: the last reference to a removed slot
        // may go with them.
        drop(stale);
        CurrentSnapshot(Held::from_arc(fresh))
    }

    fn is_registered(registry: &Registry<T, K>, slot: &Slot<T, K>) -> bool {
        let index = slot.index.load(Ordering::Relaxed);
        registry
            .get(index)
            .is_some_and(|stored| std::ptr::eq(Arc::as_ptr(stored), slot))
    }

    /// Records and attaches the routes of `filter` the slot lacks. Returns
    /// whether the slot has any route afterwards.
    fn add_routes_locked(&self, slot: &Arc<Slot<T, K>>, filter: &Filter<K>) -> bool {
        let mut routes = lock(&slot.routes);
        if filter.is_empty() {
            if !routes.list.iter().any(|r| matches!(r, Route::Any)) {
                routes.list.push(Route::Any);
                self.attach_unfiltered(slot);
            }
            return true;
        }
        for key in fresh_keys(&routes.list, filter.named_keys()) {
            // Record the route before attaching it: if the key's `Hash`
            // panics while attaching, a later removal still finds the route.
            routes.list.push(Route::Key(key.clone()));
            self.attach(&self.by_key, key, slot);
        }
        for identity in filter.named_senders() {
            let known = routes
                .list
                .iter()
                .any(|r| matches!(r, Route::Sender(s) if s.address() == identity.address()));
            if known || !identity.is_alive() {
                continue;
            }
            routes.list.push(Route::Sender(identity.clone()));
            slot.state.fetch_or(SENDERS, Ordering::Relaxed);
            self.attach(&self.by_sender, &identity.address(), slot);
        }
        !routes.list.is_empty()
    }

    /// Detaches and forgets the slot's routes named by `filter`.
    fn remove_matching_locked(
        &self,
        slot: &Slot<T, K>,
        routes: &mut Routes<K>,
        filter: &Filter<K>,
    ) {
        let remove_any = filter.is_empty();
        let keys = KeySet::new(filter.named_keys());
        let senders: HashSet<usize> = filter
            .named_senders()
            .iter()
            .map(SenderIdentity::address)
            .collect();
        routes.list.retain(|route| {
            let matches = match route {
                Route::Any => remove_any,
                Route::Key(key) => keys.contains(key),
                Route::Sender(identity) => senders.contains(&identity.address()),
            };
            !matches
        });
        // `retain` gives no ownership of what it drops, so detach by a second
        // pass over what the filter named (each at most once).
        if remove_any {
            self.detach_unfiltered(slot);
        }
        for key in keys.iter() {
            self.detach(&self.by_key, key, slot);
        }
        for address in &senders {
            self.detach(&self.by_sender, address, slot);
        }
        if !routes.list.iter().any(|r| matches!(r, Route::Sender(_))) {
            slot.state.fetch_and(!SENDERS, Ordering::Relaxed);
        }
    }

    /// Takes a slot out of the registry and detaches all its routes.
    fn unregister_locked(
        &self,
        registry: &mut Registry<T, K>,
        slot: &Slot<T, K>,
    ) -> Option<Arc<Slot<T, K>>> {
        let index = slot.index.load(Ordering::Relaxed);
        if !registry
            .get(index)
            .is_some_and(|stored| std::ptr::eq(Arc::as_ptr(stored), slot))
        {
            return None;
        }
        let slot = registry.take(index)?;
        self.len.store(registry.live, Ordering::Relaxed);
        self.disturb(|| slot.set_connected(false));
        let routes = std::mem::take(&mut lock(&slot.routes).list);
        for route in &routes {
            match route {
                Route::Any => self.detach_unfiltered(&slot),
                Route::Key(key) => self.detach(&self.by_key, key, &slot),
                Route::Sender(identity) => self.detach(&self.by_sender, &identity.address(), &slot),
            }
        }
        slot.state.fetch_and(!SENDERS, Ordering::Relaxed);
        Some(slot)
    }

    /// Inspects up to `budget` slots from the sweep cursor, taking out dead
    /// targets and routes to dead senders.
    fn sweep_locked(&self, registry: &mut Registry<T, K>, budget: usize) -> Garbage<T, K> {
        let mut garbage = Garbage::new();
        for _ in 0..budget.min(registry.slots.len()) {
            if registry.cursor >= registry.slots.len() {
                registry.cursor = 0;
            }
            let index = registry.cursor;
            registry.cursor += 1;
            let Some(slot) = registry.slots[index].clone() else {
                continue;
            };
            if !slot.is_target_live() || !self.drop_dead_senders_locked(&slot) {
                if let Some(removed) = self.unregister_locked(registry, &slot) {
                    garbage.push(removed);
                }
            }
        }
        if !garbage.is_empty() {
            self.pruned
                .fetch_add(garbage.len() as u64, Ordering::Relaxed);
            #[cfg(feature = "tracing")]
            tracing::debug!(
                pruned = garbage.len(),
                "removed connections whose owner or senders died"
            );
        }
        garbage
    }

    /// Removes the slot's routes to dead senders. Returns whether it still
    /// has a route.
    fn drop_dead_senders_locked(&self, slot: &Slot<T, K>) -> bool {
        let mut routes = lock(&slot.routes);
        if slot.state.load(Ordering::Relaxed) & SENDERS == 0 {
            return !routes.list.is_empty();
        }
        let mut dead = Vec::new();
        routes.list.retain(|route| match route {
            Route::Sender(identity) if !identity.is_alive() => {
                dead.push(identity.address());
                false
            }
            _ => true,
        });
        if !routes.list.iter().any(|r| matches!(r, Route::Sender(_))) {
            slot.state.fetch_and(!SENDERS, Ordering::Relaxed);
        }
        for address in &dead {
            self.detach(&self.by_sender, address, slot);
        }
        !routes.list.is_empty()
    }

    fn attach_unfiltered(&self, slot: &Arc<Slot<T, K>>) {
        let current = self.unfiltered.load();
        if let Change::Replace(next) = current.with(slot.id, &Arc::downgrade(slot)) {
            drop(current);
            self.store_unfiltered(next);
        }
    }

    fn detach_unfiltered(&self, slot: &Slot<T, K>) {
        let change = self.unfiltered.load().without(slot);
        match change {
            Change::Done => {}
            Change::Replace(next) => self.store_unfiltered(next),
            Change::Empty => self.store_unfiltered(Bucket::empty()),
        }
    }

    /// Publishes the unfiltered bucket (writers only, under the registry
    /// lock), then whether it holds any slot: a reader that sees the flag
    /// set sees this bucket or a later one.
    fn store_unfiltered(&self, bucket: Bucket<T, K>) {
        let any = !bucket.is_empty();
        self.unfiltered.store(Arc::new(bucket));
        self.any_unfiltered.store(any, Ordering::Release);
    }

    fn attach<Q: Key>(&self, map: &RouteMap<Q, T, K>, key: &Q, slot: &Arc<Slot<T, K>>) {
        let map = map.pin();
        let weak = Arc::downgrade(slot);
        let next = match map.get(key) {
            Some(bucket) => bucket.with(slot.id, &weak),
            None => Change::Replace(Bucket::one(&weak)),
        };
        if let Change::Replace(next) = next {
            map.insert(key.clone(), next);
        }
    }

    fn detach<Q: Key>(&self, map: &RouteMap<Q, T, K>, key: &Q, slot: &Slot<T, K>) {
        let map = map.pin();
        let Some(bucket) = map.get(key) else {
            return;
        };
        match bucket.without(slot) {
            Change::Done => {}
            Change::Replace(next) => {
                map.insert(key.clone(), next);
            }
            Change::Empty => {
                map.remove(key);
            }
        }
    }
}

/// A map from route (key or sender address) to bucket.
///
/// Hashed with aHash under per-map random keys. Keys may come from
/// untrusted input (a bridge's messages), so the hash must be keyed, which
/// aHash is, built to resist hash flooding as SipHash (std's default) is.
/// It hashes a short key in ~37 instructions where SipHash took ~160, of a
/// one-key send's ~1,350 (callgrind).
type RouteMap<Q, T, K> = papaya::HashMap<Q, Bucket<T, K>, ahash::RandomState>;

/// A new, empty [`RouteMap`].
///
/// Resizes block the (single, serialized) writer until done instead of
/// spreading the copy over later operations: incremental copying, and the
/// tombstones that repeated connects and disconnects leave behind, made
/// every write pay a share of some migration (measured: 35 µs to
/// disconnect a 10-key connection among 100,000 keyed connections).
/// Readers never wait either way.
fn route_map<Q: Key, T, K>() -> RouteMap<Q, T, K> {
    papaya::HashMap::builder()
        .hasher(ahash::RandomState::new())
        .resize_mode(papaya::ResizeMode::Blocking)
        .build()
}

/// The keys of `wanted` that `existing` routes lack, each once.
fn fresh_keys<'a, K: Key>(existing: &[Route<K>], wanted: &'a [K]) -> Vec<&'a K> {
    let mut fresh: Vec<&K> = Vec::with_capacity(wanted.len());
    if existing.len() + wanted.len() <= LINEAR_LIMIT {
        for key in wanted {
            let known = existing
                .iter()
                .any(|r| matches!(r, Route::Key(k) if k == key));
            if !known && !fresh.contains(&key) {
                fresh.push(key);
            }
        }
    } else {
        let mut seen: HashSet<&K> = existing
            .iter()
            .filter_map(|r| match r {
                Route::Key(k) => Some(k),
                _ => None,
            })
            .collect();
        fresh.extend(wanted.iter().filter(|key| seen.insert(key)));
    }
    fresh
}

/// A set of keys, looked up linearly while small.
enum KeySet<'a, K> {
    Small(Vec<&'a K>),
    Large(HashSet<&'a K>),
}

impl<'a, K: Key> KeySet<'a, K> {
    fn new(keys: &'a [K]) -> Self {
        if keys.len() <= LINEAR_LIMIT {
            let mut small: Vec<&K> = Vec::with_capacity(keys.len());
            for key in keys {
                if !small.contains(&key) {
                    small.push(key);
                }
            }
            KeySet::Small(small)
        } else {
            KeySet::Large(keys.iter().collect())
        }
    }

    fn contains(&self, key: &K) -> bool {
        match self {
            KeySet::Small(keys) => keys.contains(&key),
            KeySet::Large(keys) => keys.contains(key),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &'a K> + '_> {
        match self {
            KeySet::Small(keys) => Box::new(keys.iter().copied()),
            KeySet::Large(keys) => Box::new(keys.iter().copied()),
        }
    }
}

/// The unfiltered slots of a router as of one route version.
pub(crate) struct Snapshot<T, K> {
    version: u64,
    pub(crate) slots: Vec<Arc<Slot<T, K>>>,
    /// How plain the targets are to their user, worked out once, by the
    /// first user that asks.
    pub(crate) plain: std::sync::OnceLock<Plain>,
    /// The router's state sequence (always even) at which every slot was
    /// last seen plainly selectable, or [`NEVER_PLAIN`] (odd).
    plain_at: AtomicU64,
}

/// How plain the targets of a [`Snapshot`] are to their user (to sends: a
/// strong callback is plain, and a strong sync one borrowing the event also
/// runs at once, with the event lent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plain {
    /// Some are not plain.
    Not,
    /// All are plain.
    All,
    /// All are plain and run at once.
    AllAtOnce,
}

/// [`Snapshot::plain_at`] before any look: odd, so it matches no sequence.
const NEVER_PLAIN: u64 = u64::MAX;

/// A snapshot as [`Router::unfiltered_snapshot`] returns it, held (for
/// the span of a send, on its thread).
pub(crate) struct CurrentSnapshot<'a, T, K>(Held<'a, Snapshot<T, K>>);

impl<'a, T, K> CurrentSnapshot<'a, T, K> {
    /// The snapshot as a reference count of its own, for a task to keep.
    pub(crate) fn into_arc(self) -> Arc<Snapshot<T, K>> {
        self.0.into_arc()
    }

    /// How the snapshot is held.
    #[inline(always)]
    pub(crate) fn held(self) -> Held<'a, Snapshot<T, K>> {
        self.0
    }
}

impl<T, K> std::ops::Deref for CurrentSnapshot<'_, T, K> {
    type Target = Snapshot<T, K>;

    #[inline(always)]
    fn deref(&self) -> &Snapshot<T, K> {
        &self.0
    }
}

/// Outside loom, the publication guard is nothing.
#[cfg(not(signal_dispatch_loom))]
struct Publication;

impl<T, K> Drop for Router<T, K> {
    fn drop(&mut self) {
        // Wake route watchers, so they see the signal is gone.
        self.changes.notify(usize::MAX);
    }
}

impl<T, K> fmt::Debug for Router<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("connections", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(signal_dispatch_loom)))]
mod tests {
    use super::*;

    /// A target giving the marks it is made with.
    struct Marked(u8);

    impl Target for Marked {
        fn marks(&self) -> u8 {
            self.0
        }
    }

    /// The marks share the state word with the flags: every mark leaves
    /// each look at the state as it would be with none, and no change of
    /// the state touches a mark.
    #[test]
    fn marks_hide_from_every_look_at_the_state_and_outlive_its_changes() {
        let router: Router<Marked, String> = Router::new();
        for marks in 0..=u8::MAX {
            let kept = marks & 0xF;
            let slot = router.insert(Marked(marks), &Filter::new());
            assert_eq!(slot.marks(), kept);
            assert!(slot.is_plainly_selectable(), "marks {marks:#x}");
            assert!(slot.is_persistently_selectable(), "marks {marks:#x}");
            assert!(slot.is_selectable() && !slot.is_once() && !slot.is_blocked());
            assert_eq!(slot.selectable_once(), Some(false));

            router.block(&slot);
            assert!(slot.is_blocked() && !slot.is_plainly_selectable());
            assert!(!slot.is_persistently_selectable());
            assert_eq!(slot.marks(), kept);
            slot.unblock();
            assert!(slot.is_plainly_selectable() && slot.marks() == kept);

            assert!(router.remove(&slot));
            assert!(!slot.is_connected() && !slot.is_selectable());
            assert_eq!(slot.marks(), kept);

            let once = router.insert_once(Marked(marks), &Filter::new());
            assert_eq!(once.selectable_once(), Some(true));
            assert!(!once.is_plainly_selectable() && !once.is_persistently_selectable());
            assert!(once.claim() && !once.claim());
            assert!(!once.is_selectable());
            assert_eq!(once.marks(), kept);
            router.remove(&once);
        }
    }
}
