"""The streaming engine: one pass per file, record checks as lines arrive, dataset checks at the end.

The public API (what the CLI, the fixer, ``--jobs``, ``--profile``, the report and the Python
API use; nothing else of this module is meant to be called from outside):

- :func:`lint` ``(sources, config, jobs=1, sinks=(), progress=None) -> Result``: every input
  file, one pass each; each :class:`Sink` sees every parsed record of the pass.
- :class:`FileRun`, one file: ``events()`` yields one :class:`Event` per record candidate (so
  ``fix`` can rewrite records as they stream) and ``finish()`` the dataset-level diagnostics;
  ``run()`` does both. For callers that feed records themselves: ``start(fmt)`` then
  ``process(chunk, rec)`` and ``check_line(phys)`` per record. For split files: ``state()``
  (a part's picklable result), ``adopt(first, stats)`` and ``merge(part, group)`` to fold
  the parts' dataset state together before ``finish()``.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..diagnostic import Diagnostic
from .filerun import (  # noqa: F401 - the public API
    DETECT_SAMPLE, Event, FileRun, FileStats, PartState, Sink, build_checks,
)


@dataclass
class Result:
    diagnostics: list[Diagnostic]
    files: list[FileStats]


def lint(sources: list[str], config: Config, jobs: int = 1, sinks: "tuple[Sink, ...] | list[Sink]" = (),
         progress=None, engine: str = "local", address: str | None = None) -> Result:
    """Check every input (files, directories, ``-`` for stdin), one pass per file.

    ``jobs > 1`` splits large JSONL files over processes (same results as ``jobs=1``; with
    ``sinks``, only when every sink is ``splittable``). ``progress``, if given, is an object with
    ``update(path, done_bytes, total_bytes)`` called every few thousand records (see
    tunelint.progress). ``engine="ray"`` checks the byte ranges on Ray (``tunelint.rayengine``;
    ``address`` joins a cluster) with the same output as the local engine. Diagnostics are
    sorted per file."""
    from ..reader import iter_input_paths

    mapper = None
    if engine == "ray":
        from ..rayengine import RayMapper

        mapper = RayMapper(jobs, address)
        jobs = max(jobs, 2)
    from ..spill import budget

    try:
        with budget(config.memory, jobs):  # dataset state past the budget spills (tunelint.spill)
            return _check_all(iter_input_paths(sources, config), config, jobs, progress, mapper, sinks)
    finally:
        if mapper is not None:
            mapper.close()


def _check_all(paths, config: Config, jobs: int, progress, mapper, sinks=()) -> Result:
    all_diags: list[Diagnostic] = []
    stats: list[FileStats] = []
    from .shards import run_shard_set, shard_sets

    for p in shard_sets(list(paths)):
        if isinstance(p, list):  # the shards of one dataset: one set of dataset rules
            diags, sts = run_shard_set(p, config, progress, sinks)
            diags.sort(key=Diagnostic.sort_key)
            all_diags.extend(diags)
            stats.extend(sts)
            continue
        if jobs > 1 and p != "-" and all(s.splittable for s in sinks):
            from ..parallel import run_parallel

            diags, st = run_parallel(p, config, jobs, progress=progress, mapper=mapper, sinks=sinks)
        else:
            run = FileRun(p, config, progress=progress)
            diags = run.run(sinks)
            st = run.stats
        diags.sort(key=Diagnostic.sort_key)
        all_diags.extend(diags)
        stats.append(st)
    for s in sinks:
        s.end()
    return Result(all_diags, stats)


check_paths = lint  # the older name
