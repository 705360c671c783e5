"""What this process last wrote for recent complaints, so a new event need not re-read them.

Re-projecting a complaint needs its whole history and its current rows. Every ingest
transaction stamps the streams it writes with a random token (`streams.token`); the cache keeps,
per complaint, the token it wrote with, the history and the rows. When a stream's token in the
database is still the cached one, nobody else has written the stream since: the cached history
plus the new events is the history, and the cached rows are the rows. A transaction that rolled
back, another process or a rebuild leaves a different token, and the stream is read again. A
complaint's events come within days of each other, so a few thousand entries serve most events.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from services.analytics.domain import FactEvent


@dataclass
class Entry:
    token: int
    events: list[FactEvent]
    row: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class StateCache:
    """A bounded map of complaint stream → Entry, the least recently used dropped first."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def valid(self, stream: str, token: int | None) -> Entry | None:
        """The entry of the stream if it is as of `token` (the stream's token before now)."""
        entry = self._entries.get(stream)
        if entry is None or token is None or entry.token != token:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(stream)
        return entry

    def put(self, stream: str, entry: Entry) -> None:
        if self.size <= 0:
            return
        self._entries[stream] = entry
        self._entries.move_to_end(stream)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, stream: str) -> None:
        self._entries.pop(stream, None)

    def clear(self) -> None:
        self._entries.clear()


# One per process: tokens are random per transaction, so entries of one database never pass
# for another's.
CACHE = StateCache(20_000)
