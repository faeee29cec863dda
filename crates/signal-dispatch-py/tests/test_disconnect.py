"""Disconnecting: whole, partial, no-ops, and the cost of a many-key connection."""
import asyncio

import pytest

from asyncio_dispatch import Signal
from conftest import settle


class Thing:
    pass


def test_disconnect_removes_every_route(recorder):
    thing = Thing()

    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        await signal.connect(callback, weak=False)
        await signal.connect(callback, sender=thing, keys=["a", "b"], weak=False)
        await signal.disconnect(callback)
        assert len(signal) == 0
        return [await signal.send(), await signal.send(key="a"), await signal.send(sender=thing)]

    assert asyncio.run(main()) == [0, 0, 0]


def test_partial_disconnect_removes_only_what_it_names(recorder):
    thing = Thing()

    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        await signal.connect(callback, sender=thing, keys=["a", "b"], weak=False)
        await signal.disconnect(callback, key="a")
        after_key = [await signal.send(key="a"), await signal.send(key="b"), await signal.send(sender=thing)]
        await signal.disconnect(callback, sender=thing, keys=["b"])
        after_all = [await signal.send(key="b"), await signal.send(sender=thing)]
        return after_key, after_all, len(signal)

    assert asyncio.run(main()) == ([0, 1, 1], [0, 0], 0)


def test_partial_disconnect_keeps_the_unfiltered_route(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        await signal.connect(callback, weak=False)
        await signal.connect(callback, key="a", weak=False)
        await signal.disconnect(callback, key="a")
        return await signal.send(key="a"), await signal.send()

    assert asyncio.run(main()) == (1, 1)


def test_disconnecting_what_is_not_connected_does_nothing(recorder):
    async def main():
        signal = Signal()
        connected, stranger = recorder.sync("connected"), recorder.sync("stranger")
        await signal.connect(connected, key="a", weak=False)
        await signal.disconnect(stranger)
        await signal.disconnect(stranger, key="a")
        await signal.disconnect(connected, key="never")
        await signal.disconnect(connected, sender=Thing())  # a sender no filter names
        await signal.disconnect(connected)
        await signal.disconnect(connected)  # twice
        return len(signal)

    assert asyncio.run(main()) == 0


def test_disconnect_needs_a_callback():
    with pytest.raises(TypeError):
        asyncio.run(Signal().disconnect())


def test_weak_flag_does_not_matter_for_disconnect(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        await signal.connect(callback, weak=True)
        await signal.disconnect(callback, weak=False)
        return len(signal)

    assert asyncio.run(main()) == 0


def test_bound_method_disconnects_by_equality(recorder):
    class Owner:
        def method(self, **kwargs):
            recorder.calls.append(("method", kwargs))

    owner = Owner()

    async def main():
        signal = Signal()
        await signal.connect(owner.method)
        await signal.disconnect(owner.method)  # another bound-method object
        return await signal.send()

    assert asyncio.run(main()) == 0


def test_disconnecting_a_many_key_connection_leaves_the_others(recorder):
    async def main():
        signal = Signal()
        big = recorder.sync("big")
        await signal.connect(big, keys=[f"k{i}" for i in range(1000)], weak=False)
        others = [recorder.sync(f"o{i}") for i in range(100)]
        for i, other in enumerate(others):
            await signal.connect(other, keys=[f"k{i}"], weak=False)
        await signal.disconnect(big)
        counts = [await signal.send(key=f"k{i}") for i in range(1000)]
        await settle()
        return counts, len(signal)

    counts, length = asyncio.run(main())
    assert counts == [1] * 100 + [0] * 900
    assert length == 100
