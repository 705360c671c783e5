"""The console against the running system, as `make run` starts it: sign-in, CSRF, the owner's
queue and case actions, the department's tasks, and what each role may open."""

import asyncio
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.console import accounts
from shared.auth import mint_token
from shared.db import make_engine
from tests.support.infra import broker_users, delete_broker_objects, grant_topics, run_id
from tests.support.launcher import ROOT, SERVICES
from tests.support.launcher import stop as _stop
from tests.support.launcher import wait_ready as _wait_ready
from tests.support.mail import MailSink, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
PASSWORD = "demo-" + secrets.token_urlsafe(12)


class Console:
    def __init__(self, url: str, urls: dict[str, str], secret: str, var: Path):
        self.url, self.urls, self.secret, self.var = url, urls, secret, var

    def service(self, name: str, role: str, subject: str) -> httpx.AsyncClient:
        token = mint_token(self.secret, role, subject)
        return httpx.AsyncClient(
            base_url=self.urls[name], headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def console(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    run = run_id()
    ports = {s: free_port() for s in [*SERVICES, "console"]}
    secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "APP_ENV": "test",
        "CONFIRMATION_QUIET_HOURS_ENABLED": "false",
        "AUTH_SECRET": secret,
        "CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32),
        "CONSOLE_DEMO_PASSWORD": PASSWORD,
        **broker_users(),
        "BUS_EXCHANGE": f"complaints.t{run}",
        "BUS_QUEUE_PREFIX": f"t{run}.",
        "VAR_DIR": str(tmp / "var"),
        "OUTBOX_POLL_SECONDS": "0.05",
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
    }
    async with AsyncExitStack() as stack:
        mail = stack.enter_context(MailSink())
        env |= {
            "CONFIRMATION_SMTP_PORT": str(mail.port),
            "CONFIRMATION_SMTP_LISTEN_PORT": str(free_port()),
        }
        stack.push_async_callback(
            delete_broker_objects, env["BUS_EXCHANGE"], env["BUS_QUEUE_PREFIX"], SERVICES
        )
        await grant_topics(env["BUS_EXCHANGE"])
        launcher = subprocess.Popen(
            [sys.executable, "scripts/run.py", "--no-mailsink"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, launcher)
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        await _wait_ready(launcher, {s: u for s, u in urls.items() if s != "console"})
        await _wait_ready_console(urls["console"])
        yield Console(urls["console"], urls, secret, tmp / "var")


async def _wait_ready_console(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the console did not start")


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = csrf_of(await browser.get("/signin"))
    return await browser.post(
        "/signin", data={"csrf_token": token, "username": username, "password": password}
    )


async def eventually(read: Any, check: Any, seconds: float = 20) -> Any:
    for _ in range(int(seconds / 0.2)):
        value = await read()
        if check(value):
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"never reached: last {value!r}")


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
