"""How each edit op is applied: the :data:`EDIT_APPLIERS` table (op -> function).

The fixer never asks which rule or kind made an edit. It asks the op's scope
(:attr:`tunelint.model.diagnostic.EditOp.scope`) *when* to apply it, and this table *how*:
every applier takes the thing its scope names and the edit, and returns the new thing,
``None`` when the thing is removed (a line, a record), or :data:`SKIP` when the edit does not
apply to it (a substitution on a value that is no longer a string).

==============  =======  ====================================  ==================================
op              scope    applier(target, edit)                 target
==============  =======  ====================================  ==================================
``set``         value    ``edit.value``                        the value at ``edit.pointer``
``sub``         value    ``re.sub(pattern, repl, target)``     the string at ``edit.pointer``
``drop``        record   ``None`` (to the rejects file)        the record's bytes
``line``        line     the new line's bytes, None: removed   the physical line's bytes
``line-endings`` file    ``to`` when the ending is ``from``    every line ending of the output
==============  =======  ====================================  ==================================

A file-scope edit's value is ``(from, to)`` (what the ``--changes`` file shows as before and
after); adding an op means an :class:`EditOp` member, its scope and one applier here.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import orjson

from ..diagnostic import Edit, escape_pointer_token, split_pointer
from ..model.diagnostic import EditOp
from ..reader import BOM

#: an applier's answer when its edit does not apply to the target
SKIP = object()
#: what :func:`loads` returns for bytes that are not JSON
MISSING = object()


def _set(before: Any, e: Edit) -> Any:
    return e.value


def _sub(before: Any, e: Edit) -> Any:
    if not isinstance(before, str):
        return SKIP
    pattern, repl = e.value
    return re.sub(pattern, lambda m: repl, before)


def _drop(record: bytes, e: Edit) -> None:
    return None


def _line(line: bytes, e: Edit) -> bytes | None:
    if e.value is None:
        return None
    return e.value if isinstance(e.value, bytes) else str(e.value).encode()


def _line_ending(ending: bytes, e: Edit) -> bytes:
    frm, to = e.value
    return to.encode() if ending == frm.encode() else ending


#: op -> applier(target, edit) -> new target (None: removed; SKIP: does not apply)
EDIT_APPLIERS: dict[EditOp, Callable[[Any, Edit], Any]] = {
    EditOp.SET: _set,
    EditOp.SUB: _sub,
    EditOp.DROP: _drop,
    EditOp.LINE: _line,
    EditOp.LINE_ENDINGS: _line_ending,
}


def apply(target: Any, e: Edit) -> Any:
    """``EDIT_APPLIERS[e.op](target, e)``."""
    return EDIT_APPLIERS[e.op](target, e)


def edits_of(ds, scope: str) -> list[tuple[Any, Edit]]:
    """``(diagnostic, edit)`` for every edit of ``scope`` that the diagnostics ``ds`` carry."""
    return [(d, e) for d in ds for e in d.fix.edits if e.op.scope == scope]


# -- JSON pointers -------------------------------------------------------------------------
def get_pointer(obj: Any, ptr: str) -> Any:
    cur = obj
    for t in split_pointer(ptr):
        if isinstance(cur, list):
            cur = cur[int(t)]
        elif isinstance(cur, dict):
            cur = cur[t]
        else:
            raise KeyError(t)
    return cur


def set_pointer(obj: Any, ptr: str, value: Any) -> Any:
    toks = split_pointer(ptr)
    if not toks:
        return value
    cur = get_pointer(obj, "".join("/" + escape_pointer_token(t) for t in toks[:-1]))
    last = toks[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    elif isinstance(cur, dict):
        cur[last] = value
    else:
        raise KeyError(last)
    return obj


def overlaps(a: str, b: str) -> bool:
    """Whether two pointers name the same value or one holds the other ("" holds all)."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/") or not a or not b


# -- record bytes ------------------------------------------------------------------------------
def loads(data: bytes):
    """The JSON value of ``data`` (invalid UTF-8 replaced), or :data:`MISSING`."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return orjson.loads(data.decode("utf-8", errors="replace"))
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            return MISSING


def parses(data: bytes) -> bool:
    """Whether a record's bytes (a BOM allowed) are JSON or blank."""
    d = data[3:] if data.startswith(BOM) else data
    return not d.strip() or loads(d) is not MISSING
