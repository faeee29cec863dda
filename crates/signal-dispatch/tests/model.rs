//! A model-based property test: random sequences of connect (filtered or
//! not, weak or strong, once or not), whole and partial disconnect, owner
//! drop, sender drop and replacement, and send, run against the signal and
//! against a plain reference model; every send's count and the exact set of
//! callbacks it ran must agree.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use signal_dispatch::{Connection, Event, Filter, Mode, SenderIdentity, Signal, weak};

const KEYS: [&str; 3] = ["a", "b", "c"];
const SENDERS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Connect {
        keys: Vec<usize>,
        senders: Vec<usize>,
        weak: bool,
        once: bool,
    },
    Disconnect(usize),
    RemoveKeys(usize, Vec<usize>),
    AddKeys(usize, Vec<usize>),
    DropOwner(usize),
    DropSender(usize),
    NewSender(usize),
    Send {
        keys: Vec<usize>,
        senders: Vec<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let keys = || proptest::collection::vec(0..KEYS.len(), 0..3);
    let senders = || proptest::collection::vec(0..SENDERS, 0..2);
    prop_oneof![
        4 => (keys(), senders(), any::<bool>(), proptest::bool::weighted(0.2))
            .prop_map(|(keys, senders, weak, once)| Op::Connect { keys, senders, weak, once }),
        1 => any::<usize>().prop_map(Op::Disconnect),
        1 => (any::<usize>(), keys()).prop_map(|(i, k)| Op::RemoveKeys(i, k)),
        1 => (any::<usize>(), keys()).prop_map(|(i, k)| Op::AddKeys(i, k)),
        1 => any::<usize>().prop_map(Op::DropOwner),
        1 => (0..SENDERS).prop_map(Op::DropSender),
        1 => (0..SENDERS).prop_map(Op::NewSender),
        5 => (keys(), senders()).prop_map(|(keys, senders)| Op::Send { keys, senders }),
    ]
}

/// The reference model of one connection.
#[derive(Debug)]
struct Model {
    connected: bool,
    unfiltered: bool,
    keys: BTreeSet<usize>,
    /// Sender routes as (sender slot, generation of the object named).
    senders: BTreeSet<(usize, u64)>,
    /// Weak connections die with their owner.
    owner_alive: bool,
    once: bool,
}

impl Model {
    fn matches(&self, keys: &BTreeSet<usize>, senders: &BTreeSet<(usize, u64)>) -> bool {
        self.connected
            && self.owner_alive
            && (self.unfiltered
                || !self.keys.is_disjoint(keys)
                || !self.senders.is_disjoint(senders))
    }
}

/// One sender slot: the object (if alive), its generation, its identity.
struct SenderSlot {
    object: Option<Arc<u64>>,
    generation: u64,
    identity: Option<SenderIdentity>,
}

