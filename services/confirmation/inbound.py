"""Inbound email: the service's own SMTP listener and the one function every email path uses.

The listener runs in the service's event loop (no aiosmtpd Controller thread): bound by an
on_start hook, so the service listens before it reports started, and closed by a worker when
the service stops. Every message that reaches DATA is accepted and recorded, even when it does
not count as an answer: bouncing it would tell a stranger which tokens exist.

MIME parsing runs in a pool of worker processes, never on the event loop: its cost grows with
the number of parts, and a hostile mail of a few megabytes would otherwise stall every request
and consumer of the service. Size, parts, depth and parse time are limited; a mail over any
limit is recorded refused with the limit as its reason. A peer sending faster than
`SMTP_RATE_PER_MINUTE` is told to try later (450) at MAIL FROM, before its data is read.
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.confirmation import emails, submissions
from services.confirmation.domain import Reason
from services.confirmation.reply_commands import Reply, ReplyResult, receive_reply
from services.confirmation.settings import ConfirmationRuntime, ConfirmationSettings
from services.confirmation.source_limits import RateLimited, check, limiter_for
from shared.correlation import set_correlation_id
from shared.events import Channel
from shared.logging import get_logger

log = get_logger(__name__)


_pool: ProcessPoolExecutor | None = None


def _parser_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # Spawned, not forked: a fork of a process running an event loop and threads may
        # inherit a held lock.
        context = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(max_workers=max(workers, 1), mp_context=context)
    return _pool


def stop_parser_pool() -> None:
    """End the worker processes; the next mail starts new ones (they outlive no listener)."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def mail_limits(settings: ConfirmationSettings) -> emails.MailLimits:
    return emails.MailLimits(
        max_bytes=settings.smtp_listen_max_bytes,
        max_parts=settings.mail_max_parts,
        max_depth=settings.mail_max_depth,
        trusted_authserv_id=settings.email_trusted_authserv_id,
    )


async def parse_in_worker(settings: ConfirmationSettings, raw: bytes) -> emails.ParsedReply:
    """`emails.parse_reply` in a worker process, within the settings' limits and time."""
    limits = mail_limits(settings)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(
        _parser_pool(settings.mail_parse_workers), emails.parse_reply, raw, limits
    )
    try:
        return await asyncio.wait_for(future, settings.mail_parse_timeout_seconds)
    except TimeoutError:
        # The parse that overran still occupies its worker: end the workers, start anew.
        stop_parser_pool()
        # The header block alone is bounded and cheap: it attributes the refusal to a complaint.
        return emails.headers_only(raw, limits, Reason.parse_timeout)


def mail_refusal(settings: ConfirmationSettings, parsed: emails.ParsedReply) -> Reason | None:
    """A limit the mail broke, or a missing DMARC pass where one is required."""
    if parsed.refused is not None:
        return Reason(parsed.refused)
    if settings.require_dmarc and parsed.dmarc != "pass":
        return Reason.dmarc_not_passed
    return None


async def receive_email(
    rt: ConfirmationRuntime,
    raw: bytes,
    envelope_sender: str | None,
    recipients: list[str] | None = None,
) -> ReplyResult:
    """Handle one raw RFC 5322 reply; `envelope_sender` is SMTP's MAIL FROM when known, and
    `recipients` its RCPT TO: mail to the complaints address may be a new complaint."""
    settings = rt.settings
    parsed = await parse_in_worker(settings, raw)
    if parsed.automatic_rule is not None:
        log.info("reply_automatic", rule=parsed.automatic_rule, message_id=parsed.message_id)
    refused = mail_refusal(settings, parsed)
    if refused is not None:
        log.warning("mail_refused", reason=refused.value, size=len(raw), dmarc=parsed.dmarc)
    reply = Reply(
        channel=Channel.email,
        sender=parsed.sender,
        envelope_sender=envelope_sender,
        subject=parsed.subject,
        body=parsed.body,
        new_text=parsed.new_text,
        message_id=parsed.message_id,
        automatic=parsed.automatic,
        dmarc=parsed.dmarc,
        refused=refused,
        to_complaints=submissions.names_us(recipients, settings.complaints_address),
        sender_name=parsed.sender_name,
    )
    return await receive_reply(rt, reply)


class _ReplyHandler:
    def __init__(self, rt: ConfirmationRuntime, limits_state: Any):
        self._rt = rt
        self._limits_state = limits_state

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        settings = self._rt.settings
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            check(limiter_for(self._limits_state, "smtp", settings), "smtp", peer)
        except RateLimited as exc:
            wait = exc.headers["Retry-After"]
            return f"450 4.7.1 Too many messages from your address; try again in {wait} s"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        set_correlation_id(None)
        raw = envelope.original_content or b""
        try:
            await receive_email(self._rt, raw, envelope.mail_from or "", envelope.rcpt_tos)
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

    async def start(self, rt: ConfirmationRuntime) -> None:
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

    def _session(self, rt: ConfirmationRuntime, loop: asyncio.AbstractEventLoop) -> SMTP:
        session = _TrackedSMTP(
            _ReplyHandler(rt, self),
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

    async def serve_until_stopped(self, _: ConfirmationRuntime) -> None:
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
        stop_parser_pool()
        log.info("smtp_listener_stopped")


class _TrackedSMTP(SMTP):
    on_lost: Any = None

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if self.on_lost is not None:
            self.on_lost(self)
