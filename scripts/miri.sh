#!/usr/bin/env bash
# Runs the tests of the event a send lends from its stack frame or task (the
# core's only `unsafe` code, crates/signal-dispatch/src/event.rs) under Miri,
# with Stacked Borrows and then Tree Borrows. Leaks are left to the
# sanitizer run: the lock-free maps keep their retired memory for the
# process, which Miri reports. Needs a nightly toolchain with the `miri`
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
done
echo "miri: no undefined behaviour reported"
