#!/usr/bin/env bash
# Runs the tests of the core's `unsafe` code under Miri, with Stacked Borrows
# and then Tree Borrows: the event a send lends from its stack frame or task
# (crates/signal-dispatch/src/event.rs), and the hazard cell a send reads
# its snapshot from (src/hazard.rs, whose tests race readers and a writer).
# Leaks are left to the sanitizer run: the lock-free maps keep their
# retired memory for the process, which Miri reports. Needs a nightly toolchain with the `miri`
# component; where there is none it says so and skips (a fresh machine has
# only stable, and no other toolchain can be fetched there). On every
# machine, scripts/memcheck.sh runs the same tests under valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly cargo miri --version > /dev/null 2>&1; then
  echo "miri: SKIPPED, no nightly toolchain with miri is installed (rustup +nightly component add miri rust-src)"
  exit 0
fi
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-target/miri}"
for model in "" "-Zmiri-tree-borrows"; do
  echo "miri: tests/event.rs${model:+ with $model}"
  MIRIFLAGS="-Zmiri-ignore-leaks $model" cargo +nightly miri test -q -p signal-dispatch --test event
  echo "miri: the hazard cell's tests (src/hazard.rs)${model:+ with $model}"
  MIRIFLAGS="-Zmiri-ignore-leaks $model" cargo +nightly miri test -q -p signal-dispatch --lib -- hazard::tests
done
echo "miri: no undefined behaviour reported"
