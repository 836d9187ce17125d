"""Issue 19: the CLI a ruff or Vale user already knows (through the real CLI, in subprocesses)."""
from __future__ import annotations

import re

from conftest import FIXTURES, run_cli

CORE = FIXTURES / "core"
OUT = FIXTURES / "outputs"
LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info): (?P<code>[A-Z]\d{3}) ")


def finding_lines(stdout: str) -> list[re.Match]:
    return [m for m in map(LINE.match, stdout.splitlines()) if m]


def test_text_lines_show_the_severity_in_the_gcc_layout():
    p = run_cli("check", str(OUT), "--isolated")
    found = finding_lines(p.stdout)
    assert len(found) == 7, p.stdout
    sev = {m["code"]: m["sev"] for m in found}
    assert sev["F005"] == "error" and sev["E009"] == "warning"


def test_statistics_prints_only_the_table_with_a_severity_column():
    p = run_cli("check", str(OUT), "--isolated", "--statistics")
    assert p.returncode == 1
    rows = [line.split() for line in p.stdout.splitlines()]
    assert rows and all(r[0].isdigit() for r in rows), p.stdout  # no finding lines, no summary
    by = {r[1]: r for r in rows}
    assert by["F005"][2] == "error" and by["E009"][2:4] == ["warning", "[*]"]
    assert by["D001"][2:] == ["warning", "exact-duplicate"]


def test_summary_names_the_detected_format_and_the_config_file(tmp_path):
    (tmp_path / "tunelint.toml").write_text('ignore = ["E"]\n')
    (tmp_path / "a.jsonl").write_bytes((CORE / "chat_ok.jsonl").read_bytes())
    p = run_cli("check", str(tmp_path / "a.jsonl"))
    want = f"All checks passed: 3 records in 1 file (format: chat; config: {tmp_path / 'tunelint.toml'})."
    assert p.stdout.strip() == want, p.stdout
    p = run_cli("check", str(OUT), "--isolated")
    assert "in 6 records in 2 files (format: chat; no config file)." in p.stdout


def test_fixable_hint_names_an_option_that_works_as_written(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_bytes((OUT / "train.jsonl").read_bytes())
    p = run_cli("check", str(data), "--isolated")
    hint = [line for line in p.stdout.splitlines() if line.startswith("[*]")]
    assert hint == ["[*] 2 fixable with the `--fix` option (3 more with `--fix --unsafe-fixes`)."], p.stdout
    p = run_cli("check", str(data), "--isolated", "--fix")  # the hint's command, as written
    assert p.returncode == 1 and "[*]" not in p.stdout, p.stdout + p.stderr
    assert not [m for m in finding_lines(p.stdout) if m["code"] in ("E009", "E005")]
