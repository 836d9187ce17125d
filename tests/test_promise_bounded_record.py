"""Promise: bounded memory on any single record. A record above ``max-record-size`` (a JSONL line,
a JSON-array element, in plain or gzip files, with or without --jobs) is one F029 finding at its
line and is never held in memory; the rest of a JSONL file is still checked; ``fix`` on such a
file exits 2 and replaces nothing."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest

CHAT = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}'
BAD = b'{"messages": [{"role": "usr", "content": "hi"}, {"role": "assistant", "content": "hello"}]}'


def tl(*args, cwd=None):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "tunelint", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env)


def huge(n: int) -> bytes:
    """A record of ``n`` bytes that would cost far more than ``n`` once parsed (small JSON ints)."""
    body = b"1," * ((n - 40) // 2)
    return b'{"messages": [{"role": "user", "content": [' + body + b'1]}]}'


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_promise_record_over_the_size_limit_is_one_finding_and_the_rest_is_checked(tmp_path, gz):
    data = b"\n".join([CHAT, huge(3_000_000), CHAT, BAD]) + b"\n"
    p = tmp_path / ("d.jsonl.gz" if gz else "d.jsonl")
    p.write_bytes(gzip.compress(data) if gz else data)
    (tmp_path / "tunelint.toml").write_text('max-record-size = "1MiB"\n')
    r = tl("check", p, "--no-progress", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert any(":2:" in ln and "F029" in ln and "1,048,576" in ln for ln in lines), r.stdout
    assert any(":4:" in ln and "F005" in ln for ln in lines), r.stdout  # the line after it is still checked


def test_promise_array_element_over_the_size_limit_is_a_finding(tmp_path):
    el = b'{"instruction": "a", "output": "' + b"x" * 200 + b'"}'
    data = b"[\n" + CHAT + b",\n" + el.replace(b'"x', b'"\n') + b"\n]\n"
    p = tmp_path / "d.json"
    p.write_bytes(b"[\n" + CHAT + b",\n{\n" + b'  "instruction": "a",\n' + b'  "output": "xx",\n' * 40 + b"}\n]\n")
    (tmp_path / "tunelint.toml").write_text("max-record-size = 300\n")
    r = tl("check", p, "--no-progress", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "F029" in r.stdout and "element starting on line 3" in r.stdout, r.stdout
    assert data  # (the shape above: one element spanning many lines)


def test_promise_jobs_split_reports_the_same_record_too_large(tmp_path):
    rows = [CHAT] * 3000 + [huge(400_000)] + [CHAT] * 3000 + [BAD]
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\n".join(rows) + b"\n")
    (tmp_path / "tunelint.toml").write_text('max-record-size = "100KiB"\n')
    one = tl("check", p, "--no-progress", "-j", "1", cwd=tmp_path)
    two = tl("check", p, "--no-progress", "-j", "2", cwd=tmp_path)
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout
    assert ":3001:" in one.stdout and "F029" in one.stdout


def test_promise_fix_refuses_a_file_with_a_record_over_the_limit(tmp_path):
    data = b"\n".join([BAD, huge(200_000), CHAT]) + b"\n"
    p = tmp_path / "d.jsonl"
    p.write_bytes(data)
    (tmp_path / "tunelint.toml").write_text('max-record-size = "100KiB"\n')
    r = tl("fix", p, "--in-place", "--unsafe-fixes", cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "d.jsonl" in err[0] and "max-record-size" in err[0], r.stderr
    assert p.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["d.jsonl", "tunelint.toml"]


@pytest.mark.parametrize("value", ['"lots"', "0", "-5", "true"])
def test_promise_bad_max_record_size_is_a_config_error(tmp_path, value):
    p = tmp_path / "d.jsonl"
    p.write_bytes(CHAT + b"\n")
    (tmp_path / "tunelint.toml").write_text(f"max-record-size = {value}\n")
    r = tl("check", p, cwd=tmp_path)
    assert r.returncode == 2 and "max-record-size" in r.stderr


def test_promise_memory_stays_bounded_on_a_huge_line(tmp_path):
    """64 MB of small ints on one line: parsed, it would take well over 1 GB; skipped, the peak
    stays near the interpreter's own (the default limit is 32 MiB)."""
    p = tmp_path / "d.jsonl"
    with open(p, "wb") as f:
        f.write(CHAT + b"\n")
        f.write(huge(64 * 1024 * 1024) + b"\n")
        f.write(BAD + b"\n")
    code = ("import resource, subprocess, sys; "
            f"r = subprocess.run([sys.executable, '-m', 'tunelint', 'check', {str(p)!r}, '--isolated', '--no-progress', "
            "], capture_output=True, text=True); "
            "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.splitlines()
    rc, peak_kb = int(out[0]), int(out[1])
    assert rc == 1 and any("F029" in ln for ln in out[2:]) and any("F005" in ln for ln in out[2:]), out
    assert peak_kb < 400 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB on a 64 MB line"
