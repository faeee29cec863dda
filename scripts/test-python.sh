#!/usr/bin/env bash
# Builds the Python drop-in (`import asyncio_dispatch`, crates/signal-dispatch-py)
# into its own virtualenv and runs its pytest suite, which includes the seed's
# four examples. Called by scripts/test-all.sh; runs alone too.
#
#   PY_VENV  where the virtualenv lives (default: target/py-venv)
#   PYTHON   the interpreter that creates it (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$(realpath -m "${PY_VENV:-target/py-venv}")
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  echo "creating a virtualenv in $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7"

echo "building the extension (maturin develop --release)"
(cd crates/signal-dispatch-py &&
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release -q)

"$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/crates/signal-dispatch-py/tests"

echo "a new user's install: pip install ./crates/signal-dispatch-py into a clean virtualenv"
fresh=$(mktemp -d)
"$python" -m venv "$fresh/venv"
"$fresh/venv/bin/python" -m pip install -q --disable-pip-version-check ./crates/signal-dispatch-py
out=$(cd "$fresh" && "$fresh/venv/bin/python" -W error "$root/crates/signal-dispatch-py/examples/basic.py")
rm -rf "$fresh"
[ "$out" = $'sending the signal.\ncallback was called!' ] || { echo "the pip-installed package printed: $out"; exit 1; }
echo "pip install: the seed's basic example runs"

if [ "${1:-}" != "--no-bench" ]; then
  echo "the Python benchmark: a smoke pass at tiny sizes (asserts nothing about speed)"
  PY_VENV="$venv" ./scripts/bench-python.sh --smoke
fi
