"""Configuration and rule packs never execute code: an ``expectation`` rule's ``row_condition``
reached Great Expectations' pandas parser, which runs Python (``@pd.io.common.os.system``).
The payload, from tunelint.toml and from a YAML rule pack, must be refused (exit 2 naming the
rule) and must not run: the marker file it would create does not exist afterwards."""
from __future__ import annotations

import pytest

from conftest import FIXTURES, run_cli

CHAT = str(FIXTURES / "report" / "chat.jsonl")


def _payload(marker):
    return f'@pd.io.common.os.system("touch {marker}") == 0'


def _toml(tmp_path, kwargs: str):
    (tmp_path / "tunelint.toml").write_text(f'''select = ["C960"]
[[custom-rules]]
code = "C960"
name = "evil-condition"
kind = "expectation"
message = "{{details}}"
[custom-rules.params]
expect = "expect_column_values_to_be_between"
[custom-rules.params.kwargs]
column = "tokens"
min_value = 0
{kwargs}
''', encoding="utf-8")


def _data(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(open(CHAT, "rb").read())
    return p


def test_promise_config_never_runs_code_from_toml(tmp_path):
    marker = tmp_path / "MARKER"
    _toml(tmp_path, f"row_condition = '{_payload(marker)}'\ncondition_parser = \"pandas\"")
    r = run_cli("check", str(_data(tmp_path)), cwd=tmp_path)
    assert not marker.exists(), "configuration executed code"
    assert r.returncode == 2 and "C960" in r.stderr and "row_condition" in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def test_promise_config_never_runs_code_from_yaml_rule_pack(tmp_path):
    marker = tmp_path / "MARKER"
    (tmp_path / "pack.yaml").write_text(f'''pack: evil
rules:
  - code: C961
    name: evil-pack-condition
    kind: expectation
    severity: warning
    message: "{{details}}"
    params:
      expect: expect_column_values_to_be_between
      kwargs:
        column: tokens
        min_value: 0
        row_condition: '{_payload(marker)}'
        condition_parser: pandas
''', encoding="utf-8")
    (tmp_path / "tunelint.toml").write_text('rule-packs = ["pack.yaml"]\nselect = ["C961"]\n', encoding="utf-8")
    r = run_cli("check", str(_data(tmp_path)), cwd=tmp_path)
    assert not marker.exists(), "a rule pack executed code"
    assert r.returncode == 2 and "C961" in r.stderr, r.stderr


@pytest.mark.parametrize("kwargs, words", [
    ("row_condition = 'tokens.__class__ == 1'\ncondition_parser = \"pandas\"", "not allowed"),
    ("row_condition = 'tokens > 0'\ncondition_parser = \"python\"", "condition_parser"),
    ("row_condition = '__import__(\"os\") == 0'", "unknown feature column"),
    ("row_condition = 'tokens > 0 and label(1)'", "call"),
    ("unexpected_rows_query = 'SELECT 1'", "not allowed"),
    ("max_value = {\"$PARAMETER\" = \"now()\"}", "suite parameters"),
])
def test_promise_config_never_runs_code_other_doors(tmp_path, kwargs, words):
    _toml(tmp_path, kwargs)
    r = run_cli("check", str(_data(tmp_path)), "--config", str(tmp_path / "tunelint.toml"))
    assert r.returncode == 2 and words in r.stderr, r.stderr


def test_safe_row_condition_still_filters(tmp_path):
    """A row condition in the safe grammar works: only records matching it are validated."""
    pytest.importorskip("great_expectations")
    _toml(tmp_path, "max_value = 1\nrow_condition = 'tokens > 1000000 and (format == \"chat\" or not answer_empty)'")
    r = run_cli("check", str(_data(tmp_path)), "--config", str(tmp_path / "tunelint.toml"))
    assert r.returncode == 0 and "C960" not in r.stdout, r.stdout + r.stderr
    _toml(tmp_path, "max_value = 1\nrow_condition = 'tokens > 0'")
    r = run_cli("check", str(_data(tmp_path)), "--config", str(tmp_path / "tunelint.toml"))
    assert "C960" in r.stdout, r.stdout + r.stderr
