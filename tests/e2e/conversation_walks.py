# ruff: noqa: RUF001  (Chinese punctuation is full-width by design)
"""Walks of the end-to-end system, each a customer's or a supervisor's story on the running
services: a complaint by email, by phone then email, in Chinese, and an escalation that follows
the case to its current team. Each starts from nothing but its own new customer."""

import asyncio
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.escalation.models import case_owners
from tests.e2e.conftest import System
from tests.e2e.probes import REFERENCE, case_of, entries, send, text_of, until, when
from tests.support.mail import reply


async def complain_by_email(system: System, supervisor: httpx.AsyncClient) -> None:
    """A complaint mailed to the complaints address over SMTP is owned and acknowledged by mail;
    the customer's second mail joins it."""
    customer = f"bo.{uuid.uuid4().hex[:8]}@example.com"
    message = EmailMessage()
    message["From"] = f"Bo Chen <{customer}>"
    message["To"] = "complaints@complaints.localhost"
    message["Subject"] = "Card blocked abroad"
    message.set_content("My card was blocked in Lisbon and the hotline did not answer.")
    await send(system, message, customer)
    acknowledged = await system.mail.wait_for(customer)
    reference = REFERENCE.search(str(acknowledged["Subject"]))
    assert reference, acknowledged["Subject"]

    async def by_reference() -> dict[str, Any]:
        listed = (await supervisor.get("/v1/cases", params={"limit": 500})).json()["items"]
        return next((c for c in listed if c["reference"] == reference.group(0)), {})

    owned = await until(
        lambda: when(by_reference(), lambda c: c.get("owner_id")), "emailed case owned"
    )
    assert owned["channel"] == "email"
    again = EmailMessage()
    again["From"], again["To"], again["Subject"] = customer, message["To"], "Still blocked"
    again.set_content("Still blocked this morning.")
    await send(system, again, customer)
    [joined] = await until(
        lambda: entries(supervisor, owned["id"], "contact_added"), "the second mail on the case"
    )
    assert "Still blocked" in joined["detail"]["text"]


async def phone_then_email(
    system: System, frontend: httpx.AsyncClient, supervisor: httpx.AsyncClient
) -> None:
    """Keyed in from a call, then the customer emails the complaints address: one case."""
    customer = f"cy.{uuid.uuid4().hex[:8]}@example.com"
    phoned = await frontend.post(
        "/v1/complaints",
        json={
            "customer": {"name": "Cy Diaz", "email": customer, "phone": "+1 415 555 0142"},
            "channel": "phone",
            "contact": "+1 415 555 0142",
            "category": "billing",
            "product": "Checking account",
            "description": "An overdraft fee was charged although the balance was positive.",
        },
    )
    assert phoned.status_code == 201, phoned.text
    case_id = phoned.json()["id"]

    owned = await until(
        lambda: when(case_of(supervisor, case_id), lambda c: c.get("owner_id")), "phoned case owned"
    )
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = customer, "complaints@complaints.localhost", "Fee"
    mail.set_content("I called yesterday about the overdraft fee: nothing has happened since.")
    await send(system, mail, customer)
    [entry] = await until(
        lambda: entries(supervisor, case_id, "contact_added"), "the email on the phoned case"
    )
    assert entry["detail"]["channel"] == "email" and "called yesterday" in entry["detail"]["text"]
    await asyncio.sleep(1.0)  # room for a second case, were one wrongly opened
    listed = (await supervisor.get("/v1/cases", params={"limit": 500})).json()["items"]
    assert [c for c in listed if c["created_at"] > owned["created_at"]] == []


async def talk_in_chinese(
    system: System, frontend: httpx.AsyncClient, supervisor: httpx.AsyncClient
) -> None:
    """A complaint written in Chinese, with no language given: every message to the customer is
    in Chinese; the owner's message and the customer's answer are on the timeline; the
    customer's 是 closes it."""
    customer = f"li.{uuid.uuid4().hex[:8]}@example.cn"
    created = await frontend.post(
        "/v1/complaints",
        json={
            "customer": {"name": "李娜", "email": customer},
            "channel": "email",
            "contact": customer,
            "category": "delivery",
            "product": "Debit card",
            "description": "我的新借记卡两个星期了还没有寄到，客服电话一直打不通。",
        },
    )
    assert created.status_code == 201, created.text
    case_id, reference = created.json()["id"], created.json()["reference"]
    acknowledged = await system.mail.wait_for(customer)
    assert str(acknowledged["Subject"]) == f"我们已收到您的投诉 {reference} [ref {reference}]"
    assert "您无需再次重复您的情况" in text_of(acknowledged)

    owned = await until(
        lambda: when(case_of(supervisor, case_id), lambda c: c.get("owner_id")),
        "Chinese case owned",
    )
    owner = system.client("ownership", "owner", owned["owner_id"])
    try:
        asked = "请问您的邮寄地址是否仍是上海市徐汇区？"
        sent = await owner.post(
            f"/v1/cases/{case_id}/messages", json={"template": "need_information", "text": asked}
        )
        assert sent.status_code == 201, sent.text
        written = await system.mail.wait_for(customer, count=2)
        assert str(written["Subject"]) == f"关于您的投诉 {reference} [ref {reference}]"
        assert "我们需要您提供一些信息" in text_of(written) and asked in text_of(written)
        answer = "地址没有变，还是徐汇区漕溪北路。"
        await send(system, reply(written, customer, answer), customer)
        [contact] = await until(
            lambda: entries(owner, case_id, "contact_added"), "the answer on the timeline"
        )
        assert contact["detail"]["text"] == answer
        [message] = await entries(owner, case_id, "message_sent")
        assert message["detail"]["text"] == asked

        proposed = await owner.post(
            f"/v1/cases/{case_id}/resolution",
            json={"outcome": "resolved", "summary": "新卡已于今天用顺丰快递寄出，单号 SF1234567。"},
        )
        assert proposed.status_code == 200, proposed.text
        question = await system.mail.wait_for_question(customer)
        assert str(question["Subject"]).startswith(f"您的投诉 {reference} 是否已解决？")
        assert "如已解决，请回复“是”（YES）" in text_of(question)
        # 收到了 is as often "your message arrived" as "the card arrived": it closes nothing.
        await send(system, reply(question, customer, "收到了，谢谢"), customer)
        await until(lambda: _verdicts(system, case_id, "unclear"), "the ambiguous reply read")
        assert (await case_of(supervisor, case_id))["status"] == "resolution_proposed"
        await send(system, reply(question, customer, "是的，已经解决了，谢谢！"), customer)
        closed = await until(
            lambda: when(case_of(supervisor, case_id), lambda c: c["status"] == "closed"), "closed"
        )
        assert closed["outcome"] == "resolved"
    finally:
        await owner.aclose()


