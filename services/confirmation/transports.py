"""The gateways a question goes out through: SMTP, the SMS provider's HTTP API, and the
front end's delivery webhook for web/chat links.

Each returns None once the gateway accepted the message, else the error to retry on.
"""

from typing import Any

import httpx
from sqlalchemy import Row

from services.confirmation import emails
from services.confirmation.settings import ConfirmationSettings
from shared.sending import SmtpServer, post_signed, send_mail


async def post_link(
    settings: ConfirmationSettings, hook: Row[Any] | None, body: bytes
) -> str | None:
    """POST the signed link to the front end's webhook; only a 2xx answer delivers it."""
    if hook is None:
        return "no_delivery_webhook: no front end has registered one for this channel"
    error = await post_signed(hook.url, hook.secret, body, settings.delivery_timeout_seconds)
    return None if error is None else f"delivery {error}"


async def send_sms(settings: ConfirmationSettings, message: Row[Any]) -> str | None:
    form = {"To": message.recipient, "From": settings.sms_from, "Body": message.body}
    url = f"{settings.sms_gateway_url.rstrip('/')}/Messages"
    try:
        async with httpx.AsyncClient(timeout=settings.smtp_timeout) as client:
            response = await client.post(
                url, data=form, auth=(settings.sms_account, settings.sms_token)
            )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return f"gateway answered {response.status_code}: {response.text[:500]}"
    return None


async def send_email(settings: ConfirmationSettings, message: Row[Any]) -> str | None:
    email_message = emails.build_message(
        sender=settings.smtp_from,
        reply_to=settings.reply_address,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        message_id=message.message_id,
    )
    raw, utf8 = emails.wire_bytes(email_message)
    server = SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        use_tls=settings.smtp_use_tls,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout,
    )
    sender = emails.address_of(settings.smtp_from)
    return await send_mail(server, raw, sender, [message.recipient], utf8)
