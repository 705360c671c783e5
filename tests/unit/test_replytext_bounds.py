"""Hostile bodies cost time in proportion to their size: no pattern backtracks quadratically.

A `From: aaaa...` line of 30 KB once cost seconds; here 200 KB of each shape must be stripped
and read, in both modes, within two seconds of processor time, and ten times the input may cost
at most about ten times as much (a quadratic pattern would cost a hundred times). Processor
time, not wall time: a machine busy with other work must not fail these."""

import time

import pytest

from services.confirmation.classifier import Verdict, read_reply
from services.confirmation.replytext import html_to_text, new_text

SIZE = 200_000
SHAPES = {
    "from_header_without_address": lambda n: "From: " + "a" * n,
    "sent_header_many_at_signs": lambda n: "Sent: " + "@" * n,
    "one_long_line": lambda n: "y" * n,
    "run_of_spaces": lambda n: "Yes" + " " * n + "resolved",
    "spaces_then_text": lambda n: " " * n + "x",
    "quote_markers": lambda n: ">" * n,
    "quoted_lines": lambda n: "> \n" * (n // 3),
    "dashes": lambda n: "-" * n,
    "underscores": lambda n: "_" * n + " x",
    "on_without_wrote": lambda n: "on a\n" * (n // 5),
    "on_long_line": lambda n: "On " + "a" * n + " wrote",
    "chinese_header_prefix": lambda n: "在" * n,
    "repeated_yes": lambda n: "yes " * (n // 4),
    "negations": lambda n: "not " * (n // 4) + "resolved",
    "chinese_negations": lambda n: "没" * n + "解决",
    "html_tags": lambda n: "<div>" * (n // 5),
}


def _cost(body: str) -> float:
    start = time.process_time()
    new_text(html_to_text(body) if body.startswith("<") else body)
    for acknowledging in (False, True):
        assert read_reply(body, acknowledging).verdict != Verdict.yes
    return time.process_time() - start


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_hostile_input_is_read_in_well_under_a_second(shape: str) -> None:
    assert _cost(SHAPES[shape](SIZE)) < 2.0


@pytest.mark.parametrize("shape", ["from_header_without_address", "run_of_spaces", "dashes"])
def test_ten_times_the_input_costs_about_ten_times_as_much(shape: str) -> None:
    small = min(_cost(SHAPES[shape](SIZE // 10)) for _ in range(3))
    large = min(_cost(SHAPES[shape](SIZE)) for _ in range(3))
    assert large < max(small, 0.01) * 30


def test_a_long_header_line_still_ends_the_new_words_when_it_holds_an_address() -> None:
    body = "Resolved\n\nFrom: " + "a" * 50_000 + " <confirm@x.test>\nReply YES"
    assert new_text(body) == "Resolved"
