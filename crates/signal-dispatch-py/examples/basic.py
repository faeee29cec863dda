"""The original README's example: one coroutine callback, one send.

Prints ``sending the signal.`` then ``callback was called!``.
"""
import asyncio

from asyncio_dispatch import Signal


async def callback(**kwargs):
    print('callback was called!')


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)

# create the signal
signal = Signal(loop=loop)

# connect the callback to the Signal - This is a coroutine!
loop.run_until_complete(loop.create_task(signal.connect(callback)))

# send the signal - This is also a coroutine!
print('sending the signal.')
loop.run_until_complete(loop.create_task(signal.send()))
loop.run_until_complete(asyncio.sleep(0))
loop.close()
