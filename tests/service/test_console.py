"""The console against the running system, as `make run` starts it: sign-in, CSRF, the owner's
queue and case actions, the department's tasks, and what each role may open."""

import asyncio
import re
import uuid

import pytest

from services.console import accounts
from shared.db import make_engine
from tests.support.console_system import PASSWORD, Console, csrf_of, eventually, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


async def test_wrong_password_is_refused_and_a_form_without_csrf_is_forbidden(
    console: Console,
) -> None:
    async with console.browser() as browser:
        refused = await sign_in(browser, "alice", "not-the-password")
        assert refused.status_code == 401 and "Wrong username or password" in refused.text
        assert (await browser.get("/queue")).status_code == 303  # still signed out
        no_csrf = await browser.post("/signin", data={"username": "alice", "password": PASSWORD})
        assert no_csrf.status_code == 403
        signed = await sign_in(browser, "alice", PASSWORD)
        assert signed.status_code == 303 and signed.headers["location"] == "/queue"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        forged = await browser.post("/signout", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert (await browser.get("/queue")).status_code == 200  # the forgery did nothing


async def test_owner_works_a_new_complaint_and_the_department_completes_its_task(
    console: Console,
) -> None:
    email = f"ana.{uuid.uuid4().hex[:8]}@example.com"
    async with (
        console.service("intake", "frontend", "desk-1") as intake,
        console.service("ownership", "supervisor", "sam") as ownership,
    ):
        created = await intake.post(
            "/v1/complaints",
            json={
                "customer": {"name": "Ana Lima", "email": email},
                "channel": "email",
                "contact": email,
                "category": "billing",
                "product": "Credit card",
                "region": "CA",
                "description": "I was charged twice for one purchase.",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert created.status_code in (200, 201, 202), created.text
        case_id, reference = created.json()["id"], created.json()["reference"]
        case = await eventually(
            lambda: ownership.get(f"/v1/cases/{case_id}"),
            lambda r: r.status_code == 200 and r.json()["owner_id"],
        )
        owner = case.json()["owner_id"]
        engine = make_engine(f"sqlite+aiosqlite:///{console.var / 'console.db'}")
        try:
            await accounts.upsert(engine, f"o-{owner}", PASSWORD, "owner", owner, owner)
        finally:
            await engine.dispose()

        async with console.browser() as browser:
            await sign_in(browser, f"o-{owner}", PASSWORD)
            queue = await browser.get("/queue")
            assert queue.status_code == 200 and reference in queue.text
            page = await browser.get(f"/cases/{case_id}")
            assert "Propose a resolution" in page.text and "received" in page.text
            token = csrf_of(page)
            unknown = await browser.post(
                f"/cases/{case_id}/tasks",
                data={
                    "csrf_token": token,
                    "department": "finance",
                    "type": "nonsense",
                    "description": "x",
                },
                follow_redirects=True,
            )
            assert unknown.status_code == 200 and 'class="flash error"' in unknown.text
            asked = await browser.post(
                f"/cases/{case_id}/tasks",
                data={
                    "csrf_token": token,
                    "department": "finance",
                    "type": "refund",
                    "description": "Refund the second charge.",
                },
                follow_redirects=True,
            )
            assert asked.status_code == 200 and "Refund the second charge." in asked.text
            written = await browser.post(
                f"/cases/{case_id}/message",
                data={
                    "csrf_token": token,
                    "template": "update",
                    "text": "Finance is refunding the second charge.",
                },
                follow_redirects=True,
            )
            assert written.status_code == 200 and "message_sent" in written.text
            assert "Finance is refunding the second charge." in written.text

            async with console.browser() as finance:
                await sign_in(finance, "finance", PASSWORD)
                tasks = await finance.get("/tasks")
                assert "Refund the second charge." in tasks.text
                task_id = (await ownership.get(f"/v1/cases/{case_id}/tasks")).json()["items"][0][
                    "id"
                ]
                done = await finance.post(
                    f"/tasks/{task_id}/complete",
                    data={"csrf_token": csrf_of(tasks), "note": "Refunded 42.00"},
                )
                assert done.status_code == 303
            listed = (await ownership.get(f"/v1/cases/{case_id}/tasks")).json()["items"]
            assert listed[0]["status"] == "completed" and listed[0]["note"] == "Refunded 42.00"

            await eventually(
                lambda: ownership.get(f"/v1/cases/{case_id}"),
                lambda r: r.json()["status"] == "in_progress",
            )
            page = await browser.get(f"/cases/{case_id}")
            proposed = await browser.post(
                f"/cases/{case_id}/resolution",
                data={
                    "csrf_token": csrf_of(page),
                    "outcome": "resolved",
                    "summary": "We refunded the second charge.",
                },
                follow_redirects=True,
            )
            assert proposed.status_code == 200 and "resolution_proposed" in proposed.text
            assert "Ask the customer again" in proposed.text
        state = (await ownership.get(f"/v1/cases/{case_id}")).json()
        assert state["status"] == "resolution_proposed"
        assert state["resolution_summary"] == "We refunded the second charge."

        async with console.browser() as analyst:
            await sign_in(analyst, "bi", PASSWORD)
            assert (await analyst.get(f"/cases/{case_id}")).status_code == 403
            assert (await analyst.get("/queue")).status_code == 403
            page = await analyst.get("/signin")
            attempt = await analyst.post(
                f"/cases/{case_id}/withdraw",
                data={"csrf_token": csrf_of(page), "reason": "not mine"},
            )
            assert attempt.status_code == 403
        unchanged = (await ownership.get(f"/v1/cases/{case_id}")).json()
        assert unchanged["status"] == "resolution_proposed"


async def test_supervisor_board_incidents_analyst_charts_and_auditor_pages(
    console: Console,
) -> None:
    async with console.service("ownership", "supervisor", "sam") as ownership:
        open_cases = (await ownership.get("/v1/cases?open=true")).json()["items"]
    assert open_cases  # the previous test's case is still open
    async with console.browser() as supervisor:
        await sign_in(supervisor, "sam", PASSWORD)
        board = await supervisor.get("/board")
        assert board.status_code == 200
        owner = open_cases[0]["owner_id"]
        row = re.search(
            rf"<td>{open_cases[0]['team']}</td><td>{owner}</td><td>(\d+)</td>", board.text
        )
        assert row and int(row.group(1)) == sum(c["owner_id"] == owner for c in open_cases)
        incidents = await supervisor.get("/incidents?status=open")
        assert incidents.status_code == 200 and "Incidents" in incidents.text
    async with console.browser() as analyst:
        await sign_in(analyst, "bi", PASSWORD)
        charts = await analyst.get("/kpis?group_by=channel")
        assert charts.status_code == 200 and "客户确认关闭" in charts.text  # bi reads Chinese
        assert 'class="bar"' in charts.text and "<span>email</span>" in charts.text
        assert 'href="/kpis.csv?group_by=channel"' in charts.text
        download = await analyst.get("/kpis.csv", params={"group_by": "channel"})
        assert download.headers["content-type"].startswith("text/csv")
        header, *rows = download.text.splitlines()
        assert header.startswith("channel,received,") and rows[-1].startswith("(all),")
        assert any(r.startswith("email,") for r in rows)
        assert (await analyst.get("/board")).status_code == 403
    async with console.browser() as auditor:
        await sign_in(auditor, "irene", PASSWORD)
        audits = await auditor.get("/audits")
        assert audits.status_code == 200 and "Audits" in audits.text


async def test_supervisor_overrides_a_priority_and_reads_the_escalations(
    console: Console,
) -> None:
    async with console.service("ownership", "supervisor", "sam") as ownership:
        open_cases = (await ownership.get("/v1/cases?open=true")).json()["items"]
    case = open_cases[0]
    target = "P1" if case["priority"] != "P1" else "P4"
    async with console.browser() as supervisor:
        await sign_in(supervisor, "sam", PASSWORD)
        page = await supervisor.get(f"/cases/{case['id']}")
        assert "Override the priority" in page.text
        token = csrf_of(page)
        refused = await supervisor.post(
            f"/cases/{case['id']}/priority",
            data={"csrf_token": token, "priority": "P0", "reason": "urgent"},
        )
        assert refused.status_code == 303
        assert "validation_error" in (await supervisor.get(f"/cases/{case['id']}")).text
        done = await supervisor.post(
            f"/cases/{case['id']}/priority",
            data={"csrf_token": token, "priority": target, "reason": "The customer is unwell."},
        )
        assert done.status_code == 303
        async with console.service("ownership", "supervisor", "sam") as ownership:
            await eventually(
                lambda: ownership.get(f"/v1/cases/{case['id']}"),
                lambda r: r.json()["priority"] == target,
            )
        shown = await supervisor.get(f"/cases/{case['id']}")
        assert "overridden by sam: The customer is unwell." in shown.text
        listed = await supervisor.get(f"/escalations?case_id={case['id']}")
        assert listed.status_code == 200 and "Escalations" in listed.text
        assert "Link to a case" in shown.text
        unknown = await supervisor.post(
            f"/cases/{case['id']}/link",
            data={"csrf_token": token, "case_id": "no-such-case", "reason": "same matter"},
            follow_redirects=True,
        )
        assert "case_not_found" in unknown.text
        merged = await supervisor.post(
            f"/cases/{case['id']}/merge",
            data={"csrf_token": token, "into": case["id"], "reason": "itself"},
            follow_redirects=True,
        )
        assert "same_case" in merged.text or "invalid_transition" in merged.text
    async with console.browser() as owner:
        await sign_in(owner, "alice", PASSWORD)
        forbidden = await owner.post(
            f"/cases/{case['id']}/priority",
            data={"csrf_token": csrf_of(await owner.get("/escalations")), "priority": "P1"},
        )
        assert forbidden.status_code == 403
        assert (await owner.get("/escalations")).status_code == 200


async def _burst(console: Console) -> str:
    """Ordinary complaints about four products in four regions, then a burst about one product
    in one region, posted through intake as the front ends do; the incident escalation raises."""
    products, regions = ("Kettle K1", "Kettle K2", "Toaster T1", "Blender B1"), "CA OR NV WA"
    keys = [(p, r) for p in products for r in regions.split()] * 3 + [("Kettle K1", "CA")] * 30
    async with console.service("intake", "frontend", "desk-1") as intake:

        async def post(n: int, product: str, region: str) -> None:
            email = f"burst.{n}.{uuid.uuid4().hex[:6]}@example.com"
            body = {
                "customer": {"name": f"Customer {n}", "email": email},
                "channel": "email",
                "contact": email,
                "category": "appliances",
                "product": product,
                "region": region,
                "description": f"My {product} stopped working after a week.",
            }
            answer = await intake.post("/v1/complaints", json=body)
            assert answer.status_code == 201, answer.text

        for start in range(0, len(keys), 13):
            chunk = keys[start : start + 13]
            await asyncio.gather(*(post(start + i, p, r) for i, (p, r) in enumerate(chunk)))
    async with console.service("escalation", "supervisor", "sam") as escalation:
        listed = await eventually(
            lambda: escalation.get("/v1/incidents"),
            lambda r: any(i["pattern"].get("product") == "Kettle K1" for i in r.json()),
            seconds=60,
        )
    return next(i["id"] for i in listed.json() if i["pattern"].get("product") == "Kettle K1")


async def test_supervisor_works_an_incident_into_a_problem_with_its_cause_and_actions(
    console: Console,
) -> None:
    incident_id = await _burst(console)
    async with console.browser() as supervisor:
        await sign_in(supervisor, "sam", PASSWORD)
        listed = await supervisor.get("/incidents")
        assert f'href="/incidents/{incident_id}"' in listed.text
        page = await supervisor.get(f"/incidents/{incident_id}")
        assert page.status_code == 200 and "Kettle K1" in page.text and "IS NOT" in page.text
        assert "Confirm the incident" in page.text and "/cases/" in page.text
        token = csrf_of(page)
        confirmed = await supervisor.post(
            f"/incidents/{incident_id}/confirm", data={"csrf_token": token}, follow_redirects=True
        )
        assert "confirmed" in confirmed.text and "Confirm the incident" not in confirmed.text
        again = await supervisor.post(
            f"/incidents/{incident_id}/confirm", data={"csrf_token": token}, follow_redirects=True
        )
        assert "incident_not_open" in again.text  # confirmed once; a false alarm may be dismissed
        assert "Dismiss as a false alarm" in again.text

        untitled = await supervisor.post(
            f"/incidents/{incident_id}/problem", data={"csrf_token": token, "title": ""}
        )
        assert untitled.headers["location"] == f"/incidents/{incident_id}"
        opened = await supervisor.post(
            f"/incidents/{incident_id}/problem",
            data={"csrf_token": token, "title": "Kettle K1 seals fail in California"},
        )
        problem_path = opened.headers["location"]
        assert problem_path.startswith("/problems/"), opened.headers
        problem = await supervisor.get(problem_path)
        assert "Kettle K1 seals fail in California" in problem.text
        assert "No root cause recorded yet." in problem.text
        analysis = {
            "csrf_token": token,
            "categories": "material, method",
            "why_chain": "Kettles leak\nThe seal cracks\nA new supplier's seals",
            "cause_0": "Hard water",
            "explains_is_0": "on",
            "cause_1": "New seal supplier for the CA warehouse",
            "explains_is_1": "on",
            "explains_is_not_1": "on",
        }
        untested = await supervisor.post(
            f"{problem_path}/analysis", data={**analysis, "chosen": "0"}, follow_redirects=True
        )
        assert "cause_not_tested" in untested.text and "No root cause recorded" in untested.text
        recorded = await supervisor.post(
            f"{problem_path}/analysis", data={**analysis, "chosen": "1"}, follow_redirects=True
        )
        assert "New seal supplier for the CA warehouse" in recorded.text
        assert "No root cause recorded yet." not in recorded.text

        action = {"csrf_token": token, "kind": "corrective", "owner_id": "sam"}
        undated = await supervisor.post(
            f"{problem_path}/actions",
            data={**action, "description": "Recall the batch", "due_at": "soon"},
            follow_redirects=True,
        )
        assert "due_at" in undated.text and "Recall the batch" not in undated.text
        added = await supervisor.post(
            f"{problem_path}/actions",
            data={**action, "description": "Recall the batch", "due_at": "2030-01-31T17:00"},
            follow_redirects=True,
        )
        assert "Recall the batch" in added.text and "2030-01-31 17:00 UTC" in added.text
        action_id = re.search(r'/actions/([0-9a-f-]{36})/complete"', added.text)
        assert action_id, added.text
        done = await supervisor.post(
            f"{problem_path}/actions/{action_id.group(1)}/complete",
            data={"csrf_token": token, "completed_at": ""},
            follow_redirects=True,
        )
        assert "Mark done" not in done.text and "Measure the effect now" in done.text
        early = await supervisor.post(
            f"{problem_path}/verify", data={"csrf_token": token}, follow_redirects=True
        )
        assert "verification_period_not_over" in early.text
        assert problem_path in (await supervisor.get("/problems")).text

    async with console.browser() as analyst:
        await sign_in(analyst, "bi", PASSWORD)
        read = await analyst.get(f"/incidents/{incident_id}")
        assert read.status_code == 200 and "Confirm the incident" not in read.text
        refused = await analyst.post(
            f"/incidents/{incident_id}/dismiss", data={"csrf_token": csrf_of(read)}
        )
        assert refused.status_code == 403
        assert (await analyst.get(problem_path)).status_code == 200


async def test_supervisor_finds_a_complaint_and_the_team_writes_internal_notes(
    console: Console,
) -> None:
    async with console.service("ownership", "supervisor", "sam") as ownership:
        tasks = (await ownership.get("/v1/tasks", params={"department": "finance"})).json()
        case_id = tasks["items"][0]["case_id"]  # the first test's case, asked of finance
        case = (await ownership.get(f"/v1/cases/{case_id}")).json()
    async with console.browser() as supervisor:
        await sign_in(supervisor, "sam", PASSWORD)
        by_reference = await supervisor.get("/search", params={"q": case["reference"].lower()})
        assert f'href="/cases/{case_id}"' in by_reference.text
        by_name = await supervisor.get("/search", params={"q": "ana lim"})
        assert f'href="/cases/{case_id}"' in by_name.text
        by_words = await supervisor.get("/search", params={"q": "charged twice", "kind": "text"})
        assert f'href="/cases/{case_id}"' in by_words.text
        nothing = await supervisor.get("/search", params={"q": "no such customer anywhere"})
        assert "Nothing found." in nothing.text
        too_short = await supervisor.get("/search", params={"q": "x", "kind": "name"})
        assert too_short.status_code == 200 and 'role="alert"' in too_short.text

        page = await supervisor.get(f"/cases/{case_id}")
        note = "Customer called again; wants a call back before Friday."
        added = await supervisor.post(
            f"/cases/{case_id}/notes",
            data={"csrf_token": csrf_of(page), "text": note},
            follow_redirects=True,
        )
        assert note in added.text
    async with console.browser() as department:
        await sign_in(department, "finance", PASSWORD)
        read = await department.get(f"/cases/{case_id}")
        assert read.status_code == 200 and note in read.text
        assert "Add the note" not in read.text and "Propose a resolution" not in read.text
        refused = await department.post(
            f"/cases/{case_id}/notes", data={"csrf_token": csrf_of(read), "text": "hi"}
        )
        assert refused.status_code == 403
    async with console.service("ownership", "frontend", "desk-1") as front_end:
        kinds = [
            e["kind"]
            for e in (await front_end.get(f"/v1/cases/{case_id}/timeline")).json()["entries"]
        ]
        assert "note" not in kinds
