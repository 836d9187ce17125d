"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` in a temporary git repo.

`pre-commit try-repo` installs tunelint from this checkout into its own environment (as a
user's `pre-commit install` would from the published repo), so this covers the manifest,
the `files:` pattern, the entry point and exit codes end to end. ~30 s (the install).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


@pytest.fixture(scope="module")
def pc_home(tmp_path_factory):
    pytest.importorskip("pre_commit")
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo, hook, pc_home):
    env = {**os.environ, "PRE_COMMIT_HOME": str(pc_home), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=900)


def test_manifest_declares_both_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"tunelint", "tunelint-fix"}
    import re

    for h in hooks.values():
        pat = re.compile(h["files"])
        assert pat.search("data/train.jsonl") and pat.search("x.jsonl.gz") and not pat.search("notes.json.txt")


def test_hook_blocks_bad_data_and_passes_clean_data(tmp_path, pc_home):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(FIXTURES / "core" / "chat_bad.jsonl", repo / "train.jsonl")
    (repo / "README.txt").write_text("not a dataset: the hook must not look at me {")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "data")
    p = try_repo(repo, "tunelint", pc_home)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert re.search(r"train.jsonl:2:\d+: error: F005", out) and "README.txt" not in out.split("Using config")[-1].split("tunelint....")[-1]

    shutil.copy(FIXTURES / "core" / "chat_ok.jsonl", repo / "train.jsonl")
    _git(repo, "commit", "-qam", "clean")
    p = try_repo(repo, "tunelint", pc_home)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Passed" in p.stdout
