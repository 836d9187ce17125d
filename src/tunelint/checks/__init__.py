"""Generic check kinds. A rule in a YAML pack names a kind and gives it parameters.

The plug-in contract (input views, hooks, ``Finding``, ``FileContext``) is declared in
:mod:`tunelint.checks.base`; this package re-exports it for older imports. Each module of the
package registers its kinds with :func:`kind` when imported (:func:`load_all`).
"""
from __future__ import annotations

from .base import (  # noqa: F401 - re-exported
    KINDS, VIEWS, Check, DatasetCheck, FileContext, FileProblemCheck, Finding, FixOffer, LineCheck,
    ProblemCheck, RecordCheck, TurnCheck, UnparsedCheck, kind,
)

_loaded = False


def load_all() -> None:
    """Import every module of this package: each registers its kinds with :func:`kind`.

    Modules must keep heavy imports (spaCy, pandas, GX, numpy) inside functions.
    """
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")
    _loaded = True
