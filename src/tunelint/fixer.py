"""Apply the fixes that diagnostics carry, losing nothing (``tunelint fix``, ``check --fix``).

Design (two passes per round, rounds bounded):

1. **Check**: ``FileRun(path).run()`` collects every diagnostic, including the dataset-level
   ones (duplicates, conflicts, term variants) that are only known after the whole stream.
   Diagnostics are grouped by the line where their record starts.
2. **Apply**: the input is streamed again. A record with no applicable fix is copied
   byte-for-byte (with its original line ending, unless the CRLF fix applies). Otherwise, in
   this order: ``line`` edits (BOM, blank lines) replace the physical text (reverted if the
   result stops parsing); a ``drop`` sends the record verbatim to the rejects file; ``set``
   edits change the parsed record; ``--to`` converts it; then the record is re-checked with
   the record-level rules and any new applicable fixes are applied, in a loop bounded by
   ``MAX_ITERATIONS``. Edits on overlapping JSON pointers are applied one per iteration (the
   re-check recomputes the others from the new text). A touched record is re-serialized
   compactly with orjson, keeping key order. Records are never reordered.
3. **Verify** (only when an enabled dataset-level rule has an applicable fix and something
   changed): the output is checked with those rules alone; fixes that became possible (two
   records that only differed by whitespace are now duplicates) start another round on the
   output. At most ``MAX_ROUNDS`` rounds, so fixing the output again changes nothing.

Accounting: input records = output records + rejected records (blank lines are not
records). Every rejected record is written to the rejects file as
``{"line", "codes", "reason", "text", "input", "run"}`` (``text`` is the record's verbatim
source; invalid UTF-8 goes to ``text_base64`` instead). Rejects files are only ever appended
to (atomically, see :func:`append_rejects`): ``fix --in-place`` and ``check --fix`` run again
and again on the same file, and each run's rejected records are the only copy left. We append
with a ``run`` stamp on every entry rather than a header line per run (every line keeps one
schema, ``jq 'select(.run == ...)'`` splits runs) or a file per run (which would litter the
dataset's directory on every commit of the pre-commit flow).

Nothing is replaced unless everything can be written: :func:`preflight` checks every explicit
destination before the first pass, and the rejects are saved before the output replaces
anything.

Container: JSONL stays JSONL. A JSON array stays an array (``[``, one element per line
group, ``]``; untouched elements keep their bytes and indentation) unless the output name
ends in ``.jsonl``/``.ndjson`` (then JSONL); a JSONL input written to ``*.json`` becomes an
array. ``.gz`` in gives ``.gz`` out (and any output named ``*.gz`` is gzipped).
Tables (:mod:`tunelint.tables`) stay tables: Parquet in, Parquet out with the same schema
(and schema metadata), Arrow in, Arrow IPC stream out, CSV/TSV in, CSV/TSV out with the same
header and delimiter (cells re-quoted minimally); records are rows, numbered from 1, and the
rejects and changes files say ``row`` instead of ``line``. A table may also be written as
JSONL (``-o NAME.jsonl``); a JSONL input is not turned into a table. A file no fix touches
is copied byte for byte.

Which fixes run is configuration (``[tool.tunelint.fix]``, ruff's names): ``fixable`` (rule
selectors, default all), ``unfixable``, ``extend-safe-fixes``, ``extend-unsafe-fixes``,
``unsafe-fixes`` (bool, as ``--unsafe-fixes``), ``input-separator`` (``--to chat``: text
between an Alpaca instruction and its input, default a blank line). Fix parameters (the
separator, stop sequence, placeholder, preferred terms) are the rules' own parameters under
``[tool.tunelint.rules.CODE]``.
"""
from __future__ import annotations

import base64
import bisect
import gzip
import os
import re
import sys
import tempfile
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import orjson

from .config import Config, ConfigError
from .diagnostic import Diagnostic, Fix, escape_pointer_token, split_pointer
from .model.errors import UserError
from .reader import BOM, Chunk, FileProblem, PhysLine, Source, iter_input_paths

