"""Renderers: every output format is a function over the same list of diagnostics.

A renderer is ``render(result, config, out, opts) -> None`` where ``result`` is
:class:`tunelint.engine.Result`, ``out`` a text stream and ``opts`` a dict of presentation
options (``statistics``, ``show_fixes``, ...). Modules are imported only when used.
"""
from __future__ import annotations

import importlib

#: format name -> module under tunelint.render exposing ``render``
RENDERERS = {
    "text": "text",
    "json": "json",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
    "gitlab": "gitlab",
}


def get(name: str):
    if name not in RENDERERS:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{RENDERERS[name]}").render


def summary(result) -> dict:
    from collections import Counter

    sev = Counter(d.severity for d in result.diagnostics)
    return {
        "files": len(result.files),
        "records": sum(f.records for f in result.files),
        "errors": sev.get("error", 0),
        "warnings": sev.get("warning", 0),
        "info": sev.get("info", 0),
        "fixable": sum(1 for d in result.diagnostics if d.fix is not None),
        "by_code": dict(sorted(Counter(d.code for d in result.diagnostics).items())),
        "formats": {f.path: f.format for f in result.files},
    }
