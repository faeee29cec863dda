"""Weak and strong connections: dead callbacks never run and are reclaimed at once."""
import asyncio
import functools

import pytest

from asyncio_dispatch import Signal
from conftest import collect, settle


def test_weak_function_stops_when_it_dies_and_is_reclaimed_without_a_send(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("temp")
        await signal.connect(callback)
        assert len(signal) == 1
        del callback
        collect()
        assert len(signal) == 0  # reclaimed by the death callback, no send needed
        return await signal.send()

    assert asyncio.run(main()) == 0
    assert recorder.calls == []


def test_weak_method_dies_with_its_instance():
    ran = []

    class Owner:
        def method(self, **kwargs):
            ran.append(1)

    async def main():
        signal = Signal()
        owner = Owner()
        await signal.connect(owner.method)  # the bound method itself dies at once
        assert await signal.send() == 1
        await settle()
        del owner
        collect()
        assert len(signal) == 0
        return await signal.send()

    assert asyncio.run(main()) == 0
    assert ran == [1]


def test_weak_lambda_vanishes_strong_lambda_stays():
    ran = []

    async def main():
        signal = Signal()
        await signal.connect(lambda **kw: ran.append("weak"))
        await signal.connect(lambda **kw: ran.append("strong"), weak=False)
        collect()
        count = await signal.send()
        await settle()
        return count

    assert asyncio.run(main()) == 1
    assert ran == ["strong"]


def test_callback_dying_between_send_and_run_still_runs_once():
    ran = []

    class Owner:
        def method(self, **kwargs):
            ran.append(self)

    async def main():
        signal = Signal()
        owner = Owner()
        await signal.connect(owner.method)
        count = await signal.send()
        del owner
        collect()
        await settle()
        return count

    assert asyncio.run(main()) == 1
    assert len(ran) == 1  # the send held it until it ran


def test_strong_connection_keeps_the_callback_alive():
    ran = []

    class Owner:
        def method(self, **kwargs):
            ran.append(1)

    async def main():
        signal = Signal()
        await signal.connect(Owner().method, weak=False)
        collect()
        count = await signal.send()
        await settle()
        return count

    assert asyncio.run(main()) == 1
    assert ran == [1]


def test_connecting_strongly_after_weakly_makes_it_strong():
    ran = []

    def make():
        def callback(**kwargs):
            ran.append(1)
        return callback

    async def main():
        signal = Signal()
        callback = make()
        await signal.connect(callback)
        await signal.connect(callback, weak=False)
        del callback
        collect()
        count = await signal.send()
        await settle()
        return count, len(signal)

    assert asyncio.run(main()) == (1, 1)
    assert ran == [1]


def test_callable_that_cannot_be_weakly_referenced_needs_weak_false():
    async def main():
        signal = Signal()
        with pytest.raises(TypeError, match="weak=False"):
            await signal.connect(len)  # builtins can be weakly referenced...
    # ...so use an object whose type has no weak reference slot.

    class Slotted:
        __slots__ = ()

        def __call__(self, **kwargs):
            pass

    async def slotted():
        signal = Signal()
        with pytest.raises(TypeError, match="weak=False"):
            await signal.connect(Slotted())
        await signal.connect(Slotted(), weak=False)
        return len(signal)

    assert asyncio.run(slotted()) == 1


def test_partial_weakly_held_dies_at_once():
    async def main():
        signal = Signal()
        await signal.connect(functools.partial(print, "x"))
        collect()
        return len(signal)

    assert asyncio.run(main()) == 0


def test_many_weak_callbacks_dying_at_once_are_all_reclaimed():
    class Owner:
        def method(self, **kwargs):
            pass

    async def main():
        signal = Signal()
        owners = [Owner() for _ in range(10_000)]
        for i, owner in enumerate(owners):
            await signal.connect(owner.method, key=i % 100)
        assert len(signal) == 10_000
        del owners, owner
        collect()
        return len(signal), await signal.send(keys=range(100))

    assert asyncio.run(main()) == (0, 0)
