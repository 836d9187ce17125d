"""Where a JSON pointer's value starts in a JSONL line: the column for a diagnostic.

``column_of(line_bytes, pointer) -> int`` scans the raw bytes of one JSON text (a JSONL line,
possibly with a UTF-8 BOM) without building the parsed value and returns the 1-based column,
counted in characters (Unicode code points, like ``path:line:col`` in editors), where the value
at ``pointer`` (RFC 6901) starts. Object members match on their *decoded* key (escapes such as
``\\u00e9`` or ``\\/`` are understood); with duplicate keys the last one wins, as in the parsed
record. ``""`` is the whole value. Whenever the line is not valid JSON up to the target or the
pointer does not resolve, the answer is ``1`` (never an exception).
"""
from __future__ import annotations

import json

_WS = b" \t\r\n"
_SCALAR_END = b" \t\r\n,]}"


class _Bad(Exception):
    pass


def _split(pointer: str) -> list[str] | None:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        return None
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _ws(b: bytes, i: int) -> int:
    n = len(b)
    while i < n and b[i] in _WS:
        i += 1
    return i


def _string_end(b: bytes, i: int) -> int:
    """``b[i]`` is the opening quote; return the index just after the closing quote."""
    n = len(b)
    i += 1
    while i < n:
        c = b[i]
        if c == 0x5C:  # backslash: skip the escaped byte (\uXXXX's digits are plain bytes)
            i += 2
            continue
        if c == 0x22:
            return i + 1
        i += 1
    raise _Bad


def _skip(b: bytes, i: int) -> int:
    """Skip one JSON value starting at ``i`` (no whitespace before it); return the index after it."""
    n = len(b)
    if i >= n:
        raise _Bad
    c = b[i]
    if c == 0x22:
        return _string_end(b, i)
    if c in b"{[":
        depth = 0
        while i < n:
            c = b[i]
            if c == 0x22:
                i = _string_end(b, i)
                continue
            if c in b"{[":
                depth += 1
            elif c in b"}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise _Bad
    start = i
    while i < n and b[i] not in _SCALAR_END:
        i += 1
    if i == start:
        raise _Bad
    return i


def _key(b: bytes, start: int, end: int) -> str:
    raw = b[start:end]
    if b"\\" not in raw:
        return raw[1:-1].decode("utf-8", errors="replace")
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        raise _Bad from None


def _member(b: bytes, i: int, token: str) -> int | None:
    """``b[i]`` is ``{``: the start index of member ``token``'s value (last one wins)."""
    found = None
    i = _ws(b, i + 1)
    if i < len(b) and b[i] == 0x7D:
        return None
    while True:
        if i >= len(b) or b[i] != 0x22:
            raise _Bad
        end = _string_end(b, i)
        key = _key(b, i, end)
        i = _ws(b, end)
        if i >= len(b) or b[i] != 0x3A:
            raise _Bad
        i = _ws(b, i + 1)
        if key == token:
            found = i
        i = _ws(b, _skip(b, i))
        if i < len(b) and b[i] == 0x2C:
            i = _ws(b, i + 1)
            continue
        if i < len(b) and b[i] == 0x7D:
            return found
        raise _Bad


def _element(b: bytes, i: int, token: str) -> int | None:
    """``b[i]`` is ``[``: the start index of element number ``token``."""
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        return None
    want = int(token)
    i = _ws(b, i + 1)
    if i < len(b) and b[i] == 0x5D:
        return None
    k = 0
    while True:
        if k == want:
            return i
        i = _ws(b, _skip(b, i))
        if i < len(b) and b[i] == 0x2C:
            i = _ws(b, i + 1)
            k += 1
            continue
        return None


def offset_of(line_bytes: bytes, pointer: str) -> int | None:
    """0-based byte offset in ``line_bytes`` where the value at ``pointer`` starts, or None."""
    tokens = _split(pointer)
    if tokens is None:
        return None
    b = line_bytes
    try:
        i = 3 if b.startswith(b"\xef\xbb\xbf") else 0
        i = _ws(b, i)
        for tok in tokens:
            if i >= len(b):
                return None
            c = b[i]
            if c == 0x7B:
                nxt = _member(b, i, tok)
            elif c == 0x5B:
                nxt = _element(b, i, tok)
            else:
                return None
            if nxt is None:
                return None
            i = nxt
        return i if i < len(b) else None
    except (_Bad, IndexError):
        return None


def column_of(line_bytes: bytes, pointer: str) -> int:
    """1-based column (in characters) where the value at ``pointer`` starts; 1 if unknown."""
    off = offset_of(line_bytes, pointer)
    if off is None:
        return 1
    head = line_bytes[:off]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return len(head.decode("utf-8", errors="replace")) + 1


def relative_path(path: str, base: str | None = None) -> str:
    """``path`` relative to ``base`` (default: the current directory) with ``/`` separators,
    for machine outputs (SARIF, GitLab, JUnit); absolute when it lies outside ``base``."""
    import os

    if path in ("-", "<stdin>"):
        return path
    base = os.path.abspath(base or os.curdir)
    ab = os.path.abspath(path)
    try:
        rel = os.path.relpath(ab, base)
    except ValueError:  # another drive on Windows
        rel = ab
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        rel = ab
    return rel.replace(os.sep, "/")
