"""tunelint: lint and clean LLM fine-tuning datasets.

The Python API (see README "Python API")::

    import tunelint
    result = tunelint.check("data/train.parquet")        # or records, a DataFrame, a Dataset
    print(result.summary["errors"], result.to_json())
    problems = tunelint.check_record({"messages": [...]})  # inside Dataset.map / filter
    fixed = tunelint.fix(records, unsafe=True)            # .records, .rejects, .changes

Imported lazily: ``import tunelint`` (and the CLI's start-up) loads none of it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

__all__ = ["CheckResult", "FixResult", "check", "check_record", "fix", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import CheckResult, FixResult, check, check_record, fix


def __getattr__(name: str) -> Any:
    if name in ("check", "check_record", "fix", "CheckResult", "FixResult"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tunelint' has no attribute {name!r}")
