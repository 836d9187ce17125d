"""Streaming sources: JSONL, JSON arrays, gzip, stdin.

Nothing here holds a whole file in memory: JSONL is read line by line and a JSON array is
split into its elements by a small line-based scanner (JSON strings cannot contain raw
newlines, so a physical line never splits a token of valid JSON).

The reader yields :class:`Chunk` objects, one per record candidate, and :class:`PhysLine`
facts that raw-level (encoding/whitespace) checks need. File-level problems (empty file,
Git LFS pointer, binary data, gzip errors) are reported as :class:`FileProblem`.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import re
import sys
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Iterator

import orjson

from . import tables
from .model.markers import BOM  # noqa: F401 - re-exported (the one BOM constant)
from .tables import CONTAINER_NAMES, EXTRA_KEY, pyarrow, row_json, table_mode

GZIP_MAGIC = b"\x1f\x8b"
LFS_MAGIC = b"version https://git-lfs.github.com/spec/"


def head_problem(head: bytes) -> "FileProblem | None":
    """What a file's first bytes already say is wrong with it as a whole: empty, only
    whitespace, or a Git LFS pointer instead of the data (every container checks this)."""
    if not head.strip():
        return FileProblem("empty-file", 0, 1, "file is empty" if not head else "file holds only whitespace")
    if head.startswith(LFS_MAGIC):
        return FileProblem("lfs-pointer", 1, 1,
                           "file is a Git LFS pointer, not the dataset; run `git lfs pull` to fetch the real file")
    return None
# what a broken gzip stream raises while it is read (truncated, corrupt, garbage between members)
GZIP_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error)
TABLE_EXTS = (".parquet", ".arrow", ".csv", ".tsv")  # tunelint.tables reads these


@dataclass(slots=True)
class PhysLine:
    """One physical line: its 1-based number, bytes without terminator, and terminator."""

    line: int
    data: bytes
    ending: bytes  # b"\n", b"\r\n" or b"" (last line without newline)


@dataclass(slots=True)
class Chunk:
    """The bytes of one record candidate and where it starts."""

    line: int  # 1-based physical line where the record starts
    column: int  # 1-based byte column where it starts (1 for JSONL)
    data: bytes
    phys: PhysLine | None  # JSONL: the physical line (for raw-level checks)
    offset: int = -1  # byte offset of ``data`` in a plain (seekable, uncompressed) file; -1 = unknown


#: every kind a :class:`FileProblem` may have (what the file-problem kind's ``problem`` may name)
FILE_PROBLEMS = ("empty-file", "lfs-pointer", "binary-file", "gzip-error", "io-error", "json-array", "record-too-large")
#: records larger than this (bytes) are reported and skipped without being held (``max-record-size``)
MAX_RECORD_SIZE = 32 * 1024 * 1024
#: the file problems that keep a file's records from being read at all (fixing it would lose them)
UNREADABLE = frozenset(("lfs-pointer", "binary-file", "gzip-error", "io-error"))


@dataclass(slots=True)
class FileProblem:
    kind: str  # one of FILE_PROBLEMS
    line: int
    column: int
    detail: str


def split_ending(raw: bytes) -> tuple[bytes, bytes]:
    """A physical line's bytes and its terminator (b"\\r\\n", b"\\n" or b"" at end of file)."""
    if raw.endswith(b"\r\n"):
        return raw[:-2], b"\r\n"
    if raw.endswith(b"\n"):
        return raw[:-1], b"\n"
    return raw, b""


def open_binary(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    return open(path, "rb")


def _maybe_gunzip(raw: BinaryIO) -> tuple[BinaryIO, bool]:
    buf = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type]
    head = buf.peek(2)[:2]
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buf, mode="rb"), True  # type: ignore[return-value]
    return buf, False


