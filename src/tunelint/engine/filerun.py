"""One file's pass: :class:`FileRun`, its counts (:class:`FileStats`), a split file's part state
(:class:`PartState`) and the :class:`Sink` protocol. The public API is :mod:`tunelint.engine`
(which re-exports these); ``tunelint.parallel`` builds on this module."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterator

import orjson

from ..checks.base import (Check, DatasetCheck, FileContext, FileProblemCheck, Finding, FixOffer, LateRecordCheck, LineCheck,
                          ProblemCheck, RecordCheck, TurnCheck, UnparsedCheck)
from ..checks.registry import kind_class
from ..config import Config
from ..diagnostic import Diagnostic, Fix, row_wording
from ..formats import Normalizer, Record, detect, record_format
from ..locate import line_column_in_string, line_column_of, value_at
from ..reader import BOM, Chunk, FileProblem, PhysLine, Source, split_ending
from .. import spill
from ..words import format_message

DETECT_SAMPLE = 64


@dataclass(slots=True)
class Event:
    chunk: Chunk
    record: Record | None  # None when the chunk did not parse (or is a blank line)
    diagnostics: list[Diagnostic]


@dataclass
class FileStats:
    path: str
    lines: int = 0
    records: int = 0
    parsed: int = 0
    formats: Counter = field(default_factory=Counter)
    format: str = "unknown"
    mode: str = "jsonl"

    def to_dict(self) -> dict:
        return {"path": self.path, "lines": self.lines, "records": self.records,
                "parsed": self.parsed, "format": self.format, "formats": dict(self.formats)}


def build_checks(rules) -> list[Check]:
    return [kind_class(r.kind)(r, r.params) for r in rules]


class FileRun:
    def __init__(self, path: str, config: Config, display_path: str | None = None,
                 byte_range: tuple[int, int, int] | None = None, fmt: str | None = None, progress=None,
                 source: Source | None = None):
        self.path = path
        self.source = source  # records from elsewhere (tables.RecordsSource); default: read ``path``
        self.unit = source.unit if source is not None else _unit_of(path)
        self.display = display_path or ("<stdin>" if path == "-" else os.path.relpath(path) if not os.path.isabs(path) else path)
        self.config = config
        self.rules = config.rules_for(path)
        self.checks = build_checks(self.rules)
        self.stats = FileStats(self.display)
        ms = getattr(config, "mappings", None)
        #: the column/role mapping of this file (tunelint.mapping), applied to each record before detection
        self.mapping = ms.for_path(path) if ms is not None else None
        #: the format every record is read as (``--format``, config, else the mapping's)
        self.record_format = config.format or (self.mapping.format if self.mapping is not None else None)
        self.forced_format = fmt or self.record_format
        self.byte_range = byte_range
        options: dict = {}
        for c in self.checks:
            options.update(c.normalizer_options())
        self.normalizer = Normalizer(options)
        self.ctx: FileContext | None = None
        self._file_diags: list[Diagnostic] = []
        self.progress = progress

    # -- diagnostics -----------------------------------------------------------
    def _diag(self, chk: Check, f: Finding, line: int, rec: Record | None = None) -> Diagnostic:
        r = chk.rule
        msg = f.message
        if msg is None:
            try:
                msg = format_message(r.message, f.args) if ":~" in r.message else r.message.format(**f.args)
            except (KeyError, IndexError, ValueError):
                msg = r.message
        fix = None
        offer = f.fix
        if offer is not None:
            if type(offer) is not FixOffer:
                raise TypeError(f"{type(chk).__name__} ({r.code}) yields a fix that is not a checks.base.FixOffer: "
                                "a check offers edits; the rule's YAML fix: gives the applicability")
            if r.fix is not None:  # a rule without a declared fix never offers one
                fix = Fix(r.fix["applicability"], offer.description, offer.edits)
        line = f.line or line
        column = f.column
        if self.unit == "row" and f.path is None:
            # a table's row: no column, and a message's "line N" is a row
            msg = row_wording(msg)
            return Diagnostic(
                code=r.code, name=r.name, severity=r.severity, path=self.display, line=line, column=1,
                pointer=f.pointer, message=msg, fix=fix, unit="row",
                record_hash=f.record_hash or (rec.hash if rec is not None else None), related=f.related,
            )
        if self.mapping is not None and f.path is None:
            f, fix = self._unmapped(f, fix)
        if f.pointer and rec is not None and not f.line and f.path is None:
            if f.offset is not None:  # a span inside a string: point at the span itself
                line, column = line_column_in_string(rec.data, f.pointer, f.offset, rec.line, rec.column)
            elif column == 1:  # a record-level finding: point at where the value starts
                line, column = line_column_of(rec.data, f.pointer, rec.line, rec.column)
        return Diagnostic(
            code=r.code, name=r.name, severity=r.severity, path=f.path or self.display,
            line=line, column=column, pointer=f.pointer, message=msg, fix=fix,
            record_hash=f.record_hash or (rec.hash if rec is not None else None), related=f.related,
        )

    # -- column and role mapping ------------------------------------------------------
    def _map(self, rec: Record) -> None:
        """The record as the mapping names it; its bytes no longer re-read as it (offset -1)."""
        rec.obj = self.mapping.apply(rec.obj)
        rec.mapped = True
        rec.offset = -1

    def _unmapped(self, f: Finding, fix: Fix | None) -> tuple[Finding, Fix | None]:
        """``f`` pointing at the file's own keys; its fix when every edit still means the same
        there (a text set or substituted, a record dropped), else no fix."""
        unmap = self.mapping.unmap
        if f.pointer:
            f = replace(f, pointer=unmap(f.pointer))
        if fix is not None:
            edits = []
            for e in fix.edits:
                if e.op in ("drop", "line"):
                    edits.append(e)
                elif e.op == "sub" or (e.op == "set" and isinstance(e.value, str) and not e.pointer.endswith(("/role", "/from"))):
                    edits.append(replace(e, pointer=unmap(e.pointer)))
                else:  # a value in the mapping's names (a renamed object, a role): not the file's
                    return f, None
            fix = Fix(fix.applicability, fix.description, tuple(edits))
        return f, fix

    # -- the pass ------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        src = self.source if self.source is not None else Source(self.path, mode=None)
        src.max_record = self.config.max_record_size
        it = iter(src) if self.byte_range is None else self._ranged_source(src)
        line_checks = [c for c in self.checks if isinstance(c, LineCheck)]
        unparsed_checks = [c for c in self.checks if isinstance(c, UnparsedCheck)]
        file_checks = [c for c in self.checks if isinstance(c, FileProblemCheck)]
        buffered: list[tuple[Chunk, Record | None, list[Diagnostic]]] = []
        fmt_decided = self.forced_format
        index = 0
        for item in it:
            if isinstance(item, FileProblem):
                self.stats.lines = max(self.stats.lines, item.line)
                for c in file_checks:
                    for f in c.check_file_problem(item, self.ctx):
                        self._file_diags.append(self._diag(c, f, item.line))
                continue
            if isinstance(item, PhysLine):  # JSON-array mode: physical lines arrive separately
                self.stats.lines = item.line
                if self.ctx is None:
                    self.start(fmt_decided or "unknown", src.mode)
                for c in line_checks:
                    for f in c.check_line(item, self.ctx):
                        self._file_diags.append(self._diag(c, f, item.line))
                continue
            chunk = item
            diags: list[Diagnostic] = []
            if chunk.phys is not None:
                self.stats.lines = chunk.line
                if self.ctx is None:
                    self.start(fmt_decided or "unknown", src.mode)
                for c in line_checks:
                    for f in c.check_line(chunk.phys, self.ctx):
                        diags.append(self._diag(c, f, chunk.line))
            data = chunk.data
            if chunk.line == 1 and data.startswith(BOM):
                data = data[3:]
            if not data.strip():
                if buffered:
                    buffered.append((chunk, None, diags))
                else:
                    yield Event(chunk, None, diags)
                continue
            self.stats.records += 1
            if self.progress is not None and not self.stats.records % 250:
                self.progress.update(self.display, src.bytes_read, src.total_bytes)
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError as e:
                obj = _recover(data)
                if obj is _FAILED:
                    if self.ctx is None:
                        self.start(fmt_decided or "unknown", src.mode)
                    for c in unparsed_checks:
                        for f in c.check_unparsed(chunk, data, e, self.ctx):
                            diags.append(self._diag(c, f, chunk.line))
                    if buffered:
                        buffered.append((chunk, None, diags))
                    else:
                        yield Event(chunk, None, diags)
                    continue
                # decodable only with replacement characters: report and go on checking
                for c in unparsed_checks:
                    for f in c.check_unparsed(chunk, data, e, self.ctx or self.start(fmt_decided or "unknown", src.mode)):
                        diags.append(self._diag(c, f, chunk.line))
            self.stats.parsed += 1
            rec = Record(self.display, chunk.line, chunk.column, index, obj, chunk.data)
            rec.offset = chunk.offset
            index += 1
            if self.mapping is not None:
                self._map(rec)
            rec.detected = detect(rec.obj)
            self.stats.formats[rec.detected] += 1
            if fmt_decided is None:
                buffered.append((chunk, rec, diags))
                if len(buffered) >= DETECT_SAMPLE:
                    fmt_decided = self._decide(buffered)
                    yield from self._flush(buffered, fmt_decided, src.mode)
                    buffered = []
                continue
            yield self.process(chunk, rec, diags, fmt_decided)
        if buffered or fmt_decided is None:
            fmt_decided = self._decide(buffered)
            yield from self._flush(buffered, fmt_decided, src.mode)
        self.stats.format = fmt_decided or "unknown"
        self.stats.mode = src.mode
        if self.progress is not None:
            self.progress.update(self.display, src.bytes_read, src.total_bytes)

    def _ranged_source(self, src: Source):
        """Records of one byte range of a JSONL file (for --jobs)."""
        start, end, first_line = self.byte_range  # type: ignore[misc]
        src.mode = "jsonl"
        with open(self.path, "rb") as f:
            f.seek(start)
            n = first_line - 1
            pos = start
            for raw in src.lines(f, first_line):
                at = pos
                n += 1
                if isinstance(raw, FileProblem):  # a line over max-record-size, read past
                    pos = f.tell()
                    yield raw
                else:
                    pos += len(raw)
                    data, ending = split_ending(raw)
                    yield Chunk(n, 1, data, PhysLine(n, data, ending), at)
                src.bytes_read = pos - start
                if pos >= end:
                    break

    def start(self, fmt: str = "unknown", mode: str = "jsonl", observe: bool = True) -> FileContext:
        """Begin the file (``begin`` on every check) with format ``fmt``. ``observe=False``:
        no dataset check observes records (single-record re-checks need no dataset state)."""
        self.ctx = FileContext(self.display, fmt, self.config, mode, self.rules)
        for c in self.checks:
            c.begin(self.ctx)
        self._plan(observe)
        return self.ctx

    _begin = start  # older private name (kept while other branches rebase)


    def check_line(self, phys: PhysLine) -> list[Diagnostic]:
        """The line checks' diagnostics for one physical line, outside the pass (dataset
        checks that read lines are left out): for a record re-serialized by the fixer."""
        if self.ctx is None:
            self.start()
        return [self._diag(c, f, phys.line) for c in self.checks
                if isinstance(c, LineCheck) and not isinstance(c, DatasetCheck)
                for f in c.check_line(phys, self.ctx)]

    def state(self, sinks=()) -> "PartState":
        """What a run over one part of a file leaves for the merge: its dataset checks (with
        their state; picklable), counts and the part's sinks. Settles the dataset checks first."""
        for c in self.checks:
            if isinstance(c, DatasetCheck):
                c.settle()
        return PartState(self.checks, self.stats, list(sinks))

    def adopt(self, first: "PartState", stats: "FileStats") -> None:
        """Take over the first part's dataset state and the whole file's counts, to merge
        the later parts into (:meth:`merge`) and :meth:`finish` (no ``begin``: the state is kept)."""
        self.checks = first.checks
        self.stats = stats
        self.ctx = FileContext(self.display, stats.format, self.config, stats.mode, self.rules)

    def merge(self, part: "PartState", group: str | None | object = ...) -> None:
        """Fold a later part's dataset state into this run's (parts in file order), for the
        checks of the ``finish_apart`` group ``group`` (default: every dataset check)."""
        for mine, theirs in zip(self.checks, part.checks):
            if isinstance(mine, DatasetCheck) and (group is ... or mine.finish_apart == group):
                mine.merge(theirs)

    @property
    def mergeable(self) -> bool:
        """Whether every dataset check of this file can merge parts (else: one pass only)."""
        return all(c.mergeable for c in self.checks if isinstance(c, DatasetCheck))

    def _decide(self, buffered) -> str:
        counts = Counter(rec.detected for _, rec, _ in buffered if rec is not None)
        counts.pop("unknown", None)
        if not counts:
            return "unknown"
        return counts.most_common(1)[0][0]

    def _flush(self, buffered, fmt: str, mode: str) -> Iterator[Event]:
        if self.ctx is None:
            self.start(fmt, mode)
        else:
            self.ctx.format = fmt
        for chunk, rec, diags in buffered:
            if rec is None:
                yield Event(chunk, None, diags)
            else:
                yield self.process(chunk, rec, diags, fmt)

    def _plan(self, observe: bool = True) -> None:
        """Split checks by what they do, once per file, so the per-record loop does no lookups."""
        self._turn_checks = []  # (check, kinds, formats) for TurnChecks: the engine walks turns once
        self._rec_checks = []
        self._problem_checks = []  # they only report problems the normalizer found
        self._observers = []
        self._late_checks = []
        for c in self.checks:
            if isinstance(c, LateRecordCheck):
                self._late_checks.append(c)
            if isinstance(c, TurnCheck):
                self._turn_checks.append((c, c.turn_kinds(), c.rule.formats))
            if isinstance(c, ProblemCheck):
                self._problem_checks.append(c)
            if isinstance(c, RecordCheck):
                self._rec_checks.append(c)
            if observe and isinstance(c, DatasetCheck) and c.observes and not c.passive:
                self._observers.append(c)  # not a rule whose shared state another one fills
        self._by_format: dict[str, tuple] = {}
        self._turn_plan: dict[tuple[str, str, bool], list] = {}

    def _for_format(self, fmt: str) -> tuple:
        """(record checks, observers) that apply to records of ``fmt``."""
        plan = self._by_format.get(fmt)
        if plan is None:
            def applies(c):
                return not c.rule.formats or fmt in c.rule.formats

            plan = self._by_format[fmt] = ([c for c in self._rec_checks if applies(c)],
                                           [c for c in self._problem_checks if applies(c)],
                                           [c for c in self._observers if applies(c)])
        return plan

    def _for_turn(self, fmt: str, turn_kind: str, ascii: bool = False) -> list:
        """(check, gate) of the turn checks for a ``turn_kind`` turn of a ``fmt`` record; for an
        ASCII text (``ascii``) without those whose gate looks for non-ASCII characters only."""
        checks = self._turn_plan.get((fmt, turn_kind, ascii))
        if checks is None:
            checks = self._turn_plan[(fmt, turn_kind, ascii)] = [
                (c, c.gate) for c, kinds, fm in self._turn_checks
                if (kinds is None or turn_kind in kinds) and (not fm or fmt in fm)
                and not (ascii and getattr(c.gate, "non_ascii", False))]
        return checks

    def process(self, chunk: Chunk, rec: Record, diags: list[Diagnostic] | None = None,
                file_fmt: str = "unknown") -> Event:
        """Run the record checks on one parsed record (``rec.detected`` set; normalized here
        as its own format, else ``file_fmt``); ``diags`` (the line checks' findings) is extended."""
        if diags is None:
            diags = []
        ctx = self.ctx or self.start(file_fmt, "jsonl")
        ctx.records_seen += 1
        if not ctx.records_seen % spill.CHECK_EVERY:
            ctx.pool.check()  # past the memory budget, the largest state columns go to disk
        if self.mapping is not None and not rec.mapped:  # a record fed from outside (the fixer's re-check)
            self._map(rec)
            rec.detected = detect(rec.obj)
        self.normalizer.normalize(rec, record_format(rec.detected, file_fmt, self.record_format))
        if rec.mapped:  # messages name the file's own keys
            name = self.mapping.file_key
            for t in rec.turns:
                t.field = name(t.field)
        fmt = rec.format
        rec_checks, problem_checks, observers = self._by_format.get(fmt) or self._for_format(fmt)
        diag = self._diag
        for c in rec_checks:
            for f in c.check_record(rec, ctx):
                diags.append(diag(c, f, rec.line, rec))
        if rec.problems:
            for c in problem_checks:
                for f in c.check_problems(rec, ctx):
                    diags.append(diag(c, f, rec.line, rec))
        if self._turn_checks:
            plan = self._turn_plan
            for t in rec.turns:
                if t.text is None:
                    continue
                text = t.text
                ascii = text.isascii()  # gates that look for non-ASCII characters only skip it
                checks = plan.get((fmt, t.kind, ascii))
                if checks is None:
                    checks = self._for_turn(fmt, t.kind, ascii)
                for c, gate in checks:
                    if gate is not None and not gate(text):
                        continue  # the check's cheap test says: nothing to find here
                    for f in c.check_text(t, rec):
                        diags.append(diag(c, f, rec.line, rec))
        for c in self._late_checks:
            for f in c.check_late(rec, ctx):
                diags.append(diag(c, f, rec.line, rec))
        for c in observers:
            c.observe(rec, ctx)
        return Event(chunk, rec, diags)

    _process = process  # older private name (kept while other branches rebase)

    def file_diagnostics(self) -> list[Diagnostic]:
        """The file-level diagnostics gathered during the pass so far (what ``finish`` adds
        with ``file_diags``); a part of a split file hands them back with its own findings."""
        return list(self._file_diags)

    def finish(self, checks=None, file_diags: bool = True) -> list[Diagnostic]:
        """Dataset checks' findings (``checks``: a subset, default all) and, with
        ``file_diags``, the file-level diagnostics gathered during the pass."""
        out = list(self._file_diags) if file_diags else []
        if self.ctx is None:
            return out
        self.ctx.format = self.stats.format
        spans: list[tuple[int, str]] = []
        for c in self.checks if checks is None else checks:
            if not isinstance(c, DatasetCheck):
                continue
            for f in c.finish(self.ctx):
                d = self._diag(c, f, f.line)
                if f.span and f.pointer and f.line >= 1 and f.path is None:
                    spans.append((len(out), f.span))
                out.append(d)
        if spans:
            self._locate_spans(out, spans)
        return out

    def run(self, sinks: "tuple[Sink, ...] | list[Sink]" = ()) -> list[Diagnostic]:
        """The whole pass: every diagnostic of the file; each sink sees every parsed record."""
        for s in sinks:
            s.start_file(self)
        diags: list[Diagnostic] = []
        for ev in self.events():
            diags.extend(ev.diagnostics)
            if sinks and ev.record is not None:
                for s in sinks:
                    s.record(ev.record, self)
        diags.extend(self.finish_shown())
        return diags

    def _locate_spans(self, out: list[Diagnostic], spans: list[tuple[int, str]]) -> None:
        """Dataset checks hold no text: the records their findings name are read again (one
        pass, only those lines) and each finding points at its span's first whole-word
        occurrence in the string at its pointer."""
        import re
        from dataclasses import replace

        if self.path == "-":
            return
        want: dict[int, list[int]] = {}
        for i, _ in spans:
            want.setdefault(out[i].line, []).append(i)
        span_of = dict(spans)
        last = max(want)
        try:
            for item in Source(self.path, mode=None):
                if not isinstance(item, Chunk) or item.line not in want:
                    if isinstance(item, Chunk) and item.line > last:
                        break
                    continue
                data = item.data[3:] if item.line == 1 and item.data.startswith(BOM) else item.data
                try:
                    obj = orjson.loads(data)
                except orjson.JSONDecodeError:
                    continue
                for i in want.pop(item.line):
                    d = out[i]
                    text = value_at(obj, d.pointer)
                    if not isinstance(text, str):
                        continue
                    m = re.search(r"(?<!\w)" + re.escape(span_of[i]) + r"(?!\w)", text) or re.search(re.escape(span_of[i]), text)
                    if m is not None:
                        ln, col = line_column_in_string(data, d.pointer, m.start(), item.line, item.column)
                        out[i] = replace(d, line=ln, column=col)
                if not want:
                    break
        except (OSError, EOFError, ValueError):
            return

    def finish_shown(self) -> list[Diagnostic]:
        """:meth:`finish`, with the progress bar (if it names steps) saying "dataset rules"
        meanwhile: the dataset-level rules may take a while after the bar reached 100%."""
        label = getattr(self.progress, "label", None)
        if label is None:
            return self.finish()
        self.progress.phase("dataset rules")
        try:
            return self.finish()
        finally:
            self.progress.label = label


