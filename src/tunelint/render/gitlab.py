"""GitLab Code Quality report (``artifacts: reports: codequality``).

A JSON array of ``{description, check_name, fingerprint, severity, location: {path, lines:
{begin}}}``. Paths are relative to the current directory (run from the repository root).
Severity: error->major, warning->minor, info->info. Fingerprints are the same content-hash
based ones as SARIF's (stable when records move; unique within a report).
"""
from __future__ import annotations

import orjson

from ..baseline import fingerprints
from ..locate import relative_path

SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


def render(result, config, out, opts) -> None:
    items = []
    for d, fp in zip(result.diagnostics, fingerprints(result.diagnostics)):
        msg = d.message + (f" [{d.pointer}]" if d.pointer else "")
        if d.unit == "row" and d.line >= 1:
            msg = f"row {d.line}: {msg}"
        items.append({
            "type": "issue",
            "description": f"{d.code} {msg}",
            "check_name": f"{d.code} {d.name}",
            "fingerprint": fp,
            "severity": SEVERITY.get(d.severity, "minor"),
            "categories": ["Style" if d.code.startswith(("S", "T")) else "Bug Risk"],
            "location": {"path": relative_path(d.path), "lines": {"begin": max(d.line, 1) if d.unit == "line" else 1}},
        })
    out.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
