"""The read model: events archived and folded into complaint facts."""
