"""The promise `fix` loses nothing, for the cases issue 14 found broken: a run never destroys an
earlier run's rejects, and nothing is replaced unless every output and side file can be written
(a missing directory is one exit-2 line before any work)."""
from __future__ import annotations

import shutil

import orjson
import pytest

from conftest import run_cli

DUP = b'{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n'


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(DUP + DUP + b"not json\n")
    return p


def _entries(p):
    return [orjson.loads(ln) for ln in p.read_bytes().splitlines() if ln.strip()]


def _one_error_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("tunelint: error:"), (r.returncode, r.stderr)
    assert "internal error" not in r.stderr
    return lines[0]


def test_promise_fix_never_overwrites_rejects_in_place_twice(data):
    r = run_cli("fix", str(data), "--in-place", "--unsafe-fixes", "--isolated")
    assert r.returncode == 0, r.stderr
    rej = data.with_name("d.rejects.jsonl")
    first = _entries(rej)
    assert sorted(e["line"] for e in first) == [2, 3]
    with open(data, "ab") as f:
        f.write(b"broken again\n" + DUP)
    r = run_cli("fix", str(data), "--in-place", "--unsafe-fixes", "--isolated")
    assert r.returncode == 0, r.stderr
    both = _entries(rej)
    assert both[:2] == first, "the first run's rejects must survive the second run"
    assert [e["text"] for e in both[2:]] == ["broken again", DUP.decode().strip()]
    runs = [e["run"] for e in both]
    assert runs[0] == runs[1] != runs[2] == runs[3], "each entry names its run"
    assert all(e["input"].endswith("d.jsonl") for e in both)


def test_promise_fix_never_overwrites_rejects_check_fix_hook_flow(data):
    rej = data.with_name("d.rejects.jsonl")
    r = run_cli("check", "--fix", "--unsafe-fixes", "--isolated", str(data))
    assert r.returncode == 0, r.stdout + r.stderr
    n1 = len(_entries(rej))
    assert n1 == 2
    data.write_bytes(data.read_bytes() + b"{oops\n")
    run_cli("check", "--fix", "--unsafe-fixes", "--isolated", str(data))
    entries = _entries(rej)
    assert len(entries) == 3 and entries[2]["text"] == "{oops"
    # A run that rejects nothing leaves the rejects file alone.
    before = rej.read_bytes()
    run_cli("check", "--fix", "--unsafe-fixes", "--isolated", str(data))
    assert rej.read_bytes() == before


def test_promise_fix_explicit_rejects_file_is_appended_not_truncated(data, tmp_path):
    rej = tmp_path / "r.jsonl"
    rej.write_bytes(b'{"line": 7, "reason": "from an earlier run"}')  # no final newline
    r = run_cli("fix", str(data), "-o", str(tmp_path / "o.jsonl"), "--unsafe-fixes", "--rejects", str(rej), "--isolated")
    assert r.returncode == 0, r.stderr
    entries = _entries(rej)
    assert entries[0] == {"line": 7, "reason": "from an earlier run"} and len(entries) == 3
    # nothing rejected: an existing explicit rejects file is untouched
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(DUP)
    before = rej.read_bytes()
    r = run_cli("fix", str(clean), "-o", str(tmp_path / "o2.jsonl"), "--unsafe-fixes", "--rejects", str(rej), "--isolated")
    assert r.returncode == 0 and rej.read_bytes() == before


@pytest.mark.parametrize("how", ["output", "in-place"])
def test_promise_fix_replaces_nothing_when_rejects_unwritable(data, tmp_path, how):
    before = data.read_bytes()
    out = tmp_path / "out.jsonl"
    target = ["-o", str(out)] if how == "output" else ["--in-place"]
    r = run_cli("fix", str(data), *target, "--unsafe-fixes", "--rejects", str(tmp_path / "missing" / "r.jsonl"), "--isolated")
    line = _one_error_line(r)
    assert "rejects file" in line and "does not exist" in line and str(tmp_path / "missing") in line
    assert data.read_bytes() == before
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"], "no temporary file left behind"


@pytest.mark.parametrize("which", ["output", "changes"])
def test_promise_fix_missing_output_directory_is_one_exit2_line_up_front(data, tmp_path, which):
    before = data.read_bytes()
    missing = str(tmp_path / "nowhere" / "x.jsonl")
    args = ["-o", missing] if which == "output" else ["--in-place", "--changes", missing]
    r = run_cli("fix", str(data), *args, "--unsafe-fixes", "--isolated")
    line = _one_error_line(r)
    assert "does not exist" in line and "nowhere" in line
    assert data.read_bytes() == before
    assert not data.with_name("d.rejects.jsonl").exists()