MAX_ITERATIONS = 8  # re-check/fix loop per record
MAX_ROUNDS = 4  # whole-file rounds (dataset-level fixes that only appear after other fixes)
FIX_KEYS = {"fixable", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes", "unsafe-fixes", "input-separator"}
FATAL_PROBLEMS = {"lfs-pointer", "binary-file", "gzip-error", "io-error"}
TABLE_MODES = ("parquet", "arrow", "csv", "tsv")  # tunelint.tables containers


class FixError(UserError):
    """The file cannot be fixed (one-line message for the user)."""


# -- policy ------------------------------------------------------------------------------
def _sel_match(sel: str, code: str, name: str) -> bool:
    return sel == "ALL" or code.startswith(sel) or sel == name


@dataclass
class FixPolicy:
    """Which diagnostics' fixes may be applied."""

    unsafe: bool = False
    fixable: list[str] | None = None
    unfixable: list[str] = field(default_factory=list)
    extend_safe: list[str] = field(default_factory=list)
    extend_unsafe: list[str] = field(default_factory=list)
    input_separator: str = "\n\n"
    names: dict[str, str] = field(default_factory=dict)  # code -> rule name
    kinds: dict[str, str] = field(default_factory=dict)  # code -> check kind
    _cache: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Config, unsafe: bool = False) -> "FixPolicy":
        raw = dict(cfg.fix or {})
        where = cfg.source or "configuration"
        unknown = set(raw) - FIX_KEYS
        if unknown:
            from .rules import did_you_mean

            k = sorted(unknown)[0]
            raise ConfigError(f"{where}: unknown key {k!r} in [tool.tunelint.fix]{did_you_mean(k, FIX_KEYS)}")
        names = {r.code: r.name for r in cfg.rules}
        kinds = {r.code: r.kind for r in cfg.rules}

        def sels(key):
            v = raw.get(key, [])
            if isinstance(v, str):
                v = [s.strip() for s in v.split(",") if s.strip()]
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise ConfigError(f"{where}: [tool.tunelint.fix] {key} must be a list of rule codes, prefixes or names")
            for s in v:
                if not any(_sel_match(s, c, n) for c, n in names.items()):
                    from .rules import did_you_mean

                    raise ConfigError(f"{where}: [tool.tunelint.fix] {key} has unknown rule {s!r}{did_you_mean(s, list(names) + list(names.values()))}")
            return v

        sep = raw.get("input-separator", "\n\n")
        if not isinstance(sep, str):
            raise ConfigError(f"{where}: [tool.tunelint.fix] input-separator must be a string")
        return cls(
            unsafe=unsafe or bool(raw.get("unsafe-fixes", False)),
            fixable=sels("fixable") if "fixable" in raw else None,
            unfixable=sels("unfixable"), extend_safe=sels("extend-safe-fixes"),
            extend_unsafe=sels("extend-unsafe-fixes"), input_separator=sep, names=names, kinds=kinds,
        )

    def applicability(self, d: Diagnostic) -> str | None:
        if d.fix is None:
            return None
        name = self.names.get(d.code, d.name)
        if any(_sel_match(s, d.code, name) for s in self.extend_unsafe):
            return "unsafe"
        if any(_sel_match(s, d.code, name) for s in self.extend_safe):
            return "safe"
        return d.fix.applicability

    def allows(self, d: Diagnostic) -> bool:
        if d.fix is None:
            return False
        key = (d.code, d.fix.applicability)
        hit = self._cache.get(key)
        if hit is None:
            name = self.names.get(d.code, d.name)
            ok = self.fixable is None or any(_sel_match(s, d.code, name) for s in self.fixable)
            ok = ok and not any(_sel_match(s, d.code, name) for s in self.unfixable)
            hit = ok and (self.applicability(d) == "safe" or self.unsafe)
            self._cache[key] = hit
        return hit

    def rejects(self, d: Diagnostic) -> bool:
        """Whether a record-level error that no fix removed sends its record to the rejects
        file: with unsafe fixes on, for every rule the ``fixable``/``unfixable`` selection lets
        the fixer touch (the output of ``fix --unsafe-fixes`` must check without errors)."""
        if not self.unsafe or d.severity != "error":
            return False
        key = (d.code, "reject")
        hit = self._cache.get(key)
        if hit is None:
            name = self.names.get(d.code, d.name)
            hit = self.fixable is None or any(_sel_match(s, d.code, name) for s in self.fixable)
            hit = self._cache[key] = hit and not any(_sel_match(s, d.code, name) for s in self.unfixable)
        return hit

    def is_line_endings(self, d: Diagnostic) -> bool:
        return self.kinds.get(d.code) == "line-endings"


# -- JSON pointers -------------------------------------------------------------------------
_MISSING = object()


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


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/") or not a or not b


