"""The public endpoints under hostile input: the service keeps answering and its consumers flow.

Each test sends what an attacker would (a 150 000-part mail, oversized and chunked bodies, a
flood of calls), and meanwhile measures /healthz and checks that a proposed resolution is
still turned into a question for the customer.
"""

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Any

import aiosmtplib
import httpx
import pytest

from services.confirmation import webhooks
from tests.support.confirmation import CUSTOMER, Harness, confirmation_service
from tests.support.env import Database, TestEnv
from tests.support.hostile_mail import many_parts, nested

TRUSTED_HOST = "mx.complaints.example"
# Generous: an idle /healthz answers in milliseconds; the old code stalled it for 100 s.
HEALTH_BOUND_SECONDS = 1.0


async def while_measuring(h: Harness, attack: Awaitable[Any]) -> tuple[Any, float, float]:
    """Run the attack; meanwhile ping /healthz and have a new proposal asked by email.

    Returns the attack's result, the slowest /healthz, and how long the question took.
    """
    attack_task = asyncio.ensure_future(attack)
    slowest = 0.0

    async def ping() -> None:
        nonlocal slowest
        while not attack_task.done():
            started = time.perf_counter()
            response = await h.client.get("/healthz")
            assert response.status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.02)

    pinger = asyncio.create_task(ping())
    await asyncio.sleep(0.05)  # the attack is under way
    started = time.perf_counter()
    complaint_id = await h.complaint()
    await h.propose(complaint_id)
    message, _ = await h.asked()
    asked_after = time.perf_counter() - started
    assert message["To"] == CUSTOMER
    result = await asyncio.wait_for(attack_task, 60)
    await pinger
    return result, slowest, asked_after


async def inbound(h: Harness, complaint_id: str) -> list[dict[str, Any]]:
    return list((await h.confirmations(complaint_id))["inbound"])


async def test_a_150k_part_mail_is_refused_without_stalling_the_service(
    env: TestEnv, database: Database
) -> None:
    async with confirmation_service(env, database) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        raw = many_parts(f"Re: {asked['Subject']}", CUSTOMER, 150_000)
        assert len(raw) > 4_500_000
        send = aiosmtplib.send(
            raw,
            sender=CUSTOMER,
            recipients=[h.settings.reply_address],
            hostname="127.0.0.1",
            port=h.settings.smtp_listen_port,
            timeout=60,
        )
        _, slowest, asked_after = await while_measuring(h, send)
        assert slowest < HEALTH_BOUND_SECONDS, slowest
        assert asked_after < 10, asked_after
        [refused] = await inbound(h, complaint_id)
        assert refused["reason"] == "too_many_parts" and refused["verdict"] == "rejected"
        # Deeply nested, and over the size the listener announces (SIZE), also refused.
        await aiosmtplib.send(
            nested(f"Re: {asked['Subject']}", CUSTOMER, 30),
            sender=CUSTOMER,
            recipients=[h.settings.reply_address],
            hostname="127.0.0.1",
            port=h.settings.smtp_listen_port,
        )
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
            await aiosmtplib.send(
                b"Subject: x\r\n\r\n" + b"y" * (h.settings.smtp_listen_max_bytes + 10),
                sender=CUSTOMER,
                recipients=[h.settings.reply_address],
                hostname="127.0.0.1",
                port=h.settings.smtp_listen_port,
            )
        assert too_big.value.code == 552
        reasons = [m["reason"] for m in await inbound(h, complaint_id)]
        assert reasons == ["too_many_parts", "too_deep"]
        assert (await h.confirmations(complaint_id))["requests"][0]["status"] == "pending"
        metrics = (await h.client.get("/metrics")).text
        assert 'confirmation_replies_refused_total{channel="email",reason="too_deep"}' in metrics


async def test_a_parse_over_its_time_is_refused(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database, mail_parse_timeout_seconds=0.0001) as h:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "Yes, resolved.")
        [refused] = await inbound(h, complaint_id)
    assert refused["reason"] == "parse_timeout"


async def test_oversized_bodies_are_refused_413_while_the_service_answers(
    env: TestEnv, database: Database
) -> None:
    big = b'{"from": "' + b"a" * (2 * 1024 * 1024) + b'"}'

    async def chunks() -> Any:
        for _ in range(40):
            yield b"a" * 65536

    async with confirmation_service(env, database) as h:

        async def flood() -> list[httpx.Response]:
            calls = [h.client.post("/v1/inbound/email", content=big) for _ in range(30)]
            calls += [h.client.post("/v1/inbound/sms", content=chunks()) for _ in range(5)]
            return list(await asyncio.gather(*calls))

        responses, slowest, _ = await while_measuring(h, flood())
        assert slowest < HEALTH_BOUND_SECONDS, slowest
        assert {r.status_code for r in responses} == {413}
        body = responses[0].json()["error"]
        assert body["code"] == "body_too_large" and body["max_bytes"] == 1024 * 1024
        assert responses[-1].json()["error"]["code"] == "body_too_large"  # chunked, no length
        # The page takes only a form: its limit is smaller; every other route has the default.
        page = await h.client.post("/c/" + "A" * 30, content=b"comment=" + b"x" * 40_000)
        assert page.status_code == 413
        webhook = await h.client.post("/v1/inbound/email", content=b"x" * 40_000)
        assert webhook.status_code == 401  # within the webhook's limit: read, and unsigned
        other = await h.client.post("/v1/confirmations", content=b"x" * (1024 * 1024 + 1))
        assert other.status_code == 413


