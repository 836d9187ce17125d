"""The edit operations a fix may carry (:class:`EditOp`), each with the scope it changes.

A check says *what* to change (an ``Edit`` with an op, a JSON pointer and a value); the fixer
(:mod:`tunelint.fixes`) knows *how* from its ``EDIT_APPLIERS`` table and *when* from the op's
scope. It never asks which rule or kind made the edit.
"""
from __future__ import annotations

from enum import Enum


class EditOp(str, Enum):
    """What an ``Edit`` does. A ``str`` enum: ``EditOp.SET == "set"``, and the value is what the
    fixer's ``--changes`` file and the JSON output write."""

    #: the value at ``pointer`` in the parsed record becomes ``value``
    SET = "set"
    #: ``value`` is ``(regex, replacement)``, applied to the string at ``pointer`` when the fix
    #: runs (dataset rules that no longer hold the text, e.g. term variants)
    SUB = "sub"
    #: the whole record goes to the rejects file
    DROP = "drop"
    #: the physical line's text becomes ``value`` (bytes or str); None removes the line
    LINE = "line"
    #: every line ending of the file: ``value`` is ``(from, to)``, e.g. ``("\r\n", "\n")``
    LINE_ENDINGS = "line-endings"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def scope(self) -> str:
        """What the op changes, which decides when the fixer applies it: ``"file"`` (the whole
        output, in every round's writer), ``"line"`` (the record's raw text, before it is
        parsed), ``"record"`` (the record as a whole: kept or rejected) or ``"value"`` (one
        value of the parsed record)."""
        return SCOPES[self]


SCOPES = {
    EditOp.SET: "value",
    EditOp.SUB: "value",
    EditOp.DROP: "record",
    EditOp.LINE: "line",
    EditOp.LINE_ENDINGS: "file",
}