# -- results -----------------------------------------------------------------------------
@dataclass
class FileFix:
    path: str
    output: str | None
    input_records: int = 0
    output_records: int = 0
    rejected: int = 0
    edits: Counter = field(default_factory=Counter)  # code -> edits applied
    touched: int = 0  # records changed (not dropped)
    reverted: int = 0  # fixes undone because they broke the JSON
    unconverged: int = 0  # records still fixable after MAX_ITERATIONS
    rounds: int = 0
    changed: bool = False
    rejects_path: str | None = None
    remaining: list[Diagnostic] = field(default_factory=list)  # problems fix did not repair
    skipped: str | None = None  # why the file was not processed
    _rejected_lines: set = field(default_factory=set, repr=False)

    @property
    def remaining_errors(self) -> int:
        return sum(1 for d in self.remaining if d.severity == "error")

    def summary(self) -> str:
        if self.skipped:
            return f"{self.path}: not fixed: {self.skipped}"
        s = (f"{self.path}: {self.input_records:,} input records -> {self.output_records:,} written, "
             f"{self.rejected:,} rejected")
        if self.rejected and self.rejects_path:
            s += f" (see {self.rejects_path})"
        n = sum(self.edits.values())
        if n:
            top = ", ".join(f"{c} {k:,}" for c, k in sorted(self.edits.items(), key=lambda x: (-x[1], x[0])))
            s += f"; {n:,} fix(es) applied: {top}"
        else:
            s += "; no fixes applied"
        if self.touched:
            s += f"; {self.touched:,} record(s) changed"
        if self.rounds > 1:
            s += f" in {self.rounds} rounds"
        if self.reverted:
            s += f"; {self.reverted} fix(es) reverted (would have broken the JSON)"
        if self.unconverged:
            s += f"; {self.unconverged} record(s) did not settle after {MAX_ITERATIONS} passes"
        if self.remaining:
            by = Counter(d.code for d in self.remaining)
            top = ", ".join(f"{c} {k:,}" for c, k in sorted(by.items(), key=lambda x: (-x[1], x[0]))[:8])
            s += f"; {len(self.remaining):,} problem(s) left that fix did not repair ({top})"
            n_unsafe = sum(1 for d in self.remaining if d.fix is not None and d.fix.applicability == "unsafe")
            if n_unsafe:
                s += f"; {n_unsafe:,} of them fixable with --unsafe-fixes"
        return s


# -- writers -------------------------------------------------------------------------------
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


class _Out:
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


class _TableOut(_Out):
    """Writes records as rows of the input table's schema (``tables.TableWriter``)."""

    def __init__(self, f: BinaryIO, container: str, src):
        from .tables import TableWriter

        self.container = container
        self.line = 1
        self.n = 0
        self.map = LineMap()
        self.w = TableWriter(f, container, src.schema, getattr(src, "dialect", ","))

    def record(self, data: bytes, ending: bytes, src_line: int, indent: bytes = b"") -> None:
        obj = _loads(data)
        if obj is _MISSING:
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



def _renames_keys(before: Any, value: Any) -> bool:
    """Whether an edit replaces an object with one of other keys (or a non-object with one)."""
    if not isinstance(value, dict):
        return False
    return not isinstance(before, dict) or set(before) != set(value)


def _text_fields(data: bytes) -> dict:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text_base64": base64.b64encode(data).decode("ascii")}


def _json_value(v: Any) -> Any:
    try:
        orjson.dumps(v)
        return v
    except TypeError:
        return repr(v)


