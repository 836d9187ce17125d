"""Great Expectations 1.x over the per-record feature table (:mod:`tunelint.features`).

- :func:`build_suite` turns a dataset's profile into dataset-level expectations (example count
  range, allowed formats and roles, turn counts, per-field token quantiles, empty-answer and
  duplicate shares, label set for classification data, the target's token limit);
- :func:`write_suite` saves it as GX JSON (``ExpectationSuite.to_json_dict()``); load it in
  your own pipeline with ``gx.ExpectationSuite(**json.load(f))`` and validate
  ``tunelint.features.frame(paths, config)`` against it;
- :func:`validate` runs a suite (object, dict or JSON path) on a feature DataFrame through an
  ephemeral context; the ``expectation`` rule kind uses it too.

GX is imported only here, with analytics off (no network) and progress bars silenced.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
TOKEN_COLUMNS = ("tokens", "system_tokens", "prompt_tokens", "answer_tokens", "tool_tokens")
CHAR_COLUMNS = ("system_chars", "prompt_chars", "answer_chars")
RATE_SLACK = 0.001  # absolute slack on shares: a tenth of a percent
MAX_LABELS = 20


class GXError(ValueError):
    """An expectation that GX rejects (unknown type, bad arguments)."""


def _gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "False"  # never phone home (tunelint runs offline)
    import logging

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    from .extras import require

    gx = require("great_expectations", "gx", "Great Expectations suites and `expectation` rules")

    return gx


def _context():
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    # in memory only: no temporary docs site on disk, no analytics
    cfg = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                            analytics_enabled=False)
    ctx = gx.get_context(mode="ephemeral", project_config=cfg)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _py(v: Any) -> Any:
    """numpy scalars -> plain Python (for JSON)."""
    if hasattr(v, "item"):
        return v.item()
    return v


def _range(lo: float, hi: float, tol: float, integer: bool) -> list:
    a, b = lo * (1 - tol), hi * (1 + tol)
    if integer:
        return [max(0, math.floor(a) - 1), math.ceil(b) + 1]
    return [round(a, 6), round(b, 6)]


def profile_expectations(df, target=None, tolerance: float = 0.25) -> list[dict]:
    """The dataset's profile as GX expectation configurations ({type, kwargs, meta})."""
    import numpy as np

    n = len(df)
    tol = float(tolerance)
    exps: list[dict] = []

    def add(type_: str, meta: str, **kwargs):
        exps.append({"type": type_, "kwargs": {k: _py(v) for k, v in kwargs.items()}, "meta": {"tunelint": meta}})

    lo_rows = math.floor(n * (1 - tol))
    if target is not None and target.min_examples:
        lo_rows = max(lo_rows, min(target.min_examples, n))
    add("expect_table_row_count_to_be_between", f"{n} records observed",
        min_value=lo_rows, max_value=math.ceil(n * (1 + tol)))
    add("expect_table_columns_to_match_set", "the feature table's columns (tunelint.features)",
        column_set=list(df.columns), exact_match=False)
    if not n:
        return exps
    fmts = sorted(df["format"].astype(str).unique())
    add("expect_column_values_to_be_in_set", "formats observed", column="format", value_set=fmts)
    roles = sorted(df["roles"].astype(str).unique())
    add("expect_column_values_to_be_in_set", "role combinations observed (sorted distinct roles per record)",
        column="roles", value_set=roles)
    add("expect_column_values_to_be_between", "text turns per record observed",
        column="turns", min_value=int(df["turns"].min()), max_value=int(df["turns"].max()))
    length_cols = [c for c in TOKEN_COLUMNS if c in df.columns] or list(CHAR_COLUMNS)
    for c in length_cols:
        v = df[c].to_numpy(dtype=float)
        if not v.any():
            add("expect_column_max_to_be_between", f"{c} is always 0", column=c, min_value=0, max_value=0)
            continue
        lows = np.quantile(v, QUANTILES, method="lower")
        highs = np.quantile(v, QUANTILES, method="higher")
        add("expect_column_quantile_values_to_be_between",
            f"{c} quantiles observed: " + ", ".join(f"p{int(q * 100)}={h:g}" for q, h in zip(QUANTILES, highs)),
            column=c, quantile_ranges={"quantiles": QUANTILES,
                                       "value_ranges": [_range(float(a), float(b), tol, True) for a, b in zip(lows, highs)]})
    if target is not None and target.max_tokens and "tokens" in df.columns:
        add("expect_column_max_to_be_between", f"the {target.name} target's per-example limit",
            column="tokens", min_value=0, max_value=int(target.max_tokens))
    for c, what in (("answer_empty", "share of records without answer text"),
                    ("prompt_empty", "share of records without prompt text"),
                    ("is_duplicate", "share of exact duplicate records"),
                    ("duplicate_prompt", "share of records repeating an earlier prompt")):
        m = float(df[c].mean())
        add("expect_column_mean_to_be_between", f"{what}: {m:.4%} observed",
            column=c, min_value=0.0, max_value=round(min(1.0, m * (1 + tol) + RATE_SLACK), 6))
    labels = df["label"].astype(str)
    k = labels.nunique()
    if 1 < k <= MAX_LABELS and n >= 5 * k:
        add("expect_column_values_to_be_in_set", f"{k} labels observed (classification-like data)",
            column="label", value_set=sorted(labels.unique()))
    if "words" in df.columns:
        m = float(df["words"].mean())
        add("expect_column_mean_to_be_between", f"mean words per answer: {m:.1f} observed",
            column="words", min_value=round(m * (1 - tol), 3), max_value=round(m * (1 + tol), 3))
    return exps


