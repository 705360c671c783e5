"""Signed provider webhooks: SMS replies and inbound mail, both fed to the one reply use case.

Unauthenticated by bearer token on purpose: the HMAC signature is the authentication. A call
that fails the signature checks is still recorded (with its reason, attributed to a complaint
when it names one) so the owner can see the attempt, and is answered 401.
"""

import json
from email.utils import parseaddr
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Request
from pydantic import ValidationError

from services.confirmation import emails, replytext, submissions, webhooks
from services.confirmation.domain import Reason
from services.confirmation.reply_commands import Reply, ReplyResult, receive_reply
from services.confirmation.schemas import AnswerPublic, EmailWebhook
from services.confirmation.settings import ConfirmationRuntimeDep
from services.confirmation.source_limits import per_source
from shared.errors import DomainError
from shared.events import Channel
from shared.openapi import error_responses

# Bodies are limited by the body-limit middleware (WEBHOOK_MAX_BODY_BYTES); calls per source here.
router = APIRouter(
    prefix="/v1/inbound",
    tags=["inbound webhooks"],
    dependencies=[Depends(per_source("webhook"))],
    responses=error_responses(401, 413, 429),
)

Signature = Annotated[str | None, Header(alias=webhooks.SIGNATURE_HEADER)]
Timestamp = Annotated[str | None, Header(alias=webhooks.TIMESTAMP_HEADER)]


class WebhookRefused(DomainError):
    status_code = 401


class BadPayload(DomainError):
    status_code = 422


def _answer(result: ReplyResult) -> AnswerPublic:
    if result.reason is not None and result.reason.value in _TRANSPORT_REASONS:
        raise WebhookRefused(result.reason.value, "The webhook call is not trusted.")
    return AnswerPublic(
        inbound_id=result.inbound_id,
        request_id=result.request_id,
        verdict=result.verdict.value,
        reason=None if result.reason is None else result.reason.value,
    )


_TRANSPORT_REASONS = {"missing_signature", "bad_signature", "stale_timestamp", "replayed"}


@router.post("/sms", response_model=AnswerPublic)
async def inbound_sms(
    rt: ConfirmationRuntimeDep,
    request: Request,
    signature: Signature = None,
    timestamp: Timestamp = None,
) -> AnswerPublic:
    """A customer's text message, posted by the SMS gateway as a form (From, To, Body)."""
    settings = rt.settings
    raw, now = await request.body(), request.app.state.clock()
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    refused = webhooks.check(
        settings.sms_webhook_secret,
        signature,
        timestamp,
        raw,
        now,
        settings.webhook_max_age_seconds,
    )
    text = form.get("Body", "")
    reply = Reply(
        channel=Channel.sms,
        sender=form.get("From"),
        envelope_sender=None,
        subject="",
        body=text,
        new_text=text.strip(),
        message_id=form.get("MessageSid"),
        received_at=now,
        refused=refused,
        to_complaints=submissions.names_us(form.get("To"), settings.sms_complaints_number),
        signature=None if refused or signature is None else signature.strip().lower(),
    )
    return _answer(await receive_reply(rt, reply))


@router.post("/email", response_model=AnswerPublic)
async def inbound_email(
    rt: ConfirmationRuntimeDep,
    request: Request,
    signature: Signature = None,
    timestamp: Timestamp = None,
) -> AnswerPublic:
    """A reply to a confirmation email, posted as JSON by an inbound-mail provider."""
    settings = rt.settings
    raw, now = await request.body(), request.app.state.clock()
    refused = webhooks.check(
        settings.email_webhook_secret,
        signature,
        timestamp,
        raw,
        now,
        settings.webhook_max_age_seconds,
    )
    try:
        mail = EmailWebhook.model_validate(json.loads(raw or b"{}"))
    except (ValueError, ValidationError) as exc:
        if refused is not None:
            raise WebhookRefused(refused.value, "The webhook call is not trusted.") from exc
        raise BadPayload("invalid_payload", f"The inbound mail is not valid: {exc}") from exc
    headers = {name.lower(): value for name, value in mail.headers.items()}
    headers.setdefault("auto-submitted", mail.auto_submitted or "")
    rule = emails.automatic_rule(lambda name: headers.get(name.lower(), ""), mail.subject)
    if refused is None and settings.require_dmarc and mail.dmarc != "pass":
        refused = Reason.dmarc_not_passed
    reply = Reply(
        channel=Channel.email,
        sender=mail.from_,
        envelope_sender=None,
        subject=mail.subject,
        body=mail.text,
        new_text=replytext.new_text(mail.text),
        message_id=mail.message_id,
        automatic=rule is not None,
        dmarc=mail.dmarc,
        received_at=now,
        refused=refused,
        to_complaints=submissions.names_us(mail.to, settings.complaints_address),
        sender_name=parseaddr(mail.from_)[0].strip()[:200] or None,
        signature=None if refused or signature is None else signature.strip().lower(),
    )
    return _answer(await receive_reply(rt, reply))
