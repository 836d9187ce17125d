"""Generic check kinds. A rule in a YAML pack names a kind and gives it parameters.

The plug-in contract (input views, hooks, ``Finding``, ``FixOffer``, ``FileContext``) is
declared in :mod:`tunelint.checks.base`; :mod:`tunelint.checks.registry` maps kind names to
the modules that define them and imports those lazily (:func:`kind_class`). This package
re-exports both for older imports; importing it imports no kind module.
"""
from __future__ import annotations

from .base import (  # noqa: F401 - re-exported
    KINDS, VIEWS, Check, DatasetCheck, FileContext, FileProblemCheck, Finding, FixOffer, LateRecordCheck, LineCheck,
    ProblemCheck, RecordCheck, TurnCheck, UnparsedCheck, kind,
)
from .registry import KIND_MODULES, kind_class, kind_names, load_all  # noqa: F401 - re-exported
