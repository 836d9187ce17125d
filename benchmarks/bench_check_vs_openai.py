"""`tunelint check` vs OpenAI's legacy validator on 52k Alpaca records (target: <= 0.4x its time).

    python benchmarks/bench_check_vs_openai.py [--reps 3] [--data PATH] [--venv DIR] [--extra ARGS]

1. Converts Stanford Alpaca (``/work/shared/data/alpaca/alpaca_data.jsonl``) to legacy
   prompt/completion: prompt = instruction (+ "\\n\\n" + input) + "\\n\\n###\\n\\n", completion =
   " " + output + " END" (cached in /tmp/tunelint-bench/).
2. Creates, if missing, a venv with ``openai==0.28.1`` and what its ``prepare_data`` tool imports
   (pandas, numpy: openai's ``datalib`` optional dependencies) in /tmp/tunelint-openai-venv.
3. Alternates ``tunelint check FILE`` and ``openai tools fine_tunes.prepare_data -f FILE -q``
   (``-q`` accepts every suggestion without prompting) for ``--reps`` rounds and prints wall and
   CPU times and the ratios. Also times tunelint without the dataset-level rules of the
   near-duplicate/terms/style issue (``--ignore T,S,D003,D004,D005,D006,D007``: the engine and
   the record-level and hash-based rules F, E, P, L, C, D001, D002), so the run prints both
   targets: that set at <= 0.4x the legacy tool's wall time, and what the dataset-level rules
   add to the default check (<= 3 s).

Prints figures; asserts nothing. The machine is shared: compare medians and CPU times.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ALPACA = "/work/shared/data/alpaca/alpaca_data.jsonl"
WORK = "/tmp/tunelint-bench"
VENV = "/tmp/tunelint-openai-venv"
DATASET_LEVEL = "T,S,D003,D004,D005,D006,D007"  # near-duplicates, terms, style


def tunelint_cmd() -> list[str]:
    exe = shutil.which("tunelint")
    return [exe] if exe else [sys.executable, "-m", "tunelint"]


def run_timed(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> dict:
    """Run ``cmd`` to completion; wall time, child CPU time (user+sys) and peak RSS of the child.

    Uses os.wait4 so the figures are this child's alone (RUSAGE_CHILDREN would mix children)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    err = p.stderr.read() if p.stderr else b""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024,
            "rc": p.returncode, "stderr": err.decode(errors="replace")}


def summary(xs: list[float]) -> str:
    return f"best {min(xs):.3f}s  median {statistics.median(xs):.3f}s  (n={len(xs)})"


def machine_note() -> str:
    try:
        load = os.getloadavg()
        return f"{os.cpu_count()} CPUs, load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (shared machine: wall times are noisy; CPU times less so)"
    except OSError:
        return f"{os.cpu_count()} CPUs"


def convert(src: str, dst: str) -> int:
    import orjson

    n = 0
    tmp = dst + ".tmp"
    with open(src, "rb") as f, open(tmp, "wb") as out:
        for line in f:
            if not line.strip():
                continue
            r = orjson.loads(line)
            prompt = r["instruction"] + ("\n\n" + r["input"] if r.get("input") else "") + "\n\n###\n\n"
            out.write(orjson.dumps({"prompt": prompt, "completion": " " + r["output"] + " END"}) + b"\n")
            n += 1
    os.replace(tmp, dst)
    return n


def ensure_venv(venv: str) -> str:
    exe = os.path.join(venv, "bin", "openai")
    if os.path.exists(exe):
        return exe
    print(f"creating {venv} with openai==0.28.1, pandas, numpy (one time) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "openai==0.28.1", "pandas", "numpy"], check=True)
    return exe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--data", default=ALPACA)
    ap.add_argument("--venv", default=VENV)
    ap.add_argument("--no-subset", action="store_true", help="skip the run without the dataset-level rules")
    args = ap.parse_args()

    os.makedirs(WORK, exist_ok=True)
    pc = os.path.join(WORK, "alpaca_prompt_completion.jsonl")
    if not os.path.exists(pc) or os.path.getmtime(pc) < os.path.getmtime(args.data):
        n = convert(args.data, pc)
        print(f"converted {n:,} records to {pc}")
    size = os.path.getsize(pc)
    openai = ensure_venv(args.venv)

    # the legacy tool writes FILE_prepared.jsonl next to its input when it has remediations: give it a copy
    oa_dir = os.path.join(WORK, "openai")
    os.makedirs(oa_dir, exist_ok=True)
    oa_file = os.path.join(oa_dir, os.path.basename(pc))
    shutil.copyfile(pc, oa_file)

    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    tl = tunelint_cmd() + ["check", "--isolated", "--exit-zero", "-q", pc]
    tl_subset = tunelint_cmd() + ["check", "--isolated", "--exit-zero", "-q", "--ignore", DATASET_LEVEL, pc]
    oa = [openai, "tools", "fine_tunes.prepare_data", "-f", oa_file, "-q"]

    print(f"file: {pc} ({size / 1e6:.1f} MB)")
    print(machine_note())
    runs: dict[str, list[dict]] = {"tunelint": [], "openai": [], "subset": []}
    for i in range(args.reps):
        runs["openai"].append(run_timed(oa, env=env, cwd=oa_dir))
        runs["tunelint"].append(run_timed(tl, env=env))
        if not args.no_subset:
            runs["subset"].append(run_timed(tl_subset, env=env))
        line = "  ".join(f"{k} {r[-1]['wall']:.2f}s (cpu {r[-1]['cpu']:.2f}s)" for k, r in runs.items() if r)
        print(f"round {i + 1}: {line}", flush=True)
    for k, r in runs.items():
        bad = [x for x in r if x["rc"] not in (0,)]
        if bad:
            print(f"WARNING: {k} exited {bad[0]['rc']}: {bad[0]['stderr'][-500:]}")

    def med(k, f):
        return statistics.median(x[f] for x in runs[k])

    print()
    print(f"openai 0.28.1 prepare_data : wall {summary([x['wall'] for x in runs['openai']])}; cpu median {med('openai', 'cpu'):.2f}s")
    print(f"tunelint check (defaults)  : wall {summary([x['wall'] for x in runs['tunelint']])}; cpu median {med('tunelint', 'cpu'):.2f}s")
    if runs["subset"]:
        print(f"tunelint --ignore {DATASET_LEVEL}: wall {summary([x['wall'] for x in runs['subset']])}; cpu median {med('subset', 'cpu'):.2f}s")
    print()
    print(f"ratio tunelint/openai (median wall): {med('tunelint', 'wall') / med('openai', 'wall'):.2f}x")
    print(f"ratio tunelint/openai (median cpu) : {med('tunelint', 'cpu') / med('openai', 'cpu'):.2f}x")
    if runs["subset"]:
        print(f"ratio without dataset-level rules/openai (median wall): {med('subset', 'wall') / med('openai', 'wall'):.2f}x  (target <= 0.40x)")
        print(f"dataset-level rules (T, S, D003-D007) add (median wall): {med('tunelint', 'wall') - med('subset', 'wall'):.2f}s  (target <= 3 s)")


if __name__ == "__main__":
    main()
