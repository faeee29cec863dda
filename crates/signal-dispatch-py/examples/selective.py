"""Sender and key filters: who receives which message (7 deliveries in all)."""
import asyncio

from asyncio_dispatch import Signal


class Person:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    async def message_received(self, signal, senders, keys, message):
        number = '#1' if signal is SIGNAL1 else '#2'
        print('{} received signal {}: senders={} keys={} message={!r}'.format(
            self.name, number, sorted(map(repr, senders)), sorted(keys), message))


SIGNAL1 = Signal(message=None)
SIGNAL2 = Signal(message=None)


async def main():
    mike = Person('Mike')
    ashley = Person('Ashley')

    await SIGNAL1.connect(mike.message_received, sender=ashley, keys=['important', 'books'])
    await SIGNAL1.connect(ashley.message_received, sender=mike, keys=['love-notes', 'music'])
    await SIGNAL2.connect(mike.message_received, keys=['logs'])
    await SIGNAL2.connect(ashley.message_received, keys=['alert'])

    await SIGNAL1.send(message='nobody is listening')
    await SIGNAL2.send(message='nobody is listening')
    await SIGNAL1.send(sender=ashley, message='hello Mike!')
    await SIGNAL1.send(sender=mike, message='hello Ashley!')
    await SIGNAL1.send(key='important', message='important message for Mike')
    await SIGNAL2.send(key='alert', message='alert for Ashley')
    await SIGNAL1.send(keys=['books', 'love-notes'],
                       message='Mike is waiting for books, Ashley for love-notes')
    await SIGNAL1.send(keys=['important', 'books', 'logs'],
                       message='Mike is subscribed to three matching keys, but only one message is sent!')
    await asyncio.sleep(0.01)


asyncio.run(main())
