"""Every kind of callable the original documents, on one signal.

One send prints ``callbackN was called`` once for each N in 1..8, in any order.
"""
import asyncio
import types

from asyncio_dispatch import Signal


def callback1(**kwargs):
    print('callback1 was called')


@types.coroutine
def callback2(**kwargs):
    # The original's @asyncio.coroutine (removed in Python 3.11) made a
    # generator-based coroutine; types.coroutine still does.
    yield from asyncio.sleep(0)
    print('callback2 was called')


async def callback3(**kwargs):
    print('callback3 was called')


class Example:
    def callback4(self, **kwargs):
        print('callback4 was called')

    async def callback5(self, **kwargs):
        print('callback5 was called')

    @types.coroutine
    def callback6(self, **kwargs):
        yield from asyncio.sleep(0)
        print('callback6 was called')

    @classmethod
    def callback7(cls, **kwargs):
        print('callback7 was called')

    @staticmethod
    def callback8(**kwargs):
        print('callback8 was called')


async def main():
    signal = Signal()
    example = Example()
    for callback in (callback1, callback2, callback3, example.callback4, example.callback5,
                     example.callback6, Example.callback7, Example.callback8):
        await signal.connect(callback)
    count = await signal.send()
    await asyncio.sleep(0.05)
    print('scheduled', count)


asyncio.run(main())
