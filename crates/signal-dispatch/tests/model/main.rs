//! The model-based property test: random operation sequences run against
//! the signal and a plain reference model (the machine in `machine.rs`,
//! shared with the fuzz target).

mod machine;

use machine::{KEYS, Op, SENDERS};
use proptest::prelude::*;

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
        5 => (keys(), senders(), any::<bool>())
            .prop_map(|(keys, senders, call)| Op::Send { keys, senders, call }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_signal_agrees_with_the_reference_model(ops in proptest::collection::vec(op(), 1..60)) {
        machine::run(ops).map_err(TestCaseError::fail)?;
    }

    /// The fuzzer's byte decoder, driven here by proptest so CI exercises
    /// it without a nightly toolchain.
    #[test]
    fn decoded_byte_strings_agree_with_the_reference_model(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        machine::run(machine::decode(&bytes)).map_err(TestCaseError::fail)?;
    }
}
