"""A local mail sink for trying the system: every message it receives is written to a file.

Usage: python scripts/mailsink.py --port 1025 --dir var/mail
Each message becomes <dir>/<UTC timestamp>-<n>.eml and one line is printed per message.
"""

import argparse
import asyncio
import contextlib
import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class Sink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        raw = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{self.count}.eml"
        path.write_bytes(raw)
        subject = email.message_from_bytes(raw, policy=email.policy.default).get("Subject", "")
        to = ",".join(envelope.rcpt_tos)
        print(f"{path}  from={envelope.mail_from} to={to} subject={subject}", flush=True)
        return "250 OK"


async def main(host: str, port: int, directory: Path) -> None:
    sink = Sink(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="mailsink", enable_SMTPUTF8=True, loop=loop), host, port
    )
    print(f"mail sink listening on {host}:{port}, writing to {directory}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write every message received to a file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.host, args.port, args.dir))
