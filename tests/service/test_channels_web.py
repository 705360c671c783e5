"""Web and chat: a short-lived, single-use link that reaches only the customer's session.

The link is posted, signed, to the front end's delivery webhook (a real HTTP server on
loopback that verifies the signature); no API hands it to anyone else.
"""

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.closure import Loop, _link, closure_loop, eventually
from tests.support.env import Database, TestEnv
from tests.support.sms_gateway import _free_port

CUSTOMER = "web.customer@example.com"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"


def path_of(link: str) -> str:
    return link.removeprefix("https://complaints.example")


async def link_of(loop: Loop, case_id: str) -> str:
    return await _link(loop, case_id)


@pytest.mark.parametrize("channel", ["web", "chat"])
async def test_the_signed_delivery_is_retried_then_yes_on_the_page_closes_the_case(
    env: TestEnv, database: Database, channel: str
) -> None:
    async with closure_loop(env, database) as loop, env.probe("confirmation.#") as probe:
        loop.hook.fail_next = 1
        case = await loop.complaint(channel, CUSTOMER)
        await loop.propose(case)
        failed = await _first_call(loop)
        view_after_failure = await loop.view_when(
            case["id"], lambda v: v["outbound"] and v["outbound"][0]["attempts"] == 1
        )
        loop.clock.advance(1 / 60)  # past the back-off: the sender tries again
        delivered = await loop.hook.next()
        requested = await probe.wait_for("confirmation.requested", case["id"])
        link = delivered["link"]
        page = await loop.confirmation.get(path_of(link), headers={"User-Agent": BROWSER})
        staff_view = await loop.view(case["id"])
        frontend_view = await loop.view(case["id"], role="frontend")
        done = await loop.confirmation.post(
            path_of(link), data={"answer": "yes", "comment": "Thank you!"}
        )
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        again = await loop.confirmation.get(path_of(link))
    assert failed["status"] == 500 and view_after_failure["outbound"][0]["status"] == "queued"
    assert "500" in view_after_failure["outbound"][0]["last_error"]
    assert [c["status"] for c in loop.hook.calls] == [500, 200]
    assert delivered["complaint_id"] == case["id"] and delivered["channel"] == channel
    assert delivered["reference"] == case["reference"]
    assert delivered["request_id"] == requested.data["request_id"]
    assert delivered["type"] == "confirmation.link" and link in delivered["text"]
    expires = datetime.fromisoformat(delivered["expires_at"])
    assert abs(expires - (loop.clock.now - timedelta(minutes=1) + timedelta(hours=48))) < (
        timedelta(minutes=2)
    )
    assert link.startswith("https://complaints.example/c/")
    token = link.rsplit("/", 1)[1]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "42.00 EUR" in html and "<script" not in html and 'name="viewport"' in html
    assert 'value="yes"' in html and 'value="no"' in html and 'method="post"' in html
    for view in (staff_view, frontend_view):
        shown = json.dumps(view)
        assert token not in shown and "link" not in view["outbound"][0]
        [opened] = view["opened"]
        assert opened["event"] == "opened" and opened["request_id"] == delivered["request_id"]
        assert len(opened["ip_hash"]) == 64 and len(opened["user_agent_hash"]) == 64
        assert BROWSER not in shown and "iPhone" not in shown and "127.0.0.1" not in shown
    assert done.status_code == 200 and "Thank you for confirming" in done.text
    assert closed["outcome"] == "resolved"
    assert again.status_code == 410


async def _first_call(loop: Loop) -> dict[str, Any]:
    async def calls() -> int:
        return len(loop.hook.calls)

    await eventually(calls, lambda n: n >= 1)
    return loop.hook.calls[0]


async def test_no_reopens_and_the_spent_link_is_refused(env: TestEnv, database: Database) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("web", CUSTOMER)
        await loop.propose(case)
        link = await link_of(loop, case["id"])
        await loop.confirmation.post(path_of(link), data={"answer": "no", "comment": "没有解决"})
        await loop.case_when(case["id"], lambda c: c["status"] == "reopened")
        reused = await loop.confirmation.post(path_of(link), data={"answer": "yes"})
        view = await loop.view(case["id"])
        assert (await loop.case(case["id"]))["status"] == "reopened"
    assert reused.status_code == 410
    assert [m["reason"] for m in view["inbound"]] == [None, "token_used"]


async def test_a_link_sent_again_replaces_the_one_before(env: TestEnv, database: Database) -> None:
    async with closure_loop(env, database, reminder_schedule_hours="24") as loop:
        case = await loop.complaint("chat", CUSTOMER)
        await loop.propose(case)
        first = await link_of(loop, case["id"])
        loop.clock.advance(25)
        second = await link_of(loop, case["id"])
        old = await loop.confirmation.post(path_of(first), data={"answer": "yes"})
        new = await loop.confirmation.post(path_of(second), data={"answer": "yes"})
        await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        view = await loop.view(case["id"])
    assert first != second
    assert old.status_code == 410 and new.status_code == 200
    assert [m["reason"] for m in view["inbound"]] == ["token_expired", None]