def test_promise_fix_output_that_is_a_directory_is_one_exit2_line(data, tmp_path):
    (tmp_path / "sub").mkdir()
    r = run_cli("fix", str(data), "-o", str(tmp_path / "sub"), "--isolated")
    assert "directory" in _one_error_line(r)


def test_promise_check_fix_replaces_nothing_when_an_output_file_cannot_be_written(data, tmp_path):
    before = data.read_bytes()
    r = run_cli("check", "--fix", "--unsafe-fixes", "--isolated", str(data), "-o", f"json:{tmp_path / 'no' / 'f.json'}")
    assert "does not exist" in _one_error_line(r)
    assert data.read_bytes() == before
    r = run_cli("check", "--isolated", str(data), "-o", "jsn:x.json")
    assert "unknown output format" in _one_error_line(r) and r.stdout == ""


# -- found by the fix property suite (tests/test_promise_fix_properties.py) -------------------
def _fix_cli(tmp_path, name: str, data: bytes, *extra):
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / ("out-" + name)
    r = run_cli("fix", str(src), "-o", str(out), "--rejects", str(tmp_path / "rej.jsonl"), "--isolated", *extra)
    assert r.returncode in (0, 1), r.stderr
    rej = tmp_path / "rej.jsonl"
    return out.read_bytes(), (_entries(rej) if rej.exists() else [])


def test_promise_fix_one_line_json_array_keeps_its_other_records(tmp_path):
    """`json.dump(records, f)` writes every element on line 1: a finding about one element
    dropped all of them (they share the line)."""
    data = b'[{"prompt": "a", "completion": "b"}, {"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "d"}]'
    out, rejects = _fix_cli(tmp_path, "one.json", data, "--unsafe-fixes")
    kept = orjson.loads(out)
    assert {"prompt": "c", "completion": "d"} in kept and {"prompt": "a", "completion": "b"} in kept
    assert len(kept) + len(rejects) == 3


def test_promise_fix_applies_fixes_inside_pretty_printed_arrays(tmp_path):
    data = b'[\n  {\n    "instruction": "Say hi ",\n    "input": "",\n    "output": "Hi!"\n  }\n]\n'
    out, _ = _fix_cli(tmp_path, "pretty.json", data)
    assert orjson.loads(out) == [{"instruction": "Say hi", "input": "", "output": "Hi!"}]


def test_promise_fix_unsafe_output_is_valid_utf8(tmp_path):
    data = b'{"prompt": "caf\xe9", "completion": " ok"}\n{"prompt": "tea", "completion": " ok"}\n'
    for name, body in (("u.jsonl", data), ("u.json", b"[\n" + data.replace(b"}\n{", b"},\n{") + b"]\n")):
        out, rejects = _fix_cli(tmp_path, name, body, "--unsafe-fixes")
        out.decode("utf-8")
        assert b"tea" in out and len(rejects) >= 1 and "text_base64" in rejects[-1]


def test_promise_fix_drops_an_unparseable_multiline_array_element(tmp_path):
    data = b'[\n  {"prompt": "a", "completion": "b"},\n  {"prompt": "x", "completion": "y"\n,\n  {"prompt": "c", "completion": "d"}\n]\n'
    out, rejects = _fix_cli(tmp_path, "t.json", data, "--unsafe-fixes")
    assert orjson.loads(out) == [{"prompt": "a", "completion": "b"}]
    assert '"prompt": "c"' in rejects[0]["text"], "the swallowed records are in the rejects, verbatim"


def test_promise_fix_twice_changes_nothing_when_a_fix_creates_an_error(tmp_path):
    """Stripping the trailing space of a DPO rejected answer made it equal to the preferred one
    (F-rule error): the second fix rejected it."""
    dpo = (b'{"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", '
           b'"content": "same"}], "non_preferred_output": [{"role": "assistant", "content": "same \xc2\xa0"}]}\n')
    out, _ = _fix_cli(tmp_path, "d.jsonl", dpo + dpo.replace(b'"q"', b'"q2"').replace(b"same \xc2\xa0", b"other"), "--unsafe-fixes")
    again, rejects2 = _fix_cli(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, "again.jsonl", out, "--unsafe-fixes")
    assert again == out
