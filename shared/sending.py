"""Sending out of the system: mail over SMTP and signed webhook calls. No retries here.

Each function returns None once the other side accepted, else the error to retry on; the
callers keep what is to be sent in their own tables and retry with their own back-off.
A webhook call is signed like the calls we accept: HMAC-SHA256 over "<timestamp>.<raw body>"
with the receiver's secret, in `X-Signature`, the Unix time in `X-Timestamp`.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass

import aiosmtplib
import httpx

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def post_signed(url: str, secret: str, body: bytes, seconds: float) -> str | None:
    """POST the JSON body, signed; only a 2xx answer delivers it."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if not 200 <= response.status_code < 300:
        return f"webhook answered {response.status_code}"
    return None


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    starttls: bool = False
    timeout: float = 10.0


async def send_mail(
    server: SmtpServer, raw: bytes, sender: str, recipients: list[str], utf8: bool = False
) -> str | None:
    """Hand the message to the relay; its refusal or a connection fault is the error."""
    try:
        await aiosmtplib.send(
            raw,
            sender=sender,
            recipients=recipients,
            mail_options=["SMTPUTF8"] if utf8 else None,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.starttls,
            timeout=server.timeout,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
