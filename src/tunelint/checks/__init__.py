"""Generic check kinds. A rule in a YAML pack names a kind and gives it parameters.

A kind is a class registered with :func:`kind`. It declares its scope:

- ``line``: sees every physical line (:class:`tunelint.reader.PhysLine`) before parsing;
- ``record``: sees every parsed, normalized :class:`tunelint.formats.Record`;
- ``dataset``: sees every record (``observe``) and reports in ``finish`` from compact state.
  Dataset checks must be mergeable (``merge``) so ``--jobs`` can split a file.

Every method yields :class:`Finding` objects: the *reason* (datatrove-style); the engine
turns them into :class:`tunelint.diagnostic.Diagnostic` with the rule's code, name,
severity and message template.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..diagnostic import Fix

if TYPE_CHECKING:  # pragma: no cover
    from ..formats import Record
    from ..reader import PhysLine
    from ..rules import Rule

KINDS: dict[str, type["Check"]] = {}


def kind(name: str):
    def deco(cls):
        cls.kind_name = name
        KINDS[name] = cls
        return cls

    return deco


@dataclass(slots=True)
class Finding:
    line: int = 0  # 0 = the current record's / line's own line
    pointer: str = ""
    message: str | None = None  # full message; else the rule template is formatted with ``args``
    args: dict = field(default_factory=dict)
    column: int = 1
    fix: Fix | None = None
    related: tuple[int, ...] = ()
    record_hash: str | None = None
    path: str | None = None  # another file's path (e.g. an --against file); None = the checked file


class FileContext:
    """Per-file facts shared by checks: path, detected format, configuration."""

    def __init__(self, path: str, fmt: str, config: Any, mode: str = "jsonl"):
        self.path = path
        self.format = fmt
        self.config = config
        self.mode = mode  # "jsonl" | "json"
        self.records_seen = 0

    @property
    def target(self):
        return self.config.target


class Check:
    kind_name = ""
    scope = "record"  # line | record | dataset
    #: parameters this kind accepts and their defaults; unknown parameters are config errors
    defaults: dict[str, Any] = {}
    #: dataset checks sharing one state: True for those whose state another rule fills (set in
    #: ``begin``); the engine does not call their ``observe``
    passive = False
    #: with --jobs, checks of one named group are finished together in a forked child
    #: (``parallel._finish``) while the parent finishes the others
    finish_apart: str | None = None
    #: modules a large input will make this check import (its batch path): with --jobs they
    #: are imported once before the workers fork, not again in every worker
    warm_imports: tuple[str, ...] = ()

    def settle(self) -> None:
        """Finish the record pass's deferred work (a half-full batch) now: --jobs calls it in
        each worker as soon as its part is read, so it overlaps the other workers' reading
        instead of waiting for the merge."""

    def __init__(self, rule: "Rule", params: dict[str, Any]):
        self.rule = rule
        self.p = params

    # Which turn kinds to look at (system, prompt, input, answer, tool); None = all.
    def turn_kinds(self) -> frozenset[str] | None:
        k = self.p.get("turns")
        return frozenset(k) if k else None

    def begin(self, ctx: FileContext) -> None:
        """Called once per file before the first line/record."""

    def check_line(self, phys: "PhysLine", ctx: FileContext) -> Iterable[Finding]:
        return ()

    def check_record(self, rec: "Record", ctx: FileContext) -> Iterable[Finding]:
        return ()

    def observe(self, rec: "Record", ctx: FileContext) -> None:
        pass

    def merge(self, other: "Check") -> None:
        """Fold the state of ``other`` (a later part of the same file) into this one."""
        raise NotImplementedError(f"{type(self).__name__} does not support --jobs")

    def finish(self, ctx: FileContext) -> Iterable[Finding]:
        return ()


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
        importlib.import_module(f"{__name__}.{m.name}")
    _loaded = True
