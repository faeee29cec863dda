"""The seed's public API: constructor, coroutine methods, return values, errors."""
import asyncio
import inspect
import warnings

import pytest

from asyncio_dispatch import Signal
from conftest import settle


@pytest.mark.parametrize("word", ["callback", "sender", "senders", "key", "keys", "weak"])
def test_reserved_keyword_is_rejected(word):
    with pytest.raises(ValueError, match=word):
        Signal(**{word: 1})


def test_restricted_keywords_are_listed():
    assert set(Signal.restricted_keywords) == {"callback", "sender", "senders", "key", "keys", "weak"}


def test_methods_are_coroutine_functions_run_by_asyncio():
    for name in ("connect", "disconnect", "send"):
        assert inspect.iscoroutinefunction(getattr(Signal, name))
    signal = Signal()
    operation = signal.send()
    assert asyncio.iscoroutine(operation)
    assert asyncio.run(operation) == 0


def test_operation_does_nothing_until_awaited(recorder):
    async def main():
        signal = Signal()
        pending = signal.connect(recorder.sync("a"), weak=False)
        assert await signal.send() == 0
        await pending
        assert await signal.send() == 1
        await settle()
    asyncio.run(main())
    assert recorder.names() == ["a"]


def test_operation_runs_once():
    async def main():
        operation = Signal().send()
        await operation
        with pytest.raises(RuntimeError, match="reuse"):
            await operation
    asyncio.run(main())


def test_operation_close_and_throw_abandon_it(recorder):
    signal = Signal()
    operation = signal.connect(recorder.sync("never"), weak=False)
    operation.close()
    with pytest.raises(RuntimeError):
        operation.send(None)
    with pytest.raises(KeyError):
        signal.connect(recorder.sync("never"), weak=False).throw(KeyError("x"))
    assert len(signal) == 0


def test_operations_work_with_tasks_gather_and_run_until_complete(recorder):
    loop = asyncio.new_event_loop()
    try:
        signal = Signal(loop=loop)
        loop.run_until_complete(loop.create_task(signal.connect(recorder.sync("a"), weak=False)))
        async def both():
            return await asyncio.gather(signal.send(), signal.send())
        counts = loop.run_until_complete(both())
        assert counts == [1, 1]
        loop.run_until_complete(settle())
    finally:
        loop.close()
    assert recorder.names() == ["a", "a"]


def test_send_returns_the_number_scheduled(recorder):
    async def main():
        signal = Signal()
        callbacks = [recorder.sync(f"s{i}") for i in range(3)] + [recorder.coro(f"c{i}") for i in range(2)]
        for callback in callbacks:
            await signal.connect(callback)
        assert await signal.send() == 5
        await settle()
    asyncio.run(main())
    assert len(recorder.calls) == 5


def test_callbacks_get_signal_senders_keys_and_declared_kwargs(recorder):
    async def main():
        signal = Signal(a=1, b="two")
        await signal.connect(recorder.sync("x"), weak=False)
        await signal.send(sender=recorder, keys=["k1", "k2"], b="changed")
        await settle()
        return signal
    signal = asyncio.run(main())
    (name, kwargs), = recorder.calls
    assert kwargs["signal"] is signal
    assert kwargs["senders"] == {recorder}
    assert kwargs["keys"] == {"k1", "k2"}
    assert kwargs["a"] == 1 and kwargs["b"] == "changed"
    assert set(kwargs) == {"signal", "senders", "keys", "a", "b"}


def test_defaults_are_unchanged_by_a_send(recorder):
    async def main():
        signal = Signal(value="default")
        await signal.connect(recorder.sync("x"), weak=False)
        await signal.send(value="once")
        await signal.send()
        await settle()
    asyncio.run(main())
    assert [kwargs["value"] for _, kwargs in recorder.calls] == ["once", "default"]


def test_undeclared_kwarg_raises_and_schedules_nothing(recorder):
    async def main():
        signal = Signal(value=None)
        await signal.connect(recorder.sync("x"), weak=False)
        with pytest.raises(ValueError, match="not_declared"):
            await signal.send(not_declared=1)
        await settle()
    asyncio.run(main())
    assert recorder.calls == []


def test_loop_none_uses_the_running_loop_without_warnings(recorder):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        signal = Signal()  # no loop exists yet
        callback = recorder.sync("x")

        async def main():
            await signal.connect(callback, weak=False)
            assert await signal.send() == 1
            await settle()

        asyncio.run(main())
        asyncio.run(main())  # a second loop: still the running one
    assert len(recorder.calls) == 2


def test_send_without_any_loop_is_a_clear_error(recorder):
    signal = Signal()
    asyncio.run(signal.connect(recorder.sync("x"), weak=False))
    operation = signal.send()
    with pytest.raises(RuntimeError, match="no running event loop"):
        operation.send(None)


def test_send_with_no_receiver_needs_no_loop():
    operation = Signal().send()
    with pytest.raises(StopIteration) as stop:
        operation.send(None)
    assert stop.value.value == 0


def test_repr_and_len(recorder):
    signal = Signal(x=1)
    asyncio.run(signal.connect(recorder.sync("x"), weak=False))
    assert len(signal) == 1
    assert "connections=1" in repr(signal)
