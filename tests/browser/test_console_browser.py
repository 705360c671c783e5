"""The console in a real headless Chromium, against the five services started as `make run`
starts them, clicking and typing as the people who work in it do.

An owner finds a new complaint in the queue, asks finance, finance completes the task, the owner
proposes, the customer's yes arrives by email and the owner sees the case closed, while the
analyst's charts move; a supervisor sees a breach on the SLA board and an incident's IS / IS NOT.
Every page passes axe-core with no serious or critical violation, and a full-page screenshot of
each is kept (tests/support/browser.py; UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiosmtplib
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect

from services.console import accounts
from shared.db import make_engine
from tests.support.browser import Pages, chromium, new_person, tab_to
from tests.support.console_system import PASSWORD, Console, eventually
from tests.support.mail import reply

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pages(console: Console) -> AsyncIterator[Pages]:
    kept = Pages(console.var / "screenshots")
    yield kept
    kept.publish()
    print(f"screenshots and axe-report.json in {kept.directory}")


async def complain(intake: httpx.AsyncClient, **values: Any) -> dict[str, Any]:
    """A complaint from a front end, by email from a customer of its own."""
    email = values.pop("email", None) or f"c.{uuid.uuid4().hex[:10]}@example.com"
    body = {
        "customer": {"name": values.pop("name", "Lee Chen"), "email": email},
        "channel": "email",
        "contact": email,
        "category": "billing",
        "product": "Credit card",
        "region": "CA",
        "description": "I was charged twice for one purchase.",
        **values,
    }
    created = await intake.post(
        "/v1/complaints", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def assigned(ownership: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    found = await eventually(
        lambda: ownership.get(f"/v1/cases/{case_id}"),
        lambda r: r.status_code == 200 and r.json()["owner_id"] and r.json()["priority"],
    )
    return dict(found.json())


async def account_for_owner(console: Console, owner: str) -> str:
    """The demo account of the case's owner (alice, maria), or one made for them."""
    if owner in ("alice", "maria"):
        return owner
    engine = make_engine(f"sqlite+aiosqlite:///{console.var / 'console.db'}")
    try:
        await accounts.upsert(engine, owner, PASSWORD, "owner", owner, owner)
    finally:
        await engine.dispose()
    return owner


async def sign_in(page: Page, username: str) -> None:
    await page.goto("/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/signin" not in url)


async def sign_in_with_the_keyboard(page: Page, username: str) -> None:
    """Tab to the username, type, Tab to the password, type, Enter: no mouse at all."""
    await page.goto("/signin")
    await tab_to(page, 'input[name="username"]')
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.name") == "password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: "/signin" not in url)


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()


async def reload_until(page: Page, shown: Callable[[], Awaitable[bool]], what: str) -> None:
    """Reload as a person waiting for the services would, until the page shows `what`."""
    for _ in range(60):
        if await shown():
            return
        await asyncio.sleep(0.3)
        await page.reload()
    raise AssertionError(f"{page.url} never showed {what}")


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


async def confirmed_by_channel(page: Page) -> dict[str, str]:
    """The chart "confirmed by the customer", bar by bar: channel -> figure."""
    bars = page.locator('figure[aria-labelledby="m-closed_confirmed"] .bar-row')
    figures = {}
    for bar in await bars.all():
        spans = bar.locator("span")
        figures[await spans.first.inner_text()] = await spans.last.inner_text()
    return figures


