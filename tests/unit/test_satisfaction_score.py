"""The score of an answer to "how did we do?": read only when the reply opens with one."""

import pytest

from services.confirmation.surveys import read_score


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("5", (5, None)),
        ("5!", (5, None)),
        ("  4  ", (4, None)),
        ("2 - slow, but polite", (2, "slow, but polite")),
        ("1. Terrible.", (1, "Terrible.")),
        ("4, thanks", (4, "thanks")),
        ("4/5 good", (4, "good")),
        ("3 out of 5", (3, None)),
        ("4 of 5", (4, None)),
        ("5 stars", (5, None)),
        ("5\n\nThank you all", (5, "Thank you all")),
        ("\u4e94\u5206\uff0c\u5f88\u6ee1\u610f", (5, "\u5f88\u6ee1\u610f")),  # "five, very happy"
        ("\uff15", (5, None)),  # a full-width 5
        ("\u2605\u2605\u2605\u2606\u2606 meh", (3, "meh")),  # ★★★☆☆
        ("5 great service", (5, "great service")),
        ("1 terrible, still waiting", (1, "terrible, still waiting")),
        ("3 because it took a week", (3, "because it took a week")),
        ("4 \u5f88\u597d", (4, "\u5f88\u597d")),  # "4 very good"
    ],
)
def test_a_score_opening_the_reply_is_read(text: str, read: tuple[int, str | None]) -> None:
    assert read_score(text) == read


@pytest.mark.parametrize(
    "text",
    [
        "3 times I called and nobody answered",
        "10",
        "10/10",
        "0",
        "6",
        "5.5",
        "-5",
        "I give you a 5",
        "Yes",
        "5 5 5",
        "2nd time this happened",
        "2 weeks to fix it",
        "5 days late",
        "2 of them ignored me",
        "3 Different agents told me different things",
        "4 calls and 2 emails",
        "5 \u5929\u624d\u89e3\u51b3",  # "5 days to solve"
        "",
    ],
)
def test_anything_else_is_no_score(text: str) -> None:
    assert read_score(text) is None


def test_a_long_comment_is_cut() -> None:
    score, comment = read_score("5 - " + "x" * 5000) or (0, None)
    assert score == 5 and comment is not None and len(comment) == 1000
