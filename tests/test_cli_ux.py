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


# -- helpers -------------------------------------------------------------------------------------
SRC = {"PYTHONPATH": str(FIXTURES.parent / "src")}  # a cwd elsewhere still runs this checkout
WARN_ONLY = b'{"messages": [{"role": "user", "content": "Hi "}, {"role": "assistant", "content": "Hello"}]}\n'


def data_copy(tmp_path, name="train.jsonl", src=OUT / "train.jsonl"):
    p = tmp_path / name
    p.write_bytes(src.read_bytes())
    return p


def run_on_terminal(*args, cwd=None, stdout_too=False, env=None):
    """Run the CLI with stderr (and with ``stdout_too`` stdout) on a pseudo-terminal; returns
    (rc, stdout when piped, terminal text)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = {**os.environ, **SRC, **(env or {})}
    env.pop("GITHUB_ACTIONS", None)
    p = subprocess.Popen([sys.executable, "-m", "tunelint", *args], stdout=slave if stdout_too else subprocess.PIPE,
                         stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    out = p.stdout.read().decode() if p.stdout is not None else ""
    p.wait(timeout=300)
    os.close(master)
    return p.returncode, out, b"".join(chunks).decode("utf-8", "replace")


# -- severity --------------------------------------------------------------------------------------
def test_min_severity_filters_output_and_exit_code(tmp_path):
    p = run_cli("check", str(OUT), "--isolated", "--min-severity", "error")
    assert {m["sev"] for m in finding_lines(p.stdout)} == {"error"} and p.returncode == 1
    assert "3 findings below --min-severity not shown." in p.stdout
    f = tmp_path / "w.jsonl"
    f.write_bytes(WARN_ONLY)
    assert run_cli("check", str(f), "--isolated", "--strict").returncode == 1
    p = run_cli("check", str(f), "--isolated", "--strict", "--min-severity", "ERROR")
    assert p.returncode == 0 and not finding_lines(p.stdout), p.stdout
    p = run_cli("check", str(f), "--isolated", "--min-severity", "fatal")
    assert p.returncode == 2 and "fatal" in p.stderr


# -- colour ----------------------------------------------------------------------------------------
def test_color_option_and_force_color_no_color():
    esc = "\x1b["
    assert esc in run_cli("check", str(OUT), "--isolated", "--color", "always").stdout
    assert esc not in run_cli("check", str(OUT), "--isolated").stdout  # a pipe: auto is off
    assert esc in run_cli("check", str(OUT), "--isolated", env={"FORCE_COLOR": "1"}).stdout
    assert esc not in run_cli("check", str(OUT), "--isolated", env={"FORCE_COLOR": "0"}).stdout
    assert esc not in run_cli("check", str(OUT), "--isolated", "--color", "never", env={"FORCE_COLOR": "1"}).stdout
    assert esc not in run_cli("check", str(OUT), "--isolated", env={"NO_COLOR": "1"}).stdout


# -- progress --------------------------------------------------------------------------------------
def test_progress_bar_with_phases_on_a_terminal_for_check_fix_report_and_profile(tmp_path):
    data = data_copy(tmp_path)
    rc, out, tty = run_on_terminal("check", str(data), "--isolated")
    assert rc == 1 and "\r\x1b[2K" in tty and "dataset rules: [" in tty, tty
    assert "\x1b[" not in out  # stdout is a pipe: findings stay clean
    rc, out, tty = run_on_terminal("check", str(data), "--isolated", "--profile")
    assert "profiling: [" in tty and "profile: summarizing" in tty, tty
    rc, out, tty = run_on_terminal("fix", str(data), "--isolated", "-o", str(tmp_path / "out.jsonl"))
    assert rc == 1 and "fixing: [" in tty and "writing fixes" in tty, tty  # 1: errors fix cannot repair
    rc, out, tty = run_on_terminal("report", str(data), "--isolated")
    assert "reading: [" in tty and "building the report" in tty, tty
    # -q silences messages, not the bar; --no-progress removes the bar
    rc, out, tty = run_on_terminal("check", str(data), "--isolated", "-q")
    assert "dataset rules: [" in tty
    for args in (("check", str(data)), ("fix", str(data), "--dry-run"), ("report", str(data))):
        rc, out, tty = run_on_terminal(*args, "--isolated", "--no-progress")
        assert "\x1b[2K" not in tty and "%" not in tty, (args, tty)


def test_no_progress_on_a_pipe(tmp_path):
    data = data_copy(tmp_path)
    for args in (("check", str(data), "--profile"), ("fix", str(data), "--dry-run"), ("report", str(data))):
        p = run_cli(*args, "--isolated")
        assert "\r" not in p.stderr and "\x1b" not in p.stderr, (args, p.stderr)


# -- seeing what will happen ----------------------------------------------------------------------
def test_show_settings_and_show_files(tmp_path):
    (tmp_path / "tunelint.toml").write_text('ignore = ["D001"]\nstrict = true\n')
    data = data_copy(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    p = run_cli("check", str(tmp_path), "--show-files")
    assert p.returncode == 0 and p.stdout.splitlines() == [str(data)], p.stdout
    p = run_cli("check", str(tmp_path), "--show-settings")
    assert p.returncode == 0
    assert f"config file     {tmp_path / 'tunelint.toml'}" in p.stdout and "strict          yes" in p.stdout
    assert "  E009  edge-whitespace" in p.stdout and "  D001 " not in p.stdout
    assert "error:" not in p.stdout  # nothing was checked


# -- consistent options ---------------------------------------------------------------------------
def test_output_file_and_case_insensitive_output_format(tmp_path):
    out = tmp_path / "findings.json"
    p = run_cli("check", str(OUT), "--isolated", "--output-format", "JSON", "--output-file", str(out))
    assert p.returncode == 1 and p.stdout == ""
    import json

    assert len(json.loads(out.read_text())["diagnostics"]) == 7
    p = run_cli("check", str(OUT), "--isolated", "-o", f"SARIF:{tmp_path / 'r.sarif'}")
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_bad_options_fail_before_any_data_is_read(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_bytes(WARN_ONLY * 20000)
    cases = [
        (("-o", "results.json"), "--output-file"),
        (("-o", "yaml:x.yaml"), "unknown output format 'yaml'"),
        (("--output-file", str(tmp_path / "no" / "x.json")), "does not exist"),
        (("--output-file", str(tmp_path)), "is a directory"),
        (("--baseline", str(tmp_path / "missing.json")), "does not exist"),
        (("--fixable", "E999"), "unknown rule 'E999'"),
    ]
    for args, msg in cases:
        p = run_cli("check", str(big), "--isolated", *args)
        assert p.returncode == 2 and msg in p.stderr and p.stdout == "", (args, p.stderr)


def test_version_everywhere_and_did_you_mean_for_commands():
    for args in (("-V",), ("--version",), ("check", "-V"), ("fix", "--version"), ("rules", "-V")):
        p = run_cli(*args)
        assert p.returncode == 0 and p.stdout.startswith("tunelint, version "), (args, p.stdout + p.stderr)
    p = run_cli("chek", ".")
    assert p.returncode == 2 and "unknown command 'chek' (did you mean 'check'?)" in p.stderr


def test_check_without_a_path_checks_the_current_directory(tmp_path):
    data_copy(tmp_path)
    p = run_cli("check", "--isolated", cwd=tmp_path, env=SRC)
    assert p.returncode == 1 and finding_lines(p.stdout)[0]["path"] == "train.jsonl", p.stdout + p.stderr


def test_unsafe_fixes_without_fix_warns(tmp_path):
    p = run_cli("check", str(OUT), "--isolated", "--unsafe-fixes")
    assert "tunelint: warning: --unsafe-fixes has no effect without --fix" in p.stderr
    assert "no effect" not in run_cli("check", str(data_copy(tmp_path)), "--isolated", "--unsafe-fixes", "--fix").stderr


# -- fix controls ---------------------------------------------------------------------------------
def test_fixable_unfixable_extend_fixable_and_show_fixes(tmp_path):
    data = data_copy(tmp_path)
    p = run_cli("check", str(data), "--isolated", "--show-fixes")
    lines = p.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if ": E005 [*]" in line)
    assert lines[at + 1] == "    fix (safe): remove control characters", lines
    p = run_cli("check", str(data), "--isolated", "--unfixable", "E005")
    assert ": E005 [*]" not in p.stdout and "[*] 1 fixable" in p.stdout
    p = run_cli("check", str(data), "--isolated", "--fix", "--unfixable", "E005", "--show-fixes")
    codes = {m["code"] for m in finding_lines(p.stdout)}
    assert "E005" in codes and "E009" not in codes, p.stdout
    assert "Fixed in" in p.stderr and "1 x E009" in p.stderr, p.stderr
    data = data_copy(tmp_path)
    out = tmp_path / "out.jsonl"
    p = run_cli("fix", str(data), "--isolated", "--fixable", "E005", "-o", str(out))
    assert "fix(es) applied: E005 1;" in p.stderr, p.stderr
    p = run_cli("fix", str(data), "--isolated", "--fixable", "E005", "--extend-fixable", "E009", "-o", str(out))
    assert "fix(es) applied: E005 1, E009 1;" in p.stderr, p.stderr


# -- suppression ----------------------------------------------------------------------------------
def test_ignore_one_finding_survives_inserted_lines_and_goes_stale(tmp_path):
    data = data_copy(tmp_path)
    side = tmp_path / "train.jsonl.tunelint-ignore"
    p = run_cli("ignore", f"{data}:2:59", "F005")
    assert p.returncode == 0 and side.exists(), p.stderr
    p = run_cli("check", str(data), "--isolated")
    codes = [(m["code"], m["line"]) for m in finding_lines(p.stdout)]
    assert ("F005", "2") not in codes and ("F007", "2") in codes  # only that code on that record
    # insert a record in front: the entry follows the record (content hash), not the line
    data.write_bytes(WARN_ONLY + data.read_bytes())
    codes = [m["code"] for m in finding_lines(run_cli("check", str(data), "--isolated").stdout)]
    assert "F005" not in codes and "F040" not in codes
    # repeating is harmless; a code with no finding there is an error
    assert "already in" in run_cli("ignore", f"{data}:3", "F005").stderr
    p = run_cli("ignore", f"{data}:4", "F005")
    assert p.returncode == 2 and "no F005 finding at" in p.stderr
    # the record is corrected: the entry matches nothing and is reported where it is
    data.write_bytes(data.read_bytes().replace(b"assitant", b"assistant"))
    p = run_cli("check", str(data), "--isolated")
    stale = [m for m in finding_lines(p.stdout) if m["code"] == "F040"]
    assert len(stale) == 1 and stale[0]["path"] == str(side) and stale[0]["line"] == "3", p.stdout


def test_add_ignore_suppresses_everything_and_fix_leaves_ignored_findings(tmp_path):
    data = data_copy(tmp_path)
    p = run_cli("check", str(data), "--isolated", "--add-ignore")
    assert p.returncode == 0 and "added 6 finding(s)" in p.stderr, p.stderr
    p = run_cli("check", str(data), "--isolated")
    assert p.returncode == 0 and "All checks passed" in p.stdout, p.stdout
    before = data.read_bytes()
    run_cli("check", str(data), "--isolated", "--fix")
    assert data.read_bytes() == before  # suppressed findings are not fixed either


# -- rules listing ---------------------------------------------------------------------------------
def test_rules_select_filters_and_nothing_is_cut_on_a_pipe():
    p = run_cli("rules", "--select", "C")
    codes = [line.split()[1] for line in p.stdout.splitlines() if line[:1] in ("✓", " ") and len(line.split()) > 2 and line.split()[1][:1].isupper() and line.split()[1][1:].isdigit()]
    assert codes and all(c.startswith("C") for c in codes), p.stdout
    p2 = run_cli("rules", "--select", "C", "--ignore", "C001")
    assert " C001 " not in p2.stdout and " C002 " in p2.stdout
    assert " F001 " in run_cli("rules", "--select", "C", "--all").stdout
    from tunelint.rules import builtin_pack

    full = run_cli("rules").stdout
    for r in builtin_pack().rules:  # every summary whole, no silent truncation
        assert " ".join(r.summary.split()) in full, r.code
    assert "…" not in full


def test_rules_on_a_narrow_terminal_cut_with_an_ellipsis():
    rc, _, tty = run_on_terminal("rules", stdout_too=True, env={"COLUMNS": "80"})
    rows = [line for line in tty.replace("\r", "").splitlines()
            if line.startswith(("✓", " ")) and not line.startswith("✓ enabled") and line.strip()]
    assert rc == 0 and rows and all(len(line) <= 80 for line in rows), [line for line in rows if len(line) > 80]
    assert any(line.endswith("…") for line in rows)


# -- messages --------------------------------------------------------------------------------------
def test_messages_role_did_you_mean_articles_and_plurals(tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assitant", "content": "b"}]}\n'
                 '{"messages": [{"role": "assistant", "content": "a", "foo": 1}, {"role": "user", "content": "c"}]}\n'
                 '{"conversations": [{"from": "humna", "value": "a"}, {"from": "gpt", "value": "b"}]}\n')
    import json

    doc = json.loads(run_cli("check", str(f), "--isolated", "--output-format", "json").stdout)
    msgs = [d["message"] for d in doc["diagnostics"]]
    assert any(m.startswith("unknown role 'assitant'") and m.endswith("it means 'assistant'") for m in msgs), msgs
    assert "unrecognized key 'foo' in an assistant message" in msgs, msgs
    assert "conversation ends with a user turn, not an assistant turn" in msgs, msgs
    from tunelint.words import article, format_message

    assert article("assistant") == "an assistant" and article("user") == "a user"
    assert format_message("({count:~record})", {"count": 1}) == "(1 record)"
    assert format_message("({count:~record})", {"count": 1200}) == "(1,200 records)"
    assert format_message("{n:~match/matches}", {"n": 2}) == "2 matches"
    p = run_cli("targets")
    assert "min 1 examples" not in p.stdout and "min 1 example " in p.stdout, p.stdout
    ws = tmp_path / "w.jsonl"
    ws.write_text('{"instruction": "a\\u0007", "input": "", "output": "b"}\n')
    out = run_cli("check", str(ws), "--isolated", "--select", "E005").stdout
    assert "1 control character," in out and "character(s)" not in out, out


# -- exact locations -------------------------------------------------------------------------------
def test_term_findings_point_at_the_span(tmp_path):
    """T001 (a dataset rule that holds no text) and T002 point at the word itself, also after
    escapes and non-ASCII characters earlier in the string (columns count code points)."""
    import json

    p = tmp_path / "t.jsonl"
    rows = [json.dumps({"instruction": "Use TensorFlow.", "input": "", "output": f"TensorFlow {i}"}) for i in range(8)]
    rows.append(json.dumps({"instruction": "Try \"é\"\n😀 with Tensorflow today.", "input": "", "output": "ok"}))
    rows.append(json.dumps({"instruction": "Say hi", "input": "", "output": "I like café and Tensorflow."}, ensure_ascii=False))
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = p.read_text(encoding="utf-8").splitlines()
    small = tmp_path / "small.toml"  # the default needs 200 records
    small.write_text('[rules.T001]\nmin-records = 1\n')
    doc = json.loads(run_cli("check", str(p), "--config", str(small), "--select", "T001", "--output-format", "json").stdout)
    t001 = [d for d in doc["diagnostics"] if d["code"] == "T001"]
    assert len(t001) == 2, doc
    for d in t001:
        assert d["column"] > 1
        assert lines[d["line"] - 1][d["column"] - 1:].startswith("Tensorflow"), (d, lines[d["line"] - 1])
    q = tmp_path / "g.jsonl"  # the shipped glossary prefers PyTorch
    q.write_text(json.dumps({"instruction": "Explain \"x\" in Pytorch", "input": "", "output": "Pytorch is nice"}) + "\n")
    doc = json.loads(run_cli("check", str(q), "--isolated", "--select", "T002", "--output-format", "json").stdout)
    line = q.read_text().splitlines()[0]
    t002 = [d for d in doc["diagnostics"] if d["code"] == "T002"]
    assert len(t002) == 2, doc
    assert all(line[d["column"] - 1:].startswith("Pytorch") for d in t002), t002


def test_t003_points_at_the_marker():
    demo = FIXTURES / "demo" / "train.jsonl"
    lines = demo.read_text(encoding="utf-8").splitlines()
    found = [m for m in finding_lines(run_cli("check", str(demo), "--isolated", "--select", "T003").stdout)]
    assert found
    for m in found:
        rest = lines[int(m["line"]) - 1][int(m["col"]) - 1:]
        assert rest.startswith(("<noinput>", "N/A")), rest


def test_string_columns_walk_escapes_exactly():
    import json

    from tunelint.locate import line_column_in_string

    for s in ["abc Tensorflow", "é\n\t😀 \\ \" Tensorflow", "Tensorflow"]:
        for ascii_only in (True, False):
            raw = json.dumps({"k": [s]}, ensure_ascii=ascii_only)
            ln, col = line_column_in_string(raw.encode(), "/k/0", s.index("Tensorflow"))
            assert ln == 1 and raw[col - 1:].startswith("Tensorflow"), (raw, col)