async def test_each_source_is_rate_limited_with_retry_after(
    env: TestEnv, database: Database
) -> None:
    limits = {"page_rate_per_minute": 5, "webhook_rate_per_minute": 3, "smtp_rate_per_minute": 2}
    async with confirmation_service(env, database, **limits) as h:
        pages = [(await h.client.get("/c/" + "A" * 30)).status_code for _ in range(7)]
        assert pages == [410] * 5 + [429] * 2
        limited = await h.client.post("/c/" + "A" * 30, data={"answer": "yes"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        hooks = [(await h.client.post("/v1/inbound/email")).status_code for _ in range(4)]
        assert hooks == [401, 401, 401, 429]
        # Another address has its own allowance.
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=h.app, client=("203.0.113.9", 4000)),
            base_url="http://test",
        )
        async with other:
            assert (await other.get("/c/" + "A" * 30)).status_code == 410
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        await h.reply(asked, "No, still broken.")
        await h.reply(asked, "Still broken.")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await h.reply(asked, "Third in a minute.")
        assert refused.value.code == 450
        metrics = (await h.client.get("/metrics")).text
        assert 'confirmation_rate_limited_total{scope="smtp"}' in metrics


async def test_the_page_sends_security_headers(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h:
        response = await h.client.get("/c/" + "A" * 30)
    assert response.status_code == 410
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


async def test_automatic_replies_never_answer(env: TestEnv, database: Database) -> None:
    async with confirmation_service(env, database) as h, env.probe("confirmation.#") as probe:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        for headers in ({"Precedence": "bulk"}, {"X-Autoreply": "yes"}, {"List-Id": "<l.x>"}):
            await h.reply(asked, "Yes", headers=headers)
        await h.reply(asked, "Yes", subject=f"Automatic reply: {asked['Subject']}")
        view = await h.confirmations(complaint_id)
        assert [m["reason"] for m in view["inbound"]] == ["auto_reply"] * 4
        assert view["requests"][0]["status"] == "pending"
        await h.reply(asked, "Yes, resolved.")
        await probe.wait_for("confirmation.confirmed", complaint_id)


async def test_dmarc_is_required_from_the_trusted_host(env: TestEnv, database: Database) -> None:
    dmarc = {"email_require_dmarc": True, "email_trusted_authserv_id": TRUSTED_HOST}
    async with confirmation_service(env, database, **dmarc) as h, env.probe("confirmation.#") as p:
        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        forged = {"Authentication-Results": "evil.example; dmarc=pass"}
        failed = {"Authentication-Results": f"{TRUSTED_HOST}; dmarc=fail"}
        await h.reply(asked, "Yes")  # no verdict at all
        await h.reply(asked, "Yes", headers=forged)
        await h.reply(asked, "Yes", headers=failed)
        view = await h.confirmations(complaint_id)
        assert [m["reason"] for m in view["inbound"]] == ["dmarc_not_passed"] * 3
        assert view["requests"][0]["status"] == "pending"
        passed = {"Authentication-Results": f"{TRUSTED_HOST}; spf=pass; dmarc=pass"}
        await h.reply(asked, "Yes, resolved.", headers=passed)
        await p.wait_for("confirmation.confirmed", complaint_id)
        metrics = (await h.client.get("/metrics")).text
        assert 'reason="dmarc_not_passed"' in metrics


async def test_the_mail_webhook_carries_the_providers_dmarc_verdict(
    env: TestEnv, database: Database
) -> None:
    dmarc = {"email_require_dmarc": True, "email_trusted_authserv_id": TRUSTED_HOST}
    async with confirmation_service(env, database, **dmarc) as h:

        async def mail(payload: dict[str, Any]) -> httpx.Response:
            raw, stamp = json.dumps(payload).encode(), str(int(time.time()))
            signature = webhooks.sign(h.settings.email_webhook_secret, stamp, raw)
            headers = {webhooks.TIMESTAMP_HEADER: stamp, webhooks.SIGNATURE_HEADER: signature}
            return await h.client.post("/v1/inbound/email", content=raw, headers=headers)

        complaint_id = await h.complaint()
        await h.propose(complaint_id)
        asked, _ = await h.asked()
        reply = {"from": CUSTOMER, "subject": f"Re: {asked['Subject']}", "text": "Yes"}
        failed = await mail({**reply, "dmarc": "fail"})
        bulk = await mail({**reply, "dmarc": "pass", "headers": {"Precedence": "bulk"}})
        passed = await mail({**reply, "dmarc": "pass"})
    assert failed.json()["reason"] == "dmarc_not_passed"
    assert bulk.json()["reason"] == "auto_reply"
    assert passed.json()["verdict"] == "yes" and passed.json()["reason"] is None
