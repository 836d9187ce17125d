"""`tunelint fix` guarantees: input untouched, atomic output, every record accounted for,
no reordering, untouched records byte-identical, idempotence, reverted bad fixes, audit log,
diff, containers (.gz, JSON arrays), configuration, `check --fix`."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import orjson
import pytest

from conftest import run_cli
from tunelint.config import load_config
from tunelint.diagnostic import Diagnostic, Edit, Fix
from tunelint.engine import FileRun
from tunelint.fixer import Fixer, FixPolicy

DIRTY = "fix/dirty.jsonl"


def _fix(src, out, unsafe=False, data=None, **kw):
    cfg = load_config(data=data or {})
    return Fixer(cfg, FixPolicy.from_config(cfg, unsafe=unsafe)).fix_file(str(src), str(out), **kw)


def _lines(p):
    return open(p, "rb").read().split(b"\n")


@pytest.fixture
def dirty(tmp_path, fixtures):
    p = tmp_path / "dirty.jsonl"
    shutil.copy(fixtures / DIRTY, p)
    return p


def test_input_never_modified_and_summary_counts(dirty, tmp_path):
    before = dirty.read_bytes()
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", str(dirty), "-o", str(out), "--unsafe-fixes", "--isolated")
    assert dirty.read_bytes() == before
    assert out.exists()
    # 10 records in (the blank line is not a record): line 5 duplicates 4, line 9 is broken JSON,
    # line 8 becomes a duplicate of line 7 once its trailing space is stripped.
    assert "10 input records -> 7 written, 3 rejected" in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr


def test_without_output_or_in_place_is_a_usage_error(dirty):
    r = run_cli("fix", str(dirty), "--isolated")
    assert r.returncode == 2 and "--in-place" in r.stderr


def test_every_record_accounted_for_and_rejects_verbatim(dirty, tmp_path):
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    res = _fix(dirty, out, unsafe=True, rejects=str(rej))
    written = [ln for ln in _lines(out) if ln.strip()]
    rejects = [orjson.loads(ln) for ln in _lines(rej) if ln.strip()]
    assert res.input_records == 10 == len(written) + len(rejects)
    assert res.output_records == len(written) and res.rejected == len(rejects)
    by_line = {r["line"]: r for r in rejects}
    assert set(by_line) == {5, 8, 9}
    src = _lines(dirty)
    assert by_line[9]["codes"] == ["F001"] and by_line[9]["text"].encode() == src[8].rstrip(b"\r")
    assert by_line[5]["codes"] == ["D001"] and by_line[5]["text"].encode() == src[4].rstrip(b"\r")
    assert "duplicate" in by_line[5]["reason"]
    assert set(by_line[8]["codes"]) & {"D001", "D003"}  # a (near-)copy of line 7


def test_second_round_catches_duplicates_that_fixes_create(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"instruction": "Trim me", "input": "", "output": "done"}\n'
                    b'{"instruction": "Trim me ", "input": "", "output": "done"}\n')
    rej = tmp_path / "rej.jsonl"
    res = _fix(src, tmp_path / "out.jsonl", unsafe=True, data={"select": ["E009", "D001"]}, rejects=str(rej))
    assert res.rounds == 2 and res.rejected == 1 and res.output_records == 1
    entry = orjson.loads(rej.read_bytes())
    assert entry["line"] == 2 and entry["codes"] == ["D001"]


def test_order_kept_and_untouched_records_byte_identical(tmp_path):
    src = tmp_path / "in.jsonl"
    recs = [b'{"prompt":"a",  "completion":" b"}', b'{"instruction": "x ", "input": "", "output": "y"}',
            b'{"z": 1, "a": 2, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]}']
    src.write_bytes(b"\r\n".join(recs))  # CRLF, no final newline
    out = tmp_path / "out.jsonl"
    _fix(src, out, data={"ignore": ["E003", "F"]})
    got = out.read_bytes().split(b"\r\n")
    assert got[0] == recs[0] and got[2] == recs[2]  # untouched: same bytes, CRLF kept, no final newline
    assert got[1] == b'{"instruction":"x","input":"","output":"y"}'  # touched: compact, key order kept
    _fix(src, out)  # with E003: LF everywhere
    assert b"\r" not in out.read_bytes() and out.read_bytes().split(b"\n")[0] == recs[0]


def test_idempotent_including_rounds(dirty, tmp_path):
    out1, out2 = tmp_path / "o1.jsonl", tmp_path / "o2.jsonl"
    _fix(dirty, out1, unsafe=True)
    r2 = _fix(out1, out2, unsafe=True)
    assert out1.read_bytes() == out2.read_bytes()
    assert not r2.changed and r2.rejected == 0 and not r2.edits


def test_round_trip_check_is_clean_for_every_fixed_code(dirty, tmp_path):
    cfg = load_config(data={})
    before = {d.code for d in FileRun(str(dirty), cfg).run()}
    out = tmp_path / "out.jsonl"
    res = _fix(dirty, out, unsafe=True)
    fixed = set(res.edits)
    assert {"E002", "E003", "E004", "E005", "E006", "E007", "E009", "D001", "F001"} <= fixed <= before | {"convert"}
    after = {d.code for d in FileRun(str(out), cfg).run()}
    assert not (after & fixed), f"codes still reported after fix: {after & fixed}"


def test_safe_mode_leaves_unsafe_problems_and_exit_code(dirty, tmp_path):
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", str(dirty), "-o", str(out), "--isolated")
    assert r.returncode == 1  # F001 (an error) is left: its fix (drop) is unsafe
    assert "10 input records -> 10 written, 0 rejected" in r.stderr
    assert "--unsafe-fixes" in r.stderr
    text = out.read_bytes()
    assert b"Broken" in text and b"\r" not in text and not text.startswith(b"\xef\xbb\xbf")


def test_bad_fix_is_reverted(tmp_path, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"prompt": "a", "completion": " b"}\n{"prompt": "c", "completion": " d"}\n')
    fake = [
        Diagnostic("E002", "byte-order-mark", "warning", "in.jsonl", 1, 1, "", "m",
                   Fix("safe", "breaks the JSON", (Edit("line", "", b'{"prompt": "a",'),))),
        Diagnostic("E009", "edge-whitespace", "warning", "in.jsonl", 2, 1, "/completion", "m",
                   Fix("safe", "not JSON-serializable", (Edit("set", "/completion", {1, 2}),))),
    ]
    monkeypatch.setattr(FileRun, "run", lambda self: list(fake))
    res = _fix(src, tmp_path / "out.jsonl")
    assert res.reverted == 2
    assert (tmp_path / "out.jsonl").read_bytes() == src.read_bytes()


def test_interrupted_run_leaves_no_partial_output(dirty, tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"previous content\n")
    calls = {"n": 0}
    orig = Fixer._record

    def boom(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return orig(self, *a, **k)

    monkeypatch.setattr(Fixer, "_record", boom)
    with pytest.raises(KeyboardInterrupt):
        _fix(dirty, out)
    assert out.read_bytes() == b"previous content\n"
    assert sorted(os.listdir(tmp_path)) == ["dirty.jsonl", "out.jsonl"]  # no temporary files left


def test_changes_log_has_one_entry_per_edit(dirty, tmp_path):
    ch = tmp_path / "changes.jsonl"
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", str(dirty), "-o", str(out), "--changes", str(ch), "--isolated")
    entries = [orjson.loads(x) for x in ch.read_bytes().splitlines()]
    assert all({"line", "code", "pointer", "before", "after"} <= set(e) for e in entries)
    e6 = [e for e in entries if e["code"] == "E006"]
    assert e6 == [{"line": 2, "code": "E006", "op": "set", "pointer": "/instruction", "before": "Say\u200b hi ", "after": "Say hi "}]
    e9 = [e for e in entries if e["code"] == "E009"]
    assert {e["line"] for e in e9} == {2, 8} and any(e["after"] == "Say hi" for e in e9)
    assert any(e["code"] == "E007" and e["after"] == "Café menu" for e in entries)
    assert r.returncode == 1


def test_diff_applies_with_patch(dirty, tmp_path):
    if not shutil.which("patch"):
        pytest.skip("patch not installed")
    out = tmp_path / "out.jsonl"
    r = subprocess.run([sys.executable, "-m", "tunelint", "fix", str(dirty), "-o", str(out), "--diff", "--unsafe-fixes", "--isolated"],
                       capture_output=True)  # bytes: the diff holds CR characters
    assert r.stdout.startswith(b"--- ") and b"\n@@ -" in r.stdout
    copy = tmp_path / "copy.jsonl"
    shutil.copy(dirty, copy)
    p = subprocess.run(["patch", "--binary", "-s", str(copy)], input=r.stdout, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert copy.read_bytes() == out.read_bytes()


def test_diff_alone_is_a_dry_run(dirty, tmp_path):
    before = sorted(os.listdir(tmp_path))
    r = run_cli("fix", str(dirty), "--diff", "--isolated")
    assert "+{\"instruction\":\"Say hi\"" in r.stdout
    assert sorted(os.listdir(tmp_path)) == before


def test_gzip_in_gzip_out(tmp_path):
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(gzip.compress(b'{"instruction": " x", "input": "", "output": "y"}\n'))
    out = tmp_path / "out.jsonl.gz"
    _fix(src, out)
    assert gzip.decompress(out.read_bytes()) == b'{"instruction":"x","input":"","output":"y"}\n'


def test_json_array_stays_array_and_jsonl_on_request(tmp_path, fixtures):
    src = fixtures / "core" / "alpaca_array.json"
    out = tmp_path / "out.json"
    res = _fix(src, out, unsafe=True)
    arr = orjson.loads(out.read_bytes())
    assert [r["instruction"] for r in arr] == ["Add", "Sub", "Last"] and res.rejected == 1
    _fix(out, tmp_path / "again.json", unsafe=True)
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()
    out2 = tmp_path / "out.jsonl"
    _fix(src, out2, unsafe=True, container="jsonl")
    rows = [orjson.loads(x) for x in out2.read_bytes().splitlines()]
    assert rows == arr


def test_unchanged_array_is_copied_byte_for_byte(tmp_path):
    src = tmp_path / "in.json"
    src.write_bytes(b'[{"instruction": "a", "input": "", "output": "b"},\n   {"instruction": "c", "input": "", "output": "d"}]')
    out = tmp_path / "out.json"
    res = _fix(src, out)
    assert not res.changed and out.read_bytes() == src.read_bytes()


def test_fix_config_unfixable_and_unknown_key(dirty, tmp_path):
    out = tmp_path / "out.jsonl"
    res = _fix(dirty, out, data={"fix": {"unfixable": ["edge-whitespace"]}})
    assert "E009" not in res.edits and "E006" in res.edits
    cfg = tmp_path / "tunelint.toml"
    cfg.write_text('[fix]\nunfixabel = ["E009"]\n')
    r = run_cli("fix", str(dirty), "-o", str(out), "--config", str(cfg))
    assert r.returncode == 2 and "did you mean 'unfixable'" in r.stderr


def test_extend_safe_fixes_promotes_a_rule(dirty, tmp_path):
    out = tmp_path / "out.jsonl"
    res = _fix(dirty, out, data={"fix": {"extend-safe-fixes": ["D001"]}})
    assert res.edits["D001"] == 2 and "F001" not in res.edits


def test_in_place_and_check_fix(dirty, tmp_path):
    r = run_cli("fix", str(dirty), "--in-place", "--isolated")
    assert r.returncode == 1 and b"\r" not in dirty.read_bytes()
    st = os.stat(dirty).st_mtime_ns
    r = run_cli("check", "--fix", str(dirty), "--isolated")
    assert os.stat(dirty).st_mtime_ns == st  # nothing left to fix: the file is not rewritten
    other = tmp_path / "two.jsonl"
    other.write_bytes(b'{"prompt": "a", "completion": " b"}\r\n')
    r = run_cli("check", "--fix", str(other), "--isolated")
    assert other.read_bytes() == b'{"prompt": "a", "completion": " b"}\n'
    assert r.returncode == 0 and "fixed" in r.stderr and "E003" not in r.stdout


def test_lfs_pointer_is_not_fixed(tmp_path, fixtures):
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", str(fixtures / "core" / "lfs_pointer.jsonl"), "-o", str(out), "--isolated")
    assert r.returncode == 1 and "LFS" in r.stderr and not out.exists()


def test_dry_run_writes_nothing(dirty, tmp_path):
    before = sorted(os.listdir(tmp_path))
    r = run_cli("fix", str(dirty), "-o", str(tmp_path / "out.jsonl"), "--dry-run", "--unsafe-fixes", "--isolated")
    assert sorted(os.listdir(tmp_path)) == before
    assert "would write" in r.stderr and "10 input records -> 7 written, 3 rejected" in r.stderr


def test_broken_multiline_array_element_to_jsonl(tmp_path):
    src = tmp_path / "in.json"
    src.write_bytes(b'[\n  {"instruction": "a",\n   "output": "b",}\n]\n')
    out = tmp_path / "out.jsonl"
    res = _fix(src, out, container="jsonl")
    assert res.output_records == 1 and out.read_bytes().count(b"\n") == 1
