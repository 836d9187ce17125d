"""Parsed YAML rule packs are cached as JSON, keyed by path, size, mtime, ctime, inode and version."""
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
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert rules._cache_dir() is None
    assert rules._yaml_load(f)["pack"] == "mine"
    assert not (tmp_path / "xdg").exists()  # nothing written anywhere
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(blocker))
    assert rules._yaml_load(f)["pack"] == "mine"  # cache cannot be created: parsed, no error


def _cached(tmp_path, monkeypatch):
    """PACK written, loaded once: (the pack file, its one cache entry)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(cache))
    f = tmp_path / "p.yaml"
    f.write_text(PACK)
    rules._yaml_load(f)
    (entry,) = _entries(cache)
    return f, cache / "packs" / entry


def test_a_corrupt_cache_entry_is_parsed_again(tmp_path, monkeypatch):
    f, entry = _cached(tmp_path, monkeypatch)
    entry.write_bytes(b"{truncated")
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


def test_no_usable_home_means_no_cache_never_a_relative_directory(monkeypatch):
    monkeypatch.delenv("TUNELINT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda p: p)  # a uid without a passwd entry: "~" stays
    assert rules._cache_dir() is None
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert rules._cache_dir() == "/var/cache/me/tunelint"


def test_same_size_edit_with_the_old_mtime_is_not_served_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELINT_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "p.yaml"
    f.write_text("pack: aaa\n")
    st = os.stat(f)
    assert rules._yaml_load(f) == {"pack": "aaa"}
    g = tmp_path / "q.yaml"
    g.write_text("pack: bbb\n")
    os.utime(g, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(g, f)  # same path, size and mtime (rsync -t, cp -p): another inode
    assert os.stat(f).st_mtime_ns == st.st_mtime_ns and os.stat(f).st_size == st.st_size
    assert rules._yaml_load(f) == {"pack": "bbb"}


def test_a_tampered_bytes_tag_is_parsed_again(tmp_path, monkeypatch):
    f, entry = _cached(tmp_path, monkeypatch)
    entry.write_text('{"pack": {"$tunelint-bytes": 5}}')
    assert rules._yaml_load(f)["pack"] == "mine"
