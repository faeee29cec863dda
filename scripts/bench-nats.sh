#!/usr/bin/env bash
# The NATS bridge benchmark: starts a nats-server on a free loopback port,
# runs crates/signal-dispatch-nats/examples/bench.rs against it, stops it.
# Arguments go to the benchmark: --smoke (tiny sizes, a CI check), --json PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
server=$(command -v nats-server || echo /usr/sbin/nats-server)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" -a 127.0.0.1 -p "$port" > /dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
cargo run -q --release -p signal-dispatch-nats --example bench -- "nats://127.0.0.1:$port" "$@"
