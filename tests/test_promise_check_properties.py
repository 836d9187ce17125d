"""Promise (property-based): any input gets findings or one clear exit-2 line, never an internal
error, and every physical line is accounted for. Generated records of every format, mutated
(missing/misspelt keys, wrong types, nulls, truncation, invalid UTF-8, control characters, deep
nesting, huge numbers, mixed formats), in every container (JSONL, CRLF, gzip, JSON arrays), with
and without a forced ``--format``.

Fixed seed and example count in CI (TUNELINT_FUZZ_EXAMPLES, default 40; TUNELINT_FUZZ_SEED);
``scripts/property_check.py`` runs these suites for longer before a release.
"""
from __future__ import annotations

import gzip
import io
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from strategies import FORMATS, dataset_files, nonempty_text, text, write
from tunelint.config import load_config
from tunelint.engine import lint

EXAMPLES = int(os.environ.get("TUNELINT_FUZZ_EXAMPLES", "40"))
SEED = os.environ.get("TUNELINT_FUZZ_SEED")
PHASES = [p for p in Phase if os.environ.get("TUNELINT_FUZZ_SHRINK") or p not in (Phase.shrink, Phase.explain)]
SEVERITIES = {"error", "warning", "info"}


def _unreadable_codes() -> frozenset:
    from tunelint.reader import UNREADABLE
    from tunelint.rules import builtin_pack

    def problems(r):
        v = (r.params or {}).get("problem")
        return set(v) if isinstance(v, list) else {v}

    return frozenset(r.code for r in builtin_pack().rules if r.kind == "file-problem" and problems(r) & UNREADABLE)


UNREADABLE_CODES = _unreadable_codes()

# shapes of issue 16 (read natively since): the property only needs them to be drawn, not valid
FORMATS.setdefault("kto", st.builds(lambda p, c, lab: {"prompt": p, "completion": c, "label": lab},
                                    nonempty_text(), nonempty_text(), st.booleans()))
FORMATS.setdefault("text", st.builds(lambda t: {"text": t}, nonempty_text()))
FORMATS.setdefault("gemini", st.builds(lambda q, a: {"contents": [{"role": "user", "parts": [{"text": q}]},
                                                                  {"role": "model", "parts": [{"text": a}]}]},
                                       nonempty_text(), nonempty_text()))
FORMATS.setdefault("bedrock", st.builds(lambda s, q, a: {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": s}],
                                                         "messages": [{"role": "user", "content": [{"text": q}]},
                                                                      {"role": "assistant", "content": [{"text": a}]}]},
                                        text(), nonempty_text(), nonempty_text()))
FORMATS.setdefault("stepwise", st.builds(lambda p, cs: {"prompt": p, "completions": cs, "labels": [True] * len(cs)},
                                         nonempty_text(), st.lists(nonempty_text(), min_size=1, max_size=3)))

FORCED = st.sampled_from([None, "chat", "alpaca", "sharegpt", "prompt-completion", "dpo", "preference"])


def fuzz(f):
    f = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                 suppress_health_check=list(HealthCheck), phases=PHASES)(f)
    return seed(int(SEED))(f) if SEED else f


def _content(path: Path) -> bytes | None:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError):
            return None  # a corrupt stream: not comparable
    return raw


def _physical_lines(raw: bytes) -> int:
    return raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)


@fuzz
@given(dataset_files(mutate=0.4), FORCED)
def test_promise_check_gives_findings_and_accounts_for_every_line(case, forced):
    container, lines = case
    with tempfile.TemporaryDirectory() as d:
        src = write(container, Path(d), lines)
        cfg = load_config(data={"format": forced} if forced else {})
        res = lint([str(src)], cfg, jobs=1)  # an internal error fails the test here
        (stats,) = res.files
        raw = _content(src)
        phys = _physical_lines(raw) if raw is not None else -1
        if any(dg.code in UNREADABLE_CODES for dg in res.diagnostics):
            phys = -1  # the file is one finding (binary, LFS pointer, broken gzip): no line is read
        if phys >= 0:
            assert stats.lines == phys, (stats, phys, [(x.code, x.line, x.message) for x in res.diagnostics])
            if stats.mode == "jsonl":  # every line is a record, a blank line or a finding
                blank = sum(1 for ln in raw.split(b"\n")[:phys] if not ln.strip())
                assert stats.records == phys - blank, (stats, phys, blank)
        for dg in res.diagnostics:
            assert dg.severity in SEVERITIES and dg.code and dg.message, dg
            assert 0 <= dg.line <= max(phys, 1), (dg, phys)
            assert dg.path == str(src)


@settings(max_examples=max(EXAMPLES // 4, 5), deadline=None, database=None, derandomize=SEED is None,
          suppress_health_check=list(HealthCheck), phases=PHASES)
@given(dataset_files(mutate=0.5), st.sampled_from(["text", "json", "sarif", "github"]))
def test_promise_cli_exit_code_is_0_or_1_and_machine_output_is_one_document(case, fmt):
    import json

    from tunelint.cli import main

    container, lines = case
    with tempfile.TemporaryDirectory() as d:
        src = write(container, Path(d), lines)
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(["check", str(src), "--isolated", "--no-progress", "--output-format", fmt])
            except SystemExit as e:
                code = e.code or 0
        assert code in (0, 1), (code, err.getvalue())
        assert "internal error" not in err.getvalue()
        if fmt in ("json", "sarif"):
            json.loads(out.getvalue())
