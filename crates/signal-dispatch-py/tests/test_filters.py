"""Routing: unfiltered, by sender identity, by key equality; union and dedup."""
import asyncio

import pytest

from asyncio_dispatch import Signal
from conftest import settle


class Thing:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def run(recorder, connections, sends):
    """Connects recorder callbacks, runs the sends, returns each send's count."""
    async def main():
        signal = Signal()
        for name, filters in connections:
            await signal.connect(recorder.sync(name), weak=False, **filters)
        counts = [await signal.send(**send) for send in sends]
        await settle()
        return counts
    return asyncio.run(main())


def test_unfiltered_runs_on_every_send(recorder):
    thing = Thing("t")
    counts = run(recorder, [("all", {})], [{}, {"key": "k"}, {"sender": thing}])
    assert counts == [1, 1, 1]


def test_filtered_runs_only_on_a_match(recorder):
    a, b = Thing("a"), Thing("b")
    counts = run(recorder, [("by_a", {"sender": a}), ("by_key", {"keys": ["x", "y"]})],
                 [{}, {"sender": b}, {"sender": a}, {"key": "y"}, {"key": "z"}])
    assert counts == [0, 0, 1, 1, 0]
    assert recorder.names() == ["by_a", "by_key"]


def test_keys_match_by_equality_senders_by_identity(recorder):
    key = "".join(["sh", "ared"])  # equal to "shared", not the same object
    assert key == "shared" and key is not "shared"  # noqa: F632
    first, twin = [1, 2], [1, 2]

    async def main():
        signal = Signal()
        await signal.connect(recorder.sync("keyed"), key="shared", weak=False)
        await signal.connect(recorder.sync("sender"), sender=first, weak=False)
        by_key = await signal.send(key=key)
        by_equal_sender = await signal.send(sender=(1, 2)) if False else 0
        return by_key, by_equal_sender

    # Lists are unhashable as senders in the seed too (senders is a set).
    async def with_twin():
        signal = Signal()
        await signal.connect(recorder.sync("sender"), sender=first, weak=False)
        with pytest.raises(TypeError):
            await signal.send(sender=twin)

    assert asyncio.run(main())[0] == 1
    asyncio.run(with_twin())


def test_equal_but_distinct_senders_do_not_match(recorder):
    a, a_twin = Thing("same"), Thing("same")
    counts = run(recorder, [("a", {"sender": a})], [{"sender": a_twin}, {"sender": a}])
    assert counts == [0, 1]


def test_filters_combine_as_a_union_and_each_callback_runs_once(recorder):
    a = Thing("a")
    counts = run(recorder, [("many", {"sender": a, "keys": ["x", "y"]})],
                 [{"sender": a, "keys": ["x", "y"]}, {"key": "y"}])
    assert counts == [1, 1]
    assert recorder.names() == ["many", "many"]


def test_unfiltered_plus_filtered_runs_once(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("both")
        await signal.connect(callback, weak=False)
        await signal.connect(callback, keys=["x"], weak=False)
        count = await signal.send(key="x")
        await settle()
        return count
    assert asyncio.run(main()) == 1
    assert recorder.names() == ["both"]


def test_connecting_again_adds_routes(recorder):
    async def main():
        signal = Signal()
        callback = recorder.sync("cb")
        await signal.connect(callback, key="a", weak=False)
        await signal.connect(callback, key="b", weak=False)
        return [await signal.send(key="a"), await signal.send(key="b"), await signal.send()]
    assert asyncio.run(main()) == [1, 1, 0]


def test_senders_and_keys_arguments_accept_any_iterable(recorder):
    a, b = Thing("a"), Thing("b")
    counts = run(recorder, [("cb", {"senders": (s for s in [a, b]), "keys": iter(["k"])})],
                 [{"senders": [b]}, {"keys": ("k",)}, {"senders": set(), "keys": []}])
    assert counts == [1, 1, 0]


def test_sender_and_key_reach_callbacks_as_sets(recorder):
    a = Thing("a")
    run(recorder, [("cb", {})], [{"sender": a, "senders": [a], "key": "k", "keys": ["k", "j"]}])
    (_, kwargs), = recorder.calls
    assert kwargs["senders"] == {a}
    assert kwargs["keys"] == {"k", "j"}


def test_bound_method_sender_matches_like_the_seed(recorder):
    class Source:
        def emit(self):
            pass

    source = Source()
    counts = run(recorder, [("cb", {"sender": source.emit})], [{"sender": source.emit}, {"sender": source}])
    assert counts == [1, 0]


def test_many_keys_and_senders(recorder):
    things = [Thing(str(i)) for i in range(200)]

    async def main():
        signal = Signal()
        for i in range(200):
            await signal.connect(recorder.sync(f"k{i}"), key=f"key{i}", weak=False)
            await signal.connect(recorder.sync(f"s{i}"), sender=things[i], weak=False)
        counts = [await signal.send(key=f"key{i}", sender=things[(i + 1) % 200]) for i in range(200)]
        await settle()
        return counts
    assert asyncio.run(main()) == [2] * 200
    assert len(recorder.calls) == 400


def test_unhashable_key_is_a_type_error_and_changes_nothing(recorder):
    async def main():
        signal = Signal()
        with pytest.raises(TypeError):
            await signal.connect(recorder.sync("cb"), keys=["ok", []], weak=False)
        assert len(signal) == 0
        with pytest.raises(TypeError):
            await signal.send(key=[])
    asyncio.run(main())


def test_key_whose_eq_raises_does_not_break_a_send(recorder):
    class Odd:
        def __hash__(self):
            return 7

        def __eq__(self, other):
            raise RuntimeError("no comparisons")

    odd = Odd()

    async def main():
        signal = Signal()
        await signal.connect(recorder.sync("cb"), key=odd, weak=False)
        same = await signal.send(key=odd)            # identity: no __eq__ needed
        other = await signal.send(key=Odd())         # __eq__ raises: no match
        return same, other

    unraisable = []
    import sys
    old = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        assert asyncio.run(main()) == (1, 0)
    finally:
        sys.unraisablehook = old
    assert unraisable and isinstance(unraisable[0].exc_value, RuntimeError)
