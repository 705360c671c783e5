"""One customer however they reach us, and one complaint per open matter (real broker and DBs)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.intake import domain
from services.intake.app import create_app
from services.intake.models import customers
from services.intake.settings import IntakeSettings
from tests.support.env import Database, TestEnv
from tests.support.intake import Intake, complaint_body, stored_count
from tests.support.services import app_of, auth, common_settings, running


@pytest.fixture
async def intake(env: TestEnv, database: Database) -> AsyncIterator[Intake]:
    async with database("intake") as url:
        settings = IntakeSettings(**common_settings(env, url))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend", "desk-1"))
            yield client, settings


def by_phone(**overrides: Any) -> dict[str, Any]:
    body = complaint_body(
        customer={"name": "Ana Lima", "phone": "+1 415-555-2671"},
        channel="sms",
        contact="(415) 555-2671",
        category="delivery",
        product="Parcel",
        description="My parcel never arrived.",
    )
    body.update(overrides)
    return body


async def customer_count(client: httpx.AsyncClient) -> int:
    engine = app_of(client).state.engine
    async with engine.connect() as conn:
        live = select(func.count()).select_from(customers).where(customers.c.merged_into.is_(None))
        return int(await conn.scalar(live))


async def post(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post("/v1/complaints", json=body, headers=headers)


async def test_email_then_phone_then_both_is_one_customer_with_the_first_key(
    intake: Intake, env: TestEnv
) -> None:
    client, settings = intake
    supervisor = auth(settings, "supervisor")
    async with env.probe("complaint.received") as probe:
        first = (await post(client, complaint_body(contact="Ana@EXAMPLE.com"))).json()
        second = (await post(client, by_phone())).json()
        assert first["customer_id"] != second["customer_id"]
        both = complaint_body(
            customer={"name": "Ana Lima", "email": "ANA@example.com", "phone": "415.555.2671"},
            category="account",
            product=None,
        )
        third = await post(client, both)
        assert third.status_code == 201, third.text
        events = [await probe.wait_for("complaint.received", c["id"]) for c in (first, second)]
        last = await probe.wait_for("complaint.received", third.json()["id"])
    # The key is derived as it always was, from the first complaint's email in lower case.
    expected = domain.customer_key(
        settings.customer_key_secret,
        external_id=None,
        email="ana@example.com",
        phone=None,
        contact="x",
    )
    assert events[0].data["customer_key"] == expected != events[1].data["customer_key"]
    assert last.data["customer_key"] == expected
    assert third.json()["customer_id"] == first["customer_id"]
    customer = (
        await client.get(f"/v1/customers/{first['customer_id']}", headers=supervisor)
    ).json()
    assert {(i["kind"], i["value"]) for i in customer["identifiers"]} == {
        ("email", "ana@example.com"),
        ("phone", "+14155552671"),
    }
    assert set(customer["complaints"]) == {first["id"], second["id"], third.json()["id"]}
    merged = (await client.get(f"/v1/customers/{second['customer_id']}", headers=supervisor)).json()
    assert merged["merged_into"] == first["customer_id"] and merged["complaints"] == []
    assert await customer_count(client) == 1
    # A later complaint by phone alone is the same customer, with the first key.
    async with env.probe("complaint.received") as probe:
        fourth = (await post(client, by_phone(category="fees", product="Card"))).json()
        event = await probe.wait_for("complaint.received", fourth["id"])
    assert fourth["customer_id"] == first["customer_id"] and event.data["customer_key"] == expected


async def test_a_second_complaint_on_the_open_matter_joins_it(intake: Intake, env: TestEnv) -> None:
    client, _ = intake
    first = await post(client, complaint_body())
    assert first.status_code == 201 and first.json()["joined"] is False
    again = complaint_body(
        customer={"name": "Ana L.", "email": "ana@EXAMPLE.COM"},
        channel="phone",
        contact="+44 20 7946 0018",
        category=" Billing",
        product="credit CARD",
        description="Still charged twice, calling again.",
    )
    key = str(uuid.uuid4())
    async with env.probe("complaint.*") as probe:
        joined = await post(client, again, **{"Idempotency-Key": key})
        assert joined.status_code == 200, joined.text
        body = joined.json()
        assert body["joined"] is True
        assert body["id"] == first.json()["id"] and body["reference"] == first.json()["reference"]
        assert [c["text"] for c in body["contacts"]] == ["Still charged twice, calling again."]
        added = await probe.wait_for("complaint.contact_added", body["id"])
        assert added.data["channel"] == "phone" and added.data["contact"] == "+442079460018"
        replay = await post(client, again, **{"Idempotency-Key": key})
        assert replay.status_code == 200 and replay.json()["joined"] is True
        assert replay.headers["Idempotent-Replayed"] == "true"
        other_product = await post(client, complaint_body(product="Debit card"))
        new_matter = await post(client, complaint_body(new_matter=True))
        assert other_product.status_code == new_matter.status_code == 201
        for answer in (other_product, new_matter):
            assert answer.json()["reference"] != body["reference"] and not answer.json()["joined"]
            await probe.wait_for("complaint.received", answer.json()["id"])
    # The first complaint's own event may reach the probe too: the relay is asynchronous.
    opened = {e.complaint_id for e in probe.of_type("complaint.received")} - {first.json()["id"]}
    assert len(opened) == 2
    assert len(probe.of_type("complaint.contact_added")) == 1
    assert await stored_count(client) == 3 and await customer_count(client) == 1


async def test_outside_the_join_window_a_new_complaint_opens(
    env: TestEnv, database: Database
) -> None:
    async with database("intake") as url:
        settings = IntakeSettings(**common_settings(env, url, join_window_days=1e-9))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend"))
            first = await post(client, complaint_body())
            second = await post(client, complaint_body())
            assert first.status_code == second.status_code == 201
            assert first.json()["id"] != second.json()["id"]
            assert first.json()["customer_id"] == second.json()["customer_id"]


async def test_concurrent_complaints_of_a_new_customer_make_one_customer(intake: Intake) -> None:
    client, _ = intake
    people = {"name": "Wei Chen", "email": "wei@example.cn", "phone": "+86 138 0013 8000"}
    same = [complaint_body(customer=people, contact="Wei@Example.cn") for _ in range(4)]
    new = [complaint_body(customer=people, new_matter=True, contact="wei@example.cn")] * 2
    answers = await asyncio.gather(*(post(client, b) for b in same + new))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len({a.json()["customer_id"] for a in answers}) == 1
    # Each new matter is its own; of the others at most one opened, the rest joined an open
    # complaint on the matter (a new-matter one may have come first).
    assert all(a.status_code == 201 for a in answers[4:])
    assert sum(a.status_code == 201 for a in answers[:4]) <= 1
    assert await customer_count(client) == 1
    assert await stored_count(client) == sum(a.status_code == 201 for a in answers)


async def test_different_customer_numbers_are_different_customers(intake: Intake) -> None:
    client, _ = intake
    one = await post(client, complaint_body(customer={"name": "A", "external_id": "C-1"}))
    two = await post(
        client,
        complaint_body(customer={"name": "B", "external_id": "C-2", "email": "ana@example.com"}),
    )
    assert one.status_code == 201 and two.status_code == 201
    assert one.json()["customer_id"] != two.json()["customer_id"]


async def test_supervisor_merges_and_splits_customers(intake: Intake) -> None:
    client, settings = intake
    supervisor = auth(settings, "supervisor")
    ana = (await post(client, complaint_body())).json()
    phone = (await post(client, by_phone())).json()
    url = f"/v1/customers/{phone['customer_id']}/merge"
    refused = await client.post(url, json={"into": ana["customer_id"]})
    assert refused.status_code == 403
    merged = await client.post(url, json={"into": ana["customer_id"]}, headers=supervisor)
    assert merged.status_code == 200, merged.text
    assert set(merged.json()["complaints"]) == {ana["id"], phone["id"]}
    again = await client.post(url, json={"into": ana["customer_id"]}, headers=supervisor)
    assert again.status_code == 409 and again.json()["error"]["code"] == "customer_merged"
    self_merge = await client.post(
        f"/v1/customers/{ana['customer_id']}/merge",
        json={"into": ana["customer_id"]},
        headers=supervisor,
    )
    assert self_merge.status_code == 422
    split_url = f"/v1/customers/{ana['customer_id']}/split"
    phone_only = {"identifiers": [{"kind": "phone", "value": "(415) 555 2671"}]}
    keyed = {**supervisor, "Idempotency-Key": "split-ana-phone"}
    split = await client.post(split_url, json=phone_only, headers=keyed)
    assert split.status_code == 201, split.text
    assert split.json()["complaints"] == [phone["id"]]
    assert split.json()["key"] != merged.json()["key"]
    # A retry whose first answer was lost gets the same new customer, not a refusal.
    retried = await client.post(split_url, json=phone_only, headers=keyed)
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == split.json()["id"]
    reused = await client.post(split_url, json={**phone_only, "name": "Bo"}, headers=keyed)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await customer_count(client) == 2
    everything = await client.post(
        split_url,
        json={"identifiers": [{"kind": "email", "value": "Ana@example.com"}]},
        headers=supervisor,
    )
    assert everything.status_code == 422
    unknown = await client.post(
        split_url,
        json={"identifiers": [{"kind": "email", "value": "x@example.com"}]},
        headers=supervisor,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "validation_error"
    missing = await client.get(f"/v1/customers/{uuid.uuid4()}", headers=supervisor)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "customer_not_found"
    # The next complaint by phone goes to the customer the phone was split to.
    later = (await post(client, by_phone(category="fees"))).json()
    assert later["customer_id"] == split.json()["id"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("en", "en"), ("zh", "zh"), ("zh-cn", "zh-CN"), ("zh-Hant-TW", "zh-Hant-TW")],
)
async def test_language_is_kept_and_announced(
    intake: Intake, env: TestEnv, given: str, kept: str
) -> None:
    client, _ = intake
    async with env.probe("complaint.received") as probe:
        created = await post(client, complaint_body(language=given))
        assert created.status_code == 201, created.text
        event = await probe.wait_for("complaint.received", created.json()["id"])
    assert created.json()["language"] == kept and event.data["language"] == kept


@pytest.mark.parametrize(
    ("description", "given", "kept"),
    [
        ("\u6211\u7684\u9000\u6b3e\u8fd8\u6ca1\u6709\u5230\u8d26\u3002", None, "zh"),
        ("Me cobraron dos veces por la misma compra en la tienda.", None, "es"),
        ("Charged twice", None, None),  # too little to tell
        ("Me cobraron dos veces por la misma compra en la tienda.", "en", "en"),  # it says so
    ],
)
async def test_a_missing_language_is_read_from_the_text(
    intake: Intake, env: TestEnv, description: str, given: str | None, kept: str | None
) -> None:
    client, _ = intake
    async with env.probe("complaint.received") as probe:
        created = await post(client, complaint_body(description=description, language=given))
        assert created.status_code == 201, created.text
        event = await probe.wait_for("complaint.received", created.json()["id"])
    assert created.json()["language"] == kept and event.data.get("language") == kept


@pytest.mark.parametrize(
    "junk", ["english", "en_US", "123", "zh-", "e", "<script>", "en-US-" + "x" * 40]
)
async def test_junk_language_is_refused(intake: Intake, junk: str) -> None:
    client, _ = intake
    refused = await post(client, complaint_body(language=junk))
    assert refused.status_code == 422, refused.text
    assert any("language" in f["loc"] for f in refused.json()["error"]["fields"])
    assert await stored_count(client) == 0


async def test_search_by_identifier_reference_and_customer_pages_newest_first(
    intake: Intake,
) -> None:
    client, settings = intake
    made = [
        (
            await post(client, complaint_body(category=f"topic {n}", contact="ANA@example.com"))
        ).json()
        for n in range(3)
    ]
    phoned = (
        await post(
            client,
            by_phone(customer={"name": "Ana", "phone": "4155552671", "email": "ana@example.com"}),
        )
    ).json()
    (
        await post(
            client,
            complaint_body(
                customer={"name": "Bo", "email": "bo@example.com"}, contact="bo@example.com"
            ),
        )
    )
    newest_first = [phoned["id"], *[m["id"] for m in reversed(made)]]
    page = (
        await client.get("/v1/complaints", params={"email": "Ana@Example.COM", "limit": 3})
    ).json()
    assert [i["id"] for i in page["items"]] == newest_first[:3] and page["next_cursor"]
    rest = await client.get(
        "/v1/complaints",
        params={"email": "ana@example.com", "limit": 3, "cursor": page["next_cursor"]},
    )
    assert [i["id"] for i in rest.json()["items"]] == newest_first[3:]
    assert rest.json()["next_cursor"] is None
    by_number = (await client.get("/v1/complaints", params={"phone": "(415) 555-2671"})).json()
    assert [i["id"] for i in by_number["items"]] == newest_first
    ref = made[1]["reference"].lower()
    found = (await client.get("/v1/complaints", params={"reference": ref})).json()["items"]
    assert [i["id"] for i in found] == [made[1]["id"]]
    mine = (await client.get("/v1/complaints", params={"customer": made[0]["customer_id"]})).json()
    assert len(mine["items"]) == 4
    for bad in ({}, {"email": "nope"}, {"phone": "call me"}, {"email": "a@b.co", "cursor": "!!"}):
        refused = await client.get("/v1/complaints", params=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
    analyst = await client.get(
        "/v1/complaints", params={"email": "ana@example.com"}, headers=auth(settings, "analyst")
    )
    assert analyst.status_code == 403


async def test_search_by_a_part_of_the_name_or_of_the_description(intake: Intake) -> None:
    client, _ = intake

    def body(name: str, email: str, description: str) -> dict[str, Any]:
        return complaint_body(
            customer={"name": name, "email": email}, contact=email, description=description
        )

    zhang = await post(client, body("张伟 Zhang", "zw@example.com", "扣款两次 charged 100% twice"))
    lima = await post(client, body("Ana Lima", "al@example.com", "The kettle_K1 leaks water."))
    await post(client, body("Bo", "bo@example.com", "Nothing in common here."))

    async def found(**params: str) -> list[str]:
        answer = await client.get("/v1/complaints", params=params)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    assert await found(name="  ana li ") == [lima.json()["id"]]
    assert await found(name="张伟") == [zhang.json()["id"]]
    assert await found(text="KETTLE_k1") == [lima.json()["id"]]
    assert await found(text="100%") == [zhang.json()["id"]]
    # What is typed is matched as written: LIKE's wildcards in it match only themselves.
    assert await found(text="%%%") == [] and await found(text="e_t") == []
    assert await found(name="ana", text="leaks") == [lima.json()["id"]]
    assert await found(name="ana", text="twice") == []
    for bad in ({"name": "a"}, {"name": "   "}, {"text": "ab"}, {"text": "x" * 201}):
        refused = await client.get("/v1/complaints", params=bad)
        assert refused.status_code == 422, (bad, refused.text)
