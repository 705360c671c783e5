"""A button (the web page, an owner's attestation) read together with the customer's words."""

import pytest

from services.confirmation.classifier import Verdict, meaning


@pytest.mark.parametrize(
    "comment",
    ["还没收到", "not yet", "the refund never arrived", "没有解决", "is it done?", "maybe"],
)
def test_yes_button_with_a_denying_doubting_or_asking_comment_is_unclear(comment: str) -> None:
    assert meaning(comment, Verdict.yes, acknowledging=False) == Verdict.unclear
    assert meaning(comment, Verdict.yes, acknowledging=True) == Verdict.unclear


@pytest.mark.parametrize("comment", ["", "Thank you!", "谢谢", "no problem, all good"])
def test_yes_button_with_a_neutral_comment_stays_yes(comment: str) -> None:
    assert meaning(comment, Verdict.yes, acknowledging=False) == Verdict.yes


def test_no_button_is_never_made_a_yes() -> None:
    assert meaning("yes it is resolved", Verdict.no, acknowledging=False) == Verdict.no


def test_typed_acknowledgement_with_a_negation_is_not_a_yes() -> None:
    assert meaning("还没收到", None, acknowledging=True) != Verdict.yes
    assert meaning("收到", None, acknowledging=True) == Verdict.yes
