"""The normalised key of a product, category or region as written: one key for every way of
writing the same value. Pure."""

import unicodedata

LIMIT = 255


def normalised_key(raw: str) -> str:
    """Case, spacing, punctuation and width do not make a different value."""
    text = unicodedata.normalize("NFKC", raw).casefold()
    key = "".join(ch for ch in text if ch.isalnum())
    return (key or " ".join(text.split()))[:LIMIT]
