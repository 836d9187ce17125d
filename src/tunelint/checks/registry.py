"""Kind name -> the module of :mod:`tunelint.checks` that defines it, imported on first use.

A run imports only the kind modules its rules name (``tunelint check`` on a few rules never
loads the style, terms or GX machinery), and nothing imports every kind at start. A kind
registered some other way (:func:`tunelint.checks.base.kind` in a plug-in module that was
imported) is found in :data:`~tunelint.checks.base.KINDS` first. ``tests/test_contracts.py``
checks that this table names exactly the kinds each module registers.
"""
from __future__ import annotations

import importlib

from .base import KINDS, Check

#: kind name -> module of tunelint.checks whose ``@kind`` registers it
KIND_MODULES: dict[str, str] = {
    # content.py
    "empty-text": "content",
    "truncate-at": "content",
    "template-slot": "content",
    "unseen-media": "content",
    "keyed-existence": "content",
    "trailing-placeholder": "content",
    "repeated-sentence": "content",
    # delimiters.py
    "pc-suffix": "delimiters",
    "pc-leading-space": "delimiters",
    "edge-token": "delimiters",
    # duplicates.py
    "exact-duplicate": "duplicates",
    "conflicting-answers": "duplicates",
    # encoding.py
    "invalid-utf8": "encoding",
    "bom": "encoding",
    "line-endings": "encoding",
    "blank-line": "encoding",
    "control-chars": "encoding",
    "invisible-chars": "encoding",
    "replacement-char": "encoding",
    "mojibake": "encoding",
    "not-nfc": "encoding",
    "edge-whitespace": "encoding",
    # expectation.py
    "expectation": "expectation",
    # length.py
    "token-limit": "length",
    "min-examples": "length",
    "short-answer": "length",
    # neardup.py
    "near-duplicate": "neardup",
    "near-duplicate-prompt": "neardup",
    "near-conflict": "neardup",
    "near-duplicate-answer": "neardup",
    "near-leakage": "neardup",
    # schema.py
    "json-syntax": "schema",
    "file-problem": "schema",
    "schema": "schema",
    "mixed-formats": "schema",
    "unused-ignore": "schema",
    # structure.py
    "conversation": "structure",
    # style.py
    "length-outlier": "style",
    "uppercase-outlier": "style",
    "boilerplate-opener": "style",
    "list-marker-drift": "style",
    "system-prompt-variant": "style",
    "script-outlier": "style",
    "unfinished-answer": "style",
    # terms.py
    "term-variants": "terms",
    "glossary-terms": "terms",
    "placeholder-variants": "terms",
    "template-variants": "terms",
    # text.py
    "existence": "text",
    "substitution": "text",
    "whole-value": "text",
    "pattern-budget": "text",
    # trainer.py
    "chat-template-error": "trainer",
    "prompt-not-prefix": "trainer",
    "answer-truncated": "trainer",
    "no-trainable-tokens": "trainer",
}

_all_loaded = False


def kind_class(name: str) -> type[Check] | None:
    """The class of the kind ``name`` (its module imported now if need be), or None."""
    cls = KINDS.get(name)
    if cls is not None:
        return cls
    mod = KIND_MODULES.get(name)
    if mod is not None:
        importlib.import_module(f"{__package__}.{mod}")
        cls = KINDS.get(name)
    if cls is None and not _all_loaded:  # a kind some module registers without an entry here
        load_all()
        cls = KINDS.get(name)
    return cls


def kind_names() -> list[str]:
    """Every known kind name (built-in and registered), for messages such as did-you-mean."""
    return sorted(set(KIND_MODULES) | set(KINDS))


def load_all() -> None:
    """Import every kind module of this package (``tunelint rules --all``, docs, tests).
    Modules must keep heavy imports (spaCy, pandas, GX, numpy) inside functions."""
    global _all_loaded
    if _all_loaded:
        return
    import pkgutil

    pkg = importlib.import_module(__package__)
    for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if m.name not in ("base", "registry"):
            importlib.import_module(f"{__package__}.{m.name}")
    _all_loaded = True
