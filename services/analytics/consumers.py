"""Analytics folds every event on the bus into its read model."""

from services.analytics import handlers
from shared.service import ANY_EVENT, EventHandler, Runtime


def build_handlers(_: Runtime) -> dict[str, EventHandler]:
    return {ANY_EVENT: handlers.record_event}
