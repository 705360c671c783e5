"""A front end's delivery-webhook receiver on loopback: a real HTTP server, like a real one.

It verifies each call's signature (X-Timestamp, X-Signature = HMAC-SHA256 of
"<timestamp>.<body>") with the secret it registered, refuses bad ones with 401, can be told to
fail the next calls with 500 so retries are tested on a real socket, and keeps what it accepted.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.sms_gateway import _free_port

MAX_AGE_SECONDS = 300


class FrontEndHook:
    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(32)
        self.port = _free_port()
        self.deliveries: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.calls: list[dict[str, Any]] = []  # every call, with the answer it got
        self.fail_next = 0
        app = Starlette(routes=[Route("/links", self._links, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/links"

    def verified(self, timestamp: str, signature: str, body: bytes) -> bool:
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= MAX_AGE_SECONDS
        return fresh and hmac.compare_digest(expected, signature)

    async def _links(self, request: Request) -> JSONResponse:
        body = await request.body()
        timestamp = request.headers.get("x-timestamp", "")
        signature = request.headers.get("x-signature", "")
        if not self.verified(timestamp, signature, body):
            self.calls.append({"status": 401})
            return JSONResponse({"error": "bad signature"}, status_code=401)
        payload = json.loads(body)
        if self.fail_next > 0:
            self.fail_next -= 1
            self.calls.append({"status": 500, "payload": payload})
            return JSONResponse({"error": "try again"}, status_code=500)
        self.calls.append({"status": 200, "payload": payload})
        await self.deliveries.put(payload)
        return JSONResponse({"ok": True})

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.deliveries.get(), timeout)
