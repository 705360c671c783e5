"""Inbound email: the service's own SMTP listener and the one function every email path uses.

The listener runs in the service's event loop (no aiosmtpd Controller thread): bound by an
on_start hook, so the service listens before it reports started, and closed by a worker when
the service stops. Every message that reaches DATA is accepted and recorded, even when it does
not count as an answer: bouncing it would tell a stranger which tokens exist.
"""

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.confirmation import emails
from services.confirmation.answers import Reply, ReplyResult, receive_reply
from services.confirmation.settings import ConfirmationSettings
from shared.correlation import set_correlation_id
from shared.events import Channel
from shared.logging import get_logger
from shared.service import Runtime

log = get_logger(__name__)


async def receive_email(rt: Runtime, raw: bytes, envelope_sender: str | None) -> ReplyResult:
    """Handle one raw RFC 5322 reply; `envelope_sender` is SMTP's MAIL FROM when known."""
    parsed = emails.parse_reply(raw)
    reply = Reply(
        channel=Channel.email,
        sender=parsed.sender,
        envelope_sender=envelope_sender,
        subject=parsed.subject,
        body=parsed.body,
        new_text=parsed.new_text,
        message_id=parsed.message_id,
        automatic=parsed.automatic,
    )
    return await receive_reply(rt, reply)


class _ReplyHandler:
    def __init__(self, rt: Runtime):
        self._rt = rt

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        set_correlation_id(None)
        raw = envelope.original_content or b""
        try:
            await receive_email(self._rt, raw, envelope.mail_from or "")
        except Exception:
            log.exception("reply_not_recorded", peer=str(session.peer))
            return "451 4.3.0 The message could not be recorded; please try again later"
        return "250 2.0.0 Message accepted"


class SmtpListener:
    def __init__(self, settings: ConfirmationSettings):
        self._settings = settings
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()
        self._hostname = settings.reply_address.rpartition("@")[2] or "localhost"

    async def start(self, rt: Runtime) -> None:
        """on_start hook: bind the listening socket (fails the start-up if it cannot)."""
        loop = asyncio.get_running_loop()
        settings = self._settings
        self._server = await loop.create_server(
            lambda: self._session(rt, loop),
            host=settings.smtp_listen_host,
            port=settings.smtp_listen_port,
        )
        log.info("smtp_listener_started", host=settings.smtp_listen_host, port=self.port)

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    def _session(self, rt: Runtime, loop: asyncio.AbstractEventLoop) -> SMTP:
        session = _TrackedSMTP(
            _ReplyHandler(rt),
            hostname=self._hostname,
            ident="complaints confirmation",
            data_size_limit=self._settings.smtp_listen_max_bytes,
            enable_SMTPUTF8=True,
            timeout=120,
            loop=loop,
        )
        session.on_lost = self._sessions.discard
        self._sessions.add(session)
        return session

    async def serve_until_stopped(self, _: Runtime) -> None:
        """Worker: holds the listener open and closes it, and its sessions, on shutdown."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Python 3.11's Server.close leaves accepted connections open.
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await self._server.wait_closed()
        self._server = None
        log.info("smtp_listener_stopped")


class _TrackedSMTP(SMTP):
    on_lost: Any = None

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if self.on_lost is not None:
            self.on_lost(self)
