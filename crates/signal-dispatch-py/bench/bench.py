"""Benchmarks the Rust-backed asyncio_dispatch against the original, blinker,
pyee and the asyncio floors, in one process, interleaved, and reports medians
and ratios.

Run through scripts/bench-python.sh, which installs the peers.

Scenarios (time per send, callbacks included: the clock stops when every
callback has run; sends go in bursts of 50, each followed by a turn of the
event loop):
  send_1_sync / send_1_async      one receiver, a plain or a coroutine callback
  send_100_sync / send_100_async  100 receivers
  keyed_10000                     10,000 connections, each on its own key; send to one
  disconnect_1000_keys            disconnect one callback holding 1,000 keys among
                                  10,000 keyed connections (time per disconnect)
Implementations:
  asyncio_dispatch  this package
  seed              asyncio_dispatch 1.1.0, rewritten mechanically for 3.11
  blinker           blinker: send() for plain receivers, send_async() for coroutines
  pyee              pyee's AsyncIOEventEmitter: emit()
  floor             loop.call_soon per plain callback, loop.create_task per coroutine
"""
import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time

PROFILES = {
    # rounds, sends per sample for 1 receiver, for 100, for keyed, disconnects per sample
    "full": dict(rounds=15, one=20_000, hundred=400, keyed=20_000, disconnects=20),
    "quick": dict(rounds=7, one=5_000, hundred=100, keyed=5_000, disconnects=5),
    "smoke": dict(rounds=1, one=20, hundred=2, keyed=20, disconnects=1),
}


BURST = 50


class Counter:
    """Counts callback runs; the clock stops when it reaches its target."""

    def __init__(self):
        self.count = 0

    def sync(self, *args, **kwargs):
        self.count += 1

    async def coro(self, *args, **kwargs):
        self.count += 1

    def make_sync(self):
        def callback(*args, **kwargs):
            self.count += 1
        return callback

    def make_coro(self):
        async def callback(*args, **kwargs):
            self.count += 1
        return callback


async def drain(counter, target):
    while counter.count < target:
        await asyncio.sleep(0)


# Each implementation: build(counter, receivers, kind, keys) -> (send, disconnect)
# send(key) is a coroutine function; `keys` makes each receiver keyed.

def ours(module):
    async def build(counter, receivers, kind, keys=None):
        signal = module.Signal()
        callbacks = []
        for i in range(receivers):
            callback = counter.make_sync() if kind == "sync" else counter.make_coro()
            callbacks.append(callback)
            if keys is None:
                await signal.connect(callback, weak=False)
            else:
                await signal.connect(callback, keys=keys(i), weak=False)

        async def send(count, key=None):
            if key is None:
                for _ in range(count):
                    await signal.send()
            else:
                for _ in range(count):
                    await signal.send(key=key)

        async def disconnect(index):
            await signal.disconnect(callbacks[index], weak=False)

        async def reconnect(index):
            await signal.connect(callbacks[index], keys=keys(index), weak=False)

        return send, disconnect, reconnect
    return build


def blinker_impl(blinker):
    async def build(counter, receivers, kind, keys=None):
        signal = blinker.Signal()
        callbacks = []
        for i in range(receivers):
            callback = counter.make_sync() if kind == "sync" else counter.make_coro()
            callbacks.append(callback)
            if keys is None:
                signal.connect(callback, weak=False)
            else:
                for key in keys(i):
                    signal.connect(callback, sender=key, weak=False)

        if kind == "sync":
            async def send(count, key=None):
                for _ in range(count):
                    signal.send(key)
        else:
            async def send(count, key=None):
                for _ in range(count):
                    await signal.send_async(key)

        async def disconnect(index):
            signal.disconnect(callbacks[index])

        async def reconnect(index):
            for key in keys(index):
                signal.connect(callbacks[index], sender=key, weak=False)

        return send, disconnect, reconnect
    return build


def pyee_impl(pyee_asyncio):
    async def build(counter, receivers, kind, keys=None):
        emitter = pyee_asyncio.AsyncIOEventEmitter()
        callbacks = []
        for i in range(receivers):
            callback = counter.make_sync() if kind == "sync" else counter.make_coro()
            callbacks.append(callback)
            for key in (["event"] if keys is None else keys(i)):
                emitter.add_listener(key, callback)

        async def send(count, key=None):
            event = "event" if key is None else key
            for _ in range(count):
                emitter.emit(event)

        async def disconnect(index):
            for key in keys(index):
                emitter.remove_listener(key, callbacks[index])

        async def reconnect(index):
            for key in keys(index):
                emitter.add_listener(key, callbacks[index])

        return send, disconnect, reconnect
    return build


def floor_impl():
    async def build(counter, receivers, kind, keys=None):
        loop = asyncio.get_running_loop()
        callbacks = [counter.make_sync() if kind == "sync" else counter.make_coro()
                     for _ in range(receivers)]
        by_key = {}
        if keys is not None:
            for i, callback in enumerate(callbacks):
                for key in keys(i):
                    by_key.setdefault(key, []).append(callback)

        if kind == "sync":
            async def send(count, key=None):
                for _ in range(count):
                    for callback in (callbacks if key is None else by_key.get(key, ())):
                        loop.call_soon(callback)
        else:
            async def send(count, key=None):
                for _ in range(count):
                    for callback in (callbacks if key is None else by_key.get(key, ())):
                        loop.create_task(callback())

        return send, None, None
    return build


def load_impls():
    impls = {}
    import asyncio_dispatch
    impls["asyncio_dispatch"] = ours(asyncio_dispatch)
    import asyncio_dispatch_seed
    impls["seed"] = ours(asyncio_dispatch_seed)
    import blinker
    impls["blinker"] = blinker_impl(blinker)
    import pyee.asyncio
    impls["pyee"] = pyee_impl(pyee.asyncio)
    impls["floor"] = floor_impl()
    return impls


