#!/usr/bin/env bash
# Runs the loom models of src/hazard.rs and tests/loom.rs: every
# interleaving of the core's
# atomics and mutexes up to a preemption bound (LOOM_MAX_PREEMPTIONS,
# default 3 here), with loom's primitives swapped in by the sync shim.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg signal_dispatch_loom ${RUSTFLAGS:-}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}"
cargo test -q --release -p signal-dispatch --no-default-features --lib -- hazard::loom_models --test-threads 1 --nocapture
cargo test -q --release -p signal-dispatch --no-default-features --test loom -- --test-threads 1 --nocapture
