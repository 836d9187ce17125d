"""Parsed YAML rule packs are cached as JSON, keyed by path, size, mtime and version."""
from __future__ import annotations

import os

from tunelint import rules

PACK = """pack: mine
rules:
  - code: C950
    name: no-foo
    kind: existence
    summary: foo appears.
    message: "'{match}' appears"
    params: {tokens: [foo]}
"""


def _entries(d):
    p = os.path.join(d, "packs")
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def test_second_load_reads_the_cache_and_an_edit_is_a_new_key(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(cache))
    f = tmp_path / "p.yaml"
    f.write_text(PACK)
    first = rules._yaml_load(f)
    assert first["rules"][0]["code"] == "C950" and len(_entries(cache)) == 1

    def no_yaml(path):
        raise AssertionError("parsed again")

    monkeypatch.setattr(rules, "_yaml_parse", no_yaml)
    assert rules._yaml_load(f) == first  # from the cache
    f.write_text(PACK.replace("foo", "bar"))
    os.utime(f, ns=(1, 1))  # a different mtime as well as a different size
    monkeypatch.undo()
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(cache))
    assert rules._yaml_load(f)["rules"][0]["params"] == {"tokens": ["bar"]}
    assert len(_entries(cache)) == 2


def test_empty_cache_dir_disables_and_an_unwritable_one_is_ignored(tmp_path, monkeypatch):
    f = tmp_path / "p.yaml"
    f.write_text(PACK)
    monkeypatch.setenv("TUNELINT_CACHE_DIR", "")
    assert rules._yaml_load(f)["pack"] == "mine"
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(blocker))
    assert rules._yaml_load(f)["pack"] == "mine"  # cache cannot be created: parsed, no error


def test_a_corrupt_cache_entry_is_parsed_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(cache))
    f = tmp_path / "p.yaml"
    f.write_text(PACK)
    rules._yaml_load(f)
    (entry,) = _entries(cache)
    (cache / "packs" / entry).write_bytes(b"{truncated")
    assert rules._yaml_load(f)["rules"][0]["name"] == "no-foo"


def test_binary_values_survive_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "p.yaml"
    f.write_text("examples:\n  fail: [{data: !!binary eyJwcm9tcHQiOiAiY2Fm6SJ9}]\n  pass: [{x: 1.5, y: null}]\n")
    want = rules._yaml_parse(f)
    assert isinstance(want["examples"]["fail"][0]["data"], bytes)
    assert rules._yaml_load(f) == want
    assert len(_entries(tmp_path / "cache")) == 1
    monkeypatch.setattr(rules, "_yaml_parse", None)  # must come from the cache now
    assert rules._yaml_load(f) == want
