"""Every kind of callable the seed documents, and a few it mishandled."""
import asyncio
import functools
import types

from asyncio_dispatch import Signal
from conftest import settle

CALLED = []


def plain(**kwargs):
    CALLED.append("function")


async def coroutine_function(**kwargs):
    await asyncio.sleep(0)
    CALLED.append("async def")


@types.coroutine
def generator_coroutine(**kwargs):
    yield from asyncio.sleep(0)
    CALLED.append("generator coroutine")


class Owner:
    def method(self, **kwargs):
        CALLED.append("method")

    async def async_method(self, **kwargs):
        CALLED.append("async method")

    @classmethod
    def class_method(cls, **kwargs):
        CALLED.append("classmethod")

    @staticmethod
    def static_method(**kwargs):
        CALLED.append("staticmethod")


class CallableObject:
    def __call__(self, **kwargs):
        CALLED.append("callable object")


class AsyncCallableObject:
    async def __call__(self, **kwargs):
        CALLED.append("async callable object")


def with_extra(extra, **kwargs):
    CALLED.append(f"partial {extra}")


def test_every_kind_of_callable_runs_once():
    CALLED.clear()
    owner = Owner()
    callable_object = CallableObject()
    async_callable_object = AsyncCallableObject()

    async def main():
        signal = Signal()
        weakly = [plain, coroutine_function, generator_coroutine, owner.method, owner.async_method,
                  Owner.class_method, Owner.static_method, callable_object, async_callable_object]
        for callback in weakly:
            await signal.connect(callback)
        await signal.connect(functools.partial(with_extra, "x"), weak=False)
        await signal.connect(lambda **kwargs: CALLED.append("lambda"), weak=False)
        assert await signal.send() == 11
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(main())
    assert sorted(CALLED) == sorted([
        "function", "async def", "generator coroutine", "method", "async method", "classmethod",
        "staticmethod", "callable object", "async callable object", "partial x", "lambda"])


def test_coroutine_callbacks_run_as_tasks():
    seen = []

    async def callback(**kwargs):
        seen.append(asyncio.current_task() is not None)

    async def main():
        signal = Signal()
        await signal.connect(callback)
        await signal.send()
        await settle()

    asyncio.run(main())
    assert seen == [True]


def test_sync_callbacks_run_via_call_soon_not_inside_send():
    order = []

    def callback(**kwargs):
        order.append("callback")

    async def main():
        signal = Signal()
        await signal.connect(callback)
        await signal.send()
        order.append("after send")
        await settle()

    asyncio.run(main())
    assert order == ["after send", "callback"]


def test_each_sync_callback_gets_its_own_context():
    import contextvars
    var = contextvars.ContextVar("var", default="unset")
    seen = []

    def setter(**kwargs):
        var.set("set by setter")

    def reader(**kwargs):
        seen.append(var.get())

    async def main():
        signal = Signal()
        await signal.connect(setter)
        await signal.connect(reader)
        await signal.send()
        await settle()

    asyncio.run(main())
    assert seen == ["unset"]


def test_bound_method_reconnected_is_the_same_connection():
    counts = []

    class Counter:
        def hit(self, **kwargs):
            counts.append(1)

    counter = Counter()

    async def main():
        signal = Signal()
        await signal.connect(counter.hit)
        await signal.connect(counter.hit)  # a new bound-method object, same callback
        assert len(signal) == 1
        assert await signal.send() == 1
        await settle()

    asyncio.run(main())
    assert counts == [1]
