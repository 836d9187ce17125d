"""GitHub Actions workflow commands: one annotation per finding, grouped per file.

Chosen automatically when ``GITHUB_ACTIONS=true`` and no ``--output-format`` was given.
GitHub shows only the first few annotations of each kind per step (10 errors, 10 warnings,
10 notices; 50 per job), so a summary annotation with the totals comes *first*, where it is
never cut off. Messages and properties are escaped as the runner expects (``%``, CR, LF; and
``:`` and ``,`` in properties). When printing to stdout inside a job that has
``GITHUB_STEP_SUMMARY``, a Markdown table of findings per rule is appended to the job summary.
"""
from __future__ import annotations

import os
from collections import Counter

from ..words import plural
from . import summary

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(d) -> str:
    props = [f"file={escape_property(d.path)}"]
    if d.line >= 1 and d.unit == "line":
        props += [f"line={d.line}", f"col={max(d.column, 1)}"]
    props.append(f"title={escape_property(d.code)}")
    msg = d.message + (f" [{d.pointer}]" if d.pointer else "")
    if d.unit == "row" and d.line >= 1:  # a table's row: no line of the file to annotate
        msg = f"row {d.line}: {msg}"
    return f"::{LEVELS.get(d.severity, 'warning')} {','.join(props)}::{escape_data(msg)}"


def render(result, config, out, opts) -> None:
    s = summary(result)
    total = s["errors"] + s["warnings"] + s["info"]
    recs = f"{plural(s['records'], 'record')} in {plural(s['files'], 'file')}"
    if total:
        level = "error" if s["errors"] else "warning" if s["warnings"] else "notice"
        top = ", ".join(f"{c} ×{n:,}" for c, n in sorted(s["by_code"].items(), key=lambda kv: (-kv[1], kv[0]))[:8])
        text = (f"Found {plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')} and "
                f"{s['info']:,} info in {recs} ({top}). GitHub shows only the first annotations; "
                "see this step's log or the SARIF upload for all.")
        out.write(f"::{level} title=tunelint::{escape_data(text)}\n")
    per_file = Counter(d.path for d in result.diagnostics)
    current = None
    for d in result.diagnostics:
        if d.path != current:
            if current is not None:
                out.write("::endgroup::\n")
            current = d.path
            out.write(f"::group::{escape_data(current)} ({plural(per_file[current], 'finding')})\n")
        out.write(annotation(d) + "\n")
    if current is not None:
        out.write("::endgroup::\n")
    if not opts.get("quiet"):
        out.write(f"tunelint: {'all checks passed' if not total else plural(total, 'finding')}: {recs}.\n")
    import sys

    if out is sys.stdout and os.environ.get("GITHUB_STEP_SUMMARY"):
        try:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
                f.write(step_summary(result))
        except OSError:
            pass


def step_summary(result) -> str:
    """Markdown for the job summary page: totals and one row per rule."""
    s = summary(result)
    total = s["errors"] + s["warnings"] + s["info"]
    recs = f"{plural(s['records'], 'record')} in {plural(s['files'], 'file')}"
    if not total:
        return f"### tunelint\n\nAll checks passed: {recs}.\n\n"
    info = {d.code: (d.name, d.severity) for d in result.diagnostics}
    rows = [f"| `{c}` | {info[c][0]} | {info[c][1]} | {n:,} |"
            for c, n in sorted(s["by_code"].items(), key=lambda kv: (-kv[1], kv[0]))]
    return (f"### tunelint\n\nFound {plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')} "
            f"and {s['info']:,} info in {recs}.\n\n| code | rule | severity | findings |\n|---|---|---|---:|\n"
            + "\n".join(rows) + "\n\n")
