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
reports once for the file. GX (seconds to import) is imported only when such a rule runs.
Message template arguments: ``details``, ``expectation``, ``column``, ``observed``, ``value``.
"""
from __future__ import annotations

import re

from .base import DatasetCheck, Finding, count, kind

_COLUMN_KEYS = ("column", "column_A", "column_B", "column_list", "column_set")

# Configuration and rule packs never execute code. What reaches Great Expectations is
# allow-listed: plain JSON values for known argument names (no "$PARAMETER" suite parameters),
# and a ``row_condition`` only in a small grammar (feature columns, literals, comparisons,
# and/or/not, parentheses, ``in [...]``) that GX's pandas parser evaluates without any name
# lookup beyond the table's columns. GX's pandas parser otherwise runs arbitrary Python
# (``@pd.io.common.os.system(...)``): a pull request adding a rule must not run code on CI.
ALLOWED_KWARGS = frozenset({
    *_COLUMN_KEYS, "min_value", "max_value", "strict_min", "strict_max", "value_set", "regex", "regex_list",
    "match_on", "like_pattern", "like_pattern_list", "mostly", "quantile_ranges", "allow_relative_error",
    "type_", "type_list", "value", "value_pairs_set", "or_equal", "ignore_row_if", "sum_total", "json_schema",
    "strftime_format", "min_value_length", "max_value_length", "threshold", "double_sided", "tail_distribution_values",
    "partition_object", "bucketize_data", "internal_weight_holdout", "tail_weight_holdout", "n_bins", "bins",
    "exact_match", "ties_okay", "parse_strings_as_datetimes", "row_condition", "condition_parser",
    "meta", "notes", "description", "severity",
})
_CONDITION_TOKEN = re.compile(r"""\s+|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<str>'[^'\\\n]*'|"[^"\\\n]*")"""
                              r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|!=|<=|>=|<|>|&|\||~|\(|\)|\[|\]|,)")
_CONDITION_WORDS = {"and", "or", "not", "in", "True", "False"}


def safe_condition(cond, columns, where: str) -> str:
    """``cond`` if it is a row condition in the safe grammar over ``columns``; else RuleError."""
    from ..model.errors import RuleError, did_you_mean

    if not isinstance(cond, str) or not cond.strip() or len(cond) > 1000:
        raise RuleError(f"{where}: row_condition must be a non-empty string of at most 1000 characters")
    pos = 0
    prev = None
    while pos < len(cond):
        m = _CONDITION_TOKEN.match(cond, pos)
        if m is None:
            raise RuleError(f"{where}: row_condition may only compare feature columns with literals (==, !=, <, >, "
                            f"<=, >=, in [...], and/or/not, parentheses); {cond[pos:pos + 20]!r} is not allowed")
        name = m.group("name")
        if name is not None and name not in _CONDITION_WORDS and name not in columns:
            raise RuleError(f"{where}: row_condition names unknown feature column {name!r}{did_you_mean(name, columns)}")
        if m.group("op") == "(" and prev is not None and prev.group("name") is not None and prev.group("name") not in _CONDITION_WORDS:
            raise RuleError(f"{where}: row_condition may not call anything ({prev.group('name')}(...))")
        if m.group(0).strip():
            prev = m
        pos = m.end()
    return cond


def condition_columns(cond: str) -> list[str]:
    return [m.group("name") for m in _CONDITION_TOKEN.finditer(cond)
            if m.group("name") is not None and m.group("name") not in _CONDITION_WORDS]


def check_kwargs(kw: dict, columns, where: str) -> None:
    """Raise RuleError unless every argument is allow-listed and plain JSON (see ALLOWED_KWARGS)."""
    from ..model.errors import RuleError, did_you_mean

    for k, v in kw.items():
        if k not in ALLOWED_KWARGS:
            raise RuleError(f"{where}: expectation argument {k!r} is not allowed{did_you_mean(str(k), ALLOWED_KWARGS)}")
        _plain(v, f"{where}: expectation argument {k!r}")
    if "condition_parser" in kw and kw["condition_parser"] != "pandas":
        raise RuleError(f"{where}: condition_parser must be 'pandas' (the only one tunelint allows, with its safe row_condition grammar)")
    if "row_condition" in kw:
        safe_condition(kw["row_condition"], columns, where)


def _plain(v, where: str, depth: int = 0) -> None:
    from ..model.errors import RuleError

    if depth > 20:
        raise RuleError(f"{where}: nested too deeply")
    if v is None or isinstance(v, (str, int, float, bool)):
        return
    if isinstance(v, (list, tuple)):
        for x in v:
            _plain(x, where, depth + 1)
        return
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str) or k.startswith("$"):
                raise RuleError(f"{where}: key {k!r} is not allowed (no GX suite parameters)")
            _plain(x, where, depth + 1)
        return
    raise RuleError(f"{where}: must be plain JSON data, got {type(v).__name__}")


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
class Expectation(DatasetCheck):
    defaults = {"expect": "", "kwargs": {}, "max-findings": count(20, 1)}

    def __init__(self, rule, params):
        super().__init__(rule, params)
        from ..feature_table import COLUMNS
        from ..model.errors import RuleError, did_you_mean

        where = f"{rule.source}: rule {rule.code}"
        exp = params.get("expect")
        kw = params.get("kwargs")
        if not isinstance(exp, str) or not exp.startswith("expect_"):
            raise RuleError(f"{where}: 'expect' must name a Great Expectations expectation, like expect_column_mean_to_be_between")
        if not isinstance(kw, dict):
            raise RuleError(f"{where}: 'kwargs' must be a mapping of the expectation's arguments")
        if not re.fullmatch(r"expect_[a-z0-9_]+", exp):
            raise RuleError(f"{where}: 'expect' must name a Great Expectations expectation, like expect_column_mean_to_be_between")
        check_kwargs(kw, COLUMNS, where)
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
        if "row_condition" in kw:
            cols += condition_columns(kw["row_condition"])
        self.columns = cols

    def begin(self, ctx):
        from ..feature_table import FeatureCollector, groups_for

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
        from ..model.errors import RuleError

        exp, kw = self.p["expect"], dict(self.p["kwargs"])
        if "row_condition" in kw:
            kw["condition_parser"] = "pandas"
        cap = self.p["max-findings"]
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