# -- the fixer -------------------------------------------------------------------------------
class Fixer:
    def __init__(self, cfg: Config, policy: FixPolicy, to: str | None = None):
        self.cfg = cfg
        self.policy = policy
        self.to = to
        self.run_id = run_stamp()
        self.progress = None  # a tunelint.progress.Progress for the check pass (terminal only)

    # one file, end to end ------------------------------------------------------------------
    def fix_file(self, path: str, output: str | None, *, rejects: str | None = None, changes: BinaryIO | None = None,
                 container: str | None = None, dry_run: bool = False, diff: BinaryIO | None = None,
                 in_place: bool = False, gz: bool | None = None, display: str | None = None) -> FileFix:
        from .engine import FileRun

        display = display or path
        res = FileFix(display, output)
        rules = self.cfg.rules_for(path)
        cfg = replace(self.cfg, enabled=rules, per_file_ignores={})
        if self.progress is not None:
            self.progress.label = "fixing"
        run = FileRun(path, cfg, display_path=display, progress=self.progress)
        diags = run.run()
        if path != "-":  # findings suppressed in the file's ignore file are not fixed either
            from .suppress import filter_file

            diags = filter_file(path, diags, report_unused=False)
        if self.progress is not None:
            self.progress.phase("writing fixes")
        fatal = [d for d in diags if d.line <= 1 and _is_fatal(d, run)]
        if fatal:
            res.skipped = fatal[0].message
            res.remaining = diags
            return res
        if self.to and run.stats.format in ("dpo", "preference"):
            res.skipped = f"--to {self.to}: this file holds {run.stats.format} records (preference pairs), which have no {self.to} form"
            res.remaining = diags
            return res
        in_mode = run.stats.mode
        out_container = container or in_mode
        if out_container in TABLE_MODES and out_container != in_mode:
            raise FixError(f"cannot write {in_mode} records as {out_container}: fix writes the container it read "
                           "(or JSONL: -o NAME.jsonl)")
        if self.to and out_container in TABLE_MODES:
            raise FixError(f"--to {self.to} changes the record shape, which the {in_mode} file's columns cannot hold; "
                           "write JSONL instead: -o NAME.jsonl")
        unit = "row" if in_mode in TABLE_MODES else "line"
        src_gz = _is_gz(path)
        out_gz = gz if gz is not None else (src_gz if (in_place or output in (None, "-")) else output.endswith(".gz"))
        out_dir = os.path.dirname(os.path.abspath(output if output not in (None, "-") else path))
        if not in_place and (dry_run or output in (None, "-")):
            out_dir = tempfile.gettempdir()
        self._rules = rules
        self._file_fmt = run.stats.format
        self._dataset_codes = {c.rule.code for c in run.checks if c.scope == "dataset"}
        self._cleared: set[int] = set()  # ids of errors a record's fixes removed (it was checked again)
        ds_rules = [r for r in rules if _dataset_fixable(r, self.policy)]
        temps: list[str] = []
        rejects_buf = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # rejects: memory, then disk
        cur = path
        line_map: LineMap | None = None  # this round's input line -> original line
        try:
            for rnd in range(MAX_ROUNDS):
                suffix = ("." + out_container if out_container in TABLE_MODES else
                          ".jsonl" if out_container == "jsonl" else ".json") + (".gz" if out_gz else "")
                fd, tmp = tempfile.mkstemp(prefix=".tunelint-", suffix=suffix, dir=out_dir)
                temps.append(tmp)
                with os.fdopen(fd, "wb") as raw:
                    f = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if out_gz else raw
                    st = _RoundState(rnd, line_map, rejects_buf, changes, res, unit)
                    self._apply(cur, diags, f, out_container, in_mode if rnd == 0 else out_container, st, res, first=rnd == 0)
                    if out_gz:
                        f.close()
                res.rounds = rnd + 1
                if rnd == 0:
                    res.input_records = st.records_in
                res.output_records = st.records_out
                res.changed = res.changed or st.changed
                line_map = st.out.map.compose(line_map)
                cur = tmp
                in_mode = out_container
                if not (st.changed and ds_rules):
                    break
                vcfg = replace(cfg, enabled=ds_rules)
                vdiags = FileRun(tmp, vcfg, display_path=display).run()
                if not any(self.policy.allows(d) for d in vdiags):
                    break
                diags = vdiags
            # The guarantee, checked: every input record is written or rejected.
            if res.input_records != res.output_records + res.rejected:
                raise FixError(f"internal accounting error: {res.input_records} in, {res.output_records} out, "
                               f"{res.rejected} rejected; nothing was written")
            same_bytes = not res.changed and out_container == run.stats.mode and out_gz == src_gz
            if diff is not None and res.changed:
                _write_diff(diff, path, cur, display, output or display, line_map or LineMap(), out_container == run.stats.mode == "jsonl")
            if not dry_run:
                # Rejected records are saved first: if that fails, no data has been replaced.
                if res.rejected or rejects:
                    res.rejects_path = rejects_path_for(path, output, rejects, in_place)
                    from .fsutil import Unwritable, check_writable

                    try:
                        check_writable(res.rejects_path, "rejects file", append=True)
                    except Unwritable as e:
                        raise FixError(f"{e}; nothing was written") from None
                    rejects_buf.seek(0)
                    append_rejects(rejects_buf, res.rejects_path)
                if in_place:
                    if res.changed:
                        _commit(cur, path)
                elif output == "-":
                    _copy_to(path if same_bytes else cur, sys.stdout.buffer)
                elif output is not None:
                    if same_bytes:
                        _copy_file(path, output)
                    else:
                        _commit(cur, output)
            elif res.rejected:
                res.rejects_path = rejects_path_for(path, output, rejects, in_place)
        finally:
            rejects_buf.close()
            for t in temps:
                if os.path.exists(t):
                    os.unlink(t)
        res.remaining = [d for d in res.remaining if d.line not in res._rejected_lines and id(d) not in self._cleared]
        return res

    # one round ---------------------------------------------------------------------------
    def _apply(self, path: str, diags: list[Diagnostic], f: BinaryIO, container: str, in_mode: str,
               st: "_RoundState", res: FileFix, first: bool) -> None:
        pol = self.policy
        self._table = container in TABLE_MODES
        by_line: dict[int, list[Diagnostic]] = {}
        lf = False
        for d in diags:
            if pol.allows(d):
                if pol.is_line_endings(d):
                    lf = True
                    st.change(d.line, d.code, "line-endings", "", "\r\n", "\n")
                    res.edits[d.code] += 1
                    continue
                if not d.fix.edits:
                    if first:
                        res.remaining.append(d)
                    continue
                by_line.setdefault(d.line, []).append(d)
            elif first:
                res.remaining.append(d)
        if lf:
            st.changed = True
        if in_mode == "json":  # the array is rewritten without a BOM: count the BOM fix here
            for ln in list(by_line):
                keep = [d for d in by_line[ln] if not any(e.op == "line" for e in d.fix.edits)]
                for d in by_line[ln]:
                    if d not in keep:
                        res.edits[d.code] += 1
                        st.change(ln, d.code, "line", "", "\ufeff", "")
                by_line[ln] = keep
        # lines of record-level errors that, unless a fix removes them, reject their record
        self._errs: dict[int, list[Diagnostic]] = {}
        for d in diags if first else ():
            if d.code not in self._dataset_codes and pol.rejects(d):
                self._errs.setdefault(d.line, []).append(d)
        self._err_lines = sorted(self._errs)
        src = Source(path)
        table = src.unit == "row"
        starts: Counter | None = None  # JSON arrays: how many elements start on each line
        st.out = out = None  # type: ignore[assignment]
        indents: dict[int, bytes] = {}
        self._recheck = None
        for item in src:
            if isinstance(item, FileProblem):
                if table and item.kind in FATAL_PROBLEMS:  # rows that cannot be read would be lost
                    raise FixError(item.detail)
                continue
            if out is None:
                st.out = out = _TableOut(f, container, src) if container in TABLE_MODES else _Out(f, container)
            if isinstance(item, PhysLine):  # JSON-array mode: remember each line's indentation
                d = item.data
                if item.line == 1 and d.startswith(BOM):
                    d = d[3:]
                indents[item.line] = d[: len(d) - len(d.lstrip(b" \t"))]
                continue
            chunk: Chunk = item
            line = chunk.line
            ending = chunk.phys.ending if chunk.phys is not None else b"\n"
            if lf and ending == b"\r\n":
                ending = b"\n"
            indent = b""
            if src.mode == "json":
                indent = indents.pop(line, b"") if chunk.column > 1 else b""
                for k in [k for k in indents if k < line]:
                    del indents[k]
                if chunk.column - 1 != len(indent):
                    indent = b""
            data = chunk.data
            ds = by_line.get(line)
            if src.mode == "json":
                if starts is None:
                    starts = Counter(c.line for c in Source(path) if isinstance(c, Chunk))
                ds = self._element_diags(by_line, chunk, starts)
            had_bom = line == 1 and data.startswith(BOM)
            body = data[3:] if had_bom else data
            if not body.strip():  # a blank line: not a record
                if ds and any(e.op == "line" and e.value is None for d in ds for e in d.fix.edits):
                    for d in ds:
                        st.change(line, d.code, "line", "", data.decode("utf-8", "replace"), None)
                        res.edits[d.code] += 1
                    st.changed = True
                    continue
                if container == "jsonl" and src.mode == "jsonl":
                    out.raw_line(data, ending)
                    if ending != chunk.phys.ending:
                        st.changed = True
                else:
                    st.changed = True
                continue
            st.records_in += 1
            new_bytes = self._record(chunk, data, body, had_bom, ds or (), st, res, container, src.mode, indent)
            if new_bytes is None:
                continue
            if new_bytes is not data or (chunk.phys is not None and ending != chunk.phys.ending):
                st.changed = True
            elif container != src.mode:
                st.changed = True
            st.records_out += 1
            if container == "json" and src.mode == "jsonl":
                indent = b""
            if container == "jsonl" and b"\n" in new_bytes:  # an array element spanning lines
                try:
                    new_bytes = orjson.dumps(orjson.loads(new_bytes))
                except orjson.JSONDecodeError:  # kept broken record: newlines outside strings are spaces
                    new_bytes = new_bytes.replace(b"\n", b" ")
            out.record(new_bytes, ending if src.mode == "jsonl" and container == "jsonl" else b"\n", line, indent)
        if out is None:
            st.out = out = _TableOut(f, container, src) if container in TABLE_MODES else _Out(f, container)
        out.close()

    def _element_diags(self, by_line: dict, chunk: Chunk, starts: Counter):
        """The diagnostics of one JSON array element. Record rules locate a finding inside the
        element (a pretty-printed element spans lines; ``json.dump`` writes every element on one
        line), dataset rules report the line where the record starts: a finding belongs to the
        element whose text holds its position, or, placed before it on its first line, to the
        only element starting on that line. An unparseable element also owns the parser's
        findings on its lines (F001 is reported where the parser stopped)."""
        line, data = chunk.line, chunk.data
        nl = data.count(b"\n")
        end = (line + nl, chunk.column + len(data) if not nl else len(data) - data.rfind(b"\n"))
        broken = None
        out = []
        for k in range(line, end[0] + 1):
            for d in by_line.get(k, ()):
                if (line, chunk.column) <= (d.line, d.column) <= end or (
                        d.line == line and d.column < chunk.column and starts[line] == 1):
                    out.append(d)
                    continue
                if broken is None:
                    broken = not _parses(data)
                if broken and hasattr(self._kind_class(d.code), "check_unparsed"):
                    out.append(d)
        return out or None

    def _kind_class(self, code: str):
        from .checks import KINDS, load_all

        load_all()
        return KINDS.get(self.policy.kinds.get(code, ""))

    def _record(self, chunk: Chunk, data: bytes, body: bytes, had_bom: bool, ds, st: "_RoundState", res: FileFix,
                container: str, mode: str, indent: bytes) -> bytes | None:
        """Return the record's output bytes (``data`` itself when untouched) or None when rejected.
        A record that had an error is checked again once fixed: if an error is left that the
        policy lets the fixer act on, the record goes to the rejects file with the reason."""
        out = self._fixed_record(chunk, data, body, had_bom, ds, st, res, container, mode, indent)
        if out is None:
            return out
        errs = self._err_lines
        a = bisect.bisect_left(errs, chunk.line)
        b = bisect.bisect_right(errs, chunk.line + data.count(b"\n"))
        if a == b and (out is data or not self.policy.unsafe):
            return out
        # a fixed record is checked again too: a fix can make an error (two answers of a
        # preference pair that only differed by trailing space are now identical), and the
        # next fix would reject it (found by the fix property suite: fixing twice changed more)
        before = [d for ln in errs[a:b] for d in self._errs[ln]]
        left = self._errors_left(chunk, out, before)
        if not left:  # fixed: its errors are not "left that fix did not repair"
            self._cleared.update(map(id, before))
            return out
        reason = "errors left after fixing: " + "; ".join(f"{d.code} {d.message}" for d in left)
        self._reject(st, data, chunk.line, left, reason)
        if out is not data:  # the record's fixes were counted; it is rejected instead
            res.touched -= 1
        return None

    def _errors_left(self, chunk: Chunk, out: bytes, before: list[Diagnostic]) -> list[Diagnostic]:
        body = out[3:] if out.startswith(BOM) else out
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:  # bytes no fix rewrote: their E001 stands
            return [d for d in before if self.policy.kinds.get(d.code) == "invalid-utf8"] or before
        obj = _loads(body)
        if obj is _MISSING:
            return []  # unparseable: F001's drop (an unsafe fix) decides
        left = self._recheck_record(chunk, obj, self.to or self._file_fmt)
        return [d for d in left if d.code not in self._dataset_codes and self.policy.rejects(d)]

    def _fixed_record(self, chunk: Chunk, data: bytes, body: bytes, had_bom: bool, ds, st: "_RoundState", res: FileFix,
                      container: str, mode: str, indent: bytes) -> bytes | None:
        line = chunk.line
        applied: list[tuple[Diagnostic, Any]] = []
        # 1. line edits (JSONL only: in an array the container is rewritten anyway)
        cur = data
        for d in ds:
            for e in d.fix.edits:
                if e.op != "line":
                    continue
                if mode == "json":
                    continue
                if e.value is None:
                    self._reject(st, data, line, [d], "line removed by the fix")
                    res.edits[d.code] += 1
                    return None
                new = e.value if isinstance(e.value, bytes) else str(e.value).encode()
                if _parses(cur) and not _parses(new):
                    res.reverted += 1
                    continue
                st.change(line, d.code, "line", "", cur.decode("utf-8", "replace"), new.decode("utf-8", "replace"))
                res.edits[d.code] += 1
                cur = new
                break
        if cur is not data and mode == "jsonl":
            had_bom = False
        # 2. drops
        if self._dropped(ds, st, res, data, line):
            return None
        sets = [(d, e) for d in ds for e in d.fix.edits if e.op in ("set", "sub")]
        if not sets and not self.to:
            return cur
        # 3. set edits on the parsed record, conversion, then the re-check loop
        text = cur[3:] if cur.startswith(BOM) else cur
        obj = _loads(text)
        if obj is _MISSING:
            return cur  # cannot parse: nothing to set (F001's drop is the only fix)
        try:
            orig = orjson.loads(orjson.dumps(obj))
        except TypeError:  # nested deeper than orjson writes (255 levels): the record stays as it is
            res.reverted += 1
            return cur
        touched = self._apply_sets(obj, sets, line, st, res)
        obj = touched[0]
        if self.to:
            from .convert import ConvertError, convert

            try:
                conv = convert(obj, self.to, self.policy.input_separator)
            except ConvertError as e:
                self._reject(st, data, line, [], f"cannot convert to {self.to}: {e}", codes=["convert"])
                res.edits["convert"] += 1
                return None
            if conv is not obj:
                st.change(line, "convert", "set", "", _json_value(obj), conv)
                res.edits["convert"] += 1
                obj = conv
        fmt = self.to or self._file_fmt
        for _ in range(MAX_ITERATIONS):
            new_diags = self._recheck_record(chunk, obj, fmt)
            todo = [d for d in new_diags if self.policy.allows(d) and d.fix.edits and not self.policy.is_line_endings(d)]
            if not todo:
                break
            if self._dropped(todo, st, res, data, line):
                return None
            sets = [(d, e) for d in todo for e in d.fix.edits if e.op in ("set", "sub")]
            if not sets:
                break
            obj, n = self._apply_sets(obj, sets, line, st, res)
            if not n:
                break
        else:
            res.unconverged += 1
        if obj == orig and type(obj) is type(orig):
            return cur
        try:
            out = orjson.dumps(obj)
        except TypeError:
            res.reverted += 1
            return cur
        res.touched += 1
        if container == "json" and mode == "json" and b"\n" in data:
            out = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
            if indent:
                out = out.replace(b"\n", b"\n" + indent)
        if had_bom and mode == "jsonl":
            out = BOM + out
        return out

    def _dropped(self, ds, st: "_RoundState", res: FileFix, data: bytes, line: int) -> bool:
        """Reject the record if any of ``ds`` drops it."""
        drops = [d for d in ds if any(e.op == "drop" for e in d.fix.edits)]
        if not drops:
            return False
        self._reject(st, data, line, drops, "; ".join(d.message for d in drops))
        for d in drops:
            res.edits[d.code] += 1
        return True

    def _apply_sets(self, obj, sets, line: int, st: "_RoundState", res: FileFix):
        done: list[str] = []
        n = 0
        for d, e in sets:
            if any(_overlaps(e.pointer, p) for p in done):
                continue  # the re-check recomputes this edit from the new text
            try:
                before = get_pointer(obj, e.pointer)
            except (KeyError, IndexError, ValueError, TypeError):
                continue
            value = e.value
            if e.op == "sub":  # a word-level substitution computed from the current text
                if not isinstance(before, str):
                    continue
                pattern, repl = e.value
                value = re.sub(pattern, lambda m: repl, before)
            if before == value:
                continue
            if self._table and _renames_keys(before, value):
                res.reverted += 1  # a table keeps its schema: a key repair has no row form there
                continue
            try:
                orjson.dumps(value)
            except TypeError:
                res.reverted += 1
                continue
            obj = set_pointer(obj, e.pointer, value)
            done.append(e.pointer)
            n += 1
            res.edits[d.code] += 1
            st.change(line, d.code, "set", e.pointer, _json_value(before), value)
        return obj, n

    def _recheck_record(self, chunk: Chunk, obj, fmt: str | None) -> list[Diagnostic]:
        from .engine import FileRun
        from .formats import Record, detect, dumps_sorted

        rc = self._recheck
        if rc is None:
            rc = self._recheck = FileRun(os.devnull, replace(self.cfg, enabled=self._rules, per_file_ignores={}), display_path="<recheck>")
            rc.start(fmt or "unknown", "jsonl", observe=False)  # no dataset state for single records
        data = dumps_sorted(obj, sort=False)  # orjson refuses values nested past 255 levels
        phys = PhysLine(chunk.line, data, b"\n")
        diags = rc.check_line(phys)
        rec = Record("<recheck>", chunk.line, chunk.column, 0, obj, data, detected=detect(obj))
        ev = rc.process(Chunk(chunk.line, 1, data, phys), rec, diags, fmt or "unknown")
        return ev.diagnostics

    def _reject(self, st: "_RoundState", data: bytes, line: int, ds, reason: str, codes=None) -> None:
        orig = st.orig_line(line)
        entry = {st.unit: orig, "codes": codes or sorted({d.code for d in ds}), "reason": reason, **_text_fields(data),
                 "input": st.res.path, "run": self.run_id}
        if st.round:
            entry["note"] = "record as it was after earlier fixes"
        st.rejects.write(orjson.dumps(entry) + b"\n")
        st.res.rejected += 1
        st.res._rejected_lines.add(orig)
        st.changed = True
        st.change(line, ",".join(entry["codes"]), "drop", "", None, None, reason=reason)


