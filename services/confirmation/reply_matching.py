"""Which request a reply answers, and whether its transport may be trusted once more."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, or_, select

from services.confirmation import domain
from services.confirmation.domain import Reason, Status, Verdict
from services.confirmation.models import (
    case_owners,
    complaints,
    inbound_messages,
    request_tokens,
    requests,
    webhook_signatures,
)
from shared.events import Channel
from shared.timestamps import as_utc
from shared.uow import UnitOfWork


async def replayed(uow: UnitOfWork, reply: Any) -> Reason | None:
    """A signature seen before is a replay; storing it in this transaction claims it."""
    if reply.signature is None:
        return None
    where = webhook_signatures.c.signature == reply.signature
    if await uow.conn.scalar(select(webhook_signatures.c.signature).where(where)) is not None:
        return Reason.replayed
    await uow.conn.execute(
        webhook_signatures.insert().values(
            signature=reply.signature, source=reply.channel.value, received_at=reply.received_at
        )
    )
    return None


def _token_of(reply: Any) -> str | None:
    if reply.token is not None:
        return reply.token
    if reply.channel == Channel.sms:
        return domain.find_sms_token(reply.body)
    return domain.find_token(reply.subject, reply.body)


async def find_request(
    uow: UnitOfWork, reply: Any, secret: str | None = None
) -> tuple[Row[Any] | None, datetime | None]:
    """The request the reply answers, and when the token it used expires.

    `secret` keys the token hashes (CONFIRMATION_TOKEN_HASH_SECRET); a reply that names its
    request outright (an attestation) needs none.
    """
    if reply.request_id is not None:
        query = select(requests).where(requests.c.id == reply.request_id)
        return (await uow.conn.execute(query)).first(), None
    token = _token_of(reply)
    if token is not None:
        if secret is None:
            raise ValueError("looking a token up needs the token hash secret")
        return await _request_with_token(uow, token, secret)
    if reply.channel == Channel.sms and reply.sender:
        return await _request_of_number(uow, reply.sender), None
    return None, None


async def _request_with_token(
    uow: UnitOfWork, token: str, secret: str
) -> tuple[Row[Any] | None, datetime | None]:
    digest, legacy = domain.hash_token(token, secret), domain.legacy_hash(token)
    # An unkeyed hash answers only on a row issued before hashes were keyed.
    query = select(requests).where(
        or_(
            and_(requests.c.token_hash == digest, ~requests.c.legacy_hash),
            and_(requests.c.token_hash == legacy, requests.c.legacy_hash),
        )
    )
    request = (await uow.conn.execute(query)).first()
    if request is not None:
        return request, request.token_expires_at
    later = (
        await uow.conn.execute(
            select(requests, request_tokens.c.expires_at.label("later_expires_at"))
            .join(request_tokens, request_tokens.c.request_id == requests.c.id)
            .where(
                or_(
                    and_(request_tokens.c.token_hash == digest, ~request_tokens.c.legacy_hash),
                    and_(request_tokens.c.token_hash == legacy, request_tokens.c.legacy_hash),
                )
            )
        )
    ).first()
    return (later, later.later_expires_at) if later is not None else (None, None)


async def _request_of_number(uow: UnitOfWork, sender: str) -> Row[Any] | None:
    """A text without its code answers the customer's one pending SMS request, if just one."""
    number = domain.canonical_number(sender)
    if number is None:
        return None
    query = select(requests).where(
        requests.c.channel == Channel.sms.value,
        requests.c.contact == number,
        requests.c.status == Status.pending.value,
    )
    pending = (await uow.conn.execute(query.limit(2))).all()
    return pending[0] if len(pending) == 1 else None


def facts_of(request: Row[Any], expires_at: datetime | None) -> domain.RequestFacts:
    return domain.RequestFacts(
        status=request.status,
        channel=request.channel,
        contact=request.contact,
        expires_at=None if expires_at is None else as_utc(expires_at),
        outcome=request.outcome,
    )


async def mentioned_complaint(uow: UnitOfWork, reply: Any) -> str | None:
    """Attribute a reply without a usable token by the reference it quotes (visibility only)."""
    reference = domain.find_reference(reply.subject, reply.body)
    if reference is None:
        return None
    found = await uow.conn.scalar(
        select(complaints.c.id).where(complaints.c.reference == reference)
    )
    return None if found is None else str(found)


async def current_owner(uow: UnitOfWork, request: Row[Any]) -> str:
    """The owner as last assigned; the proposer when no assignment has been seen."""
    owner = await uow.conn.scalar(
        select(case_owners.c.owner_id).where(case_owners.c.complaint_id == request.complaint_id)
    )
    return str(owner) if owner is not None else str(request.owner_id)


async def needs_owner(uow: UnitOfWork, request: Row[Any]) -> bool:
    """The customer's own answer left it to the owner: unclear (a spent link, or an accepted
    reply that said neither yes nor no) or no answer after every reminder."""
    if request.status == Status.unclear or request.no_answer_at is not None:
        return True
    unclear = await uow.conn.scalar(
        select(inbound_messages.c.id)
        .where(
            inbound_messages.c.request_id == request.id,
            inbound_messages.c.verdict == Verdict.unclear.value,
            inbound_messages.c.reason.is_(None),
        )
        .limit(1)
    )
    return unclear is not None