_FAILED = object()


def _unit_of(path: str) -> str:
    from ..reader import TABLE_EXTS

    return "row" if path != "-" and path.lower().endswith(TABLE_EXTS) else "line"


def _recover(data: bytes):
    """A line that orjson rejects only because of invalid UTF-8 still parses after replacement."""
    try:
        data.decode("utf-8")
        return _FAILED
    except UnicodeDecodeError:
        pass
    try:
        return orjson.loads(data.decode("utf-8", errors="replace"))
    except orjson.JSONDecodeError:
        return _FAILED


@dataclass
class PartState:
    """One part of a split file after its pass (:meth:`FileRun.state`): the checks with their
    dataset state, in the run's order, and the part's counts."""
    checks: list[Check]
    stats: FileStats
    sinks: list = field(default_factory=list)  # the part's own sinks (Sink.fork), merged in file order


class Sink:
    """Something that sees every parsed record of a :func:`lint` pass besides the checks (the
    report's feature table, ``--profile``'s style rows). Override what you need."""

    def start_file(self, run: FileRun) -> None:
        """Before the first record of ``run``'s file (``run.display``, ``run.path``)."""

    def record(self, rec: Record, run: FileRun) -> None:
        """Every parsed, normalized record, in file order."""

    def end(self) -> None:
        """After the last file."""

    #: True when :meth:`fork` and :meth:`merge` work: a split file (``jobs > 1``) then feeds one
    #: fork per part, merged in file order; else the file is read in one process
    splittable = False

    def fork(self) -> "Sink":
        """An empty sink of the same kind for one part of a split file (picklable)."""
        raise NotImplementedError

    def merge(self, other: "Sink") -> None:
        """Fold a part's fork (parts in file order) into this sink."""
        raise NotImplementedError