async def test_owner_closes_the_loop_with_finance_and_the_customers_yes(
    console: Console, browser: Browser, pages: Pages
) -> None:
    customer = f"ana.{uuid.uuid4().hex[:8]}@example.com"
    async with (
        console.service("intake", "frontend", "desk-1") as intake,
        console.service("ownership", "supervisor", "sam") as ownership,
    ):
        created = await complain(intake, email=customer, name="Ana Lima")
        case_id, reference = created["id"], created["reference"]
        owner = await account_for_owner(console, (await assigned(ownership, case_id))["owner_id"])

    desk = await new_person(browser, console.url)
    analyst = await new_person(browser, console.url)
    page, charts = await desk.new_page(), await analyst.new_page()
    try:
        # The analyst's charts before the closure: bi reads the console in Chinese.
        await sign_in(charts, "bi")
        await charts.goto("/kpis?group_by=channel")
        before = await confirmed_by_channel(charts)
        assert before.get("email", "0") == "0", before
        await pages.check(charts, "kpis-before")

        await page.goto("/signin")
        await pages.check(page, "01-signin")
        await sign_in_with_the_keyboard(page, owner)
        await expect(heading(page)).to_have_text("My queue")
        await pages.check(page, "02-queue")
        await page.get_by_role("link", name=reference).click()
        await expect(heading(page)).to_contain_text(reference)
        await pages.check(page, "03-case")

        ask = page.locator(f'form[action="/cases/{case_id}/tasks"]')
        await ask.get_by_label("Department").fill("finance")
        await ask.get_by_label("Task type").fill("refund")
        await ask.get_by_label("Description").fill("Refund the second charge of 42.00.")
        await ask.get_by_role("button", name="Ask a department").click()
        tasks = page.locator('section[aria-labelledby="tasks"]')
        await expect(tasks).to_contain_text("Refund the second charge of 42.00.")
        await sign_out(page)

        # Finance completes it with the keyboard alone: Tab to the note, type it, Enter.
        await sign_in(page, "finance")
        await expect(page.locator("main")).to_contain_text("Refund the second charge of 42.00.")
        await pages.check(page, "04-tasks")
        await tab_to(page, 'input[name="note"]')
        await page.keyboard.type("Refunded 42.00 to the card.")
        await page.keyboard.press("Enter")
        await expect(page.locator("main")).not_to_contain_text("Refund the second charge")
        await sign_out(page)

        await sign_in(page, owner)
        await page.get_by_role("link", name=reference).click()
        propose = page.locator(f'form[action="/cases/{case_id}/resolution"]')
        await reload_until(page, propose.is_visible, "the form to propose a resolution")
        await expect(tasks).to_contain_text("Refunded 42.00 to the card.")
        await propose.get_by_label("Summary for the customer").fill(
            "We refunded the second charge of 42.00 to your card."
        )
        await propose.get_by_role("button", name="Propose a resolution").click()
        await expect(heading(page)).to_contain_text("resolution_proposed")
        await pages.check(page, "case-proposed")

        # The customer answers yes to the question mailed to them, from their own address.
        question = await console.mail.wait_for_question(customer)
        answer = reply(question, customer, "Yes, it is resolved. Thank you!")
        await aiosmtplib.send(
            answer, hostname="127.0.0.1", port=console.smtp_listen_port, sender=customer
        )
        await reload_until(
            page,
            lambda: heading(page).filter(has_text="closed").is_visible(),
            "the case closed",
        )
        await pages.check(page, "05-case-closed")

        # The analyst's chart of closures confirmed by the customer has moved.
        await reload_until(
            charts,
            lambda: _has_moved(charts, before),
            "a closure confirmed by email",
        )
        assert (await confirmed_by_channel(charts))["email"] == "1"
        await pages.check(charts, "06-kpis")
    except BaseException:
        await pages.keep_failure(page, "owner")
        await pages.keep_failure(charts, "analyst")
        print(console.logs())
        raise
    finally:
        await desk.close()
        await analyst.close()


async def _has_moved(page: Page, before: dict[str, str]) -> bool:
    return (await confirmed_by_channel(page)).get("email", "0") != before.get("email", "0")


# The cross-sectional detector needs no history: Kettle K2 in CA against its peers, now.
BACKGROUND = [
    (product, region)
    for product in ("Kettle K1", "Toaster T1", "Blender B1")
    for region in ("OR", "NV", "WA", "CA")
] * 2
BURST = [("Kettle K2", "CA")] * 15


