"""Fix/check presets in rules/presets/*.toml, selected with `preset = "name"` in config."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli
from tunelint.config import ConfigError, load_config, presets_dir

PRESETS = sorted(p.stem for p in presets_dir().glob("*.toml"))


def test_presets_exist():
    assert {"openai-legacy", "alpaca-clean", "ci-strict"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_a_valid_config(name):
    cfg = load_config(data={"preset": name})
    assert cfg.enabled


def test_user_keys_override_preset_per_rule():
    cfg = load_config(data={"preset": "openai-legacy", "rules": {"P003": {"stop": "###END"}}})
    assert cfg.rule("P003").params["stop"] == "###END"
    assert cfg.rule("P001").params["separator"] == "\n\n###\n\n"
    assert cfg.target.name == "gpt-3.5-turbo"
    with pytest.raises(ConfigError, match="did you mean 'ci-strict'"):
        load_config(data={"preset": "ci-strikt"})


def test_openai_legacy_preset_standardizes_separators_and_stops(tmp_path):
    (tmp_path / "tunelint.toml").write_text('preset = "openai-legacy"\n')
    rows = [{"prompt": f"Question {i}?\n\n###\n\n", "completion": f" Answer {i}. END"} for i in range(6)]
    rows.append({"prompt": "Question x?", "completion": "Answer x."})
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = run_cli("check", "train.jsonl", "--output-format", "json", "--select", "P", cwd=tmp_path)
    got = {d["code"] for d in json.loads(p.stdout)["diagnostics"] if d["line"] == 7}
    assert {"P001", "P003", "P005"} <= got, p.stdout
    p = run_cli("fix", "train.jsonl", "-o", "out.jsonl", "--unsafe-fixes", "--select", "P", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    last = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[-1])
    assert last == {"prompt": "Question x?\n\n###\n\n", "completion": " Answer x. END"}
