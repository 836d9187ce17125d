"""Machine output: one object ``{"diagnostics": [...], "summary": {...}, "files": [...]}``.

Stable shape (additive changes only); see README.md "JSON output".
"""
from __future__ import annotations

import orjson

from . import summary


def render(result, config, out, opts) -> None:
    doc = {
        "version": 1,
        "diagnostics": [d.to_dict() for d in result.diagnostics],
        "summary": summary(result),
        "files": [f.to_dict() for f in result.files],
    }
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
