//! The state machine shared by the model-based property test
//! (`tests/model/main.rs`) and the fuzz target (`fuzz/fuzz_targets/model.rs`):
//! operations on a signal (connect filtered or not, weak or strong, once or
//! not; whole and partial disconnect; owner drop; sender drop and
//! replacement; send, awaited or called), run against the signal and against a plain reference
//! model. Every send's count and the exact set of callbacks it ran must
//! agree.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use signal_dispatch::{Connection, Event, Filter, Mode, SenderIdentity, Signal, weak};

pub const KEYS: [&str; 3] = ["a", "b", "c"];
pub const SENDERS: usize = 3;

/// Fails the run with a message, like `assert!` without panicking.
macro_rules! check {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

/// Fails the run unless both sides are equal.
macro_rules! check_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{}: {:?} != {:?}", format!($($message)+), left, right));
        }
    }};
}

/// One operation.
#[derive(Clone, Debug)]
pub enum Op {
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
    /// A send, awaited, or called synchronously (`call`).
    Send {
        keys: Vec<usize>,
        senders: Vec<usize>,
        call: bool,
    },
}

/// Decodes bytes into operations (for the fuzzer): each operation takes
/// one byte for its kind and one or two more for its operands; whatever
/// bytes there are make some sequence.
pub fn decode(bytes: &[u8]) -> Vec<Op> {
    let mut bytes = bytes.iter().copied();
    let mut ops = Vec::new();
    let set =
        |bits: u8, of: usize| -> Vec<usize> { (0..of).filter(|i| bits & (1 << i) != 0).collect() };
    while let Some(kind) = bytes.next() {
        let a = bytes.next().unwrap_or(0);
        let op = match kind % 14 {
            0..=3 => {
                let b = bytes.next().unwrap_or(0);
                Op::Connect {
                    keys: set(a, KEYS.len()),
                    senders: set(a >> 3, SENDERS),
                    weak: b & 1 == 1,
                    once: b & 6 == 6,
                }
            }
            4 => Op::Disconnect(usize::from(a)),
            5 => Op::RemoveKeys(usize::from(a), set(bytes.next().unwrap_or(0), KEYS.len())),
            6 => Op::AddKeys(usize::from(a), set(bytes.next().unwrap_or(0), KEYS.len())),
            7 => Op::DropOwner(usize::from(a)),
            8 => Op::DropSender(usize::from(a) % SENDERS),
            9 => Op::NewSender(usize::from(a) % SENDERS),
            _ => Op::Send {
                keys: set(a, KEYS.len()),
                senders: set(a >> 3, SENDERS),
                call: a & 0x40 != 0,
            },
        };
        ops.push(op);
    }
    ops
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

/// Runs `ops` on a signal and on the reference model; the first
/// disagreement is the error.
pub fn run(ops: Vec<Op>) -> Result<(), String> {
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
                check_eq!(connection.is_connected(), connected, "connect #{}", index);
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
                    check!(added, "add_filter on a live connection #{}", i);
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
                call,
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
                let report = if call {
                    send.call().unwrap()
                } else {
                    futures::executor::block_on(send.wait()).unwrap()
                };
                let mut ran = log.lock().unwrap().clone();
                ran.sort();
                check_eq!(report.scheduled(), expected.len(), "the count of a send");
                check!(
                    report.is_success(),
                    "a send failed: {:?}",
                    report.failures()
                );
                check_eq!(&ran, &expected, "the callbacks a send ran");
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
    check!(signal.is_empty(), "{} connections left", signal.len());
    Ok(())
}
