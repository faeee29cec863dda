"""A signal dispatcher for asyncio, backed by the Rust ``signal-dispatch`` core.

A drop-in for the original ``asyncio_dispatch``::

    from asyncio_dispatch import Signal

    signal = Signal(payload=None)

    async def on_event(signal, senders, keys, payload):
        print("got", payload, "from", senders, "for", keys)

    await signal.connect(on_event, keys=["orders"])
    await signal.send(key="orders", payload=42)   # returns 1

Callbacks connect to a :class:`Signal`, unfiltered or filtered by sender
(identity) and key (hash and equality); ``send`` schedules every matching
callback once on the event loop and returns how many it scheduled.
"""

from ._native import Signal, SignalOperation

__all__ = ["Signal", "SignalOperation"]
