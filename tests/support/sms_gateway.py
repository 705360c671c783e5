"""A Twilio-style SMS gateway on loopback: a real HTTP server that keeps the messages it is given.

It checks HTTP basic auth like the real thing and can be told to fail, so retries are tested
against a real socket rather than a mock.
"""

import asyncio
import base64
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Sms:
    to: str
    sender: str
    body: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmsGateway:
    def __init__(self, account: str = "AC-test", token: str = "tok-test"):
        self.account, self.token = account, token
        self.port = _free_port()
        self.messages: asyncio.Queue[Sms] = asyncio.Queue()
        self.failing = False
        app = Starlette(routes=[Route("/Messages", self._messages, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _messages(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"message": "Authenticate"}, status_code=401)
        if self.failing:
            return JSONResponse({"message": "Service unavailable"}, status_code=503)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        await self.messages.put(Sms(to=form["To"], sender=form["From"], body=form["Body"]))
        return JSONResponse({"sid": "SM" + uuid.uuid4().hex, "status": "queued"}, status_code=201)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task

    async def next(self, timeout: float = 10.0) -> Sms:
        return await asyncio.wait_for(self.messages.get(), timeout)
