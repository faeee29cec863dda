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

from . import _native

__all__ = ["Signal"]


class Signal(_native.Signal):
    """A signal: callbacks connect to it and ``send`` schedules them.

    ``Signal(loop=None, **kwargs)``: ``kwargs`` declares the keyword
    arguments every callback receives, with their defaults; a send may give
    them new values but not add others. The names in
    :attr:`restricted_keywords` can't be declared (``ValueError``). With
    ``loop=None`` callbacks run on the loop running at the time of the send;
    with a loop, on that loop, even when the send comes from another thread.
    """

    async def connect(self, callback, sender=None, senders=None, key=None, keys=None, weak=True):
        """*Coroutine.* Connects ``callback``.

        With no sender and no key the callback is unfiltered: it runs on
        every send. With ``sender``/``senders`` (matched by identity) and
        ``key``/``keys`` (matched by hash and equality) it runs only on sends
        naming one of them. Connecting a connected callback again adds
        routes to it. ``weak=True`` (the default) holds it weakly, a bound
        method as :class:`weakref.WeakMethod` would: once it dies it never
        runs again and its connection is removed. ``weak=False`` holds it
        strongly (needed for lambdas and local functions).
        """
        self._connect(callback, sender, senders, key, keys, weak)

    async def disconnect(self, callback=None, sender=None, senders=None, key=None, keys=None,
                         weak=True):
        """*Coroutine.* Disconnects ``callback``.

        With no sender and no key, entirely; otherwise only from the senders
        and keys named. Disconnecting what is not connected does nothing.
        ``weak`` is accepted for compatibility; it is not needed.
        """
        self._disconnect(callback, sender, senders, key, keys)

    async def send(self, sender=None, senders=None, key=None, keys=None, **kwargs):
        """*Coroutine.* Schedules every matching callback, each once, and
        returns how many.

        Matching: every unfiltered callback, and every callback connected to
        one of the senders or keys named. Each is called with ``signal``
        (this signal), ``senders`` and ``keys`` (sets of what the send named)
        and the declared keyword arguments, ``kwargs`` overriding their
        defaults. Coroutine functions run as tasks, plain callables through
        ``loop.call_soon``; an exception a callback raises goes to the loop's
        exception handler. An undeclared keyword raises ``ValueError`` and
        schedules nothing.
        """
        return self._send(sender, senders, key, keys, kwargs)
