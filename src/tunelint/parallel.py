"""``--jobs N``: split one large JSONL file into byte ranges (a Parquet file into runs of whole row
groups) checked by worker processes.

Results are identical to ``--jobs 1``: the parent counts newlines to give every range its
first line number (a run of row groups starts at the row after the groups before it, from the
file's metadata); the parent checks the first range itself and worker processes the others,
filling dataset-check state; workers' states are pickled back and the parent merges them in
file order (``Check.merge``) before calling ``finish``.
Files that cannot be split (JSON arrays, gzip, stdin, Arrow and CSV tables, small files, a
Parquet file of one row group, a dataset check without ``merge``) are checked serially.
"""
from __future__ import annotations

import os
from collections import Counter

import orjson

from .checks.base import DatasetCheck
from .engine.filerun import FileRun, FileStats
from .formats import detect
from .reader import MAX_RECORD_SIZE, TooLarge, bounded_lines, skip_line

MIN_PARALLEL_BYTES = int(os.environ.get("TUNELINT_MIN_PARALLEL_BYTES", 4 << 20))  # below this, workers cost more than they save
BLOCK = 16 << 20


def _splittable(path: str) -> bool:
    from .reader import TABLE_EXTS

    if path.lower().endswith(".parquet"):
        return os.path.isfile(path) and os.path.getsize(path) >= MIN_PARALLEL_BYTES and len(_row_group_rows(path)) >= 2
    if path.lower().endswith(TABLE_EXTS):
        return False  # Arrow and CSV tables are read in one process (same findings as any --jobs)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b" or head.lstrip()[:1] == b"[" or path.lower().endswith((".json", ".json.gz")):
        return False
    return os.path.getsize(path) >= MIN_PARALLEL_BYTES


