"""The whole reply corpus: not one reply a careful reader calls no or unclear reads as yes."""

from collections import Counter

import pytest

from services.confirmation.classifier import Verdict, read_reply
from tests.data.replies import load

SAMPLES = load()


def test_the_corpus_is_large_mixed_and_mostly_hard() -> None:
    labels = Counter(s.label for s in SAMPLES)
    assert len(SAMPLES) >= 300
    assert labels["no"] + labels["unclear"] >= len(SAMPLES) // 2
    assert {s.mode for s in SAMPLES} == {"resolved", "ack"}
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in s.text) for s in SAMPLES) >= 80


def test_no_reply_labelled_no_or_unclear_reads_as_yes() -> None:
    false_yes = [
        (s.line, s.mode, s.text)
        for s in SAMPLES
        if s.label != "yes" and read_reply(s.text, s.acknowledging).verdict == Verdict.yes
    ]
    assert false_yes == []


def test_most_real_yeses_are_read_as_yes() -> None:
    """A missed yes costs a follow-up, not a wrong closure; the floor catches a regression."""
    yeses = [s for s in SAMPLES if s.label == "yes"]
    missed = [s for s in yeses if read_reply(s.text, s.acknowledging).verdict != Verdict.yes]
    assert len(missed) <= len(yeses) // 10, [s.text for s in missed]


def test_a_reply_that_says_the_problem_remains_is_never_read_as_yes_and_mostly_as_no() -> None:
    nos = [s for s in SAMPLES if s.label == "no"]
    read = Counter(read_reply(s.text, s.acknowledging).verdict for s in nos)
    assert read[Verdict.yes] == 0
    assert read[Verdict.no] >= 0.9 * len(nos)


@pytest.mark.parametrize(
    ("text", "acknowledging"),
    [
        ("Far from resolved.", False),
        ("Yes please send an engineer, the heating stopped working again.", False),
        ("解决了才怪", False),
        ("Ok, I will take this to the ombudsman.", True),
    ],
)
def test_replies_that_once_closed_unresolved_cases_do_not(text: str, acknowledging: bool) -> None:
    reading = read_reply(text, acknowledging)
    assert reading.verdict != Verdict.yes
    assert reading.rule and reading.rule not in ("affirmation", "acknowledgement")


def test_every_reading_names_its_rule() -> None:
    for s in SAMPLES:
        reading = read_reply(s.text, s.acknowledging)
        assert reading.rule
        if reading.verdict == Verdict.yes:
            assert reading.rule == ("acknowledgement" if s.acknowledging else "affirmation")


def test_no_real_yes_reads_as_no() -> None:
    """A yes read as no reopens a resolved case: it may be missed, never contradicted."""
    contradicted = [
        s.text
        for s in SAMPLES
        if s.label == "yes" and read_reply(s.text, s.acknowledging).verdict == Verdict.no
    ]
    assert contradicted == []


@pytest.mark.parametrize(
    "text",
    [
        "No longer an issue",
        "no issues now",
        "not a problem anymore",
        "No further action needed, thank you",
        "No more problems since the engineer came",
    ],
)
def test_a_denied_problem_is_not_a_no(text: str) -> None:
    assert read_reply(text).verdict == Verdict.unclear