class _RoundState:
    def __init__(self, rnd: int, line_map: "LineMap | None", rejects: BinaryIO, changes: BinaryIO | None, res: FileFix,
                 unit: str = "line"):
        self.res = res
        self.unit = unit  # the key rejects and changes entries use: "line", or "row" for tables
        self.round = rnd
        self.line_map = line_map
        self.rejects = rejects
        self.changes = changes
        self.records_in = 0
        self.records_out = 0
        self.changed = False
        self.out: _Out | None = None

    def orig_line(self, line: int) -> int:
        return self.line_map.get(line, line) if self.line_map else line

    def change(self, line, code, op, pointer, before, after, reason=None) -> None:
        self.changed = True
        if self.changes is None:
            return
        e = {self.unit: self.orig_line(line), "code": code, "op": op, "pointer": pointer, "before": before, "after": after}
        if reason:
            e["reason"] = reason
        if self.round:
            e["round"] = self.round + 1
        self.changes.write(orjson.dumps(e) + b"\n")


# -- helpers -----------------------------------------------------------------------------------
def _loads(data: bytes):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return orjson.loads(data.decode("utf-8", errors="replace"))
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            return _MISSING


def _parses(data: bytes) -> bool:
    d = data[3:] if data.startswith(BOM) else data
    return not d.strip() or _loads(d) is not _MISSING


