"""Writing the fixed output: the record writers (JSONL or a JSON array, or a table's own
container), the output-line -> input-line map, the rejects file (appended atomically),
checking destinations before any work, and renaming finished files into place."""
from __future__ import annotations

import os
from array import array
from typing import BinaryIO

from ..model.errors import UserError
from .edits import MISSING, loads

TABLE_MODES = ("parquet", "arrow", "csv", "tsv")  # tunelint.tables containers


class FixError(UserError):
    """The file cannot be fixed (one-line message for the user)."""


class LineMap:
    """Output line of each written record -> its line in the input: two ascending arrays
    (16 bytes per record, not a dict), looked up by bisection."""

    def __init__(self):
        self.out = array("Q")
        self.src = array("Q")

    def add(self, out_line: int, src_line: int) -> None:
        self.out.append(out_line)
        self.src.append(src_line)

    def get(self, line: int, default=None):
        from bisect import bisect_left

        i = bisect_left(self.out, line)
        if i < len(self.out) and self.out[i] == line:
            return self.src[i]
        return default

    def compose(self, earlier: "LineMap | None") -> "LineMap":
        """This map followed back through ``earlier`` (the previous round's map)."""
        if earlier is None:
            return self
        m = LineMap()
        m.out = self.out
        m.src = array("Q", (earlier.get(s, s) for s in self.src))
        return m


class Out:
    """Writes records as JSONL or as a JSON array; tracks output line numbers."""

    def __init__(self, f: BinaryIO, container: str):
        self.f = f
        self.container = container
        self.line = 1  # line where the next record starts
        self.n = 0
        self.map = LineMap()  # output record line -> line of the record in this round's input
        if container == "json":
            f.write(b"[\n")
            self.line = 2

    def record(self, data: bytes, ending: bytes, src_line: int, indent: bytes = b"") -> None:
        if self.container == "json":
            if self.n:
                self.f.write(b",\n")
                self.line += 1
            self.f.write(indent + data)
            self.map.add(self.line, src_line)
            self.line += data.count(b"\n")
        else:
            self.f.write(data + ending)
            self.map.add(self.line, src_line)
            self.line += 1
        self.n += 1

    def raw_line(self, data: bytes, ending: bytes) -> None:  # JSONL blank lines kept as they are
        self.f.write(data + ending)
        self.line += 1

    def close(self) -> None:
        if self.container == "json":
            self.f.write(b"\n]\n" if self.n else b"]\n")


class TableOut(Out):
    """Writes records as rows of the input table's schema (``tables.TableWriter``)."""

    def __init__(self, f: BinaryIO, container: str, src):
        from ..tables import TableWriter

        self.container = container
        self.line = 1
        self.n = 0
        self.map = LineMap()
        self.w = TableWriter(f, container, src.schema, getattr(src, "dialect", ","))

    def record(self, data: bytes, ending: bytes, src_line: int, indent: bytes = b"") -> None:
        obj = loads(data)
        if obj is MISSING:
            raise FixError(f"row {src_line} is not valid JSON and has no {self.container} form")
        try:
            self.w.add(obj)
        except Exception as e:  # pyarrow's type and schema errors: nothing is written
            raise FixError(f"cannot write the fixed rows back as {self.container}: {e}") from None
        self.map.add(self.line, src_line)
        self.line += 1
        self.n += 1

    def raw_line(self, data: bytes, ending: bytes) -> None:
        pass

    def close(self) -> None:
        try:
            self.w.close()
        except Exception as e:
            raise FixError(f"cannot write the fixed rows back as {self.container}: {e}") from None


def is_gz(path: str) -> bool:
    if path == "-":
        return False
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def preflight(files: list[str], output: str | None = None, rejects: str | None = None, changes: str | None = None,
              in_place: bool = False, dry_run: bool = False) -> None:
    """Before any work: every file a fix run may write (the output or each input with
    --in-place, the rejects file, --changes) must be writable, or :class:`fsutil.Unwritable`
    is raised and nothing is replaced."""
    from ..fsutil import check_writable

    if changes:
        check_writable(changes, "--changes file")
    if dry_run:
        return
    if output and output != "-":
        check_writable(output, "output file")
    for p in files:
        if in_place:
            check_writable(p, "input file (--in-place)")
        if rejects or in_place or (output and output != "-"):
            check_writable(rejects_path_for(p, output, rejects, in_place), "rejects file", append=True)


def run_stamp() -> str:
    """When this run started (UTC, microseconds): the ``run`` of its rejects entries."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rejects_path_for(path: str, output: str | None, rejects: str | None, in_place: bool) -> str:
    """Where ``fix_file`` puts the records it drops: ``--rejects``, else next to the output
    (next to the input with --in-place, in the current directory with -o -)."""
    if rejects:
        return rejects
    return default_rejects(output if output not in (None, "-") else (path if in_place else os.path.basename(path)), in_place)


def append_rejects(new: BinaryIO, dest: str) -> None:
    """Append this run's rejects to ``dest``, atomically: the old entries and the new ones are
    written to a temporary file that replaces ``dest``, so a crash leaves the old file or the
    complete new one, and no run ever destroys an earlier run's rejects (each entry names its
    ``run`` and ``input``, so runs stay apart). An explicit ``--rejects`` file that does not
    exist yet is created even when nothing was dropped."""
    from ..fsutil import atomic_write

    existed = os.path.exists(dest)
    first = new.read(1)
    if existed and not first:
        return
    with atomic_write(dest) as f:
        if existed:
            with open(dest, "rb") as old:
                last = b"\n"
                while True:
                    b = old.read(1 << 20)
                    if not b:
                        break
                    f.write(b)
                    last = b[-1:]
            if last != b"\n" and first:
                f.write(b"\n")
        f.write(first)
        copy_stream(new, f)


def default_rejects(base: str, in_place: bool) -> str:
    name = base
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in (".jsonl", ".ndjson", ".json", ".parquet", ".arrow", ".csv", ".tsv"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return name + ".rejects.jsonl"


def commit(tmp: str, dest: str) -> None:
    """Put the finished temporary file in place of ``dest``: synced and renamed over it when it
    lies in ``dest``'s directory, else copied through :func:`fsutil.atomic_write`."""
    dest = os.path.abspath(dest)
    if os.path.dirname(os.path.abspath(tmp)) != os.path.dirname(dest):
        copy_file(tmp, dest)
        return
    from ..fsutil import replace_file

    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    replace_file(tmp, dest)


def copy_stream(src, dst) -> None:
    while True:
        b = src.read(1 << 20)
        if not b:
            break
        dst.write(b)


def copy_file(src: str, dest: str) -> None:
    from ..fsutil import atomic_write

    with open(src, "rb") as s, atomic_write(dest) as f:
        copy_stream(s, f)


def copy_to(src: str, out: BinaryIO) -> None:
    with open(src, "rb") as s:
        copy_stream(s, out)
    out.flush()