async def test_supervisor_sees_a_breach_on_the_board_and_an_incidents_is_and_is_not(
    console: Console, browser: Browser, pages: Pages
) -> None:
    async with (
        console.service("intake", "frontend", "desk-1") as intake,
        console.service("ownership", "admin", "root") as admin,
        console.service("escalation", "supervisor", "sam") as escalation,
    ):
        for stream in (BACKGROUND, BURST):
            await asyncio.gather(
                *(
                    complain(
                        intake,
                        category="appliances",
                        product=product,
                        region=region,
                        description=f"The {product} stopped working after a week.",
                    )
                    for product, region in stream
                )
            )
        await eventually(
            lambda: escalation.get("/v1/incidents", params={"status": "open"}),
            lambda r: any(i["pattern"].get("product") == "Kettle K2" for i in r.json()),
            seconds=40,
        )
        # A case SLA of about a second, round the clock: the next complaint breaches at once.
        tiny = await admin.put(
            "/v1/sla-policy",
            json={
                "hours": {p: 0.0003 for p in ("P1", "P2", "P3", "P4")},
                "warning_fraction": 0.5,
                "default_priority": "P3",
                "calendar": None,
            },
        )
        assert tiny.status_code == 200, tiny.text
        late = await complain(intake, description="My card payment was declined twice today.")
        await eventually(
            lambda: admin.get(f"/v1/cases/{late['id']}"),
            lambda r: r.status_code == 200 and r.json()["breached"],
        )

    person = await new_person(browser, console.url)
    page = await person.new_page()
    try:
        await sign_in(page, "sam")
        await expect(heading(page)).to_have_text("SLA board")
        await expect(page.locator("td.sla-breached").first).to_be_visible()
        await pages.check(page, "07-board")

        await page.get_by_role("navigation").get_by_role("link", name="Incidents").click()
        await expect(heading(page)).to_have_text("Incidents")
        incident = page.locator("section", has_text="Kettle K2").first
        await expect(incident.get_by_role("columnheader", name="IS", exact=True)).to_be_visible()
        await expect(incident.get_by_role("columnheader", name="IS NOT")).to_be_visible()
        await expect(incident).to_contain_text("Toaster T1")  # what it IS NOT
        await pages.check(page, "08-incidents")

        await incident.get_by_role("heading").get_by_role("link").click()
        await expect(heading(page)).to_contain_text("Incident")
        await expect(page.get_by_role("columnheader", name="IS NOT")).to_be_visible()
        await pages.check(page, "12-incident")
        await page.get_by_role("button", name="Confirm the incident").click()
        await expect(heading(page)).to_contain_text("confirmed")
        await page.get_by_label("Title").fill("Kettle K2 stops after a week in California")
        await page.get_by_role("button", name="Open a problem").click()
        await expect(heading(page)).to_contain_text("Kettle K2 stops after a week")
        await pages.check(page, "13-problem")

        await page.get_by_role("navigation").get_by_role("link", name="Search").click()
        await page.get_by_label("Find").fill(late["reference"])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("link", name=late["reference"])).to_be_visible()
        await pages.check(page, "14-search")

        await page.get_by_role("navigation").get_by_role("link", name="Escalations").click()
        await expect(heading(page)).to_have_text("Escalations")
        await reload_until(
            page,
            lambda: page.get_by_role("link", name=late["id"][:8]).first.is_visible(),
            "the breach's escalation",
        )
        await pages.check(page, "09-escalations")
    except BaseException:
        await pages.keep_failure(page, "supervisor")
        print(console.logs())
        raise
    finally:
        await person.close()


async def test_auditor_and_admin_pages_pass_the_check(
    console: Console, browser: Browser, pages: Pages
) -> None:
    person = await new_person(browser, console.url)
    page = await person.new_page()
    try:
        await sign_in(page, "irene")
        await expect(heading(page)).to_have_text("Audits")
        await pages.check(page, "10-audits")
        await sign_out(page)

        await sign_in(page, "root")
        await page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
        await expect(heading(page)).to_have_text("Accounts")
        await expect(page.locator("main")).to_contain_text("finance")
        await pages.check(page, "11-accounts")
    except BaseException:
        await pages.keep_failure(page, "admin")
        raise
    finally:
        await person.close()