struct Owner {
    index: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Owner {
    fn hit(&self, _: Event) {
        self.log.lock().unwrap().push(self.index);
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let signal: Signal = Signal::builder(()).mode(Mode::Inline).build();
    let log: Arc<Mutex<Vec<usize>>> = Arc::default();
    let mut models: Vec<Model> = Vec::new();
    let mut connections: Vec<Connection> = Vec::new();
    let mut owners: Vec<Option<Arc<Owner>>> = Vec::new();
    let mut generation = 0;
    let mut senders: Vec<SenderSlot> = (0..SENDERS)
        .map(|_| {
            generation += 1;
            let object = Arc::new(generation);
            SenderSlot {
                identity: Some(SenderIdentity::of(&object)),
                object: Some(object),
                generation,
            }
        })
        .collect();

    for op in ops {
        match op {
            Op::Connect {
                keys,
                senders: named,
                weak: is_weak,
                once,
            } => {
                let index = models.len();
                let mut filter = Filter::new().keys(keys.iter().map(|&k| KEYS[k]));
                let mut routes = BTreeSet::new();
                for &j in &named {
                    if let Some(identity) = &senders[j].identity {
                        filter = filter.identity(identity.clone());
                        if senders[j].object.is_some() {
                            routes.insert((j, senders[j].generation));
                        }
                    }
                }
                let named_any =
                    !keys.is_empty() || named.iter().any(|&j| senders[j].identity.is_some());
                // A filter naming only dead senders connects nothing.
                let connected = !named_any || !keys.is_empty() || !routes.is_empty();
                let owner = Arc::new(Owner {
                    index,
                    log: log.clone(),
                });
                let connection = match (is_weak, once) {
                    (true, false) => signal.connect_filtered(filter, weak(&owner, Owner::hit)),
                    (true, true) => signal.connect_once_filtered(filter, weak(&owner, Owner::hit)),
                    (false, once) => {
                        let strong = owner.clone();
                        let callback = move |event: Event| strong.hit(event);
                        if once {
                            signal.connect_once_filtered(filter, callback)
                        } else {
                            signal.connect_filtered(filter, callback)
                        }
                    }
                };
                prop_assert_eq!(connection.is_connected(), connected, "connect #{}", index);
                models.push(Model {
                    connected,
                    unfiltered: !named_any,
                    keys: keys.into_iter().collect(),
                    senders: routes,
                    owner_alive: true,
                    once,
                });
                connections.push(connection);
                owners.push(is_weak.then_some(owner));
            }
            Op::Disconnect(i) if !models.is_empty() => {
                let i = i % models.len();
                connections[i].disconnect();
                models[i].connected = false;
            }
            Op::RemoveKeys(i, keys) if !models.is_empty() => {
                let i = i % models.len();
                let filter = Filter::new().keys(keys.iter().map(|&k| KEYS[k]));
                if keys.is_empty() {
                    continue; // an empty filter would remove the unfiltered route
                }
                connections[i].remove_filter(filter);
                let model = &mut models[i];
                for k in keys {
                    model.keys.remove(&k);
                }
                // With no route left at all it is disconnected; routes to
                // dead senders may linger until swept, but never match.
                if !model.unfiltered && model.keys.is_empty() && model.senders.is_empty() {
                    model.connected = false;
                }
            }
            Op::AddKeys(i, keys) if !models.is_empty() => {
                let i = i % models.len();
                let model = &mut models[i];
                // Adding to a connection whose only routes are to dead
                // senders depends on when the sweep runs: not modelled.
                if keys.is_empty() || !model.senders.is_empty() {
                    continue;
                }
                let added =
                    connections[i].add_filter(Filter::new().keys(keys.iter().map(|&k| KEYS[k])));
                let live = model.connected && model.owner_alive;
                if model.connected && model.owner_alive {
                    model.keys.extend(keys);
                }
                // A weak connection whose owner died may still be in the
                // table until swept: only the live case is asserted.
                if live {
                    prop_assert!(added, "add_filter on a live connection #{}", i);
                }
            }
            Op::DropOwner(i) if !owners.is_empty() => {
                let i = i % owners.len();
                if owners[i].take().is_some() {
                    models[i].owner_alive = false;
                }
            }
            Op::DropSender(j) => {
                senders[j].object = None;
            }
            Op::NewSender(j) => {
                generation += 1;
                // The old object dies first, so its address may be reused.
                senders[j].object = None;
                let object = Arc::new(generation);
                senders[j] = SenderSlot {
                    identity: Some(SenderIdentity::of(&object)),
                    object: Some(object),
                    generation,
                };
            }
            Op::Send {
                keys,
                senders: named,
            } => {
                let mut send = signal.send().keys(keys.iter().map(|&k| KEYS[k]));
                let mut named_live = BTreeSet::new();
                for &j in &named {
                    if let Some(object) = &senders[j].object {
                        send = send.sender(object);
                        named_live.insert((j, senders[j].generation));
                    }
                }
                let key_set: BTreeSet<usize> = keys.into_iter().collect();
                let expected: Vec<usize> = models
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.matches(&key_set, &named_live))
                    .map(|(i, _)| i)
                    .collect();
                log.lock().unwrap().clear();
                let report = futures::executor::block_on(send.wait()).unwrap();
                let mut ran = log.lock().unwrap().clone();
                ran.sort();
                prop_assert_eq!(report.scheduled(), expected.len());
                prop_assert!(report.is_success());
                prop_assert_eq!(&ran, &expected);
                for i in expected {
                    if models[i].once {
                        models[i].connected = false;
                    }
                }
            }
            _ => {}
        }
    }
    // Dead owners and dead senders are reclaimed; what is left can all be
    // disconnected.
    signal.prune();
    for connection in &connections {
        connection.disconnect();
    }
    prop_assert!(signal.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_signal_agrees_with_the_reference_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
