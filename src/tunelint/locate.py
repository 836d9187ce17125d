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
import re

from .model.markers import BOM


class _Bad(Exception):
    pass


def _split(pointer: str) -> list[str] | None:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        return None
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


_WS_RE = re.compile(rb"[ \t\r\n]*")
_SPECIAL_RE = re.compile(rb'["{}\[\]]')
_SCALAR_RE = re.compile(rb"[^ \t\r\n,\]}]+")


def _ws(b: bytes, i: int) -> int:
    return _WS_RE.match(b, i).end()  # type: ignore[union-attr]


def _string_end(b: bytes, i: int) -> int:
    """``b[i]`` is the opening quote; return the index just after the closing quote."""
    j = i + 1
    while True:
        q = b.find(b'"', j)
        if q < 0:
            raise _Bad
        k = q - 1
        while b[k] == 0x5C:  # count the backslashes before the quote
            k -= 1
        if (q - 1 - k) % 2 == 0:
            return q + 1
        j = q + 1


def _skip(b: bytes, i: int) -> int:
    """Skip one JSON value starting at ``i`` (no whitespace before it); return the index after it."""
    if i >= len(b):
        raise _Bad
    c = b[i]
    if c == 0x22:
        return _string_end(b, i)
    if c in b"{[":
        depth = 0
        search = _SPECIAL_RE.search
        while True:
            m = search(b, i)
            if m is None:
                raise _Bad
            i = m.start()
            c = b[i]
            if c == 0x22:
                i = _string_end(b, i)
                continue
            if c in b"{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    m = _SCALAR_RE.match(b, i)
    if m is None:
        raise _Bad
    return m.end()


def _key(b: bytes, start: int, end: int) -> str:
    raw = b[start:end]
    if b"\\" not in raw:
        return raw[1:-1].decode("utf-8", errors="replace")
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        raise _Bad from None


def _member(b: bytes, i: int, token: str) -> int | None:
    """``b[i]`` is ``{``: the start index of member ``token``'s value (last one wins; the
    last one seen if the object breaks off after it)."""
    found: list[int] = []
    try:
        return _members(b, i, token, found)
    except _Bad:
        if found:
            return found[-1]
        raise


def _members(b: bytes, i: int, token: str, found: list[int]) -> int | None:
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
            found.append(i)
        i = _ws(b, _skip(b, i))
        if i < len(b) and b[i] == 0x2C:
            i = _ws(b, i + 1)
            continue
        if i < len(b) and b[i] == 0x7D:
            return found[-1] if found else None
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
        i = 3 if b.startswith(BOM) else 0
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
    if head.startswith(BOM):
        head = head[3:]
    return len(head.decode("utf-8", errors="replace")) + 1


def line_column_of(data: bytes, pointer: str, line: int = 1, column: int = 1) -> tuple[int, int]:
    """(line, column) of the value at ``pointer`` in a record's bytes that start at ``line``,
    ``column`` of the file: for JSONL pass the line and 1; for a JSON-array element (which may
    span lines) pass the element's start line and column. Falls back to ``(line, column)``."""
    off = offset_of(data, pointer)
    if off is None:
        return line, column
    head = data[:off]
    nl = head.count(b"\n")
    if nl:
        return line + nl, len(head[head.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
    if head.startswith(BOM):
        head = head[3:]
    return line, column + len(head.decode("utf-8", errors="replace"))


def line_column_in_string(data: bytes, pointer: str, char_offset: int, line: int = 1, column: int = 1) -> tuple[int, int]:
    """(line, column) of the character at ``char_offset`` of the *decoded* JSON string at
    ``pointer`` (a Python ``str`` index): the raw string is walked so escapes (``\\n``,
    ``\\u00e9``, surrogate pairs) and multi-byte UTF-8 count as they appear in the file. Falls
    back to the value's start, then to ``(line, column)``."""
    off = offset_of(data, pointer)
    ln, col = line_column_of(data, pointer, line, column)
    if off is None or data[off:off + 1] != b'"' or char_offset < 0:
        return ln, col
    b = data
    i, n, raw = off + 1, 0, 1  # raw: characters walked in the file, the opening quote included
    try:
        while n < char_offset:
            c = b[i]
            if c == 0x22:  # the closing quote: the offset is past the end
                return ln, col
            if c == 0x5C:  # backslash escape
                if b[i + 1] == 0x75:  # \uXXXX, maybe a surrogate pair (one Python character)
                    cp = int(b[i + 2:i + 6], 16)
                    i, raw = i + 6, raw + 6
                    if 0xD800 <= cp < 0xDC00 and b[i:i + 2] == b"\\u":
                        i, raw = i + 6, raw + 6
                else:
                    i, raw = i + 2, raw + 2
            else:
                i += 1 if c < 0x80 else 2 if c < 0xE0 else 3 if c < 0xF0 else 4
                raw += 1
            n += 1
    except (IndexError, ValueError):
        return ln, col
    return ln, col + raw


def value_at(obj, pointer: str):
    """The value at an RFC 6901 ``pointer`` in a parsed record, or None."""
    from .diagnostic import split_pointer

    for tok in split_pointer(pointer):
        if isinstance(obj, dict):
            obj = obj.get(tok)
        elif isinstance(obj, list) and tok.isdigit() and int(tok) < len(obj):
            obj = obj[int(tok)]
        else:
            return None
    return obj


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
