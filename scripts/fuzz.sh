#!/usr/bin/env bash
# Fuzzes the signal against the reference model (fuzz/fuzz_targets/model.rs)
# for FUZZ_SECS seconds (default 60). Needs a nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`); where either is missing it says
# so and skips. CI runs the same state machine through proptest
# (tests/model), bytes decoder included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup run nightly rustc --version > /dev/null 2>&1; then
  echo "fuzz: SKIPPED, no nightly toolchain is installed"
  exit 0
fi
if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "fuzz: SKIPPED, cargo-fuzz is not installed (cargo install cargo-fuzz)"
  exit 0
fi
seconds=${FUZZ_SECS:-60}
cd fuzz
cargo +nightly fuzz run model -- -max_total_time="$seconds" -max_len=512
echo "fuzz: $seconds s without a disagreement"
