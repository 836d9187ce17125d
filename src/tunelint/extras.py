"""Optional dependencies: what each extra brings, and one clear line when one is missing.

``tunelint`` (core) is the check path. The rest is opt-in::

    tunelint[parquet]  pyarrow         Parquet, Arrow (``save_to_disk``) and pandas/HF inputs
    tunelint[report]   matplotlib, pandas   ``tunelint report``, ``check --profile``
    tunelint[gx]       great-expectations, pandas   ``report --gx-suite``, ``expectation`` rules
    tunelint[spacy]    spacy           ``lemmatizer = "spacy"`` (the default reads the table directly)
    tunelint[hf]       tokenizers, jinja2   local Hugging Face tokenizers and chat templates
    tunelint[mistral]  mistral-common  Mistral's tokenizers
    tunelint[ray]      ray[data]       ``--engine ray``
    tunelint[all]      all of the above

:func:`require` imports a module or raises :class:`MissingExtra`, whose message names the
extra; the CLI prints it as one ``tunelint: error:`` line with exit code 2.
"""
from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""

    def __init__(self, what: str, module: str, extra: str):
        self.what, self.module, self.extra = what, module, extra
        super().__init__(f"{what} needs {module}, which is not installed: pip install 'tunelint[{extra}]'")


def require(module: str, extra: str, what: str) -> ModuleType:
    """``import module`` or raise :class:`MissingExtra` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(what, module.split(".")[0], extra) from None
