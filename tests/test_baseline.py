"""Baselines: --write-baseline records findings, --baseline reports only new ones."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli

from tunelint.baseline import BaselineError, apply_baseline, finding_key, read_baseline, write_baseline
from tunelint.diagnostic import Diagnostic
from tunelint.engine import FileStats, Result

BAD_ROLE = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "hello"}]}'
TRAILING = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok "}]}'
NEW_BAD = '{"messages": [{"role": "user", "content": "What is two plus two?"}, {"role": "bot", "content": "Four."}]}'
CLEAN = '{"messages": [{"role": "user", "content": "n%d"}, {"role": "assistant", "content": "m%d"}]}'


def _d(code="E009", record_hash="aa" * 12, pointer="/messages/1/content", line=1, path="a.jsonl", message="m"):
    return Diagnostic(code=code, name="x", severity="warning", path=path, line=line, column=1,
                      pointer=pointer, message=message, record_hash=record_hash)


def _result(*diags):
    return Result(list(diags), [FileStats("a.jsonl", records=3)])


def test_round_trip_hides_recorded_findings(tmp_path):
    f = tmp_path / "b.json"
    res = _result(_d(), _d(code="F005", pointer="/messages/1/role"), _d(record_hash=None, line=0, pointer="", message="file is empty"))
    assert write_baseline(str(f), res) == 3
    out = apply_baseline(str(f), res)
    assert out.diagnostics == [] and out.baseline_matched == 3
    assert out.files == res.files


def test_new_findings_survive_and_line_moves_do_not_matter(tmp_path):
    f = tmp_path / "b.json"
    write_baseline(str(f), _result(_d(line=3)))
    new = _d(code="E009", record_hash="bb" * 12)
    out = apply_baseline(str(f), _result(_d(line=40), new))
    assert out.diagnostics == [new]


def test_counts_keep_two_identical_findings_two(tmp_path):
    f = tmp_path / "b.json"
    write_baseline(str(f), _result(_d(line=1), _d(line=2)))
    doc = json.loads(f.read_text())
    assert doc["findings"][0]["count"] == 2 and doc["total"] == 2
    out = apply_baseline(str(f), _result(_d(line=1), _d(line=2), _d(line=9)))
    assert [d.line for d in out.diagnostics] == [9]
    assert out.baseline_matched == 2 and out.baseline_unused == 0
    out = apply_baseline(str(f), _result(_d(line=5)))  # one of the two was fixed
    assert out.diagnostics == [] and out.baseline_matched == 1 and out.baseline_unused == 1


def test_pointer_and_code_are_part_of_the_key(tmp_path):
    f = tmp_path / "b.json"
    write_baseline(str(f), _result(_d()))
    other_ptr = _d(pointer="/messages/0/content")
    other_code = _d(code="E008")
    assert apply_baseline(str(f), _result(other_ptr, other_code)).diagnostics == [other_ptr, other_code]


def test_file_level_findings_are_keyed_by_path_and_message():
    a = _d(record_hash=None, message="file is empty", path="a.jsonl")
    assert finding_key(a) != finding_key(_d(record_hash=None, message="file is empty", path="b.jsonl"))
    assert finding_key(a) == finding_key(_d(record_hash=None, message="file is empty", path="a.jsonl", line=7))


def test_file_is_stable_sorted_json(tmp_path):
    f1, f2 = tmp_path / "1.json", tmp_path / "2.json"
    ds = [_d(code="F005"), _d(code="E009"), _d(code="D001", pointer="")]
    write_baseline(str(f1), _result(*ds))
    write_baseline(str(f2), _result(*reversed(ds)))
    assert f1.read_bytes() == f2.read_bytes()
    doc = json.loads(f1.read_text())
    assert doc["tool"] == "tunelint" and doc["version"] == 1
    keys = [(e["code"], e["subject"], e["pointer"]) for e in doc["findings"]]
    assert keys == sorted(keys)
    assert len(f1.read_text().splitlines()) == 7 + len(ds)  # one finding per line: clean diffs
    write_baseline(str(f1), _result())
    assert json.loads(f1.read_text())["findings"] == []


@pytest.mark.parametrize("content,needle", [
    (None, "does not exist"),
    ("{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    ('{"findings": []}', "not a tunelint baseline"),
    ('[1, 2]', "not a tunelint baseline"),
    ('{"tool": "tunelint", "version": 99, "findings": []}', "version 99"),
    ('{"tool": "tunelint", "version": 1, "findings": [{"code": "E009"}]}', "finding #1 is malformed"),
    ('{"tool": "tunelint", "version": 1, "findings": [{"code": "E009", "subject": "s", "count": "x"}]}', "malformed"),
])
def test_missing_or_corrupt_baseline_is_a_clear_error(tmp_path, content, needle):
    f = tmp_path / "b.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content is not None:
        f.write_text(content)
    with pytest.raises(BaselineError) as e:
        read_baseline(str(f))
    assert needle in str(e.value) and str(f) in str(e.value)
    assert "--write-baseline" in str(e.value)


# -- end to end through the CLI ----------------------------------------------------------------------

def _write(path, lines):
    path.write_text("".join(x + "\n" for x in lines))


def _codes(p):
    return sorted((d["code"], d["line"]) for d in json.loads(p.stdout)["diagnostics"])


def test_cli_write_then_apply_baseline(tmp_path):
    data = tmp_path / "train.jsonl"
    _write(data, [BAD_ROLE, CLEAN % (1, 1), TRAILING])
    p = run_cli("check", "train.jsonl", "--isolated", "--write-baseline", "tunelint-baseline.json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "wrote 3 finding(s)" in p.stderr
    p = run_cli("check", "train.jsonl", "--isolated", "--baseline", "tunelint-baseline.json", cwd=tmp_path)
    assert p.returncode == 0 and "All checks passed" in p.stdout, p.stdout + p.stderr
    # move the old records around and add a new problem: only the new one is reported
    _write(data, [CLEAN % (2, 2), TRAILING, CLEAN % (1, 1), BAD_ROLE, NEW_BAD])
    p = run_cli("check", "train.jsonl", "--isolated", "--baseline", "tunelint-baseline.json",
                "--output-format", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert _codes(p) == [("F005", 5), ("F007", 5)]


def test_cli_missing_baseline_is_exit_2_without_traceback(tmp_path):
    data = tmp_path / "train.jsonl"
    _write(data, [TRAILING])
    p = run_cli("check", "train.jsonl", "--isolated", "--baseline", "nope.json", cwd=tmp_path)
    assert p.returncode == 2
    assert "nope.json does not exist" in p.stderr and "Traceback" not in p.stderr


def test_dataset_level_findings_get_the_hash_of_their_record(tmp_path):
    from tunelint.baseline import with_record_hashes
    from tunelint.formats import Record

    f = tmp_path / "a.jsonl"
    _write(f, [TRAILING, "", BAD_ROLE, "{broken"])
    ds = [_d(path=str(f), line=ln, record_hash=None) for ln in (1, 2, 3, 4, 0)]
    ds.append(_d(path=str(f), line=3, record_hash="kept"))
    out = with_record_hashes(ds)
    expect = Record("", 1, 1, 0, json.loads(BAD_ROLE), b"").hash
    assert [d.record_hash for d in out] == [
        Record("", 1, 1, 0, json.loads(TRAILING), b"").hash, None, expect, None, None, "kept"]
    arr = tmp_path / "b.json"
    arr.write_text('[\n  {"a": 1}, {"a": 2},\n  {"a": 3}\n]\n')
    out = with_record_hashes([_d(path=str(arr), line=2, record_hash=None), _d(path=str(arr), line=3, record_hash=None)])
    assert out[0].record_hash is None  # two records start on line 2: ambiguous
    assert out[1].record_hash == Record("", 3, 1, 0, {"a": 3}, b"").hash
    assert with_record_hashes([_d(path="<stdin>", record_hash=None)])[0].record_hash is None


def test_baseline_keeps_duplicates_known_when_lines_move(tmp_path, monkeypatch):
    from tunelint.config import load_config
    from tunelint.engine import check_paths

    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, ".", isolated=True)
    data = tmp_path / "train.jsonl"
    a, b = CLEAN % (1, 1), CLEAN % (2, 2)
    _write(data, [a, b, a])  # D001 at line 3: "exact duplicate of line 1"
    res = check_paths(["train.jsonl"], cfg)
    assert [(d.code, d.line) for d in res.diagnostics] == [("D001", 3)]
    assert res.diagnostics[0].record_hash is None  # a dataset-level finding: hash read back
    write_baseline("bl.json", res)
    _write(data, [CLEAN % (3, 3), a, b, a])  # same duplicate, new line numbers and message
    res = check_paths(["train.jsonl"], cfg)
    assert "line 2" in res.diagnostics[0].message
    assert apply_baseline("bl.json", res).diagnostics == []
    _write(data, [a, b, a, b])  # a new duplicate is reported
    left = apply_baseline("bl.json", check_paths(["train.jsonl"], cfg)).diagnostics
    assert [(d.code, d.line) for d in left] == [("D001", 4)]
