#!/usr/bin/env bash
# Makes sure a nightly toolchain with Miri is installed, for the checks of
# the core's `unsafe` code (scripts/sanitize.sh, scripts/miri.sh): installs a
# minimal one with `miri` and `rust-src` when missing (a fresh machine has
# only stable). Exits non-zero, saying why, if it cannot.
set -euo pipefail
if rustup run nightly cargo miri --version > /dev/null 2>&1; then
  exit 0
fi
echo "nightly: installing a minimal nightly toolchain with miri and rust-src"
rustup toolchain install nightly --profile minimal --component miri,rust-src --no-self-update
rustup run nightly cargo miri --version
