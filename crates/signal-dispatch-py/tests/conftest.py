import asyncio
import gc

import pytest


class Recorder:
    """Collects calls made to callbacks, and exceptions the loop reports."""

    def __init__(self):
        self.calls = []

    def sync(self, name):
        def callback(**kwargs):
            self.calls.append((name, kwargs))
        callback.__name__ = name
        return callback

    def coro(self, name):
        async def callback(**kwargs):
            self.calls.append((name, kwargs))
        callback.__name__ = name
        return callback

    def names(self):
        return sorted(name for name, _ in self.calls)


@pytest.fixture
def recorder():
    return Recorder()


async def settle():
    """Lets every scheduled handle and task run."""
    for _ in range(5):
        await asyncio.sleep(0)


def collect():
    for _ in range(3):
        gc.collect()
