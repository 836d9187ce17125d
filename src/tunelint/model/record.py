"""The record model every layer shares: a parsed record (:class:`Record`) with its
normalized turns (:class:`Turn`) and the structural problems the normalizer found
(:class:`Problem`, ids in :data:`PROBLEMS`). Moved here from ``formats`` (which re-exports
them); imports nothing of tunelint outside ``model/``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .hashing import h64


@dataclass(slots=True)
class Turn:
    role: str  # normalized: system/developer/user/assistant/tool/tool_call
    text: str | None
    pointer: str  # JSON pointer to the string (or to the message when there is no text)
    kind: str  # system | prompt | input | answer | tool
    field: str  # original field name ("content", "value", "output", "completion", ...)
    branch: str = ""  # "" or "chosen"/"rejected" for preference pairs
    index: int = 0  # message index inside its list (-1 for scalar fields)


#: every id a :class:`Problem` may carry (what an F rule's ``problem`` parameter may name; a rule
#: naming another id is a config error). Add an id here when the normalizer reports a new one.
PROBLEMS = ("not-object", "unknown-format", "unknown-key", "missing-key", "wrong-type", "empty-messages",
            "unknown-role", "weight-invalid", "system-not-first", "no-assistant", "not-ending-assistant",
            "role-not-alternating", "tool-undeclared", "tool-args-invalid", "dpo-identical", "pair-prompt-differs",
            "not-ending-user")


@dataclass(slots=True)
class Problem:
    problem: str  # id matched by F rules' `problem` parameter
    pointer: str
    message: str
    column: int = 0
    repair: Any = None  # (pointer, new value): the one clear repair, offered as the F rule's fix


@dataclass(slots=True)
class Record:
    path: str
    line: int
    column: int
    index: int  # 0-based record number in the file
    obj: Any
    data: bytes  # the record's source bytes (JSONL line or array element)
    format: str = "unknown"
    detected: str = "unknown"  # what detect() said of this record alone
    turns: list[Turn] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _hash: str | None = None
    _canon: bytes | None = None
    offset: int = -1  # byte offset of ``data`` in a plain file (re-readable); -1 = unknown
    _key64: int | None = None
    pa_keys: Any = None  # (prompt hash, answer hash) or False, computed once (checks.duplicates)
    mapped: bool = False  # ``obj`` is the record renamed by a column/role mapping (tunelint.mapping)

    @property
    def canonical(self) -> bytes:
        if self._canon is None:
            self._canon = dumps_sorted(self.obj)
        return self._canon

    @property
    def key64(self) -> int:
        """A 64-bit hash of the canonical JSON: the identity of an exact duplicate."""
        if self._key64 is None:
            self._key64 = h64(self.canonical)
        return self._key64

    @property
    def hash(self) -> str:
        if self._hash is None:
            import hashlib

            self._hash = hashlib.blake2b(self.canonical, digest_size=12).hexdigest()
        return self._hash

    def texts(self, kinds: frozenset[str] | None = None):
        for t in self.turns:
            if t.text is not None and (kinds is None or t.kind in kinds):
                yield t

    def answers(self) -> list[Turn]:
        return [t for t in self.turns if t.kind == "answer"]


def dumps_sorted(v: Any, sort: bool = True) -> bytes:
    """Compact JSON (keys sorted unless ``sort`` is false). orjson refuses values nested deeper
    than 255 levels (a record it parsed may nest up to 1,024): those are written, keys sorted,
    by :func:`_dumps_deep`."""
    try:
        return orjson.dumps(v, option=orjson.OPT_SORT_KEYS if sort else None)
    except TypeError:
        return _dumps_deep(v)


def _dumps_deep(v: Any) -> bytes:
    """Sorted-key JSON of any parsed value without recursion (one explicit stack)."""
    out: list[bytes] = []
    stack: list[Any] = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, bytes):  # a piece of punctuation pushed below
            out.append(x)
        elif isinstance(x, dict):
            items = sorted(x.items())
            stack.append(b"}")
            for i in range(len(items) - 1, -1, -1):
                k, val = items[i]
                stack.append(val)
                stack.append(orjson.dumps(k) + b":")
                if i:
                    stack.append(b",")
            stack.append(b"{")
        elif isinstance(x, list):
            stack.append(b"]")
            for i in range(len(x) - 1, -1, -1):
                stack.append(x[i])
                if i:
                    stack.append(b",")
            stack.append(b"[")
        else:
            out.append(orjson.dumps(x))
    return b"".join(out)