class Source:
    """Iterate the record candidates of one input.

    A path naming a table (``.parquet``, ``.arrow``, ``.csv``, ``.tsv``) gives a
    :class:`TableSource` (records are rows; ``unit == "row"``)."""

    unit = "line"  # what a Chunk's ``line`` counts: physical lines here, rows for tables
    max_record = MAX_RECORD_SIZE  # bytes; set from Config.max_record_size by whoever reads

    def __new__(cls, path: str = "-", mode: str | None = None, *args, **kwargs):
        if cls is Source and isinstance(path, str) and path != "-" and path.lower().endswith(TABLE_EXTS):
            return super().__new__(TableSource)
        return super().__new__(cls)

    def __init__(self, path: str, mode: str | None = None):
        self.path = path
        self.forced_mode = mode  # "jsonl" | "json" | None (auto)
        self.mode = "jsonl"
        self.gzipped = False
        self.problems: list[FileProblem] = []
        self.lines_seen = 0
        self.bytes_read = 0  # of the (decompressed) stream, for progress reporting
        self.total_bytes = 0  # size on disk (0 when unknown: stdin)

    def __iter__(self) -> Iterator[Chunk | PhysLine | FileProblem]:
        try:
            raw = open_binary(self.path)
        except OSError as e:
            yield FileProblem("io-error", 0, 1, f"cannot open: {e.strerror or e}")
            return
        if self.path != "-":
            try:
                self.total_bytes = os.path.getsize(self.path)
            except OSError:
                pass
        try:
            stream, self.gzipped = _maybe_gunzip(raw)
            try:
                head = stream.peek(8192)[:8192]
            except GZIP_ERRORS as e:
                yield FileProblem("gzip-error", 0, 1, f"cannot decompress: {e}")
                return
            problem = head_problem(head)
            if problem is not None:
                yield problem
                return
            if b"\x00" in head:
                yield FileProblem(
                    "binary-file", 1, head.index(b"\x00") + 1,
                    "file holds binary data (NUL bytes); expected UTF-8 JSON Lines",
                )
                return
            self.mode = self.forced_mode or _guess_mode(self.path, head)
            try:
                if self.mode == "json":
                    yield from self._iter_array(stream)
                else:
                    yield from self._iter_jsonl(stream)
            except GZIP_ERRORS as e:
                what = "the compressed stream is broken" if self.gzipped else "read failed"
                where = f"after line {self.lines_seen}" if self.lines_seen else "before the first line"
                yield FileProblem("gzip-error", self.lines_seen + 1, 1,
                                  f"{what} {where}: {e}; the rest of the file was not checked")
        finally:
            if raw is not sys.stdin.buffer:
                raw.close()

    # -- JSONL --------------------------------------------------------------
    def lines(self, stream: BinaryIO, first: int = 1) -> Iterator[bytes | FileProblem]:
        """Physical lines (with terminator; the first is line ``first``), each at most
        ``max_record`` + 2 bytes; a longer one is one ``record-too-large`` problem (memory stays
        bounded by the limit on any input)."""
        for raw in bounded_lines(stream, self.max_record, first):
            if isinstance(raw, TooLarge):
                self.bytes_read += raw.size
                yield FileProblem("record-too-large", raw.line, 1,
                                  f"line {raw.line} is {raw.size:,} bytes, over max-record-size ({self.max_record:,} "
                                  "bytes); it was not read into memory or checked: split the record, or raise "
                                  "max-record-size")
            else:
                yield raw

    def _iter_jsonl(self, stream: BinaryIO) -> Iterator[Chunk | PhysLine | FileProblem]:
        n = 0
        seekable = not self.gzipped and self.path != "-"
        for raw_line in self.lines(stream):
            n += 1
            if isinstance(raw_line, FileProblem):
                self.lines_seen = n
                yield raw_line
                continue
            at = self.bytes_read if seekable else -1
            self.bytes_read += len(raw_line)
            data, ending = split_ending(raw_line)
            phys = PhysLine(n, data, ending)
            self.lines_seen = n
            yield Chunk(n, 1, data, phys, at)

    # -- JSON array -----------------------------------------------------------
    _TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{},]|[^\s\[\]{},"]+')

    def _iter_array(self, stream: BinaryIO) -> Iterator[Chunk | PhysLine | FileProblem]:
        depth = 0
        started = False  # saw the opening '['
        ended = False
        parts: list[bytes] = []
        el_line = el_col = 0
        el_seg_start = -1  # start offset of the element's part on the current line
        in_element = False
        scalar = False
        n = 0
        held = 0  # bytes of the current element held so far
        for raw_line in self.lines(stream):
            n += 1
            self.lines_seen = n
            if isinstance(raw_line, FileProblem):  # one line over the limit: the array cannot be followed
                raw_line.detail += "; the rest of the JSON array was not checked"
                yield raw_line
                return
            self.bytes_read += len(raw_line)
            data, ending = split_ending(raw_line)
            yield PhysLine(n, data, ending)
            el_seg_start = 0 if in_element else -1
            # a BOM is E002's finding; the scanner starts after it (columns stay the file's)
            for m in self._TOKEN.finditer(data, 3 if n == 1 and data.startswith(BOM) else 0):
                tok = m.group()
                c = tok[:1]
                if ended:
                    yield FileProblem("json-array", n, m.start() + 1, "unexpected data after the closing ']' of the array")
                    return
                if not started:
                    if tok == b"[":
                        started = True
                        depth = 1
                        continue
                    yield FileProblem("json-array", n, m.start() + 1, "expected a JSON array '[' at the start of the file")
                    return
                if not in_element:
                    if depth == 1 and tok == b",":
                        continue
                    if depth == 1 and tok == b"]":
                        depth = 0
                        ended = True
                        continue
                    in_element = True
                    el_line, el_col = n, m.start() + 1
                    el_seg_start = m.start()
                    parts = []
                    held = 0
                    scalar = c not in (b"{", b"[")
                    if not scalar:
                        depth += 1
                    continue
                # inside an element
                if scalar:  # (junk such as a BOM before a '{' starts a "scalar": brackets still nest)
                    if c in (b"{", b"["):
                        depth += 1
                        continue
                    if c in (b"}", b"]") and depth > 1:
                        depth -= 1
                        continue
                    if depth == 1 and tok in (b",", b"]"):
                        parts.append(data[el_seg_start:m.start()])
                        yield Chunk(el_line, el_col, b"".join(parts).strip(), None)
                        in_element = False
                        if tok == b"]":
                            depth = 0
                            ended = True
                    continue
                if c in (b"{", b"["):
                    depth += 1
                elif c in (b"}", b"]"):
                    depth -= 1
                    if depth == 1:
                        parts.append(data[el_seg_start:m.end()])
                        yield Chunk(el_line, el_col, b"".join(parts), None)
                        in_element = False
            if in_element:
                parts.append(data[el_seg_start:] + b"\n")
                held += len(parts[-1])
                if held > self.max_record:
                    yield FileProblem("record-too-large", el_line, el_col,
                                      f"the array element starting on line {el_line} is over max-record-size "
                                      f"({self.max_record:,} bytes) by line {n}; it was not checked, nor the rest "
                                      "of the JSON array: split the record, or raise max-record-size")
                    return
        if in_element and parts:
            yield Chunk(el_line, el_col, b"".join(parts), None)
            yield FileProblem("json-array", n, 1, "the JSON array is not closed: file ends inside a record")
        elif started and not ended:
            yield FileProblem("json-array", n, 1, "the JSON array is not closed: missing final ']'")


# -- tables (the containers' own helpers are tunelint.tables) ---------------------------------------
class TableSource(Source):
    """Rows of a Parquet, Arrow or CSV/TSV file as :class:`Chunk` records (``line`` = row)."""

    unit = "row"

    def __init__(self, path: str, mode: str | None = None, row_groups: tuple[int, int] | None = None,
                 first_row: int = 1):
        super().__init__(path, None)
        self.mode = table_mode(path) or "parquet"
        self.schema = None  # pyarrow schema (Parquet/Arrow), header list (CSV) once read
        self.dialect: str = "," if self.mode == "csv" else "\t"
        #: Parquet only: read row groups [a, b) alone (a part of a split file, ``--jobs``), whose
        #: first row is row ``first_row`` of the file (rows keep their numbers in the file)
        self.row_groups = row_groups
        self.rows = first_row - 1

    def __iter__(self) -> Iterator[Chunk | FileProblem]:
        kind = CONTAINER_NAMES[self.mode]
        try:
            self.total_bytes = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                head = f.read(64)
        except OSError as e:
            yield FileProblem("io-error", 0, 1, f"cannot open: {e.strerror or e}")
            return
        problem = head_problem(head)
        if problem is not None:
            yield problem
            return
        if self.mode in ("csv", "tsv"):
            yield from self._iter_csv()
            return
        pa = pyarrow()
        try:
            for batch in self._batches(pa):
                yield from self._rows(batch.to_pylist())
        except (pa.ArrowException, OSError, ValueError) as e:
            # line 0: a file-level problem (fix refuses the file: its rows cannot all be read)
            yield FileProblem("io-error", 0, 1, f"cannot read {kind} file{f' after row {self.rows}' if self.rows else ''}: {e}")

    def _rows(self, rows: list) -> Iterator[Chunk]:
        for row in rows:
            self.rows += 1
            self.lines_seen = self.rows
            yield Chunk(self.rows, 1, row_json(row), None)

    def _batches(self, pa) -> Iterator[Any]:
        if self.mode == "parquet":
            pf = tables.parquet_file(self.path)
            self.schema = pf.schema_arrow
            groups = None if self.row_groups is None else list(range(*self.row_groups))
            md = pf.metadata
            total = (md.num_rows if groups is None else sum(md.row_group(g).num_rows for g in groups)) or 1
            done = 0
            for b in pf.iter_batches(batch_size=tables.BATCH_ROWS, row_groups=groups):
                yield b
                done += b.num_rows
                self.bytes_read = self.total_bytes * min(done, total) // total
            return
        src = pa.memory_map(self.path, "r")
        try:
            try:
                reader = pa.ipc.open_stream(src)  # datasets' save_to_disk writes the stream format
                batches: Iterable = reader
            except pa.ArrowInvalid:
                src.seek(0)
                fr = pa.ipc.open_file(src)
                reader = fr
                batches = (fr.get_batch(i) for i in range(fr.num_record_batches))
            self.schema = reader.schema
            for b in batches:
                for off in range(0, b.num_rows, tables.BATCH_ROWS):
                    yield b.slice(off, tables.BATCH_ROWS)
                self.bytes_read = src.tell()
        finally:
            src.close()

    def _iter_csv(self) -> Iterator[Chunk | FileProblem]:
        csv.field_size_limit(min(sys.maxsize, 1 << 31))
        try:
            with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as f:
                rd = csv.reader(f, delimiter=self.dialect)
                header = next(rd, None)
                if header is None:
                    yield FileProblem("empty-file", 0, 1, "file is empty")
                    return
                self.schema = header
                n = len(header)
                for fields in rd:
                    if not fields:
                        continue  # a blank line is not a row
                    rec = {header[i]: v for i, v in enumerate(fields[:n])}
                    if len(fields) > n:
                        rec[EXTRA_KEY] = fields[n:]
                    self.rows += 1
                    self.lines_seen = rd.line_num
                    yield Chunk(self.rows, 1, orjson.dumps(rec), None)
        except (OSError, csv.Error) as e:
            yield FileProblem("io-error", 0, 1, f"cannot read {CONTAINER_NAMES[self.mode]} file after row {self.rows}: {e}")


class RecordsSource(Source):
    """Records from Python objects (an iterable of dicts, a pandas DataFrame, a ``datasets``
    Dataset) as :class:`Chunk` records; ``line`` is the 1-based position."""

    unit = "row"

    def __init__(self, rows: Iterable[Any], name: str = "<records>"):
        super().__init__(name, None)
        self.mode = "records"
        self._rows = rows
        self.rows = 0

    def __iter__(self) -> Iterator[Chunk | FileProblem]:
        for row in self._rows:
            self.rows += 1
            self.lines_seen = self.rows
            try:
                data = row_json(row)
            except (TypeError, orjson.JSONEncodeError) as e:
                yield FileProblem("io-error", self.rows, 1, f"record {self.rows} cannot be read as JSON: {e}")
                data = orjson.dumps(repr(row))
            yield Chunk(self.rows, 1, data, None)


@dataclass(slots=True)
class TooLarge:
    """A physical line over the size limit, skipped: its 1-based number and size in bytes."""

    line: int
    size: int


def skip_line(stream: BinaryIO, head: bytes = b"") -> int:
    """Read past the end of the current line in 1 MiB pieces (never holding it); its size."""
    size = len(head)
    part = head
    while not part.endswith(b"\n"):
        part = stream.readline(1 << 20)
        if not part:
            break
        size += len(part)
    return size


def bounded_lines(stream: BinaryIO, max_record: int, first: int = 1) -> Iterator[bytes | TooLarge]:
    """Physical lines with their terminator, each at most ``max_record`` bytes plus the terminator;
    a longer line is a :class:`TooLarge` (read past, never held)."""
    limit = max_record + 2  # the terminator (\r\n) is not part of the record
    readline = stream.readline
    n = first - 1
    while True:
        raw_line = readline(limit + 1)
        if not raw_line:
            return
        n += 1
        if len(raw_line) > limit or (len(raw_line) == limit + 1 and not raw_line.endswith(b"\n")):
            yield TooLarge(n, skip_line(stream, raw_line))
            continue
        yield raw_line


def _guess_mode(path: str, head: bytes) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    stripped = head.lstrip(b" \t\r\n")
    if stripped.startswith(BOM):
        stripped = stripped[3:].lstrip()
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return "jsonl"
    if stripped.startswith(b"["):
        # A JSONL file whose first line is itself a complete array stays JSONL.
        first = stripped.split(b"\n", 1)[0].strip()
        if name.endswith(".json") or not first.endswith(b"]"):
            return "json"
    return "jsonl"


def iter_input_paths(paths: list[str], config=None, notes: list[str] | None = None) -> Iterator[str]:
    """Expand directories into the dataset files they hold (see :mod:`tunelint.discover`)."""
    from .discover import iter_input_paths as _discover

    return _discover(paths, config, notes)
