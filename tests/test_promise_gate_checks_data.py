"""A CI gate is green only if data was really checked: a broken pyproject.toml is an error, a
directory without dataset files is exit 2, discovery reads datasets only (not manifests,
snapshots, lookup tables, .gitignore'd files or tunelint's own rejects), and machine-readable
stdout is one document."""
from __future__ import annotations

import gzip
import json
import subprocess

import pytest

from conftest import run_cli
from tunelint.discover import Excluder, GitIgnore, iter_input_paths

GOOD = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}\n'
BAD = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]}\n'


def _tree(root, files: dict):
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
    return root


def _found(root, config=None):
    return sorted(str(p.relative_to(root)) for p in map(__import__("pathlib").Path, iter_input_paths([str(root)], config)))


def test_promise_gate_pyproject_toml_syntax_error_is_exit_2(tmp_path):
    _tree(tmp_path, {"pyproject.toml": "[tool.tunelint\nselect = [\"F\"]\n", "d.jsonl": GOOD})
    r = run_cli("check", str(tmp_path / "d.jsonl"), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pyproject.toml" in r.stderr and "invalid TOML" in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("cmd", [["check"], ["fix", "--in-place"]])
def test_promise_gate_directory_without_dataset_files_is_exit_2(tmp_path, cmd):
    _tree(tmp_path, {"empty/readme.txt": "no data here", "empty/package.json": '{\n  "name": "x"\n}\n'})
    r = run_cli(*cmd, str(tmp_path / "empty"), "--isolated")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"no dataset files found under {tmp_path / 'empty'}" in r.stderr
    assert "All checks passed" not in r.stdout


def test_promise_gate_discovery_reads_datasets_only(tmp_path):
    _tree(tmp_path, {
        "data/train.jsonl": GOOD,
        "data/array.json": "[\n" + GOOD.strip() + "\n]\n",
        "data/lines.json": GOOD + GOOD,
        "data/train.rejects.jsonl": '{"line": 2, "codes": ["F001"], "reason": "x", "text": "oops"}\n',
        "data/.tunelint-abc123.jsonl": "{half a rec",
        "package.json": '{\n  "name": "app",\n  "version": "1.0.0"\n}\n',
        "tests/snapshots/check.json": '{\n  "version": 1,\n  "diagnostics": []\n}\n',
        "src/pkg/data/lemmas.json.gz": gzip.compress(json.dumps({f"w{i}": f"l{i}" for i in range(20000)}).encode()),
        "node_modules/x/data.jsonl": BAD,
    })
    assert _found(tmp_path) == ["data/array.json", "data/lines.json", "data/train.jsonl"]


def test_promise_gate_rejects_file_never_fails_the_hook(tmp_path):
    """After one `check --fix --unsafe-fixes` run, the directory (and the rejects file named by
    pre-commit) still passes: tunelint never reads its own rejects."""
    _tree(tmp_path, {"d.jsonl": GOOD + BAD})
    r = run_cli("check", "--fix", "--unsafe-fixes", "--isolated", str(tmp_path))
    assert (tmp_path / "d.rejects.jsonl").exists(), r.stderr
    r = run_cli("check", "--isolated", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("check", "--isolated", str(tmp_path / "d.jsonl"), str(tmp_path / "d.rejects.jsonl"))
    assert r.returncode == 0 and "rejects file" in r.stderr, r.stdout + r.stderr


def test_promise_gate_gitignore_respected(tmp_path):
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git not installed")
    _tree(tmp_path, {
        ".gitignore": "out/\n*.tmp.jsonl\n/top.jsonl\n!keep.tmp.jsonl\n",
        "sub/.gitignore": "local.jsonl\n",
        "a.jsonl": GOOD, "top.jsonl": BAD, "x/top.jsonl": GOOD, "out/b.jsonl": BAD, "c.tmp.jsonl": BAD,
        "keep.tmp.jsonl": GOOD, "sub/local.jsonl": BAD, "sub/ok.jsonl": GOOD,
    })
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # what git itself says is ignored is what tunelint skips
    names = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.jsonl")]
    ign = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", *names], capture_output=True, text=True).stdout.split()
    want = sorted(set(names) - set(ign))
    assert _found(tmp_path) == want == ["a.jsonl", "keep.tmp.jsonl", "sub/ok.jsonl", "x/top.jsonl"]
    r = run_cli("check", "--isolated", str(tmp_path))
    assert r.returncode == 0, r.stdout
    from tunelint.config import load_config

    assert len(_found(tmp_path, load_config(data={"respect-gitignore": False}))) == 8


def test_promise_gate_exclude_options_follow_ruff(tmp_path):
    _tree(tmp_path, {"data/a.jsonl": GOOD, "data/old/b.jsonl": BAD, "data/c.bak.jsonl": BAD, "venv/d.jsonl": BAD})
    r = run_cli("check", "--isolated", str(tmp_path), "--extend-exclude", "old,*.bak.jsonl")
    assert r.returncode == 0 and "1 file" in r.stdout, r.stdout + r.stderr
    # --exclude replaces the defaults: venv is walked again
    r = run_cli("check", "--isolated", str(tmp_path), "--exclude", "old", "--exclude", "*.bak.jsonl")
    assert r.returncode == 1 and "venv" in r.stdout, r.stdout + r.stderr
    # config keys, with a path pattern relative to the project root
    _tree(tmp_path, {"tunelint.toml": 'extend-exclude = ["data/old", "*.bak.jsonl", "venv"]\n'})
    r = run_cli("check", str(tmp_path))
    assert r.returncode == 0 and "1 file" in r.stdout, r.stdout + r.stderr
    # named files are checked anyway (ruff), unless force-exclude (pre-commit)
    r = run_cli("check", str(tmp_path / "data" / "c.bak.jsonl"))
    assert r.returncode == 1
    r = run_cli("check", "--force-exclude", str(tmp_path / "data" / "c.bak.jsonl"))
    assert r.returncode == 0 and "excluded" in r.stderr
    _tree(tmp_path, {"tunelint.toml": 'exclude = "data"\n'})
    r = run_cli("check", str(tmp_path))
    assert r.returncode == 2 and "exclude must be a list" in r.stderr


def test_excluder_and_gitignore_units(tmp_path):
    ex = Excluder(None, ["data/raw", "*.bak.jsonl"], str(tmp_path))
    assert ex(str(tmp_path / ".cache")) and ex(str(tmp_path / "x" / "node_modules"))
    assert ex(str(tmp_path / "data" / "raw")) and ex(str(tmp_path / "data" / "raw" / "a.jsonl"))
    assert ex(str(tmp_path / "q" / "a.bak.jsonl")) and not ex(str(tmp_path / "data" / "a.jsonl"))
    (tmp_path / ".gitignore").write_text("**/gen/**\ndoc?.jsonl\n[ab].jsonl\n")
    gi = GitIgnore(str(tmp_path))
    gi.enter(str(tmp_path))
    assert gi.ignored(str(tmp_path / "x" / "gen" / "y.jsonl"), False)
    assert gi.ignored(str(tmp_path / "doc1.jsonl"), False) and not gi.ignored(str(tmp_path / "doc12.jsonl"), False)
    assert gi.ignored(str(tmp_path / "a.jsonl"), False) and not gi.ignored(str(tmp_path / "c.jsonl"), False)


def test_promise_gate_json_output_with_profile_is_one_document(tmp_path):
    _tree(tmp_path, {"d.jsonl": GOOD * 3 + BAD})
    r = run_cli("check", "--isolated", "--output-format", "json", "--profile", str(tmp_path / "d.jsonl"))
    doc = json.loads(r.stdout)
    assert doc["diagnostics"], r.stdout
    assert r.stderr.strip(), "the profile goes to stderr"
