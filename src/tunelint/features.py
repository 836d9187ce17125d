"""The per-record feature table of a dataset (the report's table, the GX suite's data):
:func:`collect` runs the engine once with a :class:`FeatureCollector` as its sink, :func:`frame`
gives the table as a DataFrame. The table itself (columns, the collector) is
:mod:`tunelint.feature_table`, which the ``expectation`` kind reads without the engine."""
from __future__ import annotations

from .feature_table import (  # noqa: F401 - re-exported
    BASE, BATCH, COLUMNS, KEY, LABEL_CHARS, NO_KEY, SIDE, STYLE, TOKENS, FeatureCollector, groups_for,
)

PARALLEL_BYTES = 8 << 20  # inputs this large count tokens in a worker process


def collect(paths: list[str], config, tokens: bool = True, style: bool = True, parallel: bool | None = None,
            jobs: int = 1, progress=None):
    """(FeatureCollector, Result) for the inputs: one engine pass gives both the findings and
    the feature table. ``parallel`` (default: inputs over 8 MB) counts tokens in a worker
    process while the engine runs; ``jobs > 1`` splits large JSONL files as ``check --jobs``
    does (each part fills its own table, merged in file order); the results are identical."""
    import os

    from .engine import lint
    from .reader import iter_input_paths

    fc = FeatureCollector(config.target, tokens=tokens, style=style)
    files = list(iter_input_paths(paths, config))
    if parallel is None:
        size = sum(os.path.getsize(p) for p in files if p != "-" and os.path.isfile(p))
        parallel = size >= PARALLEL_BYTES
    if parallel:
        fc.parallel()
    result = lint(paths, config, jobs=jobs, sinks=[fc], progress=progress)
    return fc, result


def frame(paths: str | list[str], config, tokens: bool = True, style: bool = True):
    """The feature table of the file(s) as a DataFrame (for your own GX pipelines)."""
    fc, _ = collect([paths] if isinstance(paths, str) else list(paths), config, tokens, style)
    return fc.frame()