async def test_yes_with_a_doubtful_comment_is_unclear_and_spends_the_link(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("chat", CUSTOMER)
        await loop.propose(case)
        link = await link_of(loop, case["id"])
        answered = await loop.confirmation.post(
            path_of(link), data={"answer": "yes", "comment": "not really fixed"}
        )
        [entry] = await loop.entries(case["id"], "confirmation_unclear")
        reused = await loop.confirmation.post(path_of(link), data={"answer": "yes"})
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
    assert "stays open" in answered.text
    assert entry["detail"]["evidence"] == "[yes] not really fixed"
    assert reused.status_code == 410


async def test_expired_unknown_and_foreign_tokens_never_answer(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database, web_token_ttl_hours=24) as loop:
        case = await loop.complaint("web", CUSTOMER)
        await loop.propose(case)
        link = await link_of(loop, case["id"])
        unknown = await loop.confirmation.post("/c/ABCDEFGHJKLMNP", data={"answer": "yes"})
        bad_form = await loop.confirmation.post(path_of(link), data={"answer": "maybe"})
        loop.clock.advance(25)
        expired_page = await loop.confirmation.get(path_of(link))
        expired = await loop.confirmation.post(path_of(link), data={"answer": "yes"})
        view = await loop.view_when(case["id"], lambda v: len(v["inbound"]) >= 1)
        assert (await loop.case(case["id"]))["status"] == "resolution_proposed"
    assert unknown.status_code == 410 and bad_form.status_code == 422
    assert expired_page.status_code == 410 and expired.status_code == 410
    assert [m["reason"] for m in view["inbound"]] == ["token_expired"]
    assert view["opened"] == []  # an expired link opens nothing


async def test_delivery_webhooks_are_registered_by_front_ends_and_keep_their_secret(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        good = {"url": "https://frontend.example/hooks/links", "secret": "s" * 32}
        replaced = await loop.confirmation.put(
            "/v1/delivery-webhooks/chat", json=good, headers=loop.as_("admin", "root")
        )
        listed = await loop.confirmation.get(
            "/v1/delivery-webhooks", headers=loop.as_("frontend", "desk-1")
        )
        by_owner = await loop.confirmation.put(
            "/v1/delivery-webhooks/web", json=good, headers=loop.as_("owner", "alice")
        )
        owner_list = await loop.confirmation.get(
            "/v1/delivery-webhooks", headers=loop.as_("owner", "alice")
        )
        short = await loop.confirmation.put(
            "/v1/delivery-webhooks/web",
            json={**good, "secret": "short"},
            headers=loop.as_("frontend"),
        )
        not_a_url = await loop.confirmation.put(
            "/v1/delivery-webhooks/web",
            json={**good, "url": "ftp://x"},
            headers=loop.as_("frontend"),
        )
        email = await loop.confirmation.put(
            "/v1/delivery-webhooks/email", json=good, headers=loop.as_("frontend")
        )
    assert replaced.status_code == 200 and "secret" not in replaced.json()
    assert replaced.json()["url"] == good["url"] and replaced.json()["updated_by"] == "root"
    rows = {r["channel"]: r for r in listed.json()}
    assert rows["chat"]["url"] == good["url"] and rows["web"]["url"] == loop.hook.url
    assert loop.hook.secret not in listed.text and "s" * 32 not in listed.text
    assert by_owner.status_code == 403 and owner_list.status_code == 403
    assert short.status_code == 422 and not_a_url.status_code == 422
    assert email.status_code == 422 and "error" in email.json()


async def test_an_unreachable_webhook_keeps_the_link_queued_until_it_is_registered_again(
    env: TestEnv, database: Database
) -> None:
    async with closure_loop(env, database) as loop:
        nowhere = {"url": f"http://127.0.0.1:{_free_port()}/links", "secret": loop.hook.secret}
        moved = await loop.confirmation.put(
            "/v1/delivery-webhooks/web", json=nowhere, headers=loop.as_("frontend", "desk-1")
        )
        case = await loop.complaint("web", CUSTOMER)
        await loop.propose(case)
        failing = await loop.view_when(
            case["id"], lambda v: bool(v["outbound"]) and v["outbound"][0]["attempts"] >= 1
        )
        await loop.confirmation.put(
            "/v1/delivery-webhooks/web",
            json={"url": loop.hook.url, "secret": loop.hook.secret},
            headers=loop.as_("frontend", "desk-1"),
        )
        loop.clock.advance(1 / 60)
        delivered = await loop.hook.next()
    assert moved.status_code == 200
    [message] = failing["outbound"]
    assert message["status"] == "queued" and "Connect" in message["last_error"]
    assert delivered["complaint_id"] == case["id"] and loop.hook.calls[0]["status"] == 200
