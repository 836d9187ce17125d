"""A sharded dataset (``data/train-00000-of-00002.parquet``, ``data-00000-of-00003.arrow``) is one
dataset: its shards are read one after the other as the parts of one file, so the dataset rules
(duplicates, near-duplicates, conflicting answers, mixed formats, term and style drift) see every
shard, and each finding is reported at its own shard and row.

Rows are numbered on across the set while it is checked (shard 2's first row follows shard 1's
last); every diagnostic is then given back its shard's path and its row there, and a row number
in a message that lies in another shard names that shard ("row 3 of train-00000-of-00002.parquet").
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Iterator

from ..diagnostic import Diagnostic

SHARD = re.compile(r"^(?P<prefix>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})(?P<ext>\.[A-Za-z0-9.]+)$")


def shard_sets(paths: list[str]) -> list[str | list[str]]:
    """``paths`` in order, the shards of one set (same folder, prefix, count and extension; two
    or more of them) gathered into one list at the place of the first."""
    groups: dict[tuple, list[str]] = {}
    for p in paths:
        m = SHARD.match(os.path.basename(p)) if p != "-" else None
        if m is not None:
            groups.setdefault((os.path.dirname(p), m["prefix"], m["n"], m["ext"].lower()), []).append(p)
    out: list[str | list[str]] = []
    done: set[tuple] = set()
    for p in paths:
        m = SHARD.match(os.path.basename(p)) if p != "-" else None
        key = (os.path.dirname(p), m["prefix"], m["n"], m["ext"].lower()) if m is not None else None
        if key is None or len(groups[key]) < 2:
            out.append(p)
        elif key not in done:
            done.add(key)
            out.append(sorted(groups[key]))
    return out


class _Shifted:
    """A source whose records are numbered on from ``offset`` (the rows of the shards before)."""

    def __init__(self, src, offset: int):
        self.src = src
        self.offset = offset

    def __getattr__(self, name):
        return getattr(self.src, name)

    def __iter__(self) -> Iterator:
        from ..reader import Chunk, PhysLine

        off = self.offset
        for item in self.src:
            if off and isinstance(item, PhysLine):
                item = replace(item, line=item.line + off)
            elif off and isinstance(item, Chunk):
                item = replace(item, line=item.line + off,
                               phys=replace(item.phys, line=item.phys.line + off) if item.phys is not None else None)
            yield item


def run_shard_set(paths: list[str], config, progress=None, sinks=()) -> tuple[list[Diagnostic], list]:
    """Every diagnostic of the shard set (each at its shard and row) and each shard's stats.
    Falls back to one run per shard when a dataset rule cannot merge parts."""
    from ..reader import Source
    from .filerun import FileRun

    runs: list[FileRun] = []
    starts: list[int] = []
    diags: list[Diagnostic] = []
    offset = 0
    for p in paths:
        run = FileRun(p, config, progress=progress, source=_Shifted(Source(p, mode=None), offset))
        if runs and not run.mergeable:
            return _apart(paths, config, progress, sinks)
        for s in sinks:
            s.start_file(run)
        for ev in run.events():
            diags.extend(ev.diagnostics)
            if sinks and ev.record is not None:
                for s in sinks:
                    s.record(ev.record, run)
        diags.extend(run.finish(checks=[]))  # its file-level diagnostics
        if runs:
            runs[0].merge(run.state())
        starts.append(offset)
        runs.append(run)
        # JSONL: the last (shifted) physical line; tables: rows have no physical lines
        offset = run.stats.lines if run.stats.lines else offset + run.stats.records
    diags.extend(runs[0].finish(file_diags=False))  # the dataset rules, over every shard
    where = _Locator([r.display for r in runs], starts)
    return [where.local(d) for d in diags], [r.stats for r in runs]


def _apart(paths, config, progress, sinks):
    from .filerun import FileRun

    diags, stats = [], []
    for p in paths:
        run = FileRun(p, config, progress=progress)
        diags.extend(run.run(sinks))
        stats.append(run.stats)
    return diags, stats


class _Locator:
    """Set-wide row numbers -> (shard, row in it)."""

    ROW = re.compile(r"\b(rows?|lines?) (\d[\d,]*)")

    def __init__(self, names: list[str], starts: list[int]):
        self.names = names
        self.starts = starts

    def at(self, n: int) -> tuple[int, int]:
        k = 0
        for i, s in enumerate(self.starts):
            if n > s:
                k = i
        return k, n - self.starts[k]

    def local(self, d: Diagnostic) -> Diagnostic:
        if d.path not in self.names or d.line < 1:
            return d
        k, row = self.at(d.line)
        msg = self.ROW.sub(lambda m: self._named(m, k), d.message).replace(" in this file", " in these shards")
        related = tuple(self.at(r)[1] for r in d.related if self.at(r)[0] == k)
        return replace(d, path=self.names[k], line=row, message=msg, related=related)

    def _named(self, m: re.Match, own: int) -> str:
        n = int(m[2].replace(",", ""))
        k, row = self.at(n)
        return f"{m[1]} {row:,}" + ("" if k == own else f" of {os.path.basename(self.names[k])}")
