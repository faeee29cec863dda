"""Failing callbacks reach the loop's exception handler; nothing else is disturbed."""
import asyncio
import gc

import pytest

from asyncio_dispatch import Signal
from conftest import settle


def run_with_handler(main):
    reported = []

    async def wrapper():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        result = await main()
        await settle()
        gc.collect()
        await settle()
        return result

    return asyncio.run(wrapper()), reported


def test_sync_exception_goes_to_the_handler_and_others_still_run(recorder):
    def broken(**kwargs):
        raise ValueError("sync failure")

    async def main():
        signal = Signal()
        await signal.connect(recorder.sync("before"), weak=False)
        await signal.connect(broken)
        await signal.connect(recorder.sync("after"), weak=False)
        return await signal.send()

    count, reported = run_with_handler(main)
    assert count == 3
    assert recorder.names() == ["after", "before"]
    assert len(reported) == 1
    assert isinstance(reported[0]["exception"], ValueError)
    assert "broken" in reported[0]["message"]


def test_async_exception_goes_to_the_handler(recorder):
    async def broken(**kwargs):
        raise KeyError("async failure")

    async def main():
        signal = Signal()
        await signal.connect(broken)
        await signal.connect(recorder.coro("fine"), weak=False)
        return await signal.send()

    count, reported = run_with_handler(main)
    assert count == 2
    assert recorder.names() == ["fine"]
    assert [type(context["exception"]) for context in reported] == [KeyError]


def test_callback_with_a_wrong_signature_is_reported_not_raised(recorder):
    def no_kwargs():
        pass

    async def async_no_kwargs():
        pass

    async def main():
        signal = Signal()
        await signal.connect(no_kwargs)
        await signal.connect(async_no_kwargs)
        return await signal.send()

    count, reported = run_with_handler(main)
    assert count == 2
    assert sorted(type(context["exception"]).__name__ for context in reported) == ["TypeError", "TypeError"]


def test_failing_send_still_works_next_time(recorder):
    async def main():
        signal = Signal(value=0)
        await signal.connect(recorder.sync("cb"), weak=False)
        with pytest.raises(ValueError):
            await signal.send(other=1)
        with pytest.raises(TypeError):
            await signal.send(key={})
        return await signal.send(value=1)

    count, reported = run_with_handler(main)
    assert count == 1 and reported == []


def test_key_whose_hash_raises_is_a_clear_error_and_changes_nothing(recorder):
    class BadHash:
        def __hash__(self):
            raise ArithmeticError("no hash")

    async def main():
        signal = Signal()
        with pytest.raises(ArithmeticError):
            await signal.connect(recorder.sync("cb"), keys=["fine", BadHash()], weak=False)
        return len(signal), await signal.send(key="fine")

    assert asyncio.run(main()) == (0, 0)


def test_reentrant_change_from_a_key_eq_is_refused_not_deadlocked(recorder):
    signal = Signal()
    errors = []

    class Meddler:
        def __hash__(self):
            return 1

        def __eq__(self, other):
            try:
                signal.connect(recorder.sync("inner"), weak=False).send(None)
            except StopIteration:
                pass
            except RuntimeError as error:
                errors.append(error)
            return False

    async def main():
        await signal.connect(recorder.sync("a"), key=Meddler(), weak=False)
        await signal.connect(recorder.sync("b"), key=Meddler(), weak=False)  # compares keys

    asyncio.run(main())
    assert errors and "inside its own" in str(errors[0])


def test_callbacks_sending_the_signal_again_work(recorder):
    depth = []

    async def main():
        signal = Signal(level=0)

        async def again(signal, senders, keys, level):
            depth.append(level)
            if level < 5:
                await signal.send(level=level + 1)

        await signal.connect(again)
        await signal.send()
        for _ in range(20):
            await asyncio.sleep(0)

    asyncio.run(main())
    assert depth == [0, 1, 2, 3, 4, 5]
