"""Machine outputs: snapshots of every --output-format, SARIF schema and GitHub fields, workflow
command escaping, several outputs in one run, gate controls, the progress bar.

Snapshots live in tests/snapshots/check.<format>. After an intended change of output (a rule's
message, a new column), regenerate them and review the diff:

    TUNELINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_outputs.py
"""
from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, run_cli

from tunelint import __version__
from tunelint.diagnostic import Diagnostic
from tunelint.engine import FileStats, Result
from tunelint.render import RENDERERS

SNAPSHOTS = Path(__file__).parent / "snapshots"
FIXTURE = "fixtures/outputs"  # relative to ROOT: machine outputs carry relative paths
SELECT = ("--isolated",)
FORMATS = list(RENDERERS)  # a new renderer gets a snapshot too (TUNELINT_UPDATE_SNAPSHOTS=1)


def run_check(*args, env=None, cwd=ROOT):
    return run_cli("check", FIXTURE, *SELECT, *args, cwd=cwd, env=env)


def normalize(fmt: str, text: str) -> str:
    text = text.replace(__version__, "<VERSION>")
    if fmt == "sarif":
        doc = json.loads(text)
        run = doc["runs"][0]
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "file:///<SRCROOT>/"
        # rule texts come from rules/*.yaml (checked in test_sarif_rules_carry_rule_docs);
        # keep the snapshot about structure, not about other rule packs' wording
        used = {r["ruleId"] for r in run["results"]}
        rules = []
        for r in run["tool"]["driver"]["rules"]:
            if r["id"] in used:
                r = {**r, "fullDescription": {"text": "<doc>"},
                     "help": {"text": "<help>", "markdown": "<help>"}}
                rules.append(r)
        run["tool"]["driver"]["rules"] = rules
        for r in run["results"]:
            r.pop("ruleIndex")
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return text


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every format from ONE run: text on stdout, the others through -o FORMAT:FILE."""
    d = tmp_path_factory.mktemp("outputs")
    others = [f for f in FORMATS if f != "text"]
    p = run_check("--output-format", "text", *[a for f in others for a in ("-o", f"{f}:{d / f}")])
    assert p.returncode == 1, p.stderr
    return {"text": p.stdout, **{f: (d / f).read_text(encoding="utf-8") for f in others}}


@pytest.mark.parametrize("fmt", FORMATS)
def test_snapshot(fmt, outputs):
    got = normalize(fmt, outputs[fmt])
    snap = SNAPSHOTS / f"check.{fmt}"
    if os.environ.get("TUNELINT_UPDATE_SNAPSHOTS"):
        snap.write_text(got, encoding="utf-8")
    assert snap.exists(), f"missing snapshot {snap}; run with TUNELINT_UPDATE_SNAPSHOTS=1"
    assert got == snap.read_text(encoding="utf-8"), f"{fmt} output changed; review and regenerate with TUNELINT_UPDATE_SNAPSHOTS=1"


def test_the_machine_formats_are_registered():
    assert {"text", "json", "sarif", "github", "junit", "gitlab"} <= set(RENDERERS)


# -- SARIF --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif(outputs):
    return json.loads(outputs["sarif"])


def test_sarif_validates_against_the_2_1_0_schema(sarif):
    import jsonschema

    schema = json.loads((SNAPSHOTS / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(v.iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    # the schema is strict: a misspelt property is caught
    bad = json.loads(json.dumps(sarif))
    bad["runs"][0]["results"][0]["ruleID"] = "x"
    assert not v.is_valid(bad)


def test_sarif_has_what_github_code_scanning_requires(sarif):
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "tunelint" and driver["version"] == __version__
    rules = {r["id"]: r for r in driver["rules"]}
    for r in driver["rules"]:
        for key in ("id", "name", "shortDescription", "fullDescription", "help", "helpUri"):
            assert r.get(key), (r["id"], key)
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert r["helpUri"].endswith("#" + r["id"].lower())
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] in rules
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["artifactLocation"]["uri"].startswith("fixtures/outputs/")
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert re.fullmatch(r"[0-9a-f]{32}", res["partialFingerprints"]["tunelint/v1"])
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    fps = [r["partialFingerprints"]["tunelint/v1"] for r in run["results"]]
    assert len(set(fps)) == len(fps)


def test_sarif_levels_map_severities():
    from tunelint.render.sarif import LEVELS

    assert LEVELS == {"error": "error", "warning": "warning", "info": "note"}


def test_sarif_rules_carry_rule_docs():
    from tunelint.config import load_config
    from tunelint.render.sarif import build

    cfg = load_config(None, ".", isolated=True)
    doc = build(Result([], []), cfg)
    by_code = {r.code: r for r in cfg.rules}
    descriptors = doc["runs"][0]["tool"]["driver"]["rules"]
    for r in descriptors:
        rule = by_code[r["id"]]
        assert r["name"] == rule.name
        assert r["shortDescription"]["text"] == rule.summary.strip()
        if rule.doc:
            assert rule.doc.strip()[:40].replace("\n", " ") in r["help"]["markdown"].replace("\n", " ")
    assert [r["id"] for r in descriptors] == sorted(r.code for r in cfg.enabled)


def _sarif_for(tmp_path, lines: list[str]) -> dict:
    from tunelint.config import load_config
    from tunelint.engine import check_paths
    from tunelint.render.sarif import build

    f = tmp_path / "data.jsonl"
    f.write_text("".join(x + "\n" for x in lines))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cfg = load_config(None, ".", isolated=True)
        return build(check_paths(["data.jsonl"], cfg), cfg)
    finally:
        os.chdir(cwd)


def _fps(doc) -> dict:
    return {(r["ruleId"], r["message"]["text"].split(" [")[-1]): r["partialFingerprints"]["tunelint/v1"]
            for r in doc["runs"][0]["results"]}


def test_sarif_fingerprints_survive_moving_records(tmp_path):
    a = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "hello"}]}'
    b = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok "}]}'
    filler = [f'{{"messages": [{{"role": "user", "content": "n{i}"}}, {{"role": "assistant", "content": "m{i}"}}]}}' for i in range(3)]
    first = _sarif_for(tmp_path, [a, *filler, b])
    moved = _sarif_for(tmp_path, [b, *filler[::-1], a])
    lines1 = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in first["runs"][0]["results"]}
    lines2 = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved["runs"][0]["results"]}
    assert lines1 != lines2  # the findings really moved
    assert _fps(first) and _fps(first) == _fps(moved)


def test_sarif_fingerprint_changes_with_content(tmp_path):
    a = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "hello"}]}'
    one = _fps(_sarif_for(tmp_path, [a]))
    two = _fps(_sarif_for(tmp_path, [a.replace("hello", "hello there")]))
    assert one.keys() == two.keys() and set(one.values()).isdisjoint(two.values())


# -- GitHub workflow commands ------------------------------------------------------------------

def _diag(**kw) -> Diagnostic:
    base = dict(code="E009", name="trailing-whitespace", severity="warning", path="data/a.jsonl",
                line=3, column=5, pointer="", message="m", record_hash="ab" * 12)
    base.update(kw)
    return Diagnostic(**base)


def _render(fmt: str, diags, files=None) -> str:
    from tunelint.config import load_config
    from tunelint.render import get

    files = files or [FileStats(p, lines=5, records=5) for p in dict.fromkeys(d.path for d in diags)]
    out = io.StringIO()
    get(fmt)(Result(list(diags), files), load_config(None, ".", isolated=True), out, {})
    return out.getvalue()


def test_github_escapes_data_and_properties():
    from tunelint.render.github import annotation

    d = _diag(path="dir,x/a:b%.jsonl", message="100% sure,\nnext: line\r", pointer="/a")
    line = annotation(d)
    assert line == ("::warning file=dir%2Cx/a%3Ab%25.jsonl,line=3,col=5,title=E009::"
                    "100%25 sure,%0Anext: line%0D [/a]")
    assert "\n" not in line


def test_github_levels_groups_and_summary_first():
    diags = [_diag(path="a.jsonl", severity="error", code="F001", name="invalid-json"),
             _diag(path="a.jsonl", line=4),
             _diag(path="b.jsonl", severity="info", code="S001", name="x", line=0, column=1)]
    out = _render("github", diags).splitlines()
    assert out[0].startswith("::error title=tunelint::Found 1 error, 1 warning and 1 info in 10 records in 2 files")
    assert out[1] == "::group::a.jsonl (2 findings)"
    assert out[2].startswith("::error file=a.jsonl,line=3,col=5,title=F001::")
    assert out[3].startswith("::warning file=a.jsonl,line=4,")
    assert out[4] == "::endgroup::"
    assert out[5] == "::group::b.jsonl (1 finding)"
    assert out[6].startswith("::notice file=b.jsonl,title=S001::")  # file-level: no line/col
    assert out[7] == "::endgroup::"


def test_github_clean_run_has_no_annotations():
    out = _render("github", [], files=[FileStats("a.jsonl", records=3)])
    assert "::" not in out and "all checks passed" in out


def test_github_is_the_default_on_github_actions_and_writes_a_job_summary(tmp_path):
    summary_file = tmp_path / "summary.md"
    summary_file.write_text("earlier step\n")
    p = run_check(env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary_file)})
    assert p.returncode == 1
    assert p.stdout.startswith("::error title=tunelint::")
    assert "::error file=fixtures/outputs/train.jsonl,line=3,col=" in p.stdout
    md = summary_file.read_text()
    assert md.startswith("earlier step\n### tunelint\n")
    assert "| `F001` | invalid-json | error | 1 |" in md
    assert "Found 4 errors, 3 warnings and 0 info in 6 records in 2 files." in md
    p = run_check("--output-format", "text", env={"GITHUB_ACTIONS": "true"})
    assert "::error" not in p.stdout


# -- JUnit, GitLab -------------------------------------------------------------------------------

def test_junit_is_well_formed_and_counts_findings():
    diags = [_diag(message="bell \x07 <tag> & \ud800 \"q\""), _diag(line=4, severity="error")]
    files = [FileStats("data/a.jsonl", records=5), FileStats("data/clean.jsonl", records=2)]
    root = ET.fromstring(_render("junit", diags, files).encode("utf-8"))
    assert root.tag == "testsuites" and root.get("failures") == "2" and root.get("tests") == "3"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["data/a.jsonl"].get("failures") == "2"
    assert len(suites["data/clean.jsonl"].findall("testcase/failure")) == 0
    fails = suites["data/a.jsonl"].findall("testcase/failure")
    assert [f.get("type") for f in fails] == ["warning", "error"]
    assert "<tag> & " in fails[0].get("message") and "\x07" not in fails[0].get("message")


def test_gitlab_code_quality_shape():
    diags = [_diag(), _diag(), _diag(severity="error", path=str(ROOT / "x.jsonl"), line=0)]
    items = json.loads(_render("gitlab", diags))
    assert len(items) == 3
    for it in items:
        assert set(it) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert it["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert it["location"]["lines"]["begin"] >= 1
    assert len({it["fingerprint"] for it in items}) == 3  # identical findings stay distinct
    assert [it["severity"] for it in items] == ["minor", "minor", "major"]


# -- several outputs, gate controls ----------------------------------------------------------------

def test_several_outputs_in_one_run(tmp_path):
    sarif_file = tmp_path / "out.sarif"
    junit_file = tmp_path / "out.xml"
    p = run_check("--output-format", "github", "--output", f"sarif:{sarif_file}", "-o", f"junit:{junit_file}")
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith("::error title=tunelint::")
    doc = json.loads(sarif_file.read_text())
    assert doc["runs"][0]["results"]
    ET.fromstring(junit_file.read_bytes())
    n = len(doc["runs"][0]["results"])
    assert p.stdout.count("::error file=") + p.stdout.count("::warning file=") + p.stdout.count("::notice file=") == n


def test_bad_output_spec_and_unknown_format_are_usage_errors(tmp_path):
    p = run_check("--output", "sarif")
    assert p.returncode == 2 and "FORMAT:FILE" in p.stderr and "Traceback" not in p.stderr
    p = run_check("--output-format", "sarf")
    assert p.returncode == 2 and "sarif" in p.stderr and "Traceback" not in p.stderr


def test_strict_and_exit_zero(tmp_path):
    f = tmp_path / "w.jsonl"  # warnings only (trailing whitespace)
    f.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ok "}]}\n')
    assert run_cli("check", str(f), "--isolated", "--strict").returncode == 1
    assert run_cli("check", str(f), "--isolated", "--strict", "--exit-zero").returncode == 0
    assert run_check("--exit-zero").returncode == 0
    from tunelint.cli import exit_code

    warn = Result([_diag()], [])
    assert exit_code(warn, strict=False, exit_zero=False) == 0
    assert exit_code(warn, strict=True, exit_zero=False) == 1


# -- progress ----------------------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_when_not_a_terminal():
    from tunelint.progress import Progress

    s = io.StringIO()
    p = Progress(s)
    p.update("a.jsonl", 5, 10)
    p.close()
    assert s.getvalue() == ""


def test_progress_redraws_at_most_ten_times_a_second_and_clears():
    from tunelint.progress import Progress

    now = [0.0]
    s = _Tty()
    p = Progress(s, clock=lambda: now[0])
    for i in range(100):  # 100 updates within 0.99 s
        now[0] = i / 100
        p.update("data/train.jsonl", i * 1000, 100_000)
    frames = s.getvalue().count("\r\x1b[2K")
    assert 1 <= frames <= 10
    assert "data/train.jsonl" in s.getvalue() and "%" in s.getvalue()
    p.close()
    assert s.getvalue().endswith("\r\x1b[2K")
    before = s.getvalue()
    p.close()  # idempotent
    assert s.getvalue() == before


def test_progress_line_fits_and_handles_unknown_totals():
    from tunelint.progress import Progress

    p = Progress(_Tty(), clock=lambda: 1.0)
    line = p.line("x/" * 200 + "train.jsonl", 50, 100)
    assert len(line) <= 160 and " 50%" in line and "train.jsonl" in line
    assert "[working]" in p.line("-", 10, 0)
    assert "[working]" in p.line("a.jsonl.gz", 10, 5)  # decompressed bytes vs size on disk


def test_sarif_keeps_the_most_severe_results_within_githubs_limit(monkeypatch, capsys):
    import tunelint.render.sarif as sarif_mod

    monkeypatch.setattr(sarif_mod, "MAX_RESULTS", 3)
    diags = [_diag(line=i, severity=s, record_hash=f"{i:024x}")
             for i, s in enumerate(["info", "warning", "error", "info", "error", "warning"], 1)]
    doc = json.loads(_render("sarif", diags))
    run = doc["runs"][0]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]] == [2, 3, 5]
    assert run["properties"]["omittedResults"] == 3
    assert "keeps 3 of 6 results" in capsys.readouterr().err

