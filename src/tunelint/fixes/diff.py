"""``tunelint fix --diff``: a unified diff of a file and its fixed output."""
from __future__ import annotations

import gzip
from typing import BinaryIO

from .writer import LineMap


def read_lines(path: str) -> list[bytes]:
    with open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        return f.read().splitlines(keepends=True)


def write_diff(out: BinaryIO, a_path: str, b_path: str, a_name: str, b_name: str, line_map: "LineMap", jsonl: bool) -> None:
    """A unified diff (no context lines) of input and output."""
    a = read_lines(a_path)
    b = read_lines(b_path)
    out.write(f"--- {a_name}\n+++ {b_name}\n".encode())
    if not jsonl:
        import difflib

        for ln in difflib.diff_bytes(difflib.unified_diff, a, b, n=1):
            if ln.startswith((b"---", b"+++")):
                continue
            out.write(ln if ln.endswith(b"\n") else ln + b"\n\\ No newline at end of file\n")
        return
    # JSONL: records are never reordered, so output line j came from input line line_map[j]
    # (or is a kept blank line, matched in order).
    hunks = []
    ai = 0  # 0-based index into a
    for bj, bl in enumerate(b):
        src = line_map.get(bj + 1)
        if src is None:  # a blank line kept as is: the next blank input line
            while ai < len(a) and a[ai].strip():
                hunks.append((ai, [a[ai]], bj, []))
                ai += 1
            src = ai + 1
        while ai < src - 1:
            hunks.append((ai, [a[ai]], bj, []))
            ai += 1
        if ai < len(a) and a[ai] != bl:
            hunks.append((ai, [a[ai]], bj, [bl]))
        ai += 1
    while ai < len(a):
        hunks.append((ai, [a[ai]], len(b), []))
        ai += 1
    merged = []
    for h in hunks:
        if merged and merged[-1][0] + len(merged[-1][1]) == h[0] and merged[-1][2] + len(merged[-1][3]) == h[2]:
            merged[-1] = (merged[-1][0], merged[-1][1] + h[1], merged[-1][2], merged[-1][3] + h[3])
        else:
            merged.append(h)
    for a0, old, b0, new in merged:
        astart = a0 + 1 if old else a0
        bstart = b0 + 1 if new else b0
        out.write(f"@@ -{astart},{len(old)} +{bstart},{len(new)} @@\n".encode())
        for ln in old:
            out.write(b"-" + ln + (b"" if ln.endswith(b"\n") else b"\n\\ No newline at end of file\n"))
        for ln in new:
            out.write(b"+" + ln + (b"" if ln.endswith(b"\n") else b"\n\\ No newline at end of file\n"))

