"""What a customer's reply means: yes only when it says so without doubt or negation."""

import pytest

from services.confirmation.domain import Verdict, classify_reply

YES = [
    "yes",
    "YES!",
    "Yes, thank you",
    "resolved",
    "It is resolved",
    "fixed",
    "sorted",
    "all good",
    "Thank you, it's resolved",
    "Thank you, it\u2019s resolved",
    "No problem, all sorted now",
    "是",
    "是的",
    "已解决",
    "解决了",
    "好了",
    "已經解決",
    "是的\uff0c已解决",  # with a full-width comma
]

NO = [
    "no",
    "No.",
    "nope",
    "not resolved",
    "It is not resolved",
    "No, not sorted",
    "not fixed",
    "still broken",
    "I still haven't received the refund",
    "haven't received anything",
    "It isn't fixed",
    "否",
    "没有",
    "没解决",
    "还没",
    "未解决",
    "没有解决",
    "还没有解决",
    "不是",
]

UNCLEAR = [
    "",
    "   ",
    "thank you",
    "ok",
    "maybe",
    "not sure",
    "Yes and no",
    "yes, but I am still waiting for the refund",
    "resolved? I cannot see the refund",
    "I think it is resolved",
    "partly",
    "Resolved, no, wait, not the fee",
    "解决了吗",
    "可能解决了",
    "不确定",
    "部分解决了",
]


@pytest.mark.parametrize("text", YES)
def test_clear_yes_confirms(text: str) -> None:
    assert classify_reply(text) == Verdict.yes


@pytest.mark.parametrize("text", NO)
def test_clear_no_rejects(text: str) -> None:
    assert classify_reply(text) == Verdict.no


@pytest.mark.parametrize("text", UNCLEAR)
def test_doubt_or_mixed_signals_are_unclear(text: str) -> None:
    assert classify_reply(text) == Verdict.unclear


@pytest.mark.parametrize(
    "text",
    ["not resolved", "no, not sorted", "没有解决", "not yet fixed", "never resolved", "没好"],
)
def test_negation_of_a_yes_word_never_reads_as_yes(text: str) -> None:
    assert classify_reply(text) != Verdict.yes
    assert classify_reply(text.upper()) != Verdict.yes
