"""Small English helpers for messages: counts with the right plural, ``a``/``an``."""
from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``1,000 records`` (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def article(word: str) -> str:
    """``a user``, ``an assistant`` (by the first letter; enough for role and field names)."""
    return ("an " if word[:1].lower() in "aeiou" and word[:1] else "a ") + word
