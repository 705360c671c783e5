"""The situation appraisal: the shipped rules in English and Chinese, and how rules combine."""

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.escalation.domain import (
    InvalidRules,
    Rule,
    RuleBook,
    appraise,
    complaint_texts,
    parse_rules,
    raise_for_incident,
)
from shared.events import ComplaintReceived, Facts

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "priority_rules.toml"


@pytest.fixture(scope="module")
def rules() -> RuleBook:
    return parse_rules(tomllib.loads(SHIPPED.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("description", "priority", "reason", "word"),
    [
        ("The charger caught fire on my desk", "P1", "safety risk", "caught fire"),
        ("My son burned his hand on the kettle", "P1", "safety risk", "burned"),
        ("Two people were INJURED by the door", "P1", "safety risk", "INJURED"),
        ("充电器起火了，把桌子烧坏了", "P1", "safety risk", "起火"),  # noqa: RUF001
        ("我的孩子因为这个产品受伤了", "P1", "safety risk", "受伤"),
        ("My lawyer will be in touch", "P2", "legal or regulator", "lawyer"),
        ("I have filed with the CFPB", "P2", "legal or regulator", "CFPB"),
        ("I wrote to the Attorney General", "P2", "legal or regulator", "Attorney General"),
        ("我会请律师起诉你们", "P2", "legal or regulator", "律师"),
        ("我已经向监管部门反映", "P2", "legal or regulator", "监管"),
        ("I will post this on Twitter", "P2", "media attention", "Twitter"),
        ("A journalist called me about it", "P2", "media attention", "journalist"),
        ("我要找媒体曝光", "P2", "media attention", "媒体"),
        ("There is an unauthorized charge on my card", "P2", "money at stake", "unauthorized"),
        ("Victim of identity theft", "P2", "money at stake", "identity theft"),
        ("我的卡被盗刷了三千元", "P2", "money at stake", "盗刷"),
        ("这是诈骗", "P2", "money at stake", "诈骗"),
        ("My elderly father was overcharged", "P2", "vulnerable customer", "elderly"),
        ("家里老人被多收了钱", "P2", "vulnerable customer", "老人"),
        ("The bill is due tomorrow and it is wrong", "P2", "urgent deadline", "tomorrow"),
        ("We face foreclosure because of your error", "P2", "urgent deadline", "foreclosure"),
        ("请紧急处理这个账单错误", "P2", "urgent deadline", "紧急"),
        ("明天之前必须解决", "P2", "urgent deadline", "明天"),
    ],
)
def test_each_aggravating_factor_sets_the_priority_and_names_the_word(
    rules: RuleBook, description: str, priority: str, reason: str, word: str
) -> None:
    got, reasons = appraise({"description": description}, rules)
    assert got == priority
    assert len(reasons) == 1
    assert reasons[0].startswith(f'{reason}: "{word}" in description (rule ')


def test_a_plain_complaint_gets_the_default_with_its_reason(rules: RuleBook) -> None:
    assert appraise({"description": "The parcel arrived two days late."}, rules) == (
        "P3",
        ["no aggravating factor"],
    )


def test_every_matching_rule_is_listed_and_urgency_adds_to_seriousness(rules: RuleBook) -> None:
    priority, reasons = appraise(
        {"description": "Fraudulent transfers emptied the account, rent is due tomorrow"}, rules
    )
    assert priority == "P1"
    assert reasons == [
        'money at stake: "Fraudulent" in description (rule money, at least P2)',
        'urgent deadline: "tomorrow" in description (rule deadline, one level up)',
    ]


def test_raises_never_go_past_p1(rules: RuleBook) -> None:
    priority, reasons = appraise(
        {"description": "起火了，老人受伤，明天还要搬走", "category": "safety"},  # noqa: RUF001
        rules,
    )
    assert priority == "P1"
    assert [r.split(":")[0] for r in reasons] == [
        "safety risk",
        "vulnerable customer",
        "urgent deadline",
    ]


def test_facts_category_and_severity_hint_are_read(rules: RuleBook) -> None:
    data = ComplaintReceived(
        reference="CMP-TEST",
        customer_key="k" * 64,
        channel="email",
        contact="ana@example.com",
        category="billing",
        description="Please look at this again.",
        severity_hint="critical",
        facts=Facts(what="double charge", where="at the hospital pharmacy"),
        received_at=datetime.now(UTC),
    )
    priority, reasons = appraise(complaint_texts(data), rules)
    assert priority == "P1"
    assert 'vulnerable customer: "hospital" in facts.where' in reasons[0]
    assert 'marked critical at intake: "critical" in severity_hint' in reasons[1]


def test_severity_hints_map_to_priorities(rules: RuleBook) -> None:
    text = "The screen flickers."
    assert appraise({"description": text, "severity_hint": "High"}, rules)[0] == "P2"
    assert appraise({"description": text, "severity_hint": "low"}, rules)[0] == "P4"
    # A hint word in the description is the customer's prose, not an intake marking.
    assert appraise({"description": "The price is too high"}, rules)[0] == "P3"


def test_keywords_match_whole_words_only(rules: RuleBook) -> None:
    assert appraise({"description": "The firewall settings were reset"}, rules)[0] == "P3"
    assert appraise({"description": "Any news on my refund?"}, rules)[0] == "P3"
    assert appraise({"description": "Several injuries reported"}, rules)[0] == "P1"


def rule(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "r",
        "dimension": "seriousness",
        "reason": "because",
        "keywords": ["x"],
        "floor": "P2",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def test_a_low_base_is_overridden_by_a_floor() -> None:
    book = parse_rules(
        {
            "rule": [
                rule(name="low", floor=None, base="P4", keywords=["meh"]),
                rule(name="money", keywords=["refund"]),
            ]
        }
    )
    assert appraise({"description": "meh"}, book)[0] == "P4"
    assert appraise({"description": "meh, refund"}, book)[0] == "P2"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rule": []}, "at least one"),
        ({"default": "P9", "rule": [rule()]}, "default must be one of"),
        ({"rule": [rule(floor="P0")]}, "floor must be one of"),
        ({"rule": [rule(floor=None)]}, "exactly one of floor, raise, base"),
        ({"rule": [rule(**{"raise": 1})]}, "exactly one of"),
        ({"rule": [rule(floor=None, **{"raise": 7})]}, "raise must be"),
        ({"rule": [rule(keywords=[])]}, "keywords must be a non-empty list"),
        ({"rule": [rule(keywords=["*"])]}, "non-empty strings"),
        ({"rule": [rule(fields=["body"])]}, "unknown fields"),
        ({"rule": [rule(reason="")]}, "reason must be"),
        ({"rule": [rule(colour="red")]}, "unknown keys"),
        ({"rule": [rule(), rule()]}, "unique"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(document: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRules, match=message):
        parse_rules(document)


def test_rules_can_be_built_in_code() -> None:
    book = RuleBook("P3", "nothing", (Rule("vip", "seriousness", "VIP", ("platinum",), base="P2"),))
    assert appraise({"category": "Platinum card"}, book) == (
        "P2",
        ['VIP: "Platinum" in category (rule vip, starts at P2)'],
    )


@pytest.mark.parametrize(
    ("description", "priority", "reason"),
    [
        (
            "They charged me $5,000 twice",
            "P2",
            "money at stake: 5000 in description (at least 1000)",
        ),
        ("扣了我5000元", "P2", "money at stake: 5000 in description (at least 1000)"),
        ("损失了5万元", "P1", "large sum at stake: 50000 in description (at least 50000)"),
        ("USD 75,000 is gone", "P1", "large sum at stake: 75000 in description (at least 50000)"),
        (
            "Please answer within 3 days",
            "P2",
            "deadline stated by the customer: within 72 hours stated in description",
        ),
        (
            "请在48小时内处理",
            "P2",
            "deadline stated by the customer: within 48 hours stated in description",
        ),
    ],
)
def test_amounts_and_stated_deadlines_are_read_from_the_text(
    rules: RuleBook, description: str, priority: str, reason: str
) -> None:
    assert appraise({"description": description}, rules) == (priority, [reason])


def test_small_amounts_and_distant_deadlines_do_not_count(rules: RuleBook) -> None:
    assert appraise({"description": "A $20 fee, answer within 30 days"}, rules) == (
        "P3",
        ["no aggravating factor"],
    )


def test_joining_an_incident_raises_the_priority_once_with_the_incident_named(
    rules: RuleBook,
) -> None:
    raised = raise_for_incident("P3", ["no aggravating factor"], "inc-7", rules)
    assert raised == ("P2", ["no aggravating factor", "part of incident inc-7"])
    assert raise_for_incident(*raised, "inc-7", rules) == raised
    assert raise_for_incident("P1", [], "inc-8", rules)[0] == "P1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"amount": [{"minimum": -1, "floor": "P2", "reason": "r"}]}, "minimum must be"),
        ({"amount": [{"minimum": 10, "floor": "P7", "reason": "r"}]}, "floor must be"),
        ({"deadline": {"within_hours": 24, "raise": 9, "reason": "r"}}, "raise must be"),
        ({"incident_raise": 5}, "incident_raise"),
    ],
)
def test_invalid_amount_deadline_and_growth_settings_are_refused(
    extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRules, match=message):
        parse_rules({"rule": [rule()], **extra})


@pytest.mark.parametrize(
    ("description", "word", "priority"),
    [
        ("This was referred by the CFPB", "referred by the CFPB", "P1"),
        ("已经打了12315", "12315", "P2"),
    ],
)
def test_a_regulator_referral_runs_a_clock_that_adds_urgency(
    rules: RuleBook, description: str, word: str, priority: str
) -> None:
    got, reasons = appraise({"description": description}, rules)
    clock = "(rule regulatory_clock, one level up)"
    assert reasons[-1] == f'regulator\'s response clock: "{word}" in description {clock}'
    assert got == priority