async def sample_sends(build, receivers, kind, sends, keys=None, key=None, per_send=1):
    counter = Counter()
    send, _, _ = await build(counter, receivers, kind, keys)
    await send(1, key)  # warm up
    await drain(counter, per_send)
    counter.count = 0
    gc.collect()
    start = time.perf_counter_ns()
    # Sends go in bursts of BURST, each followed by a turn of the loop, as in
    # an application: the loop's ready queue stays short for everyone.
    done = 0
    while done < sends:
        burst = min(BURST, sends - done)
        await send(burst, key)
        done += burst
        await asyncio.sleep(0)
    await drain(counter, sends * per_send)
    elapsed = time.perf_counter_ns() - start
    assert counter.count == sends * per_send, (counter.count, sends * per_send)
    return elapsed / sends


async def sample_disconnect(build, disconnects):
    counter = Counter()
    keys = lambda i: [f"big{j}" for j in range(1000)] if i == 0 else [f"key{i}"]
    _, disconnect, reconnect = await build(counter, 10_000, "sync", keys)
    total = 0
    for _ in range(disconnects):
        start = time.perf_counter_ns()
        await disconnect(0)
        total += time.perf_counter_ns() - start
        await reconnect(0)
    return total / disconnects


def scenarios(profile):
    p = PROFILES[profile]
    keyed = lambda i: [f"key{i}"]
    return {
        "send_1_sync": lambda b: sample_sends(b, 1, "sync", p["one"]),
        "send_1_async": lambda b: sample_sends(b, 1, "async", p["one"]),
        "send_100_sync": lambda b: sample_sends(b, 100, "sync", p["hundred"], per_send=100),
        "send_100_async": lambda b: sample_sends(b, 100, "async", p["hundred"], per_send=100),
        "keyed_10000": lambda b: sample_sends(b, 10_000, "sync", p["keyed"], keys=keyed, key="key5000"),
        "disconnect_1000_keys": lambda b: sample_disconnect(b, p["disconnects"]),
    }


async def run(profile):
    impls = load_impls()
    samples = {}
    rounds = PROFILES[profile]["rounds"]
    for round_ in range(rounds):
        for scenario, measure in scenarios(profile).items():
            for name, build in impls.items():
                if scenario == "disconnect_1000_keys" and name == "floor":
                    continue
                value = await measure(build)
                samples.setdefault(scenario, {}).setdefault(name, []).append(value)
        print(f"round {round_ + 1}/{rounds}", file=sys.stderr)
    return {scenario: {name: statistics.median(values) for name, values in by_impl.items()}
            for scenario, by_impl in samples.items()}


TARGETS = [
    ("send_1_sync", "seed", 3.0, "at least 3x faster than asyncio_dispatch 1.1.0 per send, 1 receiver"),
    ("send_1_async", "seed", 3.0, "at least 3x faster than asyncio_dispatch 1.1.0 per send, 1 receiver"),
    ("send_100_sync", "seed", 5.0, "at least 5x faster than asyncio_dispatch 1.1.0 per send, 100 receivers"),
    ("send_100_async", "seed", 5.0, "at least 5x faster than asyncio_dispatch 1.1.0 per send, 100 receivers"),
    ("send_100_async", "blinker", 1.0, "cheaper per callback than blinker's send_async, 100 receivers"),
]


def report(results):
    lines = ["| scenario | " + " | ".join(IMPL_ORDER) + " |", "|---|" + "---|" * len(IMPL_ORDER)]
    for scenario, by_impl in results.items():
        ours = by_impl["asyncio_dispatch"]
        cells = []
        for name in IMPL_ORDER:
            value = by_impl.get(name)
            if value is None:
                cells.append("—")
            elif name == "asyncio_dispatch":
                cells.append(f"{value / 1000:.2f} µs")
            else:
                cells.append(f"{value / 1000:.2f} µs ({value / ours:.2f}×)")
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("(×: that implementation's time over ours; above 1 means we are faster.)")
    lines.append("")
    lines.append("| target | measured | limit | met |")
    lines.append("|---|---|---|---|")
    for scenario, peer, factor, text in TARGETS:
        ratio = results[scenario][peer] / results[scenario]["asyncio_dispatch"]
        # The best ratio possible while scheduling as the seed does (one
        # call_soon handle or one task per coroutine callback): the peer's
        # time over the floor's.
        limit = results[scenario][peer] / results[scenario]["floor"]
        met = "yes" if ratio >= factor else ("no (beyond the floor)" if limit < factor else "no")
        lines.append(f"| {scenario}: {text} | {ratio:.2f}× | {limit:.2f}× | {met} |")
    lines.append("")
    lines.append("(limit: the peer's time over the floor's, the best ratio possible while each")
    lines.append("coroutine callback runs as its own task, as the seed specifies.)")
    return "\n".join(lines)


IMPL_ORDER = ["asyncio_dispatch", "seed", "blinker", "pyee", "floor"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES, default="full")
    parser.add_argument("--smoke", action="store_const", const="smoke", dest="profile")
    parser.add_argument("--quick", action="store_const", const="quick", dest="profile")
    parser.add_argument("--json", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    args = parser.parse_args()
    results = asyncio.run(run(args.profile))
    table = report(results)
    print(table)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"profile": args.profile, "python": platform.python_version(),
                       "machine": platform.machine(),
                       "scenarios": {s: {i: {"ns_per_op": round(v, 1)} for i, v in r.items()}
                                     for s, r in results.items()}}, out, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(table + "\n")


if __name__ == "__main__":
    main()
