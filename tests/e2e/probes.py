"""What the end-to-end walks look with: a probe waited on, the customer's mail, a timeline."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from email.message import EmailMessage, Message
from typing import Any

import aiosmtplib
import httpx

from tests.e2e.conftest import System

TOKEN = re.compile(r"#([A-Z0-9]{6,})\]")
REFERENCE = re.compile(r"CMP-[A-Z0-9]{6,}")


async def until(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 20.0) -> Any:
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


def token_of(message: Message) -> str:
    found = TOKEN.search(str(message["Subject"]))
    assert found, message["Subject"]
    return found.group(1)


async def send(system: System, message: Message, sender: str) -> None:
    await aiosmtplib.send(
        message, hostname="127.0.0.1", port=system.smtp_listen_port, sender=sender
    )


async def when(value: Awaitable[Any], check: Callable[[Any], Any]) -> Any:
    resolved = await value
    if isinstance(resolved, httpx.Response):
        resolved = resolved.json()
    return resolved if check(resolved) else None


def mentions(text: str) -> Callable[[Any], bool]:
    return lambda timeline: text in str(timeline)


async def case_of(client: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    """The case as ownership shows it, or {} while it does not know it yet."""
    answer = await client.get(f"/v1/cases/{case_id}")
    return answer.json() if answer.status_code == 200 else {}


async def entries(client: httpx.AsyncClient, case_id: str, kind: str) -> list[dict[str, Any]]:
    timeline = await client.get(f"/v1/cases/{case_id}/timeline")
    return [e for e in timeline.json()["entries"] if e["kind"] == kind]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