def _is_gz(path: str) -> bool:
    if path == "-":
        return False
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _is_fatal(d: Diagnostic, run) -> bool:
    rule = run.config.rule(d.code)
    if rule is None or rule.kind != "file-problem":
        return False
    p = rule.params.get("problem")
    ps = p if isinstance(p, list) else [p]
    return bool(set(ps) & FATAL_PROBLEMS)


def _dataset_fixable(rule, policy: FixPolicy) -> bool:
    from .checks import KINDS, load_all
    from .checks.base import DatasetCheck

    load_all()
    cls = KINDS.get(rule.kind)
    if cls is None or rule.fix is None:
        return False
    if not issubclass(cls, DatasetCheck) or policy.kinds.get(rule.code) == "line-endings":
        return False
    probe = Diagnostic(rule.code, rule.name, rule.severity, "", 0, 1, "", "", fix=Fix(rule.fix.get("applicability"), ""))
    return policy.allows(probe)


def preflight(files: list[str], output: str | None = None, rejects: str | None = None, changes: str | None = None,
              in_place: bool = False, dry_run: bool = False) -> None:
    """Before any work: every file a fix run may write (the output or each input with
    --in-place, the rejects file, --changes) must be writable, or :class:`fsutil.Unwritable`
    is raised and nothing is replaced."""
    from .fsutil import check_writable

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
    return _default_rejects(output if output not in (None, "-") else (path if in_place else os.path.basename(path)), in_place)


