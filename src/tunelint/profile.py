"""``tunelint check --profile``: the dataset's style profile, the norm the S rules compare with.

For each file: percentiles (p5/p25/p50/p75/p95) of the numeric style features per turn kind
(answer, prompt, input, system) and the shares of the categorical ones (opener, ending,
list style, markdown, script, person), plus system-prompt and prompt-template variants.
:func:`summarize` returns the same as plain data (for the HTML report); :func:`render_profile`
prints it as a table. pandas is imported only here.
"""
from __future__ import annotations

from typing import Any, TextIO

from .style_features import StyleRows

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
KIND_ORDER = ("answer", "prompt", "input", "system")
NUMERIC = (  # column, label, format
    ("tokens", "tokens", "int"),
    ("words", "words", "int"),
    ("chars", "characters", "int"),
    ("sentences", "sentences", "int"),
    ("sentence_len", "words per sentence", "float"),
    ("upper", "uppercase share of letters", "pct"),
    ("emoji", "emoji", "int"),
)
CATEGORIES = (
    ("opener", "opener"),
    ("end", "ends with"),
    ("list_style", "list markers"),
    ("script", "script"),
    ("person", "person"),
)
MARKDOWN = (("heading", "headings"), ("table", "tables"), ("fence", "code fences"), ("bold", "bold"))


def summarize(turn_rows: list[dict], rec_rows: list[dict]) -> list[dict[str, Any]]:
    """One summary dict per file: {path, records, format, kinds: {kind: {...}}, system, template}."""
    from .extras import require

    pd = require("pandas", "report", "the style profile (--profile)")

    out = []
    turns = pd.DataFrame(turn_rows)
    recs = pd.DataFrame(rec_rows)
    if recs.empty:
        return out
    for path, rdf in recs.groupby("path", sort=False):
        tdf = turns[turns["path"] == path] if not turns.empty else turns
        summary: dict[str, Any] = {"path": path, "records": int(len(rdf)),
                                   "format": str(rdf["format"].mode().iat[0]) if len(rdf) else "unknown", "kinds": {}}
        if not tdf.empty:
            tdf = tdf[tdf["branch"] != "rejected"]
            for knd in KIND_ORDER:
                k = tdf[tdf["kind"] == knd]
                if k.empty:
                    continue
                numeric = {}
                for col, _, _ in NUMERIC:
                    if col not in k:
                        continue
                    vals = k[col].dropna()
                    if len(vals):
                        numeric[col] = [float(x) for x in vals.quantile(list(QUANTILES))]
                cats = {}
                for col, _ in CATEGORIES:
                    vc = k[col].value_counts(normalize=True)
                    cats[col] = [(str(i), float(v)) for i, v in vc.items()]
                md = {col: float(k[col].mean()) for col, _ in MARKDOWN}
                summary["kinds"][knd] = {"turns": int(len(k)), "numeric": numeric, "categories": cats, "markdown": md}
        sysvc = rdf["system"].value_counts()
        summary["system"] = {"none": int(sysvc.get("none", 0)), "variants": int((sysvc.index != "none").sum()),
                             "top": [int(x) for x in sysvc[sysvc.index != "none"].head(3)]}
        summary["template"] = [(str(i), float(v)) for i, v in rdf["template"].value_counts(normalize=True).items()]
        if "tokens" in rdf:
            summary["tokens"] = token_distribution([int(x) for x in rdf["tokens"]])
        out.append(summary)
    return out


SEQ_QUANTILES = (0.5, 0.9, 0.95, 0.99)


def _rank(sorted_vals: list[int], q: float) -> int:
    """Nearest-rank percentile: the smallest value with at least ``q`` of the values at or below it."""
    import math

    return sorted_vals[max(0, math.ceil(q * len(sorted_vals)) - 1)]


def token_distribution(counts: list[int], cover: float = 0.99) -> dict[str, Any]:
    """Percentiles of whole-example token counts and the smallest sequence length that keeps
    ``cover`` of the records whole (``longer`` records exceed it)."""
    if not counts:
        return {}
    v = sorted(counts)
    cut = _rank(v, cover)
    return {"quantiles": [(q, _rank(v, q)) for q in SEQ_QUANTILES], "max": v[-1], "mean": sum(v) / len(v),
            "total": sum(v), "cutoff": cut, "cover": cover, "longer": sum(1 for x in v if x > cut)}


