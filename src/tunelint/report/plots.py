"""Inline SVG plots for the HTML report (matplotlib, Agg backend, imported here only)."""
from __future__ import annotations

import io
import re

ACCENT = "#3b6ea8"
WARN = "#c0392b"
MUTED = "#9aa5b1"

_mpl = None


def _plt():
    global _mpl
    if _mpl is None:
        from ..extras import require

        matplotlib = require("matplotlib", "report", "the HTML report's plots")

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        matplotlib.rcParams.update({
            "svg.fonttype": "none",  # text stays text: small, crisp, searchable
            "svg.hashsalt": "tunelint",  # deterministic ids
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#666",
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
        })
        _mpl = plt
    return _mpl


_count = [0]


def _svg(fig, label: str) -> str:
    import matplotlib

    _count[0] += 1
    matplotlib.rcParams["svg.hashsalt"] = f"tunelint-{_count[0]}"  # ids unique within the page
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _plt().close(fig)
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    # several SVGs share one page: make every id (and reference to it) unique to this figure
    pre = f"p{_count[0]}-"
    s = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{pre}{m.group(1)}"', s)
    s = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{pre}{m.group(1)})", s)
    s = re.sub(r'((?:xlink:)?href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{pre}{m.group(2)}"', s)
    # responsive: keep the viewBox, let CSS size it; label it for screen readers
    s = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r'<svg \1', s, count=1)
    return s.replace("<svg ", f'<svg class="plot" role="img" aria-label="{label}" ', 1)


def token_histogram(values, limit: int | None, encoding: str) -> str:
    import numpy as np

    plt = _plt()
    v = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    if len(v):
        hi = max(float(v.max()), float(limit or 0)) * 1.05 + 1
        log = len(v) > 50 and v.max() > 20 * max(np.median(v), 1)
        bins = np.geomspace(max(v.min(), 1), hi, 60) if log else np.linspace(0, hi, 60)
        ax.hist(np.maximum(v, 1) if log else v, bins=bins, color=ACCENT, edgecolor="white", linewidth=0.3)
        if log:
            ax.set_xscale("log")
        for q, ls, h in ((50, ":", 0.97), (95, "--", 0.84)):
            x = float(np.percentile(v, q))
            ax.axvline(x, color="#333", linestyle=ls, linewidth=1)
            ax.text(x, ax.get_ylim()[1] * h, f" p{q} {x:,.0f}", fontsize=8, va="top")
    if limit:
        ax.axvline(limit, color=WARN, linewidth=2)
        ax.text(limit, ax.get_ylim()[1] * 0.6, f"limit {limit:,} ", color=WARN, ha="right", fontsize=9, fontweight="bold")
    ax.set_xlabel(f"tokens per example ({encoding})")
    ax.set_ylabel("records")
    return _svg(fig, "token length histogram")


def hbar(labels: list[str], counts: list[int], title: str, colors: list[str] | None = None) -> str:
    plt = _plt()
    n = max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(5.5, 0.28 * n + 0.7))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, counts, color=colors or ACCENT)
    ax.set_yticks(y, labels)
    for yi, c in zip(y, counts):
        ax.text(c, yi, f" {c:,}", va="center", fontsize=8)
    ax.set_title(title, loc="left")
    ax.set_xlim(0, max(counts or [1]) * 1.18)
    ax.tick_params(axis="y", length=0)
    return _svg(fig, title)


def feature_hist(values, lo: float, hi: float, name: str) -> str:
    """Distribution of one style feature with the outlier fences (values outside are shaded)."""
    import numpy as np

    plt = _plt()
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    fig, ax = plt.subplots(figsize=(3.6, 1.9))
    if len(v):
        top = float(v.max())
        bins = np.linspace(float(v.min()), top if top > v.min() else top + 1, 40)
        ax.hist(v, bins=bins, color=ACCENT, edgecolor="white", linewidth=0.2)
        ax.axvspan(hi, max(top, hi), color=WARN, alpha=0.15, linewidth=0)
        if lo > v.min():
            ax.axvspan(float(v.min()), lo, color=WARN, alpha=0.15, linewidth=0)
        ax.axvline(hi, color=WARN, linewidth=1)
    ax.set_title(name, loc="left")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    return _svg(fig, f"{name} distribution")