async def escalate_to_the_current_lead(
    system: System, frontend: httpx.AsyncClient, supervisor: httpx.AsyncClient
) -> None:
    """A billing case handed over to the delivery team breaches its SLA: the escalation mails
    the delivery team's lead, not billing's, and is on the case's timeline."""
    admin = system.client("ownership", "admin", "root")
    escalation = system.client("escalation", "supervisor", "sam")
    try:
        # A P1 case is due at once from now on; the case below is planned as P3 first.
        policy = {"hours": {"P1": 0.0003, "P2": 16, "P3": 40, "P4": 80}, "warning_fraction": 0.75}
        changed = await admin.put("/v1/sla-policy", json=policy)
        assert changed.status_code == 200, changed.text
        customer = f"di.{uuid.uuid4().hex[:8]}@example.com"
        created = await frontend.post(
            "/v1/complaints",
            json={
                "customer": {"name": "Di Okoro", "email": customer},
                "channel": "email",
                "contact": customer,
                "category": "billing",
                "product": "Credit card",
                "description": "The statement shows a late fee for a payment I made on time.",
            },
        )
        assert created.status_code == 201, created.text
        case_id, reference = created.json()["id"], created.json()["reference"]

        owned = await until(
            lambda: when(
                case_of(supervisor, case_id), lambda c: c.get("owner_id") and c.get("priority")
            ),
            "owned",
        )
        assert owned["priority"] != "P1" and owned["team"] == "billing", owned
        handed = await supervisor.post(
            f"/v1/cases/{case_id}/reassign",
            json={"to_owner_id": "dave", "reason": "The late fee came from a card transfer."},
        )
        assert handed.status_code == 200, handed.text
        await until(lambda: _team_known(system, case_id, "delivery"), "escalation sees the team")

        override = {"priority": "P1", "reason": "The customer's card is blocked by the fee."}
        raised = await escalation.put(f"/v1/priorities/{case_id}", json=override)
        assert raised.status_code == 200, raised.text

        lead = await system.mail.wait_for("nadia@bank.example", timeout=30)
        assert "team's lead" in str(lead["Subject"]) and case_id in text_of(lead)
        # The warning and the breach both reach the lead: the team's lead at the time, nadia.
        listed = await until(
            lambda: when(
                escalation.get("/v1/escalations", params={"case_id": case_id}),
                lambda body: [e for e in body["items"] if e["step"] == "team_lead"],
            ),
            "the team-lead step listed",
        )
        steps = [e for e in listed["items"] if e["step"] == "team_lead"]
        assert {e["recipient"] for e in steps} == {"nadia"}
        escalated = await until(
            lambda: entries(supervisor, case_id, "escalated"), "the escalation on the timeline"
        )
        assert "nadia" in [e["detail"]["to"] for e in escalated]
        await asyncio.sleep(0.5)  # room for a wrong mail to the old team's lead
        assert not [m for m in system.mail.to("maria@bank.example") if reference in str(m)]
        assert not [m for m in system.mail.to("maria@bank.example") if case_id in str(m)]
    finally:
        await admin.aclose()
        await escalation.aclose()


async def _verdicts(system: System, case_id: str, verdict: str) -> bool:
    async with system.client("confirmation", "supervisor", "sam") as watcher:
        answer = await watcher.get("/v1/confirmations", params={"complaint_id": case_id})
    return verdict in [m["verdict"] for m in answer.json()["inbound"]]


async def _team_known(system: System, case_id: str, team: str) -> bool:
    engine = create_async_engine(system.databases["escalation"])
    try:
        async with engine.connect() as conn:
            known = await conn.scalar(
                select(case_owners.c.team).where(case_owners.c.case_id == case_id)
            )
    finally:
        await engine.dispose()
    return known == team
