"""The near-duplicate analysis (the library behind the D003-D007 kinds of
:mod:`tunelint.checks.neardup`, as :mod:`tunelint.formcount` is T001's).

D kinds for *near* duplicates, near-conflicts and train/eval leakage (D003-D007).

One shared analysis per file serves all five rules (``NearDupState`` hangs off the
``FileContext``; the first rule instance to ``begin`` owns it and feeds it records).

State per record, kept in compact columns (``spill.Column``: written to disk past the run's
``--memory`` budget; see tunelint.minhash for the hashing):
- ``BANDS`` uint32 LSH band keys for the prompt and for the answer (256 bytes/record), band-major
  (one column per band: ``finish`` reads one band at a time);
- the record's line, a 64-bit hash of its canonical JSON (D001 identity) and of its D002
  prompt key (exact-prompt identity), a flag for preference/KTO records;
- where to find the texts again. Every input keeps the texts in one UTF-8 buffer per batch, up
  to ``TEXT_BUDGET``; past it, under a ``--memory`` budget (the CLI's default), each further
  batch's buffer is appended to a file in the run's spill directory (``_TextFile``: 16
  bytes/record stay; disk: about the texts' size) and read back per record. Without a budget
  (the ``FileRun`` API, Ray actors), a plain JSONL file's batch (``Record.offset >= 0``) is kept
  as the records' (offset, length) in the file plus their format (17 bytes/record), and
  candidate pairs are re-read, parsed and normalized again in ``finish``. A batch is kept that
  way only if the file at ``_Store.path`` holds exactly the batch's bytes at those offsets
  (checked with one read per batch), so a display path that is not the file being read (the
  fixer's temporary files) or a file that changes while it is read falls back to the in-memory
  form; inputs without offsets (gzip, JSON arrays, stdin) keep their texts in memory then.
  Memory is therefore ~300 bytes/record under a budget and for plain JSONL, ~ the size of the
  text + 280 bytes/record else.
  A record that no longer reads back the same (the file changed after it was indexed) is left
  out of every comparison and counted in a finding, never compared as an empty text.

``finish``: band keys (one band at a time) -> candidate pairs (each bucket member is paired
with the bucket's first member and its predecessor) -> at most ``PARTNERS`` pairs per record with
an earlier one, those linked in the most bands first (``minhash.bounded``: on templated data,
where many records share parts of their texts, the work stays linear; a record that belongs to
a cluster needs one verified link to it) -> every kept candidate is verified with
rapidfuzz (normalized Indel similarity, ``fuzz.ratio``, of the normalized texts, with a cutoff
first: most candidates are rejected; pairs of the same canonical record need no texts; pairs
are taken breadth-first over the graph they form, so the bounded texts cache reads each record
about once) -> union-find clusters per rule, whose representative is the earliest line. Each
reported record names a verified record it matched (exact similarities in %), and its
cluster's representative and size (the cluster is transitive: the representative may be
linked through other members).

The prompt for these rules is the user side only: every turn before the last answer except
system prompts (a shared system prompt would make every record look alike), plus the tools offered. Prompt
similarity is the *minimum* over its parts (Alpaca instruction and input, each chat turn), so
"Classify: cat" and "Classify: dog" are not near-identical prompts.
"""
from __future__ import annotations

import os
import re
from array import array
from bisect import bisect_right
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

import orjson

from .checks.duplicates import h64, prompt_answer_keys
from .formats import FORMATS, Normalizer, Record, dumps_sorted, record_format
from .reader import BOM
from .spill import pool as spill_pool

if TYPE_CHECKING:  # pragma: no cover
    from .checks.base import DatasetCheck

BATCH = 4096  # records per hashing batch ...
BATCH_CHARS = 750_000  # ... or fewer when their text is long (bounds the batch's temporary arrays: ~50 bytes per byte of text)
PART = "\x1f"
_NONWORD = re.compile(r"[\W_]+")
PREFERENCE = frozenset({"dpo", "preference"})
_FMTS = ("unknown",) + FORMATS  # a record's format, stored as its index here
_FCODE = {f: i for i, f in enumerate(_FMTS)}
SMALL_CHARS = 400_000  # at most this much text in all: pure-Python MinHash (no numpy import, same keys)
TEXT_BUDGET = 32_000_000  # a source keeps up to this many bytes of texts in memory before using offsets
PARTNERS = 8  # each record is verified against at most this many earlier candidates (minhash.bounded; benchmarks/README.md, design measurements)
FORK_PAIRS = 20_000  # with --jobs, at least this many candidate pairs per process verifying them
CACHE_BYTES = 32_000_000  # at least this much of normalized texts is kept for re-use while verifying pairs (cache_bytes)