def _ranges(path: str, parts: int) -> list[tuple[int, int, int]]:
    """Byte ranges ending at line boundaries, each with the 1-based number of its first line."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as f:
        for i in range(1, parts):
            f.seek(max(size * i // parts, cuts[-1]))
            skip_line(f)  # to the next line start, without holding a huge line
            pos = f.tell()
            if pos >= size:
                break
            if pos > cuts[-1]:
                cuts.append(pos)
        cuts.append(size)
        out = []
        line = 1
        for a, b in zip(cuts, cuts[1:]):
            out.append((a, b, line))
            f.seek(a)
            left = b - a
            while left > 0:
                buf = f.read(min(BLOCK, left))
                if not buf:
                    break
                line += buf.count(b"\n")
                left -= len(buf)
    return out


def _row_group_rows(path: str) -> list[int]:
    """The row count of each row group of a Parquet file ([] if it cannot be read here: the
    serial pass reports why)."""
    try:
        from .tables import parquet_file

        md = parquet_file(path).metadata
        return [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    except Exception:  # no pyarrow, not Parquet, damaged: not split
        return []


def _row_group_parts(path: str, parts: int) -> list[tuple[str, int, int, int]]:
    """Runs of whole row groups, about equal in rows: ``("row-groups", first group, end group,
    the 1-based number of the run's first row)``."""
    rows = _row_group_rows(path)
    total = sum(rows)
    out, start, first, done = [], 0, 1, 0
    for g, r in enumerate(rows):
        done += r
        if done * parts >= total * (len(out) + 1) and g + 1 < len(rows) and len(out) + 1 < parts:
            out.append(("row-groups", start, g + 1, first))
            start, first = g + 1, done + 1
    out.append(("row-groups", start, len(rows), first))
    return out


def _part_source(path: str, rng):
    """The Source of one part: ``None`` for a byte range of a JSONL file (``FileRun`` reads it),
    a row-restricted ``TableSource`` for a run of Parquet row groups."""
    if rng[0] != "row-groups":
        return None
    from .reader import TableSource

    return TableSource(path, row_groups=(rng[1], rng[2]), first_row=rng[3])


def _sniff_format(path: str, mapping=None, max_record: int = MAX_RECORD_SIZE) -> str:
    counts: Counter = Counter()
    if path.lower().endswith(".parquet"):
        from .reader import Chunk, TableSource

        for item in TableSource(path):
            if sum(counts.values()) >= 64:
                break
            if isinstance(item, Chunk):
                obj = orjson.loads(item.data)
                counts[detect(mapping.apply(obj) if mapping is not None else obj)] += 1
        counts.pop("unknown", None)
        return counts.most_common(1)[0][0] if counts else "unknown"
    with open(path, "rb") as f:
        for raw in bounded_lines(f, max_record):
            if sum(counts.values()) >= 64:
                break
            if isinstance(raw, TooLarge):
                continue
            try:
                obj = orjson.loads(raw)
                counts[detect(mapping.apply(obj) if mapping is not None else obj)] += 1
            except orjson.JSONDecodeError:
                continue
    counts.pop("unknown", None)
    return counts.most_common(1)[0][0] if counts else "unknown"


_DONE = None  # in a worker: the shared count of bytes checked by all workers (progress)


def _init_worker(done) -> None:
    global _DONE
    _DONE = done


class _SharedProgress:
    """A worker's progress hook: adds the bytes it checked since the last call to the shared count."""

    def __init__(self) -> None:
        self.last = 0

    def update(self, path: str, done: int, total: int) -> None:
        if _DONE is not None:
            with _DONE.get_lock():
                _DONE.value += done - self.last
        self.last = done


class _ParentProgress(_SharedProgress):
    """The parent checks the first range itself: it adds to the shared count and shows it."""

    def __init__(self, done, progress, display: str, total: int) -> None:
        super().__init__()
        self.done, self.progress, self.display, self.total = done, progress, display, total

    def update(self, path: str, done: int, total: int) -> None:
        with self.done.get_lock():
            self.done.value += done - self.last
        self.last = done
        if self.progress is not None:
            self.progress.update(self.display, self.done.value, self.total)


def work_part(args, progress=None):
    """Check one byte range of a file: (its diagnostics, its PartState). What every executor runs.
    ``args``: (path, config, byte range, format, display path[, the part's sinks])."""
    path, config, rng, fmt, display, *more = args
    sinks = more[0] if more else ()
    src = _part_source(path, rng)
    run = FileRun(path, config, display_path=display, byte_range=None if src is not None else rng, fmt=fmt,
                  progress=progress or _SharedProgress(), source=src)
    for s in sinks:
        s.start_file(run)
    diags = []
    for ev in run.events():
        diags.extend(ev.diagnostics)
        if sinks and ev.record is not None:
            for s in sinks:
                s.record(ev.record, run)
    diags.extend(run.file_diagnostics())  # file-level findings of this range (F029 on a line in it)
    return diags, run.state(sinks)


def export_part_keys(part, partitions: int) -> tuple[list, dict]:
    """The keys a part's dataset checks hand to an external grouper (``DatasetCheck.export_keys``),
    each table cut into ``partitions`` pieces (``keygroups.split``). Returns the tables as
    ``(table id, check position, name, mode)`` and ``{(table id, partition): piece}``; the table
    id is the same in every part of the file (checks are built in the same order)."""
    from . import keygroups

    tables, pieces = [], {}
    for ci, c in enumerate(part.checks):
        if not isinstance(c, DatasetCheck):
            continue
        for ti, t in enumerate(c.export_keys()):
            tid = ci * 16 + ti
            tables.append((tid, ci, t.name, t.mode))
            for p, piece in enumerate(keygroups.split(t, partitions)):
                pieces[(tid, p)] = piece
    return tables, pieces


def adopt_part_groups(first, tables: list, results: dict) -> None:
    """Give the checks of the first part (the ones the others are merged into) the grouped
    result of every exported table: ``results`` maps a table id to its partitions' reduced
    results (``keygroups.reduce``; missing = no groups)."""
    from . import keygroups

    for tid, ci, name, mode in tables:
        first.checks[ci].adopt_groups(name, keygroups.combine(mode, results.get(tid, [])))


def run_parallel(path: str, config, jobs: int, progress=None, mapper=None, sinks=()):
    """Check ``path`` in byte ranges. ``mapper(args, probe, progress) -> parts`` runs ``work_part`` on
    every range's args and returns the parts in file order: local processes by default
    (:func:`map_local`), or another executor (``tunelint.rayengine``). The parts' dataset state
    is then merged in file order and finished here, so every executor gives the same output.
    Each part feeds its own fork of every sink (``Sink.fork``); they are merged in file order."""
    probe = FileRun(path, config, progress=progress)
    if not _splittable(path) or not probe.mergeable:
        diags = probe.run(sinks)
        return diags, probe.stats
    fmt = probe.forced_format or _sniff_format(path, probe.mapping, config.max_record_size)
    # One range per worker: every part's dataset state is pickled back and merged by the parent,
    # so more parts cost more than the balance they buy (records of one file cost about the same).
    ranges = _row_group_parts(path, jobs) if path.lower().endswith(".parquet") else _ranges(path, jobs)
    if len(ranges) < 2:
        return probe.run(sinks), probe.stats
    import pickle

    from . import forkmap

    args = [(path, config, r, fmt, probe.display) + ((tuple(s.fork() for s in sinks),) if sinks else ())
            for r in ranges]
    forkmap.set_workers(jobs)  # the finish may split its heaviest loop over as many processes
    from . import spill

    spill.prepare_fork()  # workers spill into the run's directory (their columns travel as paths)
    try:
        parts = (mapper or map_local)(args, probe, progress)
    except (pickle.PicklingError, TypeError, AttributeError, OSError):
        # a check whose state cannot cross processes, or no process support: same result, serially
        probe = FileRun(path, config)
        return probe.run(sinks), probe.stats
    for s in sinks:
        s.start_file(probe)
    for _, part in parts:
        for mine, theirs in zip(sinks, part.sinks):
            mine.merge(theirs)
    try:
        return _combine(probe, parts, fmt, config)
    finally:
        forkmap.set_workers(1)


def map_local(args: list, probe: FileRun, progress) -> list:
    """The local executor: the parent checks the first range itself (its state never needs
    pickling) while forked worker processes check the others."""
    import importlib
    import multiprocessing as mp
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    for name in sorted({m for c in probe.checks for m in c.warm_imports}):
        importlib.import_module(name)  # once here, inherited by the forked workers

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    total = os.path.getsize(args[0][0])
    done = (ctx or mp).Value("q", 0)
    with ProcessPoolExecutor(max_workers=len(args) - 1, mp_context=ctx, initializer=_init_worker, initargs=(done,)) as ex:
        futures = [ex.submit(work_part, a) for a in args[1:]]
        first = work_part(args[0], _ParentProgress(done, progress, probe.display, total))
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress.update(probe.display, done.value, total)
        return [first] + [f.result() for f in futures]


def _combine(probe: FileRun, parts: list, fmt: str, config):
    """Merge the parts (diagnostics, dataset checks, stats; in file order) and finish once."""
    diags = []
    stats = FileStats(probe.display)
    for d, part in parts:
        st = part.stats
        diags.extend(d)
        stats.lines = max(stats.lines, st.lines)
        stats.records += st.records
        stats.parsed += st.parsed
        stats.formats.update(st.formats)
        stats.mode = st.mode
    counts = Counter(stats.formats)
    counts.pop("unknown", None)
    stats.format = fmt if fmt != "unknown" else (counts.most_common(1)[0][0] if counts else "unknown")
    probe.adopt(parts[0][1], stats)

    def merge(group) -> None:  # the checks of one finishing group; each takes the parts in file order
        for _, part in parts[1:]:
            probe.merge(part, group)

    diags.extend(_finish(probe, merge))
    return diags, stats


def _child_finish(probe: FileRun, apart: list) -> list:
    return probe.finish(apart, file_diags=False)


def _finish(probe: FileRun, merge) -> list:
    """``probe.finish()`` on two cores. Checks marked ``finish_apart`` (a group name: the
    near-duplicate analysis, the term variants) are merged group by group and each group is
    finished in a forked child, which sends back its diagnostics, while this process merges
    (``merge(None)``) and finishes the others. Same diagnostics as one process; if a child
    fails for any reason this process finishes its checks too."""
    groups = list(dict.fromkeys(c.finish_apart for c in probe.checks if isinstance(c, DatasetCheck)))
    groups = [g for g in groups if g]
    if not groups or not hasattr(os, "fork") or probe.ctx is None:
        for g in groups + [None]:
            merge(g)
        return probe.finish()
    from . import forkmap

    children = []
    for g in groups:
        merge(g)
        apart = [c for c in probe.checks if isinstance(c, DatasetCheck) and c.finish_apart == g]
        children.append((apart, forkmap.spawn(lambda apart=apart: _child_finish(probe, apart))))
    merge(None)
    done = [c for apart, _ in children for c in apart]
    out = probe.finish([c for c in probe.checks if c not in done])
    for apart, child in children:
        out += forkmap.collect(child, lambda apart=apart: probe.finish(apart, file_diags=False))
    return out