def build_suite(df, name: str = "tunelint", target=None, tolerance: float = 0.25):
    """An ``ExpectationSuite`` capturing the profile of the feature table ``df``."""
    from .version import __version__

    gx = _gx()
    meta = {"tunelint": {"version": __version__, "records": int(len(df)), "tolerance": tolerance,
                         "target": getattr(target, "name", None),
                         "table": "one row per record: tunelint.features.frame(paths, config)"}}
    return gx.ExpectationSuite(name=name, expectations=profile_expectations(df, target, tolerance), meta=meta)


def write_suite(df, path: str, name: str = "tunelint", target=None, tolerance: float = 0.25) -> int:
    from .fsutil import atomic_write_text

    suite = build_suite(df, name, target, tolerance)
    d = suite.to_json_dict()
    with atomic_write_text(path) as f:
        json.dump(d, f, indent=2, default=_py)
        f.write("\n")
    return len(d["expectations"])


def load_suite(src):
    """A suite from an ExpectationSuite, a dict (``to_json_dict()`` shape) or a JSON file path."""
    gx = _gx()
    if isinstance(src, gx.ExpectationSuite):
        return src
    if isinstance(src, (str, os.PathLike)):
        with open(src, encoding="utf-8") as f:
            src = json.load(f)
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    d = {k: v for k, v in dict(src).items() if k in ("name", "meta", "notes")}
    exps = []
    for e in src.get("expectations") or []:
        try:  # built one by one: GX would log and skip a bad one inside ExpectationSuite()
            if not isinstance(e, dict):
                raise TypeError("an expectation must be a mapping with 'type' and 'kwargs'")
            exps.append(ExpectationConfiguration(**{k: v for k, v in e.items() if k in (
                "type", "kwargs", "meta", "notes", "description", "severity", "id")}).to_domain_obj())
        except Exception as ex:  # GX raises various types for a bad expectation
            msg = str(ex).splitlines()[0] if str(ex) else type(ex).__name__
            raise GXError(f"{e.get('type') if isinstance(e, dict) else e}: {msg}") from None
    return gx.ExpectationSuite(expectations=exps, **d)


def validate(suite, df, result_format: str | dict = "SUMMARY"):
    """Validate the feature table ``df`` against ``suite``; returns GX's validation result."""
    suite = load_suite(suite)
    ctx = _context()
    ds = ctx.data_sources.add_pandas("tunelint")
    asset = ds.add_dataframe_asset("records")
    bd = asset.add_batch_definition_whole_dataframe("all")
    suite = ctx.suites.add(suite)
    batch = bd.get_batch(batch_parameters={"dataframe": df})
    return batch.validate(suite, result_format=result_format)


def failures(result) -> list[dict]:
    """The failed expectations of a validation result as plain dicts (type, kwargs, result)."""
    out = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        out.append({"type": cfg.type, "kwargs": dict(cfg.kwargs), "result": dict(r.result or {}),
                    "error": (r.exception_info or {}).get("exception_message") if r.exception_info else None})
    return out
