"""Thread safety: concurrent connect, disconnect and send with exact accounting."""
import asyncio
import threading

from asyncio_dispatch import Signal
from conftest import settle

THREADS = 4
ROUNDS = 300


def test_concurrent_sends_from_threads_count_exactly():
    signal = Signal()
    counted = []
    lock = threading.Lock()

    def callback(**kwargs):
        with lock:
            counted.append(1)

    callbacks = [lambda **kw: callback(**kw) for _ in range(5)]
    asyncio.run(_connect_all(signal, callbacks))
    totals = []

    def worker():
        async def main():
            total = 0
            for _ in range(ROUNDS):
                total += await signal.send()
            await settle()
            return total
        totals.append(asyncio.run(main()))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(totals) == THREADS * ROUNDS * 5
    assert len(counted) == sum(totals)


async def _connect_all(signal, callbacks):
    for callback in callbacks:
        await signal.connect(callback, weak=False)


def test_concurrent_connects_disconnects_and_sends_stay_consistent():
    signal = Signal()
    ran = []
    lock = threading.Lock()
    scheduled = []

    def worker(index):
        async def main():
            total = 0
            for round_ in range(ROUNDS):
                def callback(**kwargs):
                    with lock:
                        ran.append(1)
                key = f"k{index}-{round_ % 7}"
                await signal.connect(callback, key=key, weak=False)
                await signal.connect(callback, weak=False)
                total += await signal.send(key=key)
                await signal.disconnect(callback, key=key)
                await signal.disconnect(callback)
            await settle()
            return total
        scheduled.append(asyncio.run(main()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(signal) == 0
    assert len(ran) == sum(scheduled)
    assert sum(scheduled) >= THREADS * ROUNDS  # each send reaches at least its own callback


def test_send_from_another_thread_runs_on_the_signals_loop(recorder):
    loop = asyncio.new_event_loop()
    signal = Signal(loop=loop)
    ran_on = []

    def callback(**kwargs):
        ran_on.append(threading.get_ident())

    async def coroutine_callback(**kwargs):
        ran_on.append(threading.get_ident())

    loop.run_until_complete(signal.connect(callback))
    loop.run_until_complete(signal.connect(coroutine_callback))
    counts = []
    thread = threading.Thread(target=lambda: counts.append(asyncio.run(signal.send())))
    thread.start()
    thread.join()
    loop.run_until_complete(settle())
    loop.run_until_complete(settle())
    loop.close()
    assert counts == [2]
    assert ran_on == [threading.get_ident()] * 2
