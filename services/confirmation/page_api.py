"""The confirmation page for web and chat: a single-use, expiring link; plain HTML, no script.

`GET /c/{token}` shows the resolution and two buttons; `POST /c/{token}` records the answer
through the one reply use case. Possession of the link is the proof on these channels, so the
token is long, random, stored as a keyed hash, and dead once used, replaced or expired. Each
opening of a live page is recorded with keyed hashes of the visitor's IP and user agent.
"""

import uuid
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Row, func, select

from services.confirmation import reply_matching
from services.confirmation.domain import LINK_CHANNELS, Status, Verdict, visitor_hash
from services.confirmation.models import page_opens
from services.confirmation.reply_commands import Reply, receive_reply
from services.confirmation.settings import ConfirmationRuntimeDep
from services.confirmation.source_limits import per_source
from shared.events import Channel
from shared.timestamps import as_utc

# Calls per client address are limited (PAGE_RATE_PER_MINUTE); bodies by PAGE_MAX_BODY_BYTES.
router = APIRouter(tags=["confirmation page"], dependencies=[Depends(per_source("page"))])

Token = Annotated[str, Path(min_length=1, max_length=64)]
COMMENT_LIMIT = 2000

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:1rem auto;padding:0 1rem;"
    "line-height:1.5}button{font-size:1.1rem;padding:.8rem 1.2rem;margin:.3rem .3rem .3rem 0;"
    "width:100%}textarea{width:100%;box-sizing:border-box}"
)


def _page(title: str, content: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{content}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


# No script, no frames, no third party: the page needs only its inline style and its own form.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


_GONE = "<p>This link can no longer be used. If you still need help, please contact us.</p>"


async def _usable(rt: Any, token: str, now: Any, visitor: Request | None = None) -> Row[Any] | None:
    """The pending request a live link answers; a visitor opening it is recorded, hashed."""
    async with rt.uow() as uow:
        request, expires_at = await reply_matching.find_request(
            uow, _Lookup(token), rt.settings.token_hash_secret
        )
        if request is None or request.channel not in LINK_CHANNELS:
            return None
        if request.status != Status.pending:
            return None
        if expires_at is not None and as_utc(expires_at) <= now:
            return None
        if visitor is not None:
            await _record_open(uow, rt.settings, request, visitor, now)
            await uow.commit()
    return request


OPENS_KEPT = 20  # per request: enough to see who opened it, not a table anyone can fill


async def _record_open(
    uow: Any, settings: Any, request: Row[Any], visitor: Request, now: Any
) -> None:
    count = await uow.conn.scalar(
        select(func.count()).select_from(page_opens).where(page_opens.c.request_id == request.id)
    )
    if count >= OPENS_KEPT:
        return
    ip = visitor.client.host if visitor.client else ""
    agent = visitor.headers.get("user-agent", "")[:1000]
    await uow.conn.execute(
        page_opens.insert().values(
            id=str(uuid.uuid4()),
            request_id=request.id,
            complaint_id=request.complaint_id,
            opened_at=now,
            ip_hash=visitor_hash(f"ip:{ip}", settings.visitor_hash_secret),
            user_agent_hash=visitor_hash(f"ua:{agent}", settings.visitor_hash_secret),
        )
    )


class _Lookup:
    """Just enough of a reply for `find_request` to look a page token up."""

    def __init__(self, token: str):
        self.token, self.request_id, self.channel = token, None, Channel.web


@router.get("/c/{token}", response_class=HTMLResponse, include_in_schema=False)
async def show(rt: ConfirmationRuntimeDep, request: Request, token: Token) -> HTMLResponse:
    """The resolution and two buttons (no script: works on any phone)."""
    asked = await _usable(rt, token, request.app.state.clock(), visitor=request)
    if asked is None:
        return _page("Link no longer valid", _GONE, 410)
    cannot = asked.outcome == "cannot_fulfil"
    question = (
        "We cannot do what you asked. Please tell us you have read why."
        if cannot
        else "Is your complaint resolved?"
    )
    yes, no = (
        ("I have read this", "I do not accept this") if cannot else ("Yes, it is resolved", "No")
    )
    summary = escape(asked.summary).replace("\n", "<br>")
    form = (
        f"<p>{summary}</p><p><strong>{escape(question)}</strong></p>"
        f'<form method="post" action="/c/{escape(token)}">'
        '<label for="comment">Anything to add? (optional)</label>'
        f'<textarea id="comment" name="comment" rows="3" maxlength="{COMMENT_LIMIT}"></textarea>'
        f'<button type="submit" name="answer" value="yes">{escape(yes)}</button>'
        f'<button type="submit" name="answer" value="no">{escape(no)}</button></form>'
    )
    return _page("Your complaint", form)


@router.post("/c/{token}", response_class=HTMLResponse, include_in_schema=False)
async def answer(rt: ConfirmationRuntimeDep, request: Request, token: Token) -> HTMLResponse:
    """Record the customer's answer; the link is spent whatever it was."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    choice = (form.get("answer") or [""])[0]
    comment = (form.get("comment") or [""])[0][:COMMENT_LIMIT]
    if choice not in ("yes", "no"):
        return _page("Please choose an answer", "<p>Please go back and press a button.</p>", 422)
    async with rt.uow() as uow:
        settings = rt.settings
        found, _ = await reply_matching.find_request(
            uow, _Lookup(token), settings.token_hash_secret
        )
    # The page answers web and chat requests only; any other token here is on the wrong channel.
    channel = Channel(found.channel) if found and found.channel in LINK_CHANNELS else Channel.web
    reply = Reply(
        channel=channel,
        sender=None,
        envelope_sender=None,
        subject="confirmation page",
        body="",
        new_text=comment.strip(),
        received_at=request.app.state.clock(),
        token=token,
        choice=Verdict(choice),
    )
    result = await receive_reply(rt, reply)
    if result.reason is not None:
        return _page("Link no longer valid", _GONE, 410)
    if result.verdict == Verdict.unclear:
        text = "Thank you. Your complaint stays open and the person handling it will contact you."
    elif result.verdict == Verdict.yes:
        text = "Thank you for confirming. Your complaint is now closed."
    else:
        text = "Thank you. Your complaint stays open and we will keep working on it."
    return _page("Thank you", f"<p>{escape(text)}</p>")
