"""The Python API (``tunelint.check``, ``tunelint.check_record``, ``tunelint.fix``).

``tunelint check`` itself runs :func:`check`. What can be checked:

- a path (file or directory: JSONL, JSON, ``.gz``, Parquet, Arrow, CSV/TSV) or a list of them;
- an iterable of dicts (records; the 1-based position is the ``row``);
- a pandas ``DataFrame``, a pyarrow ``Table``, a Hugging Face ``datasets.Dataset`` or
  ``IterableDataset`` (duck-typed: tunelint never imports ``datasets``), read by batch.

>>> import tunelint
>>> result = tunelint.check([{"messages": [{"role": "user", "content": "Hi"}]}])
>>> [d.code for d in result.diagnostics]
['F007']

``config`` is None (the closest ``tunelint.toml``/``pyproject.toml``, as the CLI finds it),
a ``[tool.tunelint]`` table as a dict, a path to a config file, or a
:class:`tunelint.config.Config`.

Everything goes through :func:`_engine_check` and :class:`_RecordChecker`, the only two
places that talk to the engine.
"""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

import orjson

from .config import Config
from .diagnostic import Diagnostic
from .engine import FileStats, Result

PathLike = Union[str, "os.PathLike[str]"]
ConfigLike = Union[None, Config, Mapping[str, Any], PathLike]

__all__ = ["CheckResult", "FixResult", "check", "check_record", "fix", "load_config"]


@dataclass
class CheckResult(Result):
    """What :func:`check` found: ``diagnostics`` (sorted by file, line or row) and ``files``
    (per-file statistics), with the JSON and SARIF renderings the CLI prints."""

    @property
    def summary(self) -> dict[str, Any]:
        """Counts: files, records, errors, warnings, info, fixable, by_code, formats."""
        from .render import summary

        return summary(self)

    @property
    def ok(self) -> bool:
        """No error-severity finding (the CLI's exit status 0 without ``--strict``)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    def render(self, fmt: str = "text", config: Config | None = None) -> str:
        """The report as ``tunelint check --output-format FMT`` prints it."""
        from .render import get

        out = io.StringIO()
        get(fmt)(self, config or load_config(None), out, {"statistics": False, "quiet": False, "color": False})
        return out.getvalue()

    def to_json(self) -> str:
        """The stable JSON document of ``--output-format json``."""
        return self.render("json")

    def to_sarif(self) -> str:
        """A SARIF 2.1.0 log (``--output-format sarif``)."""
        return self.render("sarif")


@dataclass
class FixResult:
    """What :func:`fix` did. ``records``: the kept (fixed) records in order, or None when they
    were written to ``output``; ``rejects``: one dict per dropped record (``row`` or ``line``,
    ``codes``, ``reason``, ``text``); ``changes``: one dict per edit (``row``/``line``, ``code``,
    ``op``, ``pointer``, ``before``, ``after``); ``remaining``: findings fix did not repair."""

    records: list[Any] | None
    rejects: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    remaining: list[Diagnostic]
    input_records: int
    output_records: int
    summary: str
    output: str | None = None
    skipped: str | None = None
    _extra: dict = field(default_factory=dict, repr=False)


def load_config(config: ConfigLike, start: str = ".") -> Config:
    """A :class:`Config` from what :func:`check` accepts as ``config``."""
    from .config import load_config as _load

    if isinstance(config, Config):
        return config
    if config is None:
        return _load(None, start)
    if isinstance(config, Mapping):
        return _load(data=dict(config))
    return _load(os.fspath(config), start)


def _is_paths(data: Any) -> bool:
    if isinstance(data, (str, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and all(isinstance(x, (str, os.PathLike)) for x in data)


def _paths(data: Any) -> list[str]:
    return [os.fspath(data)] if isinstance(data, (str, os.PathLike)) else [os.fspath(p) for p in data]


def _name_of(data: Any, name: str | None) -> str:
    if name:
        return name
    kind = type(data).__name__
    return f"<{kind}>" if kind in ("DataFrame", "Dataset", "IterableDataset", "Table") else "<records>"


def _engine_check(data: Any, cfg: Config, jobs: int, name: str | None, progress=None, sinks=(),
                  engine: str = "local", address: str | None = None) -> CheckResult:
    """The one adapter between the API and the engine (``engine.lint`` and ``FileRun``)."""
    from .spill import budget

    with budget(cfg.memory, jobs):  # dataset state past Config.memory spills to a temporary directory
        return _engine_run(data, cfg, jobs, name, progress, sinks, engine, address)


def _engine_run(data: Any, cfg: Config, jobs: int, name: str | None, progress, sinks, engine: str,
                address: str | None) -> CheckResult:
    from .engine import FileRun, lint

    if _is_paths(data):
        res = lint(_paths(data), cfg, jobs=jobs, sinks=sinks, progress=progress, engine=engine, address=address)
        return CheckResult(res.diagnostics, res.files)
    from .reader import RecordsSource
    from .tables import iter_rows

    label = _name_of(data, name)
    run = FileRun(label, cfg, display_path=label, source=RecordsSource(iter_rows(data), label))
    for s in sinks:
        s.start_file(run)
    diags: list[Diagnostic] = []
    for ev in run.events():
        diags.extend(ev.diagnostics)
        if ev.record is not None:
            for s in sinks:
                s.record(ev.record, run)
    diags.extend(run.finish())
    for s in sinks:
        s.end()
    diags.sort(key=Diagnostic.sort_key)
    return CheckResult(diags, [run.stats])


def check(data: Any, config: ConfigLike = None, *, jobs: int = 1, name: str | None = None,
          progress: Any = None, sinks: Sequence[Any] = (), engine: str = "local",
          address: str | None = None, memory: int | str | None = ...) -> CheckResult:
    """Check a dataset (a path, paths, records, a DataFrame, a ``datasets`` Dataset).

    ``jobs`` > 1 splits large JSONL files over processes (same findings); ``name`` labels
    in-memory data in diagnostics (default ``<records>``, ``<DataFrame>``, ``<Dataset>``).
    ``sinks`` (:class:`tunelint.engine.Sink`) see every record of the pass; ``engine="ray"``
    checks paths on Ray (``address`` joins a cluster), with the same findings. ``memory`` bounds
    the dataset rules' state (bytes or a size such as ``"512MB"``; None: no bound; default: the
    config's ``memory``, 1 GB): past it, it spills to a temporary directory (same findings)."""
    if isinstance(config, Config):
        cfg = config
    else:
        start = _paths(data)[0] if _is_paths(data) else "."
        cfg = load_config(config, start if start != "-" else ".")
    if memory is not ...:
        from .config import parse_memory

        cfg = replace(cfg, memory=parse_memory(memory, "memory", "tunelint.check()"))
    return _engine_check(data, cfg, jobs, name, progress, sinks, engine, address)


