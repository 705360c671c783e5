"""One at a time per key: the events of one complaint are handled in the order delivered."""

import asyncio
import contextlib
from collections.abc import AsyncIterator


class KeyedLocks:
    """A lock per key, kept only while someone holds or waits for it.

    asyncio's locks wake their waiters first come first served, and the consumer starts one task
    per delivery in delivery order, each taking the lock before its first pause; so the events
    of one key run in delivery order while other keys run alongside.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: str | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
