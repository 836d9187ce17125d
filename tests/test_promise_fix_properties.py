"""Property suite for the promise `fix` loses nothing, over generated and mutated records of
every format (tests/strategies.py) in every container (JSONL, CRLF JSONL, .jsonl.gz, JSON array):

* records in = records written + records rejected, and each count matches the files written;
* the input's bytes are left alone;
* with --unsafe-fixes every output line is valid UTF-8 JSON (broken records go to the rejects);
* the output of a fix, fixed again, changes nothing (idempotence).

A fixed seed (``derandomize``) and a small example count keep it inside CI (about 30 s). Before
a release run it longer, e.g.::

    TUNELINT_FUZZ_EXAMPLES=3000 PYTHONPATH=src python -m pytest -q -p no:cacheprovider \\
        tests/test_promise_fix_properties.py

(any failure prints the shrunk input; ``TUNELINT_FUZZ_SEED=N`` switches to random search from seed N;
``TUNELINT_FUZZ_SHRINK=1`` shrinks a failure to a small input (off by default: it can take minutes); ``TUNELINT_FUZZ_LAST=/tmp/last`` keeps a copy
of the input being fixed, for a crash of the interpreter itself).
"""
from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from strategies import dataset_files, write
from tunelint.config import load_config
from tunelint.fixer import FixError, Fixer, FixPolicy

EXAMPLES = int(os.environ.get("TUNELINT_FUZZ_EXAMPLES", "40"))
SEED = os.environ.get("TUNELINT_FUZZ_SEED")
# Failures are reported unshrunk unless TUNELINT_FUZZ_SHRINK=1: shrinking a large failing file
# can take minutes, and CI must stay inside its budget (about 30 s for this suite).
LAST = os.environ.get("TUNELINT_FUZZ_LAST")  # a path: each example's input file is copied there first
PHASES = [p for p in Phase if os.environ.get("TUNELINT_FUZZ_SHRINK") or p not in (Phase.shrink, Phase.explain)]
_CFG = load_config(data={})
FIXERS = {u: Fixer(_CFG, FixPolicy.from_config(_CFG, unsafe=u)) for u in (False, True)}


def fuzz(f):
    f = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                 suppress_health_check=list(HealthCheck), phases=PHASES)(f)
    return seed(int(SEED))(f) if SEED else f


def _records(path: Path) -> int:
    """How many records tunelint's reader finds in a file the fixer wrote."""
    from tunelint.reader import Chunk, Source

    return sum(1 for c in Source(str(path)) if isinstance(c, Chunk) and c.data.strip())


def _fix(fixer, src: Path, out: Path, rej: Path):
    try:
        return fixer.fix_file(str(src), str(out), rejects=str(rej))
    except FixError as e:  # the fixer's own accounting check: a lost record
        raise AssertionError(f"fix failed: {e}") from None


@fuzz
@given(dataset_files(), st.booleans())
def test_promise_fix_loses_nothing_property(case, unsafe):
    container, lines = case
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        src = write(container, d, lines)
        if LAST:  # a crash of the interpreter itself cannot be shrunk: keep the input it died on
            Path(LAST).write_bytes(src.read_bytes())
        before = src.read_bytes()
        out = d / ("out" + src.name[len("data"):])
        rej = d / "rejects.jsonl"
        res = _fix(FIXERS[unsafe], src, out, rej)
        assert src.read_bytes() == before, "fix changed its input"
        if res.skipped:  # a file that cannot be read at all (binary, LFS pointer, corrupt gzip)
            assert not out.exists()
            return
        assert res.input_records == res.output_records + res.rejected
        assert _records(out) == res.output_records
        rejected = [orjson.loads(ln) for ln in rej.read_bytes().splitlines()] if rej.exists() else []
        assert len(rejected) == res.rejected
        if unsafe:
            raw = out.read_bytes()
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            raw.decode("utf-8")  # valid UTF-8
            if not out.name.endswith((".json", ".json.gz")):
                for ln in raw.splitlines():
                    if ln.strip():
                        orjson.loads(ln)
            else:
                orjson.loads(raw)
        # idempotence: fixing the output again changes nothing
        out2 = d / ("again" + src.name[len("data"):])
        res2 = _fix(FIXERS[unsafe], out, out2, d / "rejects2.jsonl")
        assert not res2.changed and res2.rejected == 0 and not res2.edits, (res2.summary(), res.summary())
        assert out2.read_bytes() == out.read_bytes()


def test_promise_fix_deep_record_at_the_writers_limit_is_no_crash(tmp_path):
    """Found by this suite: orjson 3.11.5 corrupts the heap and aborts the interpreter when it
    writes a value nested exactly at its 255-level limit with siblings after it (a ShareGPT
    'from' mutated into deep nesting). tunelint needs orjson >= 3.13."""
    import subprocess
    import sys

    from conftest import run_cli

    v = "gpt"
    for i in range(251):
        v = [v] if i % 2 else {"a": v}
    rec = {"conversations": [{"from": "human", "value": "Hi"}, {"from": v, "value": "x"}, {"from": "gpt", "value": "y"}]}
    src = tmp_path / "deep.jsonl"
    src.write_bytes(orjson.dumps(rec) + b"\n" + orjson.dumps({"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}) + b"\n")
    r = run_cli("check", "--isolated", str(src))
    assert r.returncode in (0, 1), (r.returncode, r.stderr[-500:])
    r = run_cli("fix", "--isolated", "--unsafe-fixes", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert r.returncode in (0, 1), (r.returncode, r.stderr[-500:])
    assert subprocess.run([sys.executable, "-c", "import orjson, sys; v = tuple(map(int, orjson.__version__.split('.')[:2])); sys.exit(v < (3, 13))"]).returncode == 0