class _RecordChecker:
    """Record-level rules over one record at a time (no dataset state)."""

    def __init__(self, cfg: Config, fmt: str | None):
        from .engine import FileRun
        from .reader import RecordsSource

        rules = [r for r in cfg.enabled if _scope(r) != "dataset"]
        rcfg = replace(cfg, enabled=rules, per_file_ignores={})
        self.run = FileRun("<record>", rcfg, display_path="<record>", source=RecordsSource((), "<record>"))
        self.run.checks = [c for c in self.run.checks if c.scope != "dataset"]
        self.run.start(fmt or "unknown", "records", observe=False)  # nothing accumulates between records

    def check(self, obj: Any, fmt: str | None) -> list[Diagnostic]:
        from .formats import Record, detect
        from .reader import Chunk
        from .tables import row_json

        data = row_json(obj)
        rec_obj = orjson.loads(data)
        rec = Record("<record>", 1, 1, 0, rec_obj, data, detected=fmt or detect(rec_obj))
        ev = self.run.process(Chunk(1, 1, data, None), rec, [], fmt or rec.detected)
        return sorted(ev.diagnostics, key=Diagnostic.sort_key)


def _scope(rule) -> str:
    from .checks.registry import kind_class

    cls = kind_class(rule.kind)
    return getattr(cls, "scope", "record")


_CHECKERS: dict[tuple[Any, str | None], tuple[Any, _RecordChecker]] = {}


def check_record(obj: Mapping[str, Any], format: str | None = None, config: ConfigLike = None) -> list[Diagnostic]:
    """Record-level findings for one record, for use inside ``Dataset.map``/``filter``:
    ``ds.filter(lambda r: not tunelint.check_record(r))``. ``format`` forces the record format
    (chat, alpaca, ...); default: detected. The rules are built once per config and format and
    reused.

    Skipped, because they need the file rather than one parsed record:

    - raw-line checks: E002 byte-order mark, E003 CRLF line endings, E004 blank lines;
    - checks of unparsed bytes: E001 invalid UTF-8, F001 invalid JSON (``obj`` is parsed already);
    - file checks: F017 empty file, F018 Git LFS pointer, F019 binary/unreadable, F021 JSON array, F029 record too large;
    - every dataset rule (state across records): duplicates and near-duplicates (D001-D007),
      F016 mixed formats, the P001-P005 delimiter conventions, L002 minimum examples, style drift
      (S001-S007), term consistency (T001, T003, T004), leakage against other files.

    ``obj`` is re-serialized (null values dropped, as for a table row), so the original
    bytes' escapes and whitespace are not seen either. Run :func:`check` on the file for those."""
    key = (id(config) if isinstance(config, Config) else repr(config), format)
    hit = _CHECKERS.get(key)
    if hit is None:
        cfg = config if isinstance(config, Config) else load_config(config)
        hit = _CHECKERS[key] = (config, _RecordChecker(cfg, format))  # holds ``config``: its id stays its own
    return hit[1].check(obj, format)


