"""Analytics folds every event on the bus into its read model, many events per transaction."""

from services.analytics import reactions
from shared.service import BatchEventHandler, Runtime

# Every event: the read model is of the whole loop.
BINDINGS = ["#"]


def build_batch_handler(_: Runtime) -> BatchEventHandler:
    return reactions.record_events
