#!/usr/bin/env bash
# The Python benchmark: the Rust-backed asyncio_dispatch against the original
# asyncio_dispatch 1.1.0 (rewritten mechanically so it imports on 3.11),
# blinker and pyee, in one run. Arguments go to bench.py:
#   --smoke (tiny sizes, a CI check), --quick, or the full run (default);
#   --json PATH, --markdown PATH.
# Expects the extension built into $PY_VENV (scripts/test-python.sh does it).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(realpath -m "${PY_VENV:-target/py-venv}")
[ -x "$venv/bin/python" ] || { echo "no virtualenv at $venv: run scripts/test-python.sh first"; exit 1; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check "blinker==1.9.0" "pyee>=12,<14"

peers=$(mktemp -d)
trap 'rm -rf "$peers"' EXIT
"$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  "asyncio-dispatch==1.1.0" -d "$peers/download"
tar -xzf "$peers"/download/asyncio_dispatch-1.1.0.tar.gz -C "$peers"
"$venv/bin/python" crates/signal-dispatch-py/bench/rewrite_seed.py \
  "$peers/asyncio_dispatch-1.1.0/asyncio_dispatch" "$peers/seed"

PYTHONPATH="$peers/seed" "$venv/bin/python" crates/signal-dispatch-py/bench/bench.py "$@"
