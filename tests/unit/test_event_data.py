from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import IncidentChanged, new_event


def test_a_producer_cannot_add_a_field_its_event_does_not_declare() -> None:
    with pytest.raises(ValidationError, match="colour"):
        IncidentChanged(incident_id="i", status="open", colour="red")  # type: ignore[call-arg]


def test_a_consumer_reads_an_event_from_a_newer_producer_without_its_new_field() -> None:
    sent = new_event(
        "incident.updated",
        IncidentChanged(incident_id="i", status="open"),
        producer="test",
        complaint_id=None,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    newer = sent.model_copy(update={"data": {**sent.data, "colour": "red"}})
    assert newer.parsed() == IncidentChanged(incident_id="i", status="open")
