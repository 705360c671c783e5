"""Intake is where complaints enter: it consumes no events."""

from shared.service import EventHandler, Runtime


def build_handlers(_: Runtime) -> dict[str, EventHandler]:
    return {}
