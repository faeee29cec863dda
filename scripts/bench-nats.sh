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
# Ready when the server greets a connection with INFO: a connection alone
# may be the probe connected to itself, before the server listens.
for _ in $(seq 100); do
  greeting=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && read -r -t 1 -n 4 line <&3 && echo "$line") 2>/dev/null || true)
  [ "$greeting" = INFO ] && break
  sleep 0.05
done
cargo run -q --release -p signal-dispatch-nats --example bench -- "nats://127.0.0.1:$port" "$@"
