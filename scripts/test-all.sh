#!/usr/bin/env bash
# Runs every test of the project. This is the README's test command, and
# what CI runs after its format and lint gates.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "a nats-server for the NATS bridge's tests (installed if missing)"
./scripts/install-nats-server.sh

step "unit, integration and example builds, every feature (cargo test --all-targets)"
cargo test --all-targets --all-features

step "the default feature set builds and passes its own tests"
cargo test -q --lib --tests

step "doctests (the crate docs and the README)"
cargo test --doc

step "loom models of the hazard cell and the routing table (scripts/loom.sh, preemption bound 3)"
./scripts/loom.sh

step "valgrind memcheck over the tests of the core's unsafe code: the lent event and the hazard cell (scripts/memcheck.sh)"
./scripts/memcheck.sh

step "AddressSanitizer and LeakSanitizer over the core's tests (scripts/sanitize.sh; skipped without nightly)"
./scripts/sanitize.sh

step "Miri over the tests of the lent event and the hazard cell (scripts/miri.sh; skipped without nightly and miri)"
./scripts/miri.sh

step "the fuzz target against the reference model (scripts/fuzz.sh; skipped without nightly and cargo-fuzz)"
FUZZ_SECS="${FUZZ_SECS:-30}" ./scripts/fuzz.sh

step "the core builds without its default runtime"
cargo build -q -p signal-dispatch --no-default-features

step "the core and the harness build on the declared Rust (scripts/msrv.sh; skipped without rustup)"
./scripts/msrv.sh

step "the benchmark harness: a smoke pass at tiny sizes (asserts nothing about speed)"
smoke=$(mktemp -d)
cargo run -q --release -p signal-dispatch-bench -- --smoke --json "$smoke/results.json" --plots "$smoke" > "$smoke/out.txt"
grep -q '"fanout_1_spawned"' "$smoke/results.json" || { echo "the smoke pass wrote no results"; cat "$smoke/out.txt"; exit 1; }
[ -s "$smoke/cost_per_callback_vs_fanout.svg" ] || { echo "the smoke pass drew no plot"; exit 1; }
rm -rf "$smoke"
echo "benchmark smoke: 1 passed, 0 failed"

step "the NATS bridge benchmark: a smoke pass against a real server"
./scripts/bench-nats.sh --smoke > /dev/null
echo "nats benchmark smoke: 1 passed, 0 failed"

step "the seed's examples run and print what the seed documents"
run_example() { cargo run -q -p signal-dispatch --example "$1"; }
basic=$(run_example basic)
[ "$basic" = $'sending the signal.\ncallback was called!' ] || { echo "basic printed: $basic"; exit 1; }
callables=$(run_example callables)
for n in 1 2 3 4 5 6 7 8; do
  grep -qx "callback$n was called" <<<"$callables" || { echo "callables lacks callback$n: $callables"; exit 1; }
done
kwargs=$(run_example kwargs)
grep -qx 'my_kwarg= default' <<<"$kwargs" && grep -qx 'my_kwarg= changed with send' <<<"$kwargs" \
  || { echo "kwargs printed: $kwargs"; exit 1; }
selective=$(run_example selective)
deliveries=$(grep -c ' received signal ' <<<"$selective" || true)
[ "$deliveries" = 7 ] || { echo "selective made $deliveries deliveries, not 7: $selective"; exit 1; }
tour=$(cargo run -q -p signal-dispatch --example tour --all-features)
for section in 1 2 3 4 5 6 7 8; do
  grep -q "^== $section\." <<<"$tour" || { echo "tour lacks section $section: $tour"; exit 1; }
done
grep -q "ran on async-executor" <<<"$tour" || { echo "tour did not run on smol: $tour"; exit 1; }
echo "examples: 5 passed, 0 failed"

step "the Python drop-in: build it, run its tests and the seed's examples (scripts/test-python.sh)"
./scripts/test-python.sh
