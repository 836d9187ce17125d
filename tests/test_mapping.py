"""Column and role mapping (tunelint.mapping): LLaMA-Factory dataset_info.json, Axolotl datasets:,
[tool.tunelint.mapping]; findings point at the file's own keys."""
from __future__ import annotations

import json
import shutil

import pytest

import tunelint
from conftest import FIXTURES, run_cli
from tunelint.config import ConfigError, load_config
from tunelint.mapping import Mapping, from_axolotl_entry, from_dataset_info_entry

LF = FIXTURES / "mapping" / "llamafactory"
AX = FIXTURES / "mapping" / "axolotl"


def found(res):
    return sorted((d.path.rsplit("/", 1)[-1], d.line, d.code, d.pointer) for d in res.diagnostics)


def test_dataset_info_next_to_the_data_maps_columns_and_tags():
    res = tunelint.check(str(LF), {})
    assert sorted(f.path.rsplit("/", 1)[-1] for f in res.files) == ["chatml.jsonl", "qr.jsonl"]  # not dataset_info.json
    assert found(res) == [("chatml.jsonl", 2, "F007", "/messages"), ("chatml.jsonl", 2, "F014", "/messages/1"),
                          ("qr.jsonl", 2, "E009", "/response")]
    assert {f.path.rsplit("/", 1)[-1]: f.format for f in res.files} == {"qr.jsonl": "alpaca", "chatml.jsonl": "sharegpt"}


def test_without_the_mapping_the_columns_are_unknown(tmp_path):
    shutil.copy(LF / "qr.jsonl", tmp_path / "qr.jsonl")
    assert {d.code for d in tunelint.check(str(tmp_path / "qr.jsonl"), {}).diagnostics} == {"F020"}


def test_axolotl_datasets_through_the_cli():
    p = run_cli("check", "--isolated", "--mapping", str(AX / "axolotl.yaml"), str(AX / "data"), "--output-format", "json")
    doc = json.loads(p.stdout)
    got = sorted((d["path"].rsplit("/", 1)[-1], d["code"], d["pointer"]) for d in doc["diagnostics"])
    assert got == [("conv.jsonl", "F005", "/conversations/1/from"), ("conv.jsonl", "F007", "/conversations")]
    assert sorted(doc["summary"]["formats"].values()) == ["alpaca", "chat"]


def test_config_table_and_tunelint_toml(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"q": "Name a colour.", "a": " Blue."}\n')
    cfg = {"mapping": {"keys": {"instruction": "q", "output": "a"}}}
    assert found(tunelint.check(str(tmp_path / "d.jsonl"), cfg)) == [("d.jsonl", 1, "E009", "/a")]
    (tmp_path / "tunelint.toml").write_text('[mapping]\nkeys = {instruction = "q", output = "a"}\n')
    p = run_cli("check", str(tmp_path / "d.jsonl"), "--config", str(tmp_path / "tunelint.toml"))
    assert "[/a]" in p.stdout and "F020" not in p.stdout, p.stdout


def test_fix_edits_the_files_own_keys(tmp_path):
    shutil.copytree(LF, tmp_path / "lf")
    res = tunelint.fix(str(tmp_path / "lf" / "qr.jsonl"), {})
    assert res.records[1] == {"query": "What is two plus two?", "response": "Two plus two is four.", "sys": "Answer briefly."}


def test_bad_mapping_config_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'kyes'"):
        load_config(data={"mapping": {"kyes": {"instruction": "q"}}})
    with pytest.raises(ConfigError, match="a table of names"):
        load_config(data={"mapping": {"keys": {"instruction": 3}}})
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ConfigError, match="dataset_info.json or an Axolotl"):
        load_config(data={"mapping": {"from": str(tmp_path / "m.txt")}})


def test_mapping_apply_and_unmap_round_trip():
    m = from_dataset_info_entry({"formatting": "sharegpt", "columns": {"messages": "msgs", "system": "sys"},
                                 "tags": {"role_tag": "role", "content_tag": "text", "user_tag": "user", "assistant_tag": "bot"}}, "x")
    obj = {"msgs": [{"role": "user", "text": "hi"}, {"role": "bot", "text": "yo"}], "sys": "s"}
    assert m.apply(obj) == {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "system": "s"}
    assert m.unmap("/conversations/1/value") == "/msgs/1/text" and m.unmap("/system") == "/sys" and m.format == "sharegpt"
    a = from_axolotl_entry({"type": "chat_template", "field_messages": "conv", "message_field_role": "speaker",
                            "roles": {"assistant": ["model", "gpt"]}}, "y")
    assert a.apply({"conv": [{"speaker": "model", "content": "x"}]}) == {"messages": [{"role": "assistant", "content": "x"}]}
    assert Mapping().identity
