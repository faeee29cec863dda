#!/usr/bin/env bash
# Runs the core crate's tests under AddressSanitizer, which on Linux also
# runs LeakSanitizer at exit. Needs a nightly toolchain (`-Zsanitizer`); where
# none is installed it says so and skips (a fresh machine has only stable).
#
#   STRESS_SECS   duration of the stress test (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --version > /dev/null 2>&1; then
  echo "sanitizers: SKIPPED, no nightly toolchain is installed (rustup toolchain install nightly)"
  exit 0
fi
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1"
export CARGO_TARGET_DIR="${SANITIZE_TARGET_DIR:-target/sanitize}"
# Tests that measure RSS skip that check: ASan's quarantine holds freed memory.
export SIGNAL_DISPATCH_SANITIZER=address
echo "sanitizers: AddressSanitizer + LeakSanitizer on $(rustup run nightly rustc --version)"
# --tests: the library's unit tests and every integration test binary.
cargo +nightly test -q -p signal-dispatch --target "$target" --all-features --tests
echo "sanitizers: no error reported"
