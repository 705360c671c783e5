"""Web and chat: a single-use, expiring link to a plain HTML page served by confirmation."""

import pytest

from tests.service.test_confirmation_flow import Loop, closure_loop

CUSTOMER = "web.customer@example.com"


async def link_of(loop: Loop, case_id: str) -> str:
    view = await loop.view_when(
        case_id, lambda v: any(m.get("link") for m in v.get("outbound", [])), role="frontend"
    )
    return str(next(m["link"] for m in view["outbound"] if m.get("link")))


def path_of(link: str) -> str:
    return link.removeprefix("https://complaints.example")


@pytest.mark.parametrize("channel", ["web", "chat"])
async def test_yes_on_the_page_closes_the_case(env, database, channel: str) -> None:  # type: ignore[no-untyped-def]
    async with closure_loop(env, database) as loop, env.probe("confirmation.#") as probe:
        case = await loop.complaint(channel, CUSTOMER)
        await loop.propose(case)
        link = await link_of(loop, case["id"])
        requested = await probe.wait_for("confirmation.requested", case["id"])
        page = await loop.confirmation.get(path_of(link))
        staff_view = await loop.view(case["id"])
        done = await loop.confirmation.post(
            path_of(link), data={"answer": "yes", "comment": "Thank you!"}
        )
        closed = await loop.case_when(case["id"], lambda c: c["status"] == "closed")
        again = await loop.confirmation.get(path_of(link))
    assert link.startswith("https://complaints.example/c/")
    assert requested.data["channel"] == channel
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "42.00 EUR" in html and "<script" not in html and 'name="viewport"' in html
    assert 'value="yes"' in html and 'value="no"' in html and 'method="post"' in html
    assert all(m["link"] is None for m in staff_view["outbound"])
    assert done.status_code == 200 and "Thank you for confirming" in done.text
    assert closed["outcome"] == "resolved"
    assert again.status_code == 410


async def test_no_reopens_and_the_spent_link_is_refused(env, database) -> None:  # type: ignore[no-untyped-def]
    async with closure_loop(env, database) as loop:
        case = await loop.complaint("web", CUSTOMER)
        await loop.propose(case)
        link = await link_of(loop, case["id"])
        await loop.confirmation.post(path_of(link), data={"answer": "no", "comment": "没有解决"})
        await loop.case_when(case["id"], lambda c: c["status"] == "reopened")
        reused = await loop.confirmation.post(path_of(link), data={"answer": "yes"})
        view = await loop.view(case["id"])
        frontend = await loop.view(case["id"], role="frontend")
        assert (await loop.case(case["id"]))["status"] == "reopened"
    assert reused.status_code == 410
    assert [m["reason"] for m in view["inbound"]] == [None, "token_used"]
    assert all(m["link"] is None for m in frontend["outbound"])


async def test_yes_with_a_doubtful_comment_is_unclear_and_spends_the_link(env, database) -> None:  # type: ignore[no-untyped-def]
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


async def test_expired_unknown_and_foreign_tokens_never_answer(env, database) -> None:  # type: ignore[no-untyped-def]
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