def _fmt(v: float, how: str) -> str:
    if how == "pct":
        return _pct(v) if v else "0%"
    if how == "float":
        return f"{v:,.1f}"
    return f"{v:,.0f}"


def _pct(share: float) -> str:
    if share >= 0.995:
        return f"{share:.0%}"
    if 0 < share < 0.0005:
        return "<0.1%"
    return f"{share:.1%}"


def _shares(pairs, limit: int = 6) -> str:
    shown = [f"{name} {_pct(share)}" for name, share in pairs[:limit]]
    more = len(pairs) - limit
    return " · ".join(shown) + (f" · (+{more} more)" if more > 0 else "")


def render_summary(summaries: list[dict], out: TextIO, encoding: str | None = None) -> None:
    for s in summaries:
        enc = f", tokens in {encoding}" if encoding else ""
        out.write(f"Style profile of {s['path']} ({s['records']:,} records, {s['format']}{enc})\n")
        if not s["kinds"]:
            out.write("  no text turns\n\n")
            continue
        for knd, k in s["kinds"].items():
            head = f"  {knd} turns ({k['turns']:,})"
            out.write(f"{head:<34}" + "".join(f"{'p' + str(int(q * 100)):>9}" for q in QUANTILES) + "\n")
            for col, label, how in NUMERIC:
                if col in k["numeric"]:
                    out.write(f"    {label:<30}" + "".join(f"{_fmt(v, how):>9}" for v in k["numeric"][col]) + "\n")
            for col, label in CATEGORIES:
                pairs = k["categories"].get(col) or []
                if pairs:
                    out.write(f"    {label:<30}{_shares(pairs)}\n")
            md = " · ".join(f"{label} {_pct(k['markdown'][col])}" for col, label in MARKDOWN)
            out.write(f"    {'markdown (share of turns)':<30}{md}\n")
        sy = s["system"]
        if sy["variants"]:
            top = ", ".join(f"{n:,}" for n in sy["top"])
            out.write(f"  system prompt                   {sy['variants']:,} variant(s) (most used by {top} records); none in {sy['none']:,} records\n")
        else:
            out.write("  system prompt                   none in any record\n")
        out.write(f"  prompt fields                   {_shares(s['template'])}\n")
        td = s.get("tokens")
        if td:
            qs = " · ".join(f"p{int(q * 100)} {n:,}" for q, n in td["quantiles"])
            out.write(f"  tokens per example              {qs} · max {td['max']:,} · total {td['total']:,}\n")
            out.write(f"  suggested sequence length       {td['cutoff']:,} keeps {td['cover']:.0%} of records whole "
                      f"({td['longer']:,} longer)\n")
        out.write("\n")


def collect(paths: list[str], config, tokens: bool = False) -> tuple[list[dict], list[dict]]:
    """Run files through the engine; return (turn rows, record rows) with a ``path`` column.
    ``tokens=True`` adds a ``tokens`` column (the target's encoding; slower)."""
    from .engine import lint

    sink = StyleRows(config, tokens)
    lint(paths, config, sinks=[sink])
    return sink.turn_rows, sink.rec_rows


def frame(paths: str | list[str], config):
    """pandas DataFrame with one row per text turn of the file(s) (see :func:`tunelint.style_features.rows`)."""
    import pandas as pd

    turn_rows, _ = collect([paths] if isinstance(paths, str) else list(paths), config)
    return pd.DataFrame(turn_rows)


def render_profile(paths: list[str], cfg, out: TextIO) -> None:
    """Run the file(s) through the engine, collect style features and print the profile."""
    render_rows(*collect(paths, cfg, tokens=True), cfg, out)


def render_rows(turn_rows: list[dict], rec_rows: list[dict], cfg, out: TextIO, progress=None) -> None:
    """Print the profile of rows collected in a check's own pass (``style_features.StyleRows``).
    ``progress``: the run's bar, shown as "profile: summarizing" until the profile is ready."""
    if progress is not None:
        progress.phase("profile: summarizing")
    has_tokens = bool(turn_rows) and "tokens" in turn_rows[0]
    target = getattr(cfg, "target", None)
    enc = getattr(target, "tokenizer", None) or getattr(target, "encoding", None) or "o200k_base"
    if getattr(target, "tokenizer", None):
        enc += " with its chat template"
    summaries = summarize(turn_rows, rec_rows)
    if progress is not None:
        progress.close()
    render_summary(summaries, out, enc if has_tokens else None)
