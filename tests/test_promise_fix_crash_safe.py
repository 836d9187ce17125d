"""Crash safety of `fix`: SIGKILL at random moments (fixed seed) on a large file, with -o and
with --in-place. Afterwards the input is intact (or, with --in-place, holds the complete new
file), the output path holds nothing/the old file or the complete new file, and the rejects
file holds the old entries or the old entries plus the complete new ones, never a torn write."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest

N = 6_000  # records (~0.6 MB): large enough that a kill lands mid-run
KILLS = 4


def _big(path):
    rows = []
    for i in range(N):
        k = i % 6
        if k == 0:
            rows.append(f'{{"instruction": "Say\\u200b hi {i} ", "input": "", "output": "Hi {i}!"}}')
        elif k == 1:
            rows.append(f'{{"instruction": "Add {i}", "input": "2 and 2", "output": "4"}}')
            rows.append(rows[-1])  # an exact duplicate (dropped by --unsafe-fixes)
        elif k == 2:
            rows.append(f'{{"instruction": "Broken {i}", "output": "x",}}')  # invalid JSON
        else:
            rows.append(f'{{"instruction":"Untouched {i}",   "input":"",  "output":"kept as is"}}')
    path.write_bytes(("\n".join(rows) + "\n").encode())


def _unstamped(b: bytes) -> bytes:
    """Rejects entries without their run stamp (each run has its own)."""
    return re.sub(rb'"run":"[^"]*"', b'"run":""', b)


def _run(args, cwd, kill_after=None):
    env = dict(os.environ)
    p = subprocess.Popen([sys.executable, "-m", "tunelint", "fix", *args, "--unsafe-fixes", "--isolated", "-q"],
                         cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = p.communicate(timeout=600)
        assert p.returncode in (0, 1), err
        return
    time.sleep(kill_after)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)


@pytest.mark.parametrize("mode", ["output", "in-place"])
def test_promise_fix_survives_sigkill(tmp_path, mode):
    ref = tmp_path / "ref"
    ref.mkdir()
    src = ref / "d.jsonl"
    _big(src)
    original = src.read_bytes()
    old_rejects = b'{"line": 1, "codes": ["F001"], "reason": "an earlier run", "text": "x"}\n'
    (ref / "d.rejects.jsonl").write_bytes(old_rejects)
    target = ["-o", "out.jsonl", "--rejects", "d.rejects.jsonl"] if mode == "output" else ["--in-place"]
    t0 = time.monotonic()
    _run(["d.jsonl", *target], ref)
    took = time.monotonic() - t0
    new_data = (ref / ("out.jsonl" if mode == "output" else "d.jsonl")).read_bytes()
    new_rejects = _unstamped((ref / "d.rejects.jsonl").read_bytes())
    assert new_data != original and new_rejects.startswith(old_rejects) and len(new_rejects) > len(old_rejects)

    rnd = random.Random(14)
    for i in range(KILLS):
        d = tmp_path / f"k{i}"
        d.mkdir()
        (d / "d.jsonl").write_bytes(original)
        (d / "d.rejects.jsonl").write_bytes(old_rejects)
        _run(["d.jsonl", *target], d, kill_after=rnd.uniform(0.05, 1.0) * took)
        data = (d / "d.jsonl").read_bytes()
        rej = _unstamped((d / "d.rejects.jsonl").read_bytes())
        if mode == "output":
            assert data == original, "the input changed"
            out = d / "out.jsonl"
            assert not out.exists() or out.read_bytes() == new_data, "a torn output file"
        else:
            assert data in (original, new_data), "a torn in-place write"
            if data == new_data:
                assert rej == new_rejects, "the data was replaced before the rejects were saved"
        assert rej in (old_rejects, new_rejects), "a torn rejects file"
        leftovers = [p.name for p in d.iterdir() if p.name.startswith(".tunelint-")]
        # a killed run may leave its temporary file; tunelint never reads it as a dataset
        from tunelint.discover import iter_input_paths

        assert not any(".tunelint-" in p for p in iter_input_paths([str(d)])), leftovers
