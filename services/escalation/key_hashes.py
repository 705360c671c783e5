"""The key a pattern is stored under: a digest of its dimensions, never a secret."""

import hashlib


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()  # a key, not a secret
