"""``expectation``: a Great Expectations 1.x expectation over the per-record feature table.

A rule names a GX expectation type and its arguments; the columns are those of
:mod:`tunelint.features` (``tokens``, ``answer_tokens``, ``is_duplicate``, ``label``, ...)::

    - code: D901
      name: duplicate-share
      kind: expectation
      params:
        expect: expect_column_mean_to_be_between
        kwargs: {column: is_duplicate, max_value: 0.01}
      message: "too many exact duplicates: {details}"

The table is built while records stream (token and style columns only when the rule uses
them) and validated in ``finish`` through GX's ephemeral context, with analytics and
progress bars off. A failed column-map expectation (values in a set, between bounds, ...)
reports each offending record at its line (up to ``max-findings``); any other expectation
reports once for the file. GX (~2.5 s to import) is imported only when such a rule runs.
Message template arguments: ``details``, ``expectation``, ``column``, ``observed``, ``value``.
"""
from __future__ import annotations

from . import Check, Finding, kind

_COLUMN_KEYS = ("column", "column_A", "column_B", "column_list", "column_set")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple, set)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if hasattr(v, "item"):
        return _fmt(v.item())
    return str(v)


def describe_expected(kw: dict) -> str:
    parts = []
    if kw.get("min_value") is not None and kw.get("max_value") is not None:
        parts.append(f"between {_fmt(kw['min_value'])} and {_fmt(kw['max_value'])}")
    elif kw.get("max_value") is not None:
        parts.append(f"at most {_fmt(kw['max_value'])}")
    elif kw.get("min_value") is not None:
        parts.append(f"at least {_fmt(kw['min_value'])}")
    qr = kw.get("quantile_ranges")
    if isinstance(qr, dict):
        for q, (lo, hi) in zip(qr.get("quantiles", []), qr.get("value_ranges", [])):
            b = (f"{_fmt(lo)}..{_fmt(hi)}" if lo is not None and hi is not None
                 else f"<= {_fmt(hi)}" if hi is not None else f">= {_fmt(lo)}")
            parts.append(f"p{_fmt(q * 100)} {b}")
    if "value_set" in kw:
        parts.append("one of " + _fmt(sorted(map(str, kw["value_set"]))))
    if "regex" in kw:
        parts.append(f"matching /{kw['regex']}/")
    if kw.get("mostly") is not None:
        parts.append(f"for at least {_fmt(kw['mostly'] * 100)}% of records")
    return ", ".join(parts) or "as declared"


def describe_observed(obs) -> str:
    if isinstance(obs, dict) and "quantiles" in obs:
        return ", ".join(f"p{_fmt(q * 100)}={_fmt(v)}" for q, v in zip(obs["quantiles"], obs.get("values", [])))
    return _fmt(obs)


@kind("expectation")
class Expectation(Check):
    scope = "dataset"
    defaults = {"expect": "", "kwargs": {}, "max-findings": 20}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        from ..features import COLUMNS
        from ..rules import RuleError, did_you_mean

        where = f"{rule.source}: rule {rule.code}"
        exp = params.get("expect")
        kw = params.get("kwargs")
        if not isinstance(exp, str) or not exp.startswith("expect_"):
            raise RuleError(f"{where}: 'expect' must name a Great Expectations expectation, like expect_column_mean_to_be_between")
        if not isinstance(kw, dict):
            raise RuleError(f"{where}: 'kwargs' must be a mapping of the expectation's arguments")
        cols: list[str] = []
        for k in _COLUMN_KEYS:
            v = kw.get(k)
            if isinstance(v, str):
                cols.append(v)
            elif isinstance(v, list):
                cols += [str(x) for x in v]
        for c in cols:
            if c not in COLUMNS:
                raise RuleError(f"{where}: unknown feature column {c!r}{did_you_mean(c, COLUMNS)}; see tunelint.features")
        self.columns = cols

    def begin(self, ctx):
        from ..features import FeatureCollector, groups_for

        tok, style = groups_for(self.columns)
        self.fc = FeatureCollector(ctx.target, tokens=tok, style=style)

    def observe(self, rec, ctx):
        self.fc.add(rec, ctx.path)

    def merge(self, other):
        self.fc.merge(other.fc)

    def finish(self, ctx):
        if not len(self.fc):
            return
        from .. import gx
        from ..rules import RuleError

        exp, kw = self.p["expect"], dict(self.p["kwargs"])
        cap = int(self.p["max-findings"])
        suite = {"name": self.rule.name, "expectations": [{"type": exp, "kwargs": kw}]}
        try:
            res = gx.validate(suite, self.fc.frame(), result_format={
                "result_format": "COMPLETE", "unexpected_index_column_names": ["line"],
                "partial_unexpected_count": cap})
        except gx.GXError as e:
            raise RuleError(f"{self.rule.source}: rule {self.rule.code}: Great Expectations rejected {exp}: {e}") from None
        r = res.results[0]
        if r.exception_info and r.exception_info.get("raised_exception"):
            msg = (r.exception_info.get("exception_message") or "error").splitlines()[0]
            raise RuleError(f"{self.rule.source}: rule {self.rule.code}: Great Expectations could not evaluate {exp}: {msg}")
        if r.success:
            return
        out = r.result or {}
        column = kw.get("column", "")
        expected = describe_expected(kw)
        rows = out.get("unexpected_index_list")
        if rows and isinstance(rows[0], dict) and "line" in rows[0]:
            total = out.get("unexpected_count", len(rows))
            pct = out.get("unexpected_percent")
            observed = f"{total:,} record(s)" + (f" ({pct:.1f}%)" if pct is not None else "")
            for row in rows[:cap]:
                value = _fmt(row.get(column, "") if column else "")
                if len(value) > 60:
                    value = value[:60] + "…"
                details = f"expected {column or 'values'} {expected}; {observed} in this file"
                yield Finding(line=int(row["line"]), args={"details": details, "expectation": exp, "column": column,
                                                           "observed": observed, "value": value})
            return
        observed = describe_observed(out.get("observed_value"))
        details = f"{exp.removeprefix('expect_').replace('_', ' ')}" + (f" ({column})" if column else "") + \
                  f": observed {observed}, expected {expected}"
        yield Finding(line=0, args={"details": details, "expectation": exp, "column": column,
                                    "observed": observed, "value": observed})