def append_rejects(new: BinaryIO, dest: str) -> None:
    """Append this run's rejects to ``dest``, atomically: the old entries and the new ones are
    written to a temporary file that replaces ``dest``, so a crash leaves the old file or the
    complete new one, and no run ever destroys an earlier run's rejects (each entry names its
    ``run`` and ``input``, so runs stay apart). An explicit ``--rejects`` file that does not
    exist yet is created even when nothing was dropped."""
    from .fsutil import atomic_write

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
        _copy(new, f)
    if not existed:
        normal_mode(dest)


def _default_rejects(base: str, in_place: bool) -> str:
    name = base
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in (".jsonl", ".ndjson", ".json", ".parquet", ".arrow", ".csv", ".tsv"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return name + ".rejects.jsonl"


def _commit(tmp: str, dest: str) -> None:
    """Rename the finished temporary file over ``dest`` (same directory: atomic)."""
    dest = os.path.abspath(dest)
    if os.path.dirname(os.path.abspath(tmp)) != os.path.dirname(dest):
        from .fsutil import atomic_write

        existed = os.path.exists(dest)
        with open(tmp, "rb") as src, atomic_write(dest) as f:
            _copy(src, f)
        if not existed:
            normal_mode(dest)
        return
    if os.path.exists(dest):
        try:
            os.chmod(tmp, os.stat(dest).st_mode & 0o7777)
        except OSError:
            pass
    else:
        os.chmod(tmp, 0o666 & ~_umask())
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)


