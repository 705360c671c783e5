"""Requests per source: a token bucket per (scope, client address), in this process's memory.

The page and the provider webhooks are public; one address sending faster than its bucket
refills is answered 429 with Retry-After (the SMTP listener answers 450) before any work is
done. In memory on purpose: the limit guards this process's event loop and database pool,
and a restart forgetting it costs nothing. The table is bounded: when it grows past
`MAX_SOURCES`, sources whose bucket has refilled are forgotten first.
"""

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from prometheus_client import Counter

from services.confirmation.settings import ConfirmationSettings
from shared.errors import DomainError
from shared.logging import get_logger

log = get_logger(__name__)

RATE_LIMITED = Counter(
    "confirmation_rate_limited_total", "Requests refused for their source's rate", ["scope"]
)
MAX_SOURCES = 50_000


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, scope: str, retry_after: int):
        super().__init__(
            "rate_limited",
            f"Too many requests from this address; try again in {retry_after} s.",
            retry_after_seconds=retry_after,
        )
        self.headers = {"Retry-After": str(retry_after)}
        self.scope = scope


@dataclass
class _Bucket:
    tokens: float
    at: float


class SourceLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, source: str) -> int | None:
        """Take one request from the source's bucket: None when allowed, else seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= MAX_SOURCES:
                self._forget_refilled(now)
            bucket = self._buckets[source] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_refilled(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate >= self.capacity
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


def limiter_for(state: Any, scope: str, settings: ConfirmationSettings) -> SourceLimiter:
    """The app's (or listener's) limiter for a scope, made on first use."""
    limiters: dict[str, SourceLimiter] | None = getattr(state, "source_limiters", None)
    if limiters is None:
        limiters = state.source_limiters = {}
    if scope not in limiters:
        per_minute = {
            "page": settings.page_rate_per_minute,
            "webhook": settings.webhook_rate_per_minute,
            "smtp": settings.smtp_rate_per_minute,
        }[scope]
        limiters[scope] = SourceLimiter(per_minute)
    return limiters[scope]


def check(limiter: SourceLimiter, scope: str, source: str) -> None:
    wait = limiter.retry_after(source)
    if wait is not None:
        RATE_LIMITED.labels(scope).inc()
        log.warning("rate_limited", scope=scope, source=source, retry_after=wait)
        raise RateLimited(scope, wait)


def per_source(scope: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: refuse the call with 429 when its client address is over the rate."""

    async def dependency(request: Request) -> None:
        settings: ConfirmationSettings = request.app.state.settings
        source = request.client.host if request.client else "unknown"
        check(limiter_for(request.app.state, scope, settings), scope, source)

    return dependency
