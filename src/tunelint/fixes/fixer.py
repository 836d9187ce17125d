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

The fixer knows no rule and no kind: what an edit does is its op (``EDIT_APPLIERS`` in
:mod:`tunelint.fixes.edits`, applied by the op's scope), whether a fix may run is the policy
(:mod:`tunelint.fixes.policy`, over codes, names and the rules' declared applicability), and
what a rule's findings mean for the fix is declared by its check's views and attributes
(``DatasetCheck.observes``: whether fixed records can make new findings; ``halts_fix``: a file
that cannot be read is left as it is; ``UnparsedCheck``: findings about a record's bytes).
"""
from __future__ import annotations

import base64
import bisect
import gzip
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import orjson

from ..checks.base import DatasetCheck, UnparsedCheck
from ..config import Config
from ..diagnostic import Diagnostic
from ..model.diagnostic import EditOp
from ..model.markers import BOM_TEXT
from ..reader import BOM, UNREADABLE, Chunk, FileProblem, PhysLine, Source, iter_input_paths
from .diff import write_diff
from .edits import MISSING, SKIP, apply, edits_of, get_pointer, loads, overlaps, parses, set_pointer
from .policy import FixPolicy
from .writer import (TABLE_MODES, FixError, LineMap, Out, TableOut, append_rejects, commit, copy_file, copy_to,
                     is_gz, preflight, rejects_path_for, run_stamp)

MAX_ITERATIONS = 8  # re-check/fix loop per record
MAX_ROUNDS = 4  # whole-file rounds (dataset-level fixes that only appear after other fixes)
FATAL_PROBLEMS = UNREADABLE  # the older name (reader.UNREADABLE)


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
        from ..spill import budget

        with budget(self.cfg.memory):  # the check pass's dataset state spills past Config.memory
            return self._fix_file(path, output, rejects=rejects, changes=changes, container=container, dry_run=dry_run,
                                  diff=diff, in_place=in_place, gz=gz, display=display)

    def _fix_file(self, path: str, output: str | None, *, rejects: str | None = None, changes: BinaryIO | None = None,
                  container: str | None = None, dry_run: bool = False, diff: BinaryIO | None = None,
                  in_place: bool = False, gz: bool | None = None, display: str | None = None) -> FileFix:
        from ..engine import FileRun

        display = display or path
        res = FileFix(display, output)
        rules = self.cfg.rules_for(path)
        cfg = replace(self.cfg, enabled=rules, per_file_ignores={})
        if self.progress is not None:
            self.progress.label = "fixing"
        run = FileRun(path, cfg, display_path=display, progress=self.progress)
        diags = run.run()
        if path != "-":  # findings suppressed in the file's ignore file are not fixed either
            from ..suppress import filter_file

            diags = filter_file(path, diags, report_unused=False)
        if self.progress is not None:
            self.progress.phase("writing fixes")
        halting = {c.rule.code for c in run.checks if c.halts_fix}  # the file cannot be read: leave it
        fatal = [d for d in diags if d.line <= 1 and d.code in halting]
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
        src_gz = is_gz(path)
        out_gz = gz if gz is not None else (src_gz if (in_place or output in (None, "-")) else output.endswith(".gz"))
        out_dir = os.path.dirname(os.path.abspath(output if output not in (None, "-") else path))
        if not in_place and (dry_run or output in (None, "-")):
            out_dir = tempfile.gettempdir()
        self._rules = rules
        self._file_fmt = run.stats.format
        self._dataset_codes = {c.rule.code for c in run.checks if isinstance(c, DatasetCheck)}
        self._unparsed_codes = {c.rule.code for c in run.checks if isinstance(c, UnparsedCheck)}  # about a record's bytes
        self._cleared: set[int] = set()  # ids of errors a record's fixes removed (it was checked again)
        # dataset rules that fixed records can give new findings (two records that only differed
        # by whitespace are duplicates now): the output is checked again with them
        ds_rules = [c.rule for c in run.checks if isinstance(c, DatasetCheck) and c.observes and c.rule.fix is not None
                    and self.policy.allows_rule(c.rule.code, c.rule.name, c.rule.fix["applicability"])]
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
                write_diff(diff, path, cur, display, output or display, line_map or LineMap(), out_container == run.stats.mode == "jsonl")
            if not dry_run:
                # Rejected records are saved first: if that fails, no data has been replaced.
                if res.rejected or rejects:
                    res.rejects_path = rejects_path_for(path, output, rejects, in_place)
                    from ..fsutil import Unwritable, check_writable

                    try:
                        check_writable(res.rejects_path, "rejects file", append=True)
                    except Unwritable as e:
                        raise FixError(f"{e}; nothing was written") from None
                    rejects_buf.seek(0)
                    append_rejects(rejects_buf, res.rejects_path)
                if in_place:
                    if res.changed:
                        commit(cur, path)
                elif output == "-":
                    copy_to(path if same_bytes else cur, sys.stdout.buffer)
                elif output is not None:
                    if same_bytes:
                        copy_file(path, output)
                    else:
                        commit(cur, output)
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
        self._file_edits = []  # file-scope edits (line endings): applied to every line this round writes
        for d in diags:
            if pol.allows(d):
                file_edits = [e for _, e in edits_of((d,), "file")]
                if file_edits:
                    for e in file_edits:
                        self._file_edits.append(e)
                        st.change(d.line, d.code, e.op, e.pointer, *e.value)
                    res.edits[d.code] += 1
                    continue
                if not d.fix.edits:
                    if first:
                        res.remaining.append(d)
                    continue
                by_line.setdefault(d.line, []).append(d)
            elif first:
                res.remaining.append(d)
        if self._file_edits:
            st.changed = True
        if in_mode == "json":
            # line edits have no place in an array: the writer writes the container anew, and
            # what it leaves out of the raw lines is the byte order mark (counted here)
            for ln in list(by_line):
                keep = [d for d in by_line[ln] if not edits_of((d,), "line")]
                for d in by_line[ln]:
                    if d not in keep:
                        res.edits[d.code] += 1
                        st.change(ln, d.code, EditOp.LINE, "", BOM_TEXT, "")
                by_line[ln] = keep
        # lines of record-level errors that, unless a fix removes them, reject their record
        self._errs: dict[int, list[Diagnostic]] = {}
        for d in diags if first else ():
            if d.code not in self._dataset_codes and pol.rejects(d):
                self._errs.setdefault(d.line, []).append(d)
        self._err_lines = sorted(self._errs)
        src = Source(path)
        src.max_record = self.cfg.max_record_size
        table = src.unit == "row"
        starts: Counter | None = None  # JSON arrays: how many elements start on each line
        st.out = out = None  # type: ignore[assignment]
        indents: dict[int, bytes] = {}
        self._recheck = None
        for item in src:
            if isinstance(item, FileProblem):
                if table and item.kind in UNREADABLE:  # rows that cannot be read would be lost
                    raise FixError(item.detail)
                if item.kind == "record-too-large":  # it would be lost: nothing is replaced
                    raise FixError(f"{item.detail}; fix rewrites no file it cannot hold record by record, and replaced nothing")
                continue
            if out is None:
                st.out = out = TableOut(f, container, src) if container in TABLE_MODES else Out(f, container)
            if isinstance(item, PhysLine):  # JSON-array mode: remember each line's indentation
                d = item.data
                if item.line == 1 and d.startswith(BOM):
                    d = d[3:]
                indents[item.line] = d[: len(d) - len(d.lstrip(b" \t"))]
                continue
            chunk: Chunk = item
            line = chunk.line
            ending = chunk.phys.ending if chunk.phys is not None else b"\n"
            for e in self._file_edits:
                ending = apply(ending, e)
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
                if ds and any(apply(data, e) is None for _, e in edits_of(ds, "line")):  # the line removed
                    for d in ds:
                        st.change(line, d.code, EditOp.LINE, "", data.decode("utf-8", "replace"), None)
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
            st.out = out = TableOut(f, container, src) if container in TABLE_MODES else Out(f, container)
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
                    broken = not parses(data)
                if broken and d.code in self._unparsed_codes:
                    out.append(d)
        return out or None

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
        except UnicodeDecodeError:  # bytes no fix rewrote: the findings about them (E001) stand
            return [d for d in before if d.code in self._unparsed_codes] or before
        obj = loads(body)
        if obj is MISSING:
            return []  # unparseable: F001's drop (an unsafe fix) decides
        left = self._recheck_record(chunk, obj, self.to or self._file_fmt)
        return [d for d in left if d.code not in self._dataset_codes and self.policy.rejects(d)]

    def _fixed_record(self, chunk: Chunk, data: bytes, body: bytes, had_bom: bool, ds, st: "_RoundState", res: FileFix,
                      container: str, mode: str, indent: bytes) -> bytes | None:
        line = chunk.line
        # 1. line-scope edits (JSONL only: in an array the container is rewritten anyway), one per finding
        cur = data
        for d in ds if mode != "json" else ():
            for _, e in edits_of((d,), "line"):
                new = apply(cur, e)
                if new is None:
                    self._reject(st, data, line, [d], "line removed by the fix")
                    res.edits[d.code] += 1
                    return None
                if parses(cur) and not parses(new):
                    res.reverted += 1
                    continue
                st.change(line, d.code, e.op, e.pointer, cur.decode("utf-8", "replace"), new.decode("utf-8", "replace"))
                res.edits[d.code] += 1
                cur = new
                break
        if cur is not data and mode == "jsonl":
            had_bom = False
        # 2. record-scope edits (drops)
        if self._dropped(ds, st, res, data, line):
            return None
        sets = edits_of(ds, "value")
        if not sets and not self.to:
            return cur
        # 3. value-scope edits on the parsed record, conversion, then the re-check loop
        text = cur[3:] if cur.startswith(BOM) else cur
        obj = loads(text)
        if obj is MISSING:
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
                st.change(line, "convert", EditOp.SET, "", _json_value(obj), conv)
                res.edits["convert"] += 1
                obj = conv
        fmt = self.to or self._file_fmt
        for _ in range(MAX_ITERATIONS):
            new_diags = self._recheck_record(chunk, obj, fmt)
            todo = [d for d in new_diags if self.policy.allows(d) and d.fix.edits]
            if not todo:
                break
            if self._dropped(todo, st, res, data, line):
                return None
            sets = edits_of(todo, "value")
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
        """Reject the record if a record-scope edit of ``ds`` drops it."""
        drops = [d for d in ds if any(apply(data, e) is None for _, e in edits_of((d,), "record"))]
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
            if any(overlaps(e.pointer, p) for p in done):
                continue  # the re-check recomputes this edit from the new text
            try:
                before = get_pointer(obj, e.pointer)
            except (KeyError, IndexError, ValueError, TypeError):
                continue
            value = apply(before, e)  # e.g. a word-level substitution computed from the current text
            if value is SKIP or before == value:
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
            st.change(line, d.code, EditOp.SET, e.pointer, _json_value(before), value)
        return obj, n

    def _recheck_record(self, chunk: Chunk, obj, fmt: str | None) -> list[Diagnostic]:
        from ..engine import FileRun
        from ..formats import Record, detect, dumps_sorted

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
        st.change(line, ",".join(entry["codes"]), EditOp.DROP, "", None, None, reason=reason)


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
        self.out: Out | None = None

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
