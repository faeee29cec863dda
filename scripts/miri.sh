#!/usr/bin/env bash
# Runs the tests of the event an inline send lends from its stack frame (the
# core's only `unsafe` code, crates/signal-dispatch/src/event.rs) under Miri,
# with Stacked Borrows and then Tree Borrows. Leaks are left to the
# sanitizer run: the lock-free maps keep their retired memory for the
# process, which Miri reports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/nightly.sh
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-target/miri}"
for model in "" "-Zmiri-tree-borrows"; do
  echo "miri: tests/event.rs${model:+ with $model}"
  MIRIFLAGS="-Zmiri-ignore-leaks $model" cargo +nightly miri test -q -p signal-dispatch --test event
done
echo "miri: no undefined behaviour reported"