def cache_bytes() -> int:
    """The bytes of normalized texts kept for re-use while verifying pairs: half of this
    process's share of ``--memory`` (``spill.pool().limit``; 125 MB at the default 1 GB and
    ``--jobs 1``), at least ``CACHE_BYTES``; ``4 * CACHE_BYTES`` without a bound. A miss re-reads
    and normalizes the record again (benchmarks/README.md, design measurements)."""
    from . import spill

    limit = spill.pool().limit
    return 4 * CACHE_BYTES if limit is None else max(CACHE_BYTES, limit // 2)


class Texts:
    """A record's normalized texts as the verifier compares them: the prompt's parts and the
    answer; the numbers each holds are found on first use (only verified pairs need them)."""

    __slots__ = ("parts", "answer", "_pn", "_an")

    def __init__(self, parts: list[str], answer: str):
        self.parts, self.answer = parts, answer
        self._pn = self._an = None

    def __eq__(self, other):
        return isinstance(other, Texts) and (self.parts, self.answer) == (other.parts, other.answer)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Texts({self.parts!r}, {self.answer!r})"

    @property
    def prompt_numbers(self) -> frozenset:
        if self._pn is None:
            self._pn = _numbers(" ".join(self.parts))
        return self._pn

    @property
    def answer_numbers(self) -> frozenset:
        if self._an is None:
            self._an = _numbers(self.answer)
        return self._an


_GONE = Texts([], "")  # a record that no longer reads back: compared with nothing


def _split(rec):
    """(prompt parts, answer) of a record: user-side turns before the last answer, last answer."""
    turns = rec.turns
    last = None
    for i in range(len(turns) - 1, -1, -1):
        t = turns[i]
        if t.kind == "answer" and t.branch in ("", "chosen"):
            last = i
            break
    if last is None:
        parts = [t.text for t in turns if t.text and t.kind != "system" and not t.branch]
        return parts, ""
    parts = [t.text for t in turns[:last] if t.text and t.kind != "system" and t.branch in ("", turns[last].branch)]
    return parts, turns[last].text or ""


class _Store:
    """Columns for one source (the checked file, or one --against file)."""

    def __init__(self, d002: bool = True):
        from .minhash import BANDS

        col = spill_pool().column  # columns spill to disk past the run's memory budget
        self.d002 = d002  # keep D002's prompt/answer identity (only when D002 runs: we defer to it)
        self.lines = col("Q")
        self.rkeys = col("Q")  # canonical JSON hash (exact duplicate identity)
        self.pkeys = col("Q")  # D002 prompt key hash (exact same prompt identity)
        self.akeys = col("Q")  # D002 answer hash
        self.pref = col("B")  # 1 = preference/KTO record: answers differ by design
        # band-major: one uint32 column per band (prompt side, answer side), read one at a time
        self.pband = [col("I") for _ in range(BANDS)]
        self.aband = [col("I") for _ in range(BANDS)]
        self.pvalid = col("B")  # 1 = the text has a signature (at least one word)
        self.avalid = col("B")
        self.bufs = []  # per batch: (bytes, ends) with docs p0, a0, p1, a1, ..., or _Offsets
        self.pending: list[str] = []
        self.pending_chars = 0
        self.path: str | None = None  # absolute path of the plain file that record offsets refer to
        self.pending_file: list | None = []  # (offset, bytes, format code) of the pending batch; None = keep texts
        self.gone: set[int] = set()  # records that did not read back the same in texts()
        self.held = 0  # bytes of texts kept in memory (up to TEXT_BUDGET, then offsets)

    def __len__(self):
        return len(self.lines)

    def add(self, rec) -> None:
        prompt, answer = _texts(rec)
        obj = rec.obj
        code = _FCODE.get(rec.format)
        if self.pending_file is not None and rec.offset >= 0 and code is not None and self.path:
            self.pending_file.append((rec.offset, rec.data, code))
        else:
            self.pending_file = None  # this batch keeps its texts
        self.pending.append(prompt)
        self.pending.append(answer)
        self.pending_chars += len(prompt) + len(answer)
        self.lines.append(rec.line)
        self.rkeys.append(rec.key64)  # h64(rec.canonical), shared with D001
        pa = prompt_answer_keys(rec) if self.d002 else None  # shared with D002
        if pa is not None:
            self.pkeys.append(pa[0])
            self.akeys.append(pa[1])
        else:  # a key of its own (nothing is left to D002): from its place in the file, so
            # parts checked apart (--jobs) never share one, as their record counts would
            self.pkeys.append(h64(b"record at %d:%d" % (rec.line, rec.column)))
            self.akeys.append(0)
        self.pref.append(1 if rec.format in PREFERENCE or (isinstance(obj, dict) and isinstance(obj.get("label"), bool)) else 0)
        if len(self.pending) >= 2 * BATCH or self.pending_chars >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        from . import minhash

        buf, ends = minhash.encode_batch(self.pending)
        self.pending = []
        self.pending_chars = 0
        sig, has = minhash.signatures(buf, ends)
        keys = minhash.band_keys(sig)
        for b, (pc, ac) in enumerate(zip(self.pband, self.aband)):
            pc.add_bytes(keys[0::2, b].copy())
            ac.add_bytes(keys[1::2, b].copy())
        self.pvalid.add_bytes(has[0::2].astype("u1"))
        self.avalid.add_bytes(has[1::2].astype("u1"))
        batch = None
        if self.held + len(buf) > TEXT_BUDGET:
            # past the in-memory share, under a --memory budget: the texts go to the run's spill
            # directory, read back per record (a read and a decode); without one, a plain file's
            # records are re-read from it (offsets: parsed and normalized again, far dearer on
            # templated data where the cache cannot hold every record; benchmarks/README.md)
            batch = _TextFile.write(buf, ends, self.bufs[-1].path if self.bufs and isinstance(self.bufs[-1], _TextFile) else None)
            if batch is None and self.pending_file:
                batch = _Offsets.of(self.path, self.pending_file)
        self.pending_file = []
        if batch is None:
            self.held += len(buf)
        self.bufs.append(batch or (buf, ends))  # the texts are dropped when a file holds them

    def flush_small(self) -> list:
        """Like ``flush`` without numpy, for a small input: the pending texts become one
        in-memory batch; returns their (prompt, answer) band keys (``minhash.py_band_keys``)."""
        from . import minhash

        texts = self.pending
        keys = [minhash.py_band_keys(t) for t in texts]
        if texts:
            parts = [t.replace("\x00", " ").encode("utf-8", "replace") for t in texts]
            ends, at = [], -1
            for b in parts:
                at += len(b) + 1
                ends.append(at)
            self.bufs.append((b"\x00".join(parts) + b"\x00", ends))
            self.held += ends[-1] + 1
        self.pending, self.pending_chars, self.pending_file = [], 0, []
        return keys

    def extend(self, other: "_Store") -> None:
        self.flush()
        other.flush()
        for a in ("lines", "rkeys", "pkeys", "akeys", "pref", "pvalid", "avalid"):
            getattr(self, a).extend_from(getattr(other, a))
        for mine, theirs in zip(self.pband + self.aband, other.pband + other.aband):
            mine.extend_from(theirs)
        self.bufs.extend(other.bufs)
        self.held += other.held

    def texts(self):
        """A function record index -> its normalized :class:`Texts`, cached
        (least recently used first out, ~``cache_bytes()`` in all). ``_GONE`` for a record that no
        longer reads back from its file."""
        starts = [0]
        for b in self.bufs:
            starts.append(starts[-1] + (len(b[1]) // 2 if isinstance(b, tuple) else len(b)))
        cache: OrderedDict[int, tuple] = OrderedDict()
        cap = cache_bytes()
        held = [0]
        reread = _Reader(self)

        def doc(buf, ends, d):
            a = int(ends[d - 1]) + 1 if d else 0
            return buf[a:int(ends[d])].decode("utf-8", "replace")

        def get(i: int):
            r = cache.get(i)
            if r is not None:
                cache.move_to_end(i)
                return r
            b = bisect_right(starts, i) - 1
            batch = self.bufs[b]
            k = i - starts[b]
            if isinstance(batch, _Offsets):
                pa = reread(batch, k, i)
                if pa is None:
                    self.gone.add(i)
                    return _GONE
                prompt, answer = pa
            elif isinstance(batch, _TextFile):
                prompt, answer = reread.spilled(batch, k)
            else:
                buf, ends = batch
                prompt, answer = doc(buf, ends, 2 * k), doc(buf, ends, 2 * k + 1)
            parts = [p for p in (_norm(x) for x in prompt.split(PART)) if p]
            r = cache[i] = Texts(parts, _norm(answer))
            held[0] += _size(r)
            while held[0] > cap and len(cache) > 1:
                held[0] -= _size(cache.popitem(last=False)[1])
            return r

        return get


def _size(r) -> int:
    """About the bytes a cached entry holds: its (ASCII) characters plus the objects around
    them (the ``Texts``, its list and strings, the cache's slot: ~330 bytes for one part,
    measured with tracemalloc; benchmarks/README.md, design measurements)."""
    return len(r.answer) + sum(map(len, r.parts)) + 60 * len(r.parts) + 280


class Pair(NamedTuple):
    """A verified candidate pair of records (global indices over every store, ``i < j``)."""

    i: int
    j: int
    ps: float  # prompt similarity
    as_: float  # answer similarity
    prompt_ok: bool  # the prompts' numbers are compatible (no differing figures)
    answer_ok: bool  # the answers' numbers are compatible


def _texts(rec) -> tuple[str, str]:
    """The prompt (parts joined by ``PART``, the tools offered last) and the answer of a record."""
    parts, answer = _split(rec)
    obj = rec.obj
    if isinstance(obj, dict):  # the tools offered are part of the question (as for D002)
        for k in ("tools", "functions"):
            v = obj.get(k)
            if v:
                parts.append(v if isinstance(v, str) else dumps_sorted(v).decode())
    return PART.join(parts), answer


def _load(data: bytes, first: bool):
    """The JSON value of a record's bytes as the engine parses them (a BOM on the first line
    dropped, invalid UTF-8 replaced); ``None`` if they do not parse."""
    if first:
        data = data.lstrip(BOM)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return orjson.loads(data.decode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            return None


class _Offsets:
    """A batch of records kept as where their bytes are in a plain file, not as their texts."""

    __slots__ = ("path", "offs", "lens", "fmts")

    def __init__(self, path, offs, lens, fmts):
        self.path, self.offs, self.lens, self.fmts = path, offs, lens, fmts

    def __len__(self):
        return len(self.offs)

    @classmethod
    def of(cls, path: str, recs: list) -> "_Offsets | None":
        """The batch ``recs`` ((offset, bytes, format code) each) as offsets into ``path``, if
        that file holds exactly those bytes there (one read); else None."""
        lo = min(r[0] for r in recs)
        hi = max(r[0] + len(r[1]) for r in recs)
        fd = _open_regular(path)
        if fd is None:
            return None
        try:
            if hi - lo <= 2 * sum(len(r[1]) for r in recs) + (1 << 20):
                span = os.pread(fd, hi - lo, lo)
                same = all(span.startswith(d, o - lo) for o, d, _ in recs)
            else:  # records far apart (long lines between them that are not records)
                same = all(os.pread(fd, len(d), o) == d for o, d, _ in recs)
        except OSError:
            return None
        finally:
            os.close(fd)
        if not same:
            return None
        return cls(path, array("Q", (r[0] for r in recs)), array("Q", (len(r[1]) for r in recs)),
                   bytes(r[2] for r in recs))


class _TextFile:
    """A batch's encoded texts (``minhash.encode_batch``: docs p0, a0, p1, a1, ... each ended by a
    NUL) written to a file in the run's spill directory, for inputs that cannot be re-read
    (gzip, JSON arrays, stdin) once ``TEXT_BUDGET`` is held in memory under a ``--memory``
    budget: 16 bytes per record stay in memory (the docs' ends), the texts are read back per
    record. Crosses processes as its path (the spill directory outlives the run's parts)."""

    __slots__ = ("path", "base", "ends")

    def __init__(self, path, base, ends):
        self.path, self.base, self.ends = path, base, ends

    def __len__(self):
        return len(self.ends) // 2

    @classmethod
    def write(cls, buf: bytes, ends, path: str | None = None) -> "_TextFile | None":
        """``buf`` appended to the spill file ``path`` (a new one if None), or None without a
        budget (the texts stay in memory)."""
        from . import spill

        p = spill.pool()
        if p.limit is None:
            return None
        path = path or p.new_path()
        with open(path, "ab") as f:
            base = f.tell()
            f.write(buf)
        p.spilled += len(buf)
        return cls(path, base, array("q", ends.tolist()))

    def docs(self, fd: int, k: int) -> tuple[str, str]:
        """Record ``k``'s (prompt, answer) as ``flush`` encoded them."""
        a = self.ends[2 * k - 1] + 1 if k else 0
        b = self.ends[2 * k + 1]
        data = os.pread(fd, b - a, self.base + a)
        cut = self.ends[2 * k] - a
        return data[:cut].decode("utf-8", "replace"), data[cut + 1:].decode("utf-8", "replace")


class _Reader:
    """Re-reads records of ``_Offsets`` batches: (prompt, answer) exactly as ``_Store.add`` saw
    them, or None when the bytes there no longer hold that record."""

    def __init__(self, store: _Store):
        self.store = store
        self.norm = Normalizer()
        self.files: dict[str, int | None] = {}  # path -> file descriptor, opened lazily

    def __call__(self, batch: _Offsets, k: int, i: int):
        fd = self.files.get(batch.path, -1)
        if fd == -1:
            fd = self.files[batch.path] = self._open(batch.path)
        if fd is None:
            return None
        off = batch.offs[k]
        try:
            data = os.pread(fd, batch.lens[k], off)
        except OSError:
            return None
        obj = _load(data, off == 0)
        if obj is None:
            return None
        rec = Record(batch.path, 0, 1, 0, obj, data)
        if h64(rec.canonical) != self.store.rkeys[i]:
            return None  # the file changed since it was read: not the record we hashed
        self.norm.normalize(rec, _FMTS[batch.fmts[k]])
        return _texts(rec)

    def spilled(self, batch: _TextFile, k: int) -> tuple[str, str]:
        fd = self.files.get(batch.path, -1)
        if fd == -1:
            fd = self.files[batch.path] = self._open(batch.path)
        return batch.docs(fd, k)

    def _open(self, path: str):
        import weakref

        fd = _open_regular(path)
        if fd is not None:
            weakref.finalize(self, os.close, fd)  # closed with the getter that holds this reader
        return fd


def _open_regular(path: str) -> int | None:
    """A read-only descriptor of ``path`` if it is a regular file (never blocks on a FIFO or
    /dev/fd/N, whose bytes cannot be read again anyway); else None."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


_NUM = re.compile(r"\d+")


def _numbers(s: str) -> frozenset:
    return frozenset(_NUM.findall(s))


def _compatible(a: frozenset, b: frozenset) -> bool:
    """Texts that each hold a number the other lacks ask or state something different
    ("median of 7, 8, 12" vs "median of 2, 5, 4"), however similar the words are."""
    return a <= b or b <= a


# ASCII letters (lower-cased) and digits as they are, every other byte a space
_ASCII_NORM = bytes(c if chr(c).isalnum() else 32 for c in range(128)).lower() + b" " * 128


def _norm(s: str) -> str:
    """Lower case, every run of non-word characters (and ``_``) one space, trimmed; ASCII
    texts through a byte table (faster than the regex, the same result; benchmarks/README.md, design measurements)."""
    if s.isascii():
        return " ".join(s.encode().translate(_ASCII_NORM).decode().split())
    return _NONWORD.sub(" ", s.lower()).strip()


def _sim(a: str, b: str, cut: float = 0.0) -> float:
    """Similarity of two normalized texts (``fuzz.ratio`` / 100). With ``cut`` (a share), a
    value under ``cut`` may come back as 0 (rapidfuzz's ``score_cutoff``: it stops as soon as
    the bound is out of reach); a value at or above it is exact."""
    if not a and not b:
        return 1.0
    return (_RATIO or _ratio())(a, b, score_cutoff=cut * 100.0) / 100.0


_RATIO = None  # rapidfuzz's fuzz.ratio, imported on first use (an import statement per call costs ~1-3 us)


def _ratio():
    global _RATIO
    from rapidfuzz.fuzz import ratio

    _RATIO = ratio
    return ratio


def _psim(a: list[str], b: list[str], cut: float = 0.0) -> float:
    """Prompt similarity: the minimum over aligned parts (all parts must nearly match); ``cut``
    as for :func:`_sim`."""
    if len(a) != len(b):  # e.g. a longer chat history: the whole and the last turns must both match
        whole = _sim(" ".join(a), " ".join(b), cut)
        return min(whole, _sim(a[-1], b[-1], cut)) if a and b else whole
    if not a:
        return 1.0
    return min(_sim(x, y, cut) for x, y in zip(a, b))


def similarities(ti: Texts, tj: Texts, floor: float):
    """(prompt similarity, answer similarity) of two records' texts when at least one reaches
    ``floor``, both exact; else None. Each side is first computed with rapidfuzz's cutoff just
    under ``floor`` (a pair far from it costs little: most candidate pairs are rejected), and
    the side that fell short is computed again exactly only for a pair kept."""
    cut = max(floor - 1e-9, 0.0)  # a value cut to 0 is surely under floor, whatever the rounding
    ps = _psim(ti.parts, tj.parts, cut)
    if ps >= floor:
        return ps, _sim(ti.answer, tj.answer)
    as_ = _sim(ti.answer, tj.answer, cut)
    if as_ >= floor:
        return _psim(ti.parts, tj.parts), as_
    return None


class NearDupState:
    def __init__(self, owner):
        self.owner = owner
        self.rules: dict[str, DatasetCheck] = {}
        self.train = _Store()
        self.d001 = True
        self.against: tuple = ()  # the --against files (set by the owner rule)
        self._result = None
        self._external = None  # candidate pairs (lines) grouped by an engine (adopt_candidates)

    # -- grouping by another engine (--engine ray's shuffle; tunelint.keygroups) ------------
    def band_table(self):
        """The checked file's LSH band keys as a ``pairs`` key table for an external grouper
        (:mod:`tunelint.keygroups`): keys ``records x (BANDS prompt + BANDS answer bands)``
        uint32, the mask of the records with a signature on each side, each record's line.
        The store then holds no band keys, and :meth:`adopt_candidates` must give the candidate
        pairs (grouped over every part) before :meth:`analyze`. None (nothing exported) when
        near-leakage compares --against files: their keys are read only in ``finish``, next
        to the checked file's."""
        if self.against and "near-leakage" in self.rules:
            return None
        import numpy as np

        from . import minhash
        from .keygroups import KeyTable

        tr = self.train
        tr.flush()
        n, b = len(tr), minhash.BANDS
        if n:  # the band-major columns (read back from disk if they spilled) side by side
            keys = np.empty((n, 2 * b), np.uint32)
            for k, c in enumerate(tr.pband + tr.aband):
                keys[:, k] = c.numpy(np.uint32)
                c.clear()
            valid = np.hstack((np.repeat(tr.pvalid.numpy(np.bool_)[:, None], b, axis=1),
                               np.repeat(tr.avalid.numpy(np.bool_)[:, None], b, axis=1)))
            tr.pvalid.clear()
            tr.avalid.clear()
        else:
            keys, valid = np.zeros((0, 2 * b), np.uint32), np.zeros((0, 2 * b), bool)
        return KeyTable("bands", "pairs", keys, tr.lines.numpy(np.uint64), valid)

    def adopt_candidates(self, result) -> None:
        """The candidate pairs of the whole file from the grouped band keys (``keygroups``'
        ``pairs`` result: arrays of lines ``I < J`` and of linking columns), used by :meth:`analyze` in place of
        grouping the band keys itself (the same pairs)."""
        self._external = result

    def _external_candidates(self):
        import numpy as np

        lines = self.train.lines.numpy(np.uint64)
        n = len(lines)
        from . import minhash

        li, lj, counts = (np.asarray(x, dtype=np.uint64) for x in self._external)
        I, J = np.searchsorted(lines, li), np.searchsorted(lines, lj)
        if len(I) and (I.max() >= n or J.max() >= n or np.any(lines[I] != li) or np.any(lines[J] != lj)):
            raise ValueError("grouped candidate pairs name lines this analysis has no record at")
        keep = minhash.bounded(I, J, counts.astype(np.int64), PARTNERS)
        return I[keep].tolist(), J[keep].tolist(), np.zeros(n, dtype=np.int64), np.array([0, n], dtype=np.int64), n

    # -- analysis --------------------------------------------------------------------
    @staticmethod
    def _candidates(stores, sizes):
        """Candidate pairs (lists I, J; i < j; at least one of them in the checked file) from the
        numpy band keys, with each record's store (``src``) and each store's first index."""
        import numpy as np

        from . import minhash

        for s in stores:
            s.flush()
        offs = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        n = int(offs[-1])
        src = np.repeat(np.arange(len(stores)), sizes)
        pairs = []
        if n >= 2:
            for band_attr, valid_attr in (("pband", "pvalid"), ("aband", "avalid")):
                valid = np.concatenate([getattr(s, valid_attr).numpy(np.bool_) for s in stores])
                for b in range(minhash.BANDS):  # one band at a time (band-major columns, read back from disk if spilled)
                    col = np.concatenate([getattr(s, band_attr)[b].numpy(np.uint32) for s in stores])
                    pairs.append(minhash.candidate_pairs(col[:, None], valid))
        codes, counts = minhash.link_counts(pairs)
        I, J = codes // max(n, 1), codes % max(n, 1)
        keep = (src[I] == 0) | (src[J] == 0)  # against-vs-against pairs are not our business
        I, J, counts = I[keep], J[keep], counts[keep]
        keep = minhash.bounded(I, J, counts, PARTNERS)
        return I[keep].tolist(), J[keep].tolist(), src, offs, n

    @staticmethod
    def _small_candidates(stores, sizes):
        """``_candidates`` for a small input, in pure Python (the same pairs)."""
        from . import minhash

        keys = [s.flush_small() for s in stores]
        offs = [0]
        for z in sizes:
            offs.append(offs[-1] + z)
        n = offs[-1]
        src = [k for k, z in enumerate(sizes) for _ in range(z)]
        counts: dict[int, int] = {}
        if n >= 2:
            for side in (0, 1):  # prompts, answers
                minhash.py_candidate_pairs([x for ks in keys for x in ks[side::2]], n, counts)
        pairs = {}
        for c, k in counts.items():
            i, j = divmod(c, n)
            if src[i] == 0 or src[j] == 0:
                pairs[(i, j)] = k
        kept = minhash.py_bounded(pairs, PARTNERS)
        return [i for i, _ in kept], [j for _, j in kept], src, offs, n

    def analyze(self, ctx):
        if self._result is not None:
            return self._result
        tr = self.train
        stores = [tr]
        names = [ctx.path]
        leak = self.rules.get("near-leakage")
        if leak is not None:
            me = os.path.abspath(ctx.path)
            for p in ctx.config.against or ():
                if os.path.abspath(p) == me:
                    continue
                stores.append(_read_against(p, ctx))
                names.append(os.path.relpath(p) if os.path.isabs(p) else p)
        sizes = [len(s) for s in stores]
        if self._external is not None and len(stores) == 1:
            I, J, src, offs, n = self._external_candidates()
        elif all(not s.bufs for s in stores) and sum(s.pending_chars for s in stores) <= SMALL_CHARS:
            I, J, src, offs, n = self._small_candidates(stores, sizes)
        else:
            I, J, src, offs, n = self._candidates(stores, sizes)
        getters = [s.texts() for s in stores]

        def where(g):
            s = int(src[g])
            return s, g - int(offs[s])

        floor = min([c.p.get("threshold", 0.9) for c in self.rules.values()] + [1.0])
        # the walk order matters when a cache miss re-reads the file; with every text in memory
        # a miss only decodes again, and the pairs' own order (by first record) is as good
        reread = any(not isinstance(b, tuple) for st in stores for b in st.bufs)
        order = _local_order(I, J) if reread else None

        one = len(stores) == 1

        def verify(span):  # pairs [a, b) -> (verified pairs, each store's records that no longer read back)
            a, b = span
            out: list[Pair] = []
            for i, j in (order[a:b] if order is not None else zip(I[a:b], J[a:b])):
                if one:
                    si = sj = 0
                    li, lj = i, j
                else:
                    si, li = where(i)
                    sj, lj = where(j)
                if stores[si].rkeys[li] == stores[sj].rkeys[lj]:  # the same canonical record: the same texts
                    out.append(Pair(i, j, 1.0, 1.0, True, True))
                    continue
                ti, tj = getters[si](li), getters[sj](lj)
                if ti is _GONE or tj is _GONE:
                    continue
                sims = similarities(ti, tj, floor)
                if sims is not None:
                    out.append(Pair(i, j, sims[0], sims[1], _compatible(ti.prompt_numbers, tj.prompt_numbers),
                                    _compatible(ti.answer_numbers, tj.answer_numbers)))
            return out, [set(s.gone) for s in stores]

        # with --jobs N the pairs are verified in N contiguous slices, N-1 of them in forked
        # children (same pairs, same results; the children's text caches are their own)
        from . import forkmap

        n_pairs = len(I)
        w = max(1, min(forkmap.workers(), n_pairs // FORK_PAIRS))
        cuts = [n_pairs * k // w for k in range(w + 1)]
        verified = []
        for out, gone in forkmap.fork_map(verify, list(zip(cuts, cuts[1:]))):
            verified += out
            for s, g in zip(stores, gone):
                s.gone |= g
        verified.sort(key=lambda v: (v.i, v.j))  # pair order, whatever order they were verified in
        self._result = (stores, names, offs, src, verified, getters, int(len(I)))
        return self._result


def _local_order(I: list[int], J: list[int]) -> list[tuple[int, int]]:
    """The pairs (I[k], J[k]) in an order that uses each record again soon after it was read
    (the texts cache is bounded and a miss re-reads the file): breadth-first over the graph the
    pairs form, each pair placed by its endpoints' ranks in that walk."""
    adj: dict[int, list[int]] = {}
    for a, b in zip(I, J):
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    rank: dict[int, int] = {}
    for start in sorted(adj):
        if start in rank:
            continue
        rank[start] = len(rank)
        queue = [start]
        for u in queue:  # grows while it is walked: breadth-first
            for v in sorted(adj[u]):
                if v not in rank:
                    rank[v] = len(rank)
                    queue.append(v)
    return sorted(zip(I, J), key=lambda p: (min(rank[p[0]], rank[p[1]]), max(rank[p[0]], rank[p[1]])))


def _read_against(path: str, ctx) -> _Store:
    """Records of an --against file, normalized like the checked file (no rules run on it)."""
    from .formats import detect
    from .reader import Chunk, FileProblem, Source

    store = _Store(d002=False)
    store.path = os.path.abspath(path)
    store.error = None
    if not os.path.isfile(path):
        store.error = "file not found"
        return store
    norm = Normalizer()
    index = 0
    ms = getattr(ctx.config, "mappings", None)
    for item in Source(path, mode=None):
        if not isinstance(item, Chunk):
            if isinstance(item, FileProblem) and store.error is None:
                store.error = f"{item.kind}: {item.detail}"
            continue
        if not item.data.strip():
            continue
        obj = _load(item.data, item.line == 1)
        if obj is None:
            continue
        mapping = ms.for_path(path) if ms is not None else None
        if mapping is not None:
            obj = mapping.apply(obj)
        rec = Record(path, item.line, item.column, index, obj, item.data)
        rec.offset = item.offset if mapping is None else -1
        index += 1
        norm.normalize(rec, record_format(detect(obj), ctx.format, ctx.config.format or (mapping.format if mapping else None)))
        store.add(rec)
    return store  # analyze() hashes what is pending


def conflict(p, v, get) -> bool:
    """Answers that disagree: less similar than ``agree`` and both short enough (labels, numbers,
    names, one-line facts) that low similarity means a different answer, not a rewording."""
    if v.as_ >= p["agree"]:
        return False
    a, b = get(v.i), get(v.j)
    if a.answer_numbers and b.answer_numbers and v.answer_ok:
        return False  # both answers state the same numbers: a rewording, not a disagreement
    mx = p["max-answer-chars"]
    return len(a.answer) <= mx and len(b.answer) <= mx


class UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p.get(root, root) != root:
            root = p[root]
        while p.get(x, x) != root:
            p[x], x = root, p[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo  # the representative is the earliest record


def pct(x: float) -> str:
    if 0.995 <= x < 1:
        return f"{int(x * 1000) / 10:.1f}%"  # never round a difference up to 100%
    return f"{x * 100:.0f}%"
