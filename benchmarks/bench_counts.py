"""Findings per code on every dataset file, before and after a change, in one table.

    python benchmarks/bench_counts.py [--before REV] [--after REV] [--data DIR] [--code C002,T003]

Each side is a git revision (default: ``--before main``, ``--after`` the working tree). A
revision is exported with ``git archive`` into a temporary directory and run from there
(``python -m tunelint check --isolated --output-format json``, one process per file, the
default rule selection), so the two sides share nothing but the data. Prints, per file:
the record count, the share of records with at least one finding (and how many records only
one side flags: a record flagged before and not after is a detection lost), and the count per code
on each side (only codes that occur on either side), then the totals over all files.
``--code`` limits the per-code lines to some codes (the totals still count all).

Default data: ``../shared/data`` (every ``*.jsonl``/``*.json`` file under it).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_DATA = os.path.join(ROOT, "..", "..", "shared", "data")


def export(rev: str, into: str, side: str) -> str:
    """The tree of ``rev`` (or the working tree for ``WORKTREE``) as a directory to run from."""
    if rev == "WORKTREE":
        return ROOT
    d = os.path.join(into, side)
    os.makedirs(d)
    blob = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", rev], check=True, capture_output=True).stdout
    tar = os.path.join(into, "t.tar")
    with open(tar, "wb") as f:
        f.write(blob)
    with tarfile.open(tar) as t:
        t.extractall(d, filter="data") if sys.version_info >= (3, 12) else t.extractall(d)
    os.remove(tar)
    return d


def run(tree: str, path: str, cache: str) -> tuple[collections.Counter, int, set]:
    """(count per code, records, the records with a finding) for one file. A record is its
    line in a JSONL file; in a JSON array (where a finding's line may be inside a record) its
    hash, or the line for findings without one."""
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, "src"), TUNELINT_CACHE_DIR=cache)
    p = subprocess.run([sys.executable, "-m", "tunelint", "check", path, "--isolated", "--output-format", "json",
                        "--exit-zero", "-q"], capture_output=True, text=True, env=env, cwd=tree)
    if p.returncode != 0:
        raise SystemExit(f"{tree}: check {path} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    out = json.loads(p.stdout)
    counts = collections.Counter(d["code"] for d in out["diagnostics"])
    jsonl = path.endswith((".jsonl", ".jsonl.gz"))
    flagged = {d["line"] if jsonl or not d.get("record_hash") else d["record_hash"]
               for d in out["diagnostics"] if d.get("line")}
    records = sum(f.get("records", 0) for f in out.get("files", [])) if isinstance(out.get("files"), list) else 0
    return counts, records, flagged


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="main")
    ap.add_argument("--after", default="WORKTREE")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--code", default="", help="only these codes in the per-code lines (comma-separated)")
    a = ap.parse_args()
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(a.data) for f in fs if f.endswith((".jsonl", ".json")))
    only = {c.strip() for c in a.code.split(",") if c.strip()}
    total = {"before": collections.Counter(), "after": collections.Counter()}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {side: export(rev, tmp, side) for side, rev in (("before", a.before), ("after", a.after))}
        print(f"before = {a.before}, after = {a.after}; data = {os.path.normpath(a.data)}")
        for path in files:
            res = {side: run(trees[side], path, os.path.join(tmp, "cache-" + side)) for side in trees}
            name = os.path.relpath(path, a.data)
            (cb, nb, sb), (ca, na, sa) = res["before"], res["after"]
            fb, fa = len(sb), len(sa)
            n = na or nb
            share = (lambda k: f"{k:,} ({100 * k / n:.1f}%)" if n else f"{k:,}")
            print(f"\n{name}: {n:,} records; records flagged {share(fb)} -> {share(fa)}; "
                  f"flagged before and not after: {len(sb - sa):,}; newly flagged: {len(sa - sb):,}")
            print(f"  {'code':<6} {'before':>8} {'after':>8} {'change':>8}")
            for code in sorted(set(cb) | set(ca)):
                total["before"][code] += cb[code]
                total["after"][code] += ca[code]
                if only and code not in only:
                    continue
                d = ca[code] - cb[code]
                print(f"  {code:<6} {cb[code]:>8,} {ca[code]:>8,} {d:>+8,}" if d else f"  {code:<6} {cb[code]:>8,} {ca[code]:>8,} {'':>8}")
        tb, ta = total["before"], total["after"]
        print(f"\nall files: {sum(tb.values()):,} -> {sum(ta.values()):,} findings")
        for code in sorted(set(tb) | set(ta)):
            if only and code not in only:
                continue
            print(f"  {code:<6} {tb[code]:>8,} {ta[code]:>8,} {ta[code] - tb[code]:>+8,}")


if __name__ == "__main__":
    main()
