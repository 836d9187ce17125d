"""Per-finding suppression for data files: the data-file equivalent of ``# noqa: CODE``.

Training records cannot carry comments (an extra key breaks uploads), so suppressions live in
a sidecar file next to the data: ``train.jsonl`` -> ``train.jsonl.tunelint-ignore``. Each
line is one JSON entry (``#`` lines are comments)::

    {"code": "F005", "record": "<content hash>", "pointer": "/messages/1/role", "line": 2, "note": "..."}

An entry matches findings by rule code, the record's content hash and the JSON pointer, as
baselines do (:mod:`tunelint.baseline`), so inserting, deleting or reordering other records
does not break it; ``line`` and ``note`` are for the reader only. A file-level finding (no
record) is matched by code and message. An entry that matches nothing is reported as F040
(unused-ignore) at its own line in the sidecar, so stale suppressions are noticed, as ruff's
RUF100 does for ``noqa`` comments.

``tunelint ignore FILE:LINE CODE`` and ``tunelint check --add-ignore`` write entries.
"""
from __future__ import annotations

import json
import os

SUFFIX = ".tunelint-ignore"
UNUSED = "F040"
HEADER = ("# tunelint ignore file: one suppressed finding per line, matched by rule code + record content hash + JSON pointer\n"
          "# (line and note are informational). Add entries with `tunelint ignore FILE:LINE CODE` or `tunelint check --add-ignore`.\n")


class IgnoreFileError(ValueError):
    """A malformed ignore file (exit code 2, one line naming the file and line)."""


def ignore_path(data_path: str) -> str | None:
    if data_path in ("-", "<stdin>"):
        return None
    return data_path + SUFFIX


def entry_key(code: str, record: str | None, pointer: str, message: str = "") -> tuple:
    return (code, record, pointer, "" if record else message)


def read_entries(path: str) -> list[tuple[int, dict]]:
    """``[(line, entry)]``; :class:`IgnoreFileError` on a malformed line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            try:
                e = json.loads(s)
            except ValueError as err:
                raise IgnoreFileError(f"{path}:{n}: not a JSON entry ({err}); expected "
                                      '{"code": ..., "record": ..., "pointer": ...}') from None
            if not isinstance(e, dict) or not isinstance(e.get("code"), str):
                raise IgnoreFileError(f"{path}:{n}: an entry needs at least \"code\" (and \"record\", \"pointer\")")
            out.append((n, e))
    return out


def _key_of(e: dict) -> tuple:
    return entry_key(e["code"], e.get("record"), str(e.get("pointer", "")), str(e.get("message", "")))


def _diag_key(d) -> tuple:
    return entry_key(d.code, d.record_hash, d.pointer, d.message)


def filter_file(data_path: str, diags: list, config=None, report_unused: bool = True) -> list:
    """``diags`` of one data file without the findings its ignore file suppresses, plus an
    F040 finding per entry that matched nothing (when F040 is enabled)."""
    from .baseline import with_record_hashes

    side = ignore_path(data_path)
    if side is None or not os.path.isfile(side):
        return diags
    entries = read_entries(side)
    if not entries:
        return diags
    keys = {}
    for n, e in entries:
        keys.setdefault(_key_of(e), n)
    used: set = set()
    kept = []
    for d, filled in zip(diags, with_record_hashes(diags)):
        k = _diag_key(filled)
        if k in keys:
            used.add(k)
        else:
            kept.append(d)
    if report_unused:
        kept += _unused(side, [(n, e) for n, e in entries if _key_of(e) not in used], config)
    return kept


def _unused(side: str, stale: list, config) -> list:
    from .diagnostic import Diagnostic

    rule = config.rule(UNUSED) if config is not None else None
    if not stale or rule is None or rule not in config.enabled:
        return []
    out = []
    for n, e in stale:
        where = f" (added at line {e['line']})" if e.get("line") else ""
        out.append(Diagnostic(
            code=rule.code, name=rule.name, severity=rule.severity, path=side, line=n, column=1, pointer="",
            message=f"ignore entry for {e['code']}{where} matches no finding any more; delete it"))
    return out


def apply_ignores(result, config):
    """A copy of an engine Result with every file's ignore file applied."""
    by_path: dict[str, list] = {}
    for d in result.diagnostics:
        by_path.setdefault(d.path, []).append(d)
    out = []
    changed = False
    for f in result.files:
        ds = by_path.pop(f.path, [])
        kept = filter_file(f.path, ds, config)
        changed = changed or kept is not ds
        out.extend(kept)
    for ds in by_path.values():  # findings of paths that are not checked files (none today)
        out.extend(ds)
    if not changed:
        return result
    return type(result)(out, result.files)


def add_entries(data_path: str, diags: list) -> int:
    """Append entries for ``diags`` (one data file's findings) to its ignore file; return how
    many new entries were written (findings already covered are skipped)."""
    from .baseline import with_record_hashes
    from .fsutil import atomic_write_text

    side = ignore_path(data_path)
    if side is None:
        raise IgnoreFileError("stdin has no ignore file; check a file instead")
    existing = read_entries(side) if os.path.isfile(side) else []
    seen = {_key_of(e) for _, e in existing}
    new = []
    for d in with_record_hashes(diags):
        if d.code == UNUSED:
            continue
        k = _diag_key(d)
        if k in seen:
            continue
        seen.add(k)
        e = {"code": d.code, "record": d.record_hash, "pointer": d.pointer, "line": d.line}
        if not d.record_hash:
            e["message"] = d.message
        e["note"] = d.message[:120]
        new.append(e)
    if not new:
        return 0
    old = ""
    if existing:
        with open(side, encoding="utf-8") as f:
            old = f.read()
        if not old.endswith("\n"):
            old += "\n"
    with atomic_write_text(side) as f:
        f.write(old or HEADER)
        for e in new:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    return len(new)


def add_ignores(result) -> tuple[int, list[str]]:
    """``check --add-ignore``: every finding of ``result`` into its file's ignore file."""
    by_path: dict[str, list] = {}
    for d in result.diagnostics:
        if ignore_path(d.path) is not None and d.code != UNUSED:
            by_path.setdefault(d.path, []).append(d)
    total = 0
    files = []
    for p, ds in by_path.items():
        n = add_entries(p, ds)
        if n:
            total += n
            files.append(ignore_path(p))
    return total, files
