#!/usr/bin/env bash
# Runs the tests of the core's `unsafe` code under valgrind's memcheck, on
# the stable toolchain: those of the event a send lends from its stack frame
# or task (crates/signal-dispatch/src/event.rs), the synchronous `call`
# tests that lend it most (and hold their snapshot under a hazard), and the
# hazard cell's own (src/hazard.rs, readers racing a writer). An event read
# after its send's frame or task is gone, or a snapshot read after it was
# freed, is an invalid read, and fails the run. Installs Debian's `valgrind`
# when it is missing. (Miri and AddressSanitizer check the same code more
# closely where a nightly toolchain is installed: scripts/miri.sh,
# scripts/sanitize.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind > /dev/null; then
  echo "memcheck: installing valgrind (Debian package)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q > /dev/null
  $sudo apt-get install -y -q valgrind > /dev/null
fi
for test in event call; do
  binary=$(cargo test -q -p signal-dispatch --test "$test" --no-run --message-format=json 2> /dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [ -x "$binary" ] || { echo "memcheck: no test binary for tests/$test.rs"; exit 1; }
  echo "memcheck: tests/$test.rs"
  valgrind -q --error-exitcode=99 --leak-check=no "$binary" -q --test-threads=1
done
binary=$(cargo test -q -p signal-dispatch --lib --no-run --message-format=json 2> /dev/null \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$binary" ] || { echo "memcheck: no test binary for the core's unit tests"; exit 1; }
echo "memcheck: the hazard cell's tests (src/hazard.rs)"
valgrind -q --error-exitcode=99 --leak-check=no "$binary" -q --test-threads=1 hazard::tests
echo "memcheck: no invalid access reported"
