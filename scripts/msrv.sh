#!/usr/bin/env bash
# Checks that the crates declaring the workspace's `rust-version` build on
# that compiler: the core (every target, its tests included) and the
# benchmark harness. The NATS bridge declares a later one of its own (its
# client needs it). Installs the toolchain with rustup (minimal profile)
# if it is missing; skipped, with a message, without rustup or where the
# toolchain cannot be fetched (a fresh CI machine has only stable).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
if [ -z "$version" ]; then
    echo "msrv: no rust-version in the workspace's Cargo.toml" >&2
    exit 1
fi
if ! command -v rustup > /dev/null; then
    echo "msrv: SKIPPED, rustup is not installed"
    exit 0
fi
if ! rustup run "$version" rustc --version > /dev/null 2>&1; then
    if ! rustup toolchain install "$version" --profile minimal; then
        echo "msrv: SKIPPED, Rust $version could not be installed"
        exit 0
    fi
fi
export CARGO_TARGET_DIR="${MSRV_TARGET_DIR:-target/msrv}"
cargo "+$version" check -q -p signal-dispatch --all-targets
cargo "+$version" check -q -p signal-dispatch-bench
echo "msrv: the core and the harness build on Rust $version"
