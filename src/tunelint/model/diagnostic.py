"""The diagnostic model every check produces and every renderer consumes: :class:`Diagnostic`,
its :class:`Fix` and :class:`Edit` s, and the edit operations (:class:`EditOp`, each with the
scope it changes). Moved here from ``tunelint.diagnostic`` (which re-exports it); imports
nothing of tunelint.

The JSON shape of :func:`Diagnostic.to_dict` is stable (documented in README.md): additive
changes only. A check says *what* to change (an ``Edit`` with an op, a JSON pointer and a
value); the fixer (:mod:`tunelint.fixes`) knows *how* from its ``EDIT_APPLIERS`` table and
*when* from the op's scope. It never asks which rule or kind made the edit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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


SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit of a fix: an :class:`EditOp` (a plain string such as ``"set"`` is converted;
    an unknown op is a ValueError), the JSON pointer it applies to and its value. See
    :class:`tunelint.model.diagnostic.EditOp` for what each op does with them."""

    op: EditOp
    pointer: str = ""
    value: Any = None

    def __post_init__(self):
        if type(self.op) is not EditOp:
            object.__setattr__(self, "op", EditOp(self.op))


@dataclass(frozen=True, slots=True)
class Fix:
    applicability: str  # "safe" | "unsafe"
    description: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    name: str
    severity: str
    path: str
    line: int  # 1-based physical line; 0 for file-level findings
    column: int  # 1-based; 1 when not meaningful
    pointer: str  # RFC 6901 JSON pointer into the record ("" = whole record)
    message: str
    fix: Fix | None = None
    record_hash: str | None = None  # content hash of the record (baselines, SARIF fingerprints)
    related: tuple[int, ...] = field(default=())  # other lines involved (e.g. first occurrence)
    unit: str = "line"  # what ``line`` counts: "line" (JSONL/JSON) or "row" (Parquet, Arrow, CSV, in-memory records)

    @property
    def where(self) -> str:
        """``line:column``, or ``row N`` for a table's row ("" for a file-level finding)."""
        if self.unit == "row":
            return f"row {self.line}" if self.line >= 1 else ""
        return f"{self.line}:{self.column}"

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self):
        # the message last: ties (two T001 forms on one turn) never depend on set or dict order
        return (self.path, self.line, self.column, self.code, self.pointer, self.message)

    def to_dict(self) -> dict:
        d = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "message": self.message,
            "fixable": self.fixable,
        }
        if self.fix is not None:
            d["fix"] = {
                "applicability": self.fix.applicability,
                "description": self.fix.description,
            }
        if self.unit == "row":
            d["row"] = self.line
        if self.related:
            d["related_lines"] = list(self.related)
        if self.record_hash:
            d["record_hash"] = self.record_hash
        return d


_LINE_N = re.compile(r"\bline(s? \d)")


def row_wording(text: str) -> str:
    """A message written for line-based files, for a table: "line 3" -> "row 3"."""
    return _LINE_N.sub(r"row\1", text) if "line" in text else text


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def split_pointer(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]
