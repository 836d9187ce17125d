"""End-to-end behaviour of `tunelint check`, `rules`, `explain`, config and exit codes."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import FIXTURES, run_cli

CORE = FIXTURES / "core"


def check_json(*args, cwd=None):
    p = run_cli("check", "--output-format", "json", *args, cwd=cwd)
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def codes(doc):
    return sorted({d["code"] for d in doc["diagnostics"]})


def test_clean_chat_file_passes_with_exit_0():
    p = run_cli("check", str(CORE / "chat_ok.jsonl"), "--isolated")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "All checks passed: 3 records in 1 file (format: chat; no config file)." in p.stdout


def test_bad_chat_file_reports_exact_locations():
    rc, doc = check_json(str(CORE / "chat_bad.jsonl"), "--isolated")
    assert rc == 1
    by = {(d["code"], d["line"]): d for d in doc["diagnostics"]}
    assert ("F005", 2) in by and by[("F005", 2)]["pointer"] == "/messages/1/role"
    assert ("F001", 3) in by and by[("F001", 3)]["column"] > 1
    assert ("E004", 4) in by
    dup = by[("D001", 5)]
    assert "line 1" in dup["message"] and dup["related_lines"] == [1]
    for d in doc["diagnostics"]:
        assert set(d) >= {"code", "name", "severity", "path", "line", "column", "pointer", "message", "fixable"}
    assert doc["summary"]["errors"] >= 2 and doc["summary"]["records"] == 4


def test_json_array_records_get_their_start_line():
    rc, doc = check_json(str(CORE / "alpaca_array.json"), "--isolated")
    f001 = [d for d in doc["diagnostics"] if d["code"] == "F001"]
    assert [d["line"] for d in f001] == [6]
    assert doc["files"][0]["format"] == "alpaca"
    assert doc["files"][0]["records"] == 4


def test_gzip_and_stdin_are_read_transparently():
    rc, doc = check_json(str(CORE / "chat_ok.jsonl.gz"), "--isolated")
    assert rc == 0 and doc["summary"]["records"] == 3
    p = run_cli("check", "-", "--isolated", input=(CORE / "chat_bad.jsonl").read_text())
    assert p.returncode == 1 and "<stdin>:2:" in p.stdout


@pytest.mark.parametrize("name,code", [("empty.jsonl", "F017"), ("lfs_pointer.jsonl", "F018")])
def test_file_level_problems_get_one_diagnostic(name, code):
    rc, doc = check_json(str(CORE / name), "--isolated")
    assert rc == 1
    assert [d["code"] for d in doc["diagnostics"]] == [code]


def test_directory_recursion(tmp_path):
    shutil.copy(CORE / "chat_ok.jsonl", tmp_path / "a.jsonl")
    (tmp_path / "sub").mkdir()
    shutil.copy(CORE / "chat_bad.jsonl", tmp_path / "sub" / "b.jsonl")
    (tmp_path / "notes.txt").write_text("not data")
    rc, doc = check_json(str(tmp_path), "--isolated")
    assert len(doc["files"]) == 2 and rc == 1


def test_select_ignore_by_code_prefix_and_name():
    _, doc = check_json(str(CORE / "chat_bad.jsonl"), "--isolated", "--select", "F")
    assert codes(doc) and all(c.startswith("F") for c in codes(doc))
    _, doc = check_json(str(CORE / "chat_bad.jsonl"), "--isolated", "--ignore", "unknown-role,E")
    assert "F005" not in codes(doc) and not any(c.startswith("E") for c in codes(doc))
    _, doc = check_json(str(CORE / "chat_bad.jsonl"), "--isolated", "--select", "F", "--extend-select", "exact-duplicate")
    assert "D001" in codes(doc)


def test_config_file_strictly_validated_with_did_you_mean(tmp_path):
    (tmp_path / "tunelint.toml").write_text('selct = ["F"]\n')
    shutil.copy(CORE / "chat_ok.jsonl", tmp_path / "a.jsonl")
    p = run_cli("check", "a.jsonl", cwd=tmp_path)
    assert p.returncode == 2
    assert "unknown key 'selct'" in p.stderr and "did you mean 'select'" in p.stderr
    assert "Traceback" not in p.stderr
    (tmp_path / "tunelint.toml").write_text('select = ["F0O5"]\n')
    p = run_cli("check", "a.jsonl", cwd=tmp_path)
    assert p.returncode == 2 and "unknown rule 'F0O5'" in p.stderr


def test_pyproject_config_per_rule_severity_and_per_file_ignores(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tunelint]\nignore = ["D"]\n'
        '[tool.tunelint.rules.unknown-role]\nseverity = "warning"\n'
        '[tool.tunelint.per-file-ignores]\n"legacy/*.jsonl" = ["F001"]\n'
    )
    (tmp_path / "legacy").mkdir()
    shutil.copy(CORE / "chat_bad.jsonl", tmp_path / "legacy" / "b.jsonl")
    _, doc = check_json("legacy/b.jsonl", cwd=tmp_path)
    sev = {d["code"]: d["severity"] for d in doc["diagnostics"]}
    assert sev.get("F005") == "warning"
    assert "F001" not in sev and "D001" not in sev


def test_closest_config_wins(tmp_path):
    (tmp_path / "tunelint.toml").write_text('select = ["E"]\n')
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "pyproject.toml").write_text('[tool.tunelint]\nselect = ["F005"]\n')
    shutil.copy(CORE / "chat_bad.jsonl", tmp_path / "inner" / "b.jsonl")
    _, doc = check_json(str(tmp_path / "inner" / "b.jsonl"), cwd=tmp_path)
    assert codes(doc) == ["F005"]


def test_exit_codes_strict_and_exit_zero(tmp_path):
    f = tmp_path / "w.jsonl"
    f.write_text('{"prompt": "a", "completion": " b"}\n\n{"prompt": "c", "completion": " d"}\n')
    base = ("--isolated", "--select", "E004")
    assert run_cli("check", str(f), *base).returncode == 0  # warnings only
    assert run_cli("check", str(f), *base, "--strict").returncode == 1
    assert run_cli("check", str(CORE / "chat_bad.jsonl"), "--isolated", "--exit-zero").returncode == 0


def test_usage_errors_exit_2_without_traceback():
    for args in (("check", "nope.jsonl"), ("check", str(CORE / "chat_ok.jsonl"), "--target", "gpt-5o"),
                 ("check", str(CORE / "chat_ok.jsonl"), "--output-format", "yaml"), ("explain", "Z999")):
        p = run_cli(*args)
        assert p.returncode == 2, args
        assert p.stderr.startswith("tunelint: error:") and "Traceback" not in p.stderr, p.stderr


def test_statistics_counts_per_rule():
    p = run_cli("check", str(CORE / "chat_bad.jsonl"), "--isolated", "--statistics")
    assert any(line.split()[:2] == ["1", "F005"] for line in p.stdout.splitlines()), p.stdout


def test_rules_and_explain_render_examples():
    p = run_cli("rules")
    assert p.returncode == 0 and "F001" in p.stdout and "invalid-json" in p.stdout
    p = run_cli("explain", "E002")
    assert p.returncode == 0
    assert "Passes:" in p.stdout and "Fails:" in p.stdout and "\\ufeff" in p.stdout
    p = run_cli("explain", "mixed-formats")
    assert "F016" in p.stdout


def test_user_yaml_rule_pack_loaded_like_shipped_packs(tmp_path):
    (tmp_path / "house.yaml").write_text(
        "rules:\n"
        "  - code: X101\n    name: no-as-an-ai\n    kind: existence\n    severity: error\n"
        "    params: {tokens: ['As an AI language model'], regex: false, turns: [answer]}\n"
        "    message: 'answer says {match!r}'\n"
        "    examples: {pass: ['{\"prompt\": \"a\", \"completion\": \" b\"}'], fail: ['{\"prompt\": \"a\", \"completion\": \" As an AI language model, no\"}']}\n"
        "  - code: X102\n    name: use-javascript\n    kind: substitution\n    params: {swap: {Javascript: JavaScript}, ignorecase: false}\n"
        "    message: 'write {expected!r}, not {match!r}'\n"
    )
    (tmp_path / "tunelint.toml").write_text('rule-packs = ["house.yaml"]\nextend-select = ["X"]\n')
    (tmp_path / "d.jsonl").write_text(
        '{"prompt": "Explain Javascript", "completion": " As an AI language model, I like Javascript."}\n')
    rc, doc = check_json("d.jsonl", cwd=tmp_path)
    msgs = {d["code"]: d["message"] for d in doc["diagnostics"]}
    assert msgs["X101"] == "answer says 'As an AI language model'"
    assert msgs["X102"] == "write 'JavaScript', not 'Javascript'"
    (tmp_path / "house.yaml").write_text("rules:\n  - code: X101\n    name: x\n    kind: existance\n    message: m\n")
    p = run_cli("check", "d.jsonl", cwd=tmp_path)
    assert p.returncode == 2 and "did you mean 'existence'" in p.stderr


def test_jobs_gives_identical_results(tmp_path):
    src = (CORE / "chat_bad.jsonl").read_bytes() + (CORE / "chat_ok.jsonl").read_bytes()
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        for i in range(2500):  # ~1 MB: force splitting with a low threshold below
            f.write(src)
    env = {"TUNELINT_MIN_PARALLEL_BYTES": "1000"}
    a = run_cli("check", str(big), "--isolated", "--output-format", "json", env=env)
    b = run_cli("check", str(big), "--isolated", "--output-format", "json", "--jobs", "2", env=env)
    assert a.returncode == b.returncode == 1
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["diagnostics"] == db["diagnostics"]
    assert len(da["diagnostics"]) > 2500


def test_mixed_formats_reported_once(tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text("".join('{"prompt": "p%d", "completion": " c"}\n' % i for i in range(5))
                 + '{"instruction": "i", "output": "o"}\n' * 1 + '{"instruction": "j", "output": "o"}\n')
    _, doc = check_json(str(f), "--isolated", "--select", "F016")
    assert len(doc["diagnostics"]) == 1
    d = doc["diagnostics"][0]
    assert d["line"] == 6 and "5 prompt-completion" in d["message"] and "alpaca (2" in d["message"]


def test_small_check_does_not_import_heavy_modules(tmp_path):
    code = (
        "import sys\nfrom tunelint.cli import main\n"
        "try:\n    main(['check', %r, '--isolated', '-q'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('great_expectations', 'spacy', 'pandas', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n" % str(CORE / "chat_ok.jsonl")
    )
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in p.stdout, p.stdout + p.stderr


def test_parallel_run_reports_progress_in_file_order(tmp_path, monkeypatch):
    import tunelint.parallel as tp
    from tunelint.config import load_config

    big = tmp_path / "big.jsonl"
    big.write_bytes(((CORE / "chat_ok.jsonl").read_bytes()) * 400)
    monkeypatch.setattr(tp, "MIN_PARALLEL_BYTES", 1000)
    calls = []

    class P:
        def update(self, path, done, total):
            calls.append((done, total))

    diags, stats = tp.run_parallel(str(big), load_config(isolated=True), 2, progress=P())
    size = big.stat().st_size
    # workers add the bytes they checked to one shared count; the parent reports it as it grows
    assert stats.records == 1200 and calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and calls[-1] == (size, size)


def test_parallel_run_imports_the_checks_warm_modules_before_the_workers(tmp_path, monkeypatch):
    import importlib

    import tunelint.parallel as tp
    from tunelint.checks.terms import TermVariants
    from tunelint.config import load_config

    big = tmp_path / "big.jsonl"
    big.write_bytes(((CORE / "chat_ok.jsonl").read_bytes()) * 400)
    monkeypatch.setattr(tp, "MIN_PARALLEL_BYTES", 1000)
    monkeypatch.setattr(TermVariants, "warm_imports", ("numpy", "colorsys"))
    seen = []
    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: seen.append(name) or real(name, *a))
    tp.run_parallel(str(big), load_config(isolated=True), 2)
    warm = {"colorsys", "numpy", "rapidfuzz.fuzz"}  # T001's and the near-duplicate rules'
    assert [n for n in seen if n in warm] == sorted(warm)  # in this (the parent) process, each once


def test_parallel_worker_settles_its_deferred_batches(tmp_path):
    """A worker finishes its half-full batches as soon as its part is read (FileRun.state()
    settles the dataset checks), so that work overlaps the other workers instead of waiting
    for the merge."""
    from tunelint.checks.neardup import _NearBase
    from tunelint.checks.style import StyleCheck
    from tunelint.checks.terms import TermVariants
    from tunelint.config import load_config

    big = tmp_path / "big.jsonl"
    big.write_bytes(((CORE / "chat_ok.jsonl").read_bytes()) * 400)
    cfg = load_config(data={"select": ["T001", "D003", "S001"]})
    size = big.stat().st_size
    from tunelint.engine import FileRun

    run = FileRun(str(big), cfg, byte_range=(0, size, 1), fmt="chat")
    for _ in run.events():
        pass
    checks = run.state().checks
    t001 = next(c for c in checks if isinstance(c, TermVariants))
    near = next(c for c in checks if isinstance(c, _NearBase))
    style = next(c for c in checks if isinstance(c, StyleCheck))
    assert t001.records == 1200 and t001.counter._pending == [] and t001.counter._chars == 0
    assert len(near.state.train) == 1200 and near.state.train.pending == [] and near.state.train.bufs
    assert len(style.table.lines) >= 1200 and style.table._rows == []  # one row per answer