def fix(data: Any, config: ConfigLike = None, *, unsafe: bool = False, to: str | None = None,
        output: PathLike | None = None, name: str | None = None, memory: int | str | None = ...) -> FixResult:
    """Apply fixes (safe ones; ``unsafe=True`` for all) to a dataset, losing nothing:
    ``input_records == output_records + len(rejects)``.

    ``data`` is what :func:`check` takes. Nothing given is modified. Without ``output`` the
    kept records come back in ``records`` (in memory); with it they are written there
    (atomically; a table keeps its container and schema) and ``records`` is None. ``memory``:
    as for :func:`check`."""
    from .fixes import FixError, Fixer, FixPolicy

    with tempfile.TemporaryDirectory(prefix="tunelint-fix-") as tmp:
        if _is_paths(data):
            paths = _paths(data)
            if len(paths) != 1 or os.path.isdir(paths[0]):
                raise ValueError("fix() takes one file (or in-memory records)")
            src, label, unit = paths[0], name or paths[0], None
        else:
            from .tables import iter_rows, row_json

            src = os.path.join(tmp, "records.jsonl")
            with open(src, "wb") as f:
                for row in iter_rows(data):
                    f.write(row_json(row) + b"\n")
            label, unit = _name_of(data, name), "row"
        cfg = config if isinstance(config, Config) else load_config(config, src)
        if memory is not ...:  # as for check()
            from .config import parse_memory

            cfg = replace(cfg, memory=parse_memory(memory, "memory", "tunelint.fix()"))
        ext = os.path.basename(src)
        out = os.fspath(output) if output is not None else os.path.join(tmp, "out-" + ext)
        rejects = os.path.join(tmp, "rejects.jsonl")
        changes = os.path.join(tmp, "changes.jsonl")
        container = None
        if output is not None:
            from .tables import table_mode

            low = out.lower()
            container = "jsonl" if low.endswith((".jsonl", ".jsonl.gz", ".ndjson")) else table_mode(out)
        with open(changes, "wb") as ch:
            try:
                r = Fixer(cfg, FixPolicy.from_config(cfg, unsafe), to=to).fix_file(
                    src, out, rejects=rejects, changes=ch, container=container, display=label)
            except FixError as e:
                raise ValueError(f"{label}: {e}") from None
        rej = _read_jsonl(rejects)
        chg = _read_jsonl(changes)
        remaining = r.remaining
        if unit == "row":  # in-memory records: positions are rows, not lines of the temporary file
            rej = [_as_row(e) for e in rej]
            chg = [_as_row(e) for e in chg]
            remaining = [replace(d, unit="row") for d in remaining]
        if output is None:
            r.rejects_path = None  # a temporary file, gone on return: the rejects are in the result
        records = None
        if output is None and not r.skipped:
            records = _read_records(out)
        return FixResult(records, rej, chg, remaining, r.input_records, r.output_records, r.summary(),
                         os.fspath(output) if output is not None else None, r.skipped)


def _as_row(entry: dict) -> dict:
    from .diagnostic import row_wording

    return {("row" if k == "line" else k): (row_wording(v) if k == "reason" else v)
            for k, v in entry.items()}


def _read_jsonl(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [orjson.loads(ln) for ln in f if ln.strip()]


def _read_records(path: str) -> list[Any]:
    from .reader import BOM, Chunk, Source

    out = []
    for item in Source(path):
        if isinstance(item, Chunk) and item.data.strip():
            data = item.data[3:] if item.data.startswith(BOM) else item.data
            try:
                out.append(orjson.loads(data))
            except orjson.JSONDecodeError:  # a broken record fix kept as it was
                out.append(data.decode("utf-8", "replace"))
    return out


def records_of(data: Iterable[Any]) -> Iterable[Any]:
    """The records :func:`check` reads from in-memory ``data`` (rows of a DataFrame, Dataset...)."""
    from .tables import iter_rows

    return iter_rows(data)
