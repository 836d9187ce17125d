"""Small English helpers for messages: counts with the right plural, ``a``/``an``."""
from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 record``, ``2 records``, ``1,000 records`` (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def article(word: str) -> str:
    """``a user``, ``an assistant``, ``an observation`` (by the sound of the first letters; enough
    for role and field names)."""
    w = word.lower()
    vowel = w[:1] in ("a", "e", "i", "o") or (w[:1] == "u" and not w.startswith(("us", "uni", "uti", "ut")))
    return ("an " if vowel else "a ") + word


class _MessageFormatter:
    """``str.format`` for rule message templates, plus a plural spec: ``{count:~record}`` gives
    ``1 record`` / ``2 records`` / ``1,000 records`` and ``{n:~match/matches}`` an irregular
    plural, so YAML messages never say "(1 records)"."""

    def __init__(self) -> None:
        import string

        class F(string.Formatter):
            def format_field(self, value, spec):
                if spec.startswith("~"):
                    word, _, many = spec[1:].partition("/")
                    if hasattr(value, "__index__"):
                        return plural(value.__index__(), word, many or None)
                    # a count already formatted ("1,200")
                    return f"{value} {word if str(value) == '1' else (many or word + 's')}"
                return super().format_field(value, spec)

        self.f = F()

    def __call__(self, template: str, args: dict) -> str:
        return self.f.vformat(template, (), args)


format_message = _MessageFormatter()
