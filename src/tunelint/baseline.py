"""Baselines: adopt tunelint on an existing dataset by recording today's findings.

``tunelint check --write-baseline FILE`` records every current finding; ``--baseline FILE``
then reports only findings that are not in it. A finding is keyed by its rule code, the
record's content hash (so moving or re-ordering records does not make old findings "new") and
the JSON pointer; findings without a record (file-level ones) are keyed by path and message.
Keys carry counts, so two identical findings stay two: fixing one of three duplicates and
adding a new one still reports the new one.

The file is JSON with a stable order (sorted, one entry per line) so it diffs well in review.
The same key feeds SARIF ``partialFingerprints`` and GitLab fingerprints (:func:`fingerprint`).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter

from .config import ConfigError

FORMAT_VERSION = 1


class BaselineError(ConfigError):
    """The baseline file is missing, unreadable or not a tunelint baseline (exit code 2)."""


def with_record_hashes(diagnostics) -> list:
    """The diagnostics, with ``record_hash`` filled in where a check reported on a record
    without it (dataset-level findings from ``finish()``): the record at the finding's line is
    read back from the file and hashed exactly as the engine does. Without this, such findings
    would be keyed by their message, which often names line numbers and counts."""
    from dataclasses import replace

    diagnostics = list(diagnostics)
    need: dict[str, set[int]] = {}
    for d in diagnostics:
        if d.record_hash is None and d.line >= 1 and d.path not in ("<stdin>", "-"):
            need.setdefault(d.path, set()).add(d.line)
    if not need:
        return diagnostics
    found = {p: _hashes_at(p, frozenset(lines)) for p, lines in need.items()}
    out = []
    for d in diagnostics:
        h = found.get(d.path, {}).get(d.line) if d.record_hash is None else None
        out.append(replace(d, record_hash=h) if h else d)
    return out


_HASH_CACHE: dict[tuple, dict[int, str]] = {}


def _hashes_at(path: str, lines: frozenset[int]) -> dict[int, str]:
    """``{line: record content hash}`` for the records starting at ``lines`` in ``path`` (lines
    holding more than one record, or no parsable record, are left out)."""
    import orjson

    from .formats import Record
    from .reader import BOM, Chunk, Source

    try:
        st = os.stat(path)
    except OSError:
        return {}
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size, lines)
    if key in _HASH_CACHE:
        return _HASH_CACHE[key]
    out: dict[int, str] = {}
    ambiguous: set[int] = set()
    last = max(lines)
    try:
        for item in Source(path):
            if not isinstance(item, Chunk):
                continue
            if item.line > last:
                break
            if item.line not in lines:
                continue
            if item.line in out:
                ambiguous.add(item.line)
                continue
            data = item.data[3:] if item.line == 1 and item.data.startswith(BOM) else item.data
            if not data.strip():
                continue
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                try:
                    obj = orjson.loads(data.decode("utf-8", errors="replace"))
                except orjson.JSONDecodeError:
                    continue
            out[item.line] = Record(path, item.line, item.column, 0, obj, data).hash
    except (OSError, EOFError, ValueError):
        return {}
    for ln in ambiguous:
        out.pop(ln, None)
    if len(_HASH_CACHE) > 64:
        _HASH_CACHE.clear()
    _HASH_CACHE[key] = out
    return out


def finding_key(d) -> tuple[str, str, str]:
    """``(code, subject, pointer)``: subject is ``record:<hash>`` or ``file:<path>:<message>``."""
    if d.record_hash:
        subject = f"record:{d.record_hash}"
    else:
        subject = f"file:{_norm_path(d.path)}:{d.message}"
    return (d.code, subject, d.pointer)


def fingerprint(d, occurrence: int = 0) -> str:
    """A stable hex fingerprint of a finding (independent of its line number).

    ``occurrence`` tells apart identical findings (the n-th time the same key appears in a run).
    """
    code, subject, ptr = finding_key(d)
    h = hashlib.sha256(f"{code}\0{subject}\0{ptr}\0{occurrence}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def fingerprints(diagnostics) -> list[str]:
    """Fingerprints for a list of diagnostics, numbering repeated keys in order."""
    seen: Counter = Counter()
    out = []
    for d in with_record_hashes(diagnostics):
        k = finding_key(d)
        out.append(fingerprint(d, seen[k]))
        seen[k] += 1
    return out


def _norm_path(p: str) -> str:
    return p.replace(os.sep, "/") if os.sep != "/" else p


def write_baseline(path: str, result) -> int:
    """Write every finding of ``result`` to ``path`` (atomically); return how many."""
    from .fsutil import atomic_write_text

    counts: Counter = Counter(finding_key(d) for d in with_record_hashes(result.diagnostics))
    names = {d.code: d.name for d in result.diagnostics}
    entries = [
        {"code": code, "name": names.get(code, ""), "subject": subject, "pointer": ptr, "count": n}
        for (code, subject, ptr), n in sorted(counts.items())
    ]
    lines = ",\n".join("    " + json.dumps(e, ensure_ascii=False, sort_keys=True) for e in entries)
    text = (
        "{\n"
        f'  "tool": "tunelint",\n  "version": {FORMAT_VERSION},\n'
        f'  "total": {sum(counts.values())},\n'
        '  "findings": [' + (f"\n{lines}\n  " if entries else "") + "]\n}\n"
    )
    try:
        with atomic_write_text(path) as f:
            f.write(text)
    except OSError as e:
        raise BaselineError(f"cannot write baseline {path}: {e.strerror or e}") from None
    return sum(counts.values())


def read_baseline(path: str) -> Counter:
    """The baseline's key counts; :class:`BaselineError` with a one-line reason if unusable."""
    hint = "create it with `tunelint check --write-baseline " + path + " ...`"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise BaselineError(f"baseline file {path} does not exist; {hint}") from None
    except OSError as e:
        raise BaselineError(f"cannot read baseline {path}: {e.strerror or e}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        where = f" (line {e.lineno}, column {e.colno})" if hasattr(e, "lineno") else ""
        raise BaselineError(f"baseline file {path} is not valid JSON{where}; {hint}") from None
    if not isinstance(doc, dict) or doc.get("tool") != "tunelint" or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path} is not a tunelint baseline (expected an object with \"tool\": \"tunelint\" and \"findings\"); {hint}")
    if doc.get("version") != FORMAT_VERSION:
        raise BaselineError(f"baseline {path} has version {doc.get('version')!r}, this tunelint reads version {FORMAT_VERSION}; {hint}")
    counts: Counter = Counter()
    for i, e in enumerate(doc["findings"]):
        try:
            key = (str(e["code"]), str(e["subject"]), str(e.get("pointer", "")))
            n = int(e.get("count", 1))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BaselineError(f"baseline {path}: finding #{i + 1} is malformed (needs code, subject, pointer, count); {hint}") from None
        counts[key] += max(n, 0)
    return counts


def apply_baseline(path: str, result):
    """A copy of ``result`` without the findings recorded in the baseline at ``path``.

    The returned result has ``baseline_matched`` (how many findings the baseline hid) and
    ``baseline_unused`` (recorded findings that no longer occur: fixed; regenerate the baseline
    so they cannot come back unnoticed).
    """
    from .engine import Result

    budget = read_baseline(path)
    kept = []
    matched = 0
    for d, filled in zip(result.diagnostics, with_record_hashes(result.diagnostics)):
        k = finding_key(filled)
        if budget[k] > 0:
            budget[k] -= 1
            matched += 1
        else:
            kept.append(d)
    out = Result(kept, result.files)
    out.baseline_matched = matched  # type: ignore[attr-defined]
    out.baseline_unused = sum(budget.values())  # type: ignore[attr-defined]
    return out
