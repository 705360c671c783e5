"""Request body size limits: a plain ASGI middleware that refuses an oversized body with 413.

Checked on the declared Content-Length before anything is read, and again while the body
streams in (a chunked request has no length), so an oversized body is never buffered whole.
A path may have its own, smaller limit (the longest matching prefix wins).
"""

import json

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import error_body

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        per_path: dict[str, int] | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so "/v1/inbound/email" wins over "/v1/inbound".
        self.per_path = sorted((per_path or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.per_path:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        error_body(
            "body_too_large",
            f"The request body is larger than the {limit} bytes accepted here.",
            max_bytes=limit,
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_body_limit(app: FastAPI, settings: object) -> None:
    """The service's limits: `max_body_bytes` and `body_limits` ({path prefix: bytes}) if set."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=getattr(settings, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        per_path=getattr(settings, "body_limits", None),
    )
