#!/usr/bin/env bash
# Makes sure a nats-server is installed: the NATS bridge's tests start real
# servers. Installs Debian's `nats-server` package when none is found.
set -euo pipefail
if command -v nats-server > /dev/null || [ -x /usr/sbin/nats-server ] || [ -n "${NATS_SERVER:-}" ]; then
  exit 0
fi
echo "installing nats-server (Debian package) for the NATS bridge tests"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q > /dev/null
$sudo apt-get install -y -q nats-server > /dev/null
command -v nats-server > /dev/null || [ -x /usr/sbin/nats-server ] || { echo "nats-server did not install"; exit 1; }
