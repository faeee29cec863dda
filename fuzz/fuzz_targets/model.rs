//! Decodes the fuzzer's bytes into operations on a signal and checks every
//! send against the reference model of the property test (the same state
//! machine, included from the core's tests).
#![no_main]

#[path = "../../crates/signal-dispatch/tests/model/machine.rs"]
mod machine;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Err(disagreement) = machine::run(machine::decode(bytes)) {
        panic!("the signal disagrees with the reference model: {disagreement}");
    }
});
