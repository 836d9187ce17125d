"""Errors the user can fix: each is printed as one line ``tunelint: error: ...`` with exit code 2
(never a traceback). Raise a subclass of :class:`UserError` naming the file, the key or line,
and what to do; anything else that escapes a command is an internal error."""
from __future__ import annotations


def did_you_mean(word, choices) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``choices``, or ''."""
    import difflib

    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {m[0]!r}?)" if m else ""


class UserError(Exception):
    """A problem with the input, the configuration or the command line (exit code 2)."""


class ConfigError(UserError, ValueError):
    """The configuration (tunelint.toml, pyproject.toml, options) is invalid."""


class RuleError(UserError, ValueError):
    """A rule pack or rule definition is invalid."""
