import asyncio
from typing import Any, Callable, ClassVar, Iterable, Optional

__all__ = ["Signal"]

class Signal:
    """A signal: callbacks connect to it and ``send`` schedules them."""

    restricted_keywords: ClassVar[tuple[str, ...]]

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, **kwargs: Any) -> None: ...
    async def connect(
        self,
        callback: Callable[..., Any],
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        weak: bool = True,
    ) -> None: ...
    async def disconnect(
        self,
        callback: Optional[Callable[..., Any]] = None,
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        weak: bool = True,
    ) -> None: ...
    async def send(
        self,
        sender: Any = None,
        senders: Optional[Iterable[Any]] = None,
        key: Any = None,
        keys: Optional[Iterable[Any]] = None,
        **kwargs: Any,
    ) -> int: ...
    def __len__(self) -> int: ...
