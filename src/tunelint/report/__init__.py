"""``tunelint report``: a self-contained HTML report, a Great Expectations suite and the
per-record feature table, from one pass over the data.

matplotlib, pandas and Great Expectations are imported only by this command (and GX only with
``--gx-suite``).
"""
from __future__ import annotations

import os
import sys

import click

from ..cli import check_paths_exist, common_options, fail, load, make_progress
from ..tokens import counted_with

#: USD per 1M training tokens. Examples only (OpenAI's published fine-tuning prices in 2025);
#: pass your own with --price-table.
EXAMPLE_PRICES = {
    "gpt-4.1": 25.00,
    "gpt-4.1-mini": 5.00,
    "gpt-4.1-nano": 1.50,
    "gpt-4o": 25.00,
    "gpt-4o-mini": 3.00,
    "gpt-3.5-turbo": 8.00,
}


def load_price_table(path: str) -> dict[str, float]:
    """A mapping model -> USD per 1M training tokens, from TOML, JSON or YAML.

    TOML and YAML may nest it under a ``prices`` key; values must be non-negative numbers."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(f"{path}: cannot read price table: {e.strerror}")
    low = path.lower()
    try:
        if low.endswith(".toml"):
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
        elif low.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(raw)
        else:
            import json

            data = json.loads(raw)
    except Exception as e:  # any parse error is the user's to fix
        fail(f"{path}: invalid price table: {str(e).splitlines()[0]}")
    if isinstance(data, dict) and isinstance(data.get("prices"), dict):
        data = data["prices"]
    if not isinstance(data, dict) or not data:
        fail(f"{path}: a price table maps model names to USD per 1M training tokens, e.g. gpt-4o-mini = 3.0")
    out: dict[str, float] = {}
    for k, v in data.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            fail(f"{path}: price of {k!r} must be a non-negative number (USD per 1M training tokens), got {v!r}")
        out[str(k)] = float(v)
    return out


def text_summary(fc, result, config, epochs: int, prices: dict[str, float], out) -> None:
    from collections import Counter

    n = len(fc)
    toks = sum(fc.data["tokens"]) if "tokens" in fc.data else 0
    fmts = Counter(fc.data["format"])
    sev = Counter(d.severity for d in result.diagnostics)
    out.write(f"records: {n:,} in {len(result.files)} file(s); formats: {', '.join(f'{k} ({v:,})' for k, v in fmts.most_common())}\n")
    for role, cnt in fc.role_turns.most_common():
        out.write(f"  {role:<10} {cnt:>10,} turns {fc.role_tokens.get(role, 0):>14,} tokens\n")
    out.write(f"training tokens per epoch: {toks:,} ({counted_with(config.target)}); {epochs} epoch(s): {toks * epochs:,}\n")
    for m, p in prices.items():
        cost = "$" + format(toks * epochs * p / 1e6, ",.2f")
        out.write(f"  {m:<16} {cost:>14}  at ${p:,.2f} per 1M tokens\n")
    out.write(f"findings: {sev.get('error', 0):,} error(s), {sev.get('warning', 0):,} warning(s), {sev.get('info', 0):,} info\n")


def write_features(df, path: str) -> None:
    from ..fsutil import atomic_write_text

    low = path.lower()
    if low.endswith(".parquet"):
        try:
            df.to_parquet(path, index=False)
        except ImportError:
            fail("writing .parquet needs pyarrow; use .csv or .jsonl")
        return
    with atomic_write_text(path) as f:
        if low.endswith((".jsonl", ".ndjson")):
            df.to_json(f, orient="records", lines=True, force_ascii=False)
        else:
            df.to_csv(f, index=False)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write the self-contained HTML report here.")
@click.option("--gx-suite", "gx_path", type=click.Path(dir_okay=False), help="Write a Great Expectations 1.x suite capturing the dataset's profile (JSON).")
@click.option("--features", "features_path", type=click.Path(dir_okay=False), help="Write the per-record feature table (.csv, .jsonl or .parquet) that the suite validates.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True, help="Epochs for the cost estimate.")
@click.option("--price-table", "price_table", type=click.Path(dir_okay=False), help="Model -> USD per 1M training tokens (TOML, JSON or YAML). Default: example prices.")
@click.option("--examples", type=click.IntRange(min=0), default=5, show_default=True, help="Examples shown per rule in the HTML report.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.25, show_default=True, help="--gx-suite: relative slack around observed values (0.25 = ±25%).")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is shown only on a terminal, on stderr).")
def report(paths, config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt,
           html_path, gx_path, features_path, epochs, price_table, examples, tolerance, no_progress):
    """Profile dataset files: HTML report, Great Expectations suite, feature table.

    Without --html, --gx-suite or --features a short text summary (records, tokens per role,
    training tokens and estimated cost) is printed.
    """
    from ..features import collect
    from ..fsutil import atomic_write_text

    check_paths_exist(paths)
    cfg = load(config_path, isolated, select, extend_select, ignore, target, max_tokens, fmt,
               start=paths[0] if paths[0] != "-" else ".")
    from ..fsutil import Unwritable, check_writable

    try:
        for what, out_path in (("HTML report", html_path), ("GX suite", gx_path), ("feature table", features_path)):
            if out_path:
                check_writable(out_path, what)
    except Unwritable as e:
        fail(str(e))
    prices = load_price_table(price_table) if price_table else dict(EXAMPLE_PRICES)
    from ..forkmap import cpus

    # large JSONL files are split over processes as `check` does (same table, same findings)
    progress = make_progress(no_progress, "reading")
    fc, result = collect(list(paths), cfg, jobs=min(cpus(), 8), progress=progress)
    if progress is not None:
        progress.phase("building the report")
    if not len(fc):
        click.echo("tunelint: warning: no records were read", err=True)
    wrote = []
    if html_path:
        from .html import render

        page = render(fc, result, cfg, {"epochs": epochs, "prices": prices, "prices_are_examples": not price_table,
                                         "examples": examples})
        with atomic_write_text(html_path) as f:
            f.write(page)
        wrote.append(f"HTML report {html_path}")
    if gx_path:
        from ..gx import write_suite

        first = str(paths[0])
        name = "tunelint-" + ("stdin" if first == "-" else os.path.basename(os.path.normpath(first)).split(".")[0])
        k = write_suite(fc.frame(), gx_path, name=name, target=cfg.target, tolerance=tolerance)
        wrote.append(f"GX suite {gx_path} ({k} expectations)")
    if features_path:
        write_features(fc.frame(), features_path)
        wrote.append(f"feature table {features_path} ({len(fc):,} rows)")
    if progress is not None:
        progress.close()
    if not wrote:
        text_summary(fc, result, cfg, epochs, prices, sys.stdout)
    for x in wrote:
        click.echo(f"tunelint: wrote {x}", err=True)
