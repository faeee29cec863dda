"""Sender identity: a new object at a dead sender's address never matches."""
import asyncio

from asyncio_dispatch import Signal
from conftest import collect


class Sender:
    pass


def reuse_address(dead_id, make, tries=100_000):
    """Makes objects until one lands at `dead_id` (CPython reuses freed
    memory at once); returns it with the others kept alive, or None."""
    kept = []
    for _ in range(tries):
        candidate = make()
        if id(candidate) == dead_id:
            return candidate, kept
        kept.append(candidate)
    return None, kept


def test_new_object_at_a_dead_senders_address_does_not_match(recorder):
    async def main():
        signal = Signal()
        reused = 0
        for _ in range(200):
            sender = Sender()
            await signal.connect(recorder.sync("cb"), sender=sender, weak=False)
            dead_id = id(sender)
            del sender
            collect()
            impostor, kept = reuse_address(dead_id, Sender, tries=1000)
            if impostor is not None:
                reused += 1
                assert await signal.send(sender=impostor) == 0
            del impostor, kept
        return reused

    reused = asyncio.run(main())
    assert reused > 0, "the allocator never reused an address: the test proved nothing"
    assert recorder.calls == []


def test_sender_that_cannot_be_weakly_referenced_is_kept_alive_by_its_filter(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        sender = object()  # no weak references to plain object() instances
        sender_id = id(sender)
        await signal.connect(callback, sender=sender, weak=False)
        del sender
        collect()
        impostor, kept = reuse_address(sender_id, object, tries=20_000)
        assert impostor is None  # still alive: its address can't be reused
        await signal.disconnect(callback)
        collect()
        impostor, kept = reuse_address(sender_id, object, tries=20_000)
        # Released with the connection: now the address may be reused, and
        # the new object matches nothing.
        if impostor is not None:
            assert await signal.send(sender=impostor) == 0

    asyncio.run(main())


def test_live_sender_keeps_matching_after_others_die(recorder):
    async def main():
        signal = Signal()
        keeper = Sender()
        await signal.connect(recorder.sync("keeper"), sender=keeper, weak=False)
        for _ in range(100):
            temporary = Sender()
            await signal.connect(recorder.sync("temp"), sender=temporary, weak=False)
            del temporary
        collect()
        return await signal.send(sender=keeper), len(signal)

    count, length = asyncio.run(main())
    assert count == 1
    # Routes to dead senders are reclaimed in bulk (at least every 32 deaths).
    assert length <= 1 + 32


def test_same_sender_on_several_signals(recorder):
    async def main():
        first, second = Signal(), Signal()
        sender = Sender()
        await first.connect(recorder.sync("first"), sender=sender, weak=False)
        await second.connect(recorder.sync("second"), sender=sender, weak=False)
        counts = [await first.send(sender=sender), await second.send(sender=sender)]
        del sender
        collect()
        return counts

    assert asyncio.run(main()) == [1, 1]
