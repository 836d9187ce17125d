"""``--engine ray``: the byte ranges of ``--jobs`` checked on Ray Data instead of local processes.

The pipeline is the local one with another executor (datatrove-style): the driver plans the byte
ranges (``parallel._ranges``), Ray Data maps them over a pool of actors (``map_batches`` with one
range per batch; each actor imports the checks' modules once), every actor returns its part
(diagnostics, dataset-check state, counts) pickled, and the driver merges the parts in file order
with each check's own ``merge`` and finishes once (``parallel._combine``). Output is therefore
identical to the local engine and to ``--jobs 1``.

Ray is an optional extra (``pip install 'tunelint[ray]'``) imported only here. With ``address``
the run joins an existing cluster (``ray.init(address=...)``): the data files must then be
readable at the same path on every node. Without it a local Ray instance with ``jobs`` CPUs is
started for the run and shut down after it.
"""
from __future__ import annotations

import pickle

from .parallel import work_part


class RayMissing(ImportError):
    """``--engine ray`` without the ``ray`` extra installed."""


def import_ray():
    import os

    # Ray's C++ core logs an advisory about Ray Data's own actor arguments on every run; errors
    # still reach us as exceptions
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayMissing("--engine ray needs the ray extra: pip install 'tunelint[ray]'") from e
    return ray


class _RangeWorker:
    """One Ray actor: checks the byte ranges it is given, one per batch. The modules the checks'
    batch paths need (``Check.warm_imports``) are imported once per actor, on its first range."""

    def __init__(self):
        self.warmed = False

    def __call__(self, batch: dict) -> dict:
        if not self.warmed:
            import importlib

            for name in str(batch["warm"][0]).split():
                importlib.import_module(name)
            self.warmed = True
        parts = [pickle.dumps(work_part(pickle.loads(a)), protocol=pickle.HIGHEST_PROTOCOL) for a in batch["args"]]
        return {"k": list(batch["k"]), "part": parts}


class RayMapper:
    """A ``mapper`` for :func:`tunelint.parallel.run_parallel` that runs the ranges on Ray."""

    def __init__(self, jobs: int, address: str | None = None):
        self.jobs = max(1, jobs)
        self.address = address
        self.started = False

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
        items = [{"k": k, "warm": warm, "args": pickle.dumps(a, protocol=pickle.HIGHEST_PROTOCOL)} for k, a in enumerate(args)]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        pool = ray.data.ActorPoolStrategy(size=min(self.jobs, len(items)))
        out = ds.map_batches(_RangeWorker, batch_size=1, compute=pool, num_cpus=1)
        parts: dict[int, object] = {}
        for row in out.iter_rows():
            parts[int(row["k"])] = pickle.loads(row["part"])
        if progress is not None:
            import os

            total = os.path.getsize(args[0][0])
            progress.update(probe.display, total, total)
        return [parts[k] for k in range(len(args))]

    def close(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False
