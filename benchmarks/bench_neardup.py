"""Near-duplicate detection: tunelint (D003-D006) vs datatrove's MinHash on the same data.

    python benchmarks/bench_neardup.py [DATA.jsonl] [--venv /tmp/venv-dedup] [--repeat 3]

Prints, for tunelint: the whole `check` run with the D rules on and off (so the difference is
what near-duplicate detection adds), the time inside the near-dup analysis, and its findings;
for datatrove (run with the venv's python; there, `pip install datatrove==0.10.1 regex spacy
tokenizers 'xxhash<4' orjson`): the time of its four MinHash stages (signatures, buckets,
clusters, filter) on the same records (text = prompt + answer) and how many documents it
removes. The machine is shared and has 2 cores: run it a few times, figures move by 20-30 %.

The counts do not measure the same thing exactly: datatrove removes documents whose word
5-gram Jaccard similarity is estimated high (14 bands x 8 hashes, ~0.72 threshold), tunelint
reports records whose prompt and answer are both >= 90 % similar by edit distance (D003,
plus exact copies D001), and separately near-identical prompts (D004/D006) and answers (D005).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter

DEFAULT = "/work/shared/data/alpaca/alpaca_data.jsonl"

DATATROVE = r'''
import json, sys, time, os
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.dedup import MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
from datatrove.pipeline.writers import JsonlWriter
inp, work = sys.argv[1], sys.argv[2]
cfg = MinhashConfig()
t0 = time.perf_counter()
LocalPipelineExecutor(pipeline=[JsonlReader(inp), MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)], tasks=1, workers=1, logging_dir=f"{work}/l1").run()
LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=cfg)], tasks=cfg.num_buckets, workers=1, logging_dir=f"{work}/l2").run()
LocalPipelineExecutor(pipeline=[MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=cfg)], tasks=1, workers=1, logging_dir=f"{work}/l3").run()
LocalPipelineExecutor(pipeline=[JsonlReader(inp), MinhashDedupFilter(input_folder=f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed")), JsonlWriter(f"{work}/kept")], tasks=1, workers=1, logging_dir=f"{work}/l4").run()
t = time.perf_counter() - t0
import gzip, glob
def ids(d):
    out = []
    for f in glob.glob(f"{d}/*"):
        with (gzip.open(f, "rt") if f.endswith(".gz") else open(f)) as fh:
            out += [json.loads(line)["id"] for line in fh]
    return out
removed = ids(f"{work}/removed")
print(json.dumps({"seconds": t, "removed": len(removed), "kept": len(ids(f"{work}/kept")), "ids": removed}))
'''


def tunelint_run(path: str, select: list[str]):
    from tunelint.config import load_config
    from tunelint.engine import FileRun

    t = time.process_time()  # CPU seconds: less disturbed by other processes on a shared machine
    diags = FileRun(path, load_config(data={"select": select})).run()
    return time.process_time() - t, diags


def cli_time(path: str, select: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tunelint", "check", path, "--select", select, "--exit-zero", "-q"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=DEFAULT)
    ap.add_argument("--venv", default="/tmp/venv-dedup")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    from tunelint import nearstate as neardup

    stats = {}
    orig = neardup.NearDupState.analyze

    def timed(self, ctx):
        t = time.process_time()
        r = orig(self, ctx)
        stats.setdefault("analyze", time.process_time() - t)
        stats["candidates"] = r[6]
        stats["verified"] = len(r[4])
        return r

    neardup.NearDupState.analyze = timed
    base = ["D001", "D002"]
    near = base + ["D003", "D004", "D005", "D006"]
    tb, tn = [], []
    for _ in range(a.repeat):
        tb.append(tunelint_run(a.data, base)[0])
        stats.clear()
        t, diags = tunelint_run(a.data, near)
        tn.append(t)
    counts = Counter(d.code for d in diags)
    print(f"data: {a.data}")
    print(f"tunelint FileRun D001-D002: best {min(tb):.2f} CPU s  (runs: {', '.join(f'{x:.2f}' for x in tb)})")
    print(f"tunelint FileRun D001-D006: best {min(tn):.2f} CPU s  (runs: {', '.join(f'{x:.2f}' for x in tn)})")
    print(f"near-dup rules add: {min(tn) - min(tb):.2f} CPU s (best vs best); finish() analysis {stats.get('analyze', 0):.2f} s, "
          f"{stats.get('candidates')} candidate pairs, {stats.get('verified')} kept after rapidfuzz")
    print(f"tunelint CLI `check --select D001-D006` wall: {cli_time(a.data, ','.join(near)):.2f} s; `--select D001,D002`: {cli_time(a.data, 'D001,D002'):.2f} s")
    print("tunelint findings:", dict(sorted(counts.items())))
    drops = {d.line for d in diags if d.code in ("D001", "D003")}
    print(f"tunelint whole-record duplicates to drop (D001 exact + D003 near): {len(drops)}")

    py = os.path.join(a.venv, "bin", "python")
    if not os.path.exists(py):
        print(f"datatrove: skipped (no venv at {a.venv}; python -m venv {a.venv} && {a.venv}/bin/pip install datatrove==0.10.1 regex spacy tokenizers 'xxhash<4' orjson)")
        return
    from tunelint.config import load_config
    from tunelint.engine import FileRun
    from tunelint.nearstate import _split

    with tempfile.TemporaryDirectory() as work:
        inp = os.path.join(work, "in")
        os.makedirs(inp)
        n = 0
        with open(os.path.join(inp, "data.jsonl"), "w") as out:
            run = FileRun(a.data, load_config(data={"select": ["F001"]}))
            for ev in run.events():
                if ev.record is None:
                    continue
                parts, answer = _split(ev.record)
                out.write(json.dumps({"id": str(ev.record.line), "text": "\n".join(parts + [answer])}) + "\n")
                n += 1
        script = os.path.join(work, "dt.py")
        with open(script, "w") as f:
            f.write(DATATROVE)
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([py, script, inp, os.path.join(work, "w")], capture_output=True, text=True, env=env)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        if p.returncode != 0:
            print("datatrove failed:", p.stderr.strip().splitlines()[-1:] or p.stdout)
            return
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"datatrove MinHash (5-gram words, 14x8) on the same {n} records: {r['seconds']:.2f} s, "
              f"wall ({cpu:.2f} CPU s incl. its start-up), removes {r['removed']} documents, keeps {r['kept']}")
        flagged = {d.line for d in diags if d.code in ("D001", "D003", "D004", "D005", "D006")}
        both = sum(1 for i in r["ids"] if int(i) in flagged)
        print(f"of datatrove's {r['removed']} removed records, {both} are also flagged by tunelint "
              f"(D001/D003-D006); tunelint flags {len(flagged)} records in all")


if __name__ == "__main__":
    main()
