"""A real SMTP server on loopback that keeps what it receives, standing in for a mail provider."""

import asyncio
import email
import re
import socket
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# A confirmation question's subject ends "[ref CMP-… #TOKEN]"; an acknowledgement has no token.
QUESTION = re.compile(r"\[ref [^\]]*#[A-Z0-9]{6,}\]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        self.messages.append(email.message_from_bytes(raw, policy=default))
        return "250 OK"

    def __enter__(self) -> "MailSink":
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> EmailMessage:
        async with asyncio.timeout(timeout):
            while len(self.to(address)) < count:
                await asyncio.sleep(0.1)
        return self.to(address)[count - 1]

    def questions_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.to(address) if QUESTION.search(str(m["Subject"]))]

    async def wait_for_question(
        self, address: str, count: int = 1, timeout: float = 20.0
    ) -> EmailMessage:
        """The `count`-th confirmation question to `address` (acknowledgements left aside)."""
        async with asyncio.timeout(timeout):
            while len(self.questions_to(address)) < count:
                await asyncio.sleep(0.1)
        return self.questions_to(address)[count - 1]


def reply(
    original: EmailMessage, sender: str, text: str, subject: str | None = None
) -> EmailMessage:
    """A customer's reply the way mail clients write one: new text above the quoted original."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = str(original["Reply-To"] or original["From"])
    message["Subject"] = subject if subject is not None else f"Re: {original['Subject']}"
    if original["Message-ID"]:
        message["In-Reply-To"] = str(original["Message-ID"])
    body = original.get_body(("plain",))
    quoted = "\n".join(f"> {line}" for line in (body.get_content() if body else "").splitlines())
    message.set_content(f"{text}\n\nOn Monday, Complaints wrote:\n{quoted}\n")
    return message
