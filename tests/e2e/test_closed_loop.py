"""The closed loop across five real processes, real RabbitMQ, real SMTP, SQLite and PostgreSQL.

Only the customer's "yes", by email from the original address with the current token, closes.
"""

import uuid
from email.message import Message
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e.conversation_walks import (
    complain_by_email,
    escalate_to_the_current_lead,
    phone_then_email,
    talk_in_chinese,
)
from tests.e2e.probes import TOKEN, case_of, mentions, send, token_of, until, when
from tests.support.mail import reply

pytestmark = pytest.mark.e2e


async def test_complaint_is_closed_only_by_the_customers_yes_on_email(system: System) -> None:
    customer = f"ana.{uuid.uuid4().hex[:8]}@example.com"
    frontend = system.client("intake", "frontend", "desk-1")
    supervisor = system.client("ownership", "supervisor", "sam")
    watcher = system.client("confirmation", "supervisor", "sam")
    analyst = system.client("analytics", "analyst", "bi")
    try:
        await _walk_the_loop(system, customer, frontend, supervisor, watcher, analyst)
    except BaseException:
        print(system.logs())
        raise
    finally:
        for c in (frontend, supervisor, watcher, analyst):
            await c.aclose()


async def _walk_the_loop(
    system: System,
    customer: str,
    frontend: httpx.AsyncClient,
    supervisor: httpx.AsyncClient,
    watcher: httpx.AsyncClient,
    analyst: httpx.AsyncClient,
) -> None:
    created = await frontend.post(
        "/v1/complaints",
        json={
            "customer": {"name": "Ana Lima", "email": customer},
            "channel": "email",
            "contact": customer,
            "category": "billing",
            "product": "Credit card",
            "region": "CA",
            "description": "I was charged twice for one purchase and need the money back.",
        },
    )
    assert created.status_code == 201, created.text
    complaint_id = created.json()["id"]

    assigned = await until(
        lambda: when(
            case_of(supervisor, complaint_id), lambda c: c.get("owner_id") and c.get("priority")
        ),
        "case assigned and prioritised",
    )
    owner_id = assigned["owner_id"]
    # Before anything is proposed the customer hears that the case is opened, with no token.
    acknowledged = await system.mail.wait_for(customer)
    reference = created.json()["reference"]
    assert str(acknowledged["Subject"]) == (
        f"We have received your complaint {reference} [ref {reference}]"
    )
    assert not TOKEN.search(str(acknowledged["Subject"]))
    owner = system.client("ownership", "owner", owner_id)
    try:
        task = await owner.post(
            f"/v1/cases/{complaint_id}/tasks",
            json={
                "department": "finance",
                "type": "refund",
                "description": "Refund the double charge",
            },
        )
        assert task.status_code == 201, task.text
        assert task.json()["due_at"]
        finance = system.client("ownership", "department", "finance")
        done = await finance.post(f"/v1/tasks/{task.json()['id']}/complete")
        await finance.aclose()
        assert done.status_code == 200, done.text

        first = await owner.post(
            f"/v1/cases/{complaint_id}/resolution",
            json={"outcome": "resolved", "summary": "We refunded the duplicate charge of $42."},
        )
        assert first.status_code == 200, first.text
        mail = await system.mail.wait_for_question(customer)
        token = token_of(mail)
        body = mail.get_body(("plain",))
        assert body is not None
        assert "refunded the duplicate charge" in body.get_content()

        async def verdicts() -> list[str]:
            response = await watcher.get("/v1/confirmations", params={"complaint_id": complaint_id})
            return [m.get("reason") or m["verdict"] for m in response.json()["inbound"]]

        await send(
            system, reply(mail, "mallory@example.net", "yes, resolved"), "mallory@example.net"
        )
        await until(lambda: when(verdicts(), lambda v: "sender_mismatch" in v), "spoof recorded")
        await frontend.post(
            f"/v1/complaints/{complaint_id}/contacts",
            json={
                "channel": "phone",
                "contact": "+14155552671",
                "text": "Yes it is resolved, thanks",
            },
        )
        forged = str(mail["Subject"]).replace(token, "AAAAAAAAAAAAAA")
        await send(system, reply(mail, customer, "yes", subject=f"Re: {forged}"), customer)
        await until(lambda: when(verdicts(), lambda v: "unknown_token" in v), "bad token seen")
        await until(
            lambda: when(
                owner.get(f"/v1/cases/{complaint_id}/timeline"), mentions("Yes it is resolved")
            ),
            "follow-up on timeline",
        )
        assert (await case_of(supervisor, complaint_id))["status"] == "resolution_proposed"

        await send(system, reply(mail, customer, "No, the second charge is still there."), customer)
        reopened = await until(
            lambda: when(case_of(supervisor, complaint_id), lambda c: c["status"] == "reopened"),
            "reopened after no",
        )
        assert reopened["owner_id"] == owner_id and reopened["reopen_count"] == 1

        again = await owner.post(
            f"/v1/cases/{complaint_id}/resolution",
            json={"outcome": "resolved", "summary": "The second charge is now reversed as well."},
        )
        assert again.status_code == 200, again.text
        second = await system.mail.wait_for_question(customer, count=2)
        assert token_of(second) != token
        await send(system, reply(mail, customer, "yes"), customer)
        await until(lambda: when(verdicts(), lambda v: "token_used" in v), "used token refused")
        assert (await case_of(supervisor, complaint_id))["status"] == "resolution_proposed"

        await send(system, reply(second, customer, "Yes, all sorted now. Thank you!"), customer)
        closed = await until(
            lambda: when(case_of(supervisor, complaint_id), lambda c: c["status"] == "closed"),
            "closed",
        )
        assert closed["owner_id"] == owner_id and closed["outcome"] == "resolved"

        # After the yes, one question on the same channel; the answer is kept, not a reopening.
        async def survey() -> list[Message]:
            return [m for m in system.mail.to(customer) if "How did we do" in str(m["Subject"])]

        [asked] = await until(survey, "the satisfaction question sent")
        answer = "4 - quick once the right person had it"
        await send(system, reply(asked, customer, answer), customer)

        async def rated() -> list[dict[str, Any]]:
            timeline = await supervisor.get(f"/v1/cases/{complaint_id}/timeline")
            return [e for e in timeline.json()["entries"] if e["kind"] == "satisfaction_given"]

        [given] = await until(rated, "the answer on the timeline")
        assert given["detail"]["score"] == 4
        assert (await case_of(supervisor, complaint_id))["status"] == "closed"
    finally:
        await owner.aclose()

    async def email_kpis() -> dict[str, Any]:
        body = (await analyst.get("/v1/kpis", params={"group_by": "channel"})).json()
        return next((g for g in body.get("groups", []) if g["key"] == "email"), {})

    kpis = await until(
        lambda: when(email_kpis(), lambda k: k.get("closed_confirmed") == 1),
        "KPIs show the confirmed closure",
    )
    assert kpis["received"] == 1
    assert kpis["rejected_resolutions"] == 1
    assert kpis["reopen_rate"] == 1.0
    assert kpis["median_hours_to_confirmation"] is not None
    rated_kpis = await until(
        lambda: when(email_kpis(), lambda k: k.get("satisfaction_answers") == 1),
        "KPIs show the satisfaction answer",
    )
    assert rated_kpis["satisfaction_average"] == 4.0 and rated_kpis["satisfied_share"] == 1.0
    await complain_by_email(system, supervisor)
    await phone_then_email(system, frontend, supervisor)
    await talk_in_chinese(system, frontend, supervisor)
    await escalate_to_the_current_lead(system, frontend, supervisor)
