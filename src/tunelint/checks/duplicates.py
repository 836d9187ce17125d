"""D kinds based on hashes: exact duplicates and conflicting answers.

State is two or three ``spill.Column('Q')`` columns (8 bytes per record and column, spilled to
disk past the run's memory budget); grouping happens once in ``finish``, over the columns read
back (the keys and lines: 16 bytes per record, plus numpy's sort above ``NUMPY_FROM`` records).
"""
from __future__ import annotations

from array import array

from ..diagnostic import Edit
from ..model.hashing import h64
from ..formats import dumps_sorted
from .base import DatasetCheck, Finding, FixOffer, count, kind

NUMPY_FROM = 200_000  # group with numpy above this many records (pure Python below: no import cost)


def groups(keys, lines):
    """Yield lists of positions whose keys are equal (only groups of 2+), positions in line order.
    ``keys``/``lines``: arrays or :class:`tunelint.spill.Column`s (read back whole here)."""
    keys, lines = _whole(keys), _whole(lines)
    n = len(keys)
    if n < NUMPY_FROM:
        first: dict[int, int] = {}
        multi: dict[int, list[int]] = {}
        for i, k in enumerate(keys):
            j = first.setdefault(k, i)
            if j != i:
                multi.setdefault(k, [j]).append(i)
        for g in multi.values():
            yield sorted(g, key=lines.__getitem__)
        return
    import numpy as np

    k = np.frombuffer(keys, dtype=np.uint64)
    ln = np.frombuffer(lines, dtype=np.uint64)
    order = np.lexsort((ln, k))
    ks = k[order]
    brk = np.flatnonzero(ks[1:] != ks[:-1]) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [n]))
    for s, e in zip(starts[(ends - starts) > 1], ends[(ends - starts) > 1]):
        yield [int(x) for x in order[s:e]]


def _whole(col):
    """A column (``spill.Column``, read back from disk if it spilled) or an array, as an array."""
    return col.array() if hasattr(col, "array") else col


def prompt_answer(rec) -> tuple[bytes, bytes] | None:
    """The record's prompt (all turns before the last answer) and its last answer, as bytes."""
    turns = rec.turns
    last = None
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].kind == "answer" and not turns[i].branch:
            last = i
            break
    if last is None:
        return None
    if last == 1 and not turns[0].branch:  # one prompt turn (legacy prompt/completion, Alpaca without input)
        t = turns[0]
        key = f"{t.role}\x1f{(t.text or '').strip()}".encode()
    else:
        key = "\x1e".join([f"{t.role}\x1f{(t.text or '').strip()}" for t in turns[:last] if not t.branch]).encode()
    obj = rec.obj
    if isinstance(obj, dict):  # the tools offered are part of the prompt: same question, other tools
        for k in ("tools", "functions"):
            if k in obj:
                key += b"\x1d" + dumps_sorted(obj[k])
    return key, (turns[last].text or "").strip().encode()


def prompt_answer_keys(rec) -> tuple[int, int] | None:
    """64-bit hashes of :func:`prompt_answer`, computed once per record (D002, near-dup rules)."""
    pk = rec.pa_keys
    if pk is None:
        pa = prompt_answer(rec)
        pk = rec.pa_keys = (h64(pa[0]), h64(pa[1]), len(pa[0])) if pa is not None else False
    return pk or None


@kind("exact-duplicate")
class ExactDuplicate(DatasetCheck):
    defaults: dict = {}

    def begin(self, ctx):
        self.keys = ctx.pool.column("Q")
        self.lines = ctx.pool.column("Q")
        self.grouped = None  # [(lines, None)] of each group, when an engine grouped the keys (adopt_groups)

    def observe(self, rec, ctx):
        self.keys.append(rec.key64)
        self.lines.append(rec.line)

    def merge(self, other):
        self.keys.extend_from(other.keys)
        self.lines.extend_from(other.lines)

    def export_keys(self):
        return [_export("copies", "members", self, ("keys", "lines"))]

    def adopt_groups(self, name, result):
        self.grouped = result

    def finish(self, ctx):
        for g in _line_groups(self, self.keys, None):
            first = g[0][0]
            for line in g[0][1:]:
                yield Finding(line=line, args={"first": first, "copies": len(g[0])}, related=(first,),
                              fix=FixOffer(f"drop this copy (keep line {first})", (Edit("drop"),)))


def _export(name: str, mode: str, chk, attrs: tuple):
    """A ``members`` key table of ``chk``'s columns (key, lines[, payload]); the check keeps
    empty columns (the keys are grouped elsewhere and come back through ``adopt_groups``)."""
    import numpy as np

    from ..keygroups import KeyTable

    cols = [getattr(chk, a).numpy(np.uint64) for a in attrs]  # the checks' state is spill.Columns
    for a in attrs:
        getattr(chk, a).clear()  # empty, still mergeable
    return KeyTable(name, mode, cols[0], cols[1], cols[2] if len(cols) > 2 else None)


def _line_groups(chk, keys: array, payload: array | None):
    """``(lines, payloads)`` of each group of 2+ equal keys, members in line order: adopted
    from an engine's grouping, else grouped here."""
    if chk.grouped is not None:
        return chk.grouped
    lines = _whole(chk.lines)
    payload = None if payload is None else _whole(payload)
    return [(tuple(lines[i] for i in g), None if payload is None else tuple(payload[i] for i in g))
            for g in groups(keys, lines)]


@kind("conflicting-answers")
class ConflictingAnswers(DatasetCheck):
    defaults = {"min-prompt-chars": count(1)}

    def begin(self, ctx):
        self.pkeys = ctx.pool.column("Q")
        self.akeys = ctx.pool.column("Q")
        self.lines = ctx.pool.column("Q")
        self.grouped = None  # [(lines, answer keys)] of each group, when an engine grouped the keys

    def observe(self, rec, ctx):
        if isinstance(rec.obj, dict) and isinstance(rec.obj.get("label"), bool):
            return  # KTO data pairs one prompt with good and bad answers on purpose
        pk = prompt_answer_keys(rec)
        if pk is None or pk[2] < self.p["min-prompt-chars"]:
            return
        self.pkeys.append(pk[0])
        self.akeys.append(pk[1])
        self.lines.append(rec.line)

    def merge(self, other):
        for a in ("pkeys", "akeys", "lines"):
            getattr(self, a).extend_from(getattr(other, a))

    def export_keys(self):
        return [_export("prompts", "members", self, ("pkeys", "lines", "akeys"))]

    def adopt_groups(self, name, result):
        self.grouped = result

    def finish(self, ctx):
        for lines, akeys in _line_groups(self, self.pkeys, self.akeys):
            answers = set(akeys)
            if len(answers) < 2:
                continue  # same prompt, same answer: an exact duplicate (D001), not a conflict
            first_line = lines[0]
            seen = {akeys[0]}
            for line, a in zip(lines[1:], akeys[1:]):
                if a in seen:
                    continue
                seen.add(a)
                yield Finding(line=line, args={"first": first_line, "answers": len(answers), "records": len(lines)},
                              related=(first_line,), fix=FixOffer("drop this conflicting record (keep the first)", (Edit("drop"),)))