def normal_mode(path: str) -> None:
    """A new file gets the usual 0666 & ~umask (atomic_write's temporary file is 0600)."""
    try:
        os.chmod(path, 0o666 & ~_umask())
    except OSError:
        pass


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _copy(src, dst) -> None:
    while True:
        b = src.read(1 << 20)
        if not b:
            break
        dst.write(b)


def _copy_file(src: str, dest: str) -> None:
    from .fsutil import atomic_write

    existed = os.path.exists(dest)
    with open(src, "rb") as s, atomic_write(dest) as f:
        _copy(s, f)
    if not existed:
        normal_mode(dest)


def _copy_to(src: str, out: BinaryIO) -> None:
    with open(src, "rb") as s:
        _copy(s, out)
    out.flush()


def _read_lines(path: str) -> list[bytes]:
    with open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        return f.read().splitlines(keepends=True)


def _write_diff(out: BinaryIO, a_path: str, b_path: str, a_name: str, b_name: str, line_map: "LineMap", jsonl: bool) -> None:
    """A unified diff (no context lines) of input and output."""
    a = _read_lines(a_path)
    b = _read_lines(b_path)
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


# -- entry points -------------------------------------------------------------------------------
def fix_in_place_for_check(paths: list[str], cfg: Config, unsafe: bool = False, policy: FixPolicy | None = None,
                           progress=None) -> list[FileFix]:
    """``tunelint check --fix``: fix every input in place (atomically); print one line per changed file."""
    import click

    pol = policy or FixPolicy.from_config(cfg, unsafe)
    fx = Fixer(cfg, pol)
    fx.progress = progress
    results = []
    files = list(iter_input_paths(paths, cfg))
    if "-" in files:
        click.echo("tunelint: --fix ignores stdin (nothing to write back to)", err=True)
        files = [p for p in files if p != "-"]
    preflight(files, in_place=True)
    for p in files:
        try:
            r = fx.fix_file(p, None, in_place=True, display=p)
        except FixError as e:
            click.echo(f"tunelint: {p}: {e}", err=True)
            continue
        results.append(r)
        if r.changed:
            click.echo(f"tunelint: fixed {r.summary()}", err=True)
    if progress is not None:
        progress.close()
    return results
