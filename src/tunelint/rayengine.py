"""``--engine ray``: the byte ranges of ``--jobs`` checked on Ray Data instead of local processes.

The pipeline is the local one with another executor (datatrove-style): the driver plans the byte
ranges (``parallel._ranges``), Ray Data maps them over a pool of actors (``map_batches`` with one
range per batch; each actor imports the checks' modules once), every actor returns its part
(diagnostics, dataset-check state, counts) pickled, and the driver merges the parts in file order
with each check's own ``merge`` and finishes once (``parallel._combine``). Output is therefore
identical to the local engine and to ``--jobs 1``.

Per-record keys are not part of what comes back: each actor asks its part's dataset checks for
the keys they can have grouped elsewhere (``DatasetCheck.export_keys``: D001's record hashes,
D002's prompt keys, the near-duplicate LSH band keys), cuts each table into one piece per
partition (``keygroups.split``) and emits the pieces as rows ``(g, blob)`` next to its part
state (``g = -1``). Ray's shuffle (``groupby("g").map_groups``) brings every part's piece of a
partition to one task, which groups it (``keygroups.reduce``); only the groups of two or more
records (duplicate groups, candidate pairs) reach the driver, which gives them to the checks
(``parallel.adopt_part_groups``) before the merge.

Ray is an optional extra (``pip install 'tunelint[ray]'``) imported only here. With ``address``
the run joins an existing cluster (``ray.init(address=...)``): the data files must then be
readable at the same path on every node. Without it a local Ray instance with ``jobs`` CPUs is
started for the run and shut down after it.
"""
from __future__ import annotations

import os
import pickle

from .parallel import adopt_part_groups, export_part_keys, work_part


GROUP_KEYS_BYTES = 256 << 20  # files at least this large have their keys grouped by Ray's shuffle


class RayMissing(ImportError):
    """``--engine ray`` without the ``ray`` extra installed."""


def import_ray():
    # Ray's C++ core logs an advisory about Ray Data's own actor arguments on every run; errors
    # still reach us as exceptions
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayMissing("--engine ray needs the ray extra: pip install 'tunelint[ray]'") from e
    return ray


def _dumps(obj) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


class _RangeWorker:
    """One Ray actor: checks the byte ranges it is given, one per batch. The modules the checks'
    batch paths need (``Check.warm_imports``) are imported once per actor, on its first range.
    With ``partitions`` the part's exportable keys leave as one row per (table, partition)."""

    def __init__(self, partitions: int = 0):
        self.warmed = False
        self.partitions = partitions

    def __call__(self, batch: dict) -> dict:
        if not self.warmed:
            import importlib

            for name in str(batch["warm"][0]).split():
                importlib.import_module(name)
            self.warmed = True
        g, k, blob = [], [], []
        for kk, a in zip(batch["k"], batch["args"]):
            diags, state = work_part(pickle.loads(a))
            tables: list = []
            if self.partitions:
                tables, pieces = export_part_keys(state, self.partitions)
                for (tid, p), piece in pieces.items():
                    g.append(tid * self.partitions + p)
                    k.append(int(kk))
                    blob.append(_dumps(piece))
            g.append(-1)
            k.append(int(kk))
            blob.append(_dumps((diags, state, tables)))
        return {"g": g, "k": k, "blob": blob}


def _reduce_group(batch: dict) -> dict:
    """One partition of one key table, every part's piece of it: its groups (``keygroups.reduce``).
    Group -1 (the part states) passes through."""
    from .keygroups import reduce

    g = int(batch["g"][0])
    if g < 0:
        return {"g": list(batch["g"]), "k": list(batch["k"]), "blob": list(batch["blob"])}
    res = reduce([pickle.loads(b) for b in batch["blob"]])
    return {"g": [g], "k": [-1], "blob": [_dumps(res)]}


class RayMapper:
    """A ``mapper`` for :func:`tunelint.parallel.run_parallel` that runs the ranges on Ray."""

    def __init__(self, jobs: int, address: str | None = None, group_keys: bool = True):
        self.jobs = max(1, jobs)
        self.address = address
        self.started = False
        #: group the checks' exported keys with Ray's shuffle (False: they come back in the part
        #: states and are merged on the driver) for files of at least ``group_min_bytes``
        self.group_keys = group_keys
        #: Ray Data's shuffle costs a few seconds whatever its size (4-6 s on 2 cores, measured:
        #: benchmarks/bench_scaling.py), while the key columns of a file are ~1/3 of its size at
        #: most: below this size (``TUNELINT_RAY_GROUP_KEYS_BYTES``) they are merged on the driver
        self.group_min_bytes = int(os.environ.get("TUNELINT_RAY_GROUP_KEYS_BYTES", GROUP_KEYS_BYTES))

    def _init(self):
        ray = import_ray()
        if not ray.is_initialized():
            import logging

            kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            if self.address:
                ray.init(address=self.address, **kw)
            else:
                ray.init(num_cpus=self.jobs, **kw)
            self.started = True
        import logging

        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        for attr in ("print_on_execution_start", "enable_operator_progress_bars"):
            if hasattr(ctx, attr):
                setattr(ctx, attr, False)
        return ray

    def __call__(self, args: list, probe, progress) -> list:
        ray = self._init()
        warm = " ".join(sorted({m for c in probe.checks for m in c.warm_imports}))
        items = [{"k": k, "warm": warm, "args": _dumps(a)} for k, a in enumerate(args)]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        pool = ray.data.ActorPoolStrategy(size=min(self.jobs, len(items)))
        big = os.path.getsize(args[0][0]) >= self.group_min_bytes
        nparts = self.jobs if self.group_keys and big else 0
        out = ds.map_batches(_RangeWorker, fn_constructor_kwargs={"partitions": nparts}, batch_size=1,
                             compute=pool, num_cpus=1)
        if nparts:  # one shuffle: the part states are group -1, passed through as they are
            out = out.groupby("g", num_partitions=nparts).map_groups(_reduce_group, batch_format="numpy")
        parts: dict[int, tuple] = {}
        tables: dict[int, list] = {}
        results: dict[int, list] = {}
        for row in out.iter_rows():
            g = int(row["g"])
            if g >= 0:
                results.setdefault(g // nparts, []).append(pickle.loads(row["blob"]))
                continue
            diags, state, tables[int(row["k"])] = pickle.loads(row["blob"])
            parts[int(row["k"])] = (diags, state)
        if nparts and tables[0]:
            if any(t != tables[0] for t in tables.values()):
                raise RuntimeError("the parts of one file exported different key tables")
            adopt_part_groups(parts[0][1], tables[0], results)
        if progress is not None:
            total = os.path.getsize(args[0][0])
            progress.update(probe.display, total, total)
        return [parts[k] for k in range(len(args))]

    def close(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False
