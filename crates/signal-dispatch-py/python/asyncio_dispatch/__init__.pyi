import asyncio
from typing import Any, Callable, Generator, Iterable, Optional

__all__ = ["Signal", "SignalOperation"]

class SignalOperation:
    """The awaitable returned by ``connect``, ``disconnect`` and ``send``.

    It implements the coroutine protocol and runs its call when awaited.
    """

    def __await__(self) -> Generator[Any, None, Any]: ...
    def __next__(self) -> Any: ...
    def send(self, value: None) -> Any: ...
    def throw(self, kind: Any, value: Any = ..., traceback: Any = ...) -> Any: ...
    def close(self) -> None: ...

class Signal:
    """A signal: callbacks connect to it and ``send`` schedules them."""

    restricted_keywords: tuple[str, ...]

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, **kwargs: Any) -> None: ...
    def connect(
        self,
        callback: Callable[..., Any],
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        weak: bool = True,
    ) -> SignalOperation: ...
    def disconnect(
        self,
        callback: Optional[Callable[..., Any]] = None,
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        weak: bool = True,
    ) -> SignalOperation: ...
    def send(
        self,
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        **kwargs: Any,
    ) -> SignalOperation: ...
    def __len__(self) -> int: ...
