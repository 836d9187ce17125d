"""The plug-in contract: everything a check kind may rely on and must provide, on one page.

A rule in a YAML pack names a *kind* and gives it parameters; a kind is a class registered with
:func:`kind` that subclasses one or more of the *input views* below. The view is the
declaration: the engine calls exactly the hooks of the views a kind declares (no method
sniffing), and defining a hook of a view the class does not declare is an error at import.

=====================  ==============================================  ===============================
view                   hook the engine calls                           when
=====================  ==============================================  ===============================
:class:`LineCheck`     ``check_line(phys, ctx)``                        every physical line, unparsed
:class:`UnparsedCheck` ``check_unparsed(chunk, data, err, ctx)``        a record that is not JSON
:class:`FileProblemCheck` ``check_file_problem(problem, ctx)``          a file that cannot be read
:class:`RecordCheck`   ``check_record(rec, ctx)``                       every normalized record
:class:`ProblemCheck`  ``check_problems(rec, ctx)``                     a record the normalizer
                                                                        found problems in
:class:`TurnCheck`     ``check_text(turn, rec)`` behind ``gate(text)``  every text turn
:class:`DatasetCheck`  ``observe(rec, ctx)``, ``merge(other)``,         every record; ``settle`` when
                       ``settle()``, ``finish(ctx)``;                   a part is read, ``finish``
                       ``export_keys()``/``adopt_groups(name, result)`` once per file; the key
                       (keys grouped by another engine's shuffle)       hooks per part / before finish
=====================  ==============================================  ===============================

Every kind may also define ``begin(ctx)`` (once per file, before the first line or record).
Hooks yield :class:`Finding` objects, the *reason* (datatrove-style); the engine turns them
into :class:`tunelint.diagnostic.Diagnostic` with the rule's code, name, severity, message
template and declared fix applicability (a check offers edits, :class:`FixOffer`; it never
says whether they are safe).

State shared by several rules of one file (one analysis feeding several codes) is asked for by
key with :meth:`FileContext.shared`; the first rule to ask creates it. Dataset state must be
mergeable (``merge`` folds a later part of the same file into this one) so ``--jobs`` and any
other engine that splits a file give the results of one pass.

This module imports nothing from tunelint but the diagnostic model, so a kind module needs only
this page, its own code and a YAML entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from ..diagnostic import Edit
from ..model.errors import did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from ..formats import Record, Turn
    from ..reader import Chunk, FileProblem, PhysLine
    from ..rules import Rule

T = TypeVar("T")

#: kind name -> class, filled by :func:`kind` as kind modules are imported
KINDS: dict[str, type["Check"]] = {}


def kind(name: str):
    """Register a class as the check kind ``name`` (what a rule's ``kind:`` names)."""
    def deco(cls):
        cls.kind_name = name
        KINDS[name] = cls
        return cls

    return deco


@dataclass(frozen=True, slots=True)
class FixOffer:
    """What a check offers to fix a finding: a description and the edits
    (:class:`tunelint.diagnostic.Edit`). How safe the fix is is not the check's to say: the
    engine takes the applicability from the rule's YAML ``fix:`` (a rule without one offers
    no fix), so the same kind can back a safe rule and an unsafe one."""

    description: str
    edits: tuple[Edit, ...] = ()


@dataclass(slots=True)
class Finding:
    line: int = 0  # 0 = the current record's / line's own line
    pointer: str = ""
    message: str | None = None  # full message; else the rule template is formatted with ``args``
    args: dict = field(default_factory=dict)
    column: int = 1
    fix: FixOffer | None = None  # the edits; the rule's YAML ``fix:`` gives the applicability
    related: tuple[int, ...] = ()
    record_hash: str | None = None
    path: str | None = None  # another file's path (e.g. an --against file); None = the checked file
    offset: int | None = None  # where the span starts in the string at ``pointer`` (a str index)
    span: str | None = None  # dataset checks: the text the finding is about; the engine finds its
    #                          first whole-word occurrence in the string at ``pointer`` for the column


class FileContext:
    """Per-file facts shared by checks: path, detected format, configuration, and the state
    several rules of the file share (:meth:`shared`)."""

    def __init__(self, path: str, fmt: str, config: Any, mode: str = "jsonl", rules=None):
        self.path = path
        self.format = fmt
        self.config = config
        self.mode = mode  # "jsonl" | "json"
        self.records_seen = 0
        #: the rules active for this file (None when a context is made by hand, as in tests)
        self.rules = rules
        self._shared: dict = {}

    @property
    def pool(self):
        """Where dataset checks get their per-record columns (``ctx.pool.column(typecode)``):
        they spill to disk past the run's memory budget (:mod:`tunelint.spill`)."""
        from ..spill import pool

        return pool()

    @property
    def target(self):
        return self.config.target

    def active_kinds(self, default: Iterable[str] = ()) -> set[str]:
        """Kind names of the rules active for this file (``default`` when not known)."""
        if self.rules is None:
            return set(default)
        return {r.kind for r in self.rules}

    def shared(self, key, factory: Callable[[], T]) -> T:
        """The state stored under ``key`` for this file, made by ``factory()`` on first use.
        Rules that feed one analysis ask for it with the same key; the first one creates it
        (and usually becomes its owner, the one rule that fills it)."""
        try:
            return self._shared[key]
        except KeyError:
            v = self._shared[key] = factory()
            return v


# -- typed parameters ------------------------------------------------------------------------
#: the turn kinds a ``turns`` parameter may name (formats.Turn.kind)
TURN_KINDS = ("system", "prompt", "input", "answer", "tool")
_ANY = object()


class ParamError(ValueError):
    """A rule parameter of the wrong type or out of range (the config loader adds where)."""


@dataclass(frozen=True)
class Param:
    """One typed parameter of a kind: its default, type (inferred from the default when not
    given: bool, int, float (int accepted), str, list, dict; a None default accepts anything
    unless ``type`` says), an inclusive range, allowed values, the type of a list's items, and
    a line of documentation (``tunelint explain`` shows it). A kind declares them in
    ``defaults`` (a plain value there is ``Param(value)``); the rule loader validates a
    rule's parameters once, when the pack or the config loads."""

    default: Any = None
    type: Any = _ANY  # a type, a tuple of types, or _ANY (inferred from the default)
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    items: Any = None  # a list's item type
    doc: str = ""
    optional: bool = False  # None is accepted as well (a None default implies it)

    @cached_property
    def _kind(self) -> Any:
        return self.kind_of()

    def kind_of(self) -> Any:
        if self.type is not _ANY:
            return self.type
        d = self.default
        if d is None:
            return None
        if isinstance(d, bool):
            return bool
        if isinstance(d, float):
            return float
        return type(d) if isinstance(d, (int, str, list, dict)) else None

    def describe(self) -> str:
        """``number from 0 to 1``, ``integer >= 1``, ``list of strings`` ... (for messages)."""
        t = self.kind_of()
        names = {bool: "true or false", int: "integer", float: "number", str: "string", list: "list", dict: "table"}
        if isinstance(t, tuple):
            out = " or ".join(names.get(x, x.__name__) for x in t)
        else:
            out = names.get(t, "any value") if t is not None else "any value"
        if self.choices is not None and t is not list:
            out = "one of " + ", ".join(map(repr, self.choices))
            if isinstance(t, tuple) and list in t:
                out += " (or a list of them)"
        if t is list:
            if self.choices is not None:
                out = "list of " + ", ".join(map(repr, self.choices))
            elif self.items is not None:
                out = "list of " + self.describe_items()
        elif t is dict and self.items is not None:
            out = "table of strings to " + self.describe_items()
        if self.min is not None and self.max is not None:
            out += f" from {self.min} to {self.max}"
        elif self.min is not None:
            out += f" >= {self.min}"
        elif self.max is not None:
            out += f" <= {self.max}"
        if self.optional or (self.default is None and t is not None):
            out += " (or none)"
        return out

    def describe_items(self) -> str:
        return {bool: "true or false", int: "integers", float: "numbers", str: "strings"}.get(self.items, "values")

    def check(self, name: str, v: Any) -> None:
        """Raise :class:`ParamError` unless ``v`` fits."""
        t = self._kind
        if t is type(v) and t in (bool, str, dict) and self.choices is None and self.items is None:
            return  # the common case: a plain value of the declared type
        if v is None and (self.optional or self.default is None):
            return
        if t is None:
            return
        if not _is(v, t):
            raise ParamError(f"parameter {name!r} must be a {self.describe()}, got {_show(v)}")
        if isinstance(v, dict) and self.items is not None:
            for k, x in v.items():
                if not isinstance(k, str) or not _is(x, self.items):
                    raise ParamError(f"parameter {name!r} must map strings to {self.describe_items()}, got {_show(k)}: {_show(x)}")
            return
        if isinstance(v, list):
            for x in v:
                if self.items is not None and not _is(x, self.items):
                    raise ParamError(f"parameter {name!r} must be a {self.describe()}, got the item {_show(x)}")
                self._choose(name, x)
            return
        if v != "" or self.default != "":  # "" where the default is "": not set
            self._choose(name, v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if (self.min is not None and v < self.min) or (self.max is not None and v > self.max) or v != v:
                raise ParamError(f"parameter {name!r} must be a {self.describe()}, got {_show(v)}")


    def _choose(self, name: str, v) -> None:
        if self.choices is not None and v not in self.choices:
            raise ParamError(f"parameter {name!r}: unknown value {_show(v)}{did_you_mean(v, self.choices)}; "
                             f"allowed: {', '.join(map(str, self.choices))}")


def _is(v, t) -> bool:
    ts = t if isinstance(t, tuple) else (t,)
    for x in ts:
        if x is float and isinstance(v, (int, float)) and not isinstance(v, bool):
            return True
        if x is int and isinstance(v, int) and not isinstance(v, bool):
            return True
        if x not in (int, float) and isinstance(v, x):
            return True
    return False


def _show(v) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def share(default: float, doc: str = "") -> Param:
    """A fraction from 0 to 1."""
    return Param(default, float, 0, 1, doc=doc)


def count(default: int | None, min: int = 0, doc: str = "") -> Param:
    """A whole number >= ``min`` (a None default: optional)."""
    return Param(default, int, min, doc=doc)


def number(default: float, min: float | None = 0, max: float | None = None, doc: str = "") -> Param:
    """A number (int or float) in a range."""
    return Param(default, float, min, max, doc=doc)


def strings(default: list | None = None, choices: tuple | None = None, doc: str = "") -> Param:
    """A list of strings."""
    return Param([] if default is None else default, list, choices=choices, items=str, doc=doc)


#: the parameters every kind accepts
COMMON_PARAMS = {"turns": Param([], list, choices=TURN_KINDS, doc="turn kinds to check (default: all)")}


def _spec(value) -> Param:
    return value if isinstance(value, Param) else Param(value)


#: hook name -> the view that declares it
_HOOKS = {
    "check_line": "LineCheck",
    "check_unparsed": "UnparsedCheck",
    "check_file_problem": "FileProblemCheck",
    "check_record": "RecordCheck",
    "check_problems": "ProblemCheck",
    "check_text": "TurnCheck",
    "check_late": "LateRecordCheck",
    "observe": "DatasetCheck",
    "merge": "DatasetCheck",
    "finish": "DatasetCheck",
    "export_keys": "DatasetCheck",
    "adopt_groups": "DatasetCheck",
}


class Check:
    """The root of every kind: the rule, its parameters, ``begin``. Subclass the views below."""

    kind_name = ""
    scope = "record"  # "dataset" for DatasetCheck (kept for old callers)
    #: parameters this kind accepts and their defaults; unknown parameters are config errors
    defaults: dict[str, Any] = {}
    #: modules a large input will make this check import (its batch path): with --jobs they
    #: are imported once before the workers fork, not again in every worker
    warm_imports: tuple[str, ...] = ()
    #: True when a finding of this rule means the file cannot be read as a dataset: the fixer
    #: then leaves the file as it is (it would lose the records it cannot read)
    halts_fix = False

    #: name -> :class:`Param`, made from ``defaults`` (whose values become plain defaults)
    params: dict[str, Param] = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "defaults" in vars(cls):
            inherited = {**COMMON_PARAMS, **cls.params}
            specs = {}
            for k, v in cls.defaults.items():
                if isinstance(v, Param):
                    specs[k] = v
                elif k in inherited:  # a parent's (or the common) spec with this kind's default
                    specs[k] = replace(inherited[k], default=v)
                else:
                    specs[k] = Param(v)
            cls.params = specs
            cls.defaults = {k: p.default for k, p in specs.items()}
        views = {k.__name__ for k in cls.__mro__}
        for hook, view in _HOOKS.items():
            if hook in vars(cls) and view not in views:
                raise TypeError(f"{cls.__module__}.{cls.__name__} defines {hook}() but does not "
                                f"subclass {view} (tunelint.checks.base): the engine calls only declared hooks")

    @classmethod
    def param_spec(cls, name: str) -> Param | None:
        return cls.params.get(name) or COMMON_PARAMS.get(name)

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> None:
        """Raise :class:`ParamError` for the first parameter of the wrong type or out of range
        (unknown names are the loader's to report)."""
        for k, v in params.items():
            spec = cls.param_spec(k)
            if spec is not None:
                spec.check(k, v)

    def __init__(self, rule: "Rule", params: dict[str, Any]):
        self.rule = rule
        self.p = params

    # Which turn kinds to look at (system, prompt, input, answer, tool); None = all.
    def turn_kinds(self) -> frozenset[str] | None:
        k = self.p.get("turns")
        return frozenset(k) if k else None

    def begin(self, ctx: FileContext) -> None:
        """Called once per file before the first line/record."""

    def normalizer_options(self) -> dict[str, Any]:
        """Options this rule needs from the normalizer (``formats.Normalizer(params)``), merged
        over the file's enabled rules; e.g. ``chat-require-alternation`` for the schema kind."""
        return {}


class LineCheck(Check):
    """Sees every physical line before parsing (``phys.data`` without its ending)."""

    def check_line(self, phys: "PhysLine", ctx: FileContext) -> Iterable[Finding]:
        return ()


class UnparsedCheck(Check):
    """Sees every record candidate that is not valid JSON (``err``: orjson's error); also a line
    that parses only after replacing invalid UTF-8."""

    def check_unparsed(self, chunk: "Chunk", data: bytes, err, ctx: FileContext | None) -> Iterable[Finding]:
        return ()


class FileProblemCheck(Check):
    """Sees the problems that keep a whole file from being read as a dataset (``reader.FileProblem``).
    ``ctx`` is None when the problem comes before the first line."""

    def check_file_problem(self, problem: "FileProblem", ctx: FileContext | None) -> Iterable[Finding]:
        return ()


class RecordCheck(Check):
    """Sees every parsed, normalized record of the formats its rule applies to."""

    def check_record(self, rec: "Record", ctx: FileContext) -> Iterable[Finding]:
        return ()


class ProblemCheck(Check):
    """Sees only the records in which the normalizer found structural problems (``rec.problems``)."""

    def check_problems(self, rec: "Record", ctx: FileContext) -> Iterable[Finding]:
        return ()


class TurnCheck(Check):
    """Tests each text turn of a record (of the turn kinds ``turns`` names, default all).

    ``gate``: None, or a cheap callable (ideally C-level, like a compiled pattern's
    ``search``) that is falsy for every text on which ``check_text`` would find nothing. The
    engine calls ``check_text`` only when the gate passes: most turns are clean, and a gate
    costs a fraction of starting a generator. The engine walks each record's turns once for
    all turn checks. A gate with a true ``non_ascii`` attribute is falsy on every ASCII text
    (it looks for non-ASCII characters): the engine tests ``str.isascii()`` once per turn and
    leaves such checks out of the ASCII turns' plan.
    """

    gate: Callable[[str], Any] | None = None

    def check_text(self, turn: "Turn", rec: "Record") -> Iterable[Finding]:
        return ()


class LateRecordCheck(Check):
    """Sees every record after every other check has seen it (for what those checks left behind,
    such as a user pattern that ran out of its time budget: ``tunelint.patterns``)."""

    def check_late(self, rec: "Record", ctx: FileContext) -> Iterable[Finding]:
        return ()


class DatasetCheck(Check):
    """Keeps compact, mergeable state over the records (``observe``) and reports in ``finish``.

    ``merge(other)`` folds the state of ``other`` (the same rule on a later part of the same
    file) into this one; ``settle()`` finishes deferred work (a half-full batch) as soon as a
    part is read (``--jobs`` calls it in each worker so it overlaps the others' reading).
    """

    scope = "dataset"
    #: False for a kind that never looks at records (e.g. one that counts lines): not observed
    observes = True
    #: False for a kind that cannot merge the state of two parts: its files are checked in one pass
    mergeable = True
    #: rules sharing one state: True for those whose state another rule fills (set in
    #: ``begin``); the engine does not call their ``observe``
    passive = False
    #: with --jobs, checks of one named group are finished together in a forked child
    #: (``parallel._finish``) while the parent finishes the others
    finish_apart: str | None = None

    def observe(self, rec: "Record", ctx: FileContext) -> None:
        pass

    def settle(self) -> None:
        """Finish the record pass's deferred work now (see the class doc)."""

    def merge(self, other: "DatasetCheck") -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support --jobs")

    def finish(self, ctx: FileContext) -> Iterable[Finding]:
        return ()

    def export_keys(self) -> list:
        """Per-record keys this check lets another process group (``--engine ray``'s shuffle)
        instead of merging them: a list of ``tunelint.keygroups.KeyTable`` (name, mode, keys,
        each record's line/row, payload), called once per part after ``settle``. The check
        then drops those keys from its state, and before ``finish`` the check the parts were
        merged into receives each table's groups over the whole file (:meth:`adopt_groups`).
        Default: nothing exported (all state is merged)."""
        return []

    def adopt_groups(self, name: str, result) -> None:
        """The groups of the exported table ``name`` over every part of the file
        (``keygroups.combine``'s result for its mode), to use in ``finish`` in place of the
        keys it dropped."""
        raise NotImplementedError(f"{type(self).__name__} exports no keys")


VIEWS = (LineCheck, UnparsedCheck, FileProblemCheck, RecordCheck, ProblemCheck, TurnCheck, LateRecordCheck, DatasetCheck)
