"""Install footprint: fresh-venv size and package count (core vs ``[all]``), and the pre-commit
hook's environment size and first-run time.

    python benchmarks/bench_install.py [--repo PATH] [--peer PATH] [--what core,all,hook] [--work DIR]

``--repo`` is the checkout to measure (default: this one); ``--peer`` an older checkout to
measure in the same run for comparison (e.g. a clone of the commit before the extras, made
with ``git clone -q . /tmp/tl-before && git -C /tmp/tl-before checkout <commit>``).

- ``core``: ``python -m venv`` + ``pip install REPO`` (no extras); ``all``: ``pip install
  'REPO[all]'`` (a checkout without an ``all`` extra installs its plain requirements). For
  each: wall time of venv + install, ``du`` of the venv, and the number of installed
  distributions (pip, setuptools and wheel not counted).
- ``hook``: ``pre-commit run tunelint --all-files`` in a throwaway git repository holding one
  small JSONL file and a ``.pre-commit-config.yaml`` naming REPO at its HEAD commit, with an
  empty ``PRE_COMMIT_HOME``: the first-run time a user sees (clone, environment, install, the
  check), a second (warm) run, and the size of what pre-commit installed. REPO must be a git
  checkout; uncommitted changes are not measured.

Every pip run has ``PIP_NO_CACHE_DIR=1`` so nothing comes from an earlier run's wheel cache:
timings include downloads and depend on the network. Needs pip access. Prints figures;
asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SKIP = {"pip", "setuptools", "wheel"}


def du(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                try:
                    total += os.lstat(p).st_size
                except OSError:
                    pass
    return total


def _env() -> dict:
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("GITHUB_ACTIONS", None)
    return env


def has_extra(repo: str, extra: str) -> bool:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return True
    with open(os.path.join(repo, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    return extra in meta.get("project", {}).get("optional-dependencies", {})


def venv_install(repo: str, extra: str | None, work: str) -> dict:
    venv = tempfile.mkdtemp(prefix="venv-", dir=work)
    spec = repo if extra is None or not has_extra(repo, extra) else f"{repo}[{extra}]"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    r = subprocess.run([py, "-m", "pip", "install", "-q", spec], capture_output=True, text=True, env=_env())
    secs = time.perf_counter() - t0
    if r.returncode:
        return {"error": (r.stderr or r.stdout).strip().splitlines()[-1:]}
    pkgs = json.loads(subprocess.run([py, "-m", "pip", "list", "--format=json"], capture_output=True,
                                     text=True, check=True, env=_env()).stdout)
    n = sum(1 for p in pkgs if p["name"].lower() not in SKIP)
    out = {"install_s": round(secs, 1), "size_mb": round(du(venv) / 1e6), "packages": n}
    shutil.rmtree(venv, ignore_errors=True)
    return out


def hook_first_run(repo: str, work: str) -> dict:
    """``pre-commit run`` of the ``tunelint`` hook from REPO's HEAD commit (as a user's
    ``.pre-commit-config.yaml`` would name it) with an empty ``PRE_COMMIT_HOME``: the first run
    creates the hook's environment; a second run shows the warm cost."""
    home = tempfile.mkdtemp(prefix="pc-home-", dir=work)
    data = tempfile.mkdtemp(prefix="pc-repo-", dir=work)
    env = {**_env(), "PRE_COMMIT_HOME": home, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    rev = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(data, "train.jsonl"), "w") as f:
        for i in range(20):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"What is {i} + {i}?"},
                                             {"role": "assistant", "content": f"It is {2 * i}."}]}) + "\n")
    with open(os.path.join(data, ".pre-commit-config.yaml"), "w") as f:
        f.write(f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: tunelint\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "data"]):
        subprocess.run(["git", *args], cwd=data, check=True, capture_output=True, env=env)
    cmd = [sys.executable, "-m", "pre_commit", "run", "tunelint", "--all-files"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=data, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    t1 = time.perf_counter()
    subprocess.run(cmd, cwd=data, capture_output=True, text=True, env=env)
    again = time.perf_counter() - t1
    out = {"first_run_s": round(secs, 1), "second_run_s": round(again, 1), "env_mb": round(du(home) / 1e6),
           "exit": r.returncode}
    if r.returncode not in (0, 1):
        out["tail"] = (r.stdout + r.stderr).strip().splitlines()[-3:]
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    return out


def measure(repo: str, what: list[str], work: str) -> dict:
    res = {}
    if "core" in what:
        res["core"] = venv_install(repo, None, work)
        print(f"  core: {res['core']}", flush=True)
    if "all" in what:
        res["all"] = venv_install(repo, "all", work)
        print(f"  all:  {res['all']}", flush=True)
    if "hook" in what:
        res["hook"] = hook_first_run(repo, work)
        print(f"  hook: {res['hook']}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=ROOT)
    ap.add_argument("--peer", help="another checkout measured in the same run (e.g. before the change)")
    ap.add_argument("--what", default="core,all,hook")
    ap.add_argument("--work", default=None, help="scratch directory (default: a new one under /tmp)")
    a = ap.parse_args()
    what = [w.strip() for w in a.what.split(",") if w.strip()]
    work = a.work or tempfile.mkdtemp(prefix="tunelint-bench-install-")
    os.makedirs(work, exist_ok=True)
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}; pip cache off", flush=True)
    for label, repo in (("peer", a.peer), ("this", a.repo)):
        if not repo:
            continue
        print(f"{label}: {repo}", flush=True)
        measure(os.path.abspath(repo), what, work)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
