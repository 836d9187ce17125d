"""The one data type every check produces and every renderer consumes.

The JSON shape of :func:`Diagnostic.to_dict` is stable (documented in README.md):
additive changes only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .model.diagnostic import EditOp

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
