"""Errors the user can fix: each is printed as one line ``tunelint: error: ...`` with exit code 2
(never a traceback). Raise a subclass of :class:`UserError` naming the file, the key or line,
and what to do; anything else that escapes a command is an internal error."""
from __future__ import annotations


class UserError(Exception):
    """A problem with the input, the configuration or the command line (exit code 2)."""


class ConfigError(UserError, ValueError):
    """The configuration (tunelint.toml, pyproject.toml, options) is invalid."""


class RuleError(UserError, ValueError):
    """A rule pack or rule definition is invalid."""
