"""The console's reading of what people type (the search box, the analysis form, times) and
what it gives back (figures as sentences, the report as CSV)."""

import csv
import io

import pytest

from services.console.pages_analyst import report_csv
from services.console.pages_problems import _utc, analysis_body
from services.console.pages_search import kinds_for
from services.console.web import plain


@pytest.mark.parametrize(
    ("words", "kinds"),
    [
        ("CMP-1A2B3C4D", ["reference"]),
        ("cmp-1a2b3c4d", ["reference"]),
        ("ana.lima@example.com", ["email"]),
        ("+1 (415) 555-2671", ["phone"]),
        ("0415 555 267", ["phone"]),
        ("Ana Lima", ["name", "text"]),
        ("张伟", ["name"]),
        ("charged twice", ["name", "text"]),
        ("12-34", ["name", "text"]),  # too few digits for a number
        ("Kettle-K1", ["name", "text"]),  # a product's name, not a reference
    ],
)
def test_the_search_box_reads_what_was_typed(words: str, kinds: list[str]) -> None:
    assert kinds_for(words, "auto") == kinds


def test_a_chosen_kind_is_asked_as_it_is() -> None:
    assert kinds_for("ana@example.com", "text") == ["text"]


def test_the_chosen_row_is_the_most_probable_cause_and_empty_rows_are_left_out() -> None:
    form = {
        "categories": "method, , machine",
        "why_chain": "Kettles leak\n\nThe seal cracks\r\nThe supplier changed",
        "cause_0": "Cleaning agent",
        "explains_is_0": "on",
        "cause_1": " New seal supplier ",
        "explains_is_1": "on",
        "explains_is_not_1": "on",
        "cause_2": "",
        "chosen": "1",
    }
    assert analysis_body(form) == {
        "cause_categories": ["method", "machine"],
        "why_chain": ["Kettles leak", "The seal cracks", "The supplier changed"],
        "hypotheses": [
            {"cause": "Cleaning agent", "explains_is": True, "explains_is_not": False},
            {"cause": "New seal supplier", "explains_is": True, "explains_is_not": True},
        ],
        "most_probable_cause": "New seal supplier",
    }


def test_an_empty_chosen_row_names_no_cause_and_the_service_refuses_it() -> None:
    assert analysis_body({"cause_0": "x", "chosen": "2"})["most_probable_cause"] == ""


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("2026-12-04T10:30", "2026-12-04T10:30:00Z"),
        (" 2026-12-04T10:30:15 ", "2026-12-04T10:30:15Z"),
        ("2026-12-04T10:30+02:00", "2026-12-04T08:30:00Z"),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_a_time_field_is_read_as_utc(typed: str, sent: str | None) -> None:
    assert _utc(typed) == sent


def test_structured_figures_read_as_sentences() -> None:
    assert plain({"other_regions": {"NV": 0, "OR": 2}, "ratio": 29.8571}) == (
        "other regions: NV: 0; OR: 2; ratio: 29.86"
    )
    assert plain({"first": "2026-12-04T22:04:19.33+00:00"}) == "first: 2026-12-04 22:04 UTC"
    assert plain(["a", 1.5, None]) == "a, 1.5, —" and plain(3.0) == "3"


def test_the_kpi_report_downloads_as_one_row_a_group_and_formulas_stay_text() -> None:
    figures = {"received": 3, "reopen_rate": 0.5, "unconfirmed_backlog": {"count": 1, "p90": 2.0}}
    report = {
        "group_by": "product",
        "groups": [
            {"key": '=HYPERLINK("http://evil")', **figures},
            {"key": None, **figures, "reopen_rate": None},
        ],
        "totals": {**figures, "received": 6},
    }
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == [
        "product",
        "received",
        "reopen_rate",
        "unconfirmed_backlog.count",
        "unconfirmed_backlog.p90",
    ]
    assert rows[1] == ['\'=HYPERLINK("http://evil")', "3", "0.5", "1", "2.0"]
    assert rows[2] == ["", "3", "", "1", "2.0"]
    assert rows[3] == ["(all)", "6", "0.5", "1", "2.0"]
