"""Declared keyword arguments: defaults, then values given to one send."""
import asyncio

from asyncio_dispatch import Signal


async def main():
    the_signal = Signal(my_kwarg='default', payload={})

    async def callback(signal, senders, keys, my_kwarg, payload):
        assert signal is the_signal
        print('senders=', senders)
        print('keys=', keys)
        print('my_kwarg=', my_kwarg)
        print('payload=', payload)

    await the_signal.connect(callback)

    await the_signal.send()
    await asyncio.sleep(0)

    await the_signal.send(my_kwarg='changed with send',
                          payload={'anything': 'a dict can hold!', 'more': 'stuff'})
    await asyncio.sleep(0)


asyncio.run(main())
